"""Broken stores that only a second handle on the same backend shows."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.broken_stores.registry import broken
from ticketkit import Event, InMemoryStore, NotFoundError, SQLiteStore, Ticket, TicketStore
from ticketkit.storage import Change


def load_json_file_store() -> ModuleType:
    """examples/json_file_store.py as the module ``json_file_store`` (loaded once)."""
    if "json_file_store" in sys.modules:
        return sys.modules["json_file_store"]
    path = Path(__file__).resolve().parents[2] / "examples" / "json_file_store.py"
    spec = importlib.util.spec_from_file_location("json_file_store", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["json_file_store"] = module
    spec.loader.exec_module(module)
    return module


def _files(cls: type[Any], suffix: str) -> Callable[[Path], Callable[[], TicketStore]]:
    def make(tmp: Path) -> Callable[[], TicketStore]:
        counter = itertools.count()
        return lambda: cls(tmp / f"{cls.__name__}-{next(counter)}{suffix}")  # type: ignore[no-any-return]

    return make


@broken(
    "each handle keeps the tickets it read or wrote by id and serves them again, stale after another saved",
    "never_serves_a_stale_copy",
    "see_each_others",
    make=lambda cls: _files(cls, ".db"),
    again=lambda store: CachingById(store.path),  # type: ignore[attr-defined]
)
class CachingById(SQLiteStore):
    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self._by_id: dict[str, Ticket] = {}

    def _keep(self, tickets: Iterable[Ticket]) -> None:
        for t in tickets:
            self._by_id[t.id] = t

    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        ticket = self._by_id.get(ticket_id)
        if ticket is None:
            ticket = super().get(ticket_id)
            self._keep([ticket])
        if tenant is not None and ticket.tenant != tenant:
            raise NotFoundError("ticket", ticket_id)
        return ticket

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        self._keep([super().create(ticket, events)])
        return ticket

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        self._keep([super().save(ticket, events, expected_version)])
        return ticket

    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        out = super().save_many(changes)
        self._keep(out)
        return out

    def claim_due(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100, tenant: str | None = None
    ) -> list[Ticket]:
        out = super().claim_due(at, worker=worker, lease=lease, limit=limit, tenant=tenant)
        self._keep(out)
        return out


@broken(
    "handles share one backend but each has its own lock around check-then-write",
    "saves_race_between_handles",
    "claims_race_between_handles",
    again=lambda store: SharedBackend(store),  # type: ignore[arg-type]  # noqa: PLW0108
)
class SharedBackend(InMemoryStore):
    def __init__(self, shared: InMemoryStore | None = None) -> None:
        super().__init__()
        if shared is not None:
            self._tickets, self._events, self._due = shared._tickets, shared._events, shared._due


_example = load_json_file_store()


@broken(
    "the example JSON-file store as it was: a lock per store object, not per folder",
    "saves_race_between_handles",
    "claims_race_between_handles",
    make=lambda cls: _files(cls, ""),
    again=lambda store: JsonLockPerObject(store.folder),  # type: ignore[attr-defined]
)
class JsonLockPerObject(_example.JsonFileStore):  # type: ignore[misc, name-defined]
    def __init__(self, folder: Any) -> None:
        super().__init__(folder)
        self._lock = threading.RLock()
