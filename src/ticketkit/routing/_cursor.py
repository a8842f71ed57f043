"""Round-robin cursors: where round-robin stands for each team, in memory or on a shared store."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class RoundRobinCursor(Protocol):
    """Where round-robin stands for each team; implement it on a shared store for many processes.

    ``next_agent(key, eligible)`` gets the eligible agent ids sorted ascending and returns
    the one to assign, remembering it: the first id after the last one given for ``key``,
    wrapping around. Implementations must be safe for their own concurrency model (a
    database row lock, a Redis script); the router calls it once per assignment.

    Examples:
        >>> class FirstAlways:
        ...     def next_agent(self, key, eligible):
        ...         return eligible[0]
        >>> isinstance(FirstAlways(), RoundRobinCursor), isinstance(InMemoryCursor(), RoundRobinCursor)
        (True, True)
    """

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        """Pick one of ``eligible`` (sorted ascending) for ``key`` and remember it."""


class InMemoryCursor:
    """A round-robin cursor in a dict: for one process (thread-safe), and for simulations.

    Examples:
        >>> c = InMemoryCursor()
        >>> " ".join(c.next_agent("t", ["a", "b", "c"]) for _ in range(4))
        'a b c a'
        >>> c.next_agent("t", ["a", "c"])  # b is away: after 'a' comes 'c'
        'c'
    """

    __slots__ = ("_last", "_lock")

    def __init__(self, last: Mapping[str, str] | None = None) -> None:
        self._last: dict[str, str] = dict(last or {})
        self._lock = threading.Lock()

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        """The first eligible id after the last one chosen for ``key`` (wrapping)."""
        with self._lock:  # read and move in one step, so two threads never get the same turn
            last = self._last.get(key)
            if last is None:
                chosen = eligible[0]
            else:
                i = bisect.bisect_right(eligible, last)
                chosen = eligible[i] if i < len(eligible) else eligible[0]
            self._last[key] = chosen
            return chosen

    def state(self) -> dict[str, str]:
        """The last agent chosen per key (a copy)."""
        with self._lock:
            return dict(self._last)

    def copy(self) -> InMemoryCursor:
        """An independent cursor at the same position."""
        return InMemoryCursor(self.state())


class _PeekCursor:
    """Round-robin that reads a cursor without moving it (for explain)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: RoundRobinCursor) -> None:
        self._inner = inner

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        inner = self._inner
        if isinstance(inner, InMemoryCursor):
            return inner.copy().next_agent(key, eligible)
        return eligible[0]
