"""Analytics over tickets and events: the numbers a service manager decides with.

A [`Dataset`][ticketkit.analytics.Dataset] reads tickets (and, optionally, their events) once into flat
columns: timestamps in ``array('d')`` (NaN for "not yet"), keys in plain lists, and the few facts
events add (reopens, merges, SLA breaches, assignments) in sparse dicts keyed by ticket
position. Every report then runs over those columns with plain loops and ``Counter``s:
no per-ticket objects are made, so a million tickets fit in a few hundred megabytes and
a monthly report takes seconds.

Conventions, the same for every report:

- **Cohorts.** A report over ``[start, end)`` counts the tickets *created* in that
  window (volume, durations, SLA, reopens, links, Pareto, CSAT), except agent
  throughput, which counts tickets *resolved* in the window, and the backlog, which is
  taken at an instant.
- **Keys.** ``by`` names a field like the condition language does: a ticket attribute
  (``channel``, ``category``, ``team``, ``priority``, ``assignee``, ``status_kind``,
  ...), ``customer`` (its id), ``customer.<attr>`` (a Customer attribute, else
  ``customer.data[<attr>]``, e.g. ``customer.store``), ``fields.<key>`` (custom
  fields), a tuple of those for a compound key, or a function of the ticket. A ticket
  without the value is counted under ``None``, so counts always add up. Without
  ``by`` the single row has the key ``"all"``.
- **Time.** Periods (days, ISO weeks, months) are cut at midnight in the dataset's
  time zone. Durations are business time on the dataset's calendar (any object with
  ``between(a, b)``; with ``open_intervals(a, b)`` too, a prefix-sum index makes each
  duration two binary searches), or wall time without a calendar.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import math
import operator
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketkit.analytics._table import (
    ALL,
    AgeingRow,
    AgentRow,
    BacklogRow,
    Chart,
    CSATRow,
    DurationRow,
    LinkRow,
    ParetoRow,
    ReopenRow,
    Report,
    SLARow,
    VolumeRow,
)
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._events import (
    ASSIGNED,
    MERGED,
    SLA_BREACHED,
    SLA_ESCALATED,
    SLA_WARNING,
    SPAWNED,
    SPLIT,
    STATUS_CHANGED,
)
from ticketkit.model._models import Customer, Event, Ticket
from ticketkit.model._time import require_aware

# No __all__: the public names are re-exported from ticketkit.analytics (a sub-namespace,
# deliberately not from ticketkit itself).

NAN: Final = math.nan
PERIODS: Final = ("day", "week", "month")
"""The periods [`Dataset.volume`][ticketkit.analytics.Dataset.volume] can cut time into."""
METRICS: Final = ("first_response", "resolution", "handling")
"""The duration metrics [`Dataset.durations`][ticketkit.analytics.Dataset.durations] measures."""
DEFAULT_AGE_BUCKETS: Final = (
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=30),
)
"""Upper bounds of the default ageing buckets: <1d, 1-3d, 3-7d, 7-14d, 14-30d, 30d+."""

_OPEN_KINDS: Final = frozenset({"new", "open", "pending"})
EVENT_KINDS: Final = frozenset(
    {STATUS_CHANGED, ASSIGNED, SLA_BREACHED, SLA_WARNING, SLA_ESCALATED, MERGED, SPAWNED, SPLIT}
)
"""The event kinds a [`Dataset`][ticketkit.analytics.Dataset] reads; others (comments, ...) are skipped, so a
store or export may be filtered to these before reading."""
_READ_KINDS: Final = EVENT_KINDS
_DONE_KINDS: Final = frozenset({"resolved", "closed"})

KeySpec: TypeAlias = "str | tuple[str, ...] | Callable[[Ticket], Hashable] | None"
"""What ``by`` accepts: a field path, a tuple of them, a function of the ticket, or None."""

_TICKET_FIELDS: Final = (
    "id",
    "tenant",
    "type",
    "channel",
    "category",
    "priority",
    "status",
    "status_kind",
    "team",
    "assignee",
    "parent_id",
    "external_ref",
    "satisfaction",
    "subject",
)
_CUSTOMER_FIELDS: Final = frozenset(a.name for a in Customer.__attrs_attrs__ if a.name != "data")


@runtime_checkable
class CalendarLike(Protocol):
    """What analytics needs of a business calendar: the business time between two instants."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``."""
        ...


# --------------------------------------------------------------------------- keys


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _freeze_value(value: Any) -> Hashable:
    if type(value) in _SCALARS:  # the common case first: no ABC checks
        return value  # type: ignore[no-any-return]
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze_value(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze_value(v) for v in value)
    if isinstance(value, Hashable):
        return value
    return repr(value)  # pragma: no cover - frozen JSON is always hashable


def _getter(path: str) -> Callable[[Ticket], Hashable]:
    """A function reading the field ``path`` of a ticket; ValidationError for unknown paths."""
    head, _, rest = path.partition(".")
    if head == "fields" and rest:
        keys = rest.split(".")
        if len(keys) == 1:
            key = keys[0]

            def get_one_field(t: Ticket) -> Hashable:
                value = t.fields.get(key)
                return value if type(value) in _SCALARS else _freeze_value(value)

            return get_one_field

        def get_field(t: Ticket) -> Hashable:
            value: Any = t.fields
            for k in keys:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(k)
            return _freeze_value(value)

        return get_field
    if head == "customer":
        if not rest:
            return lambda t: None if t.customer is None else t.customer.id
        if rest in _CUSTOMER_FIELDS:
            attr = operator.attrgetter(rest)
            return lambda t: None if t.customer is None else attr(t.customer)
        name = rest.removeprefix("data.")

        def get_customer_data(t: Ticket) -> Hashable:
            c = t.customer
            if c is None:
                return None
            value = c.data.get(name)
            return value if type(value) in _SCALARS else _freeze_value(value)

        return get_customer_data
    if path == "priority":
        return lambda t: t.priority.value
    if path == "tags":
        return lambda t: tuple(sorted(t.tags))
    if path in _TICKET_FIELDS:
        return operator.attrgetter(path)
    known = ", ".join((*_TICKET_FIELDS, "tags", "customer", "customer.<attr>", "fields.<key>"))
    raise ValidationError.one("by", f"unknown field {path!r} (expected one of: {known})")


def _check_key(by: object, path: str = "by") -> list[ErrorDetail]:
    if by is None or callable(by):
        return []
    if isinstance(by, str):
        try:
            _getter(by)
        except ValidationError as exc:
            return [ErrorDetail(path, e.message) for e in exc.errors]
        return []
    if isinstance(by, tuple) and by and all(isinstance(p, str) for p in by):
        problems: list[ErrorDetail] = []
        for i, p in enumerate(by):
            problems.extend(ErrorDetail(f"{path}[{i}]", e.message) for e in _check_key(p, path))
        return problems
    return [ErrorDetail(path, f"expected a field path, a tuple of them or a function, got {by!r}")]


def _sort_key(value: Any) -> tuple[int, str]:
    if value is None:
        return (1, "")
    if isinstance(value, tuple):
        return (0, "\x00".join(str(v) for v in value))
    return (0, str(value))


