"""Instants as epoch microseconds, and the chunks of open time the calendar keeps.

The calendar's time line is cut into chunks of ``2**25`` seconds (about 388 days)
aligned to the Unix epoch; a `Chunk` holds one chunk's open intervals as sorted arrays
of starts and ends in epoch microseconds with the cumulative open time before each.
Chunk boundaries are the same for every calendar, so two calendars' chunks combine
interval by interval.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from ticketkit.calendar._spec import DAY
from ticketkit.model._serialization import parse_duration
from ticketkit.model._time import require_aware

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []

CHUNK_S = 2**25
US = 1_000_000
CHUNK_US = CHUNK_S * US
# How many empty chunks (about 388 days each) a search crosses before giving up.
HORIZON = 40
# Chunks kept per calendar (about 270 years); the oldest built is dropped beyond that.
MAX_CHUNKS = 256
EPOCH_ORD = date(1970, 1, 1).toordinal()
K_MIN = (date.min.toordinal() - EPOCH_ORD) * 86400 // CHUNK_S + 1
K_MAX = (date.max.toordinal() - EPOCH_ORD) * 86400 // CHUNK_S - 1
FLOAT_EXACT = 2**52
ONE_US = timedelta(microseconds=1)  # timedelta * int is the quickest way to make one
ZERO = timedelta(0)
MIN_ORD = date.min.toordinal() + 2
MAX_ORD = date.max.toordinal() - 2
# A duration: a timedelta, a number of seconds, or a string such as "PT2H" or "2h 30m".
Duration = timedelta | float | str
Intervals = list[tuple[int, int]]


class Chunk:
    """The open intervals of one chunk of time, in epoch microseconds."""

    __slots__ = ("cum", "cum_end", "ends", "hi", "lo", "starts", "total")

    def __init__(self, lo: int, hi: int, intervals: Intervals) -> None:
        self.lo = lo
        self.hi = hi
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]
        cum: list[int] = []
        cum_end: list[int] = []
        acc = 0
        for s, e in intervals:
            cum.append(acc)
            acc += e - s
            cum_end.append(acc)
        self.cum = cum
        self.cum_end = cum_end
        self.total = acc

    def intervals(self) -> Intervals:
        return list(zip(self.starts, self.ends, strict=True))


# utcoffset() timedelta -> microseconds; zoneinfo hands out the same few offsets over and over.
OFFSETS: dict[timedelta | None, int] = {}


def offset_us(o: timedelta | None, value: Any, path: str) -> int:
    if o is None:
        require_aware(value, path)
        raise AssertionError  # pragma: no cover - require_aware raised
    us = (o.days * DAY + o.seconds) * US + o.microseconds
    if len(OFFSETS) < 4096:
        OFFSETS[o] = us
    return us


def to_us(value: Any, path: str) -> int:
    """Epoch microseconds of an aware datetime, in exact integer arithmetic."""
    try:
        o = value.utcoffset()
        off = OFFSETS.get(o)
        if off is None:
            off = offset_us(o, value, path)
        seconds: int = (
            (value.toordinal() - EPOCH_ORD) * DAY + value.hour * 3600 + value.minute * 60 + value.second
        )
        return seconds * US + value.microsecond - off  # type: ignore[no-any-return]
    except AttributeError:
        require_aware(value, path)
        raise  # pragma: no cover - require_aware raised


def dur_us(value: Any) -> int:
    td: timedelta = value if type(value) is timedelta else parse_duration(value, "duration")
    return (td.days * DAY + td.seconds) * US + td.microseconds


def wall_to_us(tz: tzinfo, ordinal: int, seconds: int, micro: int = 0) -> int:
    """Epoch microseconds of a local wall time: ``seconds`` (and ``micro``) after midnight of day ``ordinal``.

    Ambiguous wall times take their first occurrence (fold=0); wall times the clocks skip
    take the instant the clocks jump to.
    """
    wall = (ordinal - EPOCH_ORD) * DAY + seconds
    naive = datetime.fromordinal(ordinal) + timedelta(seconds=seconds)
    offset = tz.utcoffset(naive)
    assert offset is not None
    guess = wall - int(offset.total_seconds())
    back = datetime.fromtimestamp(guess, tz).replace(tzinfo=None)
    if back == naive:
        return guess * US + micro
    # Skipped: find the first instant whose local time is at or after the wall time.
    lo = wall - int(tz.utcoffset(naive.replace(fold=1)).total_seconds())  # type: ignore[union-attr]
    hi = guess  # clocks jump forward over a gap, so the fold=1 reading is the earlier one
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo * US


def merge(raw: Intervals) -> Intervals:
    """Sorted intervals with overlapping and touching ones joined."""
    raw.sort()
    merged: Intervals = []
    for s, e in raw:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def intersect(a: Intervals, b: Intervals) -> Intervals:
    """The instants in both of two sorted, merged interval lists."""
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
