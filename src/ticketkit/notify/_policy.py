"""How notifications are delivered from the outbox: tries, backoff with jitter, leases."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import attrs

from ticketkit.errors import ValidationError


def _positive_int(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError.one(attribute.name, f"expected an integer of at least 1, got {value!r}")


def _positive_delta(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError.one(attribute.name, f"expected a positive timedelta, got {value!r}")


def _factor(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 1 <= value <= 100:
        raise ValidationError.one(attribute.name, f"expected a number from 1 to 100, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValidationError.one(attribute.name, f"expected a number from 0 to 1, got {value!r}")


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError.one(attribute.name, f"expected true or false, got {value!r}")


def _seed(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValidationError.one(attribute.name, f"expected an integer or None, got {value!r}")


@attrs.frozen(kw_only=True)
class DeliveryPolicy:
    """How a desk delivers the notifications in its store's outbox.

    A notification that fails is tried again after ``first_retry``, then after
    ``factor`` times longer each time, never more than ``max_delay`` apart, with
    up to ``jitter`` of each delay taken off at random (drawn from
    ``random.Random(seed)``, so a seed makes the schedule reproducible) so that
    failing receivers are not hit by every worker at once. After ``max_tries``
    failed sends it is a dead letter: kept, listed by
    [`Helpdesk.dead_letters`][ticketkit.Helpdesk.dead_letters], sent again only
    when an admin requeues it.

    ``inline`` sends each notification right after the commit from the process
    that made it (the outbox row is leased to that process for ``lease``; if the
    process dies, a worker sends it when the lease ends). With ``inline=False``
    the desk only writes the outbox, and a worker (`python -m ticketkit worker`)
    delivers.

    Examples:
        >>> import random
        >>> from datetime import timedelta
        >>> p = DeliveryPolicy(first_retry=timedelta(seconds=10), jitter=0)
        >>> [p.delay(n, random.Random(1)).total_seconds() for n in (1, 2, 3)]
        [10.0, 20.0, 40.0]
        >>> p.gives_up(8), p.gives_up(7)
        (True, False)
    """

    max_tries: int = attrs.field(default=8, validator=_positive_int)
    first_retry: timedelta = attrs.field(default=timedelta(seconds=30), validator=_positive_delta)
    factor: float = attrs.field(default=2.0, validator=_factor)
    max_delay: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive_delta)
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    lease: timedelta = attrs.field(default=timedelta(minutes=2), validator=_positive_delta)
    inline: bool = attrs.field(default=True, validator=_flag)
    seed: int | None = attrs.field(default=None, validator=_seed)

    def delay(self, tries: int, rng: random.Random) -> timedelta:
        """How long to wait after the ``tries``-th failed send (1 for the first)."""
        growth = float(self.factor) ** min(max(0, tries - 1), 60)  # capped: no float overflow
        seconds = min(self.first_retry.total_seconds() * growth, self.max_delay.total_seconds())
        return timedelta(seconds=seconds * (1 - self.jitter * rng.random()))

    def gives_up(self, tries: int) -> bool:
        """True when ``tries`` failed sends make the notification a dead letter."""
        return tries >= self.max_tries
