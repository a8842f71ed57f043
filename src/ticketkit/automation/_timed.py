"""Timed rules, the engine half: when a rule whose condition became true falls due.

A timed rule fires a set time after its condition became true ("auto-close 3 business
days after pending", "survey 1 day after resolution"), in business time on a calendar
or in wall time. This module holds the pure parts: reading the delay (``after``),
computing the instant a timer falls due, and moving a timer's state when the ticket
changes (started when the condition becomes true, kept while it holds, cancelled when it
stops holding, fired once). Storing the timers on tickets and firing them from the
sweep belongs to the desk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._serialization import parse_duration
from ticketkit.model._time import require_aware

__all__: list[str] = []

WALL: Final = "wall"
BUSINESS_TIME: Final = "business_time"
BUSINESS_DAYS: Final = "business_days"

_PHRASE: Final = re.compile(
    r"^\s*(\d{1,9})\s+(business\s+)?(day|days|hour|hours|minute|minutes|second|seconds)\s*$", re.IGNORECASE
)
_LONGEST: Final = timedelta(days=3660)  # ten years: beyond that a "delay" is a mistake
_MOST_DAYS: Final = 2600  # business days in about ten years
_UNIT: Final = {
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
    "second": timedelta(seconds=1),
}


class TimerCalendar(Protocol):
    """What a timer needs from a [`BusinessCalendar`][ticketkit.BusinessCalendar]."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant with ``duration`` of business time since ``start``."""

    def add_days(self, start: datetime, n: int, *, opening: bool = False) -> datetime:
        """The same local time on the n-th business day after ``start``'s date."""


class Delay(NamedTuple):
    """How long after its condition became true a timer falls due.

    ``kind`` is ``wall`` (``amount`` of real time), ``business_time`` (``amount`` of
    open hours on the calendar) or ``business_days`` (``days`` business days later, at
    the same local time).
    """

    kind: str
    amount: timedelta
    days: int = 0

    def text(self) -> str:
        """The delay as written in configuration (read back by `parse_after`)."""
        if self.kind == BUSINESS_DAYS:
            return f"{self.days} business day{'s' if self.days != 1 else ''}"
        seconds = int(self.amount.total_seconds())
        n, unit = (seconds // 60, "minutes") if seconds % 60 == 0 else (seconds, "seconds")
        return f"{n} {'business ' if self.kind == BUSINESS_TIME else ''}{unit}"


def parse_after(value: object, *, calendar: bool, path: str = "after") -> Delay:
    """A `Delay` from ``"3 business days"``, ``"4 business hours"``, ``"2 days"`` or a duration.

    A plain duration (a ``timedelta``, ``"PT4H"``, ``"90m"``, seconds) is business time
    when the rule has a calendar and wall time when it has none; ``"N days"`` without
    "business" is always wall time. Business units need a calendar.

    Raises:
        ValidationError: naming ``path``, when the value is none of those or is not positive.
    """
    m = _PHRASE.match(value) if isinstance(value, str) else None
    if m is not None:
        n = int(m.group(1))
        unit = m.group(3).lower().rstrip("s")
        business = m.group(2) is not None
        if n <= 0:
            raise ValidationError.one(path, f"expected a positive delay, got {value!r}")
        if business and not calendar:
            raise ValidationError.one(path, f"{value!r} counts business time: give the rule a calendar")
        if business and unit == "day":
            if n > _MOST_DAYS:
                raise ValidationError.one(path, f"expected at most {_MOST_DAYS} business days, got {value!r}")
            return Delay(BUSINESS_DAYS, timedelta(0), n)
        amount = n * _UNIT[unit]
        if amount > _LONGEST:
            raise ValidationError.one(path, f"expected a delay of at most ten years, got {value!r}")
        return Delay(BUSINESS_TIME if business else WALL, amount)
    if isinstance(value, bool):
        raise ValidationError.one(
            path, f"expected a delay such as '3 business days' or 'PT4H', got {value!r}"
        )
    try:
        amount = parse_duration(value, path)
    except ValidationError:
        raise ValidationError.one(
            path, f"expected a delay such as '3 business days', '2 hours' or 'PT4H', got {value!r}"
        ) from None
    if amount <= timedelta(0) or amount > _LONGEST:
        raise ValidationError.one(path, f"expected a positive delay of at most ten years, got {value!r}")
    return Delay(BUSINESS_TIME if calendar else WALL, amount)


def due_at(delay: Delay, since: datetime, calendar: TimerCalendar | None) -> datetime:
    """When a timer started at ``since`` falls due.

    Raises:
        ValidationError: a naive ``since``, or business time without a calendar.
    """
    require_aware(since, "since")
    if delay.kind == WALL:
        return since + delay.amount
    if calendar is None:
        raise ValidationError.one("calendar", f"a delay of {delay.text()!r} needs a calendar")
    if delay.kind == BUSINESS_DAYS:
        return calendar.add_days(since, delay.days)
    return calendar.add(since, delay.amount)


class Timer(NamedTuple):
    """One timed rule's state on one ticket: when its condition became true, and whether it fired."""

    since: datetime | None = None
    fired: bool = False


def step(timer: Timer, *, holds: bool, at: datetime) -> Timer:
    """The timer after a change at ``at`` where the condition now ``holds`` (or not).

    It starts when the condition becomes true, keeps its start while it holds, and is
    cancelled (forgotten, fired or not) when it stops holding, so the next time the
    condition becomes true is a new start.
    """
    if not holds:
        return Timer()
    if timer.since is None:
        return Timer(since=at, fired=False)
    return timer


def pending_due(timer: Timer, delay: Delay, calendar: TimerCalendar | None) -> datetime | None:
    """When ``timer`` falls due, or None when it is not running or already fired."""
    if timer.since is None or timer.fired:
        return None
    return due_at(delay, timer.since, calendar)


def resolve_calendar(
    name: object, calendars: Mapping[str, Any] | None, out: list[ErrorDetail], path: str = "calendar"
) -> Any:
    """The calendar a rule names (None for none); an unknown name goes to ``out``."""
    if name is None:
        return None
    if isinstance(name, str) and calendars is not None and name in calendars:
        return calendars[name]
    known = ", ".join(sorted(calendars)) if calendars else "none"
    out.append(ErrorDetail(path, f"unknown calendar {name!r} (known: {known})"))
    return None
