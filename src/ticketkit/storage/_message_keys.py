"""Message keys: which ticket a received message, conversation or message id belongs to.

``Helpdesk.receive`` records, for every message it takes, keys such as
``msg:email:<message id>`` (the idempotence key), ``mid:<message id>`` (what replies
name in ``References``) and ``conv:wechat:<conversation>``. A store keeps them in a
keyed table with a unique (tenant, key): the first binding of a key wins, for ever,
across processes, until `TicketStore.drop_message_keys` drops the keys of a ticket
that was erased, anonymised or purged (an index on (tenant, ticket) finds them).
Lookups are by that key only, never a scan.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ticketkit.errors import ErrorDetail, MessageKeyConflictError, ValidationError

MAX_KEY_LENGTH: Final = 2000
"""The longest key a store must accept (a message id is at most 998 characters)."""


def _key_problems(path: str, key: object, problems: list[ErrorDetail]) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        problems.append(
            ErrorDetail(
                path, f"expected a non-empty string of at most {MAX_KEY_LENGTH} characters, got {key!r}"
            )
        )


def _tenant_problems(tenant: object, problems: list[ErrorDetail]) -> None:
    if not isinstance(tenant, str) or not tenant:
        problems.append(ErrorDetail("tenant", f"expected a tenant name, got {tenant!r}"))


def validate_message_keys(keys: object, ticket_id: object, tenant: object) -> tuple[str, ...]:
    """The keys for `TicketStore.bind_message_keys`, checked (every problem listed), without repeats.

    Raises:
        ValidationError: a bare string or non-list, an empty, non-string or too long
            key, a ticket id that is not a string, an empty tenant.

    Examples:
        >>> validate_message_keys(["mid:a@b", "mid:a@b", "conv:wechat:o1"], "T1", "default")
        ('mid:a@b', 'conv:wechat:o1')
    """
    problems: list[ErrorDetail] = []
    out: list[str] = []
    if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
        problems.append(ErrorDetail("keys", f"expected a list of keys, got {keys!r}"))
    else:
        for i, key in enumerate(keys):
            _key_problems(f"keys[{i}]", key, problems)
            if isinstance(key, str) and key not in out:
                out.append(key)
    # An empty ticket id records a message that went to no ticket (ignored, rate-limited).
    if not isinstance(ticket_id, str) or len(ticket_id) > MAX_KEY_LENGTH or "\x00" in ticket_id:
        problems.append(ErrorDetail("ticket_id", f"expected a ticket id (or '' for none), got {ticket_id!r}"))
    _tenant_problems(tenant, problems)
    if problems:
        raise ValidationError(problems)
    return tuple(out)


def validate_message_key(key: object, tenant: object) -> None:
    """Refuse a bad key or tenant for `TicketStore.message_key` with a `ValidationError`.

    Examples:
        >>> validate_message_key("mid:a@b", "default") is None
        True
    """
    problems: list[ErrorDetail] = []
    _key_problems("key", key, problems)
    _tenant_problems(tenant, problems)
    if problems:
        raise ValidationError(problems)


def validate_drop_message_keys(ticket_id: object, tenant: object) -> None:
    """Refuse a bad ticket id or tenant for `TicketStore.drop_message_keys` with a `ValidationError`.

    The empty ticket id is refused: it marks messages that went to no ticket, which no
    erasure or retention owns.

    Examples:
        >>> validate_drop_message_keys("T1", "default") is None
        True
    """
    problems: list[ErrorDetail] = []
    bad = not isinstance(ticket_id, str) or not ticket_id or len(ticket_id) > MAX_KEY_LENGTH
    if bad or "\x00" in str(ticket_id):
        problems.append(ErrorDetail("ticket_id", f"expected a ticket id, got {ticket_id!r}"))
    _tenant_problems(tenant, problems)
    if problems:
        raise ValidationError(problems)


def validate_key_bindings(message_keys: object, tenant: object) -> dict[str, str]:
    """The ``message_keys`` of `TicketStore.commit` (key -> ticket id), checked, in key order.

    Raises:
        ValidationError: not a mapping, a bad key or ticket id, an empty tenant
            (every problem listed).

    Examples:
        >>> validate_key_bindings({"msg:email:a@b": "T1", "mid:a@b": "T1"}, "default")
        {'mid:a@b': 'T1', 'msg:email:a@b': 'T1'}
    """
    problems: list[ErrorDetail] = []
    out: dict[str, str] = {}
    if not isinstance(message_keys, Mapping):
        problems.append(
            ErrorDetail("message_keys", f"expected a mapping of key -> ticket id, got {message_keys!r}")
        )
    else:
        for key, ticket_id in message_keys.items():
            path = f"message_keys[{key!r}]"
            _key_problems(path, key, problems)
            if not isinstance(ticket_id, str) or len(ticket_id) > MAX_KEY_LENGTH or "\x00" in ticket_id:
                problems.append(
                    ErrorDetail(path, f"expected a ticket id (or '' for none), got {ticket_id!r}")
                )
            elif isinstance(key, str):
                out[key] = ticket_id
    _tenant_problems(tenant, problems)
    if problems:
        raise ValidationError(problems)
    # One order for every writer: two transactions binding the same keys lock them alike.
    return dict(sorted(out.items()))


def check_bindings(wanted: Mapping[str, str], tenant: str, bound: Callable[[str], str | None]) -> None:
    """Raise `MessageKeyConflictError` for the first key ``bound`` says is bound already.

    ``bound`` answers the ticket a key is bound to (None: unbound). A key bound to
    the very ticket it is wanted for is refused too: two commits applying one
    message as two replies on one ticket must not both pass.
    """
    for key, ticket_id in wanted.items():
        found = bound(key)
        if found is not None:
            raise MessageKeyConflictError(key, tenant, ticket_id, found)


class MessageKeys:
    """Keys held in one process's memory, first binding wins (the default and the in-memory store's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], str] = {}
        self._of_ticket: dict[tuple[str, str], list[str]] = {}  # (tenant, ticket) -> its keys

    def _bind(self, tenant: str, key: str, ticket_id: str) -> str:
        """Under the lock: bind one key unless bound; the key's ticket."""
        found = self._keys.get((tenant, key))
        if found is not None:
            return found
        self._keys[(tenant, key)] = ticket_id
        if ticket_id:
            self._of_ticket.setdefault((tenant, ticket_id), []).append(key)
        return ticket_id

    def bind(self, keys: Sequence[str], ticket_id: str, tenant: str) -> dict[str, str]:
        """Bind each unbound key to ``ticket_id``; every key's ticket, the first binding kept."""
        with self._lock:
            return {key: self._bind(tenant, key, ticket_id) for key in keys}

    def drop(self, ticket_id: str, tenant: str) -> int:
        """Unbind every key bound to ``ticket_id`` in ``tenant``; how many were."""
        with self._lock:
            dropped = 0
            for key in self._of_ticket.pop((tenant, ticket_id), ()):
                if self._keys.get((tenant, key)) == ticket_id:
                    del self._keys[(tenant, key)]
                    dropped += 1
            return dropped

    def get(self, key: str, tenant: str) -> str | None:
        """The ticket bound to ``key`` in ``tenant``, or None."""
        return self._keys.get((tenant, key))

    def commit(self, wanted: Mapping[str, str], tenant: str, write: Callable[[], None]) -> None:
        """Check ``wanted`` (see `check_bindings`), run ``write``, then bind: one step under the lock.

        Nothing is bound when the check or ``write`` raises.
        """
        with self._lock:
            check_bindings(wanted, tenant, lambda key: self._keys.get((tenant, key)))
            write()
            for key, ticket_id in wanted.items():
                self._bind(tenant, key, ticket_id)


