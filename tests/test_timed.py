"""Timed rules, the engine half: delays, due instants against a slow reference, timer states."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketkit import BusinessCalendar, ValidationError
from ticketkit.automation._timed import (
    BUSINESS_DAYS,
    BUSINESS_TIME,
    WALL,
    Delay,
    Timer,
    due_at,
    parse_after,
    pending_due,
    resolve_calendar,
    step,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar(
    tz="Asia/Shanghai",
    hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    overrides={"2025-05-01": [], "2025-04-27": ["09:00-18:00"]},
    name="office",
)
T0 = datetime(2025, 4, 21, 8, 0, tzinfo=SH)  # a Monday
M = timedelta(minutes=1)


def slow_business_time(cal: BusinessCalendar, since: datetime, amount: timedelta) -> datetime:
    """Step minute by minute, counting the open ones (since and amount in whole minutes)."""
    t, left = since, amount
    while left > timedelta(0):
        if cal.is_open(t):
            left -= M
        t += M
    # the instant the last open minute ends; then the earliest such instant
    return t if amount else since


def slow_business_day(cal: BusinessCalendar, since: datetime, n: int) -> datetime:
    """Walk the dates after since's local date; a date is a business day when it opens at any minute."""
    local = since.astimezone(SH)
    d: date = local.date()
    while n:
        d += timedelta(days=1)
        if any(cal.is_open(datetime.combine(d, time(h, 30), tzinfo=SH)) for h in range(24)):
            n -= 1
    return datetime.combine(d, local.time(), tzinfo=SH)


class TestParse:
    @pytest.mark.parametrize(
        ("text", "calendar", "expected"),
        [
            ("3 business days", True, Delay(BUSINESS_DAYS, timedelta(0), 3)),
            ("1 Business Day", True, Delay(BUSINESS_DAYS, timedelta(0), 1)),
            ("4 business hours", True, Delay(BUSINESS_TIME, timedelta(hours=4))),
            ("2 days", True, Delay(WALL, timedelta(days=2))),
            ("90 minutes", False, Delay(WALL, timedelta(minutes=90))),
            ("PT4H", True, Delay(BUSINESS_TIME, timedelta(hours=4))),
            ("PT4H", False, Delay(WALL, timedelta(hours=4))),
            (timedelta(hours=1), False, Delay(WALL, timedelta(hours=1))),
        ],
    )
    def test_forms(self, text: object, calendar: bool, expected: Delay) -> None:
        """Phrases and durations read as business days, business time or wall time."""
        assert expected == parse_after(text, calendar=calendar)

    @pytest.mark.parametrize(
        ("value", "calendar"),
        [
            ("3 business days", False),
            ("0 days", False),
            ("soon", True),
            (True, True),
            ("PT0S", False),
            ("9999 business days", True),
            ("9999999 days", False),
            (None, False),
        ],
    )
    def test_refused(self, value: object, calendar: bool) -> None:
        """Bad delays are ValidationErrors naming the path, never a raw error."""
        with pytest.raises(ValidationError) as info:
            parse_after(value, calendar=calendar, path="rules[0].after")
        assert ["rules[0].after"] == [e.path for e in info.value.errors]

    @given(
        st.one_of(
            st.builds(lambda n: Delay(BUSINESS_DAYS, timedelta(0), n), st.integers(1, 2600)),
            st.builds(lambda s: Delay(BUSINESS_TIME, timedelta(seconds=s)), st.integers(1, 10**8)),
        )
    )
    def test_text_round_trips(self, delay: Delay) -> None:
        """A delay written as text reads back the same (business kinds with a calendar)."""
        assert delay == parse_after(delay.text(), calendar=True)

    @given(st.integers(1, 10**8))
    def test_wall_text_round_trips(self, seconds: int) -> None:
        """A wall delay written as text reads back as wall time, calendar or not."""
        delay = Delay(WALL, timedelta(seconds=seconds))
        assert delay == parse_after(delay.text(), calendar=True) == parse_after(delay.text(), calendar=False)


