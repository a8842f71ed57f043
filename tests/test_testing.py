"""ticketkit.testing: ManualClock, the Clock protocol, and the contract suite's own machinery."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from ticketkit import Clock, InMemoryStore, SystemClock, ValidationError
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


# --------------------------------------------------------------------------- the contract's machinery


class TestStrictComparison:
    """difference() is stricter than ==: types, signs and offsets count."""

    @pytest.mark.parametrize(
        ("expected", "actual", "says"),
        [
            (True, 1, "expected True (bool), got 1 (int)"),
            (1.0, 1, "expected 1.0 (float), got 1 (int)"),
            (-0.0, 0.0, "expected -0.0, got 0.0"),
            ({"a": 1}, {"b": 1}, "expected the keys ['a'], got ['b']"),
            ([1, 2], [1], "expected 2 items, got 1"),
            (frozenset({"a"}), frozenset({"b"}), "expected ['a'], got ['b']"),
            (AT, AT.replace(tzinfo=None), "got the naive datetime"),
            (AT, AT.astimezone(timezone(timedelta(hours=8))), "its offset"),
            ("x", "y", "expected 'x', got 'y'"),
            ("x" * 300, "y", "...(cut)"),
        ],
        ids=lambda v: repr(v)[:20],
    )
    def test_differences_are_named(self, expected: object, actual: object, says: str) -> None:
        """Each kind of difference is reported with both values."""
        from ticketkit.storage._contract_support import difference

        found = difference(expected, actual)
        assert found is not None
        assert says in found

    def test_same_values_have_no_difference(self) -> None:
        """A ticket equals itself field by field; a list and a tuple of the same items are the same."""
        from ticketkit.model._models import Priority
        from ticketkit.storage._contract_support import difference, full_ticket

        assert None is difference(full_ticket(), full_ticket())
        assert None is difference([1, "a"], (1, "a"))
        assert None is difference(Priority.LOW, Priority.LOW)
        assert "Priority.HIGH" in (difference(Priority.LOW, Priority.HIGH) or "")

    def test_assert_same_fails_with_the_path(self) -> None:
        """assert_same names what was read and where it differs."""
        from ticketkit.storage._contract_support import assert_same, full_ticket

        t = full_ticket()
        with pytest.raises(pytest.fail.Exception) as info:
            assert_same(t, attrs.evolve(t, fields={**t.fields, "yes": 1}), "get()")
        assert "get() did not come back as stored: fields['yes']: expected True (bool), got 1 (int)" in str(
            info.value
        )


class _SlowLockStore(InMemoryStore):
    """A correct store whose lock lives outside the object, so the suite cannot watch it."""

    LOCK = threading.RLock()

    def _read_row(self, ticket_id: str) -> object:
        return self._tickets.get(ticket_id)

    def save(self, ticket: Any, events: Any, expected_version: int) -> Any:
        with self.LOCK:  # reads under a lock the rendezvous cannot see: its pause times out
            self._read_row(ticket.id)
            return super().save(ticket, events, expected_version)


class TestRaces:
    """race(): bounded, deterministic, and failing with a message instead of hanging."""

    def test_a_hanging_store_fails_instead_of_hanging(self) -> None:
        """A step that never returns makes race() fail after the timeout, naming the cause."""
        from ticketkit.storage._contract_support import race

        release = threading.Event()
        try:
            with pytest.raises(pytest.fail.Exception) as info:
                race([InMemoryStore()] * 2, lambda n, r, s: release.wait(), rounds=1, timeout=0.3, pause=0.1)
            assert "still running after 0.3s" in str(info.value)
        finally:
            release.set()

    def test_an_error_in_a_racer_is_raised(self) -> None:
        """A racer stopped by something other than an Exception (a failed check) fails the race."""
        from ticketkit.storage._contract_support import race

        def step(number: int, racer: int, store: object) -> None:
            pytest.fail("racer gave up")

        with pytest.raises(pytest.fail.Exception, match="racer gave up"):
            race([InMemoryStore()] * 2, step, rounds=3, timeout=5, pause=0.1)

    def test_an_unwatchable_lock_only_costs_one_pause(self) -> None:
        """Reads under a lock the suite cannot see: the pause times out once, and the race still checks."""
        from ticketkit.storage._contract_support import race, tk

        store = _SlowLockStore()
        base = store.create(tk(1))

        def step(number: int, racer: int, handle: Any) -> str:
            handle.save(attrs.evolve(base, version=number + 2), [], number + 1)
            return "won"

        results = race([store] * 3, step, rounds=4, timeout=10, pause=0.05)
        assert [1, 1, 1, 1] == [sum(o == "won" for o in outcomes) for outcomes in results]

    def test_watched_locks_behave_like_locks(self) -> None:
        """A watched lock passes non-blocking acquires and other attributes through."""
        from ticketkit.storage._contract_support import Rendezvous, _WatchedLock

        inner = threading.Lock()
        lock = _WatchedLock(inner, Rendezvous(1, 0.1))
        assert lock.acquire(blocking=False)
        assert lock.locked()
        assert not lock.acquire(blocking=False)
        lock.release()
        assert not inner.locked()

    def test_a_store_with_slots_races_without_pauses(self) -> None:
        """A store object without a __dict__ cannot be hooked; the race still runs."""
        from ticketkit.storage._contract_support import Rendezvous, _hook

        class Slotted:
            __slots__ = ()

        assert [] == _hook([Slotted()], Rendezvous(1, 0.1))  # type: ignore[list-item]


class TestContractFixtures:
    """The suite's fixtures guide an integrator who wired them wrong."""

    def test_open_again_must_open_another_object(self) -> None:
        """open_again returning the very same store object is refused."""
        from ticketkit.storage._contract_support import ContractBase

        base = ContractBase()
        store = InMemoryStore()
        base._again = lambda s: s
        base._made = []
        with pytest.raises(pytest.fail.Exception, match="same object"):
            base.other_handle(store)

    def test_fresh_store_needs_make_store(self) -> None:
        """fresh_store() outside the store fixture says what to define."""
        from ticketkit.storage._contract_support import ContractBase

        with pytest.raises(pytest.fail.Exception, match="make_store"):
            ContractBase().fresh_store()

    def test_no_open_again_skips(self) -> None:
        """Without open_again the two-handle checks are skipped with the reason."""
        from ticketkit.storage._contract_support import ContractBase

        base = ContractBase()
        base._again = None
        with pytest.raises(pytest.skip.Exception, match="open_again"):
            base.other_handle(InMemoryStore())


