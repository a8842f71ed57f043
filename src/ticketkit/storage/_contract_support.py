"""What the contract suite's mixins share: test data, strict comparison, bounded races.

Part of ``ticketkit.testing.StoreContract`` (imports pytest; loaded only with it).
Nothing here is public: the names integrators use are the fixtures and class
attributes documented on ``StoreContract``.
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import attrs
import pytest

from ticketkit.model._models import ClockState, Customer, Event, Link, Priority, SLAState, Ticket, TimerState
from ticketkit.storage._base import TicketStore

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SH = timezone(timedelta(hours=8))

# The read methods a racing thread is paused after (see Rendezvous).
_HOOKED_READS = ("get", "events", "due", "scan", "query", "count", "run_query", "run_count")


# --------------------------------------------------------------------------- test data


def tk(i: int, **changes: Any) -> Ticket:
    """A small ticket numbered ``i`` (id ``T0001``), created ``i`` minutes after ``T0``."""
    base: dict[str, Any] = {
        "subject": f"ticket {i}",
        "id": f"T{i:04d}",
        "created_at": T0 + timedelta(minutes=i),
    }
    base.update(changes)
    return Ticket(**base)


def ev(ticket: Ticket, kind: str = "ticket.created", *, at: datetime | None = None, **data: Any) -> Event:
    """An event of ``ticket`` at its version (at ``ticket.updated_at`` unless told)."""
    return Event(
        ticket_id=ticket.id,
        kind=kind,
        actor="system",
        at=ticket.updated_at if at is None else at,
        data=data,
        version=ticket.version,
        tenant=ticket.tenant,
    )


def bump(ticket: Ticket, **changes: Any) -> Ticket:
    """The next version of ``ticket`` with ``changes``."""
    return attrs.evolve(ticket, version=ticket.version + 1, **changes)


def due(at: datetime) -> SLAState:
    """An SLA state whose next checkpoint is ``at``."""
    return SLAState(policy="standard", next_due_at=at)


def ids(tickets: Iterable[Ticket]) -> list[str]:
    """The ids of ``tickets``, in order."""
    return [t.id for t in tickets]


def full_ticket() -> Ticket:
    """A ticket with every field set to awkward values."""
    nepal = timezone(timedelta(hours=5, minutes=45))
    newfoundland = timezone(timedelta(hours=-3, minutes=-30))
    kiribati = timezone(timedelta(hours=14))
    created = datetime(2025, 2, 28, 23, 59, 59, 999_999, tzinfo=nepal)
    return Ticket(
        subject="Ersatzteil \u201eDichtung\u201c fehlt \u2014 "
        "\u51b0\u7bb1\u4e0d\u5236\u51b7 \U0001f9ca e\u0301",
        created_at=created,
        id="FULL-\u00e9\u4e2d",
        tenant="acme-\u6d4b\u8bd5",
        type="repair",
        description='line 1\nline 2\ttab "quotes" \\ backslash\r\n' + "\u6570\u636e" * 200_000,
        channel="wechat",
        customer=Customer(
            id="c-1",
            name="\u738b\u82b3",
            tier="vip",
            email="wang@example.com",
            phone="+86 13800000000",
            tenant="acme-\u6d4b\u8bd5",
            data={"store": "shanghai-01", "nested": {"list": [1, 2.5, None, True, "x"]}, "big": 2**53},
        ),
        category="appliance",
        priority=Priority.URGENT,
        status="waiting_parts",
        status_kind="pending",
        team="repairs-\u4e0a\u6d77",
        assignee="li",
        tags={"fridge", "warranty", "\u51b0\u7bb1"},
        fields=TYPED_VALUES,
        updated_at=datetime(2025, 3, 1, 4, 0, 0, 1, tzinfo=newfoundland),
        first_response_at=datetime(2025, 3, 1, 9, 0, 0, 500_000, tzinfo=kiribati),
        resolved_at=datetime(2025, 3, 2, 0, 0, tzinfo=UTC),
        closed_at=datetime(2025, 3, 2, 0, 0, 0, 7, tzinfo=SH),
        parent_id="PARENT-1",
        links=(Link(kind="related", ticket_id="T9"), Link(kind="duplicate", ticket_id="T8")),
        external_ref="ERP-77",
        satisfaction=4,
        satisfaction_remark="\u5f88\u597d \U0001f44d",
        timers=(
            TimerState(
                rule="auto-close \u81ea\u52a8", since=datetime(2025, 3, 1, 9, 30, 0, 9, tzinfo=kiribati)
            ),
            TimerState(rule="survey", since=created, fired_at=datetime(2025, 3, 2, 0, 0, 0, 3, tzinfo=nepal)),
        ),
        sla=SLAState(
            policy="vip",
            clocks=(
                ClockState(
                    metric="resolution",
                    elapsed=timedelta(hours=3, microseconds=17),
                    running_since=datetime(2025, 3, 1, 9, 30, 0, 250, tzinfo=SH),
                    started_at=created,
                    cycle=2,
                    fired=frozenset({"warn:0.75"}),
                ),
            ),
            next_due_at=datetime(2025, 3, 1, 12, 0, 0, 1, tzinfo=nepal),
        ),
        version=7,
    )


TYPED_VALUES: Mapping[str, Any] = {
    "order": "A-1009",
    "yes": True,
    "no": False,
    "one": 1,
    "one_float": 1.0,
    "zero": 0,
    "minus_zero": -0.0,
    "big": 2**53 + 1,
    "amounts": [1.25, -0.0, 1e300, 1, 1.0, True, False, None],
    "empty": {},
    "empty_list": [],
    "none": None,
    "nested": {"flag": False, "count": 0, "ratio": 0.5, "text": "1"},
    "unicode": "\u00fc\U0001f600",
}
"""JSON values whose types a store must keep: ``True`` is not ``1``, ``1.0`` is not ``1``."""


# --------------------------------------------------------------------------- strict comparison


def difference(expected: object, actual: object, path: str = "") -> str | None:
    """Where ``actual`` differs from ``expected``, types included; None when they are the same.

    Stricter than ``==``: ``True`` is not ``1``, ``1.0`` is not ``1``, ``-0.0`` is not
    ``0.0``, a tuple is not a list, and a datetime must keep its offset (and be aware
    when the expected one is).
    """
    here = path or "value"
    if (
        type(expected) is not type(actual)
        and isinstance(expected, list | tuple)
        and isinstance(actual, list | tuple)
    ):
        actual = type(expected)(actual)  # a sequence is a sequence; its items are compared below
    if type(expected) is not type(actual) and not (
        isinstance(expected, Mapping) and isinstance(actual, Mapping)
    ):
        return (
            f"{here}: expected {_short(expected)} ({type(expected).__name__}), "
            f"got {_short(actual)} ({type(actual).__name__})"
        )
    if isinstance(expected, float):
        same = repr(expected) == repr(actual)
        return None if same else f"{here}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, datetime):
        return _datetime_difference(expected, actual, here)
    if isinstance(expected, Mapping):
        assert isinstance(actual, Mapping)
        if set(expected) != set(actual):
            return f"{here}: expected the keys {sorted(expected)!r}, got {sorted(actual)!r}"
        for key in expected:
            found = difference(expected[key], actual[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, list | tuple):
        assert isinstance(actual, list | tuple)
        if len(expected) != len(actual):
            return f"{here}: expected {len(expected)} items, got {len(actual)}: {_short(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = difference(e, a, f"{path}[{i}]")
            if found:
                return found
        return None
    if attrs.has(type(expected)):
        for field in attrs.fields(type(expected)):  # type: ignore[arg-type]
            found = difference(
                getattr(expected, field.name), getattr(actual, field.name), f"{path}.{field.name}".lstrip(".")
            )
            if found:
                return found
        return None
    if isinstance(expected, frozenset | set):
        assert isinstance(actual, frozenset | set)
        if expected != actual:
            return f"{here}: expected {sorted(expected, key=repr)!r}, got {sorted(actual, key=repr)!r}"
        return None
    if isinstance(expected, enum.Enum):
        return None if expected is actual else f"{here}: expected {expected!r}, got {actual!r}"
    return None if expected == actual else f"{here}: expected {_short(expected)}, got {_short(actual)}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:150] + "...(cut)"


def _datetime_difference(expected: datetime, actual: object, here: str) -> str | None:
    assert isinstance(actual, datetime)
    if (expected.tzinfo is None) != (actual.tzinfo is None):
        state = "naive" if actual.tzinfo is None else "aware"
        return f"{here}: expected {expected.isoformat()}, got the {state} datetime {actual.isoformat()}"
    if expected.utcoffset() != actual.utcoffset() or expected != actual:
        return (
            f"{here}: expected {expected.isoformat()}, got {actual.isoformat()} "
            "(the instant, its offset and its microseconds must all be kept)"
        )
    return None


def assert_same(expected: object, actual: object, what: str) -> None:
    """Fail with the first difference (types included) between two values read back."""
    found = difference(expected, actual)
    if found:
        pytest.fail(f"{what} did not come back as stored: {found}", pytrace=False)


# --------------------------------------------------------------------------- bounded races


class Rendezvous:
    """Holds racing threads at the points where a racy store goes wrong, deterministically.

    Two pauses per racer and round. After its first *read* (a hooked read method
    returns) a racer waits until every other racer has read too, has finished its
    step, or is blocked on a lock a paused racer holds. At its first *free point*
    (it has just released the last of the store's locks it held) it waits until
    every other racer has reached its own free point, finished, or is blocked
    likewise. So a store that checks the version and writes in two separate
    steps lets every racer pass the check before any writes, on every run; a
    store whose check and write are one atomic step makes the others wait on
    that step instead, and nothing is lost. A wait that cannot end (a racer
    blocked inside the backend, say on a database lock) times out once and
    switches the pauses off for the rest of the race.
    """

    def __init__(self, parties: int, timeout: float) -> None:
        self.parties = parties
        self.timeout = timeout
        self.enabled = True
        self._cond = threading.Condition()
        self._local = threading.local()
        self._read: set[int] = set()
        self._free: set[int] = set()
        self._done: set[int] = set()
        self._paused: set[int] = set()
        self._blocked_on: dict[int, int] = {}  # racer -> id of the watched lock it waits for
        self._owner: dict[int, tuple[int, int]] = {}  # id of a watched lock -> (racer, depth)

    def enter(self, racer: int) -> None:
        """Mark the calling thread as racer number ``racer``."""
        self._local.racer = racer

    def _racer(self) -> int | None:
        racer: int | None = getattr(self._local, "racer", None)
        return racer

    def depth(self, change: int) -> int:
        """Track how deep the calling thread is in hooked reads; the new depth."""
        depth: int = getattr(self._local, "depth", 0) + change
        self._local.depth = depth
        return depth

    def new_round(self) -> None:
        """Forget who read and who finished (called while every racer waits at a barrier)."""
        with self._cond:
            self._read.clear()
            self._free.clear()
            self._done.clear()

    def _stuck_behind_pause(self, racer: int) -> bool:
        lock = self._blocked_on.get(racer)
        return lock is not None and lock in self._owner and self._owner[lock][0] in self._paused

    def _settled(self, racer: int, *, free: bool) -> bool:
        passed = racer in self._free or (not free and racer in self._read)
        return passed or racer in self._done or self._stuck_behind_pause(racer)

    def _wait(self, racer: int, *, free: bool) -> None:
        """Wait (holding the condition) until every other racer has passed this point, is done or stuck."""
        self._paused.add(racer)
        self._cond.notify_all()
        met = self._cond.wait_for(
            lambda: not self.enabled or all(self._settled(r, free=free) for r in range(self.parties)),
            self.timeout,
        )
        self._paused.discard(racer)
        if not met:
            self.enabled = False
        self._cond.notify_all()

    def reached(self) -> None:
        """Called after each outermost hooked read: the first one of a racer in a round pauses."""
        racer = self._racer()
        if racer is None or not self.enabled:
            return
        with self._cond:
            if racer not in self._read:
                self._read.add(racer)
                self._wait(racer, free=False)

    def finished(self) -> None:
        """The calling racer's step of this round is over."""
        racer = self._racer()
        with self._cond:
            if racer is not None:
                self._done.add(racer)
            self._cond.notify_all()

    # -- watched locks ------------------------------------------------------------------

    def blocking(self, lock: int | None) -> None:
        """The calling racer starts (``lock``) or stops (None) waiting for a watched lock."""
        racer = self._racer()
        if racer is None:
            return
        with self._cond:
            if lock is None:
                self._blocked_on.pop(racer, None)
            else:
                self._blocked_on[racer] = lock
            self._cond.notify_all()

    def acquired(self, lock: int) -> None:
        """The calling thread now holds the watched lock (once more)."""
        racer = self._racer()
        if racer is None:
            return
        with self._cond:
            depth = self._owner[lock][1] if lock in self._owner else 0
            self._owner[lock] = (racer, depth + 1)
            self._cond.notify_all()

    def released(self, lock: int) -> None:
        """The calling thread released the watched lock once; a full release may be a free point."""
        racer = self._racer()
        if racer is None:
            return
        with self._cond:
            owner, depth = self._owner.get(lock, (racer, 1))
            if depth > 1:
                self._owner[lock] = (owner, depth - 1)
                return
            self._owner.pop(lock, None)
            self._cond.notify_all()
            holds = any(r == racer for r, _ in self._owner.values())
            if self.enabled and not holds and racer not in self._free:
                self._free.add(racer)
                self._wait(racer, free=True)


_LOCK_TYPES: tuple[type[Any], ...] = (type(threading.Lock()), type(threading.RLock()))
_READ_NAME = re.compile(r"_*(get|read|load|fetch|select|find|lookup|check)(_|$)")


class _WatchedLock:
    """A store's lock, reporting acquire and release to the rendezvous."""

    def __init__(self, inner: Any, rendezvous: Rendezvous) -> None:
        self._inner = inner
        self._rv = rendezvous

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if blocking:
            self._rv.blocking(id(self))
            try:
                ok = bool(self._inner.acquire(blocking=True, timeout=timeout))
            finally:
                self._rv.blocking(None)
        else:
            ok = bool(self._inner.acquire(blocking=False))
        if ok:
            self._rv.acquired(id(self))
        return ok

    def release(self) -> None:
        self._inner.release()
        self._rv.released(id(self))

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _read_methods(handle: TicketStore) -> list[str]:
    """The public reads and the private methods named like reads (``_read``, ``_get_row``, ...)."""
    names = list(_HOOKED_READS)
    for name in dir(type(handle)):
        if name.startswith("__") or name in names or not _READ_NAME.match(name):
            continue
        static = inspect.getattr_static(type(handle), name, None)
        if isinstance(static, staticmethod | classmethod) or inspect.isfunction(static):
            names.append(name)
    return names


def _hook(handles: Sequence[TicketStore], rendezvous: Rendezvous) -> list[tuple[TicketStore, str, Any]]:
    """Wrap each handle's read methods and locks; what to restore afterwards."""
    hooked: list[tuple[TicketStore, str, Any]] = []
    watched: dict[int, _WatchedLock] = {}
    for handle in {id(h): h for h in handles}.values():
        own = getattr(handle, "__dict__", None)
        if own is None:  # a store with __slots__: race it without pauses
            continue
        for name, value in list(own.items()):
            if isinstance(value, _LOCK_TYPES):
                wrapper = watched.setdefault(id(value), _WatchedLock(value, rendezvous))
                if _try_set(handle, name, wrapper):
                    hooked.append((handle, name, value))
        for name in _read_methods(handle):
            original = getattr(handle, name, None)
            if original is None or name in own:
                continue

            def read(*args: Any, __original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                rendezvous.depth(+1)
                try:
                    result = __original(*args, **kwargs)
                finally:
                    outermost = rendezvous.depth(-1) == 0
                if outermost:  # pause after the whole read (due() may call scan() inside)
                    rendezvous.reached()
                return result

            if _try_set(handle, name, read):
                hooked.append((handle, name, None))
    return hooked


def _try_set(handle: TicketStore, name: str, value: object) -> bool:
    """Set an attribute on a store object; False where the store forbids it (frozen classes)."""
    try:
        setattr(handle, name, value)
    except (AttributeError, TypeError):
        return False
    return True


def _unhook(hooked: list[tuple[TicketStore, str, Any]]) -> None:
    for handle, name, value in reversed(hooked):
        if value is None:
            delattr(handle, name)
        else:
            setattr(handle, name, value)


def race(
    handles: Sequence[TicketStore],
    step: Callable[[int, int, TicketStore], Any],
    *,
    rounds: int,
    timeout: float,
    pause: float,
    more: Callable[[list[Any]], bool] | None = None,
) -> list[list[Any]]:
    """Run ``step(round, racer, handle)`` in one thread per handle, round after round.

    Every round starts at a barrier, every racer is paused after its first read
    (see `Rendezvous`), and the thread switch interval is made tiny, so
    races happen on every run rather than now and then. ``more(results)`` decides
    after each round whether to go on (at most ``rounds`` rounds). Returns each
    round's results by racer (an exception a step raised is its result). Fails
    the test, never hangs, when a racer is still running after ``timeout`` seconds.
    """
    parties = len(handles)
    rendezvous = Rendezvous(parties, pause)
    results: list[list[Any]] = []
    state = {"go": True}

    def between_rounds() -> None:
        if results and more is not None and not more(results[-1]):
            state["go"] = False
        if state["go"] and len(results) < rounds:
            results.append([None] * parties)
            rendezvous.new_round()
        else:
            state["go"] = False

    barrier = threading.Barrier(parties, action=between_rounds, timeout=timeout)
    errors: list[BaseException] = []

    def run(racer: int) -> None:
        rendezvous.enter(racer)
        try:
            while True:
                barrier.wait()
                if not state["go"]:
                    return
                number = len(results) - 1
                try:
                    outcome: Any = step(number, racer, handles[racer])
                except Exception as exc:  # a conflict is a result, not an error
                    outcome = exc
                results[number][racer] = outcome
                rendezvous.finished()
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    hooked = _hook(handles, rendezvous)
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(parties)]
    try:
        for th in threads:
            th.start()
        deadline = time.monotonic() + timeout
        for th in threads:
            th.join(max(0.0, deadline - time.monotonic()))
    finally:
        sys.setswitchinterval(old_interval)
        barrier.abort()
        _unhook(hooked)
    if any(th.is_alive() for th in threads):
        pytest.fail(
            f"a thread calling the store was still running after {timeout:g}s: the store deadlocked, "
            "or waits for something no other thread releases (raise `thread_timeout` for a slow backend)",
            pytrace=False,
        )
    if errors:
        raise errors[0]
    return results


def unexpected(results: Iterable[Any]) -> list[BaseException]:
    """The exceptions among ``results`` (a racer's own error, not an expected outcome)."""
    return [r for r in results if isinstance(r, BaseException)]


# --------------------------------------------------------------------------- the base


class ContractBase:
    """Fixtures and settings every family of the contract shares.

    ``make_store`` (required) returns a function making a new, empty store.
    ``open_again`` (optional) returns a function opening *another* store object
    on the same backend as a store ``make_store`` made: another connection,
    another file handle, the way a second process would open it. Without it the
    two-handle checks are skipped.
    """

    thread_safe: ClassVar[bool] = True
    """Set False for a store that must not be shared between threads (skips those checks)."""

    thread_timeout: ClassVar[float] = 30.0
    """Seconds a concurrency check waits for its threads before failing (never hanging)."""

    race_rounds: ClassVar[int] = 12
    """Rounds of each save race; every round all racers save over the same version."""

    pause_timeout: ClassVar[float] = 0.25
    """Seconds a racer paused after its read waits for the others (see the how-to)."""

    @pytest.fixture
    def make_store(self) -> Callable[[], TicketStore]:
        """Override: return a function making a new, empty store."""
        pytest.fail("define a `make_store` fixture returning a function that makes a new, empty store")

    @pytest.fixture
    def open_again(self) -> Callable[[TicketStore], TicketStore] | None:
        """Override to return a function opening another handle on a store's backend."""
        return None

    @pytest.fixture
    def store(
        self,
        make_store: Callable[[], TicketStore],
        open_again: Callable[[TicketStore], TicketStore] | None,
    ) -> Iterator[TicketStore]:
        """A new, empty store from ``make_store``, closed after the test."""
        made: list[TicketStore] = []

        def tracked() -> TicketStore:
            s = make_store()
            made.append(s)
            return s

        self._made = made
        self._make = tracked
        self._again = open_again
        yield tracked()
        for s in reversed(made):
            s.close()

    def fresh_store(self) -> TicketStore:
        """Another new, empty store (within a test that uses ``store``)."""
        make = getattr(self, "_make", None)
        if make is None:
            pytest.fail("StoreContract needs a `make_store` fixture (do not override `store` itself)")
        store: TicketStore = make()
        return store

    def other_handle(self, store: TicketStore) -> TicketStore:
        """A second store object on ``store``'s backend (skips the test without ``open_again``)."""
        again = getattr(self, "_again", None)
        if again is None:
            pytest.skip(
                "no `open_again` fixture: define one returning a function that opens another store "
                "object on the same backend to run the two-handle checks"
            )
        other: TicketStore = again(store)
        if other is store:
            pytest.fail("`open_again` returned the same object; it must open a second handle")
        self._made.append(other)
        return other

    def need_threads(self) -> None:
        """Skip when the store is declared unsafe to share between threads."""
        if not self.thread_safe:
            pytest.skip("store is not thread-safe (thread_safe = False)")

    def race(
        self,
        handles: Sequence[TicketStore],
        step: Callable[[int, int, TicketStore], Any],
        *,
        rounds: int,
        more: Callable[[list[Any]], bool] | None = None,
    ) -> list[list[Any]]:
        """`race` with this suite's timeouts."""
        return race(
            handles, step, rounds=rounds, timeout=self.thread_timeout, pause=self.pause_timeout, more=more
        )