class TestDue:
    @settings(max_examples=40, deadline=None)
    @given(st.integers(0, 14 * 24 * 60), st.integers(1, 3 * 9 * 60))
    def test_business_time_matches_reference(self, start: int, minutes: int) -> None:
        """A business-time delay falls due where a minute-by-minute count says."""
        since = T0 + start * M
        delay = Delay(BUSINESS_TIME, minutes * M)
        assert slow_business_time(OFFICE, since, delay.amount) == due_at(delay, since, OFFICE)

    @settings(max_examples=60, deadline=None)
    @given(st.integers(0, 14 * 24 * 60), st.integers(1, 12))
    def test_business_days_match_reference(self, start: int, n: int) -> None:
        """N business days later: the same local time on the N-th later date with open hours."""
        since = T0 + start * M
        assert slow_business_day(OFFICE, since, n) == due_at(
            Delay(BUSINESS_DAYS, timedelta(0), n), since, OFFICE
        )

    def test_wall_time(self) -> None:
        """Wall time ignores the calendar."""
        assert T0 + timedelta(days=1) == due_at(Delay(WALL, timedelta(days=1)), T0, None)

    def test_business_needs_calendar(self) -> None:
        """Business time without a calendar is refused; so is a naive start."""
        with pytest.raises(ValidationError):
            due_at(Delay(BUSINESS_TIME, M), T0, None)
        with pytest.raises(ValidationError):
            due_at(Delay(WALL, M), datetime(2025, 1, 1), None)


class TestTimerState:
    def test_lifecycle(self) -> None:
        """Starts when the condition becomes true, keeps its start, is cancelled when it stops holding."""
        t1, t2, t3 = T0, T0 + M, T0 + 2 * M
        started = step(Timer(), holds=True, at=t1)
        assert Timer(t1) == started
        assert started == step(started, holds=True, at=t2)
        assert Timer() == step(started, holds=False, at=t2)
        assert Timer(t3) == step(step(started, holds=False, at=t2), holds=True, at=t3)

    def test_fired_timer_has_no_due(self) -> None:
        """A fired timer falls due no more until the condition stops holding and becomes true again."""
        delay = Delay(WALL, timedelta(hours=1))
        fired = Timer(T0, True)
        assert None is pending_due(fired, delay, None)
        assert fired == step(fired, holds=True, at=T0 + M)
        assert T0 + timedelta(hours=1) == pending_due(Timer(T0), delay, None)
        assert None is pending_due(Timer(), delay, None)

    @given(st.lists(st.tuples(st.integers(0, 300), st.booleans(), st.booleans()), max_size=40))
    @settings(max_examples=200, deadline=None)
    def test_steps_match_the_last_rising_edge(self, changes: list[tuple[int, bool, bool]]) -> None:
        """Any change sequence: the start is the condition's last rising edge; due unless fired since."""
        delay = Delay(WALL, timedelta(hours=1))
        timer, at = Timer(), T0
        since: datetime | None = None
        fired = False
        for minutes, holds, fire in changes:
            at += minutes * M
            timer = step(timer, holds=holds, at=at)
            if not holds:
                since, fired = None, False
            elif since is None:
                since = at
            if holds and fire:  # the sweep fires it
                timer, fired = timer._replace(fired=True), True
        assert since == timer.since
        expected = None if since is None or fired else since + timedelta(hours=1)
        assert expected == pending_due(timer, delay, None)

    def test_resolve_calendar(self) -> None:
        """A rule's calendar is found by name; an unknown one is reported with the names known."""
        out: list = []  # type: ignore[type-arg]
        assert OFFICE is resolve_calendar("office", {"office": OFFICE}, out)
        assert None is resolve_calendar(None, {}, out)
        assert None is resolve_calendar("nope", {"office": OFFICE}, out)
        assert ["calendar: unknown calendar 'nope' (known: office)"] == [str(e) for e in out]


def test_utc_start_counts_in_calendar_zone() -> None:
    """A start given in UTC counts business days from its date in the calendar's zone."""
    since = datetime(2025, 4, 25, 23, 0, tzinfo=UTC)  # Saturday 07:00 in Shanghai
    assert slow_business_day(OFFICE, since, 1) == due_at(Delay(BUSINESS_DAYS, timedelta(0), 1), since, OFFICE)
