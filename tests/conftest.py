"""Test configuration: hypothesis profiles chosen by HYPOTHESIS_PROFILE.

- ``dev`` (default): quick, random, for the edit-test loop.
- ``ci``: thorough and derandomized, so CI is reproducible.
- ``deep``: for hunting bugs by hand (``HYPOTHESIS_PROFILE=deep pytest``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# A PostgreSQL server for the PostgresStore tests and the docs page that runs on one
# (fixtures in tests/postgres_fixture.py; skipped where none can be started, never in CI).
pytest_plugins = ["tests.postgres_fixture"]
