"""Deliberately broken stores: each carries one realistic bug the contract suite must catch.

``SUBJECTS`` lists them with the sentence describing the bug and the contract tests
expected to catch it; ``CONTROLS`` are the unmodified reference stores run the same
way, which must pass. ``tests/test_storage_mutations.py`` runs the whole contract
against every one (``contract_run.py`` is the test module it runs).
"""

from __future__ import annotations

from tests.broken_stores import (  # noqa: F401 - they register themselves
    exports,
    handles,
    memory,
    message_keys,
    outbox,
    rewrite,
    sqlite,
)
from tests.broken_stores.controls import CONTROLS
from tests.broken_stores.registry import SUBJECTS, Subject, broken

__all__ = ["CONTROLS", "SUBJECTS", "Subject", "broken"]