def _sorted_keys(keys: Iterable[Any]) -> list[Any]:
    return sorted(set(keys), key=_sort_key)


# --------------------------------------------------------------------------- time


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationError.one(
        "tz", f"unknown time zone {tz!r} (expected an IANA name such as 'Asia/Shanghai')"
    )


def _bound(value: datetime | None, path: str, default: float) -> float:
    if value is None:
        return default
    return require_aware(value, path).timestamp()


def _floor(d: date, period: str) -> date:
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


def _next(d: date, period: str) -> date:
    if period == "day":
        return d + timedelta(days=1)
    if period == "week":
        return d + timedelta(days=7)
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _prev(d: date, period: str) -> date:
    if period == "day":
        return d - timedelta(days=1)
    if period == "week":
        return d - timedelta(days=7)
    return date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


def _label(d: date, period: str) -> str:
    if period == "day":
        return d.isoformat()
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.year:04d}-{d.month:02d}"


def _midnight(d: date, tz: tzinfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)


def _stats(values: list[float]) -> tuple[timedelta | None, timedelta | None, timedelta | None]:
    """Mean, median and 90th percentile (linear interpolation, as pandas and numpy do)."""
    n = len(values)
    if not n:
        return None, None, None
    values.sort()
    mean = math.fsum(values) / n
    return (
        timedelta(seconds=mean),
        timedelta(seconds=_quantile(values, 0.5)),
        timedelta(seconds=_quantile(values, 0.9)),
    )


def _quantile(ordered: Sequence[float], q: float) -> float:
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    frac = pos - lo
    if frac == 0.0 or lo + 1 >= len(ordered):
        return ordered[lo]
    return ordered[lo] + (ordered[lo + 1] - ordered[lo]) * frac


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic values.

    Full collections triggered by the allocations would walk every ticket in memory,
    again and again; nothing made here forms a cycle, so nothing is lost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class _BusinessIndex:
    """Cumulative business seconds at every instant of a range, by binary search.

    Built once from ``calendar.open_intervals(lo, hi)``; ``cum(x)`` is the business
    time in ``[lo, x)``, so the business time in ``[a, b)`` is ``cum(b) - cum(a)``.
    Instants outside the range fall back to ``calendar.between``.
    """

    __slots__ = ("_bases", "_ends1", "calendar", "cums", "ends", "hi", "lo", "starts")

    def __init__(self, calendar: Any, lo: float, hi: float) -> None:
        self.calendar = calendar
        self.lo = lo
        self.hi = hi
        self._bases: list[float] | None = None
        self._ends1: list[float] = []
        raw = calendar.open_intervals(datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC))
        merged: list[list[float]] = []
        for s_dt, e_dt in sorted((s.timestamp(), e.timestamp()) for s, e in raw):
            s, e = max(s_dt, lo), min(e_dt, hi)
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        # A zero-length sentinel at ``lo`` makes every instant of the range fall after
        # some interval, so cum() needs no "before the first interval" branch.
        merged.insert(0, [lo, lo])
        self.starts = array("d", (m[0] for m in merged))
        self.ends = array("d", (m[1] for m in merged))
        cums = array("d")
        total = 0.0
        for s, e in merged:
            cums.append(total)
            total += e - s
        self.cums = cums

    def covers(self, lo: float, hi: float) -> bool:
        return self.lo <= lo and hi <= self.hi

    def cum_many(self, xs: Iterable[float]) -> array[float]:
        """``cum(x)`` for each instant of the range (NaN stays NaN).

        The binary searches run in C through ``map``; with ``j`` the number of
        intervals starting at or before ``x``, ``cum(x)`` is the business time before
        interval ``j - 1`` starts (``bases``, minus its start) plus ``x`` clipped to its
        end. NaN compares false everywhere and comes out NaN by the arithmetic itself.
        """
        if self._bases is None:
            # shifted by one so that position j reads interval j - 1 directly
            # plain lists: reading an item returns a stored float, where an array makes one
            self._bases = [0.0, *(c - s for c, s in zip(self.cums, self.starts, strict=True))]
            self._ends1 = [0.0, *self.ends]
        bases, ends = self._bases, self._ends1
        xs = xs if isinstance(xs, array | list) else list(xs)
        positions = map(functools.partial(bisect_right, self.starts), xs)
        return array(
            "d", [bases[j] + (ends[j] if x > ends[j] else x) for j, x in zip(positions, xs, strict=True)]
        )


