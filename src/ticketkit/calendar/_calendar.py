"""Business calendars: exact, fast business-time arithmetic.

A [`BusinessCalendar`][ticketkit.BusinessCalendar] knows when a business is open: windows of local wall-clock
time per weekday, holidays and official make-up working days, and special hours for
given dates. It answers ``add`` (deadlines), ``between`` (elapsed business time),
``is_open``, ``next_open``, ``next_close`` and ``open_intervals``, to the microsecond.

How it is fast: the time line is cut into chunks of ``2**25`` seconds (about 388 days)
aligned to the Unix epoch. The first time a chunk is touched, its open intervals are
worked out once (local windows turned into UTC instants) and kept as sorted arrays of
interval starts and ends in epoch microseconds with the cumulative open time before
each; every question is then a ``bisect`` in one or two chunks, whatever the span.

DST, in one rule: windows are local wall-clock times; a wall time the clocks show twice
means its first occurrence; a wall time the clocks skip means the instant they jump to
(02:30 on a spring-forward night at 02:00 means 03:00 new time). So a 24/7 day has 23 or
25 hours at the changes and a night shift across them is an hour shorter or longer.
"""

from __future__ import annotations

import difflib
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from ticketkit.calendar._holidays import (
    CountryHolidays,
    HolidaySource,
    YearDates,
    country_holidays,
    is_holidays_object,
    wrap_holidays_object,
)
from ticketkit.calendar._spec import (
    DAY,
    DAY_NAMES,
    Window,
    format_weekly,
    format_windows,
    parse_date,
    parse_weekly,
    parse_windows,
)
from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._serialization import parse_duration
from ticketkit.model._time import require_aware

__all__ = ["BusinessCalendar", "CountryHolidays", "country_holidays"]

CHUNK_S = 2**25
_US = 1_000_000
CHUNK_US = CHUNK_S * _US
# How many empty chunks (about 388 days each) a search crosses before giving up.
_HORIZON = 40
# Chunks kept per calendar (about 270 years); the oldest built is dropped beyond that.
_MAX_CHUNKS = 256
_K_MIN = (date.min.toordinal() - date(1970, 1, 1).toordinal()) * 86400 // CHUNK_S + 1
_K_MAX = (date.max.toordinal() - date(1970, 1, 1).toordinal()) * 86400 // CHUNK_S - 1
_EPOCH_ORD = date(1970, 1, 1).toordinal()
_FLOAT_EXACT = 2**52
_ONE_US = timedelta(microseconds=1)  # timedelta * int is the quickest way to make one
_ZERO = timedelta(0)
_MIN_ORD = date.min.toordinal() + 2
_MAX_ORD = date.max.toordinal() - 2
_Week = tuple[tuple[Window, ...], ...]
# A duration: a timedelta, a number of seconds, or a string such as "PT2H" or "2h 30m".
Duration = timedelta | float | str


class _Chunk:
    """The open intervals of one chunk of time, in epoch microseconds."""

    __slots__ = ("cum", "cum_end", "ends", "hi", "lo", "starts", "total")

    def __init__(self, lo: int, hi: int, intervals: list[tuple[int, int]]) -> None:
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


# utcoffset() timedelta -> microseconds; zoneinfo hands out the same few offsets over and over.
_OFFSETS: dict[timedelta | None, int] = {}


def _offset_us(o: timedelta | None, value: Any, path: str) -> int:
    if o is None:
        require_aware(value, path)
        raise AssertionError  # pragma: no cover - require_aware raised
    us = (o.days * DAY + o.seconds) * _US + o.microseconds
    if len(_OFFSETS) < 4096:
        _OFFSETS[o] = us
    return us