# The keyed table and its index by ticket: made by the migrations (SQLite schema 5,
# PostgreSQL schemas 5 and 6), IF NOT EXISTS because earlier versions made the table on
# first use. Lookups use the primary key only; drops use the ticket index.
SQLITE_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS message_keys (tenant TEXT NOT NULL, key TEXT NOT NULL, "
    "ticket_id TEXT NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID"
)
SQLITE_BIND: Final = "INSERT OR IGNORE INTO message_keys (tenant, key, ticket_id) VALUES (?, ?, ?)"
SQLITE_INSERT: Final = "INSERT INTO message_keys (tenant, key, ticket_id) VALUES (?, ?, ?)"
SQLITE_GET: Final = "SELECT ticket_id FROM message_keys WHERE tenant = ? AND key = ?"
SQLITE_TICKET_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS message_keys_ticket ON message_keys (tenant, ticket_id)"
)
SQLITE_DROP: Final = "DELETE FROM message_keys WHERE tenant = ? AND ticket_id = ?"


def postgres_ticket_index(schema: str) -> str:
    """The index `drop_message_keys` finds a ticket's keys by, in PostgreSQL ``schema``."""
    return f"CREATE INDEX IF NOT EXISTS message_keys_ticket ON {schema}.message_keys (tenant, ticket_id)"


def postgres_drop(schema: str) -> str:
    """Delete the keys of one ticket (by the (tenant, ticket) index)."""
    return f"DELETE FROM {schema}.message_keys WHERE tenant = %s AND ticket_id = %s"


def postgres_table(schema: str) -> str:
    """The keyed table in PostgreSQL ``schema`` (already quoted)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {schema}.message_keys (tenant TEXT NOT NULL, key TEXT NOT NULL, "
        "ticket_id TEXT NOT NULL, PRIMARY KEY (tenant, key))"
    )


def postgres_bind(schema: str) -> str:
    """Insert one key unless bound (the unique key decides between concurrent writers)."""
    return (
        f"INSERT INTO {schema}.message_keys (tenant, key, ticket_id) VALUES (%s, %s, %s) "
        "ON CONFLICT (tenant, key) DO NOTHING"
    )


def sqlite_commit(conn: sqlite3.Connection, wanted: Mapping[str, str], tenant: str) -> None:
    """Inside a write transaction: bind every key, refusing one bound already (the primary key decides)."""
    for key, ticket_id in wanted.items():
        try:
            conn.execute(SQLITE_INSERT, (tenant, key, ticket_id))
        except sqlite3.IntegrityError:
            found = _first(conn.execute(SQLITE_GET, (tenant, key)).fetchone())
            raise MessageKeyConflictError(key, tenant, ticket_id, found or "") from None


def _first(row: Sequence[object] | None) -> str | None:
    return None if row is None else str(row[0])


def postgres_commit(schema: str) -> tuple[str, str]:
    """Insert every key unless bound, returning those inserted; the read of any key bound before.

    A writer inserting a key another open transaction inserted waits for it, then
    inserts nothing (the winner committed) or the key (it rolled back): exactly
    one commit of racing writers binds each key.
    """
    insert = (
        f"INSERT INTO {schema}.message_keys (tenant, key, ticket_id) "
        "SELECT %s, k, t FROM unnest(%s::text[], %s::text[]) AS x(k, t) "
        "ON CONFLICT (tenant, key) DO NOTHING RETURNING key"
    )
    read = f"SELECT key, ticket_id FROM {schema}.message_keys WHERE tenant = %s AND key = ANY(%s::text[])"
    return insert, read


def postgres_get(schema: str) -> str:
    """The ticket of one key, by the primary key."""
    return f"SELECT ticket_id FROM {schema}.message_keys WHERE tenant = %s AND key = %s"
