"""BusinessCalendar against a slow, obviously-correct reference, and the laws of business time.

The reference walks the open windows one day at a time, turning each local window into
UTC with plain ``datetime`` arithmetic, and sums or walks them one by one. The fast
calendar (cumulative arrays and bisect) must agree with it to the microsecond.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_pkg
from hypothesis import assume, given
from hypothesis import strategies as st

from ticketkit import BusinessCalendar, country_holidays

ZERO = timedelta(0)
US = timedelta(microseconds=1)
Windows = list[tuple[int, int]]


# ---------------------------------------------------------------------------- the reference


@dataclass
class Spec:
    """A calendar definition in the plainest form the reference reads."""

    tz: str
    week: dict[int, Windows]  # weekday -> [(start s, end s)], end > 86400 runs past midnight
    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    overrides: dict[date, Windows] = field(default_factory=dict)
    country: str | None = None
    workday_week: Windows | None = None

    def windows(self, day: date) -> Windows:
        """The day's windows: overrides, then extra workdays, holidays, the country, the weekday."""
        if day in self.overrides:
            return self.overrides[day]
        # Make-up days work Monday's hours, or the first open weekday's when Monday is closed.
        default = next((self.week[d] for d in range(7) if self.week.get(d)), [])
        makeup = self.workday_week if self.workday_week is not None else default
        if day in self.workdays:
            return makeup
        if day in self.holidays:
            return []
        if self.country is not None:
            cn = _country(self.country)
            if day in cn:
                return []
            if day in cn.weekend_workdays:
                return makeup
        return self.week.get(day.weekday(), [])


@cache
def _country(code: str) -> Any:
    return holidays_pkg.country_holidays(code, years=range(2022, 2030))


def local_to_utc(tz: tzinfo, day: date, seconds: int) -> datetime:
    """A wall time as UTC: its first occurrence; a skipped one becomes the jump's instant."""
    naive = datetime.combine(day, time()) + timedelta(seconds=seconds)
    u = naive.replace(tzinfo=tz).astimezone(UTC)
    if u.astimezone(tz).replace(tzinfo=None) == naive:
        return u
    u = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while u.astimezone(tz).replace(tzinfo=None) < naive:
        u += timedelta(minutes=1)
    return u


def day_intervals(spec: Spec, day: date) -> list[tuple[datetime, datetime]]:
    tz = ZoneInfo(spec.tz)
    out = []
    for s, e in spec.windows(day):
        a, b = local_to_utc(tz, day, s), local_to_utc(tz, day, e)
        if a < b:
            out.append((a, b))
    return out


def local_day(spec: Spec, t: datetime) -> date:
    return t.astimezone(ZoneInfo(spec.tz)).date()


