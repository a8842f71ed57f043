"""Reading a business calendar's definition, and its data form both ways.

Every problem is collected with its path, so a bad definition is reported all at once;
a calendar that cannot be written exactly as data refuses with the reason.
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketkit.calendar._holidays import (
    CountryHolidays,
    HolidaySource,
    YearDates,
    country_holidays,
    is_holidays_object,
    wrap_holidays_object,
)
from ticketkit.calendar._known import BEYOND_KNOWN, NO_LIMIT, Limit
from ticketkit.calendar._protocol import Calendar
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
from ticketkit.errors import ErrorDetail, ValidationError, bounded_repr, join_path

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []

C = TypeVar("C")
FIELDS = frozenset(
    {"tz", "hours", "holidays", "workdays", "overrides", "name", "workday_hours", "beyond_known"}
)
COMBINED_FIELDS = frozenset({"all_of", "any_of", "tz", "name"})
_COUNTRY_KEYS = ("country", "subdiv", "categories", "language", "published")
Week = tuple[tuple[Window, ...], ...]


def zone(value: object, problems: list[ErrorDetail]) -> ZoneInfo | None:
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
        problems.append(ErrorDetail("tz", f"unknown time zone {bounded_repr(value)}; {hint}"))
        return None
    problems.append(
        ErrorDetail("tz", f"expected an IANA time zone name or a ZoneInfo, got {bounded_repr(value)}")
    )
    return None


def date_set(value: object, path: str, problems: list[ErrorDetail]) -> frozenset[date]:
    if value is None:
        return frozenset()
    if isinstance(value, str | date) or not isinstance(value, Iterable):
        problems.append(
            ErrorDetail(path, f"expected a list of dates such as ['2025-01-26'], got {bounded_repr(value)}")
        )
        return frozenset()
    out: set[date] = set()
    for i, item in enumerate(value):
        d = parse_date(item, join_path(path, i), problems)
        if d is not None:
            out.add(d)
    return frozenset(out)


def holiday_items(
    value: object, problems: list[ErrorDetail]
) -> tuple[frozenset[date], tuple[HolidaySource, ...]]:
    """Split ``holidays=`` into explicit dates and sources (countries, ``holidays`` objects)."""
    if value is None:
        return frozenset(), ()
    before = len(problems)
    single = holiday_source(value, "holidays", problems)
    if len(problems) > before:
        return frozenset(), ()
    if single is not None:
        return frozenset(), (single,)
    if isinstance(value, str | date) or not isinstance(value, Iterable):
        problems.append(
            ErrorDetail(
                "holidays",
                f"expected dates, ticketkit.country_holidays(...), a holidays-package object or a list of "
                f"those, got {bounded_repr(value)}",
            )
        )
        return frozenset(), ()
    dates: set[date] = set()
    sources: list[HolidaySource] = []
    for i, item in enumerate(value):
        path = f"holidays[{i}]"
        src = holiday_source(item, path, problems)
        if src is not None:
            sources.append(src)
        elif not (isinstance(item, Mapping) and "country" in item):
            d = parse_date(item, path, problems)
            if d is not None:
                dates.add(d)
    return frozenset(dates), tuple(sources)


def holiday_source(value: object, path: str, problems: list[ErrorDetail]) -> HolidaySource | None:
    """A source from a country, a ``holidays`` object or ``{"country": ...}``; None for anything else."""
    if isinstance(value, CountryHolidays):
        return value
    if is_holidays_object(value):
        return wrap_holidays_object(value)
    if isinstance(value, Mapping) and "country" in value:
        extra = set(value) - set(_COUNTRY_KEYS)
        if extra:
            expected = ", ".join(repr(k) for k in _COUNTRY_KEYS)
            problems.append(
                ErrorDetail(path, f"unknown key(s) {sorted(map(str, extra))} (expected {expected})")
            )
            return None
        try:
            return country_holidays(
                value["country"],
                value.get("subdiv"),
                categories=value.get("categories"),
                language=value.get("language"),
                published=value.get("published"),
            )
        except ValidationError as exc:
            renamed = {"code": "country"}
            problems.extend(
                ErrorDetail(join_path(path, renamed.get(e.path, e.path)), e.message) for e in exc.errors
            )
            return None
    if isinstance(value, HolidaySource):
        return value
    return None


def workday_windows(week: Week, spec: object, problems: list[ErrorDetail]) -> tuple[Window, ...]:
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


def overrides_map(value: object, problems: list[ErrorDetail]) -> dict[date, tuple[Window, ...]]:
    over: dict[date, tuple[Window, ...]] = {}
    if value is None:
        return over
    if not isinstance(value, Mapping):
        problems.append(
            ErrorDetail("overrides", f"expected a mapping of dates to windows, got {bounded_repr(value)}")
        )
        return over
    for key, spec in value.items():
        kpath = join_path("overrides", str(key))
        d = parse_date(key, kpath, problems)
        windows = parse_windows(spec, kpath, problems) if spec else ()
        if d is not None and d in over:
            problems.append(ErrorDetail(kpath, f"{d.isoformat()} is given twice"))
        elif d is not None and windows is not None:
            over[d] = windows
    return over


def parse_definition(
    *,
    tz: object,
    hours: object,
    holidays: object,
    workdays: object,
    overrides: object,
    name: object,
    workday_hours: object,
    beyond_known: object,
) -> dict[str, Any]:
    """A plain calendar's field values from its definition, or every problem at once."""
    problems: list[ErrorDetail] = []
    tzinfo = zone(tz, problems)
    week = parse_weekly(hours, "hours", problems)
    hol_dates, sources = holiday_items(holidays, problems)
    work = date_set(workdays, "workdays", problems)
    over = overrides_map(overrides, problems)
    if not isinstance(name, str):
        problems.append(ErrorDetail("name", f"expected a string, got {name!r}"))
    if beyond_known not in BEYOND_KNOWN:
        problems.append(
            ErrorDetail("beyond_known", f"expected one of 'warn', 'error', 'assume', got {beyond_known!r}")
        )
    wh: tuple[Window, ...] = ()
    if week is not None:
        if week == ((),) * 7:
            problems.append(ErrorDetail("hours", "no open window on any weekday"))
        wh = workday_windows(week, workday_hours, problems)
    if problems:
        raise ValidationError(problems)
    assert week is not None
    return {
        "tz": tzinfo,
        "hours": week,
        "holidays": hol_dates,
        "sources": sources,
        "workdays": work,
        "overrides": tuple(sorted(over.items())),
        "name": name,
        "workday_hours": wh,
        "beyond_known": beyond_known,
        "_override_map": over,
        "_always": week == (((0, DAY),),) * 7 and not hol_dates and not sources and not over,
        "_workday_spec": workday_hours,
    }


