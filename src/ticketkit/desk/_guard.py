"""Access checks and the run-time checks of typed arguments that every desk operation makes.

The access policy itself (`Actor`, `AccessPolicy`, `DefaultAccess`) lives in
`_access`; this module asks it and turns a refusal into `PermissionDeniedError`.
"""

from __future__ import annotations

from ticketkit.desk._access import AccessPolicy, Actor
from ticketkit.errors import PermissionDeniedError, ValidationError
from ticketkit.model._models import Ticket


def wrong(value: object, cls: type | tuple[type, ...]) -> bool:
    """True when ``value`` is not an instance of ``cls`` (a run-time check on typed arguments)."""
    return not isinstance(value, cls)


def is_bool(value: object) -> bool:
    """True for ``True`` and ``False`` (which are ints too)."""
    return isinstance(value, bool)


def require_actor(actor: object, expected: str = "an Actor") -> Actor:
    """``actor`` if it is an `Actor`; else a `ValidationError` saying ``expected``."""
    if not isinstance(actor, Actor):
        raise ValidationError.one("actor", f"expected {expected}, got {actor!r}")
    return actor


def authorize(access: AccessPolicy, actor: Actor, action: str, ticket: Ticket | None) -> None:
    """Raise `PermissionDeniedError` unless ``access`` lets ``actor`` do ``action`` to the ticket."""
    reason = access.check(actor, action, ticket)
    if reason is not None:
        target = f"ticket {ticket.id}" if ticket is not None else f"tenant {actor.tenant}"
        raise PermissionDeniedError(actor.ref, action, target, reason)
