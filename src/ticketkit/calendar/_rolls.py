"""Openings and closings in both directions: the boundaries of open time.

An opening is an instant the business opens after being closed; a closing, one it closes
after being open. A chunk's intervals are cut at the chunk's edges, so an interval
starting exactly at a chunk's first instant is an opening only if the previous chunk
was closed at its end (and likewise for closings): the functions here skip those cuts.
Everything is in epoch microseconds, so DST gaps need no wall-clock arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime

from ticketkit.calendar._instants import CHUNK_S, CHUNK_US, HORIZON, K_MAX, K_MIN, Chunk
from ticketkit.calendar._protocol import Calendar
from ticketkit.calendar._spec import DAY
from ticketkit.errors import ValidationError

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []


def _real_start(cal: Calendar, k: int, c: Chunk, i: int) -> bool:
    if c.starts[i] != c.lo or k <= K_MIN:
        return True
    p = cal._chunk(k - 1)
    return not (p.ends and p.ends[-1] == c.lo)


def _real_end(cal: Calendar, k: int, c: Chunk, i: int) -> bool:
    if c.ends[i] != c.hi or k >= K_MAX:
        return True
    n = cal._chunk(k + 1)
    return not (n.starts and n.starts[0] == c.hi)


def next_opening(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The first opening at or after ``t`` (after, when strict); None within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = bisect_right(c.starts, t) if strict else bisect_left(c.starts, t)
    for _ in range(HORIZON + 1):
        while i < len(c.starts):
            if _real_start(cal, k, c, i):
                return c.starts[i]
            i += 1
        k += 1
        if k > K_MAX:
            return None
        c, i = cal._chunk(k), 0
    return None


def prev_opening(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The last opening at or before ``t`` (before, when strict); None within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = (bisect_left(c.starts, t) if strict else bisect_right(c.starts, t)) - 1
    for _ in range(HORIZON + 1):
        while i >= 0:
            if _real_start(cal, k, c, i):
                return c.starts[i]
            i -= 1
        k -= 1
        if k < K_MIN:
            return None
        c = cal._chunk(k)
        i = len(c.starts) - 1
    return None


def next_closing(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The first closing at or after ``t`` (after, when strict); None within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = bisect_right(c.ends, t) if strict else bisect_left(c.ends, t)
    for _ in range(HORIZON + 1):
        while i < len(c.ends):
            if _real_end(cal, k, c, i):
                return c.ends[i]
            i += 1
        k += 1
        if k > K_MAX:
            return None
        c, i = cal._chunk(k), 0
    return None


def prev_closing(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The last closing at or before ``t`` (before, when strict); None within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = (bisect_left(c.ends, t) if strict else bisect_right(c.ends, t)) - 1
    for _ in range(HORIZON + 1):
        while i >= 0:
            if _real_end(cal, k, c, i):
                return c.ends[i]
            i -= 1
        k -= 1
        if k < K_MIN:
            return None
        c = cal._chunk(k)
        i = len(c.ends) - 1
    return None


def boundary(cal: Calendar, us: int | None, t: int, what: str) -> datetime:
    """An opening or closing found from ``t`` as a datetime; an error naming ``what`` when none was."""
    if us is None:
        years = HORIZON * CHUNK_S // (365 * DAY)
        raise ValidationError.one(
            "", f"the calendar {cal.name or cal.tz.key!r} has no {what} within {years} years of it"
        )
    if max(us, t) >= cal._limit_us:
        cal._reached(max(us, t) + 1)
    return cal._out(us)


def rolled(cal: Calendar, found: int, at: datetime, t: int) -> datetime:
    """The result of a roll from ``at`` (epoch ``t``): ``at`` itself in the calendar's zone, or ``found``."""
    if found >= cal._limit_us:
        cal._reached(found + 1)
    return at.astimezone(cal.tz) if found == t else cal._out(found)
