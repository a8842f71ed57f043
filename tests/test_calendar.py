"""BusinessCalendar: definitions, arithmetic, holidays, DST, serialization."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
import pytest

import ticketkit as tk
from ticketkit import BusinessCalendar, ValidationError, country_holidays

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
LUNCH = {"mon-fri": ["09:00-12:00", "13:00-18:00"]}
H = timedelta(hours=1)


def sh(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH)


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:  # noqa: PLR0917
    return datetime(y, m, d, h, mi, tzinfo=NY, fold=fold)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:  # noqa: PLR0917
    return datetime(y, m, d, h, mi, s, us, tzinfo=UTC)


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in exc.value.errors]


@pytest.fixture(scope="module")
def cn() -> BusinessCalendar:
    return BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("CN"))


class TestDefinition:
    def test_exported(self) -> None:
        """The calendar names are public at the top level."""
        assert {"BusinessCalendar", "CountryHolidays", "country_holidays"} <= set(tk.__all__)

    def test_every_problem_with_its_path(self) -> None:
        """A bad definition lists each problem with the path of the bad value."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar(
                "Mars/Base",
                {"mon-fry": ["09:00-12:00"], "tue": ["25:00-26:00", "09:00-12:00", "11:00-13:00"]},
                holidays=[{"country": "XX"}, "2025-13-01"],
                workdays=["nope"],
                overrides={"2025-01-01": ["x"], "soon": []},
            )
        expected = [
            "tz",
            "hours.mon-fry",
            "hours.tue[0]",
            "hours.tue[0]",
            "hours.tue[2]",
            "holidays[0].country",
            "holidays[1]",
            "workdays[0]",
            "overrides.2025-01-01[0]",
            "overrides.soon",
        ]
        assert expected == paths(exc)

    @pytest.mark.parametrize(
        ("hours", "path", "fragment"),
        [
            ({"mon": ["24:00-25:00"]}, "hours.mon[0]", "cannot start at '24:00'"),
            ({"mon": ["09:00-09:00"]}, "hours.mon[0]", "empty"),
            ({"mon": ["9am-5pm"]}, "hours.mon[0]", "expected a time"),
            ({"mon": ["09:00-12:00-13:00"]}, "hours.mon[0]", "expected a window"),
            ({"mon": 9}, "hours.mon", "expected a list of windows"),
            ({"mon": ["07:00-23:00", "23:00-08:00"]}, "hours.mon", "more than 24 hours"),
            ({"mon": ["22:00-06:00"], "tue": ["05:00-09:00"]}, "hours.mon", "runs into tue"),
            ({"mon-fri": ["09:00-17:00"], "fri": ["09:00-12:00"]}, "hours.fri", "already given"),
            ({"xyz": ["09:00-17:00"]}, "hours.xyz", "unknown weekday 'xyz'"),
            ({}, "hours", "no open window"),
            (["09:00-17:00"], "hours", "expected a mapping"),
        ],
    )
    def test_bad_hours(self, hours: object, path: str, fragment: str) -> None:
        """Each kind of bad window is reported at its path with a helpful message."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", hours)  # type: ignore[arg-type]
        assert {path} == set(paths(exc))
        assert fragment in exc.value.errors[0].message

    def test_bad_tz_type(self) -> None:
        """A time zone that is neither a name nor a ZoneInfo is reported at tz."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar(timezone(timedelta(hours=8)), LUNCH)
        assert ["tz"] == paths(exc)

    def test_day_spellings(self) -> None:
        """Weekdays may be named, ranged, listed, wrapped around the week, or 'daily'."""
        a = BusinessCalendar("UTC", {"Monday,wed": "09:00-10:00", "fri-sun": ["10:00-11:00"]})
        assert (((32400, 36000),), (), ((32400, 36000),), (), ((36000, 39600),)) == a.hours[:5]
        assert ((36000, 39600),) == a.hours[6]
        b = BusinessCalendar("UTC", {"daily": [(time(9), time(17))]})
        assert (((32400, 61200),),) * 7 == b.hours

    def test_touching_windows_merge(self) -> None:
        """Windows that touch become one window."""
        cal = BusinessCalendar("UTC", {"mon": ["12:00-13:00", "09:00-12:00"]})
        assert ((32400, 46800),) == cal.hours[0]

    def test_equality_and_hash(self) -> None:
        """Calendars with the same definition are equal and hash alike, however spelled."""
        a = BusinessCalendar("UTC", {"mon-fri": "09:00-17:00"})
        b = BusinessCalendar(ZoneInfo("UTC"), {"mon,tue,wed,thu,fri": ["09:00-17:00"]})
        assert a == b
        assert hash(a) == hash(b)

    def test_frozen(self) -> None:
        """A calendar cannot be changed after it is made."""
        cal = BusinessCalendar.always_open()
        with pytest.raises(AttributeError):
            cal.name = "x"  # type: ignore[misc]

    def test_pickle(self, cn: BusinessCalendar) -> None:
        """A calendar pickles and gives the same answers after."""
        cn.add(sh(2025, 1, 24, 17), 2 * H)
        copy = pickle.loads(pickle.dumps(cn))
        assert cn == copy
        assert sh(2025, 1, 26, 10) == copy.add(sh(2025, 1, 24, 17), 2 * H)

    def test_repr(self, cn: BusinessCalendar) -> None:
        """The repr shows the zone and the hours."""
        assert "tz='Asia/Shanghai'" in repr(cn)
        assert "'mon-fri': ['09:00-12:00', '13:00-18:00']" in repr(cn)


