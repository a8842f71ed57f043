"""Business days: stepping and counting whole days on a calendar.

A date is a business day when its own schedule has a window (after holidays, make-up
workdays and overrides; a night shift belongs to the day it starts). Each year's
business days are worked out once, as a sorted list of date ordinals, so stepping n
business days or counting them between two dates is a ``bisect`` in a year or two.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime

from ticketkit.calendar._instants import HORIZON, US, to_us, wall_to_us
from ticketkit.calendar._protocol import Calendar
from ticketkit.errors import ValidationError
from ticketkit.model._time import require_aware

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []

_MAX_YEARS = 256


def year_days(cal: Calendar, year: int) -> list[int]:
    """The ordinals of the business days of ``year``, sorted."""
    cache = cal._bdays
    days = cache.get(year)
    if days is None:
        if not 1 <= year <= 9999:
            raise ValidationError.one("", "the result falls outside the years 1-9999")
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        days = [o for o in range(first, last + 1) if cal.windows_on(date.fromordinal(o))]
        if len(cache) >= _MAX_YEARS:
            cache.pop(next(iter(cache)), None)
        cache[year] = days
    return days


def _no_days(cal: Calendar) -> ValidationError:
    return ValidationError.one(
        "", f"the calendar {cal.name or cal.tz.key!r} has no business day within {HORIZON} years"
    )


def step(cal: Calendar, ordinal: int, n: int, year: int) -> int:
    """The ordinal of the n-th business day after (n > 0) or before (n < 0) day ``ordinal`` of ``year``."""
    days = year_days(cal, year)
    empty = 0
    if n > 0:
        idx = bisect_right(days, ordinal) + n - 1
        while idx >= len(days):
            idx -= len(days)
            empty = 0 if days else empty + 1
            if empty > HORIZON:
                raise _no_days(cal)
            year += 1
            days = year_days(cal, year)
        return days[idx]
    idx = bisect_left(days, ordinal) + n
    while idx < 0:
        empty = 0 if days else empty + 1
        if empty > HORIZON:
            raise _no_days(cal)
        year -= 1
        days = year_days(cal, year)
        idx += len(days)
    return days[idx]


def count(cal: Calendar, lo: int, hi: int) -> int:
    """The number of business days with ordinals in ``[lo, hi)``."""
    y_lo = date.fromordinal(lo).year
    y_hi = date.fromordinal(hi - 1).year if hi > lo else y_lo
    if hi <= lo:
        return 0
    if y_lo == y_hi:
        days = year_days(cal, y_lo)
        return bisect_left(days, hi) - bisect_left(days, lo)
    first = year_days(cal, y_lo)
    total = len(first) - bisect_left(first, lo)
    for y in range(y_lo + 1, y_hi):
        total += len(year_days(cal, y))
    return total + bisect_left(year_days(cal, y_hi), hi)


def local(cal: Calendar, value: datetime, path: str) -> datetime:
    if type(value) is not datetime or value.tzinfo is None:
        to_us(value, path)  # refuses naive and non-datetime values with a ValidationError
    return value.astimezone(cal.tz)


def add_days(cal: Calendar, start: datetime, n: int, *, opening: bool) -> tuple[datetime, int]:
    """``start``'s time of day (or the opening) on the n-th business day from its date; and the
    instant reached (for the calendar's check of how far its holidays are known)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValidationError.one("n", f"expected a whole number of business days, got {n!r}")
    here = local(cal, start, "start")
    if n == 0:
        return here, to_us(here, "start")
    day = step(cal, here.toordinal(), n, here.year)
    if opening:
        windows = cal.windows_on(date.fromordinal(day))
        us = wall_to_us(cal.tz, day, windows[0][0])
        return cal._out(us), us
    result = datetime.combine(date.fromordinal(day), here.time(), cal.tz)
    if result.utcoffset() == result.replace(fold=1).utcoffset():
        return result, to_us(result, "start")
    # On a DST change: a repeated time means its first occurrence, a skipped one the jump.
    seconds = here.hour * 3600 + here.minute * 60 + here.second
    us = wall_to_us(cal.tz, day, seconds, here.microsecond)
    return cal._out(us), us


def days_between(cal: Calendar, a: datetime, b: datetime) -> tuple[int, int]:
    """The business days from ``a``'s date to ``b``'s, and the midnight ending the later date."""
    da = local(cal, a, "a").toordinal()
    db = local(cal, b, "b").toordinal()
    last = max(da, db) + 1
    reached = wall_to_us(cal.tz, last, 0) if last <= date.max.toordinal() else 2**62
    if db >= da:
        return count(cal, da + 1, db + 1), reached
    return -count(cal, db, da), reached


def is_business_day(cal: Calendar, day: date) -> tuple[bool, int]:
    """Whether ``day`` is a business day, and the instant just past its local midnight."""
    if isinstance(day, datetime):
        require_aware(day, "day")
        day = day.astimezone(cal.tz).date()
    elif not isinstance(day, date):
        raise ValidationError.one("day", f"expected a date such as date(2025, 1, 26), got {day!r}")
    ordinal = day.toordinal()
    days = year_days(cal, day.year)
    i = bisect_left(days, ordinal)
    return i < len(days) and days[i] == ordinal, wall_to_us(cal.tz, ordinal, 0) + US
