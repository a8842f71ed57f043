"""The storage contract: ``TicketStore``, queries, pages and cursors.

A store keeps tickets and their events. It knows nothing of workflows, SLAs or
routing: it checks versions, keeps writes atomic, answers queries and never shows
one tenant another tenant's data. Everything beyond five primitives (``create``,
``get``, ``save``, ``events``, ``scan``) has a correct default here, so a small
store is small; fast stores override the defaults.
"""

from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Final, TypeAlias

import attrs

from ticketkit.errors import ConflictError, ErrorDetail, TicketkitError, ValidationError, bounded_repr
from ticketkit.model._encode import plain
from ticketkit.model._models import Event, Priority, Ticket, replace_trusted
from ticketkit.model._serialization import from_dict
from ticketkit.model._time import aware_problem, require_aware
from ticketkit.storage import _outbox as ob
from ticketkit.storage._message_keys import (
    check_bindings,
    validate_key_bindings,
)
from ticketkit.storage._records import (
    QUEUE_KINDS,
    validate_queue_args,
)
from ticketkit.storage._side_defaults import SideDefaults

__all__ = [
    "EXPORT_FORMAT",
    "MAX_LIMIT",
    "NO_DUE",
    "OPEN_STATUS_KINDS",
    "ORDER_KEYS",
    "Change",
    "Page",
    "Query",
    "TicketStore",
    "instant_key",
    "validate_create",
    "validate_save",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)

NO_DUE: Final = 2**62
"""The sort key of "no next checkpoint": after every real instant."""

ORDER_KEYS: Final = ("created_at", "updated_at", "next_due_at", "priority", "id")
"""What `TicketStore.query` can order by (prefix ``-`` for newest/highest first)."""

OPEN_STATUS_KINDS: Final = ("new", "open", "pending")
"""The status kinds of a ticket still on someone's desk (what agent load counts)."""

MAX_LIMIT: Final = 10_000
"""The largest page a query returns."""

EXPORT_FORMAT: Final = "ticketkit-export"

Change: TypeAlias = "tuple[Ticket, Sequence[Event], int | None]"
"""One write for `TicketStore.save_many`: ticket, its new events, and the expected
stored version (``None`` to create the ticket)."""


def instant_key(value: datetime) -> int:
    """Microseconds since 1970-01-01 UTC: an integer that sorts like the instant.

    Two datetimes with different offsets but the same instant get the same key.

    Examples:
        >>> from datetime import datetime, timezone, timedelta
        >>> a = datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
        >>> b = datetime(2025, 1, 1, 0, tzinfo=timezone.utc)
        >>> instant_key(a) == instant_key(b)
        True
    """
    return (value - _EPOCH) // _US


def due_key(ticket: Ticket) -> int:
    """The ticket's ``next_due_at`` as an `instant_key`, or `NO_DUE`."""
    due = ticket.next_due_at
    return NO_DUE if due is None else instant_key(due)


# --------------------------------------------------------------------------- pages and queries