class TestInputs:
    @pytest.mark.parametrize("method", ["add", "subtract"])
    def test_naive_start(self, method: str) -> None:
        """A naive datetime is a ValidationError naming the parameter."""
        cal = BusinessCalendar.always_open()
        with pytest.raises(ValidationError) as exc:
            getattr(cal, method)(datetime(2025, 1, 1), H)
        assert ["start" if method == "add" else "end"] == paths(exc)

    def test_naive_between(self) -> None:
        """between names the naive argument."""
        cal = BusinessCalendar.always_open()
        with pytest.raises(ValidationError) as exc:
            cal.between(utc(2025, 1, 1), datetime(2025, 1, 2))
        assert ["b"] == paths(exc)

    @pytest.mark.parametrize("value", [date(2025, 1, 1), "2025-01-01T00:00:00+00:00", None, 5])
    def test_not_a_datetime(self, value: object) -> None:
        """Something that is not a datetime is a ValidationError, never a TypeError."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.always_open().is_open(value)  # type: ignore[arg-type]
        assert ["at"] == paths(exc)

    @pytest.mark.parametrize("value", [date(2025, 1, 1), time(9, tzinfo=UTC), datetime(2025, 1, 1), None])
    def test_between_not_aware(self, value: object) -> None:
        """between names a bad first argument too."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.always_open().between(value, utc(2025, 1, 1))  # type: ignore[arg-type]
        assert ["a"] == paths(exc)

    def test_duration_forms(self) -> None:
        """Durations may be timedeltas, seconds or duration strings."""
        cal = BusinessCalendar.always_open()
        s = utc(2025, 1, 1)
        assert s + 2 * H == cal.add(s, 7200) == cal.add(s, "PT2H") == cal.add(s, "2h")

    def test_bad_duration(self) -> None:
        """A bad duration is reported at duration."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.always_open().add(utc(2025, 1, 1), "soon")
        assert ["duration"] == paths(exc)

    def test_inputs_in_any_zone(self) -> None:
        """Inputs in other zones mean the same instant; results are in the calendar's zone."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH)
        start = datetime(2025, 3, 3, 1, tzinfo=UTC)  # 09:00 in Shanghai
        result = cal.add(start, 3 * H)
        assert sh(2025, 3, 3, 12) == result
        assert SH == result.tzinfo


