"""Combined calendars: open when all of several calendars are (``all_of``), or any (``any_of``).

A combined calendar is a `BusinessCalendar` like any other: the same chunks of open
intervals, so ``add`` and ``between`` run the same code at the same speed. Only how a
chunk is built differs: from the parts' chunks for the same stretch of time (chunks are
aligned to the epoch, so they line up), intersected or joined interval by interval.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ticketkit.calendar import _definition
from ticketkit.calendar._instants import CHUNK_US, US, Intervals, intersect, merge, wall_to_us
from ticketkit.calendar._known import Limit
from ticketkit.calendar._protocol import Calendar
from ticketkit.calendar._spec import DAY, Window
from ticketkit.errors import ErrorDetail, ValidationError

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []


def chunk_intervals(cal: Calendar, k: int) -> Intervals:
    """The open intervals of chunk ``k`` of a combined calendar."""
    lists = [p._chunk(k).intervals() for p in cal.parts]
    if cal.combine == "all_of":
        out = lists[0]
        for other in lists[1:]:
            out = intersect(out, other)
        return out
    return merge([iv for lst in lists for iv in lst])


def windows_on(cal: Calendar, day: date) -> tuple[Window, ...]:
    """A combined calendar's open time on a local date, cut at its midnights, as local seconds."""
    ordinal = day.toordinal()
    lo = wall_to_us(cal.tz, ordinal, 0)
    hi = wall_to_us(cal.tz, ordinal + 1, 0) if ordinal < date.max.toordinal() else lo + DAY * US
    midnight = datetime.combine(day, datetime.min.time())
    out: list[Window] = []
    for s, e in _intervals(cal, lo, hi):
        ws = _wall_seconds(cal, s, midnight)
        we = DAY if e == hi else _wall_seconds(cal, e, midnight)
        if we > ws:
            out.append((ws, we))
    return tuple(out)


def _intervals(cal: Calendar, lo: int, hi: int) -> Intervals:
    out: Intervals = []
    for k in range(lo // CHUNK_US, (hi - 1) // CHUNK_US + 1):
        c = cal._chunk(k)
        out.extend(
            (max(s, lo), min(e, hi)) for s, e in zip(c.starts, c.ends, strict=True) if s < hi and e > lo
        )
    return merge(out)


def _wall_seconds(cal: Calendar, us: int, midnight: datetime) -> int:
    local = datetime.fromtimestamp(us // US, cal.tz).replace(tzinfo=None)
    return int((local - midnight) // timedelta(seconds=1))


def combined_fields(
    how: str, calendars: tuple[Calendar, ...], tz: object, name: object
) -> tuple[dict[str, Any], tuple[Limit, ...]]:
    """A combined calendar's field values and limits, checked; results in ``tz`` (default: the first's)."""
    problems: list[ErrorDetail] = []
    zone = calendars[0].tz if tz is None else _definition.zone(tz, problems)
    if not isinstance(name, str):
        problems.append(ErrorDetail("name", f"expected a string, got {name!r}"))
    if problems:
        raise ValidationError(problems)
    fields = {
        "tz": zone,
        "hours": ((),) * 7,
        "holidays": frozenset(),
        "sources": (),
        "workdays": frozenset(),
        "overrides": (),
        "name": name,
        "workday_hours": (),
        "beyond_known": None,
        "_override_map": {},
        "_always": (all if how == "all_of" else any)(c._always for c in calendars),
        "_workday_spec": None,
    }
    return fields, tuple(lim for c in calendars for lim in c._limits)
