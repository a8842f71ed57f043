"""Desk records: small versioned values the desk shares between workers (agent presence, leases).

A record is a text value under (tenant, kind, key) with a version. Writing one is a
compare-and-set: ``expected_version`` None creates it (refused when it exists), a
number replaces it only when the stored version is that number; anything else is a
`ConflictError` and writes nothing. That is all the desk needs to share agent presence
between processes and to let exactly one worker at a time drain the queues of a tenant
(a lease is a record whose holder and expiry only the current holder, or anyone once it
expired, may overwrite). Reads are by (tenant, kind), never a scan of tickets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Final

from ticketkit.errors import ConflictError, ErrorDetail, ValidationError

MAX_RECORD_KEY: Final = 500
"""The longest kind or key a store must accept."""

MAX_RECORD_VALUE: Final = 65_536
"""The longest value a store must accept (characters)."""


def _text_problem(path: str, value: object, limit: int, problems: list[ErrorDetail], *, empty: bool) -> None:
    if not isinstance(value, str) or (not value and not empty) or len(value) > limit or "\x00" in value:
        what = "a" if empty else "a non-empty"
        problems.append(
            ErrorDetail(
                path, f"expected {what} string of at most {limit} characters without NUL, got {value!r}"
            )
        )


def validate_record_read(kind: object, tenant: object, keys: object) -> frozenset[str] | None:
    """Check the arguments of `TicketStore.records`; the keys asked for (None: all of the kind).

    Raises:
        ValidationError: an empty or non-string kind, tenant or key.

    Examples:
        >>> sorted(validate_record_read("presence", "default", ["li", "wang"]))
        ['li', 'wang']
    """
    problems: list[ErrorDetail] = []
    _text_problem("kind", kind, MAX_RECORD_KEY, problems, empty=False)
    _text_problem("tenant", tenant, MAX_RECORD_KEY, problems, empty=False)
    out: frozenset[str] | None = None
    if keys is not None:
        if isinstance(keys, str | bytes) or not isinstance(keys, Iterable):
            problems.append(ErrorDetail("keys", f"expected a list of keys or None, got {keys!r}"))
        else:
            listed = list(keys)
            for i, key in enumerate(listed):
                _text_problem(f"keys[{i}]", key, MAX_RECORD_KEY, problems, empty=False)
            out = frozenset(k for k in listed if isinstance(k, str))
    if problems:
        raise ValidationError(problems)
    return out


def validate_record_write(kind: object, key: object, value: object, tenant: object, expected: object) -> None:
    """Check the arguments of `TicketStore.put_record`.

    Raises:
        ValidationError: a bad kind, key, tenant, a value that is not a string, a
            version that is neither None nor a positive integer.

    Examples:
        >>> validate_record_write("presence", "li", "{}", "default", None) is None
        True
    """
    problems: list[ErrorDetail] = []
    _text_problem("kind", kind, MAX_RECORD_KEY, problems, empty=False)
    _text_problem("key", key, MAX_RECORD_KEY, problems, empty=False)
    _text_problem("value", value, MAX_RECORD_VALUE, problems, empty=True)
    _text_problem("tenant", tenant, MAX_RECORD_KEY, problems, empty=False)
    if expected is not None and (
        not isinstance(expected, int) or isinstance(expected, bool) or not 1 <= expected < 2**62
    ):
        problems.append(
            ErrorDetail("expected_version", f"expected None (create) or a positive version, got {expected!r}")
        )
    if problems:
        raise ValidationError(problems)


def record_conflict(kind: str, key: str, expected: int | None, actual: int | None) -> ConflictError:
    """The error for a stale record write (nothing written)."""
    if expected is None:
        detail = f"record {kind}:{key} exists already (version {actual}); read it and write over its version"
    elif actual is None:
        detail = f"record {kind}:{key} does not exist, so version {expected} cannot be written over it"
    else:
        detail = f"record {kind}:{key} is at version {actual}, not {expected}: it changed since you read it"
    return ConflictError(f"{kind}:{key}", expected, actual, detail=detail)


class MemoryRecords:
    """Records in one process's memory (the default and the in-memory store's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}

    def read(self, kind: str, tenant: str, keys: frozenset[str] | None) -> dict[str, tuple[str, int]]:
        """The records of one kind, all or those of ``keys``."""
        with self._lock:
            rows = self._rows.get((tenant, kind), {})
            if keys is None:
                return dict(rows)
            return {k: rows[k] for k in keys if k in rows}

    def write(self, kind: str, key: str, value: str, tenant: str, expected: int | None) -> int:
        """Compare and set one record; its new version."""
        with self._lock:
            rows = self._rows.setdefault((tenant, kind), {})
            found = rows.get(key)
            actual = None if found is None else found[1]
            if actual != expected:
                raise record_conflict(kind, key, expected, actual)
            version = 1 if actual is None else actual + 1
            rows[key] = (value, version)
            return version