class TestAdd:
    def test_within_a_window(self) -> None:
        """Time inside one window adds like clock time."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 10, 30) == cal.add(utc(2025, 3, 3, 9, 30), H)

    def test_over_lunch(self) -> None:
        """The lunch break does not count."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 14) == cal.add(utc(2025, 3, 3, 11), 2 * H)

    def test_ends_at_close(self) -> None:
        """A duration ending exactly at a closing time returns the closing time."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 12) == cal.add(utc(2025, 3, 3, 9), 3 * H)
        assert utc(2025, 3, 7, 18) == cal.add(utc(2025, 3, 7, 17), H)

    def test_start_outside_hours(self) -> None:
        """A start outside hours counts from the next opening."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 10, 10) == cal.add(utc(2025, 3, 8, 3), H)
        assert utc(2025, 3, 3, 14) == cal.add(utc(2025, 3, 3, 12, 30), H)

    def test_zero(self) -> None:
        """Adding nothing returns the start, even outside hours."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 8, 3) == cal.add(utc(2025, 3, 8, 3), timedelta(0))

    def test_negative_subtracts(self) -> None:
        """A negative duration goes backwards."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 7, 17) == cal.add(utc(2025, 3, 10, 10), -2 * H)

    def test_long_spans(self) -> None:
        """Hundreds and thousands of hours cross chunk boundaries exactly."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        start = utc(2025, 1, 6, 9)  # a Monday
        # 2000 h = 250 days of 8 h = 50 weeks exactly: ends at Friday 17:00 of week 50.
        assert utc(2025, 12, 19, 17) == cal.add(start, 2000 * H)
        assert 2000 * H == cal.between(start, utc(2025, 12, 19, 17))
        far = cal.add(start, 20000 * H)
        assert 20000 * H == cal.between(start, far)

    def test_microseconds(self) -> None:
        """Arithmetic keeps microseconds; nothing is rounded."""
        cal = BusinessCalendar("UTC", LUNCH)
        start = utc(2025, 3, 3, 11, 59, 59, 999_999)
        assert utc(2025, 3, 3, 13, 0, 0, 1) == cal.add(start, timedelta(microseconds=2))
        d = timedelta(hours=5, seconds=1, microseconds=7)
        assert d == cal.between(start, cal.add(start, d))


class TestSubtract:
    def test_mirror(self) -> None:
        """subtract walks back over closed time."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 7, 17) == cal.subtract(utc(2025, 3, 10, 10), 2 * H)

    def test_lands_on_opening(self) -> None:
        """An answer exactly at an opening returns the opening, not the previous close."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 13) == cal.subtract(utc(2025, 3, 3, 14), H)

    def test_zero_and_negative(self) -> None:
        """subtract(end, 0) is end; a negative duration adds."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 8) == cal.subtract(utc(2025, 3, 8), timedelta(0))
        assert utc(2025, 3, 10, 10) == cal.subtract(utc(2025, 3, 7, 17), -2 * H)


class TestBetween:
    def test_weekend(self) -> None:
        """Only open time counts."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert 2 * H == cal.between(utc(2025, 3, 7, 17), utc(2025, 3, 10, 10))

    def test_negative(self) -> None:
        """between is negative when b is before a."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert -2 * H == cal.between(utc(2025, 3, 10, 10), utc(2025, 3, 7, 17))

    def test_empty(self) -> None:
        """between of an instant and itself is zero."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert timedelta(0) == cal.between(utc(2025, 3, 3, 10), utc(2025, 3, 3, 10))

    def test_across_years(self) -> None:
        """Spans of many years add the chunks between."""
        cal = BusinessCalendar.always_open()
        assert timedelta(days=3653) == cal.between(utc(2020, 1, 1), utc(2030, 1, 1))


class TestOpenness:
    def test_is_open(self) -> None:
        """Windows are half-open: open at the start, closed at the end."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert [True, False, True, False] == [
            cal.is_open(utc(2025, 3, 3, 9)),
            cal.is_open(utc(2025, 3, 3, 12)),
            cal.is_open(utc(2025, 3, 3, 17, 59, 59, 999_999)),
            cal.is_open(utc(2025, 3, 8, 10)),
        ]

    def test_next_open(self) -> None:
        """next_open is the instant itself when open, else the next opening."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 10) == cal.next_open(utc(2025, 3, 3, 10))
        assert utc(2025, 3, 3, 13) == cal.next_open(utc(2025, 3, 3, 12))
        assert utc(2025, 3, 10, 9) == cal.next_open(utc(2025, 3, 7, 18))

    def test_next_open_across_chunks(self) -> None:
        """next_open finds an opening in a later chunk of time."""
        cal = BusinessCalendar(
            "UTC", {"mon": ["09:00-10:00"]}, holidays=[f"2025-{m:02d}-01" for m in range(1, 13)]
        )
        assert utc(2026, 1, 5, 9) == cal.next_open(utc(2025, 12, 30, 10))

    def test_next_close(self) -> None:
        """next_close is the end of the current window, or the instant itself when closed."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(2025, 3, 3, 12) == cal.next_close(utc(2025, 3, 3, 10))
        assert utc(2025, 3, 8) == cal.next_close(utc(2025, 3, 8))

    def test_next_close_runs_over_days(self) -> None:
        """Windows that meet at midnight are one stretch of open time."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["00:00-24:00"]})
        assert utc(2025, 3, 8) == cal.next_close(utc(2025, 3, 3, 10))

    def test_never_closes(self) -> None:
        """A 24/7 calendar has no next close."""
        assert BusinessCalendar.always_open("Asia/Shanghai").next_close(utc(2025, 1, 1)) is None

    def test_open_intervals(self) -> None:
        """open_intervals lists windows clipped to the range, in the calendar's zone."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH)
        got = cal.open_intervals(sh(2025, 3, 7, 10), sh(2025, 3, 10, 9, 30))
        expected = [
            (sh(2025, 3, 7, 10), sh(2025, 3, 7, 12)),
            (sh(2025, 3, 7, 13), sh(2025, 3, 7, 18)),
            (sh(2025, 3, 10, 9), sh(2025, 3, 10, 9, 30)),
        ]
        assert expected == got
        assert [] == cal.open_intervals(sh(2025, 3, 8), sh(2025, 3, 7))

    def test_open_intervals_merge_across_chunks(self) -> None:
        """An open stretch across a chunk boundary is one interval."""
        cal = BusinessCalendar.always_open()
        assert [(utc(2020, 1, 1), utc(2023, 1, 1))] == cal.open_intervals(utc(2020, 1, 1), utc(2023, 1, 1))


