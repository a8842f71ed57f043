"""What a clock is: anything that tells the current, timezone-aware time.

Engines never read the system clock; only the edges (the ``Helpdesk``) take a
clock, so every result can be reproduced by handing in a controllable one
(:class:`ticketkit.testing.ManualClock`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ticketkit._time import require_aware
from ticketkit.errors import ValidationError

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
