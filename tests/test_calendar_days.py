"""Business days, openings and closings in both directions, and combined calendars, each
against a slow reference (built on the one in test_calendar_reference) and by their laws."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ticketkit import BusinessCalendar, ValidationError, country_holidays
from ticketkit.calendar._instants import CHUNK_US

from .test_calendar_reference import (
    FIXED,
    HM,
    LO,
    US,
    ZONES,
    Spec,
    build,
    day_intervals,
    instant,
    local_to_utc,
    specs,
    u,
)

H = timedelta(hours=1)
SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
Intervals = list[tuple[datetime, datetime]]


# ---------------------------------------------------------------------------- references


def ref_is_business_day(spec: Spec, day: date) -> bool:
    return bool(spec.windows(day))


def ref_add_days(spec: Spec, start: datetime, n: int, *, opening: bool = False) -> datetime:
    """Walk the dates one at a time, counting business days, then put the time of day back."""
    tz = ZoneInfo(spec.tz)
    here = start.astimezone(tz)
    if n == 0:
        return here.astimezone(UTC)
    day, left, one = here.date(), abs(n), timedelta(days=1 if n > 0 else -1)
    while left:
        day += one
        left -= ref_is_business_day(spec, day)
    if opening:
        return local_to_utc(tz, day, spec.windows(day)[0][0])
    naive = datetime.combine(day, here.time())
    exact = naive.replace(tzinfo=tz).astimezone(UTC)
    if exact.astimezone(tz).replace(tzinfo=None) == naive:
        return exact
    return local_to_utc(tz, day, here.hour * 3600 + here.minute * 60 + here.second)


def ref_days_between(spec: Spec, a: datetime, b: datetime) -> int:
    tz = ZoneInfo(spec.tz)
    da, db = a.astimezone(tz).date(), b.astimezone(tz).date()
    if db >= da:
        return sum(ref_is_business_day(spec, da + timedelta(days=i)) for i in range(1, (db - da).days + 1))
    return -sum(ref_is_business_day(spec, db + timedelta(days=i)) for i in range((da - db).days))


def merged(intervals: Intervals) -> Intervals:
    out: Intervals = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def ref_intervals(spec: Spec, t: datetime, days: int = 90) -> Intervals:
    """The open intervals of the days around ``t``, overlapping and touching ones joined."""
    mid = t.astimezone(ZoneInfo(spec.tz)).date()
    raw = [iv for i in range(-days, days + 1) for iv in day_intervals(spec, mid + timedelta(days=i))]
    return merged(raw)


def boundaries(ivs: Intervals, t: datetime) -> dict[str, datetime | None]:
    """Openings and closings around ``t`` from a list of joined intervals (the outer two are cut off)."""
    opens = [a for a, _ in ivs[1:]]
    closes = [b for _, b in ivs[:-1]]
    return {
        "prev_open": max((a for a in opens if a <= t), default=None),
        "prev_open_strict": max((a for a in opens if a < t), default=None),
        "prev_close": max((b for b in closes if b <= t), default=None),
        "prev_close_strict": max((b for b in closes if b < t), default=None),
        "next_open_strict": min((a for a in opens if a > t), default=None),
        "next_close_strict": min((b for b in closes if b > t), default=None),
    }


def ref_add_iv(ivs: Intervals, s: datetime, d: timedelta) -> datetime | None:
    if d == timedelta(0):
        return s
    for a, b in ivs:
        if b <= s:
            continue
        start = max(a, s)
        if d <= b - start:
            return start + d
        d -= b - start
    return None


def ref_between_iv(ivs: Intervals, x: datetime, y: datetime) -> timedelta:
    return sum((min(b, y) - max(a, x) for a, b in ivs if a < y and b > x), timedelta(0))


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out = [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) < min(x1, y1)]
    return merged(out)


# ---------------------------------------------------------------------------- business days

small_n = st.integers(-40, 40)
fixed = st.sampled_from(sorted(FIXED)).map(lambda k: FIXED[k])
# Instants from March 2024 to September 2027, so the references' day windows cover them.
within = st.builds(
    instant,
    st.integers(
        (datetime(2024, 3, 1, tzinfo=UTC) - LO) // US, (datetime(2027, 10, 1, tzinfo=UTC) - LO) // US
    ),
    st.integers(0, len(ZONES) - 1),
)


class TestBusinessDays:
    @given(pair=fixed, s=within, n=small_n)
    def test_fixed_calendars_agree(self, pair: tuple[Spec, BusinessCalendar], s: datetime, n: int) -> None:
        """add_days, subtract_days, days_between and is_business_day agree with the day-by-day walk."""
        spec, cal = pair
        assert ref_add_days(spec, s, n) == u(cal.add_days(s, n))
        assert ref_add_days(spec, s, -n) == u(cal.subtract_days(s, n))
        if n:
            assert ref_add_days(spec, s, n, opening=True) == u(cal.add_days(s, n, opening=True))
        other = s + timedelta(days=n)
        assert ref_days_between(spec, s, other) == cal.days_between(s, other)
        day = s.astimezone(ZoneInfo(spec.tz)).date()
        assert ref_is_business_day(spec, day) == cal.is_business_day(day)

    @given(spec=specs(), s=within, n=st.integers(-12, 12))
    def test_random_calendars_agree(self, spec: Spec, s: datetime, n: int) -> None:
        """Random calendars (DST zones, holidays, make-up days, overrides) agree with the walk."""
        cal = build(spec)
        assume(any(ref_is_business_day(spec, date(2025, 1, 1) + timedelta(days=i)) for i in range(14)))
        assert ref_add_days(spec, s, n) == u(cal.add_days(s, n))
        assert ref_days_between(spec, s, s + timedelta(days=3 * n)) == cal.days_between(
            s, s + timedelta(days=3 * n)
        )

    @given(pair=fixed, s=within, n=st.integers(-300, 300))
    def test_add_days_then_days_between_is_n(
        self, pair: tuple[Spec, BusinessCalendar], s: datetime, n: int
    ) -> None:
        """days_between(s, add_days(s, n)) == n, for either sign and any start."""
        _, cal = pair
        assert n == cal.days_between(s, cal.add_days(s, n))

    @given(pair=fixed, a=within, b=within, c=within)
    def test_days_between_additive_on_business_days(
        self, pair: tuple[Spec, BusinessCalendar], a: datetime, b: datetime, c: datetime
    ) -> None:
        """Between business days, counts add up and change sign with the order."""
        _, cal = pair
        a, b, c = (cal.add_days(cal.add_days(x, -1), 1) for x in (a, b, c))  # land on business days
        assert cal.days_between(a, c) == cal.days_between(a, b) + cal.days_between(b, c)
        assert -cal.days_between(a, b) == cal.days_between(b, a)

    def test_weekend_starts(self) -> None:
        """From a Friday or a Saturday one business day is Monday; back from a Saturday, Friday."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        fri, sat = datetime(2025, 3, 7, 20, tzinfo=UTC), datetime(2025, 3, 8, 20, tzinfo=UTC)
        assert datetime(2025, 3, 10, 20, tzinfo=UTC) == cal.add_days(fri, 1) == cal.add_days(sat, 1)
        assert datetime(2025, 3, 7, 20, tzinfo=UTC) == cal.subtract_days(sat, 1)
        assert sat == cal.add_days(sat, 0)

    def test_china_make_up_days(self) -> None:
        """China's make-up Sunday counts; the Spring Festival week does not."""
        cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-18:00"]}, holidays=country_holidays("CN"))
        fri = datetime(2025, 1, 24, 15, tzinfo=SH)
        assert [date(2025, 1, 26), date(2025, 1, 27), date(2025, 2, 5)] == [
            cal.add_days(fri, n).date() for n in (1, 2, 3)
        ]
        assert 3 == cal.days_between(fri, datetime(2025, 2, 5, tzinfo=SH))

    def test_skipped_time_means_the_jump(self) -> None:
        """A kept time of day the clocks skip is the instant they jump to, as for windows."""
        cal = BusinessCalendar("America/New_York", {"daily": ["09:00-17:00"]})
        start = datetime(2025, 3, 8, 2, 30, 0, 500, tzinfo=NY)
        assert datetime(2025, 3, 9, 7, 0, tzinfo=UTC) == u(cal.add_days(start, 1))
        assert datetime(2025, 3, 10, 6, 30, 0, 500, tzinfo=UTC) == u(cal.add_days(start, 2))

    def test_exact_to_the_microsecond(self) -> None:
        """The time of day keeps its microseconds, whatever zone the start is written in."""
        cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-18:00"]})
        start = datetime(2025, 3, 7, 2, 0, 0, 123456, tzinfo=UTC)  # Friday 10:00:00.123456 in Shanghai
        assert datetime(2025, 3, 10, 10, 0, 0, 123456, tzinfo=SH) == cal.add_days(start, 1)

    def test_aware_datetime_as_a_day(self) -> None:
        """is_business_day reads an aware datetime as its date in the calendar's zone."""
        cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-18:00"]})
        assert cal.is_business_day(datetime(2025, 3, 9, 20, tzinfo=UTC))  # Monday in Shanghai
        assert not cal.is_business_day(date(2025, 3, 9))

    @pytest.mark.parametrize(
        ("call", "path"),
        [
            (lambda c: c.add_days(datetime(2025, 3, 3), 1), "start"),
            (lambda c: c.add_days(datetime(2025, 3, 3, tzinfo=UTC), 1.5), "n"),
            (lambda c: c.subtract_days(datetime(2025, 3, 3, tzinfo=UTC), True), "n"),
            (lambda c: c.days_between(datetime(2025, 3, 3, tzinfo=UTC), "2025-03-04"), "b"),
            (lambda c: c.is_business_day("2025-03-03"), "day"),
            (lambda c: c.is_business_day(datetime(2025, 3, 3)), "day"),
        ],
    )
    def test_bad_input(self, call: object, path: str) -> None:
        """Naive datetimes, fractional counts and non-dates are ValidationErrors naming the argument."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        with pytest.raises(ValidationError) as exc:
            call(cal)  # type: ignore[operator]
        assert [path] == [e.path for e in exc.value.errors]

    def test_no_business_day(self) -> None:
        """A calendar with no business day for decades says so instead of looping."""
        cal = BusinessCalendar("UTC", {"mon": ["09:00-10:00"]}, overrides={"2025-03-03": []})
        closed = BusinessCalendar(
            "UTC",
            {"mon": ["09:00-10:00"]},
            holidays=[date(2025, 3, 3) + timedelta(weeks=i) for i in range(52 * 50)],
        )
        assert date(2025, 3, 10) == cal.add_days(datetime(2025, 3, 1, tzinfo=UTC), 1).date()
        with pytest.raises(ValidationError, match="no business day"):
            closed.add_days(datetime(2025, 3, 1, tzinfo=UTC), 1)
        with pytest.raises(ValidationError, match="no business day"):
            closed.add_days(datetime(2074, 6, 1, tzinfo=UTC), -1)
        with pytest.raises(ValidationError, match="years 1-9999"):
            cal.add_days(datetime(9999, 12, 20, tzinfo=UTC), 5)

    def test_long_counts_across_years(self) -> None:
        """Counting over several years matches the walk."""
        spec, cal = FIXED["cn_lunch"]
        a, b = datetime(2024, 1, 3, tzinfo=SH), datetime(2026, 11, 30, tzinfo=SH)
        assert ref_days_between(spec, a, b) == cal.days_between(a, b)
        assert ref_days_between(spec, b, a) == cal.days_between(b, a)


# ---------------------------------------------------------------------------- openings and closings


def roll_answers(cal: BusinessCalendar, t: datetime) -> dict[str, datetime | None]:
    def utc(x: datetime | None) -> datetime | None:
        return None if x is None else u(x)

    return {
        "prev_open": utc(cal.prev_open(t)),
        "prev_open_strict": utc(cal.prev_open(t, strict=True)),
        "prev_close": utc(cal.prev_close(t)),
        "prev_close_strict": utc(cal.prev_close(t, strict=True)),
        "next_open_strict": utc(cal.next_open(t, strict=True)),
        "next_close_strict": utc(cal.next_close(t, strict=True)),
    }


class TestRolls:
    @given(spec=specs(), t=within)
    def test_random_calendars_agree(self, spec: Spec, t: datetime) -> None:
        """Every opening and closing on either side agrees with the joined intervals, DST included."""
        ivs = ref_intervals(spec, t)
        want = boundaries(ivs, u(t))
        assume(all(v is not None for v in want.values()))
        assert want == roll_answers(build(spec), t)

    def test_dst_days(self) -> None:
        """Every 15 minutes around both 2025 New York changes, the night shift agrees."""
        spec, cal = FIXED["ny_night"]
        for base in (datetime(2025, 3, 7, tzinfo=UTC), datetime(2025, 10, 31, tzinfo=UTC)):
            ivs = ref_intervals(spec, base, days=20)
            for q in range(4 * 24 * 4):
                t = base + q * timedelta(minutes=15)
                assert boundaries(ivs, t) == roll_answers(cal, t)

    def test_next_opening_strictly_after_across_a_gap(self) -> None:
        """The opening after one at 03:00 on a spring-forward night is the next day's, not an hour off."""
        cal = BusinessCalendar("America/New_York", {"daily": ["02:30-04:00", "09:00-10:00"]})
        jump = datetime(2025, 3, 9, 3, 0, tzinfo=NY)  # 02:30 is skipped: the window opens at the jump
        assert jump == cal.next_open(datetime(2025, 3, 9, 1, tzinfo=NY))
        assert datetime(2025, 3, 9, 9, tzinfo=NY) == cal.next_open(jump, strict=True)
        assert jump == cal.prev_open(datetime(2025, 3, 9, 3, 30, tzinfo=NY))
        assert datetime(2025, 3, 8, 10, tzinfo=NY) == cal.prev_close(jump)

    def test_cuts_between_chunks_are_not_boundaries(self) -> None:
        """An open stretch running over a chunk edge has no opening or closing there."""
        cal = BusinessCalendar("UTC", {"daily": ["00:00-24:00"]}, holidays=["2025-01-01", "2027-06-01"])
        edge = datetime.fromtimestamp(
            (datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 10**6 // CHUNK_US + 1) * CHUNK_US / 10**6, UTC
        )
        assert datetime(2025, 1, 2, tzinfo=UTC) == cal.prev_open(edge)
        assert datetime(2025, 1, 1, tzinfo=UTC) == cal.prev_close(edge)
        assert datetime(2027, 6, 2, tzinfo=UTC) == cal.next_open(edge, strict=True)
        assert datetime(2027, 6, 1, tzinfo=UTC) == cal.next_close(edge, strict=True)

    def test_never_closes_or_opens(self) -> None:
        """A 24/7 calendar has no closing (None) and no opening to find (an error naming it)."""
        cal = BusinessCalendar.always_open()
        t = datetime(2025, 3, 3, tzinfo=UTC)
        assert (None, None) == (cal.prev_close(t), cal.next_close(t, strict=True))
        with pytest.raises(ValidationError, match="no opening"):
            cal.next_open(t, strict=True)
        with pytest.raises(ValidationError, match="no opening"):
            cal.prev_open(t)
        holiday = BusinessCalendar("UTC", {"daily": ["00:00-24:00"]}, holidays=["2025-01-01"])
        assert holiday.prev_close(t) == datetime(2025, 1, 1, tzinfo=UTC)
        assert holiday.next_close(t, strict=True) is None

    def test_naive_refused(self) -> None:
        """A naive instant is refused by every roll."""
        cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        for roll in (cal.prev_open, cal.prev_close):
            with pytest.raises(ValidationError):
                roll(datetime(2025, 3, 3))


# The 24/7 calendar has no openings to roll to.
calendars = st.sampled_from(["cn_lunch", "ny_night"]).map(lambda k: FIXED[k][1])


class TestRollLaws:
    @given(cal=calendars, t=within)
    def test_prev_open_of_next_open(self, cal: BusinessCalendar, t: datetime) -> None:
        """prev_open(next_open(t)) is the opening of the open period next_open(t) is in: open all the way."""
        x = cal.next_open(t)
        p = cal.prev_open(x)
        assert u(p) <= u(x)
        assert cal.is_open(p)
        assert not cal.is_open(u(p) - US)
        assert u(x) - u(p) == cal.between(p, x)
        if not cal.is_open(t):
            assert u(x) == u(p)

    @given(cal=calendars, t=within)
    def test_openings_are_fixed_points(self, cal: BusinessCalendar, t: datetime) -> None:
        """An opening is its own next_open and prev_open; a closing its own next_close and prev_close."""
        p = cal.prev_open(t)
        assert (u(p), u(p)) == (u(cal.next_open(p)), u(cal.prev_open(p)))
        c = cal.prev_close(t)
        if c is not None:
            assert u(c) == u(cal.prev_close(c))  # type: ignore[arg-type]
            assert u(c) == u(cal.next_close(c))  # type: ignore[arg-type]

    @given(cal=calendars, t=within)
    def test_strict_steps_round_trip(self, cal: BusinessCalendar, t: datetime) -> None:
        """Stepping strictly forward then strictly back lands where the non-strict step back does."""
        assert u(cal.prev_open(t)) == u(cal.prev_open(cal.next_open(t, strict=True), strict=True))
        nxt = cal.next_close(t, strict=True)
        if nxt is not None:
            assert cal.prev_close(t) == cal.prev_close(nxt, strict=True)

    @given(cal=calendars, t=within)
    def test_nothing_between(self, cal: BusinessCalendar, t: datetime) -> None:
        """No opening lies between prev_open(t) and the next opening after it."""
        p = cal.prev_open(t)
        assert u(t) < u(cal.next_open(p, strict=True))


# ---------------------------------------------------------------------------- combined calendars

SHIFT = Spec(tz="Asia/Shanghai", week={d: [(11 * HM, 20 * HM)] for d in range(6)})
NIGHT = Spec(tz="America/New_York", week={d: [(20 * HM, 26 * HM)] for d in range(7)})
durations = st.integers(0, 20 * 3600 * 10**6).map(lambda n: n * US)


class TestCombined:
    @given(spec=specs(), other=st.sampled_from([SHIFT, NIGHT]), s=within, d=durations, t=within)
    def test_agree_with_intersected_and_joined_intervals(
        self, spec: Spec, other: Spec, s: datetime, d: timedelta, t: datetime
    ) -> None:
        """all_of and any_of answer add, between and is_open as the intersected / joined intervals do."""
        a, b = build(spec), build(other)
        ia, ib = ref_intervals(spec, s, 120), ref_intervals(other, s, 120)
        t = u(s) + (t - s) % timedelta(days=20)
        for cal, ivs in ((a & b, intersect(ia, ib)), (a | b, merged(ia + ib))):
            assume(bool(ivs))
            want = ref_add_iv(ivs, u(s), d)
            assume(want is not None and want < ivs[-1][1] - timedelta(days=30))
            assert want == u(cal.add(s, d))
            assert ref_between_iv(ivs, u(s), t) == cal.between(s, t)
            assert any(x <= u(s) < y for x, y in ivs) == cal.is_open(s)

    @given(pair=fixed, other=st.sampled_from([SHIFT, NIGHT]), t=within, d=st.integers(0, 10**6))
    def test_intersection_contained_in_both(
        self, pair: tuple[Spec, BusinessCalendar], other: Spec, t: datetime, d: int
    ) -> None:
        """Open in a & b exactly when open in both; in a | b when in either; business time in between."""
        a, b = pair[1], build(other)
        both, either = a & b, a | b
        assert (a.is_open(t) and b.is_open(t)) == both.is_open(t)
        assert (a.is_open(t) or b.is_open(t)) == either.is_open(t)
        end = t + d * timedelta(seconds=7)
        inter, union = both.between(t, end), either.between(t, end)
        assert inter <= min(a.between(t, end), b.between(t, end))
        assert a.between(t, end) + b.between(t, end) == inter + union

    def test_team_shift_within_shop(self) -> None:
        """A shift inside the shop's hours keeps the shop's holidays and lunch, and writes both as data."""
        shop = BusinessCalendar(
            "Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, holidays=country_holidays("CN")
        )
        shift = BusinessCalendar("Asia/Shanghai", {"daily": ["11:00-20:00"]})
        team = BusinessCalendar.all_of(shop, shift, name="team A")
        fri = datetime(2025, 1, 24, 17, tzinfo=SH)
        assert datetime(2025, 1, 26, 12, tzinfo=SH) == team.add(fri, 2 * H)  # make-up Sunday, from 11:00
        assert ((39600, 43200), (46800, 64800)) == team.windows_on(date(2025, 1, 27))
        assert team.is_business_day(date(2025, 1, 26))
        data = team.to_dict()
        assert {"all_of": [shop.to_dict(), shift.to_dict()], "name": "team A"} == data
        assert team == BusinessCalendar.from_dict(data)
        assert "all_of" in repr(team)

    def test_union_of_zones_reports_in_first_or_given(self) -> None:
        """Results are in the first calendar's zone, or the one asked for; the zone round-trips."""
        day = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-18:00"]})
        night = BusinessCalendar("America/New_York", {"mon-fri": ["09:00-18:00"]})
        both = BusinessCalendar.any_of(day, night, tz="UTC")
        assert "UTC" == both.tz.key
        assert both == BusinessCalendar.from_dict(both.to_dict())
        assert datetime(2025, 3, 3, 1, tzinfo=UTC) == both.next_open(datetime(2025, 3, 3, tzinfo=UTC))
        assert (day | night).tz is day.tz

    def test_nested_and_always(self) -> None:
        """Combined calendars combine again; an all-day union never closes."""
        a = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        b = BusinessCalendar("UTC", {"daily": ["12:00-20:00"]})
        nested = (a & b) | BusinessCalendar.always_open()
        assert nested.next_close(datetime(2025, 3, 3, tzinfo=UTC)) is None
        assert nested == BusinessCalendar.from_dict(nested.to_dict())

    def test_parts_keep_their_limits(self) -> None:
        """A part's beyond_known applies inside a combined calendar."""
        from ticketkit import UnpublishedHolidaysError

        strict = BusinessCalendar(
            "Asia/Shanghai",
            {"mon-fri": ["09:00-18:00"]},
            holidays=country_holidays("CN"),
            beyond_known="error",
        )
        shift = BusinessCalendar("Asia/Shanghai", {"daily": ["08:00-20:00"]})
        with pytest.raises(UnpublishedHolidaysError):
            (strict & shift).add(datetime(2026, 12, 31, 17, tzinfo=SH), 2 * H)

    def test_bad_combinations(self) -> None:
        """Fewer than two calendars, non-calendars and bad data are refused with paths."""
        a = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        with pytest.raises(ValidationError):
            BusinessCalendar.all_of(a)
        with pytest.raises(ValidationError):
            BusinessCalendar.any_of(a, "24/7")  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.all_of(a, a, tz="Mars/Base", name=3)  # type: ignore[arg-type]
        assert ["tz", "name"] == [e.path for e in exc.value.errors]
        assert NotImplemented == a.__and__(3)  # type: ignore[arg-type]
        assert NotImplemented == a.__or__(3)  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict({"all_of": [a.to_dict(), {"tz": "UTC"}], "hours": {}})
        assert ["hours"] == [e.path for e in exc.value.errors]
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict({"all_of": [a.to_dict(), {"tz": "UTC"}]})
        assert ["all_of[1].hours"] == [e.path for e in exc.value.errors]
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict({"any_of": [a.to_dict()]})
        assert ["any_of"] == [e.path for e in exc.value.errors]
        with pytest.raises(ValidationError) as exc:
            BusinessCalendar.from_dict({"any_of": [a.to_dict()] * 2, "all_of": [a.to_dict()] * 2})
        assert ["any_of"] == [e.path for e in exc.value.errors]


# ---------------------------------------------------------------------------- broken on purpose


def check_days(spec: Spec, cal: BusinessCalendar, cases: int = 150) -> None:
    """The reference checks of business days over seeded random cases (assertions fail on a bug)."""
    import random

    rng = random.Random(7)
    for _ in range(cases):
        s = instant(rng.randrange(60 * 86400 * 10**6, 1300 * 86400 * 10**6), rng.randrange(len(ZONES)))
        n = rng.randint(-30, 30)
        assert ref_add_days(spec, s, n) == u(cal.add_days(s, n))
        assert ref_days_between(spec, s, s + timedelta(days=n)) == cal.days_between(s, s + timedelta(days=n))


def check_rolls(spec: Spec, cal: BusinessCalendar) -> None:
    t = datetime(2025, 3, 1, tzinfo=UTC)
    ivs = ref_intervals(spec, t, 40)
    for q in range(0, 24 * 30, 5):
        x = t + q * H
        assert boundaries(ivs, x) == roll_answers(cal, x)


class TestBrokenImplementationsAreCaught:
    def test_counting_the_start_day(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A count that includes the start date fails the reference checks."""
        from ticketkit.calendar import _days

        spec, _ = FIXED["cn_lunch"]
        real = _days.count
        monkeypatch.setattr(_days, "count", lambda cal, lo, hi: real(cal, lo - 1, hi))
        with pytest.raises(AssertionError):
            check_days(spec, build(spec))
        monkeypatch.setattr(_days, "count", real)
        check_days(spec, build(spec))

    def test_stepping_from_the_wrong_side(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Stepping that counts the start date as the first business day fails."""
        from ticketkit.calendar import _days

        spec, _ = FIXED["cn_lunch"]
        real = _days.step
        monkeypatch.setattr(
            _days, "step", lambda cal, o, n, y: real(cal, o - 1, n, y) if n > 0 else real(cal, o, n, y)
        )
        with pytest.raises(AssertionError):
            check_days(spec, build(spec))

    def test_chunk_cuts_taken_for_openings(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Rolls that take a chunk's edge for an opening or closing fail on a 24/7 stretch."""
        from ticketkit.calendar import _rolls

        cal = BusinessCalendar("UTC", {"daily": ["00:00-24:00"]}, holidays=["2025-01-01", "2027-06-01"])
        edge = datetime.fromtimestamp(
            (1 + datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 10**6 // CHUNK_US) * CHUNK_US / 1e6, UTC
        )
        monkeypatch.setattr(_rolls, "_real_start", lambda *_: True)
        monkeypatch.setattr(_rolls, "_real_end", lambda *_: True)
        assert datetime(2025, 1, 2, tzinfo=UTC) != cal.prev_open(edge)
        assert datetime(2025, 1, 1, tzinfo=UTC) != cal.prev_close(edge)

    def test_strict_and_inclusive_swapped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """prev_open that ignores strict fails the reference checks at openings."""
        from ticketkit.calendar import _rolls

        spec, _ = FIXED["ny_night"]
        real = _rolls.prev_opening
        monkeypatch.setattr(_rolls, "prev_opening", lambda cal, t, strict: real(cal, t, strict=False))
        with pytest.raises(AssertionError):
            check_rolls(spec, build(spec))
        monkeypatch.setattr(_rolls, "prev_opening", real)
        check_rolls(spec, build(spec))

    def test_union_for_intersection(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A combined calendar that joins where it should intersect is open where a part is closed."""
        from ticketkit.calendar import _combine
        from ticketkit.calendar._instants import merge

        monkeypatch.setattr(_combine, "intersect", lambda a, b: merge(a + b))
        a = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        b = BusinessCalendar("UTC", {"daily": ["12:00-20:00"]})
        t = datetime(2025, 3, 3, 18, tzinfo=UTC)
        assert (a & b).is_open(t) != (a.is_open(t) and b.is_open(t))
