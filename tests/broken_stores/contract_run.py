"""The contract suite over every broken store and control; run by tests/test_storage_mutations.py.

Not collected by itself (its name does not start with ``test_``): the mutation test
runs it in-process with ``pytest.main`` and reads which tests failed for which store.
To run it by hand on a few stores: ``TICKETKIT_BROKEN_STORES=RacySave,RacyClaim pytest
tests/broken_stores/contract_run.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.broken_stores import CONTROLS, SUBJECTS, Subject
from ticketkit import TicketStore
from ticketkit.testing import StoreContract

_ALL = [*CONTROLS, *SUBJECTS]
_SELECTED = {s.strip() for s in os.environ.get("TICKETKIT_BROKEN_STORES", "").split(",") if s.strip()}


@pytest.fixture(params=[s for s in _ALL if not _SELECTED or s.name in _SELECTED], ids=lambda s: s.name)
def subject(request: pytest.FixtureRequest) -> Subject:
    return request.param  # type: ignore[no-any-return]


class TestContract(StoreContract):
    @pytest.fixture
    def make_store(self, subject: Subject, tmp_path: Path) -> Callable[[], TicketStore]:
        return subject.make(tmp_path)

    @pytest.fixture
    def open_again(self, subject: Subject) -> Callable[[TicketStore], TicketStore] | None:
        return subject.again
