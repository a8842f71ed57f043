"""Holiday sources for `BusinessCalendar`: countries and ``holidays`` objects.

A holiday source answers one question per year: which dates are holidays, and which
weekend dates are official make-up working days (China's 调休). The ``holidays``
package is imported only when a source is made, never by ``import ticketkit``.

Holiday names are in the language asked for (English unless told otherwise), never in
the process locale's; dates inside names the package builds (China's "Day off
(substituted from ...)") are ISO dates.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, Protocol, runtime_checkable

import attrs

from ticketkit.errors import ErrorDetail, ValidationError, join_path

__all__ = ["CountryHolidays", "country_holidays"]

YearDates = tuple[frozenset[date], frozenset[date]]
# (year, holidays, make-up workdays) of a year published by hand.
PublishedYear = tuple[int, frozenset[date], frozenset[date]]
_LOAD_LOCK = threading.RLock()
_EMPTY: YearDates = (frozenset(), frozenset())
# Countries whose holidays and make-up workdays are set by a yearly notice, so the
# ``holidays`` package's rules are only a guess for years it has no notice for.
_ANNOUNCED_YEARLY = frozenset({"CN"})
_DEFAULT_CATEGORIES = ("public",)


@runtime_checkable
class HolidaySource(Protocol):
    """Anything that can say, for a year, its holidays and its make-up working days.

    A source may also have a ``known_until`` attribute (a date, or None): the last date
    its data is official for; a calendar acts on its ``beyond_known`` setting past it.
    """

    def dates_in(self, year: int) -> YearDates:
        """``(holidays, make-up workdays)`` falling in ``year``."""


def _year_dates(obj: Any, year: int) -> YearDates:
    """The holidays and weekend workdays of a ``holidays`` object that fall in ``year``.

    The package fills a year (holidays and ``weekend_workdays``) only when something in it
    is looked up, and ``weekend_workdays`` also holds dates of other years: so look up
    1 January first, then keep only that year's dates.
    """
    with _LOAD_LOCK:  # filling a year mutates the object; one thread at a time
        _ = date(year, 1, 1) in obj
        hol = frozenset(d for d in list(obj) if d.year == year)
        work = frozenset(d for d in list(getattr(obj, "weekend_workdays", ())) if d.year == year)
    return hol, work


class _IsoDates:
    """A holidays object's translation function that writes dates inside names as ISO dates.

    The package formats the date in "Day off (substituted from %s)" with a translated
    format (``%m/%d/%Y`` in American English); every other text passes through.
    """

    def __init__(self, tr: Callable[[str], str], date_format: str) -> None:
        self.tr = tr
        self.date_format = date_format

    def __call__(self, text: str) -> str:
        return "%Y-%m-%d" if text == self.date_format else self.tr(text)


def _english(supported: Iterable[str], default: str) -> str:
    langs = list(supported)
    if "en_US" in langs:
        return "en_US"
    return next((lang for lang in langs if lang.startswith("en")), default)


def _known_until(obj: Any, code: str, published: tuple[PublishedYear, ...]) -> date | None:
    """The last date whose holidays are official: the last notice year the package has, then
    the published years that follow it without a gap; None for countries set by rules."""
    if code not in _ANNOUNCED_YEARLY:
        return None
    notices = set(getattr(obj, "special_public_holidays", None) or ())
    given = {y for y, _, _ in published}
    if not notices and not given:
        return None
    last = max(notices) if notices else min(given) - 1
    while last + 1 in given:
        last += 1
    return date(last, 12, 31)


@attrs.frozen(kw_only=True)
class CountryHolidays:
    """A country's public holidays and official make-up working days, loaded per year on demand.

    Made by `country_holidays`; pass it as ``holidays=`` to `BusinessCalendar`, alone or
    in a list with extra dates. Years are loaded from the ``holidays`` package the first
    time a calendar touches them.

    Attributes:
        code: ISO 3166-1 alpha-2 country code, e.g. ``"CN"``.
        subdiv: a subdivision code the ``holidays`` package knows, or None.
        categories: the holiday categories that close the calendar, sorted (``("public",)``
            by default; Hong Kong's general holidays are ``("optional", "public")``).
        language: the language of holiday names (``"zh_CN"``), or None for English.
        published: years given by hand as ``(year, holidays, make-up workdays)``; they
            replace the package's dates for those years.
        known_until: the last date the dates are official for (the last yearly notice for
            China), or None when the country's holidays follow fixed rules.

    Examples:
        >>> from datetime import date
        >>> cn = country_holidays("CN")
        >>> hol, work = cn.dates_in(2025)
        >>> date(2025, 1, 29) in hol, date(2025, 1, 26) in work
        (True, True)
        >>> cn.known_until
        datetime.date(2026, 12, 31)
    """

    code: str
    subdiv: str | None = None
    categories: tuple[str, ...] = _DEFAULT_CATEGORIES
    language: str | None = None
    published: tuple[PublishedYear, ...] = ()
    known_until: date | None = attrs.field(default=None, eq=False)
    _resolved_language: str = attrs.field(default="en_US", eq=False, repr=False, alias="_resolved_language")
    _cache: dict[int, YearDates] = attrs.field(factory=dict, eq=False, repr=False, alias="_cache")
    _obj: list[Any] = attrs.field(factory=list, eq=False, repr=False, alias="_obj")

    def _holidays_object(self) -> Any:
        with _LOAD_LOCK:
            if not self._obj:
                self._obj.append(
                    _make_object(self.code, self.subdiv, self.categories, self._resolved_language)
                )
            return self._obj[0]

    def dates_in(self, year: int) -> YearDates:
        """The holidays and the make-up working days in ``year``.

        Examples:
            >>> from datetime import date
            >>> date(2025, 10, 1) in country_holidays("CN").dates_in(2025)[0]
            True
        """
        cached = self._cache.get(year)
        if cached is None:
            given = next(((h, w) for y, h, w in self.published if y == year), None)
            if given is not None:
                cached = (given[0], given[1] - given[0])
            elif 1 <= year <= 9999:
                cached = _year_dates(self._holidays_object(), year)
            else:
                cached = _EMPTY
            self._cache[year] = cached
        return cached

    def names(self, first: date, last: date) -> dict[date, str]:
        """The holidays from ``first`` to ``last`` (both included) with their names, in date order.

        Names are in `language` (English by default), whatever the process locale.

        Examples:
            >>> from datetime import date
            >>> country_holidays("CN").names(date(2025, 2, 3), date(2025, 2, 4))
            {datetime.date(2025, 2, 3): 'Day off (substituted from 2025-01-26)', datetime.date(2025, 2, 4): 'Day off (substituted from 2025-02-08)'}
            >>> country_holidays("CN", language="zh_CN").names(date(2025, 1, 29), date(2025, 1, 29))
            {datetime.date(2025, 1, 29): '春节'}
        """  # noqa: E501  (doctest output is one line)
        obj = self._holidays_object()
        out: dict[date, str] = {}
        for year in range(first.year, last.year + 1):
            hol, _ = self.dates_in(year)
            with _LOAD_LOCK:
                for d in sorted(hol):
                    if first <= d <= last:
                        out[d] = str(
                            obj.get(d) or ("节假日" if self._resolved_language[:2] == "zh" else "Holiday")
                        )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``{"country": code}`` plus the parts that are not their defaults.

        Examples:
            >>> country_holidays("CN").to_dict()
            {'country': 'CN'}
            >>> country_holidays("HK", categories=["public", "optional"], language="zh_HK").to_dict()
            {'country': 'HK', 'categories': ['optional', 'public'], 'language': 'zh_HK'}
        """
        out: dict[str, Any] = {"country": self.code}
        if self.subdiv is not None:
            out["subdiv"] = self.subdiv
        if self.categories != _DEFAULT_CATEGORIES:
            out["categories"] = list(self.categories)
        if self.language is not None:
            out["language"] = self.language
        if self.published:
            out["published"] = {
                str(y): {
                    "holidays": [d.isoformat() for d in sorted(h)],
                    "workdays": [d.isoformat() for d in sorted(w)],
                }
                for y, h, w in self.published
            }
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its data form: the holidays object inside does not pickle whole.
        return (_from_spec, (self.to_dict(),))


def _from_spec(spec: dict[str, Any]) -> CountryHolidays:
    return country_holidays(
        spec["country"],
        spec.get("subdiv"),
        categories=spec.get("categories"),
        language=spec.get("language"),
        published=spec.get("published"),
    )


def _make_object(code: str, subdiv: str | None, categories: tuple[str, ...], language: str) -> Any:
    import holidays  # noqa: PLC0415  (heavy; only when a calendar first needs it)

    obj: Any = holidays.country_holidays(code, subdiv=subdiv, categories=categories, language=language)
    fmt = getattr(obj, "substituted_date_format", None)
    if isinstance(fmt, str):
        obj.tr = _IsoDates(obj.tr, fmt)
    return obj


def _parse_published(value: object, problems: list[ErrorDetail]) -> tuple[PublishedYear, ...]:
    """``{2027: {"holidays": [...], "workdays": [...]}}`` as sorted ``(year, holidays, workdays)``."""
    from ticketkit.calendar._spec import parse_date  # noqa: PLC0415  (keeps this module light)

    if value is None:
        return ()
    if not isinstance(value, Mapping):
        problems.append(
            ErrorDetail(
                "published", f"expected {{year: {{'holidays': [...], 'workdays': [...]}}}}, got {value!r}"
            )
        )
        return ()
    out: list[PublishedYear] = []
    for key, spec in value.items():
        path = join_path("published", str(key))
        try:
            year = int(key)
        except (TypeError, ValueError):
            problems.append(ErrorDetail(path, f"expected a year such as 2027, got {key!r}"))
            continue
        if not isinstance(spec, Mapping) or set(spec) - {"holidays", "workdays"}:
            problems.append(
                ErrorDetail(path, f"expected {{'holidays': [...], 'workdays': [...]}}, got {spec!r}")
            )
            continue
        parts: list[frozenset[date]] = []
        for part in ("holidays", "workdays"):
            items = spec.get(part) or []
            dates: set[date] = set()
            for i, item in enumerate(items if isinstance(items, list | tuple) else [items]):
                d = parse_date(item, join_path(join_path(path, part), i), problems)
                if d is not None and d.year != year:
                    problems.append(ErrorDetail(join_path(join_path(path, part), i), f"{d} is not in {year}"))
                elif d is not None:
                    dates.add(d)
            parts.append(frozenset(dates))
        out.append((year, parts[0], parts[1]))
    return tuple(sorted(out, key=lambda p: p[0]))


def _check_options(
    holidays: Any,
    *,
    code: str,
    subdiv: object,
    categories: object,
    language: object,
    problems: list[ErrorDetail],
) -> tuple[tuple[str, ...], str]:
    """Checks subdivision, categories and language against what the package knows of ``code``."""
    if subdiv is not None:
        subs = holidays.list_supported_countries()[code]
        if not isinstance(subdiv, str) or subdiv not in subs:
            listing = ", ".join(subs[:20]) + (", ..." if len(subs) > 20 else "") if subs else "none"
            problems.append(
                ErrorDetail("subdiv", f"unknown subdivision {subdiv!r} of {code} (known: {listing})")
            )
    cls = type(holidays.country_holidays(code))
    cats: tuple[str, ...] = _DEFAULT_CATEGORIES
    if categories is not None:
        known = tuple(cls.supported_categories)
        if isinstance(categories, str) or not isinstance(categories, Iterable):
            problems.append(ErrorDetail("categories", f"expected a list of categories, got {categories!r}"))
        else:
            cats = tuple(sorted({str(c).strip().lower() for c in categories}))
            bad = [c for c in cats if c not in known]
            if bad or not cats:
                problems.append(
                    ErrorDetail(
                        "categories", f"unknown categories {bad} of {code} (known: {', '.join(known)})"
                    )
                )
    langs = tuple(cls.supported_languages)
    resolved = _english(langs, cls.default_language)
    if language is not None:
        if language not in langs:
            problems.append(
                ErrorDetail("language", f"{code} has no names in {language!r} (known: {', '.join(langs)})")
            )
        else:
            resolved = str(language)
    return cats, resolved


def _parse_years(years: Iterable[int] | None, problems: list[ErrorDetail]) -> list[int]:
    if years is None:
        return []
    try:
        year_list = [int(y) for y in years]
    except (TypeError, ValueError):
        problems.append(ErrorDetail("years", f"expected a list of years, got {years!r}"))
        return []
    problems.extend(
        ErrorDetail(f"years[{i}]", f"year {y} is outside 1-9999")
        for i, y in enumerate(year_list)
        if not 1 <= y <= 9999
    )
    return year_list


# One piece: 81 lines only because of its docstring (every argument, with examples); the body
# checks the arguments and builds the value.
def country_holidays(
    code: str,
    subdiv: str | None = None,
    years: Iterable[int] | None = None,
    *,
    categories: Iterable[str] | None = None,
    language: str | None = None,
    published: Mapping[int | str, Mapping[str, Any]] | None = None,
) -> CountryHolidays:
    """Public holidays and official make-up working days of a country, for ``holidays=``.

    Uses the ``holidays`` package. Years load lazily as a calendar reaches them; ``years``
    loads some at once (to pay the cost up front). China announces each year's holidays
    and make-up workdays in the autumn before; for a year the package has no notice for
    yet, its dates are a rule-based guess, and a calendar warns (see ``beyond_known``).
    Add a newly announced year with ``published``.

    Args:
        code: ISO 3166-1 alpha-2 country code such as ``"CN"``, ``"US"``, ``"DE"``.
        subdiv: a subdivision (state, province) code, if the country has them.
        years: years to load now.
        categories: holiday categories that close the calendar (default ``["public"]``);
            Hong Kong's general holidays, when offices and banks close, are
            ``["public", "optional"]``.
        language: the language of holiday names, such as ``"zh_CN"``; default English.
            Never taken from the process locale.
        published: whole years given by hand, replacing the package's dates for them:
            ``{2027: {"holidays": ["2027-01-01", ...], "workdays": ["2027-02-07", ...]}}``.

    Raises:
        ValidationError: an unknown country, subdivision, category or language, or bad
            published years (paths ``code``, ``subdiv``, ``categories``, ``language``,
            ``published.2027.holidays[0]``).

    Examples:
        >>> from datetime import date
        >>> cn = country_holidays("CN", years=[2025])
        >>> print(*sorted(cn.dates_in(2025)[1])[:2])
        2025-01-26 2025-02-08
        >>> hk = country_holidays("HK", categories=["public", "optional"])
        >>> len(hk.dates_in(2010)[0])
        17
    """
    import holidays  # noqa: PLC0415  (heavy; only when asked for)

    problems: list[ErrorDetail] = []
    if not isinstance(code, str) or not code.strip():
        raise ValidationError.one("code", f"expected a country code such as 'CN', got {code!r}")
    code = code.strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        near = ", ".join(sorted(c for c in supported if c[:1] == code[:1])[:12])
        raise ValidationError.one(
            "code", f"unknown country code {code!r} (codes are ISO 3166-1 alpha-2; starting alike: {near})"
        )
    cats, resolved = _check_options(
        holidays, code=code, subdiv=subdiv, categories=categories, language=language, problems=problems
    )
    given = _parse_published(published, problems)
    year_list = _parse_years(years, problems)
    if problems:
        raise ValidationError(problems)
    key = (code, subdiv, cats, language, given)
    # One source per definition, so every calendar shares the loaded years.
    source = _SHARED.get(key)
    if source is None:
        obj = _make_object(code, subdiv, cats, resolved)
        source = CountryHolidays(
            code=code,
            subdiv=subdiv,
            categories=cats,
            language=language,
            published=given,
            known_until=_known_until(obj, code, given),
            _resolved_language=resolved,
            _obj=[obj],
        )
        source = _SHARED.setdefault(key, source)
    for y in year_list:
        source.dates_in(y)
    return source


_SHARED: dict[tuple[Any, ...], CountryHolidays] = {}


def is_holidays_object(value: object) -> bool:
    """True for an object of the ``holidays`` package (a ``HolidayBase``)."""
    if not isinstance(value, dict) or "holidays" not in sys.modules:
        return False
    import holidays  # noqa: PLC0415  (already imported when the user made the object)

    return isinstance(value, holidays.HolidayBase)


# Years compared, besides those the object has loaded, to tell whether a holidays object
# is exactly what its country, subdivision and categories describe.
_PROBE_YEARS = (2001, 2010, 2016, 2020, 2024, 2025, 2026, 2030)


def holidays_object_spec(obj: Any) -> CountryHolidays:
    """The `country_holidays(...)` equal to a ``holidays`` object, or why there is none.

    Raises:
        ValidationError: the object is not a plain country's (a financial market, a class
            of the user's, dates added by hand, other options), naming the first difference.
    """
    country = getattr(obj, "country", None)
    how = "pass ticketkit.country_holidays(...) and explicit dates instead"
    if not isinstance(country, str):
        raise ValidationError.one(
            "holidays",
            f"the holidays object {type(obj).__name__} is not a country's, so it has no data form; {how}",
        )
    cats = sorted(getattr(obj, "categories", None) or _DEFAULT_CATEGORIES)
    try:
        spec = country_holidays(country, getattr(obj, "subdiv", None), categories=cats)
    except ValidationError as exc:
        raise ValidationError.one("holidays", f"{exc.errors[0].message}; {how}") from None
    for year in sorted(set(getattr(obj, "years", ())) | set(_PROBE_YEARS)):
        theirs, ours = _year_dates(obj, year), spec.dates_in(year)
        if theirs != ours:
            diff = sorted((theirs[0] ^ ours[0]) | (theirs[1] ^ ours[1]))
            raise ValidationError.one(
                "holidays",
                f"the holidays object differs from {spec.to_dict()} on {diff[0].isoformat()} (dates added "
                f"by hand or other options), so it cannot be written as data; {how}",
            )
    return spec


@attrs.frozen(eq=False)
class _HolidaysObjectSource:
    """A user's ``holidays`` object used as a source; compared by identity."""

    obj: Any
    _cache: dict[int, YearDates] = attrs.field(factory=dict, repr=False, alias="_cache")

    @property
    def known_until(self) -> date | None:
        code = getattr(self.obj, "country", None)
        if code not in _ANNOUNCED_YEARLY:
            return None
        return _known_until(self.obj, str(code), ())

    def dates_in(self, year: int) -> YearDates:
        cached = self._cache.get(year)
        if cached is None:
            cached = _year_dates(self.obj, year) if 1 <= year <= 9999 else _EMPTY
            self._cache[year] = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        return holidays_object_spec(self.obj).to_dict()


def wrap_holidays_object(value: Any) -> HolidaySource:
    """A holiday source over an object of the ``holidays`` package."""
    return _HolidaysObjectSource(value)
