"""The arithmetic of business time on a calendar's chunks of open intervals.

Every function takes the calendar (for its chunk cache) and epoch microseconds; each
question is a ``bisect`` in one or two chunks (see `ticketkit.calendar._instants`).
The calendar's public methods convert datetimes and call these.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date

from ticketkit.calendar import _combine
from ticketkit.calendar._instants import (
    CHUNK_S,
    CHUNK_US,
    EPOCH_ORD,
    HORIZON,
    K_MAX,
    K_MIN,
    MAX_CHUNKS,
    MAX_ORD,
    MIN_ORD,
    US,
    Chunk,
    Intervals,
    merge,
    wall_to_us,
)
from ticketkit.calendar._protocol import Calendar
from ticketkit.calendar._spec import DAY
from ticketkit.errors import ValidationError

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []


def build_chunk(cal: Calendar, k: int) -> Chunk:
    """Work out chunk ``k`` of a calendar's open time and keep it."""
    lo_s = k * CHUNK_S
    hi_s = lo_s + CHUNK_S
    lo, hi = lo_s * US, hi_s * US
    if cal.combine is not None:
        merged = _combine.chunk_intervals(cal, k)
    else:
        first = lo_s // DAY + EPOCH_ORD - 2
        last = hi_s // DAY + EPOCH_ORD + 1
        tz = cal.tz
        raw: Intervals = []
        for ordinal in range(max(first, MIN_ORD), min(last, MAX_ORD) + 1):
            for ws, we in cal.windows_on(date.fromordinal(ordinal)):
                s = max(wall_to_us(tz, ordinal, ws), lo)
                e = min(wall_to_us(tz, ordinal, we), hi)
                if s < e:
                    raw.append((s, e))
        merged = merge(raw)
    chunk = Chunk(lo, hi, merged)
    chunks = cal._chunks
    if len(chunks) >= MAX_CHUNKS:  # bound memory when asked about scattered years
        chunks.pop(next(iter(chunks)), None)
    chunks[k] = chunk
    return chunk


def exhausted(cal: Calendar, k: int) -> ValidationError:
    if not K_MIN <= k <= K_MAX:
        return ValidationError.one("", "the result falls outside the years 1-9999")
    years = HORIZON * CHUNK_S // (365 * DAY)
    return ValidationError.one(
        "", f"the calendar {cal.name or cal.tz.key!r} has no open time within {years} years"
    )


def elapsed_in(c: Chunk, t: int) -> int:
    i = bisect_right(c.starts, t) - 1
    if i < 0:
        return 0
    e = c.ends[i]
    return c.cum[i] + (t if t < e else e) - c.starts[i]


def add_us(cal: Calendar, t: int, d: int) -> int:
    chunks = cal._chunks
    k = t // CHUNK_US
    c = chunks.get(k) or build_chunk(cal, k)
    i = bisect_right(c.starts, t) - 1
    if i < 0:
        target = d
    else:
        e = c.ends[i]
        target = c.cum[i] + (t if t < e else e) - c.starts[i] + d
    empty = 0
    while target > c.total:
        target -= c.total
        empty = empty + 1 if not c.total else 0
        if empty > HORIZON or not K_MIN < k < K_MAX:
            raise exhausted(cal, k)
        k += 1
        c = chunks.get(k) or build_chunk(cal, k)
    j = bisect_left(c.cum_end, target)
    return c.starts[j] + target - c.cum[j]


def subtract_us(cal: Calendar, t: int, d: int) -> int:
    chunks = cal._chunks
    k = t // CHUNK_US
    c = chunks.get(k) or build_chunk(cal, k)
    target = elapsed_in(c, t) - d
    empty = 0
    while target < 0:
        empty = empty + 1 if not c.total else 0
        if empty > HORIZON or not K_MIN < k < K_MAX:
            raise exhausted(cal, k)
        k -= 1
        c = chunks.get(k) or build_chunk(cal, k)
        target += c.total
    j = bisect_right(c.cum, target) - 1
    return c.starts[j] + target - c.cum[j]


def between_us(cal: Calendar, a: int, b: int) -> int:
    """Business time in ``[a, b)`` for ``a <= b``."""
    ka = a // CHUNK_US
    kb = b // CHUNK_US
    ca = cal._chunk(ka)
    if ka == kb:
        starts, ends, cum = ca.starts, ca.ends, ca.cum
        i = bisect_right(starts, b) - 1
        if i < 0:
            return 0
        e = ends[i]
        fb = cum[i] + (b if b < e else e) - starts[i]
        i = bisect_right(starts, a, 0, i + 1) - 1
        if i < 0:
            return fb
        e = ends[i]
        return fb - cum[i] - (a if a < e else e) + starts[i]
    total = ca.total - elapsed_in(ca, a)
    for k in range(ka + 1, kb):
        total += cal._chunk(k).total
    return total + elapsed_in(cal._chunk(kb), b)


def open_intervals_us(cal: Calendar, ta: int, tb: int) -> Intervals:
    """The open intervals within ``[ta, tb)``, clipped, touching ones joined."""
    out: Intervals = []
    if tb > ta:
        for k in range(ta // CHUNK_US, (tb - 1) // CHUNK_US + 1):
            c = cal._chunk(k)
            i = max(bisect_right(c.starts, ta) - 1, 0)
            n = len(c.starts)
            while i < n and c.starts[i] < tb:
                s = max(c.starts[i], ta)
                e = min(c.ends[i], tb)
                if s < e:
                    if out and out[-1][1] == s:
                        out[-1] = (out[-1][0], e)
                    else:
                        out.append((s, e))
                i += 1
    return out


def roll_open(cal: Calendar, t: int) -> int | None:
    """``t`` if open, else the next opening; None if none within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = bisect_right(c.starts, t) - 1
    if i >= 0 and t < c.ends[i]:
        return t
    if i + 1 < len(c.starts):
        return c.starts[i + 1]
    for _ in range(HORIZON):
        k += 1
        if k > K_MAX:
            break
        c = cal._chunk(k)
        if c.starts:
            return c.starts[0]
    return None


def roll_close(cal: Calendar, t: int) -> int | None:
    """``t`` if closed, else the end of its open period; None if none within the horizon."""
    k = t // CHUNK_US
    c = cal._chunk(k)
    i = bisect_right(c.starts, t) - 1
    if not (i >= 0 and t < c.ends[i]):
        return t
    end = c.ends[i]
    for _ in range(HORIZON):
        if end != c.hi:
            return end
        k += 1
        if k > K_MAX:
            break
        c = cal._chunk(k)
        if not c.starts or c.starts[0] != end:
            return end
        end = c.ends[0]
    return None