class TestChina:
    def test_makeup_workday(self, cn: BusinessCalendar) -> None:
        """Fri 2025-01-24 17:00 + 2 business hours is Sun 2025-01-26 10:00 (a make-up workday)."""
        assert sh(2025, 1, 26, 10) == cn.add(sh(2025, 1, 24, 17), 2 * H)

    def test_spring_festival(self, cn: BusinessCalendar) -> None:
        """The Spring Festival holiday is closed; work resumes on the official day."""
        assert sh(2025, 2, 5, 10) == cn.add(sh(2025, 1, 27, 17), 2 * H)
        assert not cn.is_open(sh(2025, 1, 29, 10))
        assert cn.is_open(sh(2025, 2, 8, 10))  # Saturday make-up workday

    def test_national_day(self, cn: BusinessCalendar) -> None:
        """National Day week is closed; Sat 2025-10-11 is a make-up workday."""
        assert sh(2025, 10, 9, 9) == cn.next_open(sh(2025, 9, 30, 18))
        assert cn.is_open(sh(2025, 10, 11, 9))

    def test_extra_dates_on_top(self) -> None:
        """workdays= and holidays= add dates on top of a country's."""
        cal = BusinessCalendar(
            "Asia/Shanghai",
            LUNCH,
            holidays=[country_holidays("CN"), "2025-03-03"],
            workdays=[date(2025, 3, 8)],
        )
        assert not cal.is_open(sh(2025, 3, 3, 10))
        assert cal.is_open(sh(2025, 3, 8, 10))
        assert not cal.is_open(sh(2025, 1, 29, 10))

    def test_holidays_object(self) -> None:
        """An object of the holidays package works, make-up days included, any year."""
        cal = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=holidays_pkg.country_holidays("CN"))
        assert sh(2025, 1, 26, 10) == cal.add(sh(2025, 1, 24, 17), 2 * H)
        assert cal.is_open(sh(2026, 1, 4, 10))

    def test_country_years_loaded(self) -> None:
        """years= loads years at once; other years still load on demand."""
        src = country_holidays("cn", years=[2024])
        assert "CN" == src.code
        assert date(2024, 2, 4) in src.dates_in(2024)[1]
        assert date(2026, 1, 4) in src.dates_in(2026)[1]
        assert (frozenset(), frozenset()) == src.dates_in(0)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"code": "XX"}, "code"),
            ({"code": ""}, "code"),
            ({"code": "CN", "subdiv": "ZZ"}, "subdiv"),
            ({"code": "CN", "years": [0]}, "years[0]"),
            ({"code": "CN", "years": 5}, "years"),
        ],
    )
    def test_country_errors(self, kwargs: dict[str, object], path: str) -> None:
        """Unknown countries, subdivisions and years are reported by path."""
        with pytest.raises(ValidationError) as exc:
            country_holidays(**kwargs)  # type: ignore[arg-type]
        assert [path] == paths(exc)

    def test_workday_hours(self) -> None:
        """A make-up workday takes Monday's hours by default, or the hours asked for."""
        hours = {"mon-thu": ["09:00-18:00"], "fri": ["09:00-16:00"]}
        default = BusinessCalendar("Asia/Shanghai", hours, workdays=["2025-03-08"])
        friday = BusinessCalendar("Asia/Shanghai", hours, workdays=["2025-03-08"], workday_hours="fri")
        own = BusinessCalendar("Asia/Shanghai", hours, workdays=["2025-03-08"], workday_hours=["10:00-12:00"])
        assert sh(2025, 3, 8, 18) == default.next_close(sh(2025, 3, 8, 10))
        assert sh(2025, 3, 8, 16) == friday.next_close(sh(2025, 3, 8, 10))
        assert sh(2025, 3, 8, 12) == own.next_close(sh(2025, 3, 8, 10))
        tue_sat = BusinessCalendar("UTC", {"tue-sat": ["10:00-11:00"]})
        assert ((36000, 39600),) == tue_sat.workday_hours

    @pytest.mark.parametrize("spec", ["someday", "sun", ["25:00-26:00"]])
    def test_bad_workday_hours(self, spec: object) -> None:
        """A bad workday_hours (or a closed weekday's) is reported at its path."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, workday_hours=spec)  # type: ignore[arg-type]
        assert {"workday_hours"} == {p.split("[")[0] for p in paths(exc)}

    def test_override_given_twice(self) -> None:
        """The same date written twice in overrides is an error, not a silent overwrite."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, overrides={"2025-01-01": [], date(2025, 1, 1): ["09:00-10:00"]})
        assert ["overrides.2025-01-01"] == paths(exc)