def _to_us(value: Any, path: str) -> int:
    """Epoch microseconds of an aware datetime, in exact integer arithmetic."""
    try:
        o = value.utcoffset()
        off = _OFFSETS.get(o)
        if off is None:
            off = _offset_us(o, value, path)
        seconds: int = (
            (value.toordinal() - _EPOCH_ORD) * DAY + value.hour * 3600 + value.minute * 60 + value.second
        )
        return seconds * _US + value.microsecond - off  # type: ignore[no-any-return]
    except AttributeError:
        require_aware(value, path)
        raise  # pragma: no cover - require_aware raised


def _dur_us(value: Any) -> int:
    td: timedelta = value if type(value) is timedelta else parse_duration(value, "duration")
    return (td.days * DAY + td.seconds) * _US + td.microseconds


def _zone(value: object, problems: list[ErrorDetail]) -> ZoneInfo | None:
    if isinstance(value, ZoneInfo):
        return value
    if value is UTC:
        return ZoneInfo("UTC")
    if isinstance(value, str):
        try:
            return ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
        close = difflib.get_close_matches(value.strip(), zoneinfo.available_timezones(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as 'Asia/Shanghai' or 'UTC'"
        problems.append(ErrorDetail("tz", f"unknown time zone {value!r}; {hint}"))
        return None
    problems.append(ErrorDetail("tz", f"expected an IANA time zone name or a ZoneInfo, got {value!r}"))
    return None


def _date_set(value: object, path: str, problems: list[ErrorDetail]) -> frozenset[date]:
    if value is None:
        return frozenset()
    if isinstance(value, str | date) or not isinstance(value, Iterable):
        problems.append(ErrorDetail(path, f"expected a list of dates such as ['2025-01-26'], got {value!r}"))
        return frozenset()
    out: set[date] = set()
    for i, item in enumerate(value):
        d = parse_date(item, join_path(path, i), problems)
        if d is not None:
            out.add(d)
    return frozenset(out)


def _holiday_items(
    value: object, problems: list[ErrorDetail]
) -> tuple[frozenset[date], tuple[HolidaySource, ...]]:
    """Split ``holidays=`` into explicit dates and sources (countries, ``holidays`` objects)."""
    if value is None:
        return frozenset(), ()
    before = len(problems)
    single = _holiday_source(value, "holidays", problems)
    if len(problems) > before:
        return frozenset(), ()
    if single is not None:
        return frozenset(), (single,)
    if isinstance(value, str | date) or not isinstance(value, Iterable):
        problems.append(
            ErrorDetail(
                "holidays",
                f"expected dates, ticketkit.country_holidays(...), a holidays-package object or a list of "
                f"those, got {value!r}",
            )
        )
        return frozenset(), ()
    dates: set[date] = set()
    sources: list[HolidaySource] = []
    for i, item in enumerate(value):
        path = f"holidays[{i}]"
        src = _holiday_source(item, path, problems)
        if src is not None:
            sources.append(src)
        elif not (isinstance(item, Mapping) and "country" in item):
            d = parse_date(item, path, problems)
            if d is not None:
                dates.add(d)
    return frozenset(dates), tuple(sources)


def _holiday_source(value: object, path: str, problems: list[ErrorDetail]) -> HolidaySource | None:
    """A source from a country, a ``holidays`` object or ``{"country": ...}``; None for anything else."""
    if isinstance(value, CountryHolidays):
        return value
    if is_holidays_object(value):
        return wrap_holidays_object(value)
    if isinstance(value, Mapping) and "country" in value:
        extra = set(value) - {"country", "subdiv"}
        if extra:
            problems.append(
                ErrorDetail(path, f"unknown key(s) {sorted(map(str, extra))} (expected 'country', 'subdiv')")
            )
            return None
        try:
            return country_holidays(value["country"], value.get("subdiv"))
        except ValidationError as exc:
            renamed = {"code": "country"}
            problems.extend(
                ErrorDetail(join_path(path, renamed.get(e.path, e.path)), e.message) for e in exc.errors
            )
            return None
    if isinstance(value, HolidaySource):
        return value
    return None


def _wall_to_us(tz: ZoneInfo, ordinal: int, seconds: int) -> int:
    """Epoch microseconds of a local wall time: ``seconds`` after midnight of day ``ordinal``.

    Ambiguous wall times take their first occurrence (fold=0); wall times the clocks skip
    take the instant the clocks jump to.
    """
    wall = (ordinal - _EPOCH_ORD) * DAY + seconds
    naive = datetime.fromordinal(ordinal) + timedelta(seconds=seconds)
    offset = tz.utcoffset(naive)
    assert offset is not None
    guess = wall - int(offset.total_seconds())
    back = datetime.fromtimestamp(guess, tz).replace(tzinfo=None)
    if back == naive:
        return guess * _US
    # Skipped: find the first instant whose local time is at or after the wall time.
    lo = wall - int(tz.utcoffset(naive.replace(fold=1)).total_seconds())  # type: ignore[union-attr]
    hi = guess  # clocks jump forward over a gap, so the fold=1 reading is the earlier one
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo * _US


@attrs.frozen(init=False, repr=False)
class BusinessCalendar:
    """When a business is open, and business-time arithmetic on it, to the microsecond.

    Working hours are local wall-clock windows per weekday; inputs may be in any zone;
    results are aware datetimes in the calendar's zone. A day's schedule is, first match
    wins: its ``overrides`` entry; a date in ``workdays`` (the make-up hours); a date in
    ``holidays`` (closed); a source's holiday (closed); a source's make-up workday; else
    the weekday's ``hours``. A window past midnight (``"22:00-06:00"``) belongs to the day
    it starts: closing that day closes the whole shift.

    Args:
        tz: IANA time zone name (``"Asia/Shanghai"``) or a ``ZoneInfo`` (``timezone.utc``
            is taken as ``"UTC"``).
        hours: windows per weekday: ``{"mon-fri": ["09:00-12:00", "13:00-18:00"],
            "sat": ["10:00-16:00"]}``. Keys are weekday names, ranges (``"mon-fri"``),
            lists (``"sat,sun"``) or ``"daily"``; ``"24:00"`` ends a day; an end before
            the start crosses midnight. Days not named are closed.
        holidays: dates (``date`` or ``"2025-10-01"``), [`country_holidays`][ticketkit.country_holidays], an
            object of the ``holidays`` package, your own source (any object with a
            ``dates_in(year)`` method returning ``(holidays, make-up workdays)`` as two
            sets of dates), or a list mixing them.
        workdays: extra make-up working days, open with ``workday_hours``.
        overrides: special windows for given dates: ``{"2025-12-31": ["09:00-13:00"]}``;
            ``[]`` closes the date.
        name: a label.
        workday_hours: the windows of a make-up working day: a weekday name whose hours
            it takes, or a list of windows. Default: Monday's hours (or, when Monday is
            closed, the first weekday that is open).

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
    _override_map: dict[date, tuple[Window, ...]] = attrs.field(eq=False, hash=False)
    _chunks: dict[int, _Chunk] = attrs.field(eq=False, hash=False)
    _years: dict[int, YearDates] = attrs.field(eq=False, hash=False)
    _always: bool = attrs.field(eq=False, hash=False)
    _workday_spec: object = attrs.field(eq=False, hash=False)

    _FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"tz", "hours", "holidays", "workdays", "overrides", "name", "workday_hours"}
    )

    def __init__(  # noqa: PLR0917  (positional order as in the published signature)
        self,
        tz: str | tzinfo,
        hours: Mapping[str, Any],
        holidays: Any = None,
        workdays: Iterable[date | str] = (),
        overrides: Mapping[date | str, Any] | None = None,
        name: str = "",
        workday_hours: str | Sequence[Any] | None = None,
    ) -> None:
        problems: list[ErrorDetail] = []
        zone = _zone(tz, problems)
        week = parse_weekly(hours, "hours", problems)
        hol_dates, sources = _holiday_items(holidays, problems)
        work = _date_set(workdays, "workdays", problems)
        over: dict[date, tuple[Window, ...]] = {}
        over_spec: object = overrides
        if over_spec is not None:
            if not isinstance(over_spec, Mapping):
                problems.append(
                    ErrorDetail("overrides", f"expected a mapping of dates to windows, got {overrides!r}")
                )
            else:
                for key, spec in over_spec.items():
                    kpath = join_path("overrides", str(key))
                    d = parse_date(key, kpath, problems)
                    windows = parse_windows(spec, kpath, problems) if spec else ()
                    if d is not None and d in over:
                        problems.append(ErrorDetail(kpath, f"{d.isoformat()} is given twice"))
                    elif d is not None and windows is not None:
                        over[d] = windows
        name_obj: object = name
        if not isinstance(name_obj, str):
            problems.append(ErrorDetail("name", f"expected a string, got {name!r}"))
        wh: tuple[Window, ...] = ()
        if week is not None:
            if week == ((),) * 7:
                problems.append(ErrorDetail("hours", "no open window on any weekday"))
            wh = self._workday_windows(week, workday_hours, problems)
        if problems:
            raise ValidationError(problems)
        assert zone is not None
        assert week is not None
        always = week == (((0, DAY),),) * 7 and not hol_dates and not sources and not over
        set_ = object.__setattr__
        set_(self, "tz", zone)
        set_(self, "hours", week)
        set_(self, "holidays", hol_dates)
        set_(self, "sources", sources)
        set_(self, "workdays", work)
        set_(self, "overrides", tuple(sorted(over.items())))
        set_(self, "name", name)
        set_(self, "workday_hours", wh)
        set_(self, "_override_map", over)
        set_(self, "_chunks", {})
        set_(self, "_years", {})
        set_(self, "_always", always)
        set_(self, "_workday_spec", workday_hours)

    @staticmethod
    def _workday_windows(week: _Week, spec: object, problems: list[ErrorDetail]) -> tuple[Window, ...]:
        if spec is None:
            return week[0] or next((w for w in week if w), ())
        if isinstance(spec, str) and spec.strip().lower() in DAY_NAMES:
            day = spec.strip().lower()
            if not week[DAY_NAMES.index(day)]:
                problems.append(
                    ErrorDetail("workday_hours", f"{day} has no hours, so make-up workdays would be closed")
                )
            return week[DAY_NAMES.index(day)]
        if isinstance(spec, str) and "-" not in spec:
            problems.append(
                ErrorDetail(
                    "workday_hours",
                    f"expected a weekday name such as 'mon' or a list of windows, got {spec!r}",
                )
            )
            return ()
        return parse_windows(spec, "workday_hours", problems) or ()

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
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from its data form (as [`to_dict`][ticketkit.BusinessCalendar.to_dict] writes it).

        Holidays in data form are ISO dates and ``{"country": "CN", "subdiv": ...}`` items.

        Raises:
            ValidationError: unknown keys, a missing ``tz`` or ``hours``, and every problem
                the constructor finds, each with its path.

        Examples:
            >>> cal = BusinessCalendar.from_dict(
            ...     {
            ...         "tz": "Asia/Shanghai",
            ...         "hours": {"mon-fri": ["09:00-18:00"]},
            ...         "holidays": [{"country": "CN"}],
            ...     }
            ... )
            >>> BusinessCalendar.from_dict(cal.to_dict()) == cal
            True
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one("", f"expected a mapping for a calendar, got {data!r}")
        problems = [
            ErrorDetail(str(k), f"unknown key {k!r} (expected one of: {', '.join(sorted(cls._FIELDS))})")
            for k in data
            if k not in cls._FIELDS
        ]
        problems += [ErrorDetail(k, "missing required key") for k in ("tz", "hours") if k not in data]
        if problems:
            raise ValidationError(problems)
        args = {k: v for k, v in data.items() if v is not None or k in ("holidays", "overrides")}
        return cls(**args)

    def to_dict(self) -> dict[str, Any]:
        """The data form: plain JSON-ready values that `from_dict` reads back.

        Examples:
            >>> BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"], "sat": "10:00-14:00"}).to_dict()
            {'tz': 'UTC', 'hours': {'mon-fri': ['09:00-17:00'], 'sat': ['10:00-14:00']}}
        """
        out: dict[str, Any] = {"tz": self.tz.key, "hours": format_weekly(self.hours)}
        hol: list[Any] = []
        for src in self.sources:
            dump = getattr(src, "to_dict", None)
            if dump is None:
                raise ValidationError.one(
                    "holidays", f"the holiday source {src!r} has no data form (give it a to_dict method)"
                )
            hol.append(dump())
        hol += [d.isoformat() for d in sorted(self.holidays)]
        if hol:
            out["holidays"] = hol
        if self.workdays:
            out["workdays"] = [d.isoformat() for d in sorted(self.workdays)]
        if self.overrides:
            out["overrides"] = {d.isoformat(): format_windows(w) for d, w in self.overrides}
        if self.name:
            out["name"] = self.name
        if self._workday_spec is not None:
            spec = self._workday_spec
            out["workday_hours"] = spec if isinstance(spec, str) else format_windows(self.workday_hours)
        return out

    def __repr__(self) -> str:
        parts = [f"tz={self.tz.key!r}", f"hours={format_weekly(self.hours)!r}"]
        if self.sources or self.holidays:
            parts.append(f"holidays=<{len(self.sources)} source(s), {len(self.holidays)} date(s)>")
        if self.workdays:
            parts.append(f"workdays=<{len(self.workdays)} date(s)>")
        if self.overrides:
            parts.append(f"overrides=<{len(self.overrides)} date(s)>")
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        return f"BusinessCalendar({', '.join(parts)})"

    # ------------------------------------------------------------------ the schedule

    def _year_dates(self, year: int) -> YearDates:
        cached = self._years.get(year)
        if cached is None:
            hol: set[date] = set()
            work: set[date] = set()
            for src in self.sources:
                h, w = src.dates_in(year)
                hol |= h
                work |= w
            cached = (frozenset(hol), frozenset(work - hol))
            self._years[year] = cached
        return cached

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The windows of a date as (start, end) seconds after its local midnight.

        An end past 86400 runs into the next day. Useful to draw or audit a schedule.

        Examples:
            >>> from datetime import date
            >>> cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-12:00"]}, workdays=["2025-01-26"])
            >>> cal.windows_on(date(2025, 1, 26)), cal.windows_on(date(2025, 1, 25))
            (((32400, 43200),), ())
        """
        over = self._override_map.get(day)
        if over is not None:
            return over
        if day in self.workdays:
            return self.workday_hours
        if day in self.holidays:
            return ()
        if self.sources:
            hol, work = self._year_dates(day.year)
            if day in hol:
                return ()
            if day in work:
                return self.workday_hours
        return self.hours[day.weekday()]

    def _build(self, k: int) -> _Chunk:
        lo_s = k * CHUNK_S
        hi_s = lo_s + CHUNK_S
        lo, hi = lo_s * _US, hi_s * _US
        first = lo_s // DAY + _EPOCH_ORD - 2
        last = hi_s // DAY + _EPOCH_ORD + 1
        tz = self.tz
        raw: list[tuple[int, int]] = []
        for ordinal in range(max(first, _MIN_ORD), min(last, _MAX_ORD) + 1):
            windows = self.windows_on(date.fromordinal(ordinal))
            for ws, we in windows:
                s = _wall_to_us(tz, ordinal, ws)
                e = _wall_to_us(tz, ordinal, we)
                s = max(s, lo)
                e = min(e, hi)
                if s < e:
                    raw.append((s, e))
        raw.sort()
        merged: list[tuple[int, int]] = []
        for s, e in raw:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        chunk = _Chunk(lo, hi, merged)
        if len(self._chunks) >= _MAX_CHUNKS:  # bound memory when asked about scattered years
            self._chunks.pop(next(iter(self._chunks)), None)
        self._chunks[k] = chunk
        return chunk

    def _chunk(self, k: int) -> _Chunk:
        c = self._chunks.get(k)
        return c if c is not None else self._build(k)

    def _out(self, us: int) -> datetime:
        try:
            if -_FLOAT_EXACT < us < _FLOAT_EXACT:
                # Exact: |us| < 2**52 (before 2112), so us / 1e6 rounds to the right microsecond.
                return datetime.fromtimestamp(us / 1e6, self.tz)
            seconds, micro = divmod(us, _US)
            return datetime.fromtimestamp(seconds, self.tz).replace(microsecond=micro)
        except (OverflowError, ValueError, OSError):
            raise ValidationError.one("", "the result falls outside the years 1-9999") from None

    def _exhausted(self, k: int) -> ValidationError:
        if not _K_MIN <= k <= _K_MAX:
            return ValidationError.one("", "the result falls outside the years 1-9999")
        years = _HORIZON * CHUNK_S // (365 * DAY)
        return ValidationError.one(
            "", f"the calendar {self.name or self.tz.key!r} has no open time within {years} years"
        )

    # ------------------------------------------------------------------ arithmetic

    def _elapsed_in(self, c: _Chunk, t: int) -> int:
        i = bisect_right(c.starts, t) - 1
        if i < 0:
            return 0
        e = c.ends[i]
        return c.cum[i] + (t if t < e else e) - c.starts[i]

    def _add_us(self, t: int, d: int) -> int:
        k = t // CHUNK_US
        c = self._chunks.get(k) or self._build(k)
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
            if empty > _HORIZON or not _K_MIN < k < _K_MAX:
                raise self._exhausted(k)
            k += 1
            c = self._chunks.get(k) or self._build(k)
        j = bisect_left(c.cum_end, target)
        return c.starts[j] + target - c.cum[j]

    def _subtract_us(self, t: int, d: int) -> int:
        k = t // CHUNK_US
        c = self._chunks.get(k) or self._build(k)
        target = self._elapsed_in(c, t) - d
        empty = 0
        while target < 0:
            empty = empty + 1 if not c.total else 0
            if empty > _HORIZON or not _K_MIN < k < _K_MAX:
                raise self._exhausted(k)
            k -= 1
            c = self._chunks.get(k) or self._build(k)
            target += c.total
        j = bisect_right(c.cum, target) - 1
        return c.starts[j] + target - c.cum[j]

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
        t = _to_us(start, "start")
        if type(duration) is timedelta:
            d = (duration.days * DAY + duration.seconds) * _US + duration.microseconds
        else:
            d = _dur_us(duration)
        if d > 0:
            u = self._add_us(t, d)
            if -_FLOAT_EXACT < u < _FLOAT_EXACT:
                return datetime.fromtimestamp(u / 1e6, self.tz)
            return self._out(u)
        if d < 0:
            return self._out(self._subtract_us(t, -d))
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
        t = _to_us(end, "end")
        d = _dur_us(duration)
        if d > 0:
            return self._out(self._subtract_us(t, d))
        if d < 0:
            return self._out(self._add_us(t, -d))
        return end.astimezone(self.tz)

    def _between_us(self, a: int, b: int) -> int:
        ka = a // CHUNK_US
        kb = b // CHUNK_US
        ca = self._chunks.get(ka) or self._build(ka)
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
        total = ca.total - self._elapsed_in(ca, a)
        for k in range(ka + 1, kb):
            total += self._chunk(k).total
        return total + self._elapsed_in(self._chunk(kb), b)

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
        # _to_us and the one-chunk case of _between_us, inlined: this is the hot path.
        try:
            o = a.utcoffset()
            off = _OFFSETS.get(o)
            if off is None:
                off = _offset_us(o, a, "a")
            ta = (
                ((a.toordinal() - _EPOCH_ORD) * DAY + a.hour * 3600 + a.minute * 60 + a.second) * _US
                + a.microsecond
                - off
            )
        except AttributeError:
            ta = _to_us(a, "a")
        try:
            o = b.utcoffset()
            off = _OFFSETS.get(o)
            if off is None:
                off = _offset_us(o, b, "b")
            tb = (
                ((b.toordinal() - _EPOCH_ORD) * DAY + b.hour * 3600 + b.minute * 60 + b.second) * _US
                + b.microsecond
                - off
            )
        except AttributeError:
            tb = _to_us(b, "b")
        if tb < ta:
            return _ONE_US * -self._between_us(tb, ta)
        k = ta // CHUNK_US
        c = self._chunks.get(k)
        if c is None or tb >= c.hi:
            return _ONE_US * self._between_us(ta, tb)
        starts, ends, cum = c.starts, c.ends, c.cum
        i = bisect_right(starts, tb) - 1
        if i < 0:
            return _ZERO
        e = ends[i]
        fb = cum[i] + (tb if tb < e else e) - starts[i]
        i = bisect_right(starts, ta, 0, i + 1) - 1
        if i < 0:
            return _ONE_US * fb
        e = ends[i]
        return _ONE_US * (fb - cum[i] - (ta if ta < e else e) + starts[i])

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
        t = _to_us(at, "at")
        k = t // CHUNK_US
        c = self._chunks.get(k) or self._build(k)
        i = bisect_right(c.starts, t) - 1
        return i >= 0 and t < c.ends[i]

    def next_open(self, at: datetime) -> datetime:
        """The earliest instant at or after ``at`` when the business is open (``at`` itself if open).

        Raises:
            ValidationError: the calendar has no open time in the next decades.

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.next_open(datetime(2025, 3, 8, 12, tzinfo=timezone.utc)).isoformat()
            '2025-03-10T09:00:00+00:00'
        """
        t = _to_us(at, "at")
        k = t // CHUNK_US
        c = self._chunk(k)
        i = bisect_right(c.starts, t) - 1
        if i >= 0 and t < c.ends[i]:
            return at.astimezone(self.tz)
        if i + 1 < len(c.starts):
            return self._out(c.starts[i + 1])
        for _ in range(_HORIZON):
            k += 1
            if k > _K_MAX:
                break
            c = self._chunk(k)
            if c.starts:
                return self._out(c.starts[0])
        raise self._exhausted(k)

    def next_close(self, at: datetime) -> datetime | None:
        """The earliest instant at or after ``at`` when the business is closed (``at`` itself if closed).

        Returns None when the calendar never closes (24/7 with no holidays).

        Examples:
            >>> from datetime import datetime, timezone
            >>> cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
            >>> cal.next_close(datetime(2025, 3, 3, 10, tzinfo=timezone.utc)).isoformat()
            '2025-03-03T17:00:00+00:00'
            >>> print(BusinessCalendar.always_open().next_close(datetime(2025, 3, 3, tzinfo=timezone.utc)))
            None
        """
        t = _to_us(at, "at")
        if self._always:
            return None
        k = t // CHUNK_US
        c = self._chunk(k)
        i = bisect_right(c.starts, t) - 1
        if not (i >= 0 and t < c.ends[i]):
            return at.astimezone(self.tz)
        end = c.ends[i]
        for _ in range(_HORIZON):
            if end != c.hi:
                return self._out(end)
            k += 1
            if k > _K_MAX:
                break
            c = self._chunk(k)
            if not c.starts or c.starts[0] != end:
                return self._out(end)
            end = c.ends[0]
        return None

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
        ta = _to_us(a, "a")
        tb = _to_us(b, "b")
        out: list[tuple[int, int]] = []
        if tb > ta:
            for k in range(ta // CHUNK_US, (tb - 1) // CHUNK_US + 1):
                c = self._chunk(k)
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
        return [(self._out(s), self._out(e)) for s, e in out]
