"""ticketkit.testing.ManualClock and the Clock protocol."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ticketkit import Clock, SystemClock, ValidationError
from ticketkit.model._clock import as_now
from ticketkit.testing import ManualClock

AT = datetime(2025, 3, 3, 9, tzinfo=UTC)


class TestManualClock:
    def test_starts_where_told(self) -> None:
        """now() and calling the clock give the start time until it is moved."""
        clock = ManualClock(AT)
        assert (AT, AT) == (clock.now(), clock())

    def test_default_start_is_fixed_and_aware(self) -> None:
        """Without a start the clock is at a fixed, aware instant (a Monday morning)."""
        assert datetime(2025, 1, 6, 9, tzinfo=UTC) == ManualClock().now()

    def test_advance_and_set(self) -> None:
        """advance() moves forward and returns the new time; set() jumps anywhere."""
        clock = ManualClock(AT)
        assert AT + timedelta(minutes=90) == clock.advance(timedelta(minutes=90))
        sh = datetime(2025, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
        assert sh == clock.set(sh)
        assert sh == clock.now()

    def test_bad_moves_are_refused(self) -> None:
        """A negative advance, a naive set and a naive start are ValidationErrors naming the argument."""
        clock = ManualClock(AT)
        with pytest.raises(ValidationError) as info:
            clock.advance(timedelta(seconds=-1))
        assert "delta" == info.value.errors[0].path
        with pytest.raises(ValidationError) as info:
            clock.set(datetime(2025, 1, 1))
        assert "value" == info.value.errors[0].path
        with pytest.raises(ValidationError):
            ManualClock(datetime(2025, 1, 1))
        assert AT == clock.now()

    def test_is_a_clock(self) -> None:
        """ManualClock satisfies the Clock protocol."""
        assert isinstance(ManualClock(), Clock)

    def test_thread_safe_advances(self) -> None:
        """Advances from several threads all count."""
        clock = ManualClock(AT)

        def step() -> None:
            for _ in range(1000):
                clock.advance(timedelta(seconds=1))

        threads = [threading.Thread(target=step) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert AT + timedelta(seconds=4000) == clock.now()

    def test_repr(self) -> None:
        """The repr shows the time."""
        assert "ManualClock('2025-03-03T09:00:00+00:00')" == repr(ManualClock(AT))


class TestAsNow:
    def test_accepts_objects_callables_and_none(self) -> None:
        """A clock object, a zero-argument callable and None (system time) all work."""
        assert AT == as_now(ManualClock(AT))()
        assert AT == as_now(lambda: AT)()
        assert as_now(None)().tzinfo is UTC

    def test_refuses_other_things_and_naive_readings(self) -> None:
        """A non-clock, or a clock that reads naive time, is a ValidationError naming the clock."""
        with pytest.raises(ValidationError) as info:
            as_now(42)  # type: ignore[arg-type]
        assert "clock" == info.value.errors[0].path
        naive = as_now(lambda: datetime(2025, 1, 1))
        with pytest.raises(ValidationError):
            naive()

    def test_system_clock(self) -> None:
        """SystemClock reads the real time in UTC."""
        before = datetime.now(UTC)
        now = SystemClock()()
        assert before <= now <= datetime.now(UTC)
        assert "SystemClock()" == repr(SystemClock())
