"""The unmodified stores, run exactly like the broken ones: they must pass."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from tests.broken_stores.handles import load_json_file_store
from tests.broken_stores.registry import Subject
from ticketkit import InMemoryStore, SQLiteStore, TicketStore


def _sqlite_files(tmp: Path) -> Callable[[], TicketStore]:
    counter = itertools.count()
    return lambda: SQLiteStore(tmp / f"control-{next(counter)}.db")


def _json_folders(tmp: Path) -> Callable[[], TicketStore]:
    module = load_json_file_store()
    counter = itertools.count()
    return lambda: module.JsonFileStore(tmp / f"control-{next(counter)}")  # type: ignore[no-any-return]


CONTROLS: list[Subject] = [
    Subject("control:InMemoryStore", "none", lambda _tmp: InMemoryStore),
    Subject("control:SQLiteStore(':memory:')", "none", lambda _tmp: lambda: SQLiteStore(":memory:")),
    Subject(
        "control:SQLiteStore(file)",
        "none",
        _sqlite_files,
        lambda s: SQLiteStore(s.path),  # type: ignore[attr-defined]
    ),
    Subject(
        "control:JsonFileStore",
        "none",
        _json_folders,
        lambda s: load_json_file_store().JsonFileStore(s.folder),  # type: ignore[attr-defined]
    ),
]