# The table, outside the numbered migrations like the message keys: created when first
# used (IF NOT EXISTS). Reads and writes use the primary key (or its prefix) only.
SQLITE_TABLE: Final = (
    "CREATE TABLE IF NOT EXISTS desk_records (tenant TEXT NOT NULL, kind TEXT NOT NULL, "
    "key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL, "
    "PRIMARY KEY (tenant, kind, key)) WITHOUT ROWID"
)
SQLITE_READ: Final = "SELECT key, value, version FROM desk_records WHERE tenant = ? AND kind = ?"
SQLITE_VERSION: Final = "SELECT version FROM desk_records WHERE tenant = ? AND kind = ? AND key = ?"
SQLITE_INSERT: Final = "INSERT INTO desk_records (tenant, kind, key, value, version) VALUES (?, ?, ?, ?, 1)"
SQLITE_UPDATE: Final = (
    "UPDATE desk_records SET value = ?, version = version + 1 "
    "WHERE tenant = ? AND kind = ? AND key = ? AND version = ?"
)


def postgres_table(schema: str) -> str:
    """The records table in PostgreSQL ``schema`` (already quoted)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {schema}.desk_records (tenant TEXT NOT NULL, kind TEXT NOT NULL, "
        "key TEXT NOT NULL, value TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (tenant, kind, key))"
    )


def postgres_read(schema: str) -> str:
    """The records of one (tenant, kind)."""
    return f"SELECT key, value, version FROM {schema}.desk_records WHERE tenant = %s AND kind = %s"


def postgres_insert(schema: str) -> str:
    """Create one record unless it exists (the primary key decides between concurrent writers)."""
    return (
        f"INSERT INTO {schema}.desk_records (tenant, kind, key, value, version) VALUES (%s, %s, %s, %s, 1) "
        "ON CONFLICT (tenant, kind, key) DO NOTHING"
    )


def postgres_update(schema: str) -> str:
    """Replace one record at the expected version."""
    return (
        f"UPDATE {schema}.desk_records SET value = %s, version = version + 1 "
        "WHERE tenant = %s AND kind = %s AND key = %s AND version = %s"
    )


def postgres_version(schema: str) -> str:
    """The version of one record."""
    return f"SELECT version FROM {schema}.desk_records WHERE tenant = %s AND kind = %s AND key = %s"


# ---------------------------------------------------------------------- team queues

QUEUE_KINDS: Final = ("new", "open", "pending")
"""The status kinds of a ticket that can wait in a queue."""

_QUEUE_WHERE: Final = "assignee IS NULL AND status_kind IN ('new', 'open', 'pending')"

# A partial index holding only waiting tickets, in hand-out order: reading a queue never
# touches assigned or finished tickets. Created when first used, outside the migrations.
SQLITE_QUEUE_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS tickets_queue ON tickets (tenant, team, priority DESC, created_us, id) "
    f"WHERE {_QUEUE_WHERE}"
)
SQLITE_QUEUE: Final = (
    "SELECT body FROM tickets INDEXED BY tickets_queue "
    f"WHERE tenant = ? AND team = ? AND {_QUEUE_WHERE} "
    "AND (priority < ? OR (priority = ? AND (created_us, id) > (?, ?))) "
    "ORDER BY priority DESC, created_us, id LIMIT ?"
)


def postgres_queue_index(schema: str) -> str:
    """The partial index of waiting tickets in PostgreSQL ``schema`` (already quoted)."""
    return (
        f"CREATE INDEX IF NOT EXISTS tickets_queue ON {schema}.tickets "
        f"(tenant, team, priority DESC, created_us, id) WHERE {_QUEUE_WHERE}"
    )


def postgres_queue(schema: str) -> str:
    """One page of a team's queue, after a (priority, created, id) position."""
    return (
        f"SELECT body FROM {schema}.tickets WHERE tenant = %s AND team = %s AND {_QUEUE_WHERE} "
        "AND (priority < %s OR (priority = %s AND (created_us, id) > (%s, %s))) "
        "ORDER BY priority DESC, created_us, id LIMIT %s"
    )


def validate_queue_args(team: object, tenant: object, limit: object) -> None:
    """Check the arguments of `TicketStore.queued`.

    Raises:
        ValidationError: an empty team or tenant, a limit outside 1-10,000.

    Examples:
        >>> validate_queue_args("returns", "default", 100) is None
        True
    """
    problems: list[ErrorDetail] = []
    _text_problem("team", team, MAX_RECORD_KEY, problems, empty=False)
    _text_problem("tenant", tenant, MAX_RECORD_KEY, problems, empty=False)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        problems.append(ErrorDetail("limit", f"expected a whole number from 1 to 10000, got {limit!r}"))
    if problems:
        raise ValidationError(problems)