class TestOverrides:
    def test_half_day(self) -> None:
        """An override replaces the day's windows."""
        cal = BusinessCalendar("UTC", LUNCH, overrides={"2025-12-31": ["09:00-13:00"]})
        assert utc(2026, 1, 1, 10) == cal.add(utc(2025, 12, 31, 12), 2 * H)

    def test_closed_afternoon(self) -> None:
        """An override with only a morning closes the afternoon; [] closes the day."""
        cal = BusinessCalendar("UTC", LUNCH, overrides={date(2025, 3, 3): ["09:00-12:00"], "2025-03-04": []})
        assert utc(2025, 3, 5, 9) == cal.next_open(utc(2025, 3, 3, 12))

    def test_override_beats_holiday(self, cn: BusinessCalendar) -> None:
        """An override opens a holiday."""
        cal = BusinessCalendar(
            "Asia/Shanghai", LUNCH, holidays=country_holidays("CN"), overrides={"2025-10-01": "10:00-11:00"}
        )
        assert cal.is_open(sh(2025, 10, 1, 10, 30))
        assert not cn.is_open(sh(2025, 10, 1, 10, 30))


class TestNightShift:
    def test_belongs_to_start_day(self) -> None:
        """A 22:00-06:00 shift on Friday runs into Saturday morning."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["22:00-06:00"]})
        assert cal.is_open(utc(2025, 3, 8, 5))  # Saturday 05:00, Friday's shift
        assert not cal.is_open(utc(2025, 3, 3, 5))  # Monday 05:00: Sunday had no shift
        assert utc(2025, 3, 10, 23) == cal.add(utc(2025, 3, 8, 5), 2 * H)

    def test_holiday_closes_whole_shift(self) -> None:
        """A holiday on the start day closes the whole shift, past midnight too."""
        cal = BusinessCalendar("UTC", {"daily": ["22:00-06:00"]}, holidays=["2025-03-03"])
        assert not cal.is_open(utc(2025, 3, 4, 2))
        assert cal.is_open(utc(2025, 3, 3, 2))  # Sunday's shift runs into the holiday

    def test_24_hour_days(self) -> None:
        """'00:00-24:00' is a whole day."""
        cal = BusinessCalendar("UTC", {"sat,sun": ["00:00-24:00"]})
        assert timedelta(hours=48) == cal.between(utc(2025, 3, 7), utc(2025, 3, 10))


class TestDST:
    def test_spring_forward_day(self) -> None:
        """A 24/7 day in New York has 23 hours on the spring-forward day."""
        cal = BusinessCalendar.always_open("America/New_York")
        assert timedelta(hours=23) == cal.between(ny(2025, 3, 9), ny(2025, 3, 10))
        assert timedelta(hours=25) == cal.between(ny(2025, 11, 2), ny(2025, 11, 3))

    def test_night_shift_across_changes(self) -> None:
        """A 22:00-06:00 shift is 7 hours on the spring night and 9 on the autumn night."""
        cal = BusinessCalendar("America/New_York", {"daily": ["22:00-06:00"]})
        assert timedelta(hours=7) == cal.between(ny(2025, 3, 8, 12), ny(2025, 3, 9, 12))
        assert timedelta(hours=9) == cal.between(ny(2025, 11, 1, 12), ny(2025, 11, 2, 12))

    def test_skipped_time_means_the_jump(self) -> None:
        """A window starting in the skipped hour starts when the clocks jump (03:00)."""
        cal = BusinessCalendar("America/New_York", {"sun": ["02:30-04:00"]})
        assert [(ny(2025, 3, 9, 3), ny(2025, 3, 9, 4))] == cal.open_intervals(ny(2025, 3, 9), ny(2025, 3, 10))
        empty = BusinessCalendar("America/New_York", {"sun": ["02:00-02:30"], "mon": ["09:00-10:00"]})
        assert ny(2025, 3, 10, 9) == empty.next_open(ny(2025, 3, 9))

    def test_repeated_time_means_first(self) -> None:
        """A window starting in the repeated hour starts at its first occurrence."""
        cal = BusinessCalendar("America/New_York", {"sun": ["01:30-02:00"]})
        assert timedelta(hours=1, minutes=30) == cal.between(ny(2025, 11, 2), ny(2025, 11, 3))
        assert cal.is_open(ny(2025, 11, 2, 1, 45, fold=0))
        assert cal.is_open(ny(2025, 11, 2, 1, 45, fold=1))

    def test_results_carry_the_right_offset(self) -> None:
        """Results after a change carry the new offset."""
        cal = BusinessCalendar("America/New_York", {"daily": ["09:00-17:00"]})
        result = cal.add(ny(2025, 3, 8, 16), 2 * H)
        assert "2025-03-09T10:00:00-04:00" == result.isoformat()


class TestData:
    def test_round_trip(self) -> None:
        """to_dict writes everything and from_dict reads it back equal."""
        cal = BusinessCalendar(
            "Asia/Shanghai",
            {"mon-fri": ["09:00-12:00", "13:00-18:00:30"], "sat": ["22:00-06:00"]},
            holidays=[country_holidays("CN"), "2025-03-03"],
            workdays=["2025-03-09"],
            overrides={"2025-12-31": ["09:00-13:00"], "2025-12-24": []},
            name="support",
            workday_hours="sat",
        )
        data = cal.to_dict()
        assert {
            "tz": "Asia/Shanghai",
            "hours": {"mon-fri": ["09:00-12:00", "13:00-18:00:30"], "sat": ["22:00-06:00"]},
            "holidays": [{"country": "CN"}, "2025-03-03"],
            "workdays": ["2025-03-09"],
            "overrides": {"2025-12-24": [], "2025-12-31": ["09:00-13:00"]},
            "name": "support",
            "workday_hours": "sat",
        } == data
        assert cal == BusinessCalendar.from_dict(data)

    def test_round_trip_holidays_object(self) -> None:
        """A holidays-package country object is written as its country."""
        cal = BusinessCalendar("UTC", LUNCH, holidays=holidays_pkg.country_holidays("US", subdiv="CA"))
        assert [{"country": "US", "subdiv": "CA"}] == cal.to_dict()["holidays"]

    def test_workday_windows_round_trip(self) -> None:
        """workday_hours given as windows is written as windows."""
        cal = BusinessCalendar("UTC", LUNCH, workday_hours=["10:00-12:00"])
        assert ["10:00-12:00"] == cal.to_dict()["workday_hours"]
        assert cal == BusinessCalendar.from_dict(cal.to_dict())

    def test_from_dict_errors(self) -> None:
        """from_dict reports unknown and missing keys, and every field problem."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict({"zone": "UTC", "hours": {}})
        assert ["zone", "tz"] == paths(exc)
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict(
                {"tz": "UTC", "hours": {"mon": "9-5"}, "holidays": [{"country": "CN", "x": 1}]}
            )
        assert ["hours.mon[0]", "hours.mon[0]", "holidays[0]"] == paths(exc)
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict(["UTC"])  # type: ignore[arg-type]
        assert [""] == paths(exc)

    def test_from_dict_nulls(self) -> None:
        """Null optional fields mean their defaults."""
        cal = BusinessCalendar.from_dict({"tz": "UTC", "hours": LUNCH, "holidays": None, "workdays": None})
        assert BusinessCalendar("UTC", LUNCH) == cal

    def test_bad_holidays_value(self) -> None:
        """A string or a number is not a holidays value."""
        for value in ("CN", 5):
            with pytest.raises(ValidationError) as exc:
                BusinessCalendar("UTC", LUNCH, holidays=value)
            assert ["holidays"] == paths(exc)
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, workdays="2025-01-01")
        assert ["workdays"] == paths(exc)
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, overrides=["2025-01-01"], name=3)  # type: ignore[arg-type]
        assert ["overrides", "name"] == paths(exc)
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", LUNCH, holidays=[datetime(2025, 1, 1, tzinfo=UTC)])
        assert ["holidays[0]"] == paths(exc)

    def test_windows_on(self, cn: BusinessCalendar) -> None:
        """windows_on shows a date's schedule after holidays and make-up days."""
        assert ((32400, 43200), (46800, 64800)) == cn.windows_on(date(2025, 1, 26))
        assert () == cn.windows_on(date(2025, 1, 29))


