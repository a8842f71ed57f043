"""Holiday sources: names in a chosen language (never the locale's), categories and regions,
an exact data form, and no silent guess about years whose holidays are not published yet."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
import pytest

import ticketkit as tk
from ticketkit import BusinessCalendar, ValidationError, country_holidays

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
LUNCH = {"mon-fri": ["09:00-12:00", "13:00-18:00"]}
SRC = str(Path(__file__).resolve().parent.parent / "src")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in exc.value.errors]


# The code a subprocess runs: holiday names as the library gives them, and as the demo prints them.
NAMES_SCRIPT = """
import json, sys
from datetime import date
import ticketkit as tk
from ticketkit.cli._demo import _holiday_names
language = sys.argv[1] or None
names = tk.country_holidays("CN", language=language).names(date(2025, 1, 28), date(2025, 2, 4))
demo = _holiday_names(date(2025, 1, 28), date(2025, 1, 29))
print(json.dumps({"names": {d.isoformat(): n for d, n in names.items()},
                  "demo": {d.isoformat(): n for d, n in demo.items()}}))
"""

LOCALES = {
    "de_DE": {"LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"},
    "zh_CN": {"LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"},
    "C": {"LANG": "C", "LC_ALL": "C"},
    "unset": {},
}


def run_names(locale_env: dict[str, str], language: str = "") -> dict[str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in {"LANG", "LC_ALL", "LANGUAGE", "LC_MESSAGES"}}
    env.update(locale_env)
    env["PYTHONPATH"] = SRC
    env["PYTHONIOENCODING"] = "utf-8"
    out = subprocess.run(
        [sys.executable, "-c", NAMES_SCRIPT, language],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        timeout=120,
    )
    result: dict[str, dict[str, str]] = json.loads(out.stdout)
    return result


class TestLanguage:
    @pytest.mark.parametrize("locale_name", sorted(LOCALES))
    def test_english_whatever_the_locale(self, locale_name: str) -> None:
        """With LANG/LC_ALL de_DE, zh_CN, C or unset, names are English, dates ISO, the demo's too."""
        got = run_names(LOCALES[locale_name])
        assert "Chinese New Year's Eve" == got["names"]["2025-01-28"]
        assert "Chinese New Year (Spring Festival)" == got["names"]["2025-01-29"]
        assert "Day off (substituted from 2025-01-26)" == got["names"]["2025-02-03"]
        assert {
            "2025-01-28": "Chinese New Year's Eve",
            "2025-01-29": "Chinese New Year (Spring Festival)",
        } == (got["demo"])

    @pytest.mark.parametrize("locale_name", ["de_DE", "unset"])
    def test_chinese_on_request(self, locale_name: str) -> None:
        """language="zh_CN" gives Chinese names in any locale."""
        got = run_names(LOCALES[locale_name], "zh_CN")
        assert "春节" == got["names"]["2025-01-29"]
        assert "休息日（由 2025-01-26 调休）" == got["names"]["2025-02-03"]

    def test_iso_dates_in_names(self) -> None:
        """A substituted day names its source date as an ISO date, in every language asked for."""
        names = country_holidays("CN").names(date(2025, 2, 3), date(2025, 2, 4))
        assert "Day off (substituted from 2025-01-26)" == names[date(2025, 2, 3)]
        th = country_holidays("CN", language="th").names(date(2025, 2, 3), date(2025, 2, 3))
        assert "2025-01-26" in th[date(2025, 2, 3)]

    def test_names_of_published_years(self) -> None:
        """Published dates the package does not know are named generically, in the language asked for."""
        spec = {2027: {"holidays": ["2027-02-12"], "workdays": []}}
        assert {date(2027, 2, 12): "Holiday"} == country_holidays("CN", published=spec).names(
            date(2027, 2, 12), date(2027, 2, 12)
        )
        zh = country_holidays("CN", published=spec, language="zh_CN")
        assert {date(2027, 2, 12): "节假日"} == zh.names(date(2027, 2, 12), date(2027, 2, 12))

    def test_unknown_language(self) -> None:
        """A language the country has no names in is refused, listing the known ones."""
        with pytest.raises(ValidationError, match="zh_CN") as exc:
            country_holidays("CN", language="xx_XX")
        assert ["language"] == paths(exc)

    def test_language_round_trips(self) -> None:
        """The language is part of the data form and survives pickling."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN", language="zh_CN"))
        assert [{"country": "CN", "language": "zh_CN"}] == cal.to_dict()["holidays"]
        assert cal == BusinessCalendar.from_dict(cal.to_dict())
        src = pickle.loads(pickle.dumps(cal)).sources[0]
        assert (
            "休息日（由 2025-01-26 调休）" == src.names(date(2025, 2, 3), date(2025, 2, 3))[date(2025, 2, 3)]
        )


HK_GENERAL_2010 = [
    date(2010, 1, 1),
    date(2010, 2, 13),
    date(2010, 2, 15),
    date(2010, 2, 16),
    date(2010, 4, 2),
    date(2010, 4, 3),
    date(2010, 4, 5),
    date(2010, 4, 6),
    date(2010, 5, 1),
    date(2010, 5, 21),
    date(2010, 6, 16),
    date(2010, 7, 1),
    date(2010, 9, 23),
    date(2010, 10, 1),
    date(2010, 10, 16),
    date(2010, 12, 25),
    date(2010, 12, 27),
]


def closed_days_2010(cal: BusinessCalendar) -> list[date]:
    """Days of 2010 the calendar closes that its weekly hours would open."""
    days = [date(2010, 1, 1) + timedelta(days=i) for i in range(365)]
    return [d for d in days if cal.hours[d.weekday()] and not cal.windows_on(d)]


class TestCategories:
    def test_hong_kong_general_holidays_2010(self) -> None:
        """Hong Kong with general holidays closes on the 17 days of 2010; the statutory list has 12."""
        hours = {"mon-sat": ["09:00-18:00"]}
        general = BusinessCalendar(
            "Asia/Hong_Kong", hours, holidays=country_holidays("HK", categories=("public", "optional"))
        )
        statutory = BusinessCalendar("Asia/Hong_Kong", hours, holidays=country_holidays("HK"))
        assert HK_GENERAL_2010 == closed_days_2010(general)
        assert 12 == len(closed_days_2010(statutory))
        assert not general.is_business_day(date(2010, 4, 2))
        assert statutory.is_business_day(date(2010, 4, 2))

    def test_hong_kong_round_trip(self) -> None:
        """The categories are written, and the reloaded calendar is equal and closes the same days."""
        cal = BusinessCalendar(
            "Asia/Hong_Kong",
            {"mon-sat": ["09:00-18:00"]},
            holidays=country_holidays("HK", categories=["optional", "public"]),
        )
        data = cal.to_dict()
        assert [{"country": "HK", "categories": ["optional", "public"]}] == data["holidays"]
        again = BusinessCalendar.from_dict(json.loads(json.dumps(data)))
        assert cal == again
        assert HK_GENERAL_2010 == closed_days_2010(again)

    def test_holidays_object_with_categories(self) -> None:
        """A holidays object with categories is written with them, never as just its country."""
        obj = holidays_pkg.country_holidays("HK", categories=("public", "optional"))
        cal = BusinessCalendar("Asia/Hong_Kong", {"mon-sat": ["09:00-18:00"]}, holidays=obj)
        data = cal.to_dict()
        assert [{"country": "HK", "categories": ["optional", "public"]}] == data["holidays"]
        again = BusinessCalendar.from_dict(data)
        for year in (2010, 2019, 2025):
            days = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]
            assert [cal.windows_on(d) for d in days] == [again.windows_on(d) for d in days]

    def test_holidays_object_with_subdivision(self) -> None:
        """A subdivision is written and read back."""
        cal = BusinessCalendar("UTC", LUNCH, holidays=holidays_pkg.country_holidays("DE", subdiv="BY"))
        assert [{"country": "DE", "subdiv": "BY"}] == cal.to_dict()["holidays"]

    def test_holidays_object_changed_by_hand_refuses(self) -> None:
        """A holidays object with a date added by hand cannot be written exactly: refused, with the date."""
        obj = holidays_pkg.country_holidays("HK", years=[2025])
        obj[date(2025, 3, 3)] = "Company day"
        cal = BusinessCalendar("Asia/Hong_Kong", LUNCH, holidays=obj)
        with pytest.raises(ValidationError, match="2025-03-03") as exc:
            cal.to_dict()
        assert ["holidays"] == paths(exc)

    def test_holidays_object_with_other_options_refuses(self) -> None:
        """Options the data form cannot carry (observed=False) are refused, not dropped."""
        obj = holidays_pkg.country_holidays("US", observed=False)
        with pytest.raises(ValidationError, match="cannot be written as data"):
            BusinessCalendar("UTC", LUNCH, holidays=obj).to_dict()

    def test_market_refuses(self) -> None:
        """A financial market's holidays are not a country's and have no data form."""
        obj = holidays_pkg.financial_holidays("NYSE")
        with pytest.raises(ValidationError, match="not a country's"):
            BusinessCalendar("UTC", LUNCH, holidays=obj).to_dict()

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"categories": ["bank"]}, "categories"),
            ({"categories": "public"}, "categories"),
            ({"categories": []}, "categories"),
        ],
    )
    def test_bad_categories(self, kwargs: dict[str, object], path: str) -> None:
        """Unknown or malformed categories are refused, naming the known ones."""
        with pytest.raises(ValidationError) as exc:
            country_holidays("HK", **kwargs)  # type: ignore[arg-type]
        assert [path] == paths(exc)

    def test_bad_country_item_in_data(self) -> None:
        """A bad category inside a calendar's data form is reported with its full path."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict(
                {"tz": "UTC", "hours": LUNCH, "holidays": [{"country": "HK", "categories": ["x"]}]}
            )
        assert ["holidays[0].categories"] == paths(exc)


