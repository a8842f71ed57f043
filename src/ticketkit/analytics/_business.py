"""Business time for durations: a prefix-sum index over a calendar's open intervals."""

from __future__ import annotations

import functools
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CalendarLike(Protocol):
    """What analytics needs of a business calendar: the business time between two instants."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``."""
        ...


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
