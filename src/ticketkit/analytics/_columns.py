"""Tickets and events read once into flat columns, the data every report runs over.

Timestamps are kept in ``array('d')`` (NaN for "not yet"), keys in plain lists, and the
few facts events add (reopens, merges, SLA breaches, assignments) in sparse dicts keyed
by ticket position. Derived columns (a key per ticket, business durations, flags from
events) are computed on first use and cached; the cohort of tickets created in a window
is cut once per window. No per-ticket objects are made, so a million tickets fit in a
few hundred megabytes.
"""

from __future__ import annotations

import itertools
import math
import operator
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from ticketkit.analytics._business import CalendarLike, _BusinessIndex
from ticketkit.analytics._common import _gc_paused
from ticketkit.analytics._keys import KeySpec, _check_key, _freeze_value, _getter
from ticketkit.analytics._periods import _bound, _zone
from ticketkit.analytics._table import ALL
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
from ticketkit.model._models import Event, Ticket

NAN: Final = math.nan
METRICS: Final = ("first_response", "resolution", "handling")
"""The duration metrics [`Dataset.durations`][ticketkit.analytics.Dataset.durations] measures."""
_OPEN_KINDS: Final = frozenset({"new", "open", "pending"})
EVENT_KINDS: Final = frozenset(
    {STATUS_CHANGED, ASSIGNED, SLA_BREACHED, SLA_WARNING, SLA_ESCALATED, MERGED, SPAWNED, SPLIT}
)
"""The event kinds a [`Dataset`][ticketkit.analytics.Dataset] reads; others (comments, ...) are skipped, so a
store or export may be filtered to these before reading."""
_READ_KINDS: Final = EVENT_KINDS
_DONE_KINDS: Final = frozenset({"resolved", "closed"})


class Columns:
    """Tickets and their events read once into columns (the loading half of a `Dataset`).

    Reports take a `Columns` and read its cached columns; `Dataset` adds the reports
    as methods. The arguments and the errors are those of `Dataset`.
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
            >>> from ticketkit.analytics import Dataset
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
            >>> from ticketkit.analytics import Dataset
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
