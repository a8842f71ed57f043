"""Both reference stores pass the storage contract suite."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from ticketkit import InMemoryStore, SQLiteStore, TicketStore
from ticketkit.testing import StoreContract


class TestInMemoryStore(StoreContract):
    """InMemoryStore keeps the contract."""

    @pytest.fixture
    def make_store(self) -> Callable[[], TicketStore]:
        return InMemoryStore


class TestSQLiteStoreFile(StoreContract):
    """SQLiteStore on a file keeps the contract (decode cache off: every read decodes the file)."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], TicketStore]:
        counter = itertools.count()
        return lambda: SQLiteStore(tmp_path / f"store-{next(counter)}.db", cache_size=0)

    @pytest.fixture
    def open_again(self) -> Callable[[TicketStore], TicketStore]:
        return lambda store: SQLiteStore(store.path, cache_size=0)  # type: ignore[attr-defined]


class TestSQLiteStoreFileCached(StoreContract):
    """SQLiteStore on a file with its decode cache keeps the contract."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], TicketStore]:
        counter = itertools.count()
        return lambda: SQLiteStore(tmp_path / f"store-{next(counter)}.db")

    @pytest.fixture
    def open_again(self) -> Callable[[TicketStore], TicketStore]:
        return lambda store: SQLiteStore(store.path)  # type: ignore[attr-defined]


class TestSQLiteStoreMemory(StoreContract):
    """SQLiteStore in memory keeps the contract."""

    @pytest.fixture
    def make_store(self) -> Callable[[], TicketStore]:
        return lambda: SQLiteStore(":memory:")
