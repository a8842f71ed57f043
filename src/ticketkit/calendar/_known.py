"""How far a calendar's holidays are official, and what a computation past that does.

China announces each year's holidays and make-up workdays in the autumn before; for a
later year the ``holidays`` package falls back to rule-based guesses without make-up
days. A source says up to which date it is official (``known_until``); a calendar turns
that into an instant and checks every result against it with one integer comparison,
then follows its ``beyond_known`` setting: ``"warn"`` (the default) warns with an
`UnpublishedHolidaysWarning`, ``"error"`` raises an `UnpublishedHolidaysError`,
``"assume"`` computes on the guess silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal, NamedTuple

from ticketkit.calendar._instants import wall_to_us
from ticketkit.errors import TicketkitError

__all__ = ["UnpublishedHolidaysError", "UnpublishedHolidaysWarning"]

BeyondKnown = Literal["warn", "error", "assume"]
BEYOND_KNOWN: tuple[str, ...] = ("warn", "error", "assume")
# No limit: later than any instant a calendar can reach.
NO_LIMIT = 2**62


class Limit(NamedTuple):
    """One source's limit: past ``us`` (the first instant of the first unofficial day)."""

    us: int
    mode: str
    known_until: date
    source: str
    calendar: str


def _advice(limit: Limit) -> str:
    nxt = limit.known_until.year + 1
    return (
        f"add the published year with country_holidays(..., published={{{nxt}: {{'holidays': [...], "
        f"'workdays': [...]}}}}), or set beyond_known='assume' to accept the guess"
    )


class UnpublishedHolidaysWarning(UserWarning):
    """A computation used holiday dates beyond the last officially published year.

    Issued by a calendar with ``beyond_known="warn"`` (the default), once per calendar.
    Filter it like any warning: ``warnings.filterwarnings("ignore", category=UnpublishedHolidaysWarning)``.

    Attributes:
        calendar: the calendar's name (or zone).
        known_until: the last date the holidays are official for.
        reached: the instant the computation reached past it.

    Examples:
        >>> issubclass(UnpublishedHolidaysWarning, UserWarning)
        True
    """

    def __init__(
        self,
        message: str,
        calendar: str = "",
        known_until: date | None = None,
        reached: datetime | None = None,
    ) -> None:
        super().__init__(message, calendar, known_until, reached)
        self.calendar = calendar
        self.known_until = known_until
        self.reached = reached

    def __str__(self) -> str:
        return str(self.args[0])


class UnpublishedHolidaysError(TicketkitError, ValueError):
    """A computation would use holiday dates beyond the last officially published year.

    Raised by a calendar with ``beyond_known="error"``.

    Attributes:
        calendar: the calendar's name (or zone).
        known_until: the last date the holidays are official for.
        reached: the instant the computation reached past it.

    Examples:
        >>> issubclass(UnpublishedHolidaysError, ValueError)
        True
    """

    def __init__(
        self,
        message: str,
        calendar: str = "",
        known_until: date | None = None,
        reached: datetime | None = None,
    ) -> None:
        super().__init__(message, calendar, known_until, reached)
        self.calendar = calendar
        self.known_until = known_until
        self.reached = reached

    def __str__(self) -> str:
        return str(self.args[0])


def limits_of(sources: Iterable[object], mode: str, tz: tzinfo, calendar: str) -> tuple[Limit, ...]:
    """The limits a plain calendar checks: one per source that knows where its data ends."""
    if mode == "assume":
        return ()
    out: list[Limit] = []
    for src in sources:
        known = getattr(src, "known_until", None)
        if isinstance(known, date) and known < date(9999, 12, 30):
            us = wall_to_us(tz, (known + timedelta(days=1)).toordinal(), 0)
            code = getattr(src, "code", None) or getattr(getattr(src, "obj", None), "country", "the source")
            out.append(Limit(us, mode, known, f"{code}'s holidays", calendar))
    return tuple(out)


def crossed(
    limits: tuple[Limit, ...], us: int, reached: datetime, warned: set[date], stacklevel: int = 3
) -> None:
    """Raise, or warn once per calendar and limit, for every limit ``us`` (an instant needed) is past.

    ``warned`` is the calendar's record of the limits it has warned about: a batch of
    deadlines, or an SLA engine's loop, warns once, not once per computation.
    """
    for limit in limits:
        if us <= limit.us or (limit.mode == "warn" and limit.known_until in warned):
            continue
        head = (
            f"calendar {limit.calendar!r}: {limit.source} are official only up to "
            f"{limit.known_until.isoformat()}; later dates are the holidays package's rule-based guess "
            "(no make-up workdays)"
        )
        if limit.mode == "error":
            raise UnpublishedHolidaysError(
                f"{head}, and this computation reaches {reached.isoformat()}; {_advice(limit)}",
                limit.calendar,
                limit.known_until,
                reached,
            )
        warned.add(limit.known_until)
        warnings.warn(
            UnpublishedHolidaysWarning(
                f"{head}; a computation used them; {_advice(limit)}",
                limit.calendar,
                limit.known_until,
                reached,
            ),
            stacklevel=stacklevel,
        )
