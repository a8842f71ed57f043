"""Access checks and the run-time checks of typed arguments that every desk operation makes.

The access policy itself (`Actor`, `AccessPolicy`, `DefaultAccess`) lives in
`_access`; this module asks it and turns a refusal into `PermissionDeniedError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from ticketkit.desk._access import AccessPolicy, Actor
from ticketkit.errors import PermissionDeniedError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import freeze
from ticketkit.model._models import Comment, Customer, Event, Priority, Ticket, replace_trusted


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


def require_actor_or_none(actor: object) -> Actor | None:
    """``actor`` if it is an `Actor` or None; else a `ValidationError`."""
    if actor is not None and not isinstance(actor, Actor):
        raise ValidationError.one("actor", f"expected an Actor or None, got {actor!r}")
    return actor


def authorize_intake(
    access: AccessPolicy,
    actor: Actor,
    ticket: Ticket,
    *,
    placed: tuple[bool, bool],
    comments: Iterable[Comment],
    now: datetime,
) -> None:
    """Refuse what intake may not do without a right: placing the ticket, importing history.

    ``placed`` says whether the caller set the team or urgent priority (``place``) and
    the assignee (``place_agent``) itself. Transcript entries that are not the customer's or the bot's,
    not public, or dated later than ``now`` are history only the ``import`` right brings in.
    """
    if placed[0]:
        authorize(access, actor, "place", ticket)
    if placed[1]:
        authorize(access, actor, "place_agent", ticket)
    customer = ticket.customer
    for comment in comments:
        forged = (
            comment.author_kind not in ("customer", "bot")
            or not comment.public
            or comment.at > now
            or (comment.author_kind == "customer" and (customer is None or comment.author != customer.id))
        )
        if forged:
            authorize(access, actor, "import", ticket)
            return


def was_placed(team: str | None, assignee: str | None, priority: Priority | str | None) -> tuple[bool, bool]:
    """Whether a request sets the team or urgent priority, and whether it sets the assignee."""
    urgent = priority is not None and Priority.parse(priority) is Priority.URGENT
    return (team is not None or urgent, assignee is not None)


_MERGED_CONTENT = ("subject", "description", "source_sla")


def customer_view(actor: Actor, events: Iterable[Event]) -> list[Event]:
    """``events`` with merged content of another customer taken out (for a customer actor)."""
    if actor.kind != "customer":
        return list(events)
    out = []
    for event in events:
        data = event.data
        if event.kind == ev.MERGED and "from" in data and data.get("source_customer") != actor.id:
            kept: Mapping[str, object] = {k: v for k, v in data.items() if k not in _MERGED_CONTENT}
            out.append(replace_trusted(event, data=freeze(dict(kept))))
        else:
            out.append(event)
    return out


def source_customer(ticket: Ticket) -> str | None:
    """The id of the ticket's customer (recorded with a merge so reads can tell whose it was)."""
    customer: Customer | None = ticket.customer
    return customer.id if customer is not None else None