class TestRange:
    def test_far_future_microseconds(self) -> None:
        """Microseconds stay exact centuries ahead, where float seconds would round."""
        cal = BusinessCalendar("America/New_York", LUNCH)
        s = datetime(2300, 3, 3, 11, 59, 59, 999_999, tzinfo=UTC)
        d = timedelta(hours=5, microseconds=7)
        e = cal.add(s, d)
        assert 7 == e.microsecond
        assert d == cal.between(s, e)

    def test_before_1970(self) -> None:
        """Instants before the Unix epoch work the same."""
        cal = BusinessCalendar("UTC", LUNCH)
        assert utc(1969, 12, 31, 14) == cal.add(utc(1969, 12, 31, 11), 2 * H)

    def test_end_of_time(self) -> None:
        """A result past year 9999 is a ValidationError, not an OverflowError."""
        cal = BusinessCalendar("UTC", LUNCH)
        with pytest.raises(ValidationError, match="outside the years 1-9999"):
            cal.add(datetime(9999, 12, 30, tzinfo=UTC), 1000 * H)
        with pytest.raises(ValidationError, match="outside the years 1-9999"):
            cal.subtract(datetime(1, 1, 3, tzinfo=UTC), 1000 * H)
        with pytest.raises(ValidationError, match="outside the years 1-9999"):
            cal.next_open(datetime(9999, 12, 31, 20, tzinfo=UTC))
        assert utc(9999, 12, 1, 11) == cal.add(datetime(9999, 12, 1, tzinfo=UTC), 2 * H)

    def test_never_open(self) -> None:
        """A calendar with no open time for decades says so instead of looping."""
        mondays = [date(2025, 3, 3) + timedelta(weeks=i) for i in range(52 * 50)]
        cal = BusinessCalendar("UTC", {"mon": ["09:00-10:00"]}, holidays=mondays)
        with pytest.raises(ValidationError, match="no open time within 42 years"):
            cal.next_open(utc(2025, 3, 3))
        with pytest.raises(ValidationError, match="no open time"):
            cal.add(utc(2025, 3, 3), H)
        assert utc(2025, 2, 24, 10) == cal.subtract(utc(2025, 3, 3), timedelta(0, 1)) + timedelta(0, 1)

    def test_country_sources_shared(self) -> None:
        """country_holidays returns one shared source per country, so years load once."""
        assert country_holidays("CN") is country_holidays("cn")


