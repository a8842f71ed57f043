"""The registry of broken stores: ``broken`` registers a class with its bug."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from ticketkit import TicketStore


@attrs.frozen
class Subject:
    """A store to run the contract on, and what should catch it."""

    name: str
    bug: str
    make: Callable[[Path], Callable[[], TicketStore]]
    again: Callable[[TicketStore], TicketStore] | None = None
    caught_by: tuple[str, ...] = ()


SUBJECTS: list[Subject] = []


def broken(
    bug: str,
    *caught_by: str,
    make: Callable[[type[TicketStore]], Callable[[Path], Callable[[], TicketStore]]] | None = None,
    again: Callable[[TicketStore], TicketStore] | None = None,
) -> Callable[[type[TicketStore]], type[TicketStore]]:
    """Register a broken store class (``make`` builds its factory; default: call the class)."""

    def register(cls: type[TicketStore]) -> type[TicketStore]:
        factory = make(cls) if make is not None else (lambda _tmp: cls)
        SUBJECTS.append(Subject(cls.__name__, bug, factory, again, caught_by))
        return cls

    return register