class TestPromisesListed:
    def test_the_reference_lists_every_contract_test(self) -> None:
        """docs/reference/storage.md names each StoreContract test once, and no test that does not exist."""
        import re
        from pathlib import Path

        from ticketkit.testing import StoreContract

        page = Path(__file__).resolve().parent.parent / "docs" / "reference" / "storage.md"
        listed = re.findall(
            r"^\|[^|]+\|[^|]+\| `(test_\w+)` \|$", page.read_text(encoding="utf-8"), re.MULTILINE
        )
        tests = sorted(n for n in dir(StoreContract) if n.startswith("test_"))
        assert tests == sorted(listed)
        assert len(listed) == len(set(listed))


class TestFrozenStores:
    def test_a_store_refusing_attributes_races_without_pauses(self) -> None:
        """A store whose __setattr__ refuses new attributes is raced as it is, unhooked."""
        from ticketkit.storage._contract_support import Rendezvous, _hook

        class Frozen(InMemoryStore):
            def __init__(self) -> None:
                super().__init__()
                self._frozen = True

            def __setattr__(self, name: str, value: object) -> None:
                if getattr(self, "_frozen", False):
                    raise AttributeError(name)
                super().__setattr__(name, value)

        assert [] == _hook([Frozen()], Rendezvous(1, 0.1))
