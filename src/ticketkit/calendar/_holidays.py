"""Holiday sources for [`BusinessCalendar`][ticketkit.BusinessCalendar]: countries and ``holidays`` objects.

A holiday source answers one question per year: which dates are holidays, and which
weekend dates are official make-up working days (China's 调休). The ``holidays``
package is imported only when a source is made, never by ``import ticketkit``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol, runtime_checkable

import attrs

from ticketkit.errors import ErrorDetail, ValidationError

__all__ = ["CountryHolidays", "country_holidays"]

YearDates = tuple[frozenset[date], frozenset[date]]
_LOAD_LOCK = threading.RLock()
_EMPTY: YearDates = (frozenset(), frozenset())


@runtime_checkable
class HolidaySource(Protocol):
    """Anything that can say, for a year, its holidays and its make-up working days."""

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


@attrs.frozen(kw_only=True)
class CountryHolidays:
    """A country's public holidays and official make-up working days, loaded per year on demand.

    Made by [`country_holidays`][ticketkit.country_holidays]; pass it as ``holidays=`` to
    [`BusinessCalendar`][ticketkit.BusinessCalendar], alone or in a list with extra dates. Years are
    loaded from the ``holidays`` package the first time a calendar touches them.

    Attributes:
        code: ISO 3166-1 alpha-2 country code, e.g. ``"CN"``.
        subdiv: a subdivision code the ``holidays`` package knows, or None.

    Examples:
        >>> from datetime import date
        >>> cn = country_holidays("CN")
        >>> hol, work = cn.dates_in(2025)
        >>> date(2025, 1, 29) in hol, date(2025, 1, 26) in work
        (True, True)
    """

    code: str
    subdiv: str | None = None
    _cache: dict[int, YearDates] = attrs.field(factory=dict, eq=False, repr=False, alias="_cache")
    _obj: list[Any] = attrs.field(factory=list, eq=False, repr=False, alias="_obj")

    def _holidays_object(self) -> Any:
        with _LOAD_LOCK:
            if not self._obj:
                import holidays  # noqa: PLC0415  (heavy; only when a calendar first needs it)

                self._obj.append(holidays.country_holidays(self.code, subdiv=self.subdiv))
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
            cached = _year_dates(self._holidays_object(), year) if 1 <= year <= 9999 else _EMPTY
            self._cache[year] = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``{"country": code}`` plus ``"subdiv"`` when set.

        Examples:
            >>> country_holidays("CN").to_dict()
            {'country': 'CN'}
        """
        out: dict[str, Any] = {"country": self.code}
        if self.subdiv is not None:
            out["subdiv"] = self.subdiv
        return out


def country_holidays(
    code: str, subdiv: str | None = None, years: Iterable[int] | None = None
) -> CountryHolidays:
    """Public holidays and official make-up working days of a country, for ``holidays=``.

    Uses the ``holidays`` package. Years load lazily as a calendar reaches them; ``years``
    loads some at once (to pay the cost up front). The package publishes next year's
    Chinese make-up days after the State Council announces them each November; until
    then add them by hand with ``BusinessCalendar(workdays=[...])``.

    Args:
        code: ISO 3166-1 alpha-2 country code such as ``"CN"``, ``"US"``, ``"DE"``.
        subdiv: a subdivision (state, province) code, if the country has them.
        years: years to load now.

    Raises:
        ValidationError: an unknown country or subdivision (paths ``code``, ``subdiv``).

    Examples:
        >>> from datetime import date
        >>> cn = country_holidays("CN", years=[2025])
        >>> print(*sorted(cn.dates_in(2025)[1])[:2])
        2025-01-26 2025-02-08
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
    if subdiv is not None:
        subs = supported[code]
        if not isinstance(subdiv, str) or subdiv not in subs:
            listing = ", ".join(subs[:20]) + (", ..." if len(subs) > 20 else "") if subs else "none"
            problems.append(
                ErrorDetail("subdiv", f"unknown subdivision {subdiv!r} of {code} (known: {listing})")
            )
    year_list: list[int] = []
    if years is not None:
        try:
            year_list = [int(y) for y in years]
        except (TypeError, ValueError):
            problems.append(ErrorDetail("years", f"expected a list of years, got {years!r}"))
        else:
            problems.extend(
                ErrorDetail(f"years[{i}]", f"year {y} is outside 1-9999")
                for i, y in enumerate(year_list)
                if not 1 <= y <= 9999
            )
    if problems:
        raise ValidationError(problems)
    # One source per country and subdivision, so every calendar shares the loaded years.
    source = _SHARED.setdefault((code, subdiv), CountryHolidays(code=code, subdiv=subdiv))
    for y in year_list:
        source.dates_in(y)
    return source


_SHARED: dict[tuple[str, str | None], CountryHolidays] = {}


def is_holidays_object(value: object) -> bool:
    """True for an object of the ``holidays`` package (a ``HolidayBase``)."""
    if not isinstance(value, dict) or "holidays" not in sys.modules:
        return False
    import holidays  # noqa: PLC0415  (already imported when the user made the object)

    return isinstance(value, holidays.HolidayBase)


@attrs.frozen(eq=False)
class _HolidaysObjectSource:
    """A user's ``holidays`` object used as a source; compared by identity."""

    obj: Any
    _cache: dict[int, YearDates] = attrs.field(factory=dict, repr=False, alias="_cache")

    def dates_in(self, year: int) -> YearDates:
        cached = self._cache.get(year)
        if cached is None:
            cached = _year_dates(self.obj, year) if 1 <= year <= 9999 else _EMPTY
            self._cache[year] = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        country = getattr(self.obj, "country", None)
        if not isinstance(country, str):
            raise ValidationError.one(
                "holidays",
                "a custom holidays object cannot be written as data; "
                "pass dates or ticketkit.country_holidays(...) instead",
            )
        out: dict[str, Any] = {"country": country}
        subdiv = getattr(self.obj, "subdiv", None)
        if subdiv is not None:
            out["subdiv"] = subdiv
        return out


def wrap_holidays_object(value: Any) -> HolidaySource:
    """A holiday source over an object of the ``holidays`` package."""
    return _HolidaysObjectSource(value)