def from_dict(
    data: Mapping[str, Any],
    plain: Callable[..., C],
    combined: Callable[[str, list[C], Any, Any], C],
) -> C:
    """A calendar (plain or combined) from its data form, made by ``plain(**args)`` or
    ``combined(how, parts, tz, name)``."""
    if not isinstance(data, Mapping):
        raise ValidationError.one("", f"expected a mapping for a calendar, got {data!r}")
    how = [k for k in ("all_of", "any_of") if k in data]
    fields = COMBINED_FIELDS if how else FIELDS
    problems = [
        ErrorDetail(str(k), f"unknown key {k!r} (expected one of: {', '.join(sorted(fields))})")
        for k in data
        if k not in fields
    ]
    if len(how) > 1:
        problems.append(ErrorDetail("any_of", "give either 'all_of' or 'any_of', not both"))
    if not how:
        problems += [ErrorDetail(k, "missing required key") for k in ("tz", "hours") if k not in data]
    if problems:
        raise ValidationError(problems)
    if not how:
        return plain(**{k: v for k, v in data.items() if v is not None or k in ("holidays", "overrides")})
    key = how[0]
    items = data[key]
    if not isinstance(items, list | tuple) or len(items) < 2:
        raise ValidationError.one(key, f"expected a list of two or more calendars, got {items!r}")
    parts: list[C] = []
    for i, item in enumerate(items):
        try:
            parts.append(from_dict(item, plain, combined))
        except ValidationError as exc:
            problems.extend(ErrorDetail(join_path(join_path(key, i), e.path), e.message) for e in exc.errors)
    if problems:
        raise ValidationError(problems)
    return combined(key, parts, data.get("tz"), data.get("name", ""))


