"""Round-robin cursors: where round-robin stands for each team, in memory or on a shared store."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

from ticketkit.errors import ErrorDetail, ValidationError


@runtime_checkable
class RoundRobinCursor(Protocol):
    """Where round-robin stands for each team; implement it on a shared store for many processes.

    ``next_agent(key, eligible)`` gets the eligible agent ids sorted ascending and returns
    the one to assign, remembering it: the first id after the last one given for ``key``,
    wrapping around. Implementations must be safe for their own concurrency model (a
    database row lock, a Redis script); the router calls it once per assignment.

    A cursor may also have ``peek_agent(key, eligible)``: the id ``next_agent`` would
    return, without remembering it. `Router.explain` uses it; with a cursor that lacks it,
    explain cannot know whose turn it is and names no agent (its tie-break says why)
    rather than one the next `Router.route` would not pick.

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
            chosen = _after(self._last.get(key), eligible)
            self._last[key] = chosen
            return chosen

    def peek_agent(self, key: str, eligible: Sequence[str]) -> str:
        """The id `next_agent` would return now, without moving the cursor.

        Examples:
            >>> c = InMemoryCursor({"t": "a"})
            >>> c.peek_agent("t", ["a", "b"]), c.peek_agent("t", ["a", "b"])
            ('b', 'b')
        """
        with self._lock:
            return _after(self._last.get(key), eligible)

    def state(self) -> dict[str, str]:
        """The last agent chosen per key (a copy)."""
        with self._lock:
            return dict(self._last)

    def copy(self) -> InMemoryCursor:
        """An independent cursor at the same position."""
        return InMemoryCursor(self.state())


def _after(last: str | None, eligible: Sequence[str]) -> str:
    """The first of ``eligible`` (sorted) after ``last``, wrapping around."""
    if last is None:
        return eligible[0]
    i = bisect.bisect_right(eligible, last)
    return eligible[i] if i < len(eligible) else eligible[0]


UNREADABLE: Final = "\x00unreadable cursor"
"""What `_PeekCursor` answers for a cursor it cannot read without moving."""


class _PeekCursor:
    """Round-robin that reads a cursor without moving it (for explain)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: RoundRobinCursor) -> None:
        self._inner = inner

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        peek = getattr(self._inner, "peek_agent", None)
        if peek is None:
            return UNREADABLE
        chosen = peek(key, eligible)
        if not isinstance(chosen, str):
            raise ValidationError([ErrorDetail("cursor.peek_agent", f"expected an agent id, got {chosen!r}")])
        return chosen