PUBLISHED_2027 = {
    2027: {
        "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11"],
        "workdays": ["2027-02-07", "2027-02-20"],
    }
}


class TestBeyondKnown:
    def test_known_until(self) -> None:
        """China's holidays are official up to the last year the package has a notice for; rules need none."""
        assert date(2026, 12, 31) == country_holidays("CN").known_until
        assert country_holidays("US").known_until is None

    def test_warns_on_a_2027_deadline(self) -> None:
        """A deadline computed into 2027 on China's calendar warns, naming the calendar and the date."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), name="desk")
        with pytest.warns(tk.UnpublishedHolidaysWarning, match="official only up to 2026-12-31") as record:
            due = cal.add(sh(2026, 12, 31, 17), 2 * H)
        assert sh(2027, 1, 4, 10) == due  # the guess: 1 January closed, Monday open
        warning = record[0].message
        assert isinstance(warning, tk.UnpublishedHolidaysWarning)
        assert ("desk", date(2026, 12, 31), sh(2027, 1, 4, 10)) == (
            warning.calendar,
            warning.known_until,
            warning.reached,
        )

    def test_warns_once_per_calendar(self) -> None:
        """A batch of deadlines past the limit warns once, not once per deadline."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for day in range(1, 20):
                cal.add(sh(2027, 1, day, 10), 3 * H)
        assert 1 == len(caught)

    def test_error_mode(self) -> None:
        """beyond_known="error" refuses the same computation with the reason and how to fix it."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), beyond_known="error")
        with pytest.raises(tk.UnpublishedHolidaysError, match="published=") as exc:
            cal.add(sh(2026, 12, 31, 17), 2 * H)
        assert date(2026, 12, 31) == exc.value.known_until
        assert isinstance(exc.value, ValueError)
        again = pickle.loads(pickle.dumps(exc.value))
        assert (str(exc.value), again.known_until) == (str(again), date(2026, 12, 31))

    @pytest.mark.parametrize(
        "call",
        [
            lambda c: c.subtract(sh(2027, 1, 5, 10), H),
            lambda c: c.between(sh(2026, 12, 1), sh(2027, 1, 1, 0, 0, 1)),
            lambda c: c.is_open(sh(2027, 1, 1)),
            lambda c: c.next_open(sh(2026, 12, 31, 19)),
            lambda c: c.next_close(sh(2027, 1, 4, 10)),
            lambda c: c.next_open(sh(2026, 12, 31, 14), strict=True),
            lambda c: c.prev_open(sh(2027, 1, 4, 10)),
            lambda c: c.prev_close(sh(2027, 1, 4, 10)),
            lambda c: c.open_intervals(sh(2026, 12, 31), sh(2027, 1, 2)),
            lambda c: c.add_days(sh(2026, 12, 31, 10), 1),
            lambda c: c.subtract_days(sh(2027, 1, 5, 10), 1),
            lambda c: c.days_between(sh(2026, 12, 30), sh(2027, 1, 1)),
            lambda c: c.is_business_day(date(2027, 1, 4)),
            lambda c: c.add(sh(2027, 1, 5, 10), -H),
            lambda c: c.subtract(sh(2026, 12, 31, 17), -2 * H),
        ],
    )
    def test_every_question_checks(self, call: object) -> None:
        """Every question that reads a date past the known one raises in error mode."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), beyond_known="error")
        with pytest.raises(tk.UnpublishedHolidaysError):
            call(cal)  # type: ignore[operator]

    def test_up_to_the_limit_is_silent(self) -> None:
        """Questions that end at the first unofficial instant, or before, say nothing."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), beyond_known="error")
        assert 8 * H == cal.between(sh(2026, 12, 31), sh(2027, 1, 1))
        assert sh(2026, 12, 31, 18) == cal.add(sh(2026, 12, 31, 10), 7 * H)
        assert cal.is_business_day(date(2026, 12, 31))
        assert 0 == cal.days_between(sh(2026, 12, 31, 9), sh(2026, 12, 31, 23))

    def test_assume_is_silent(self) -> None:
        """beyond_known="assume" computes on the guess without a word, and is written as data."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), beyond_known="assume")
        assert sh(2027, 1, 4, 10) == cal.add(sh(2026, 12, 31, 17), 2 * H)
        assert "assume" == cal.to_dict()["beyond_known"]
        assert cal == BusinessCalendar.from_dict(cal.to_dict())
        assert cal != BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"))

    def test_warning_can_be_filtered(self) -> None:
        """Users filter the warning by its class."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=tk.UnpublishedHolidaysWarning)
            assert sh(2027, 1, 4, 10) == cal.add(sh(2026, 12, 31, 17), 2 * H)

    def test_calendars_without_limits_never_warn(self) -> None:
        """Hand-written dates and countries set by rules have no limit."""
        cal = BusinessCalendar("UTC", LUNCH, holidays=[country_holidays("US"), "2030-01-02"])
        assert datetime(2031, 1, 2, 10, tzinfo=ZoneInfo("UTC")) == cal.add_days(
            datetime(2030, 12, 31, 10, tzinfo=ZoneInfo("UTC")), 1
        )

    def test_holidays_object_of_china_warns_too(self) -> None:
        """A holidays-package object of China knows its limit as well."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=holidays_pkg.country_holidays("CN"))
        with pytest.warns(tk.UnpublishedHolidaysWarning):
            cal.is_open(sh(2027, 3, 1, 10))

    def test_bad_setting(self) -> None:
        """beyond_known takes warn, error or assume."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, beyond_known="ignore")  # type: ignore[arg-type]
        assert ["beyond_known"] == paths(exc)


class TestPublished:
    def test_published_year_is_used_and_known(self) -> None:
        """A year published by hand replaces the guess, extends what is known, and round-trips."""
        cn = country_holidays("CN", published=PUBLISHED_2027)
        assert date(2027, 12, 31) == cn.known_until
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=cn, beyond_known="error")
        assert cal.is_business_day(date(2027, 2, 7))  # a Sunday make-up workday
        assert not cal.is_business_day(date(2027, 2, 11))
        assert sh(2027, 1, 4, 10) == cal.add(sh(2026, 12, 31, 17), 2 * H)
        data = json.loads(json.dumps(cal.to_dict()))
        assert {
            "2027": {"holidays": PUBLISHED_2027[2027]["holidays"], "workdays": ["2027-02-07", "2027-02-20"]}
        } == (data["holidays"][0]["published"])
        assert cal == BusinessCalendar.from_dict(data)
        with pytest.raises(tk.UnpublishedHolidaysError, match="2027-12-31"):
            cal.add(sh(2027, 12, 31, 17), 2 * H)

    def test_a_gap_does_not_extend(self) -> None:
        """A year published after a missing one leaves the limit where it was."""
        cn = country_holidays("CN", published={2028: {"holidays": ["2028-01-01"]}})
        assert date(2026, 12, 31) == cn.known_until

    @pytest.mark.parametrize(
        ("published", "path"),
        [
            ([2027], "published"),
            ({"twenty": {}}, "published.twenty"),
            ({2027: {"holiday": []}}, "published.2027"),
            ({2027: {"holidays": ["2027-13-01"]}}, "published.2027.holidays[0]"),
            ({2027: {"workdays": ["2028-01-01"]}}, "published.2027.workdays[0]"),
        ],
    )
    def test_bad_published(self, published: object, path: str) -> None:
        """Bad published years are refused with their path."""
        with pytest.raises(ValidationError) as exc:
            country_holidays("CN", published=published)  # type: ignore[arg-type]
        assert [path] == paths(exc)
