"""Broken stores of the message keys ``Helpdesk.receive`` dedupes and threads by."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.broken_stores.registry import broken
from ticketkit import InMemoryStore, SQLiteStore, TicketStore
from ticketkit.storage import validate_message_key, validate_message_keys


@broken("bind_message_keys overwrites: the last binding wins", "test_message_keys_first_binding_wins")
class LastBindingWins(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[tuple[str, str], str] = {}

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        checked = validate_message_keys(keys, ticket_id, tenant)
        for key in checked:
            self._keys[(tenant, key)] = ticket_id
        return dict.fromkeys(checked, ticket_id)

    def message_key(self, key: str, *, tenant: str) -> str | None:
        validate_message_key(key, tenant)
        return self._keys.get((tenant, key))


@broken(
    "message keys ignore the tenant: one tenant's key answers another's",
    "test_message_keys_keep_to_their_tenant",
)
class KeysWithoutTenant(InMemoryStore):
    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        return super().bind_message_keys(keys, ticket_id, tenant="default")

    def message_key(self, key: str, *, tenant: str) -> str | None:
        return super().message_key(key, tenant="default")


@broken(
    "message keys are folded to lower case (message ids are case-sensitive)",
    "test_message_keys_keep_their_text",
)
class KeysFolded(InMemoryStore):
    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        got = super().bind_message_keys(
            [k.lower() for k in validate_message_keys(keys, ticket_id, tenant)], ticket_id, tenant=tenant
        )
        return {k: got[k.lower()] for k in keys}

    def message_key(self, key: str, *, tenant: str) -> str | None:
        return super().message_key(key.lower(), tenant=tenant)


def _files(cls: type[SQLiteStore]) -> Callable[[Path], Callable[[], TicketStore]]:
    def make(tmp: Path) -> Callable[[], TicketStore]:
        counter = itertools.count()
        return lambda: cls(tmp / f"{cls.__name__}-{next(counter)}.db")

    return make


@broken(
    "an SQLite store keeping message keys in the process's memory (the default), not in the file",
    "test_message_keys_hold_between_handles",
    make=_files,
    again=lambda store: KeysInMemoryOnly(store.path),  # type: ignore[attr-defined]
)
class KeysInMemoryOnly(SQLiteStore):
    bind_message_keys = TicketStore.bind_message_keys
    message_key = TicketStore.message_key


@broken(
    "bind_message_keys reads then writes without the unique key deciding: racing binders each win",
    "test_message_keys_race",
)
class CheckThenBind(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[tuple[str, str], str] = {}

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        import time

        checked = validate_message_keys(keys, ticket_id, tenant)
        out: dict[str, str] = {}
        for key in checked:
            found = self._keys.get((tenant, key))
            if found is None:
                time.sleep(0.001)  # the window between the read and the write
                self._keys[(tenant, key)] = ticket_id
                found = ticket_id
            out[key] = found
        return out

    def message_key(self, key: str, *, tenant: str) -> str | None:
        validate_message_key(key, tenant)
        return self._keys.get((tenant, key))