def forward(spec: Spec, t: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals ending after ``t``, in order, day by day for ever."""
    day = local_day(spec, t) - timedelta(days=2)
    while True:
        for a, b in day_intervals(spec, day):
            if b > t:
                yield a, b
        day += timedelta(days=1)


def backward(spec: Spec, t: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals starting before ``t``, latest first, day by day for ever."""
    day = local_day(spec, t) + timedelta(days=1)
    while True:
        for a, b in reversed(day_intervals(spec, day)):
            if a < t:
                yield a, b
        day -= timedelta(days=1)


def ref_add(spec: Spec, s: datetime, d: timedelta) -> datetime:
    s = s.astimezone(UTC)
    if d == ZERO:
        return s
    for start, b in forward(spec, s):
        a = max(start, s)
        if d <= b - a:
            return a + d
        d -= b - a
    raise AssertionError  # pragma: no cover


def ref_subtract(spec: Spec, e: datetime, d: timedelta) -> datetime:
    e = e.astimezone(UTC)
    if d == ZERO:
        return e
    for a, end in backward(spec, e):
        b = min(end, e)
        if d <= b - a:
            return b - d
        d -= b - a
    raise AssertionError  # pragma: no cover


def ref_between(spec: Spec, x: datetime, y: datetime) -> timedelta:
    x, y = x.astimezone(UTC), y.astimezone(UTC)
    if y < x:
        return -ref_between(spec, y, x)
    total = ZERO
    for a, b in forward(spec, x):
        if a >= y:
            return total
        total += min(b, y) - max(a, x)
    raise AssertionError  # pragma: no cover


def ref_is_open(spec: Spec, t: datetime) -> bool:
    t = t.astimezone(UTC)
    a, b = next(forward(spec, t))
    return a <= t < b


def ref_next_open(spec: Spec, t: datetime) -> datetime:
    t = t.astimezone(UTC)
    a, _ = next(forward(spec, t))
    return max(a, t)


def ref_next_close(spec: Spec, t: datetime) -> datetime:
    t = t.astimezone(UTC)
    cur = t
    for a, b in forward(spec, t):
        if a > cur:
            return cur
        cur = max(cur, b)
    raise AssertionError  # pragma: no cover


def ref_open_intervals(spec: Spec, x: datetime, y: datetime) -> list[tuple[datetime, datetime]]:
    x, y = x.astimezone(UTC), y.astimezone(UTC)
    out: list[tuple[datetime, datetime]] = []
    if y <= x:
        return out
    for start, end in forward(spec, x):
        if start >= y:
            return out
        a, b = max(start, x), min(end, y)
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    raise AssertionError  # pragma: no cover


# ---------------------------------------------------------------------------- calendars


def fmt(seconds: int) -> str:
    if seconds > 86400:
        seconds -= 86400
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def to_strings(windows: Windows) -> list[str]:
    return [f"{fmt(s)}-{fmt(e)}" for s, e in windows]


def build(spec: Spec) -> BusinessCalendar:
    """The fast calendar for a reference spec, written the way a user would."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hol: list[Any] = sorted(spec.holidays)
    if spec.country:
        hol.append(country_holidays(spec.country))
    return BusinessCalendar(
        spec.tz,
        {names[d]: to_strings(w) for d, w in spec.week.items() if w},
        holidays=hol,
        workdays=sorted(spec.workdays),
        overrides={d: to_strings(w) for d, w in spec.overrides.items()},
        workday_hours=to_strings(spec.workday_week) if spec.workday_week is not None else None,
        # The reference reads the holidays package's rule-based guess for 2027 too.
        beyond_known="assume",
    )


HM = 3600
CN_LUNCH = Spec(
    tz="Asia/Shanghai",
    week={d: [(9 * HM, 12 * HM), (13 * HM, 18 * HM)] for d in range(5)},
    country="CN",
)
NY_NIGHT = Spec(
    tz="America/New_York",
    week={**{d: [(22 * HM, 30 * HM)] for d in range(5)}, 5: [(10 * HM, 14 * HM)]},
    holidays={date(2025, 7, 4)},
    overrides={date(2025, 12, 24): [(9 * HM, 13 * HM)]},
)
NY_ALWAYS = Spec(tz="America/New_York", week={d: [(0, 24 * HM)] for d in range(7)})
FIXED: dict[str, tuple[Spec, BusinessCalendar]] = {
    "cn_lunch": (CN_LUNCH, build(CN_LUNCH)),
    "ny_night": (NY_NIGHT, build(NY_NIGHT)),
    "ny_always": (NY_ALWAYS, BusinessCalendar.always_open("America/New_York")),
}

LO = datetime(2024, 1, 1, tzinfo=UTC)
HI = datetime(2027, 12, 31, tzinfo=UTC)
SPAN_US = (HI - LO) // US
ZONES = [
    UTC,
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("America/New_York"),
    timezone(timedelta(hours=5, minutes=30)),
]


def instant(offset_us: int, zone: int) -> datetime:
    """An instant between LO and HI, written in one of ZONES."""
    return (LO + offset_us * US).astimezone(ZONES[zone])


instants = st.builds(instant, st.integers(0, SPAN_US), st.integers(0, len(ZONES) - 1))
# Short durations mostly, sometimes long, always to the microsecond.
durations = st.one_of(
    st.integers(0, 10 * 3600 * 10**6),
    st.integers(0, 2000 * 3600 * 10**6),
    st.sampled_from([0, 1, 3600 * 10**6]),
).map(lambda us: us * US)


@st.composite
def day_windows(draw: st.DrawFn, *, max_windows: int = 3) -> Windows:
    n = draw(st.integers(0, max_windows))
    cuts = sorted(
        draw(st.sets(st.integers(0, 86400 // 60).map(lambda m: m * 60), min_size=2 * n, max_size=2 * n))
    )
    return [(cuts[i], cuts[i + 1]) for i in range(0, 2 * n, 2)]


some_dates = st.sets(st.dates(date(2024, 1, 1), date(2027, 12, 31)), max_size=6)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    """Random calendars: 0-3 windows a weekday, holidays, make-up days, overrides, DST zones."""
    week = {d: draw(day_windows()) for d in range(7)}
    assume(any(week.values()))
    tz = draw(
        st.sampled_from(["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai"])
    )
    over_dates = draw(some_dates)
    return Spec(
        tz=tz,
        week=week,
        holidays=draw(some_dates),
        workdays=draw(some_dates),
        overrides={d: draw(day_windows(max_windows=2)) for d in over_dates},
        country=draw(st.sampled_from([None, "CN"])),
        workday_week=draw(st.none() | day_windows(max_windows=2)),
    )


# ---------------------------------------------------------------------------- agreement
# Python compares aware datetimes that share a tzinfo by wall clock, and never finds one in
# a repeated hour equal to one in another zone (PEP 495): so compare instants in UTC.


def u(t: datetime) -> datetime:
    return t.astimezone(UTC)


class TestAgreesWithReference:
    def test_fixed_calendars_many_cases(self) -> None:
        """Thousands of random cases: CN lunch + make-up days 2024-2027, a NY night shift, NY 24/7."""
        rng = random.Random(20250124)
        for spec, cal in FIXED.values():
            for _ in range(700):
                s = instant(rng.randrange(SPAN_US), rng.randrange(len(ZONES)))
                hours = rng.choice([rng.uniform(0, 12), rng.uniform(0, 300), rng.choice([0, 1, 2, 24])])
                d = round(hours * 3600 * 10**6) * US
                assert ref_add(spec, s, d) == u(cal.add(s, d))
                assert ref_subtract(spec, s, d) == u(cal.subtract(s, d))
                near = s.astimezone(UTC) + rng.uniform(-200, 200) * timedelta(hours=1)
                assert ref_between(spec, s, near) == cal.between(s, near)
                assert ref_is_open(spec, s) == cal.is_open(s)
                assert ref_next_open(spec, s) == u(cal.next_open(s))
                if spec is not NY_ALWAYS:
                    assert ref_next_close(spec, s) == u(cal.next_close(s))  # type: ignore[arg-type]
                got = [(u(x), u(y)) for x, y in cal.open_intervals(s, near)]
                assert ref_open_intervals(spec, s, near) == got

    def test_dst_days(self) -> None:
        """Every hour around both 2025 New York changes agrees, for the night shift and 24/7."""
        for spec, cal in (FIXED["ny_night"], FIXED["ny_always"]):
            for base in (datetime(2025, 3, 7, tzinfo=UTC), datetime(2025, 10, 31, tzinfo=UTC)):
                for q in range(4 * 24 * 4):
                    s = base + q * timedelta(minutes=15)
                    for d in (timedelta(minutes=30), timedelta(hours=3), timedelta(hours=9)):
                        assert ref_add(spec, s, d) == u(cal.add(s, d))
                        assert ref_subtract(spec, s, d) == u(cal.subtract(s, d))
                    assert ref_between(spec, base, s) == cal.between(base, s)

    @given(spec=specs(), s=instants, d=durations.filter(lambda d: d < timedelta(hours=400)), t=instants)
    def test_random_calendars(self, spec: Spec, s: datetime, d: timedelta, t: datetime) -> None:
        """Random calendars agree with the reference on every question a calendar answers."""
        cal = build(spec)
        assert ref_add(spec, s, d) == u(cal.add(s, d))
        assert ref_subtract(spec, s, d) == u(cal.subtract(s, d))
        t = s.astimezone(UTC) + (t - s) % timedelta(days=20)
        assert ref_between(spec, s, t) == cal.between(s, t)
        assert ref_is_open(spec, s) == cal.is_open(s)
        assert ref_next_open(spec, s) == u(cal.next_open(s))
        close = cal.next_close(s)
        if close is not None:  # None only for a calendar open around the clock
            assert ref_next_close(spec, s) == u(close)
        assert ref_open_intervals(spec, s, t) == [(u(x), u(y)) for x, y in cal.open_intervals(s, t)]


# ---------------------------------------------------------------------------- laws

calendars = st.sampled_from(sorted(FIXED)).map(lambda k: FIXED[k][1])


class TestLaws:
    @given(cal=calendars, s=instants, d=durations)
    def test_between_inverts_add(self, cal: BusinessCalendar, s: datetime, d: timedelta) -> None:
        """between(s, add(s, d)) == d."""
        assert d == cal.between(s, cal.add(s, d))

    @given(cal=calendars, s1=instants, s2=instants, d=durations)
    def test_add_monotone_in_start(
        self, cal: BusinessCalendar, s1: datetime, s2: datetime, d: timedelta
    ) -> None:
        """A later start never gives an earlier deadline."""
        s1, s2 = min(s1, s2), max(s1, s2)
        assert u(cal.add(s1, d)) <= u(cal.add(s2, d))

    @given(cal=calendars, s=instants, d1=durations, d2=durations)
    def test_add_monotone_in_duration(
        self, cal: BusinessCalendar, s: datetime, d1: timedelta, d2: timedelta
    ) -> None:
        """A longer duration never gives an earlier deadline."""
        d1, d2 = min(d1, d2), max(d1, d2)
        assert u(cal.add(s, d1)) <= u(cal.add(s, d2))

    @given(cal=calendars, s=instants, d1=durations, d2=durations)
    def test_add_composes(self, cal: BusinessCalendar, s: datetime, d1: timedelta, d2: timedelta) -> None:
        """add(s, d1 + d2) == add(add(s, d1), d2)."""
        assert u(cal.add(s, d1 + d2)) == u(cal.add(cal.add(s, d1), d2))

    @given(cal=calendars, a=instants, b=instants, c=instants)
    def test_between_additive(self, cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
        """between(a, b) + between(b, c) == between(a, c), in any order."""
        assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)
        assert -cal.between(a, b) == cal.between(b, a)

    @given(cal=calendars, s=instants, d=durations)
    def test_subtract_inverts_add(self, cal: BusinessCalendar, s: datetime, d: timedelta) -> None:
        """From an open instant, subtract undoes add; into one, add undoes subtract."""
        s = u(cal.next_open(s))
        assert s == u(cal.subtract(cal.add(s, d), d))
        if cal.is_open(s - US):
            assert s == u(cal.add(cal.subtract(s, d), d))

    @given(cal=calendars, s=instants, d=durations)
    def test_add_lands_in_or_at_end_of_open_time(
        self, cal: BusinessCalendar, s: datetime, d: timedelta
    ) -> None:
        """A positive deadline is open time or a closing instant, never a closed moment later."""
        assume(d > ZERO)
        e = u(cal.add(s, d))
        assert cal.is_open(e - US)

    @given(cal=calendars, s=instants)
    def test_next_open_and_close(self, cal: BusinessCalendar, s: datetime) -> None:
        """next_open is open; next_close is closed (or None for 24/7); both are at or after s."""
        o = u(cal.next_open(s))
        assert s <= o
        assert cal.is_open(o)
        c = cal.next_close(s)
        if c is not None:
            assert s <= u(c)
            assert not cal.is_open(c)

    @given(cal=calendars, a=instants, b=instants)
    def test_open_intervals_sum_to_between(self, cal: BusinessCalendar, a: datetime, b: datetime) -> None:
        """The open intervals in [a, b) add up to between(a, b), separated by closed time."""
        a, b = u(min(a, b)), u(max(a, b))
        b = min(b, a + timedelta(days=30))
        intervals = cal.open_intervals(a, b)
        assert cal.between(a, b) == sum((u(e) - u(s) for s, e in intervals), ZERO)
        for (_, e1), (s2, _) in itertools.pairwise(intervals):
            assert u(e1) < u(s2)
            assert not cal.is_open(e1)
