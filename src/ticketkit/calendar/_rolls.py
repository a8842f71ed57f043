"""Openings and closings in both directions: the boundaries of open time.

An opening is an instant the business opens after being closed; a closing, one it closes
after being open. A chunk's intervals are cut at the chunk's edges, so an interval
starting exactly at a chunk's first instant is an opening only if the previous chunk
was closed at its end (and likewise for closings): the functions here skip those cuts.
Everything is in epoch microseconds, so DST gaps need no wall-clock arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
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


# Whether edge i of a chunk is a real opening/closing, not a cut between chunks.
_Real = Callable[[Calendar, int, Chunk, int], bool]


def _real_end(cal: Calendar, k: int, c: Chunk, i: int) -> bool:
    if c.ends[i] != c.hi or k >= K_MAX:
        return True
    n = cal._chunk(k + 1)
    return not (n.starts and n.starts[0] == c.hi)


def _forward(cal: Calendar, t: int, strict: bool, side: str, real: _Real) -> int | None:
    """The first real ``side`` edge (``starts`` or ``ends``) at or after ``t`` (after, when strict)."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    edges: list[int] = getattr(c, side)
    i = bisect_right(edges, t) if strict else bisect_left(edges, t)
    for _ in range(HORIZON + 1):
        while i < len(edges):
            if real(cal, k, c, i):
                return edges[i]
            i += 1
        k += 1
        if k > K_MAX:
            return None
        c, i = cal._chunk(k), 0
        edges = getattr(c, side)
    return None


def _backward(cal: Calendar, t: int, strict: bool, side: str, real: _Real) -> int | None:
    """The last real ``side`` edge at or before ``t`` (before, when strict)."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    edges: list[int] = getattr(c, side)
    i = (bisect_left(edges, t) if strict else bisect_right(edges, t)) - 1
    for _ in range(HORIZON + 1):
        while i >= 0:
            if real(cal, k, c, i):
                return edges[i]
            i -= 1
        k -= 1
        if k < K_MIN:
            return None
        c = cal._chunk(k)
        edges = getattr(c, side)
        i = len(edges) - 1
    return None


def next_opening(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The first opening at or after ``t`` (after, when strict); None within the horizon."""
    return _forward(cal, t, strict, "starts", _real_start)


def prev_opening(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The last opening at or before ``t`` (before, when strict); None within the horizon."""
    return _backward(cal, t, strict, "starts", _real_start)


def next_closing(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The first closing at or after ``t`` (after, when strict); None within the horizon."""
    return _forward(cal, t, strict, "ends", _real_end)


def prev_closing(cal: Calendar, t: int, *, strict: bool) -> int | None:
    """The last closing at or before ``t`` (before, when strict); None within the horizon."""
    return _backward(cal, t, strict, "ends", _real_end)


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
