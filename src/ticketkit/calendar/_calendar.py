"""Business calendars: exact, fast business-time arithmetic.

A `BusinessCalendar` knows when a business is open: windows of local wall-clock time
per weekday, holidays and official make-up working days, and special hours for given
dates. It answers ``add`` (deadlines), ``between`` (elapsed business time), business
days (``add_days``, ``days_between``), ``is_open`` and the openings and closings on
either side of an instant, to the microsecond.

How it is fast: the time line is cut into chunks of ``2**25`` seconds (about 388 days)
aligned to the Unix epoch (``_instants``). The first time a chunk is touched, its open
intervals are worked out once (local windows turned into UTC instants; for a combined
calendar, the parts' intervals intersected or joined, ``_combine``) and kept as sorted
arrays of interval starts and ends in epoch microseconds with the cumulative open time
before each; every question is then a ``bisect`` in one or two chunks, whatever the span.
Business days (``_days``) and openings and closings (``_rolls``) have their own modules.

DST, in one rule: windows are local wall-clock times; a wall time the clocks show twice
means its first occurrence; a wall time the clocks skip means the instant they jump to
(02:30 on a spring-forward night at 02:00 means 03:00 new time). So a 24/7 day has 23 or
25 hours at the changes and a night shift across them is an hour shorter or longer.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs

from ticketkit.calendar import _arith, _combine, _days, _definition, _rolls
from ticketkit.calendar._holidays import CountryHolidays, HolidaySource, YearDates, country_holidays
from ticketkit.calendar._instants import (
    CHUNK_US,
    EPOCH_ORD,
    FLOAT_EXACT,
    HORIZON,
    OFFSETS,
    ONE_US,
    US,
    ZERO,
    Chunk,
    Duration,
    dur_us,
    offset_us,
    to_us,
)
from ticketkit.calendar._known import BeyondKnown, Limit, crossed, limits_of
from ticketkit.calendar._spec import DAY, Window
from ticketkit.errors import ValidationError
from ticketkit.model._limits import guarded_loader

__all__ = ["BusinessCalendar", "CountryHolidays", "country_holidays"]

_Week = tuple[tuple[Window, ...], ...]
Combine = Literal["all_of", "any_of"]


@attrs.frozen(init=False, repr=False)
class BusinessCalendar:
    """When a business is open, and business-time arithmetic on it, to the microsecond.

    Working hours are local wall-clock windows per weekday; inputs may be in any zone;
    results are aware datetimes in the calendar's zone. A day's schedule is, first match
    wins: its ``overrides`` entry; a date in ``workdays`` (the make-up hours); a date in
    ``holidays`` (closed); a source's holiday (closed); a source's make-up workday; else
    the weekday's ``hours``. A window past midnight (``"22:00-06:00"``) belongs to the day
    it starts: closing that day closes the whole shift.

    Two or more calendars combine: ``a & b`` (`all_of`) is open when all of them are, such
    as a team's shift within the shop's hours; ``a | b`` (`any_of`) when any of them is.

    Args:
        tz: IANA time zone name (``"Asia/Shanghai"``) or a ``ZoneInfo`` (``timezone.utc``
            is taken as ``"UTC"``).
        hours: windows per weekday: ``{"mon-fri": ["09:00-12:00", "13:00-18:00"],
            "sat": ["10:00-16:00"]}``. Keys are weekday names, ranges (``"mon-fri"``),
            lists (``"sat,sun"``) or ``"daily"``; ``"24:00"`` ends a day; an end before
            the start crosses midnight. Days not named are closed.
        holidays: dates (``date`` or ``"2025-10-01"``), `country_holidays`, an object of
            the ``holidays`` package, your own source (any object with a
            ``dates_in(year)`` method returning ``(holidays, make-up workdays)`` as two
            sets of dates), or a list mixing them.
        workdays: extra make-up working days, open with ``workday_hours``.
        overrides: special windows for given dates: ``{"2025-12-31": ["09:00-13:00"]}``;
            ``[]`` closes the date.
        name: a label.
        workday_hours: the windows of a make-up working day: a weekday name whose hours
            it takes, or a list of windows. Default: Monday's hours (or, when Monday is
            closed, the first weekday that is open).
        beyond_known: what a computation does when it reaches past the last date a holiday
            source is official for (China's holidays are announced a year at a time):
            ``"warn"`` (default) issues an `UnpublishedHolidaysWarning` and computes on the
            package's guess, ``"error"`` raises an `UnpublishedHolidaysError`, ``"assume"``
            computes on the guess silently.

    Attributes:
        tz: the zone, a ``ZoneInfo``.
        hours: the weekly windows, normalized: seven tuples (Monday first) of
            ``(start, end)`` seconds after local midnight; an end past 86400 runs into
            the next day.
        holidays: the dates given by hand as holidays.
        sources: holiday sources (countries, ``holidays`` objects).
        workdays: the dates given by hand as make-up working days.
        overrides: ``(date, windows)`` pairs, sorted by date.
        workday_hours: the windows of a make-up working day.
        name: the label.
        beyond_known: ``"warn"``, ``"error"`` or ``"assume"`` (None for a combined
            calendar, whose parts each keep their own).
        combine: ``"all_of"`` or ``"any_of"`` for a combined calendar, else None.
        parts: the calendars a combined calendar combines (empty for a plain one).

    Raises:
        ValidationError: every bad part of the definition, each with its path
            (``hours.mon-fri[1]``, ``tz``, ``holidays[2].country``, ``overrides.2025-12-31[0]``).

    Examples:
        >>> from datetime import datetime, timedelta
        >>> from zoneinfo import ZoneInfo
        >>> cal = BusinessCalendar(
        ...     "Asia/Shanghai",
        ...     {"mon-fri": ["09:00-12:00", "13:00-18:00"]},
        ...     holidays=country_holidays("CN"),
        ... )
        >>> start = datetime(2025, 1, 24, 17, tzinfo=ZoneInfo("Asia/Shanghai"))
        >>> cal.add(start, timedelta(hours=2)).isoformat()  # Sunday 26 Jan is a make-up workday
        '2025-01-26T10:00:00+08:00'
        >>> cal.between(start, cal.add(start, timedelta(hours=2)))
        datetime.timedelta(seconds=7200)
    """

    tz: ZoneInfo
    hours: _Week
    holidays: frozenset[date]
    sources: tuple[HolidaySource, ...]
    workdays: frozenset[date]
    overrides: tuple[tuple[date, tuple[Window, ...]], ...]
    name: str
    workday_hours: tuple[Window, ...]
    beyond_known: BeyondKnown | None
    combine: Combine | None
    parts: tuple[BusinessCalendar, ...]
    _override_map: dict[date, tuple[Window, ...]] = attrs.field(eq=False, hash=False)
    _chunks: dict[int, Chunk] = attrs.field(eq=False, hash=False)
    _years: dict[int, YearDates] = attrs.field(eq=False, hash=False)
    _bdays: dict[int, list[int]] = attrs.field(eq=False, hash=False)
    _always: bool = attrs.field(eq=False, hash=False)
    _workday_spec: object = attrs.field(eq=False, hash=False)
    _limits: tuple[Limit, ...] = attrs.field(eq=False, hash=False)
    _limit_us: int = attrs.field(eq=False, hash=False)
    _warned: set[date] = attrs.field(eq=False, hash=False)

    def __init__(  # noqa: PLR0917  (positional order as in the published signature)
        self,
        tz: str | tzinfo,
        hours: Mapping[str, Any],
        holidays: Any = None,
        workdays: Iterable[date | str] = (),
        overrides: Mapping[date | str, Any] | None = None,
        name: str = "",
        workday_hours: str | Sequence[Any] | None = None,
        *,
        beyond_known: BeyondKnown = "warn",
    ) -> None:
        fields = _definition.parse_definition(
            tz=tz,
            hours=hours,
            holidays=holidays,
            workdays=workdays,
            overrides=overrides,
            name=name,
            workday_hours=workday_hours,
            beyond_known=beyond_known,
        )
        limits = limits_of(fields["sources"], beyond_known, fields["tz"], name or fields["tz"].key)
        _definition.install(self, fields, combine=None, parts=(), limits=limits)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def always_open(cls, tz: str | tzinfo = "UTC") -> BusinessCalendar:
        """A calendar open around the clock, every day (24/7).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> cal = BusinessCalendar.always_open()
            >>> cal.add(datetime(2025, 1, 1, tzinfo=timezone.utc), timedelta(days=2)).isoformat()
            '2025-01-03T00:00:00+00:00'
        """
        return cls(tz, {"daily": ["00:00-24:00"]}, name="24/7")

    @classmethod
    def all_of(
        cls, *calendars: BusinessCalendar, tz: str | tzinfo | None = None, name: str = ""
    ) -> BusinessCalendar:
        """A calendar open exactly when all of ``calendars`` are open (their intersection).

        The result is a calendar like any other, as fast; results are in ``tz`` (default:
        the first calendar's zone). Each part keeps its own ``beyond_known``. ``a & b`` is
        ``all_of(a, b)``.

        Raises:
            ValidationError: fewer than two calendars, or something else than calendars.

        Examples:
            >>> from datetime import datetime, timezone
            >>> shop = BusinessCalendar("UTC", {"mon-sat": ["09:00-18:00"]})
            >>> late_shift = BusinessCalendar("UTC", {"daily": ["14:00-22:00"]})
            >>> (shop & late_shift).next_open(datetime(2025, 3, 3, 9, tzinfo=timezone.utc)).isoformat()
            '2025-03-03T14:00:00+00:00'
        """
        return cls._combined("all_of", calendars, tz, name)

    @classmethod
    def any_of(
        cls, *calendars: BusinessCalendar, tz: str | tzinfo | None = None, name: str = ""
    ) -> BusinessCalendar:
        """A calendar open whenever any of ``calendars`` is open (their union). ``a | b`` is ``any_of(a, b)``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> day = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> night = BusinessCalendar("UTC", {"mon-fri": ["17:00-01:00"]})
            >>> (day | night).between(
            ...     datetime(2025, 3, 3, tzinfo=timezone.utc), datetime(2025, 3, 4, tzinfo=timezone.utc)
            ... )
            datetime.timedelta(seconds=54000)
        """
        return cls._combined("any_of", calendars, tz, name)

    @classmethod
    def _combined(cls, how: str, calendars: Sequence[object], tz: object, name: object) -> BusinessCalendar:
        if len(calendars) < 2 or not all(isinstance(c, BusinessCalendar) for c in calendars):
            raise ValidationError.one(how, f"expected two or more calendars, got {calendars!r}")
        parts = tuple(c for c in calendars if isinstance(c, BusinessCalendar))
        fields, limits = _combine.combined_fields(how, parts, tz, name)
        cal = cls.__new__(cls)
        _definition.install(cal, fields, combine=how, parts=parts, limits=limits)
        return cal

    def __and__(self, other: BusinessCalendar) -> BusinessCalendar:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return BusinessCalendar.all_of(self, other)

    def __or__(self, other: BusinessCalendar) -> BusinessCalendar:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return BusinessCalendar.any_of(self, other)

    @classmethod
    @guarded_loader(1)
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from its data form (as `to_dict` writes it).

        Holidays in data form are ISO dates and ``{"country": "CN", "subdiv": ...,
        "categories": [...], "language": ..., "published": {...}}`` items; a combined
        calendar is ``{"all_of": [calendar, ...]}`` or ``{"any_of": [...]}``, with an
        optional ``tz`` and ``name``.

        Raises:
            ValidationError: unknown keys, a missing ``tz`` or ``hours``, and every problem
                the constructor finds, each with its path.

        Examples:
            >>> cal = BusinessCalendar.from_dict(
            ...     {
            ...         "tz": "Asia/Shanghai",
            ...         "hours": {"mon-fri": ["09:00-18:00"]},
            ...         "holidays": [{"country": "HK", "categories": ["public", "optional"]}],
            ...     }
            ... )
            >>> BusinessCalendar.from_dict(cal.to_dict()) == cal
            True
        """
        return _definition.from_dict(data, cls, cls._combined)

    def to_dict(self) -> dict[str, Any]:
        """The data form: plain JSON-ready values that `from_dict` reads back to an equal calendar.

        Raises:
            ValidationError: the calendar cannot be written exactly (a custom holiday source
                without a data form, a ``holidays`` object with dates added by hand), with
                the reason. It never writes something that would read back different.

        Examples:
            >>> BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"], "sat": "10:00-14:00"}).to_dict()
            {'tz': 'UTC', 'hours': {'mon-fri': ['09:00-17:00'], 'sat': ['10:00-14:00']}}
        """
        return _definition.to_dict(self)

    def __repr__(self) -> str:
        return _definition.describe(self)

    # ------------------------------------------------------------------ the schedule

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The windows of a date as (start, end) seconds after its local midnight.

        An end past 86400 runs into the next day. For a combined calendar: its open time
        on that date, cut at midnight. Useful to draw or audit a schedule.

        Examples:
            >>> from datetime import date
            >>> cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-12:00"]}, workdays=["2025-01-26"])
            >>> cal.windows_on(date(2025, 1, 26)), cal.windows_on(date(2025, 1, 25))
            (((32400, 43200),), ())
        """
        if self.combine is not None:
            return _combine.windows_on(self, day)
        return _definition.windows_on(self, day)

    def _chunk(self, k: int) -> Chunk:
        c = self._chunks.get(k)
        return c if c is not None else _arith.build_chunk(self, k)

    def _out(self, us: int) -> datetime:
        try:
            if -FLOAT_EXACT < us < FLOAT_EXACT:
                # Exact: |us| < 2**52 (before 2112), so us / 1e6 rounds to the right microsecond.
                return datetime.fromtimestamp(us / 1e6, self.tz)
            seconds, micro = divmod(us, US)
            return datetime.fromtimestamp(seconds, self.tz).replace(microsecond=micro)
        except (OverflowError, ValueError, OSError):
            raise ValidationError.one("", "the result falls outside the years 1-9999") from None

    def _reached(self, us: int) -> None:
        """A computation needed the schedule up to ``us``, past the first limit: warn or raise."""
        crossed(self._limits, us, self._out(min(us, 253402300799 * US)), self._warned, stacklevel=4)

    # ------------------------------------------------------------------ arithmetic

    def add(self, start: datetime, duration: Duration) -> datetime:
        """The earliest instant at which ``duration`` of business time has elapsed since ``start``.

        A start outside hours counts from the next opening; a duration that ends exactly at
        a closing time returns that closing time; ``add(start, 0)`` is ``start``; a negative
        duration subtracts. ``duration`` may also be seconds or a string (``"PT2H"``, ``"2h 30m"``).

        Raises:
            ValidationError: a naive ``start`` or a bad ``duration``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-12:00", "13:00-18:00"]})
            >>> cal.add(datetime(2025, 3, 3, 11, tzinfo=timezone.utc), timedelta(hours=1)).isoformat()
            '2025-03-03T12:00:00+00:00'
            >>> cal.add(datetime(2025, 3, 7, 17, tzinfo=timezone.utc), "2h").isoformat()
            '2025-03-10T10:00:00+00:00'
        """
        t = to_us(start, "start")
        if type(duration) is timedelta:
            d = (duration.days * DAY + duration.seconds) * US + duration.microseconds
        else:
            d = dur_us(duration)
        if d > 0:
            u = _arith.add_us(self, t, d)
            if u > self._limit_us:
                self._reached(u)
            if -FLOAT_EXACT < u < FLOAT_EXACT:
                return datetime.fromtimestamp(u / 1e6, self.tz)
            return self._out(u)
        if d < 0:
            if t > self._limit_us:
                self._reached(t)
            return self._out(_arith.subtract_us(self, t, -d))
        return start.astimezone(self.tz)

    def subtract(self, end: datetime, duration: Duration) -> datetime:
        """The latest instant from which ``duration`` of business time runs until ``end``.

        The mirror of [`add`][ticketkit.BusinessCalendar.add]: an answer that falls exactly on an opening
        returns that opening; ``subtract(end, 0)`` is ``end``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.subtract(datetime(2025, 3, 10, 10, tzinfo=timezone.utc), timedelta(hours=2)).isoformat()
            '2025-03-07T16:00:00+00:00'
        """
        t = to_us(end, "end")
        d = dur_us(duration)
        if d > 0:
            if t > self._limit_us:
                self._reached(t)
            return self._out(_arith.subtract_us(self, t, d))
        if d < 0:
            u = _arith.add_us(self, t, -d)
            if u > self._limit_us:
                self._reached(u)
            return self._out(u)
        return end.astimezone(self.tz)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``; negative when ``b`` is before ``a``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-12:00", "13:00-18:00"]})
            >>> cal.between(
            ...     datetime(2025, 3, 7, 17, tzinfo=timezone.utc),
            ...     datetime(2025, 3, 10, 10, tzinfo=timezone.utc),
            ... )
            datetime.timedelta(seconds=7200)
        """
        # to_us and the one-chunk case of _between_us, inlined: this is the hot path.
        try:
            o = a.utcoffset()
            off = OFFSETS.get(o)
            if off is None:
                off = offset_us(o, a, "a")
            ta = (
                ((a.toordinal() - EPOCH_ORD) * DAY + a.hour * 3600 + a.minute * 60 + a.second) * US
                + a.microsecond
                - off
            )
        except AttributeError:
            ta = to_us(a, "a")
        try:
            o = b.utcoffset()
            off = OFFSETS.get(o)
            if off is None:
                off = offset_us(o, b, "b")
            tb = (
                ((b.toordinal() - EPOCH_ORD) * DAY + b.hour * 3600 + b.minute * 60 + b.second) * US
                + b.microsecond
                - off
            )
        except AttributeError:
            tb = to_us(b, "b")
        if (tb if tb > ta else ta) > self._limit_us:
            self._reached(tb if tb > ta else ta)
        if tb < ta:
            return ONE_US * -_arith.between_us(self, tb, ta)
        k = ta // CHUNK_US
        c = self._chunks.get(k)
        if c is None or tb >= c.hi:
            return ONE_US * _arith.between_us(self, ta, tb)
        starts, ends, cum = c.starts, c.ends, c.cum
        i = bisect_right(starts, tb) - 1
        if i < 0:
            return ZERO
        e = ends[i]
        fb = cum[i] + (tb if tb < e else e) - starts[i]
        i = bisect_right(starts, ta, 0, i + 1) - 1
        if i < 0:
            return ONE_US * fb
        e = ends[i]
        return ONE_US * (fb - cum[i] - (ta if ta < e else e) + starts[i])

    def is_open(self, at: datetime) -> bool:
        """Whether the business is open at the instant ``at`` (windows are ``[start, end)``).

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> (
            ...     cal.is_open(datetime(2025, 3, 3, 9, tzinfo=timezone.utc)),
            ...     cal.is_open(datetime(2025, 3, 3, 17, tzinfo=timezone.utc)),
            ... )
            (True, False)
        """
        t = to_us(at, "at")
        if t >= self._limit_us:
            self._reached(t + 1)
        k = t // CHUNK_US
        c = self._chunks.get(k) or _arith.build_chunk(self, k)
        i = bisect_right(c.starts, t) - 1
        return i >= 0 and t < c.ends[i]

    def next_open(self, at: datetime, *, strict: bool = False) -> datetime:
        """The earliest instant at or after ``at`` when the business is open (``at`` itself if open).

        With ``strict=True``: the first opening strictly after ``at``, even when ``at`` is
        open (the start of the next open period), exact across DST changes.

        Raises:
            ValidationError: the calendar has no open time (no opening) in the next decades.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.next_open(datetime(2025, 3, 8, 12, tzinfo=timezone.utc)).isoformat()
            '2025-03-10T09:00:00+00:00'
            >>> cal.next_open(datetime(2025, 3, 3, 9, tzinfo=timezone.utc), strict=True).isoformat()
            '2025-03-04T09:00:00+00:00'
        """
        t = to_us(at, "at")
        if strict:
            return _rolls.boundary(self, _rolls.next_opening(self, t, strict=True), t, "opening")
        found = _arith.roll_open(self, t)
        if found is None:
            raise _arith.exhausted(self, t // CHUNK_US + HORIZON + 1)
        return _rolls.rolled(self, found, at, t)

    def next_close(self, at: datetime, *, strict: bool = False) -> datetime | None:
        """The earliest instant at or after ``at`` when the business is closed (``at`` itself if closed).

        With ``strict=True``: the first closing strictly after ``at`` (the end of the
        open period ``at`` is in, or of the next one). Returns None when the calendar
        never closes (24/7 with no holidays).

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.next_close(datetime(2025, 3, 3, 10, tzinfo=timezone.utc)).isoformat()
            '2025-03-03T17:00:00+00:00'
            >>> cal.next_close(datetime(2025, 3, 3, 18, tzinfo=timezone.utc), strict=True).isoformat()
            '2025-03-04T17:00:00+00:00'
            >>> print(BusinessCalendar.always_open().next_close(datetime(2025, 3, 3, tzinfo=timezone.utc)))
            None
        """
        t = to_us(at, "at")
        if self._always:
            return None
        if strict:
            found = _rolls.next_closing(self, t, strict=True)
            return None if found is None else _rolls.boundary(self, found, t, "closing")
        found = _arith.roll_close(self, t)
        return None if found is None else _rolls.rolled(self, found, at, t)

    def prev_open(self, at: datetime, *, strict: bool = False) -> datetime:
        """The latest opening at or before ``at``: when the open period ``at`` is in began,
        or when the last one before it did.

        With ``strict=True``: the latest opening strictly before ``at``.

        Raises:
            ValidationError: the calendar has no opening in the decades before.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.prev_open(datetime(2025, 3, 3, 11, tzinfo=timezone.utc)).isoformat()
            '2025-03-03T09:00:00+00:00'
            >>> cal.prev_open(datetime(2025, 3, 9, 11, tzinfo=timezone.utc)).isoformat()
            '2025-03-07T09:00:00+00:00'
        """
        t = to_us(at, "at")
        return _rolls.boundary(self, _rolls.prev_opening(self, t, strict=strict), t, "opening")

    def prev_close(self, at: datetime, *, strict: bool = False) -> datetime | None:
        """The latest closing at or before ``at``: when the last open period before ``at`` ended.

        With ``strict=True``: the latest closing strictly before ``at``. Returns None when
        the calendar has not closed in the decades before (24/7).

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.prev_close(datetime(2025, 3, 3, 11, tzinfo=timezone.utc)).isoformat()
            '2025-02-28T17:00:00+00:00'
        """
        t = to_us(at, "at")
        if self._always:
            return None
        found = _rolls.prev_closing(self, t, strict=strict)
        return None if found is None else _rolls.boundary(self, found, t, "closing")

    def open_intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The open intervals within ``[a, b)``, clipped to it, in order.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-12:00", "13:00-18:00"]})
            >>> for s, e in cal.open_intervals(
            ...     datetime(2025, 3, 3, 10, tzinfo=timezone.utc),
            ...     datetime(2025, 3, 4, 10, tzinfo=timezone.utc),
            ... ):
            ...     print(s.strftime("%a %H:%M"), "-", e.strftime("%H:%M"))
            Mon 10:00 - 12:00
            Mon 13:00 - 18:00
            Tue 09:00 - 10:00
        """
        ta = to_us(a, "a")
        tb = to_us(b, "b")
        if tb > self._limit_us:
            self._reached(tb)
        out = _arith.open_intervals_us(self, ta, tb)
        return [(self._out(s), self._out(e)) for s, e in out]

    # ------------------------------------------------------------------ business days

    def add_days(self, start: datetime, n: int, *, opening: bool = False) -> datetime:
        """The same local time of day as ``start`` on the n-th business day after its date.

        A business day is a date with open hours (holidays closed, make-up workdays open).
        Days are counted from ``start``'s date in the calendar's zone, that date itself not
        counted, so from a Friday or a Saturday one business day is the Monday. A negative
        ``n`` counts back (`subtract_days`); ``n == 0`` returns ``start``. The time of day
        is kept even outside hours (the DST rule of windows applies to it); with
        ``opening=True`` the result is the opening of that business day instead.

        Raises:
            ValidationError: a naive ``start``, an ``n`` that is not a whole number, or no
                business day within decades.

        Examples:
            >>> from datetime import datetime
            >>> from zoneinfo import ZoneInfo
            >>> cal = BusinessCalendar(
            ...     "Asia/Shanghai", {"mon-fri": ["09:00-18:00"]}, holidays=country_holidays("CN")
            ... )
            >>> friday = datetime(2025, 1, 24, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
            >>> cal.add_days(friday, 1).isoformat()  # Sunday 26 January is a make-up workday
            '2025-01-26T15:30:00+08:00'
            >>> cal.add_days(friday, 2, opening=True).isoformat()
            '2025-01-27T09:00:00+08:00'
        """
        result, us = _days.add_days(self, start, n, opening=opening)
        if us >= self._limit_us or n < 0:
            reached = max(us, to_us(start, "start"))
            if reached >= self._limit_us:
                self._reached(reached + 1)
        return result

    def subtract_days(self, start: datetime, n: int, *, opening: bool = False) -> datetime:
        """The same local time of day on the n-th business day before ``start``'s date.

        The same as ``add_days(start, -n)``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.subtract_days(datetime(2025, 3, 3, 10, tzinfo=timezone.utc), 1).isoformat()
            '2025-02-28T10:00:00+00:00'
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise ValidationError.one("n", f"expected a whole number of business days, got {n!r}")
        return self.add_days(start, -n, opening=opening)

    def days_between(self, a: datetime, b: datetime) -> int:
        """The business days from ``a``'s date to ``b``'s, in the calendar's zone.

        Counts the business days after ``a``'s date up to and including ``b``'s, negative
        when ``b`` is earlier (then the days from ``b``'s date up to, not including,
        ``a``'s): so ``days_between(a, add_days(a, n)) == n`` for every ``n``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> friday, tuesday = (
            ...     datetime(2025, 3, 7, 16, tzinfo=timezone.utc),
            ...     datetime(2025, 3, 11, 9, tzinfo=timezone.utc),
            ... )
            >>> cal.days_between(friday, tuesday), cal.days_between(tuesday, friday)
            (2, -2)
        """
        n, reached = _days.days_between(self, a, b)
        if reached > self._limit_us:
            self._reached(reached)
        return n

    def is_business_day(self, day: date) -> bool:
        """Whether a date has open hours (an aware datetime stands for its date in the calendar's zone).

        Examples:
            >>> from datetime import date
            >>> cal = BusinessCalendar(
            ...     "Asia/Shanghai", {"mon-fri": ["09:00-18:00"]}, holidays=country_holidays("CN")
            ... )
            >>> cal.is_business_day(date(2025, 1, 26)), cal.is_business_day(date(2025, 1, 28))
            (True, False)
        """
        yes, reached = _days.is_business_day(self, day)
        if reached > self._limit_us:
            self._reached(reached)
        return yes
