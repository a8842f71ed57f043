"""Broken stores of the message keys ``Helpdesk.receive`` dedupes and threads by."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from tests.broken_stores.registry import broken
from ticketkit import InMemoryStore, MessageKeyConflictError, SQLiteStore, Ticket, TicketStore
from ticketkit.storage import Change, OutboxMessage, validate_message_key, validate_message_keys
from ticketkit.storage._message_keys import validate_drop_message_keys
from ticketkit.storage._side_defaults import default_keys


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


def _bind_each(store: TicketStore, keys: Mapping[str, str], tenant: str) -> None:
    for key, ticket_id in keys.items():
        store.bind_message_keys([key], ticket_id, tenant=tenant)


@broken("commit drops its message keys", "test_commit_binds_message_keys")
class CommitWithoutKeys(InMemoryStore):
    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        return super().commit(changes, outbox)


@broken(
    "commit writes, then binds its keys first-binding-wins: a key bound elsewhere is not refused",
    "test_commit_refuses_a_key_bound_elsewhere",
)
class CommitThenBind(InMemoryStore):
    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        saved = super().commit(changes, outbox)
        _bind_each(self, message_keys or {}, tenant)
        return saved


@broken(
    "commit binds its keys before the write is checked: a refused write leaves them bound",
    "test_commit_keys_go_with_a_refused_write",
)
class BindThenCommit(InMemoryStore):
    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        _bind_each(self, message_keys or {}, tenant)
        return super().commit(changes, outbox)


@broken(
    "commit checks its keys, then writes, outside any lock: racing commits of one message all write",
    "test_commit_message_keys_race",
)
class CheckThenCommit(InMemoryStore):
    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        for key, ticket_id in (message_keys or {}).items():
            found = self.message_key(key, tenant=tenant)
            if found is not None and found != ticket_id:
                raise MessageKeyConflictError(key, tenant, ticket_id, found)
        time.sleep(0.005)  # the window between the check and the write
        saved = super().commit(changes, outbox)
        _bind_each(self, message_keys or {}, tenant)
        return saved


@broken(
    "drop_message_keys drops the ticket's keys in every tenant (ticket ids are per tenant)",
    "test_drop_message_keys_drops_one_tickets_keys",
)
class DropInEveryTenant(InMemoryStore):
    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        validate_drop_message_keys(ticket_id, tenant)
        return sum(default_keys(self).drop(ticket_id, t) for t in ("default", "other"))


@broken(
    "drop_message_keys takes the empty ticket id: it unbinds every message that went to no ticket",
    "test_drop_message_keys_refuses_bad_input",
)
class DropTheUnowned(InMemoryStore):
    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        if ticket_id != "":
            return super().drop_message_keys(ticket_id, tenant=tenant)
        keys = default_keys(self)._keys
        unowned = [k for k, v in keys.items() if k[0] == tenant and v == ""]
        for k in unowned:
            del keys[k]
        return len(unowned)


@broken(
    "drop_message_keys counts the keys but leaves them bound",
    "test_drop_message_keys_drops_one_tickets_keys",
)
class DropCountsOnly(InMemoryStore):
    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        keys = default_keys(self)
        return sum(1 for (t, _k), v in list(keys._keys.items()) if t == tenant and v == ticket_id)


@broken(
    "an SQLite store dropping message keys from the process's memory (the default), not from the file",
    "test_drop_message_keys_drops_one_tickets_keys",
    "test_drop_message_keys_on_every_handle",
    make=_files,
    again=lambda store: DropInMemoryOnly(store.path),  # type: ignore[attr-defined]
)
class DropInMemoryOnly(SQLiteStore):
    drop_message_keys = TicketStore.drop_message_keys