class Dataset:
    """Tickets and their events read once into columns, ready for every report.

    Args:
        tickets: any iterable of [`Ticket`][ticketkit.Ticket] (read once).
        events: their [`Event`][ticketkit.Event]s in any order (optional; reopen
            rates, merges, spawns, SLA breach events and handling times need them).
            Events of tickets not in ``tickets`` are counted in ``orphan_events``.
        tz: the report time zone (IANA name or tzinfo) periods are cut in.
        calendar: the business calendar durations are measured on (any object with
            ``between(a, b)``); None measures wall-clock time.

    Raises:
        ValidationError: an unknown time zone, a calendar without ``between``, or a
            ticket that is not a Ticket.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from ticketkit import Ticket
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> ds = Dataset(
        ...     [
        ...         Ticket(subject="a", created_at=t0, channel="wechat", resolved_at=t0 + timedelta(hours=2)),
        ...         Ticket(subject="b", created_at=t0, channel="phone"),
        ...     ]
        ... )
        >>> rows = [(r.key, r.count) for r in ds.volume(period="month", by="channel")]
        >>> rows
        [('phone', 1), ('wechat', 1)]
        >>> ds.durations("resolution")[0].median
        datetime.timedelta(seconds=7200)
    """

    __slots__ = (
        "_assigned",
        "_calendar",
        "_closed",
        "_cohort_cache",
        "_columns",
        "_created",
        "_derived",
        "_escalations",
        "_first",
        "_index_cache",
        "_merged",
        "_reopens",
        "_resolved",
        "_resolved_ever",
        "_sla_breached",
        "_sla_events",
        "_slices",
        "_span_cache",
        "_spawned",
        "_split",
        "_tickets",
        "_tz",
        "_warnings",
        "orphan_events",
    )

    def __init__(
        self,
        tickets: Iterable[Ticket],
        events: Iterable[Event] | None = None,
        *,
        tz: str | tzinfo = "UTC",
        calendar: CalendarLike | None = None,
    ) -> None:
        problems: list[ErrorDetail] = []
        try:
            self._tz = _zone(tz)
        except ValidationError as exc:
            problems.extend(exc.errors)
        if calendar is not None and not callable(getattr(calendar, "between", None)):
            problems.append(
                ErrorDetail("calendar", f"expected a calendar with between(a, b), got {calendar!r}")
            )
        if problems:
            raise ValidationError(problems)
        self._calendar = calendar
        with _gc_paused():
            tickets = list(tickets)
            bad = next((i for i, t in enumerate(tickets) if not isinstance(t, Ticket)), None)
            if bad is not None:
                raise ValidationError.one(f"tickets[{bad}]", f"expected a Ticket, got {tickets[bad]!r}")
            self._tickets: list[Ticket] = tickets
            self._created = array("d", [t.created_at.timestamp() for t in tickets])
            self._first = array(
                "d", [NAN if (x := t.first_response_at) is None else x.timestamp() for t in tickets]
            )
            self._resolved = array(
                "d", [NAN if (x := t.resolved_at) is None else x.timestamp() for t in tickets]
            )
            # closed_at matters only for tickets closed without a resolution (the backlog's
            # end); the others are never read, so save the conversion.
            self._closed = array(
                "d",
                [
                    NAN if r == r or (x := t.closed_at) is None else x.timestamp()  # noqa: PLR0124
                    for t, r in zip(tickets, self._resolved, strict=True)
                ],
            )
            self._columns: dict[Any, list[Any]] = {}
            self._derived: dict[str, Any] = {}
            self._slices: dict[Any, Any] = {}
            self._cohort_cache: tuple[float, float, Sequence[int] | None] | None = None
            self._span_cache: tuple[float, float] | None = None
            self._index_cache: _BusinessIndex | None = None
            self._reopens: dict[int, int] = {}
            self._resolved_ever: set[int] = set()
            self._merged: set[int] = set()
            self._split: set[int] = set()
            self._spawned: dict[int, int] = {}
            self._assigned: dict[int, float] = {}
            self._sla_breached: set[tuple[int, str]] = set()
            self._sla_events: set[tuple[int, str]] = set()
            self._warnings: Counter[tuple[int, str]] = Counter()
            self._escalations: Counter[tuple[int, str]] = Counter()
            self.orphan_events = 0
            if events is not None:
                self._read_events(events)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_store(
        cls,
        store: Any,
        *,
        tz: str | tzinfo = "UTC",
        calendar: CalendarLike | None = None,
        events: bool = True,
        page_size: int = 10_000,
        **filters: Any,
    ) -> Dataset:
        """Read every ticket a store's ``query`` returns (page by page) and their events.

        ``filters`` go to ``store.query`` (``tenant``, ``team``, ``created_since``,
        ``created_before``, ...). With ``events=False`` no ``store.events`` call is made.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> _ = store.create(tk.Ticket(subject="a", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc)))
            >>> len(Dataset.from_store(store))
            1
        """
        tickets: list[Ticket] = []
        cursor: str | None = None
        while True:
            page = store.query(limit=page_size, cursor=cursor, order_by="created_at", **filters)
            tickets.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break

        def all_events() -> Iterable[Event]:
            for t in tickets:
                yield from store.events(t.id)

        return cls(tickets, all_events() if events else None, tz=tz, calendar=calendar)

    def _read_events(self, events: Iterable[Event]) -> None:
        events = events if isinstance(events, list | tuple) else list(events)
        ids = [e.ticket_id for e in events]
        # index only the tickets that have events: far fewer inserts than every id
        wanted = set(ids)
        index = {t.id: i for i, t in enumerate(self._tickets) if t.id in wanted}
        self.orphan_events += sum(1 for tid in ids if tid not in index)
        tickets = self._tickets
        reopens = self._reopens
        resolved_ever = self._resolved_ever
        assigned: dict[int, datetime] = {}
        for e, i in zip(events, map(index.get, ids), strict=True):
            if i is None:
                continue
            kind = e.kind
            if kind not in _READ_KINDS:  # comments and the like: most events, skipped cheaply
                continue
            if kind == STATUS_CHANGED:
                data = e.data
                to_kind = data.get("to_kind")
                if to_kind == "resolved":
                    resolved_ever.add(i)
                elif data.get("from_kind") in _DONE_KINDS and to_kind in _OPEN_KINDS:
                    reopens[i] = reopens.get(i, 0) + 1
            elif kind == ASSIGNED:
                agent = e.data.get("agent")
                if agent is not None and agent == tickets[i].assignee:
                    at = e.at
                    last = assigned.get(i)
                    if last is None or at > last:
                        assigned[i] = at
            elif kind.startswith("sla."):
                metric = str(e.data.get("metric", ""))
                if kind == SLA_BREACHED:
                    self._sla_breached.add((i, metric))
                    self._sla_events.add((i, metric))
                elif kind == SLA_WARNING:
                    self._warnings[i, metric] += 1
                    self._sla_events.add((i, metric))
                elif kind == SLA_ESCALATED:
                    self._escalations[i, metric] += 1
                    self._sla_events.add((i, metric))
            elif kind == MERGED:
                if "into" in e.data:
                    self._merged.add(i)
            elif kind == SPAWNED:
                if "child" in e.data:
                    self._spawned[i] = self._spawned.get(i, 0) + 1
            elif kind == SPLIT and "into" in e.data:
                self._split.add(i)
        for i, at in assigned.items():  # one conversion per ticket, not per event
            ts = at.timestamp()
            if ts > self._assigned.get(i, -math.inf):
                self._assigned[i] = ts

    def __len__(self) -> int:
        return len(self._tickets)

    @property
    def tz(self) -> tzinfo:
        """The time zone periods are cut in."""
        return self._tz

    @property
    def calendar(self) -> CalendarLike | None:
        """The calendar durations are measured on (None: wall-clock time)."""
        return self._calendar

    @property
    def tickets(self) -> Sequence[Ticket]:
        """The tickets, in the order they were read."""
        return self._tickets

    # ------------------------------------------------------------------ columns

    def column(self, by: KeySpec) -> list[Any]:
        """The value of ``by`` for every ticket, in order (cached).

        Raises:
            ValidationError: an unknown field path, with the known ones.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Customer, Ticket
            >>> t = Ticket(
            ...     subject="a",
            ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
            ...     customer=Customer(id="c1", data={"store": "sh-01"}),
            ...     fields={"fault": "zip"},
            ... )
            >>> Dataset([t]).column(("customer.store", "fields.fault"))
            [('sh-01', 'zip')]
        """
        problems = _check_key(by)
        if problems:
            raise ValidationError(problems)
        cached = self._columns.get(by)
        if cached is not None:
            return cached
        tickets = self._tickets
        if by is None:
            values: list[Any] = [ALL] * len(tickets)
        elif isinstance(by, str):
            values = list(map(_getter(by), tickets))
        elif isinstance(by, tuple):
            values = list(zip(*(self.column(p) for p in by), strict=True)) if tickets else []
        else:
            values = [_freeze_value(by(t)) for t in tickets]
        if by is None or isinstance(by, str | tuple):
            self._columns[by] = values
        return values

    def _event_column(self, name: str) -> list[int]:
        """0/1 flags or counts from events, one per ticket (cached)."""
        col = self._derived.get(name)
        if col is None:
            n = len(self._tickets)
            col = [0] * n
            source: Iterable[tuple[int, int]]
            if name == "reopens":
                source = self._reopens.items()
            elif name == "spawned":
                source = self._spawned.items()
            elif name == "merged":
                source = ((i, 1) for i in self._merged)
            elif name == "split":
                source = ((i, 1) for i in self._split)
            else:  # "children": tickets with a parent
                source = ((i, 1) for i, p in enumerate(self.column("parent_id")) if p is not None)
            for i, v in source:
                col[i] = v
            self._derived[name] = col
        return col

    def _was_resolved(self) -> list[bool]:
        """Per ticket: resolved at least once (resolved_at, a resolve or reopen event, or a rating)."""
        col = self._derived.get("was_resolved")
        if col is None:
            col = [r == r for r in self._resolved]  # noqa: PLR0124 - NaN is "never"
            for i in itertools.chain(self._resolved_ever, self._reopens):
                col[i] = True
            for i, s in enumerate(self.column("satisfaction")):
                if s is not None:
                    col[i] = True
            self._derived["was_resolved"] = col
        return col

    def _cohort(self, start: datetime | None, end: datetime | None) -> Sequence[int] | None:
        """Positions of the tickets created in ``[start, end)``; None means all of them.

        Tickets in creation order (as stores return them) give a ``range``, which
        columns are cut with by slicing; any other order gives a list of positions.
        """
        lo = _bound(start, "start", -math.inf)
        hi = _bound(end, "end", math.inf)
        cached = self._cohort_cache
        if cached is not None and cached[0] == lo and cached[1] == hi:
            return cached[2]
        created = self._created
        idx: Sequence[int] | None
        if lo == -math.inf and hi == math.inf:
            idx = None
        elif self._in_order():
            idx = range(bisect_left(created, lo), bisect_left(created, hi))
        else:
            idx = [i for i, c in enumerate(created) if lo <= c < hi]
        if idx is not None and len(idx) == len(created):
            idx = None
        self._cohort_cache = (lo, hi, idx)
        self._slices.clear()
        return idx

    def _in_order(self) -> bool:
        """Whether the tickets are in creation order (checked once)."""
        flag = self._derived.get("in_order")
        if flag is None:
            created = self._created
            flag = all(itertools.starmap(operator.le, itertools.pairwise(created)))
            self._derived["in_order"] = flag
        return bool(flag)

    def _take(self, name: Any, col: Sequence[Any], idx: Sequence[int] | None) -> Sequence[Any]:
        """``col`` restricted to the cohort ``idx`` (cached per cohort under ``name``)."""
        if idx is None:
            return col
        if isinstance(idx, range):
            return col[idx.start : idx.stop]
        cached = self._slices.get(name)
        if cached is None:
            cached = list(map(col.__getitem__, idx))
            if name is not None:
                self._slices[name] = cached
        return cached

    def _keys(self, by: KeySpec, idx: Sequence[int] | None) -> Sequence[Any]:
        col = self.column(by)
        name = ("key", by) if by is None or isinstance(by, str | tuple) else None
        return self._take(name, col, idx)

    def _span(self) -> tuple[float, float]:
        if self._span_cache is None:
            lo = min(self._created, default=0.0)
            # max() keeps its first item when comparing with NaN, so starting from a
            # real number skips every NaN, at C speed
            hi = max(itertools.chain((lo,), self._created, self._first, self._resolved, self._closed))
            self._span_cache = (lo, hi)
        return self._span_cache

    def _index(self, lo: float, hi: float) -> _BusinessIndex | None:
        cal = self._calendar
        if cal is None or not callable(getattr(cal, "open_intervals", None)):
            return None
        index = self._index_cache
        if index is None or not index.covers(lo, hi):
            span_lo, span_hi = self._span()
            index = _BusinessIndex(cal, min(lo, span_lo) - 86400.0, max(hi, span_hi) + 86400.0)
            self._index_cache = index
            for key in [k for k in self._derived if k.startswith(("cum:", "metric:"))]:
                del self._derived[key]
        return index

    def business_seconds(self, a: float, b: float) -> float:
        """Business seconds between two POSIX timestamps on the dataset's calendar.

        Wall seconds without a calendar; NaN when either instant is NaN.

        Examples:
            >>> Dataset([]).business_seconds(0.0, 90.0)
            90.0
        """
        if a != a or b != b:  # noqa: PLR0124
            return NAN
        cal = self._calendar
        if cal is None:
            return b - a
        index = self._index(min(a, b), max(a, b))
        if index is not None:
            ca, cb = index.cum_many((a, b))
            return cb - ca
        da, db = datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)
        return float(cal.between(da, db).total_seconds())

    def _cum(self, col: array[float], name: str) -> array[float] | None:
        """Cumulative business seconds at each instant of ``col`` (None: no index to use)."""
        if self._calendar is None:
            return col
        index = self._index(*self._span())
        if index is None:
            return None
        key = f"cum:{name}"
        cached = self._derived.get(key)
        if cached is None:
            cached = index.cum_many(col)
            self._derived[key] = cached
        return cached

    def _metric(self, metric: str) -> array[float]:
        """Business seconds of ``metric`` for every ticket (NaN when not measured), cached."""
        if metric not in METRICS:
            raise ValidationError.one(
                "metric", f"unknown metric {metric!r} (expected one of: {', '.join(METRICS)})"
            )
        key = f"metric:{metric}"
        cached = self._derived.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        created = self._created
        ends = self._first if metric == "first_response" else self._resolved
        with _gc_paused():
            cum_start = self._cum(created, "created")
            cum_end = self._cum(ends, "first" if metric == "first_response" else "resolved")
            if cum_start is None or cum_end is None:  # a calendar with between() only
                between = self.business_seconds
                values = array(
                    "d", [between(a, b) if b >= a else NAN for a, b in zip(created, ends, strict=False)]
                )
            else:
                values = array(
                    "d",
                    [
                        ce - cs if b >= a else NAN
                        for ce, cs, b, a in zip(cum_end, cum_start, ends, created, strict=False)
                    ],
                )
            if metric == "handling" and self._assigned:
                # measured from the last assignment to the assignee, when it came first
                pairs = [(i, at) for i, at in self._assigned.items() if at <= ends[i]]
                index = self._index(min((at for _, at in pairs), default=0.0), self._span()[1])
                if index is None or cum_end is None:
                    for i, at in pairs:
                        values[i] = self.business_seconds(at, ends[i])
                else:
                    cum_at = index.cum_many(at for _, at in pairs)
                    for (i, _), ca in zip(pairs, cum_at, strict=True):
                        values[i] = cum_end[i] - ca
        self._derived[key] = values
        return values

    # ------------------------------------------------------------------ reports

    def volume(
        self,
        period: str = "month",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[VolumeRow]:
        """Tickets created per day, ISO week or month (and per key), with the change.

        Every key seen gets a row in every period from the one holding ``start`` (or
        the first ticket) to the one holding ``end`` (or the last ticket), with the
        count of the period before for the same key, so trends can be read directly.

        Raises:
            ValidationError: an unknown period or field, or naive ``start``/``end``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> ts = [
            ...     Ticket(subject="x", created_at=datetime(2025, m, 2, tzinfo=timezone.utc))
            ...     for m in (2, 3, 3)
            ... ]
            >>> rows = [(r.period, r.count, r.change) for r in Dataset(ts).volume("month")]
            >>> rows
            [('2025-02', 1, 1), ('2025-03', 2, 1)]
        """
        if period not in PERIODS:
            raise ValidationError.one(
                "period", f"unknown period {period!r} (expected one of: day, week, month)"
            )
        keys = self.column(by)
        created = self._created
        tz = self._tz
        lo = _bound(start, "start", min(created, default=math.nan))
        hi = _bound(end, "end", math.nan)
        if lo != lo:  # noqa: PLR0124 - no tickets
            return Report(title="Ticket volume", rows=(), columns=_columns(VolumeRow))
        last = hi - 1e-6 if hi == hi else max(created)  # noqa: PLR0124
        first_day = _floor(datetime.fromtimestamp(lo, tz).date(), period)
        last_day = _floor(datetime.fromtimestamp(max(last, lo), tz).date(), period)
        days = [_prev(first_day, period)]
        d = first_day
        while d <= last_day:
            days.append(d)
            d = _next(d, period)
        bounds = [_midnight(x, tz).timestamp() for x in days]
        stop = _midnight(d, tz).timestamp()
        b0 = bounds[0]
        bucket = functools.partial(bisect_right, bounds)
        if created and b0 <= min(created) and max(created) < stop:
            counts: Counter[tuple[int, Any]] = Counter(zip(map(bucket, created), keys, strict=True))
        else:
            idx = [i for i, c in enumerate(created) if b0 <= c < stop]
            counts = Counter(
                zip(map(bucket, map(created.__getitem__, idx)), map(keys.__getitem__, idx), strict=False)
            )
        key_order = _sorted_keys(k for _, k in counts)
        rows = []
        for p in range(1, len(days)):
            label = _label(days[p], period)
            start_dt = _midnight(days[p], tz)
            for k in key_order:
                n = counts.get((p + 1, k), 0)
                prev = counts.get((p, k), 0)
                rows.append(
                    VolumeRow(
                        period=label,
                        start=start_dt,
                        key=k,
                        count=n,
                        previous=prev,
                        change=n - prev,
                        change_pct=(n - prev) / prev if prev else None,
                    )
                )
        return Report(
            title=f"Ticket volume by {period}" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(VolumeRow),
            chart=Chart(kind="line", x="period", y=("count",), series="key", ylabel="tickets"),
        )

    def durations(
        self,
        metric: str = "resolution",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[DurationRow]:
        """Mean, median and p90 business time to first response, resolution or handling.

        ``first_response`` runs from creation to ``first_response_at``; ``resolution``
        from creation to ``resolved_at``; ``handling`` from the last assignment to the
        current assignee (a ``ticket.assigned`` event) or creation, to ``resolved_at``.
        Tickets without the end instant are not measured. Percentiles interpolate
        linearly between ranks (as pandas' ``quantile`` does).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, first_response_at=t0 + timedelta(minutes=m))
            ...     for m in (10, 20, 60)
            ... ]
            >>> r = Dataset(ts).durations("first_response")[0]
            >>> r.count, r.median, r.p90
            (3, datetime.timedelta(seconds=1200), datetime.timedelta(seconds=3120))
        """
        return self._duration_report(metric, by, self._duration_groups(metric, by, start, end))

    def _duration_groups(
        self, metric: str, by: KeySpec, start: datetime | None, end: datetime | None
    ) -> dict[Any, list[float]]:
        """The measured business seconds of ``metric`` per key, each list sorted.

        Sorted lists of a finer grouping roll up to a coarser one by concatenating and
        sorting again, which Python's sort does as a cheap merge of sorted runs.
        """
        column = self._metric(metric)
        idx = self._cohort(start, end)
        values = self._take(f"metric:{metric}", column, idx)
        groups: dict[Any, list[float]] = {}
        if by is None:
            measured = [v for v in values if v == v]  # noqa: PLR0124 - NaN: not measured
            if measured:
                groups[ALL] = measured
        else:
            grouped: defaultdict[Any, list[float]] = defaultdict(list)
            for k, v in zip(self._keys(by, idx), values, strict=True):
                if v == v:  # noqa: PLR0124 - NaN: not measured
                    grouped[k].append(v)
            groups = grouped
        for vs in groups.values():
            vs.sort()
        return dict(groups)

    @staticmethod
    def _duration_report(metric: str, by: KeySpec, groups: Mapping[Any, list[float]]) -> Report[DurationRow]:
        rows = []
        for k in _sorted_keys(groups):
            vs = groups[k]
            mean, median, p90 = _stats(vs)
            rows.append(DurationRow(metric=metric, key=k, count=len(vs), mean=mean, median=median, p90=p90))
        return Report(
            title=f"{metric.replace('_', ' ').capitalize()} time" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(DurationRow),
            chart=Chart(kind="bar", x="key", y=("median", "p90"), ylabel="hours"),
        )

    def _sla_columns(self) -> dict[str, tuple[list[int | None], list[int] | None, list[int] | None]]:
        """Per metric: a state per ticket (None: not measured, 0: met, 1: breached, 2: still
        running and not breached), and the warnings and escalations per ticket (None when
        there are none)."""
        cached = self._derived.get("sla")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        n = len(self._tickets)
        states: dict[str, list[int | None]] = {}
        with _gc_paused():
            for i, sla in enumerate([t.sla for t in self._tickets]):
                if sla is None:
                    continue
                for clock in sla.clocks:
                    if clock.breached_at is not None:
                        flag = 1
                    elif clock.stopped_at is not None:
                        flag = 0
                    elif clock.started_at is not None:
                        flag = 2  # not finished yet: neither met nor breached
                    else:
                        continue
                    col = states.get(clock.metric)
                    if col is None:
                        col = states[clock.metric] = [None] * n
                    col[i] = flag
            for i, metric in self._sla_events:
                col = states.get(metric)
                if col is None:
                    col = states[metric] = [None] * n
                if col[i] is None:
                    col[i] = 0
            for i, metric in self._sla_breached:
                states[metric][i] = 1

        def counts(source: Counter[tuple[int, str]], metric: str) -> list[int] | None:
            col: list[int] | None = None
            for (i, m), c in source.items():
                if m == metric:
                    if col is None:
                        col = [0] * n
                    col[i] += c
            return col

        result = {m: (states[m], counts(self._warnings, m), counts(self._escalations, m)) for m in states}
        self._derived["sla"] = result
        return result

    def sla(
        self,
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[SLARow]:
        """SLA compliance per metric (and key): tickets measured, met, breached, still running.

        A ticket is measured on a metric when its SLA state has that clock started or
        an ``sla.*`` event names the metric; it breached when the clock has a
        ``breached_at`` or an ``sla.breached`` event exists; it met the target when its
        clock stopped without a breach; otherwise it is still running. Compliance is
        ``met / (met + breached)``: a clock still running within its target has not met
        it yet, so it counts on neither side.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import ClockState, SLAState, Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> def t(breached):
            ...     clock = ClockState(
            ...         metric="resolution", started_at=t0, stopped_at=t0, breached_at=breached
            ...     )
            ...     return Ticket(subject="x", created_at=t0, sla=SLAState(policy="p", clocks=[clock]))
            >>> r = Dataset([t(None), t(t0)]).sla()[0]
            >>> r.metric, r.tickets, r.breached, r.compliance
            ('resolution', 2, 1, 0.5)
        """
        idx = self._cohort(start, end)
        keys = self._keys(by, idx)
        rows = []
        for metric, (state_col, warn_col, esc_col) in sorted(self._sla_columns().items()):
            pairs = Counter(zip(keys, self._take(f"sla:{metric}", state_col, idx), strict=True))
            counts: Counter[Any] = Counter()
            broken: Counter[Any] = Counter()
            running: Counter[Any] = Counter()
            for (k, flag), c in pairs.items():
                if flag is not None:
                    counts[k] += c
                    if flag == 1:
                        broken[k] += c
                    elif flag == 2:
                        running[k] += c
            warn: Counter[Any] = Counter()
            esc: Counter[Any] = Counter()
            for col, acc in ((warn_col, warn), (esc_col, esc)):
                if col is not None:
                    counts_col = self._take(None, col, idx)
                    for k, c in zip(
                        itertools.compress(keys, counts_col), filter(None, counts_col), strict=True
                    ):
                        acc[k] += c
            for k in _sorted_keys(counts):
                n, b, r = counts[k], broken[k], running[k]
                rows.append(
                    SLARow(
                        metric=metric,
                        key=k,
                        tickets=n,
                        met=n - b - r,
                        breached=b,
                        running=r,
                        compliance=_ratio(n - b - r, n - r),
                        warnings=warn[k],
                        escalations=esc[k],
                    )
                )
        return Report(
            title="SLA compliance" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(SLARow),
            chart=Chart(kind="bar", x="key", y=("compliance",), ylabel="share met"),
        )

    def _open_at(self, at: datetime) -> tuple[float, list[int]]:
        when = require_aware(at, "at").timestamp()
        cached = self._derived.get("open_at")
        if cached is not None and cached[0] == when:
            return cached  # type: ignore[no-any-return]
        ends = self._derived.get("end")
        if ends is None:
            # resolved_at, or closed_at for tickets closed without a resolution; NaN when open
            ends = array(
                "d",
                [x if r != r else r for r, x in zip(self._resolved, self._closed, strict=True)],  # noqa: PLR0124
            )
            self._derived["end"] = ends
        open_ = [
            i for i, (c, e) in enumerate(zip(self._created, ends, strict=True)) if c <= when and not e <= when
        ]
        self._derived["open_at"] = (when, open_)
        return when, open_

    def _ages(self, when: float, idx: list[int], business: bool) -> list[float]:
        created = self._created
        if not business or self._calendar is None:
            return [when - created[i] for i in idx]
        index = self._index(min((created[i] for i in idx), default=when), when)
        if index is None:
            return [self.business_seconds(created[i], when) for i in idx]
        cum = index.cum_many([when, *(created[i] for i in idx)])
        return [cum[0] - c for c in cum[1:]]

    def backlog(self, at: datetime, *, by: KeySpec = None, business: bool = False) -> Report[BacklogRow]:
        """Tickets open at ``at`` (created by then, not yet resolved or closed), per key.

        A ticket counts as open from its creation until its ``resolved_at`` (or its
        ``closed_at`` when it was closed without a resolution, e.g. cancelled); a
        ticket reopened and resolved again counts as open in between. Ages are wall
        time, or business time with ``business=True``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [Ticket(subject="a", created_at=t0), Ticket(subject="b", created_at=t0, resolved_at=t0)]
            >>> r = Dataset(ts).backlog(t0 + timedelta(days=2))[0]
            >>> r.count, r.oldest_age
            (1, datetime.timedelta(days=2))
        """
        keys = self.column(by)
        when, idx = self._open_at(at)
        ages = self._ages(when, idx, business)
        groups: dict[Any, list[float]] = {}
        for i, age in zip(idx, ages, strict=True):
            groups.setdefault(keys[i], []).append(age)
        rows = [
            BacklogRow(
                key=k,
                count=len(groups[k]),
                mean_age=timedelta(seconds=math.fsum(groups[k]) / len(groups[k])),
                oldest_age=timedelta(seconds=max(groups[k])),
            )
            for k in _sorted_keys(groups)
        ]
        return Report(
            title=f"Backlog at {at.astimezone(self._tz).isoformat(timespec='minutes')}" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(BacklogRow),
            chart=Chart(kind="bar", x="key", y=("count",), ylabel="open tickets"),
        )

    def ageing(
        self,
        at: datetime,
        *,
        by: KeySpec = None,
        buckets: Sequence[timedelta] = DEFAULT_AGE_BUCKETS,
        business: bool = False,
    ) -> Report[AgeingRow]:
        """Open tickets at ``at`` by age bucket (and key); every bucket gets a row.

        ``buckets`` are increasing upper bounds; the last bucket is open-ended.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> r = Dataset([Ticket(subject="a", created_at=t0)]).ageing(t0 + timedelta(days=2))
            >>> buckets = [(row.bucket, row.count) for row in r]
            >>> buckets
            [('<1d', 0), ('1-3d', 1), ('3-7d', 0), ('7-14d', 0), ('14-30d', 0), ('30d+', 0)]
        """
        bounds = list(buckets)
        if (
            not bounds
            or any(not isinstance(b, timedelta) or b <= timedelta(0) for b in bounds)
            or any(a >= b for a, b in itertools.pairwise(bounds))
        ):
            raise ValidationError.one("buckets", f"expected increasing positive timedeltas, got {buckets!r}")
        limits = [b.total_seconds() for b in bounds]
        names = _bucket_names(bounds)
        keys = self.column(by)
        when, idx = self._open_at(at)
        ages = self._ages(when, idx, business)
        counts: Counter[tuple[Any, int]] = Counter(
            (keys[i], bisect_right(limits, age)) for i, age in zip(idx, ages, strict=True)
        )
        totals: Counter[Any] = Counter(keys[i] for i in idx)
        rows = [
            AgeingRow(key=k, bucket=name, count=counts[k, b], share=_ratio(counts[k, b], totals[k]))
            for k in _sorted_keys(totals)
            for b, name in enumerate(names)
        ]
        if not rows and by is None:
            rows = [AgeingRow(key=ALL, bucket=name, count=0, share=None) for name in names]
        return Report(
            title=f"Backlog age at {at.astimezone(self._tz).isoformat(timespec='minutes')}" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(AgeingRow),
            chart=Chart(kind="bar", x="bucket", y=("count",), ylabel="open tickets"),
        )

    def reopens(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[ReopenRow]:
        """Reopen rate: of the tickets ever resolved, how many went back to an open kind.

        A reopen is a ``status.changed`` event from a resolved or closed kind to a new,
        open or pending kind (so it needs events).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Event, Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="a", id="A", created_at=t0, resolved_at=t0),
            ...     Ticket(subject="b", id="B", created_at=t0, resolved_at=t0),
            ... ]
            >>> ev = [
            ...     Event(
            ...         ticket_id="A",
            ...         kind="status.changed",
            ...         actor="c",
            ...         at=t0,
            ...         data={"from_kind": "resolved", "to_kind": "open"},
            ...     )
            ... ]
            >>> r = Dataset(ts, ev).reopens()[0]
            >>> r.resolved, r.reopened, r.rate
            (2, 1, 0.5)
        """
        idx = self._cohort(start, end)
        keys = self._keys(by, idx)
        counts = self._take("reopens", self._event_column("reopens"), idx)
        resolved: Counter[Any] = Counter(
            itertools.compress(keys, self._take("resolved", self._was_resolved(), idx))
        )
        reopened: Counter[Any] = Counter(itertools.compress(keys, counts))
        reopens: Counter[Any] = Counter()
        for k, n in zip(itertools.compress(keys, counts), filter(None, counts), strict=True):
            reopens[k] += n
        rows = [
            ReopenRow(
                key=k,
                resolved=resolved[k],
                reopened=reopened[k],
                reopens=reopens[k],
                rate=_ratio(reopened[k], resolved[k]),
            )
            for k in _sorted_keys(resolved)
        ]
        return Report(
            title="Reopen rate" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(ReopenRow),
            chart=Chart(kind="bar", x="key", y=("rate",), ylabel="share reopened"),
        )

    def links(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[LinkRow]:
        """Merges, splits and spawned children among the tickets of each key.

        Counted from ``ticket.merged`` (on the merged ticket, ``into``), ``ticket.split``
        (``into``) and ``ticket.spawned`` (on the parent, ``child``) events, and
        ``parent_id`` for children.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Event, Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [Ticket(subject="a", id="A", created_at=t0), Ticket(subject="b", id="B", created_at=t0)]
            >>> ev = [Event(ticket_id="A", kind="ticket.merged", actor="li", at=t0, data={"into": "B"})]
            >>> r = Dataset(ts, ev).links()[0]
            >>> r.tickets, r.merged, r.spawned
            (2, 1, 0)
        """
        idx = self._cohort(start, end)
        keys = self._keys(by, idx)
        tickets: Counter[Any] = Counter(keys)

        def flagged(name: str) -> Counter[Any]:
            return Counter(itertools.compress(keys, self._take(name, self._event_column(name), idx)))

        merged, split, children = flagged("merged"), flagged("split"), flagged("children")
        spawn_counts = self._take("spawned", self._event_column("spawned"), idx)
        spawned: Counter[Any] = Counter()
        for k, n in zip(itertools.compress(keys, spawn_counts), filter(None, spawn_counts), strict=True):
            spawned[k] += n
        rows = [
            LinkRow(
                key=k,
                tickets=tickets[k],
                merged=merged[k],
                split=split[k],
                spawned=spawned[k],
                children=children[k],
            )
            for k in _sorted_keys(tickets)
        ]
        return Report(
            title="Merges and spawns" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(LinkRow),
            chart=Chart(kind="bar", x="key", y=("merged", "split", "spawned"), ylabel="tickets"),
        )

    def pareto(
        self,
        field: KeySpec = "category",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
        threshold: float = 0.8,
        top: int | None = None,
        skip_none: bool = False,
    ) -> Report[ParetoRow]:
        """Values of ``field`` by count, with shares and cumulative shares (per ``by`` group).

        The rows up to and including the one where the cumulative share reaches
        ``threshold`` are the "vital few" (``vital=True``). A field holding a list
        (``tags``, a list in ``fields``) counts each element. ``top`` keeps the first
        rows of each group; ``skip_none`` leaves out tickets without a value.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> cats = ["size", "size", "size", "late", "broken"]
            >>> rows = Dataset([Ticket(subject="x", created_at=t0, category=c) for c in cats]).pareto(
            ...     "category"
            ... )
            >>> table = [(r.key, r.count, r.vital) for r in rows]
            >>> table
            [('size', 3, True), ('broken', 1, True), ('late', 1, False)]
        """
        if not 0.0 < threshold <= 1.0:
            raise ValidationError.one("threshold", f"expected a share in (0, 1], got {threshold!r}")
        idx = self._cohort(start, end)
        values = self._keys(field, idx)
        groups = self._keys(by, idx)
        explode = isinstance(field, str) and (field == "tags" or field.startswith("fields."))
        counts: Counter[tuple[Any, Any]] = Counter(zip(groups, values, strict=True))
        if explode and any(type(k[1]) is tuple for k in counts):
            for (g, v), n in list(counts.items()):
                if type(v) is tuple:
                    del counts[g, v]
                    for item in v:
                        counts[g, item] += n
        if skip_none:
            for g, v in [gv for gv in counts if gv[1] is None]:
                del counts[g, v]
        per_group: dict[Any, list[tuple[Any, int]]] = {}
        for (g, v), n in counts.items():
            per_group.setdefault(g, []).append((v, n))
        rows = []
        for g in _sorted_keys(per_group):
            items = sorted(per_group[g], key=lambda vn: (-vn[1], _sort_key(vn[0])))
            total = sum(n for _, n in items)
            running = 0
            for rank, (v, n) in enumerate(items, start=1):
                if top is not None and rank > top:
                    break
                before = running / total
                running += n
                rows.append(
                    ParetoRow(
                        group=g,
                        rank=rank,
                        key=v,
                        count=n,
                        share=n / total,
                        cumulative_share=running / total,
                        vital=before < threshold,
                    )
                )
        name = field if isinstance(field, str) else "value"
        return Report(
            title=f"Pareto of {name}" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(ParetoRow),
            chart=Chart(kind="pareto", x="key", y=("count",), ylabel="tickets"),
        )

    def top_values(
        self,
        field: KeySpec = "fields.fault",
        n: int = 10,
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[ParetoRow]:
        """The ``n`` most frequent values of ``field`` (e.g. fault types), tickets without one left out.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> faults = ["zip", "zip", None, "seam"]
            >>> ts = [Ticket(subject="x", created_at=t0, fields={"fault": f} if f else {}) for f in faults]
            >>> top = [(r.key, r.count) for r in Dataset(ts).top_values("fields.fault", 1)]
            >>> top
            [('zip', 2)]
        """
        report = self.pareto(field, by=by, start=start, end=end, top=n, skip_none=True)
        name = field if isinstance(field, str) else "value"
        return _retitle(report, f"Most frequent {name}" + _by_title(by))

    def csat(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[CSATRow]:
        """Customer satisfaction: ratings, average score, share of 4-5 and the distribution.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, resolved_at=t0, satisfaction=s)
            ...     for s in (5, 4, 2, None)
            ... ]
            >>> r = Dataset(ts).csat()[0]
            >>> r.rated, r.average, round(r.csat, 3), r.score_2
            (3, 3.6666666666666665, 0.667, 1)
        """
        idx = self._cohort(start, end)
        keys = self._keys(by, idx)
        dist: Counter[tuple[Any, Any]] = Counter(zip(keys, self._keys("satisfaction", idx), strict=True))
        resolved: Counter[Any] = Counter(
            itertools.compress(keys, self._take("resolved", self._was_resolved(), idx))
        )
        seen = {k for k, _ in dist}
        rows = []
        for k in _sorted_keys(seen):
            per = [dist[k, s] for s in range(1, 6)]
            rated = sum(per)
            rows.append(
                CSATRow(
                    key=k,
                    resolved=resolved[k],
                    rated=rated,
                    average=sum(s * c for s, c in enumerate(per, start=1)) / rated if rated else None,
                    csat=_ratio(per[3] + per[4], rated),
                    response_rate=_ratio(rated, resolved[k]),
                    score_1=per[0],
                    score_2=per[1],
                    score_3=per[2],
                    score_4=per[3],
                    score_5=per[4],
                )
            )
        return Report(
            title="Customer satisfaction" + _by_title(by),
            rows=tuple(rows),
            columns=_columns(CSATRow),
            chart=Chart(
                kind="stacked",
                x="key",
                y=("score_1", "score_2", "score_3", "score_4", "score_5"),
                ylabel="ratings",
            ),
        )

    def agents(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        agent: KeySpec = "assignee",
        by: KeySpec = None,
    ) -> Report[AgentRow]:
        """Per agent: tickets assigned (created in the window), resolved in the window,
        resolutions per day, handling time, CSAT of what they resolved and reopens.

        With ``by``, the agent column holds ``(by value, agent)`` pairs.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, assignee="li", resolved_at=t0 + timedelta(hours=h))
            ...     for h in (1, 3)
            ... ]
            >>> r = Dataset(ts).agents(start=t0, end=t0 + timedelta(days=1))[0]
            >>> r.agent, r.resolved, r.per_day, r.handling_median
            ('li', 2, 2.0, datetime.timedelta(seconds=7200))
        """
        lo = _bound(start, "start", -math.inf)
        hi = _bound(end, "end", math.inf)
        cohort = self._cohort(start, end)
        agents = self.column(agent)
        groups = None if by is None else self.column(by)

        def keys(cut: Callable[[str, Sequence[Any]], Sequence[Any]]) -> Iterator[Any]:
            # zip reuses its tuple while Counter only keeps new keys: no tuple per ticket
            mine = cut("agent", agents)
            return iter(mine) if groups is None else zip(cut("group", groups), mine, strict=True)

        assigned: Counter[Any] = Counter(
            keys(lambda name, col: self._take(("key", agent if name == "agent" else by), col, cohort))
        )
        resolved_idx = [i for i, r in enumerate(self._resolved) if lo <= r < hi]

        def cut_resolved(_: str, col: Sequence[Any]) -> Sequence[Any]:
            return list(map(col.__getitem__, resolved_idx))

        handling = cut_resolved("", self._metric("handling"))
        scores = cut_resolved("", self.column("satisfaction"))
        reopen_counts = cut_resolved("", self._event_column("reopens"))
        mine, theirs = cut_resolved("", agents), None if groups is None else cut_resolved("", groups)

        def who() -> Iterator[Any]:
            return iter(mine) if theirs is None else zip(theirs, mine, strict=True)

        resolved: Counter[Any] = Counter(who())
        reopened: Counter[Any] = Counter(itertools.compress(who(), reopen_counts))
        score_counts = Counter(zip(who(), scores, strict=True))
        rated: dict[Any, list[int]] = {}
        for (k, score), c in score_counts.items():
            if score is not None:
                rated.setdefault(k, []).extend([score] * c)
        times: defaultdict[Any, list[float]] = defaultdict(list)
        for k, h in zip(who(), handling, strict=True):
            if h == h:  # noqa: PLR0124 - NaN: not measured
                times[k].append(h)
        for k in [k for k in [*assigned, *resolved] if not self._agent(k)]:
            assigned.pop(k, None)
            resolved.pop(k, None)
        days = self._days(lo, hi, resolved_idx)
        rows = []
        for k in _sorted_keys([*assigned, *resolved]):
            mean, median, _ = _stats(times.get(k, []))
            ratings = rated.get(k, [])
            rows.append(
                AgentRow(
                    agent=k,
                    assigned=assigned[k],
                    resolved=resolved[k],
                    per_day=resolved[k] / days,
                    handling_mean=mean,
                    handling_median=median,
                    csat_average=sum(ratings) / len(ratings) if ratings else None,
                    reopened=reopened[k],
                )
            )
        return Report(
            title="Agents",
            rows=tuple(rows),
            columns=_columns(AgentRow),
            chart=Chart(kind="bar", x="agent", y=("resolved",), ylabel="tickets resolved"),
        )

    def _days(self, lo: float, hi: float, resolved_idx: list[int]) -> float:
        """CalendarLike days in the window (the data's span where it is open-ended), at least 1."""
        if lo == -math.inf:
            lo = min(self._created, default=0.0)
        if hi == math.inf:
            hi = max((self._resolved[i] for i in resolved_idx), default=lo)
        return max((hi - lo) / 86400.0, 1.0)

    @staticmethod
    def _agent(name: Any) -> bool:
        return name is not None and not (isinstance(name, tuple) and name[-1] is None)


def _retitle(report: Report[Any], title: str) -> Report[Any]:
    """The same report under another title."""
    return Report(title=title, rows=report.rows, columns=report.columns, chart=report.chart)


def _bucket_names(bounds: Sequence[timedelta]) -> list[str]:
    def short(td: timedelta) -> str:
        s = td.total_seconds()
        if s % 86400 == 0:
            return f"{int(s // 86400)}d"
        if s % 3600 == 0:
            return f"{int(s // 3600)}h"
        return f"{int(s // 60)}m"

    names = [f"<{short(bounds[0])}"]
    for a, b in itertools.pairwise(bounds):
        sa, sb = short(a), short(b)
        if sa[-1] == sb[-1]:
            sa = sa[:-1]
        names.append(f"{sa}-{sb}")
    names.append(f"{short(bounds[-1])}+")
    return names


def _columns(cls: type) -> tuple[str, ...]:
    return tuple(a.name for a in cls.__attrs_attrs__)  # type: ignore[attr-defined]


def _by_title(by: KeySpec) -> str:
    if by is None:
        return ""
    if isinstance(by, str):
        return f" by {by}"
    if isinstance(by, tuple):
        return " by " + ", ".join(by)
    return " by " + getattr(by, "__name__", "key")


def load(
    source: Any,
    events: Iterable[Event] | None = None,
    *,
    tz: str | tzinfo = "UTC",
    calendar: CalendarLike | None = None,
) -> Dataset:
    """A `Dataset` from a Dataset (returned as is), a store, or an iterable of tickets.

    A store is anything with ``query`` and ``events`` methods; its tickets are read page
    by page and ``events`` is ignored (the store's own events are read).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> len(load([Ticket(subject="a", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))]))
        1
    """
    if isinstance(source, Dataset):
        return source
    if callable(getattr(source, "query", None)) and callable(getattr(source, "events", None)):
        return Dataset.from_store(source, tz=tz, calendar=calendar)
    if isinstance(source, Iterable):
        return Dataset(source, events, tz=tz, calendar=calendar)
    raise ValidationError.one(
        "source", f"expected tickets, a TicketStore or a Dataset, got {type(source).__name__}"
    )