@attrs.frozen(kw_only=True)
class Page:
    """One page of query results and the cursor to the next page.

    ``next_cursor`` is None on the last page. A page iterates over its tickets.

    Examples:
        >>> page = Page(items=(), next_cursor=None)
        >>> len(page), list(page), page.next_cursor
        (0, [], None)
    """

    items: tuple[Ticket, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[Ticket]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _encode_cursor(order_by: str, key: int, ticket_id: str) -> str:
    raw = json.dumps([order_by, key, ticket_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_cursor(cursor: object, order_by: str) -> tuple[int, str] | str:
    """The (key, id) a cursor points after, or the problem with it."""
    if not isinstance(cursor, str):
        return f"expected a cursor string from Page.next_cursor, got {cursor!r}"
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return f"{cursor!r} is not a cursor returned by query(); pass Page.next_cursor unchanged"
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not isinstance(data[0], str)
        or not isinstance(data[1], int)
        or not isinstance(data[2], str)
    ):
        return f"{cursor!r} is not a cursor returned by query(); pass Page.next_cursor unchanged"
    if data[0] != order_by:
        return f"the cursor was made for order_by={data[0]!r}, not {order_by!r}; keep the query the same"
    return (data[1], data[2])


_OrderKey: TypeAlias = "tuple[int, str]"


@attrs.frozen(kw_only=True)
class Query:
    """A checked ticket query: filters, order, page size and position.

    Build it with [`Query.build`][ticketkit.storage.Query.build] (which is what
    [`TicketStore.query`][ticketkit.TicketStore.query] does); stores read the normalised fields. Multi-valued
    filters (``status``, ``team``, ...) match any of their values; ``tags`` must all be present;
    an empty list matches nothing; ranges are half-open
    (``created_since <= created_at < created_before``); ``text`` is a substring of
    the subject after both are folded with ``str.casefold`` (full Unicode case
    folding, no other normalisation; every character literal, none a wildcard);
    ``next_due_before`` keeps tickets with ``next_due_at <= next_due_before``.

    Examples:
        >>> q = Query.build(status=["open", "pending"], order_by="-priority", limit=10)
        >>> sorted(q.status), q.order_by, q.descending, q.limit
        (['open', 'pending'], 'priority', True, 10)
    """

    tenant: str | None = None
    status: frozenset[str] | None = None
    status_kind: frozenset[str] | None = None
    team: frozenset[str] | None = None
    assignee: frozenset[str] | None = None
    customer: frozenset[str] | None = None
    category: frozenset[str] | None = None
    priority: frozenset[Priority] | None = None
    tags: frozenset[str] = frozenset()
    created_since: datetime | None = None
    created_before: datetime | None = None
    updated_since: datetime | None = None
    updated_before: datetime | None = None
    text: str | None = None
    next_due_before: datetime | None = None
    parent_id: str | None = None
    order_by: str = "created_at"
    descending: bool = False
    limit: int = 50
    after: tuple[int, str] | None = None

    @classmethod
    def build(
        cls,
        *,
        tenant: str | None = None,
        status: str | Iterable[str] | None = None,
        status_kind: str | Iterable[str] | None = None,
        team: str | Iterable[str] | None = None,
        assignee: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        category: str | Iterable[str] | None = None,
        priority: Priority | str | Iterable[Priority | str] | None = None,
        tags: str | Iterable[str] | None = None,
        created_since: datetime | None = None,
        created_before: datetime | None = None,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
        text: str | None = None,
        next_due_before: datetime | None = None,
        parent_id: str | None = None,
        order_by: str = "created_at",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Query:
        """Check and normalise query arguments; every problem is reported at once.

        Raises:
            ValidationError: naming each bad argument (unknown ``order_by``,
                a naive datetime, a limit out of range, a foreign cursor, ...).

        Examples:
            >>> try:
            ...     Query.build(order_by="age", limit=0)
            ... except ValidationError as err:
            ...     print(sorted(e.path for e in err.errors))
            ['limit', 'order_by']
        """
        problems: list[ErrorDetail] = []
        priorities = _priorities(priority, problems)
        descending, key = _parse_order(order_by, problems)
        _limit_problem(limit, problems)
        after = _parse_cursor(cursor, order_by, problems)
        query = cls(
            tenant=_opt_text("tenant", tenant, problems),
            status=_strings("status", status, problems),
            status_kind=_strings("status_kind", status_kind, problems),
            team=_strings("team", team, problems),
            assignee=_strings("assignee", assignee, problems),
            customer=_strings("customer", customer, problems),
            category=_strings("category", category, problems),
            priority=priorities,
            tags=_strings("tags", tags, problems) or frozenset(),
            created_since=_moment("created_since", created_since, problems),
            created_before=_moment("created_before", created_before, problems),
            updated_since=_moment("updated_since", updated_since, problems),
            updated_before=_moment("updated_before", updated_before, problems),
            text=_opt_text("text", text, problems),
            next_due_before=_moment("next_due_before", next_due_before, problems),
            parent_id=_opt_text("parent_id", parent_id, problems),
            order_by=key,
            descending=descending,
            limit=limit if not problems else 1,
            after=after,
        )
        if problems:
            raise ValidationError(problems)
        return query

    def instant_bounds(self) -> list[tuple[str, str, int]]:
        """The time-range filters that are set, as ``(column, operator, instant key)``.

        Columns are the key columns SQL stores keep (``created_us``, ``updated_us``,
        ``due_us``); ranges are half-open, ``next_due_before`` inclusive.

        Examples:
            >>> from datetime import datetime, timezone
            >>> Query.build(
            ...     created_before=datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
            ... ).instant_bounds()
            [('created_us', '<', 1000000)]
        """
        bounds = (
            ("created_us", ">=", self.created_since),
            ("created_us", "<", self.created_before),
            ("updated_us", ">=", self.updated_since),
            ("updated_us", "<", self.updated_before),
            ("due_us", "<=", self.next_due_before),
        )
        return [(column, op, instant_key(value)) for column, op, value in bounds if value is not None]

    @property
    def order_token(self) -> str:
        """``order_by`` as given: the key, with ``-`` in front when descending."""
        return f"-{self.order_by}" if self.descending else self.order_by

    def matches(self, ticket: Ticket) -> bool:
        """True when ``ticket`` passes every filter (the cursor is not a filter).

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket(
            ...     subject="Refund", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc), tags={"a", "b"}
            ... )
            >>> Query.build(tags=["a"]).matches(t), Query.build(text="REF").matches(t)
            (True, True)
        """
        if self.tenant is not None and ticket.tenant != self.tenant:
            return False
        if self.status is not None and ticket.status not in self.status:
            return False
        if self.status_kind is not None and ticket.status_kind not in self.status_kind:
            return False
        if self.team is not None and ticket.team not in self.team:
            return False
        if self.assignee is not None and ticket.assignee not in self.assignee:
            return False
        if self.customer is not None and (ticket.customer is None or ticket.customer.id not in self.customer):
            return False
        if self.category is not None and ticket.category not in self.category:
            return False
        if self.priority is not None and ticket.priority not in self.priority:
            return False
        if self.tags and not self.tags <= ticket.tags:
            return False
        if self.created_since is not None and ticket.created_at < self.created_since:
            return False
        if self.created_before is not None and ticket.created_at >= self.created_before:
            return False
        if self.updated_since is not None and ticket.updated_at < self.updated_since:
            return False
        if self.updated_before is not None and ticket.updated_at >= self.updated_before:
            return False
        if self.text is not None and self.text.casefold() not in ticket.subject.casefold():
            return False
        if self.next_due_before is not None:
            due = ticket.next_due_at
            if due is None or due > self.next_due_before:
                return False
        return self.parent_id is None or ticket.parent_id == self.parent_id

    def sort_key(self, ticket: Ticket) -> tuple[int, str]:
        """The (key, id) pair results are ordered by (keyset pagination runs on it).

        Datetimes become [`instant_key`][ticketkit.storage.instant_key] integers, ``next_due_at`` None becomes
        [`NO_DUE`][ticketkit.storage.NO_DUE], priority its rank, and ordering by id uses key 0.
        """
        return (_KEY_OF[self.order_by](ticket), ticket.id)

    def is_after_cursor(self, key: tuple[int, str]) -> bool:
        """True when an item with this sort key belongs after the cursor position."""
        if self.after is None:
            return True
        return key < self.after if self.descending else key > self.after

    def page(self, tickets: Iterable[Ticket]) -> Page:
        """The page this query selects from ``tickets`` (in any order).

        The slow, obviously correct implementation; simple stores use it as is.

        Examples:
            >>> from datetime import datetime, timezone
            >>> ts = [
            ...     Ticket(
            ...         subject=f"t{i}", id=f"T{i}", created_at=datetime(2025, 1, i + 1, tzinfo=timezone.utc)
            ...     )
            ...     for i in range(3)
            ... ]
            >>> p = Query.build(limit=2).page(ts)
            >>> [t.id for t in p], [t.id for t in Query.build(limit=2, cursor=p.next_cursor).page(ts)]
            (['T0', 'T1'], ['T2'])
        """
        keyed = []
        for t in tickets:
            if self.matches(t):
                k = self.sort_key(t)
                if self.is_after_cursor(k):
                    keyed.append((k, t))
        keyed.sort(key=lambda kt: kt[0], reverse=self.descending)
        return self.make_page([t for _, t in keyed[: self.limit + 1]])

    def make_page(self, items: Sequence[Ticket]) -> Page:
        """A page from up to ``limit + 1`` ordered results (one more means "there is a next page")."""
        if len(items) > self.limit:
            shown = tuple(items[: self.limit])
            key, tid = self.sort_key(shown[-1])
            return Page(items=shown, next_cursor=_encode_cursor(self.order_token, key, tid))
        return Page(items=tuple(items), next_cursor=None)


# --------------------------------------------------------------------------- query arguments
# Each reads one argument of Query.build, appends what is wrong with it to ``problems``
# and returns the normalised value (or a harmless stand-in), so every problem is listed.


def _strings(path: str, value: object, problems: list[ErrorDetail]) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return frozenset(items)
    problems.append(ErrorDetail(path, f"expected a string or a list of strings, got {value!r}"))
    return None


def _moment(path: str, value: object, problems: list[ErrorDetail]) -> datetime | None:
    if value is None:
        return None
    problem = aware_problem(value)
    if problem:
        problems.append(ErrorDetail(path, problem))
        return None
    assert isinstance(value, datetime)
    return value


def _opt_text(path: str, value: object, problems: list[ErrorDetail]) -> str | None:
    if value is None or isinstance(value, str):
        return value
    problems.append(ErrorDetail(path, f"expected a string or None, got {value!r}"))
    return None


def _priorities(priority: object, problems: list[ErrorDetail]) -> frozenset[Priority] | None:
    if priority is None:
        return None
    raw: object = [priority] if isinstance(priority, Priority | str) else priority
    out: set[Priority] = set()
    if not isinstance(raw, Iterable):
        problems.append(ErrorDetail("priority", f"expected a priority or a list of them, got {raw!r}"))
        return frozenset()
    for p in raw:
        try:
            out.add(Priority.parse(p))
        except ValidationError as err:
            problems.extend(err.errors)
    return frozenset(out)


def _parse_order(order_by: object, problems: list[ErrorDetail]) -> tuple[bool, str]:
    """(descending, key) of an ``order_by`` token; ``created_at`` stands in for a bad one."""
    descending, key = False, order_by
    if isinstance(order_by, str) and order_by.startswith("-"):
        descending, key = True, order_by[1:]
    if key not in ORDER_KEYS:
        problems.append(
            ErrorDetail(
                "order_by",
                f"unknown order {order_by!r} (expected one of: {', '.join(ORDER_KEYS)}; "
                "prefix '-' for descending)",
            )
        )
    return descending, key if isinstance(key, str) else "created_at"


def _parse_cursor(cursor: object, order_by: object, problems: list[ErrorDetail]) -> tuple[int, str] | None:
    if cursor is None or not isinstance(order_by, str):
        return None
    decoded = _decode_cursor(cursor, order_by)
    if isinstance(decoded, str):
        problems.append(ErrorDetail("cursor", decoded))
        return None
    return decoded


_KEY_OF: Final[dict[str, Callable[[Ticket], int]]] = {
    "created_at": lambda t: instant_key(t.created_at),
    "updated_at": lambda t: instant_key(t.updated_at),
    "next_due_at": due_key,
    "priority": lambda t: t.priority.rank,
    "id": lambda t: 0,
}


# --------------------------------------------------------------------------- argument checks


def _event_problems(ticket: Ticket, events: object, problems: list[ErrorDetail]) -> None:
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        problems.append(ErrorDetail("events", f"expected a list of Event, got {events!r}"))
        return
    for i, event in enumerate(events):
        if not isinstance(event, Event):
            problems.append(ErrorDetail(f"events[{i}]", f"expected an Event, got {event!r}"))
            continue
        if event.ticket_id != ticket.id:
            problems.append(
                ErrorDetail(
                    f"events[{i}].ticket_id",
                    f"event is for ticket {event.ticket_id!r}, not {ticket.id!r}",
                )
            )
        if event.tenant != ticket.tenant:
            problems.append(
                ErrorDetail(
                    f"events[{i}].tenant",
                    f"event is for tenant {event.tenant!r}, but the ticket belongs to {ticket.tenant!r}",
                )
            )


def validate_create(ticket: Ticket, events: Sequence[Event]) -> None:
    """Check the arguments of [`TicketStore.create`][ticketkit.TicketStore.create] (not the stored state).

    Raises:
        ValidationError: listing every problem (not a Ticket, events for another
            ticket or tenant, ...).

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> t = Ticket(subject="s", id="T1", created_at=at)
        >>> validate_create(t, [Event(ticket_id="T2", kind="ticket.created", actor="system", at=at)])
        Traceback (most recent call last):
        ...
        ticketkit.errors.ValidationError: invalid input (1 problem):
          events[0].ticket_id: event is for ticket 'T2', not 'T1'
    """
    if not isinstance(ticket, Ticket):
        raise ValidationError.one("ticket", f"expected a Ticket, got {ticket!r}")
    problems: list[ErrorDetail] = []
    _event_problems(ticket, events, problems)
    if problems:
        raise ValidationError(problems)


def validate_save(ticket: Ticket, events: Sequence[Event], expected_version: int) -> None:
    """Check the arguments of [`TicketStore.save`][ticketkit.TicketStore.save] (not the stored state).

    The ticket must carry the new version, ``expected_version + 1``.

    Raises:
        ValidationError: listing every problem.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(subject="s", id="T1", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc), version=3)
        >>> validate_save(t, [], 1)
        Traceback (most recent call last):
        ...
        ticketkit.errors.ValidationError: invalid input (1 problem):
          ticket.version: the ticket to save over version 1 must have version 2, got 3
    """
    if not isinstance(ticket, Ticket):
        raise ValidationError.one("ticket", f"expected a Ticket, got {ticket!r}")
    problems: list[ErrorDetail] = []
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        problems.append(ErrorDetail("expected_version", f"expected an integer, got {expected_version!r}"))
    elif ticket.version != expected_version + 1:
        problems.append(
            ErrorDetail(
                "ticket.version",
                f"the ticket to save over version {expected_version} must have version "
                f"{expected_version + 1}, got {ticket.version}",
            )
        )
    _event_problems(ticket, events, problems)
    if problems:
        raise ValidationError(problems)


def validate_changes(changes: Iterable[Change]) -> list[Change]:
    """Check every change of a batch; one ticket at most once per batch."""
    out: list[Change] = []
    problems: list[ErrorDetail] = []
    seen: set[str] = set()
    for i, item in enumerate(changes):
        change: object = item
        if not isinstance(change, tuple) or len(change) != 3:
            problems.append(
                ErrorDetail(f"changes[{i}]", f"expected (ticket, events, expected_version), got {change!r}")
            )
            continue
        ticket, events, expected = change
        try:
            if expected is None:
                validate_create(ticket, events)
            else:
                validate_save(ticket, events, expected)
        except ValidationError as err:
            problems.extend(err.prefixed(f"changes[{i}]").errors)
            continue
        if ticket.id in seen:
            problems.append(
                ErrorDetail(f"changes[{i}].ticket.id", f"ticket {ticket.id!r} appears twice in one batch")
            )
        seen.add(ticket.id)
        out.append((ticket, tuple(events), expected))
    if problems:
        raise ValidationError(problems)
    return out


def check_counts_args(
    agents: object, tenant: object, status_kind: object
) -> tuple[list[str], frozenset[str]]:
    """Check the arguments of `TicketStore.assigned_counts`: the agents (unique, in order) and kinds."""
    problems: list[ErrorDetail] = []

    def strings(path: str, value: object) -> list[str]:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            problems.append(ErrorDetail(path, f"expected a list of strings, got {value!r}"))
            return []
        items = list(value)
        problems.extend(
            ErrorDetail(f"{path}[{i}]", f"expected a string, got {v!r}")
            for i, v in enumerate(items)
            if not isinstance(v, str)
        )
        return list(dict.fromkeys(items))

    names = strings("agents", agents)
    kinds = strings("status_kind", status_kind)
    if tenant is not None and not isinstance(tenant, str):
        problems.append(ErrorDetail("tenant", f"expected a string or None, got {tenant!r}"))
    if problems:
        raise ValidationError(problems)
    return names, frozenset(kinds)


def _check_claim_args(at: datetime, worker: str, lease: timedelta, limit: int) -> None:
    problems: list[ErrorDetail] = []
    problem = aware_problem(at)
    if problem:
        problems.append(ErrorDetail("at", problem))
    if not isinstance(worker, str) or not worker.strip():
        problems.append(ErrorDetail("worker", f"expected a non-empty worker name, got {worker!r}"))
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        problems.append(ErrorDetail("lease", f"expected a positive timedelta, got {lease!r}"))
    _limit_problem(limit, problems)
    if problems:
        raise ValidationError(problems)


def _limit_problem(limit: object, problems: list[ErrorDetail]) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        problems.append(ErrorDetail("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {limit!r}"))


def check_due_args(at: datetime, limit: int) -> None:
    """Check the arguments of [`TicketStore.due`][ticketkit.TicketStore.due]."""
    problems: list[ErrorDetail] = []
    problem = aware_problem(at)
    if problem:
        problems.append(ErrorDetail("at", problem))
    _limit_problem(limit, problems)
    if problems:
        raise ValidationError(problems)


def leased(ticket: Ticket, until: datetime) -> Ticket:
    """The claimed form of a due ticket: one version on, next checkpoint moved to ``until``."""
    assert ticket.sla is not None
    return replace_trusted(
        ticket, sla=replace_trusted(ticket.sla, next_due_at=until), version=ticket.version + 1
    )


# --------------------------------------------------------------------------- export format


EXPORT_VERSION: Final = 2
"""Version 2 ends with a trailer line (count and SHA-256); version 1 files (no trailer) are still read."""


def export_header() -> str:
    """The first line of an export file."""
    return json.dumps({"format": EXPORT_FORMAT, "version": EXPORT_VERSION}) + "\n"


def export_trailer(count: int, digest: str) -> str:
    """The last line of an export: how many tickets it holds and the SHA-256 of every line before it."""
    return json.dumps({"trailer": {"count": count, "sha256": digest}}) + "\n"


class ExportWriter:
    """Writes an export through ``fp``, hashing every line, and ends it with the trailer."""

    __slots__ = ("_fp", "_hash")

    def __init__(self, fp: IO[str]) -> None:
        self._fp = fp
        self._hash = hashlib.sha256()

    def write(self, text: str) -> None:
        """Write ``text`` (whole lines) and add it to the checksum."""
        self._fp.write(text)
        self._hash.update(text.encode("utf-8", "surrogatepass"))

    def finish(self, count: int) -> int:
        """Write the trailer for ``count`` tickets; ``count``."""
        self._fp.write(export_trailer(count, self._hash.hexdigest()))
        return count


def export_line(ticket: Ticket, events: Iterable[Event]) -> str:
    """One ticket and its events as one line of JSON."""
    record = {"ticket": plain(ticket), "events": [plain(e) for e in events]}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def read_export(fp: IO[str]) -> list[Change]:  # one piece: one pass over the lines, header to trailer
    """Parse and check a whole export file; every bad line is reported with its number."""
    problems: list[ErrorDetail] = []
    changes: list[Change] = []
    header_seen = False
    version = 0
    digest = hashlib.sha256()
    trailer: object = None
    count = 0
    for number, line in enumerate(fp, start=1):
        path = f"line {number}"
        if trailer is not None:
            if line.strip():
                problems.append(ErrorDetail(path, "a line after the trailer; the file was altered"))
                break
            continue
        if not line.strip():
            continue
        if line.startswith('{"trailer"') and version >= 2:
            trailer = _trailer_of(line)
            if trailer is not None:
                _check_trailer(trailer, count, digest.hexdigest(), path, problems)
                continue
        digest.update(line.encode("utf-8", "surrogatepass"))
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, ValueError, RecursionError) as exc:  # huge integers, deep nesting
            problems.append(ErrorDetail(path, f"not valid JSON: {str(exc)[:200]}"))
            continue
        if not header_seen:
            header_seen = True
            version = _export_version(record)
            if version == 0:
                problems.append(
                    ErrorDetail(
                        path,
                        f"expected the export header {{'format': {EXPORT_FORMAT!r}, 'version': 1 or 2}}, "
                        f"got {bounded_repr(record)}; is this a ticketkit export?",
                    )
                )
                break
            continue
        count += 1
        if not isinstance(record, dict) or set(record) != {"ticket", "events"}:
            problems.append(ErrorDetail(path, "expected an object with the keys 'ticket' and 'events'"))
            continue
        try:
            ticket = from_dict(Ticket, record["ticket"], path=f"{path}.ticket")
        except ValidationError as err:
            problems.extend(err.errors)
            continue
        raw_events = record["events"]
        if not isinstance(raw_events, list):
            problems.append(ErrorDetail(f"{path}.events", "expected a list of events"))
            continue
        events: list[Event] = []
        for i, raw in enumerate(raw_events):
            try:
                events.append(from_dict(Event, raw, path=f"{path}.events[{i}]"))
            except ValidationError as err:
                problems.extend(err.errors)
        try:
            validate_create(ticket, events)
        except ValidationError as err:
            problems.extend(err.prefixed(path).errors)
            continue
        changes.append((ticket, tuple(events), None))
    if not header_seen and not problems:
        problems.append(ErrorDetail("line 1", "empty file: expected a ticketkit export"))
    if version >= 2 and trailer is None:
        problems.append(
            ErrorDetail(
                "", f"no trailer: the export ends after {count} tickets without its checksum; cut short?"
            )
        )
    if problems:
        raise ValidationError(problems)
    ids = [c[0].id for c in changes]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValidationError.one(
            "", f"the export holds tickets more than once: {', '.join(map(repr, dupes))}"
        )
    return changes


def _export_version(record: object) -> int:
    if (
        isinstance(record, dict)
        and record.get("format") == EXPORT_FORMAT
        and set(record) == {"format", "version"}
    ):
        version = record["version"]
        if version in (1, 2) and not isinstance(version, bool):
            return int(version)
    return 0


def _trailer_of(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if isinstance(record, dict) and set(record) == {"trailer"} and isinstance(record["trailer"], dict):
        return record["trailer"]
    return None


def _check_trailer(
    trailer: dict[str, object], count: int, digest: str, path: str, problems: list[ErrorDetail]
) -> None:
    if trailer.get("count") != count:
        problems.append(
            ErrorDetail(
                path,
                f"the trailer counts {bounded_repr(trailer.get('count'))} tickets, the file holds {count}",
            )
        )
    if trailer.get("sha256") != digest:
        problems.append(ErrorDetail(path, "the checksum does not match: the file was altered or damaged"))


# --------------------------------------------------------------------------- the store


class StoreClosedError(TicketkitError):
    """The store was closed; open a new one."""


# The outbox primitives' defaults live in the base class `OutboxDefaults` (`_outbox`).
class TicketStore(ob.OutboxDefaults, SideDefaults, abc.ABC):
    """Where tickets and their events live: the contract every store keeps.

    Five primitives are abstract: [`create`][ticketkit.TicketStore.create],
    [`get`][ticketkit.TicketStore.get], [`save`][ticketkit.TicketStore.save],
    [`events`][ticketkit.TicketStore.events] and [`scan`][ticketkit.TicketStore.scan]. Everything else
    ([`query`][ticketkit.TicketStore.query], [`count`][ticketkit.TicketStore.count],
    [`due`][ticketkit.TicketStore.due], [`claim_due`][ticketkit.TicketStore.claim_due],
    [`save_many`][ticketkit.TicketStore.save_many], [`export`][ticketkit.TicketStore.export],
    [`import_`][ticketkit.TicketStore.import_]) has a correct default built on them, which fast stores
    override. [`ticketkit.testing.StoreContract`][ticketkit.testing.StoreContract] checks a store against
    every point of the contract.

    The rules:

    - ``save`` is atomic and optimistic: the ticket and its events land together
      or not at all; a stale ``expected_version`` raises ``ConflictError`` and
      writes nothing.
    - Every read takes ``tenant=``; given, no other tenant's data is ever
      returned (a ticket of another tenant is ``NotFoundError``).
    - Values come back as they went in, types included: offsets and microseconds,
      ``True`` (not ``1``), ``1.0`` (not ``1``).
    - Several store objects may be open on one backend: what one commits, the
      others read at once, and version checks and claims hold between them.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> store = tk.InMemoryStore()
        >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = store.create(tk.Ticket(subject="Refund", id="T1", created_at=at))
        >>> t2 = store.save(
        ...     tk.Ticket(subject="Refund", id="T1", created_at=at, status="open", version=2), [], 1
        ... )
        >>> store.get("T1").status, store.count(status="open")
        ('open', 1)
    """

    # ------------------------------------------------------------------ primitives

    @abc.abstractmethod
    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        """Store a new ticket and its first events, atomically.

        Raises:
            ConflictError: a ticket with this id exists already (nothing written).
            ValidationError: bad arguments (see [`validate_create`][ticketkit.storage.validate_create]).
        """

    @abc.abstractmethod
    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        """The stored ticket with this id.

        Raises:
            NotFoundError: no such ticket, or it belongs to another ``tenant``.
        """

    @abc.abstractmethod
    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        """Replace the stored ticket at ``expected_version`` and append ``events``, atomically.

        ``ticket.version`` must be ``expected_version + 1``.

        Raises:
            ConflictError: the stored version is not ``expected_version``, or the
                ticket does not exist (nothing written).
            ValidationError: bad arguments, or the ticket changed tenant.
        """

    @abc.abstractmethod
    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        """The ticket's events in the order they were stored.

        Raises:
            NotFoundError: no such ticket, or it belongs to another ``tenant``.
        """

    @abc.abstractmethod
    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        """Every stored ticket (of ``tenant`` when given), in any order."""

    # ------------------------------------------------------------------ derived

    def query(
        self,
        *,
        tenant: str | None = None,
        status: str | Iterable[str] | None = None,
        status_kind: str | Iterable[str] | None = None,
        team: str | Iterable[str] | None = None,
        assignee: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        category: str | Iterable[str] | None = None,
        priority: Priority | str | Iterable[Priority | str] | None = None,
        tags: str | Iterable[str] | None = None,
        created_since: datetime | None = None,
        created_before: datetime | None = None,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
        text: str | None = None,
        next_due_before: datetime | None = None,
        parent_id: str | None = None,
        order_by: str = "created_at",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """One page of the tickets that pass every filter, in order.

        Filters are described on [`Query`][ticketkit.storage.Query]. ``order_by`` is one of
        [`ORDER_KEYS`][ticketkit.storage.ORDER_KEYS], ``-`` in front for descending; ties are broken by id.
        Pass ``cursor=page.next_cursor`` for the next page: pagination is keyset
        pagination on (order key, id), so tickets inserted meanwhile never make a
        page repeat or skip a ticket that was there before.

        Raises:
            ValidationError: bad arguments, every one listed.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> for i in range(3):
            ...     _ = store.create(
            ...         tk.Ticket(
            ...             subject=f"t{i}",
            ...             id=f"T{i}",
            ...             created_at=datetime(2025, 1, i + 1, tzinfo=timezone.utc),
            ...         )
            ...     )
            >>> page = store.query(order_by="-created_at", limit=2)
            >>> (
            ...     [t.id for t in page],
            ...     [t.id for t in store.query(order_by="-created_at", limit=2, cursor=page.next_cursor)],
            ... )
            (['T2', 'T1'], ['T0'])
        """
        return self.run_query(
            Query.build(
                tenant=tenant,
                status=status,
                status_kind=status_kind,
                team=team,
                assignee=assignee,
                customer=customer,
                category=category,
                priority=priority,
                tags=tags,
                created_since=created_since,
                created_before=created_before,
                updated_since=updated_since,
                updated_before=updated_before,
                text=text,
                next_due_before=next_due_before,
                parent_id=parent_id,
                order_by=order_by,
                limit=limit,
                cursor=cursor,
            )
        )

    def count(
        self,
        *,
        tenant: str | None = None,
        status: str | Iterable[str] | None = None,
        status_kind: str | Iterable[str] | None = None,
        team: str | Iterable[str] | None = None,
        assignee: str | Iterable[str] | None = None,
        customer: str | Iterable[str] | None = None,
        category: str | Iterable[str] | None = None,
        priority: Priority | str | Iterable[Priority | str] | None = None,
        tags: str | Iterable[str] | None = None,
        created_since: datetime | None = None,
        created_before: datetime | None = None,
        updated_since: datetime | None = None,
        updated_before: datetime | None = None,
        text: str | None = None,
        next_due_before: datetime | None = None,
        parent_id: str | None = None,
    ) -> int:
        """How many tickets pass every filter (the filters of [`query`][ticketkit.TicketStore.query]).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().count(status_kind=["open", "pending"])
            0
        """
        return self.run_count(
            Query.build(
                tenant=tenant,
                status=status,
                status_kind=status_kind,
                team=team,
                assignee=assignee,
                customer=customer,
                category=category,
                priority=priority,
                tags=tags,
                created_since=created_since,
                created_before=created_before,
                updated_since=updated_since,
                updated_before=updated_before,
                text=text,
                next_due_before=next_due_before,
                parent_id=parent_id,
            )
        )

    def run_query(self, query: Query) -> Page:
        """Answer a checked [`Query`][ticketkit.storage.Query] (override for speed; default scans)."""
        return query.page(self.scan(tenant=query.tenant))

    def run_count(self, query: Query) -> int:
        """Count for a checked [`Query`][ticketkit.storage.Query] (override for speed; default scans)."""
        return sum(1 for t in self.scan(tenant=query.tenant) if query.matches(t))

    def assigned_counts(
        self,
        agents: Iterable[str],
        *,
        tenant: str | None = None,
        status_kind: Iterable[str] = OPEN_STATUS_KINDS,
    ) -> dict[str, int]:
        """How many tickets each agent has assigned in one of the ``status_kind`` kinds.

        The load a router weighs: every agent given gets an entry (0 when none).
        The reference stores answer from an index on (tenant, assignee, status
        kind) or from counters kept with every write, so the cost follows the
        agents' open backlog, never the stored history; this default counts with
        [`count`][ticketkit.TicketStore.count].

        Raises:
            ValidationError: an agent or status kind that is not a string.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> _ = store.create(tk.Ticket(subject="s", created_at=at, assignee="li", status_kind="open"))
            >>> store.assigned_counts(["li", "wang"])
            {'li': 1, 'wang': 0}
        """
        names, kinds = check_counts_args(agents, tenant, status_kind)
        return {a: self.count(tenant=tenant, assignee=a, status_kind=kinds) for a in names}

    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        """Tickets whose next SLA checkpoint is due: ``next_due_at <= at``, oldest first.

        Ties are ordered by id. At most ``limit`` tickets.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().due(datetime(2025, 1, 1, tzinfo=timezone.utc), limit=10)
            []
        """
        check_due_args(at, limit)
        at_key = instant_key(at)
        found = [(due_key(t), t.id, t) for t in self.scan(tenant=tenant) if due_key(t) <= at_key]
        found.sort(key=lambda x: (x[0], x[1]))
        return [t for _, _, t in found[:limit]]

    def claim_due(
        self,
        at: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        tenant: str | None = None,
    ) -> list[Ticket]:
        """Claim due tickets for one worker, so concurrent workers never share one.

        Each claimed ticket is saved one version on with its ``next_due_at``
        moved to ``at + lease``: other workers no longer see it as due, and if
        this worker dies the ticket falls due again when the lease runs out. The
        worker processes each returned ticket and saves its result over the
        claimed version, setting the real next checkpoint. Of several workers
        claiming the same due version, exactly one gets it (the default does this
        with optimistic ``save``; stores may override it with a locking query).
        ``worker`` names the claimant for stores that record it.

        Raises:
            ValidationError: a naive ``at``, an empty ``worker``, a lease that is
                not a positive timedelta, a bad ``limit``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> _ = store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=at, sla=tk.SLAState(next_due_at=at))
            ... )
            >>> [t.id for t in store.claim_due(at, worker="w1", lease=timedelta(minutes=5))]
            ['T1']
            >>> store.claim_due(at, worker="w2", lease=timedelta(minutes=5))
            []
        """
        _check_claim_args(at, worker, lease, limit)
        until = at + lease
        claimed: list[Ticket] = []
        for ticket in self.due(at, limit=limit, tenant=tenant):
            new = leased(ticket, until)
            try:
                self.save(new, (), ticket.version)
            except ConflictError:
                continue
            claimed.append(new)
        return claimed

    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        """Apply a batch of writes: ``(ticket, events, expected_version)`` each.

        ``expected_version`` None creates the ticket. Every version is checked
        before anything is written, so a conflict anywhere writes nothing. The
        reference stores apply the whole batch in one transaction; this default
        applies the checked writes one by one (each one atomic).

        Raises:
            ConflictError: a stale version or an existing id (nothing written).
            ValidationError: bad arguments, a ticket twice in one batch.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> saved = store.save_many(
            ...     [(tk.Ticket(subject=f"t{i}", created_at=at), [], None) for i in range(3)]
            ... )
            >>> store.count()
            3
        """
        checked = validate_changes(changes)
        for ticket, _, expected in checked:
            self._precheck(ticket, expected)
        out = []
        for ticket, events, expected in checked:
            if expected is None:
                out.append(self.create(ticket, events))
            else:
                out.append(self.save(ticket, events, expected))
        return out

    def _precheck(self, ticket: Ticket, expected: int | None) -> None:
        from ticketkit.errors import NotFoundError  # noqa: PLC0415

        try:
            stored: Ticket | None = self.get(ticket.id)
        except NotFoundError:
            stored = None
        if expected is None:
            if stored is not None:
                raise ConflictError(
                    ticket.id, None, stored.version, detail="a ticket with this id exists already"
                )
        elif stored is None:
            raise ConflictError(ticket.id, expected, None)
        elif stored.version != expected:
            raise ConflictError(ticket.id, expected, stored.version)
        elif stored.tenant != ticket.tenant:
            raise ValidationError.one(
                "ticket.tenant",
                f"ticket {ticket.id!r} belongs to tenant {stored.tenant!r}; "
                f"it cannot move to {ticket.tenant!r}",
            )

    def export(self, fp: IO[str], *, tenant: str | None = None) -> int:
        """Write every ticket (of ``tenant`` when given) and its events as JSON Lines.

        The first line is a header; then one line per ticket, in id order,
        ``{"ticket": {...}, "events": [...]}``, in the forms of
        [`ticketkit.to_dict`][ticketkit.to_dict]. Returns the number of tickets written.

        Examples:
            >>> import io, ticketkit as tk
            >>> buf = io.StringIO()
            >>> tk.InMemoryStore().export(buf), buf.getvalue().splitlines()[0]
            (0, '{"format": "ticketkit-export", "version": 2}')
        """
        out = ExportWriter(fp)
        out.write(export_header())
        n = 0
        for ticket in sorted(self.scan(tenant=tenant), key=lambda t: t.id):
            out.write(export_line(ticket, self.events(ticket.id)))
            n += 1
        return out.finish(n)

    def import_(self, fp: IO[str]) -> int:
        """Read an [`export`][ticketkit.TicketStore.export] file into this store; all or nothing.

        The whole file is checked first: every bad line is reported at once and
        nothing is written. Returns the number of tickets imported.

        Raises:
            ValidationError: a malformed file, every problem listed by line.
            ConflictError: a ticket in the file exists in this store already.

        Examples:
            >>> import io, ticketkit as tk
            >>> src = tk.InMemoryStore()
            >>> buf = io.StringIO()
            >>> _ = src.export(buf)
            >>> _ = buf.seek(0)
            >>> tk.InMemoryStore().import_(buf)
            0
        """
        changes = read_export(fp)
        self.save_many(changes)
        return len(changes)

    def close(self) -> None:
        """Release what the store holds (connections, files); the default does nothing."""

    def __enter__(self) -> TicketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ outbox and change feed
    # The other outbox defaults are in `OutboxDefaults`; this default feed is computed
    # from scan/events; the reference stores override both with durable versions.

    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[ob.OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        """Apply a batch of writes (as `save_many`), write ``outbox`` and bind ``message_keys``, atomically.

        A message whose id is in the outbox already is not written again.
        ``message_keys`` maps message keys (see `bind_message_keys`) of ``tenant`` to
        ticket ids, each bound by this commit: a key bound already (to another
        ticket, or even to the same one) refuses the whole commit with a
        `MessageKeyConflictError` naming its ticket. ``Helpdesk.receive`` binds a
        message's keys this way, in the transaction that applies it, so a crash or
        a second process cannot apply one message twice (not even as two replies
        on one ticket). The reference stores do
        all of it in one transaction; this default checks the keys, saves, keeps
        the messages in this process and binds the keys, under a lock of this
        object (right for one process; override it in a store that several
        processes share or that should survive a crash).

        Raises:
            ConflictError: a stale version or an existing id (nothing written).
            MessageKeyConflictError: a key is bound already (nothing written).
            ValidationError: bad arguments.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> from ticketkit.storage import OutboxMessage
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> m = OutboxMessage(id="n-1", payload="{}", created_at=at, available_at=at)
            >>> _ = store.commit([(tk.Ticket(subject="s", created_at=at), [], None)], [m])
            >>> [x.id for x in store.outbox()]
            ['n-1']
        """
        messages = ob.check_messages(outbox)
        if not message_keys:
            saved = self.save_many(changes)
            self._memory_outbox().add(messages)
            return saved
        wanted = validate_key_bindings(message_keys, tenant)
        with _commit_lock(self):
            check_bindings(wanted, tenant, lambda key: self.message_key(key, tenant=tenant))
            saved = self.save_many(changes)
            self._memory_outbox().add(messages)
            for ticket_id in sorted(set(wanted.values())):
                self.bind_message_keys(
                    [k for k, t in wanted.items() if t == ticket_id], ticket_id, tenant=tenant
                )
        return saved

    def changes(self, after: str | None = None, *, limit: int = 1000) -> ob.FeedPage:
        """Committed events after the cursor ``after`` (None: from the start), at most ``limit``.

        Pass the returned ``cursor`` to the next call: every committed event is
        returned exactly once, in a stable order, however writers interleave.
        This default reads every ticket's events and keeps a count per ticket in
        the cursor (correct, slow on big stores); the reference stores override it
        with a commit-ordered log.

        Raises:
            ValidationError: a cursor this store did not make, a bad limit.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> page = store.changes()
            >>> len(page), len(store.changes(page.cursor))
            (0, 0)
        """
        ob.check_feed_limit(limit)
        seen = ob.count_cursor(after)
        found: list[tuple[int, str, int, Event]] = []
        for ticket in self.scan():
            n = seen.get(ticket.id, 0)
            key = -1
            for i, event in enumerate(self.events(ticket.id)[n:], start=n):
                key = max(key, instant_key(event.at))  # non-decreasing: a ticket's events stay a prefix
                found.append((key, ticket.id, i, event))
        found.sort(key=lambda x: x[:3])
        counts = dict(seen)
        for _, ticket_id, i, _ in found[:limit]:
            counts[ticket_id] = i + 1
        return ob.FeedPage(
            events=tuple(x[3] for x in found[:limit]), cursor=ob.encode_cursor("counts", counts)
        )

    # ------------------------------------------------------------------ personal data

    def rewrite(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        *,
        append: Sequence[Event] = (),
        expected_version: int,
    ) -> Ticket:
        """Replace the stored ticket and its stored events in place, and append ``append``, atomically.

        The one exception to append-only events, for redaction and erasure of personal
        data: ``events`` are the ticket's stored events, rewritten (the same ids in the
        same order); afterwards `get`, `events` and `export` return only the new values.
        ``ticket.version`` must be ``expected_version + 1``. The default raises
        ``NotImplementedError``: a store of your own keeps working until redaction or
        erasure is used; the contract's ``RewriteContract`` checks an implementation.

        Raises:
            ConflictError: the stored version is not ``expected_version`` (nothing written).
            ValidationError: bad arguments, or ``events`` are not the stored events.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import attrs, ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> e = tk.Event(ticket_id="T1", kind="ticket.created", actor="system", at=at, data={"s": "138"})
            >>> t = store.create(tk.Ticket(subject="s", id="T1", created_at=at), [e])
            >>> _ = store.rewrite(attrs.evolve(t, version=2), [attrs.evolve(e, data={})], expected_version=1)
            >>> store.events("T1")[0].data
            {}
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement TicketStore.rewrite")

    def purge(
        self, ticket_id: str, *, tenant: str | None = None, expected_version: int | None = None
    ) -> None:
        """Delete the ticket, its events and its outbox messages, atomically (retention's ``purge`` action).

        With ``expected_version`` the ticket is deleted only at that version. The default
        raises ``NotImplementedError``, like `rewrite`.

        Raises:
            NotFoundError: no such ticket, or it belongs to another ``tenant``.
            ConflictError: the stored version is not ``expected_version`` (nothing deleted).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> _ = store.create(
            ...     tk.Ticket(subject="s", id="T1", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
            ... )
            >>> store.purge("T1")
            >>> store.count()
            0
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement TicketStore.purge")

    def compact(self, *, tenant: str | None = None) -> None:
        """Make deleted and overwritten bytes unreadable in the store's own files.

        Called after an erasure. ``SQLiteStore`` checkpoints its write-ahead log
        (truncating it) and runs ``VACUUM`` (deletes run with ``secure_delete``); the
        default, and the in-memory and PostgreSQL stores, do nothing (for PostgreSQL
        see the personal-data how-to: ``VACUUM``, WAL archives and backups are yours).

        Examples:
            >>> import ticketkit as tk
            >>> tk.InMemoryStore().compact()
        """

    # ------------------------------------------------------------------ team queues

    def queued(
        self, team: str, *, tenant: str, limit: int = 100, after: Ticket | None = None
    ) -> list[Ticket]:
        """Tickets waiting in ``team``'s queue: open, unassigned; highest priority, then oldest, then id.

        At most ``limit``; ``after`` (the last ticket of the previous call) goes on from
        there. The shipped SQLite and PostgreSQL stores read a partial index that holds
        only waiting tickets, so the cost follows the queue, never the team's assigned
        or finished tickets; this default reads the team's open tickets by priority.

        Raises:
            ValidationError: an empty team or tenant, a bad limit.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> store = tk.InMemoryStore()
            >>> for i, p in enumerate(["low", "urgent", "low"]):
            ...     _ = store.create(
            ...         tk.Ticket(subject=f"t{i}", id=f"T{i}", team="q", priority=p, created_at=at)
            ...     )
            >>> [t.id for t in store.queued("q", tenant="default")]
            ['T1', 'T0', 'T2']
        """
        validate_queue_args(team, tenant, limit)
        out: list[Ticket] = []
        start = (after.priority.rank, instant_key(after.created_at), after.id) if after is not None else None
        for priority in sorted(Priority, key=lambda p: -p.rank):
            if start is not None and priority.rank > start[0]:
                continue
            cursor: str | None = None
            while len(out) < limit:
                page = self.query(
                    tenant=tenant, team=team, status_kind=QUEUE_KINDS, priority=priority,
                    order_by="created_at", limit=500, cursor=cursor,
                )  # fmt: skip
                out.extend(
                    t
                    for t in page
                    if t.assignee is None
                    and (
                        start is None
                        or priority.rank < start[0]
                        or (instant_key(t.created_at), t.id) > start[1:]
                    )
                )
                cursor = page.next_cursor
                if cursor is None:
                    break
        return out[:limit]


def _commit_lock(store: TicketStore) -> threading.Lock:
    lock: threading.Lock | None = store.__dict__.get("_ticketkit_commit_lock")
    if lock is None:
        lock = store.__dict__.setdefault("_ticketkit_commit_lock", threading.Lock())
    return lock


def parse_ticket_json(text: str | bytes) -> Ticket:
    """A ticket from the JSON a store wrote (with `ticketkit.to_dict` and ``json.dumps``)."""
    return from_dict(Ticket, json.loads(text))


def parse_event_json(text: str | bytes) -> Event:
    """An event from the JSON a store wrote."""
    return from_dict(Event, json.loads(text))


def dump_json(obj: Any) -> str:
    """Compact JSON of ``to_dict(obj)`` (made by the fast writer), non-ASCII kept as is."""
    return json.dumps(plain(obj), ensure_ascii=False, separators=(",", ":"))


def require_at(value: object, path: str) -> datetime:
    """``value`` if aware, else ``ValidationError`` naming ``path``."""
    return require_aware(value, path)