def to_dict(cal: Calendar) -> dict[str, Any]:
    """The data form of a calendar; refuses (ValidationError) what cannot be written exactly."""
    if cal.combine is not None:
        out: dict[str, Any] = {cal.combine: [to_dict(p) for p in cal.parts]}
        if cal.tz.key != cal.parts[0].tz.key:
            out["tz"] = cal.tz.key
        if cal.name:
            out["name"] = cal.name
        return out
    out = {"tz": cal.tz.key, "hours": format_weekly(cal.hours)}
    hol: list[Any] = []
    for src in cal.sources:
        dump = getattr(src, "to_dict", None)
        if dump is None:
            raise ValidationError.one(
                "holidays", f"the holiday source {src!r} has no data form (give it a to_dict method)"
            )
        hol.append(dump())
    hol += [d.isoformat() for d in sorted(cal.holidays)]
    if hol:
        out["holidays"] = hol
    if cal.workdays:
        out["workdays"] = [d.isoformat() for d in sorted(cal.workdays)]
    if cal.overrides:
        out["overrides"] = {d.isoformat(): format_windows(w) for d, w in cal.overrides}
    if cal.name:
        out["name"] = cal.name
    spec = cal._workday_spec
    if spec is not None:
        out["workday_hours"] = spec if isinstance(spec, str) else format_windows(cal.workday_hours)
    if cal.beyond_known != "warn":
        out["beyond_known"] = cal.beyond_known
    return out


def install(
    cal: object,
    fields: dict[str, Any],
    *,
    combine: str | None,
    parts: tuple[Calendar, ...],
    limits: tuple[Limit, ...],
) -> None:
    """Set a new calendar's fields (it is frozen) and empty caches."""
    set_ = object.__setattr__
    for key, value in fields.items():
        set_(cal, key, value)
    set_(cal, "combine", combine)
    set_(cal, "parts", parts)
    set_(cal, "_chunks", {})
    set_(cal, "_years", {})
    set_(cal, "_bdays", {})
    set_(cal, "_limits", limits)
    set_(cal, "_warned", set())
    set_(cal, "_limit_us", min((lim.us for lim in limits), default=NO_LIMIT))


def describe(cal: Calendar) -> str:
    """The calendar's repr: its definition in short."""
    if cal.combine is not None:
        head = f"name={cal.name!r}, " if cal.name else ""
        return f"BusinessCalendar({head}{cal.combine}={list(cal.parts)!r})"
    parts = [f"tz={cal.tz.key!r}", f"hours={format_weekly(cal.hours)!r}"]
    if cal.sources or cal.holidays:
        parts.append(f"holidays=<{len(cal.sources)} source(s), {len(cal.holidays)} date(s)>")
    if cal.workdays:
        parts.append(f"workdays=<{len(cal.workdays)} date(s)>")
    if cal.overrides:
        parts.append(f"overrides=<{len(cal.overrides)} date(s)>")
    if cal.name:
        parts.insert(0, f"name={cal.name!r}")
    return f"BusinessCalendar({', '.join(parts)})"


def year_dates(cal: Calendar, year: int) -> YearDates:
    """The holidays and make-up workdays of all the calendar's sources in ``year``, kept."""
    hol: set[date] = set()
    work: set[date] = set()
    for src in cal.sources:
        h, w = src.dates_in(year)
        hol |= h
        work |= w
    cached = (frozenset(hol), frozenset(work - hol))
    cal._years[year] = cached
    return cached


def windows_on(cal: Calendar, day: date) -> tuple[Window, ...]:
    """A plain calendar's windows on a date: override, make-up day, holiday, source, weekday."""
    over = cal._override_map.get(day)
    if over is not None:
        return over
    if day in cal.workdays:
        return cal.workday_hours
    if day in cal.holidays:
        return ()
    if cal.sources:
        hol, work = cal._years.get(day.year) or year_dates(cal, day.year)
        if day in hol:
            return ()
        if day in work:
            return cal.workday_hours
    return cal.hours[day.weekday()]
