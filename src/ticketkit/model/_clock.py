"""What a clock is: anything that tells the current, timezone-aware time.

Engines never read the system clock; only the edges (the ``Helpdesk``) take a
clock, so every result can be reproduced by handing in a controllable one
([`ticketkit.testing.ManualClock`][ticketkit.testing.ManualClock]).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from ticketkit.errors import ValidationError
from ticketkit.model._time import require_aware

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` that returns a timezone-aware datetime.

    A plain zero-argument callable returning an aware datetime works wherever a
    clock is expected too.

    Examples:
        >>> from datetime import datetime, timezone
        >>> class Fixed:
        ...     def now(self) -> datetime:
        ...         return datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> isinstance(Fixed(), Clock)
        True
    """

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The real time, in UTC: the clock to use in production.

    Examples:
        >>> SystemClock().now().tzinfo
        datetime.timezone.utc
    """

    __slots__ = ()

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now()

    def __repr__(self) -> str:
        return "SystemClock()"


def as_now(clock: Clock | Callable[[], datetime] | None, path: str = "clock") -> Callable[[], datetime]:
    """A zero-argument function reading ``clock``, checking each reading is aware.

    ``None`` means the system clock. Anything that is neither a clock nor a
    callable is a ``ValidationError`` naming ``path``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> now = as_now(lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))
        >>> now().year
        2025
    """
    if clock is None:
        return SystemClock().now
    read: Callable[[], datetime]
    method = getattr(clock, "now", None)
    if callable(method):
        read = method
    elif callable(clock):
        read = clock
    else:
        raise ValidationError.one(
            path, f"expected a clock (an object with now() or a zero-argument callable), got {clock!r}"
        )

    def now() -> datetime:
        return require_aware(read(), path)

    return now


class ManualClock:
    """A clock that moves only when told to; thread-safe.

    Use it wherever a clock is expected (it has ``now()`` and is callable).

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> clock = ManualClock(datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
        >>> clock.advance(timedelta(hours=2)).hour, clock().hour
        (11, 11)
        >>> clock.set(datetime(2025, 3, 4, tzinfo=timezone.utc)).day
        4
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = (
            require_aware(start, "start") if start is not None else datetime(2025, 1, 6, 9, tzinfo=UTC)
        )

    def now(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def __call__(self) -> datetime:
        return self.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new time.

        Raises:
            ValidationError: ``delta`` is negative or not a timedelta.
        """
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise ValidationError.one("delta", f"expected a non-negative timedelta, got {delta!r}")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, value: datetime) -> datetime:
        """Set the clock to ``value`` (an aware datetime; backwards is allowed) and return it."""
        value = require_aware(value, "value")
        with self._lock:
            self._now = value
            return value

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()!r})"