class TestConcurrency:
    def test_threads_agree(self) -> None:
        """Threads filling the same calendar's caches at once get the same answers as one thread."""
        from concurrent.futures import ThreadPoolExecutor

        starts = [sh(y, m, 3, 17) for y in range(2024, 2028) for m in range(1, 13)]
        shared = BusinessCalendar("Asia/Shanghai", LUNCH, holidays=country_holidays("DE", subdiv="BY"))
        alone = BusinessCalendar(
            "Asia/Shanghai", LUNCH, holidays=holidays_pkg.country_holidays("DE", subdiv="BY")
        )
        expected = [alone.add(s, 30 * H) for s in starts]
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda s: shared.add(s, 30 * H), starts))
        assert expected == got

    def test_positional_arguments(self) -> None:
        """The published positional order works: tz, hours, holidays, workdays, overrides, name."""
        cal = BusinessCalendar("UTC", LUNCH, ["2025-03-03"], ["2025-03-08"], {"2025-03-04": []}, "x")
        assert (frozenset({date(2025, 3, 3)}), "x") == (cal.holidays, cal.name)


class CompanyDays:
    """A custom holiday source: the company's own closing days and working Saturdays."""

    def dates_in(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        return frozenset({date(year, 3, 3)}), frozenset({date(year, 3, 8)})


class TestMore:
    def test_custom_source(self) -> None:
        """Any object with dates_in(year) is a holiday source."""
        cal = BusinessCalendar("UTC", LUNCH, holidays=[CompanyDays()])
        assert not cal.is_open(utc(2025, 3, 3, 10))
        assert cal.is_open(utc(2025, 3, 8, 10))
        with pytest.raises(ValidationError) as exc:
            cal.to_dict()
        assert ["holidays"] == paths(exc)

    def test_next_close_across_chunks(self) -> None:
        """An open stretch running over many months ends at the next holiday."""
        cal = BusinessCalendar("UTC", {"daily": ["00:00-24:00"]}, holidays=["2027-06-01"])
        assert utc(2027, 6, 1) == cal.next_close(utc(2025, 3, 3, 10))
        assert utc(2027, 6, 2) == cal.next_open(utc(2027, 6, 1, 10))

    def test_between_before_first_opening_of_a_chunk(self) -> None:
        """Instants in a chunk before its first opening have no business time between them."""
        from ticketkit.calendar._instants import CHUNK_S

        cal = BusinessCalendar("UTC", {"mon": ["09:00-10:00"]})
        lo = datetime.fromtimestamp(56 * CHUNK_S, UTC)  # 2029-07-18 05:49:52, a Wednesday
        assert 2 == lo.weekday()
        assert timedelta(0) == cal.between(lo + timedelta(seconds=1), lo + timedelta(hours=1))
        assert H == cal.between(lo - timedelta(days=6), lo + timedelta(hours=1))
        assert H == cal.between(lo + timedelta(seconds=1), lo + timedelta(days=6))
        assert [] == cal.open_intervals(lo, lo + timedelta(days=1))

    @pytest.mark.parametrize(
        ("hours", "path", "fragment"),
        [
            ({5: ["09:00-10:00"]}, "hours.5", "expected weekday names"),
            ({"mon": [(time(9, 0, 0, 5), time(10))]}, "hours.mon[0]", "whole seconds"),
            ({"mon": [(9, 10)]}, "hours.mon[0]", "expected a time"),
            ({"mon": [None]}, "hours.mon[0]", "expected a window"),
        ],
    )
    def test_more_bad_windows(self, hours: object, path: str, fragment: str) -> None:
        """Odd window values are reported at their path."""
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar("UTC", hours)  # type: ignore[arg-type]
        assert {path} == set(paths(exc))
        assert fragment in exc.value.errors[0].message

    def test_time_pairs(self) -> None:
        """A day's windows may be a pair of times, or a list of pairs."""
        a = BusinessCalendar("UTC", {"mon": (time(9), time(12))})
        b = BusinessCalendar("UTC", {"mon": [(time(9), time(12))]})
        assert a == b

    def test_timezone_utc(self) -> None:
        """datetime.timezone.utc is taken as the UTC zone."""
        assert "UTC" == BusinessCalendar(UTC, LUNCH).to_dict()["tz"]

    def test_repr_all_parts(self) -> None:
        """The repr summarizes holidays, workdays, overrides and the name."""
        cal = BusinessCalendar("UTC", LUNCH, ["2025-03-03"], ["2025-03-08"], {"2025-03-04": []}, "desk")
        assert (
            "BusinessCalendar(name='desk', tz='UTC', hours={'mon-fri': ['09:00-12:00', '13:00-18:00']}, "
            "holidays=<0 source(s), 1 date(s)>, workdays=<1 date(s)>, overrides=<1 date(s)>)"
        ) == repr(cal)


class TestImport:
    def test_holidays_not_loaded_by_import(self) -> None:
        """import ticketkit does not import the holidays package (it loads on first use)."""
        import subprocess
        import sys

        code = "import sys, ticketkit; print('holidays' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert "False" == out.stdout.strip()


class TestMemory:
    def test_chunk_cache_is_bounded(self) -> None:
        """Questions about scattered years keep a bounded number of chunks, with the same answers."""
        from ticketkit.calendar._instants import MAX_CHUNKS as _MAX_CHUNKS

        cal = BusinessCalendar("UTC", LUNCH)
        fresh = BusinessCalendar("UTC", LUNCH)
        starts = [utc(y, 3, 3, 11) for y in range(1900, 2200)]
        got = [cal.add(s, 2 * H) for s in starts]
        assert _MAX_CHUNKS >= len(cal._chunks)
        assert got[:5] == [fresh.add(s, 2 * H) for s in starts[:5]]
