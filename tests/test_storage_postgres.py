"""PostgresStore: the whole storage contract on a real PostgreSQL server, plus what only it does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ticketkit import TicketStore
from ticketkit.testing import StoreContract

pytest_plugins = ("tests.postgres_fixture",)

pytestmark = pytest.mark.postgres


class TestPostgresStoreContract(StoreContract):
    """PostgresStore keeps the contract."""

    @pytest.fixture
    def make_store(self, make_postgres_store: Callable[..., Any]) -> Callable[[], TicketStore]:
        return make_postgres_store
