"""Who may do what: actors with roles, the default access policy, and masking of personal data.

An [`Actor`][ticketkit.Actor] is whoever calls the [`Helpdesk`][ticketkit.Helpdesk]: an agent, a team lead,
an administrator, a customer, or the system itself (automations, the SLA sweep). Every
``Helpdesk`` method asks an [`AccessPolicy`][ticketkit.AccessPolicy] before it reads or writes a ticket; the
[`DefaultAccess`][ticketkit.DefaultAccess] policy is:

=========  ==================================================================
role       may
=========  ==================================================================
agent      read and work tickets assigned to them or to one of their teams;
           take such a ticket (assign it to themselves)
lead       the same for their teams, plus the unassigned queue; (re)assign
admin      everything in their tenant, including the SLA sweep and exports
customer   open tickets for themselves; read, comment on (publicly) and rate
           their own tickets
system     everything in its tenant (automations, the sweep, intake)
=========  ==================================================================

Nobody ever reaches a ticket of another tenant: the ``Helpdesk`` reads through the
store with the actor's tenant, so such a ticket is simply not found.

The ``reveal_personal`` right (who sees personal data unmasked) is not an action of
this policy: it is the desk's [`RevealPolicy`][ticketkit.RevealPolicy] (``Helpdesk(reveal=...)``),
which maps each role to a scope: by default admin and system ``all`` (the tenant), lead
``team``, agent ``assigned``, customer ``own``, any other role ``none``. Reads, notifications
and exports mask personal data for actors without it (``desk/_privacy.py``).

[`mask_personal`][ticketkit.mask_personal] and [`mask_ticket`][ticketkit.mask_ticket] live in
``ticketkit.privacy``; they are imported here so the desk's existing imports keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol, cast, runtime_checkable

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._models import Agent, Ticket
from ticketkit.privacy._mask import mask_personal, mask_ticket

__all__ = [
    "ACTIONS",
    "ROLES",
    "AccessPolicy",
    "Actor",
    "DefaultAccess",
    "mask_personal",
    "mask_ticket",
]

ROLES: Final = frozenset({"agent", "lead", "admin", "customer", "system"})
"""The roles [`DefaultAccess`][ticketkit.DefaultAccess] knows; custom policies may use others."""

ACTIONS: Final = frozenset(
    {
        "read",  # see a ticket, its history and its progress
        "open",  # open a ticket (ticket is the one about to be created)
        "comment",  # add a public comment
        "note",  # add an internal (non-public) comment
        "update",  # fire a transition, change priority/category/tags/fields, link, merge, split, spawn
        "take",  # assign a ticket to oneself
        "assign",  # assign a ticket to anyone
        "rate",  # rate the service on a ticket
        "admin",  # tenant-wide operations: tick, retry notifications, export (ticket is None)
    }
)
"""The actions a [`AccessPolicy`][ticketkit.AccessPolicy] is asked about."""

_STAFF: Final = frozenset({"agent", "lead", "admin", "system"})


def _to_str_set(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return cast("frozenset[str]", value)  # as given: __attrs_post_init__ names the problem
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Actor:
    """Whoever calls the helpdesk: an id, roles, teams and a tenant.

    ``ref`` is how the actor appears in events and notifications (``agent:li``,
    ``customer:c-1``, ``system:ticketkit``).

    Examples:
        >>> li = Actor(id="li", roles={"agent"}, teams={"after-sales"})
        >>> li.ref, li.is_staff
        ('agent:li', True)
        >>> Actor.customer("c-1").ref
        'customer:c-1'
        >>> Actor.system().roles
        frozenset({'system'})
    """

    id: str
    roles: frozenset[str] = attrs.field(default=frozenset({"agent"}), converter=_to_str_set)
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    tenant: str = "default"
    name: str = ""

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        if not isinstance(self.id, str) or not self.id.strip():
            problems.append(ErrorDetail("id", f"expected a non-empty string, got {self.id!r}"))
        for attr in ("roles", "teams"):
            value = getattr(self, attr)
            if not isinstance(value, frozenset) or not all(isinstance(v, str) for v in value):
                problems.append(ErrorDetail(attr, f"expected a set of strings, got {value!r}"))
        if isinstance(self.roles, frozenset) and not self.roles:
            problems.append(
                ErrorDetail("roles", "an actor needs at least one role (e.g. agent, lead, admin, customer)")
            )
        if not isinstance(self.tenant, str) or not self.tenant.strip():
            problems.append(ErrorDetail("tenant", f"expected a non-empty string, got {self.tenant!r}"))
        name: object = self.name
        if not isinstance(name, str):
            problems.append(ErrorDetail("name", f"expected a string, got {name!r}"))
        if problems:
            raise ValidationError(problems)

    @property
    def kind(self) -> str:
        """``customer``, ``system`` or ``agent`` (any staff role): the prefix of `ref`."""
        if "customer" in self.roles:
            return "customer"
        if "system" in self.roles:
            return "system"
        return "agent"

    @property
    def ref(self) -> str:
        """The actor as written in events: ``<kind>:<id>``."""
        return f"{self.kind}:{self.id}"

    @property
    def is_staff(self) -> bool:
        """True for agents, leads, admins and the system."""
        return bool(self.roles & _STAFF)

    def has(self, role: str) -> bool:
        """True when the actor has ``role``."""
        return role in self.roles

    @classmethod
    def system(cls, tenant: str = "default", id: str = "ticketkit") -> Actor:  # noqa: A002
        """The helpdesk itself, acting for automations, the SLA sweep and intake.

        Examples:
            >>> Actor.system("acme").ref
            'system:ticketkit'
        """
        return cls(id=id, roles=frozenset({"system"}), tenant=tenant)

    @classmethod
    def customer(cls, id: str, tenant: str = "default") -> Actor:  # noqa: A002
        """A customer acting on their own tickets.

        Examples:
            >>> Actor.customer("c-9").kind
            'customer'
        """
        return cls(id=id, roles=frozenset({"customer"}), tenant=tenant)

    @classmethod
    def from_agent(cls, agent: Agent) -> Actor:
        """The actor for an [`Agent`][ticketkit.Agent]: its id, roles, teams and tenant.

        Examples:
            >>> from ticketkit import Agent
            >>> Actor.from_agent(Agent(id="zhao", teams={"after-sales"}, roles={"lead"})).ref
            'agent:zhao'
        """
        return cls(id=agent.id, roles=agent.roles or {"agent"}, teams=agent.teams, tenant=agent.tenant)


@runtime_checkable
class AccessPolicy(Protocol):
    """Decides whether an actor may perform an action on a ticket.

    ``check`` returns None when the action is allowed, otherwise the reason it is not,
    in words (it becomes `PermissionDeniedError.reason`). ``ticket`` is None for
    tenant-wide actions (``admin``). Tenancy is enforced by the helpdesk before the
    policy is asked, so a policy cannot leak another tenant's tickets.

    Examples:
        >>> class ReadOnly:
        ...     def check(self, actor, action, ticket):
        ...         return None if action == "read" else "this desk is read-only"
        >>> isinstance(ReadOnly(), AccessPolicy)
        True
    """

    def check(self, actor: Actor, action: str, ticket: Ticket | None) -> str | None:
        """None when allowed, else the reason for refusing."""
        ...


class DefaultAccess:
    """The access policy the helpdesk uses unless told otherwise (see the module table).

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(
        ...     subject="Late parcel",
        ...     team="after-sales",
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> policy = DefaultAccess()
        >>> policy.check(Actor(id="li", teams={"after-sales"}), "update", t) is None
        True
        >>> policy.check(Actor(id="wu", teams={"billing"}), "read", t)
        "not assigned to wu or to one of wu's teams (after-sales)"
    """

    __slots__ = ()

    def check(self, actor: Actor, action: str, ticket: Ticket | None) -> str | None:
        """None when ``actor`` may perform ``action`` on ``ticket``, else the reason."""
        if ticket is not None and ticket.tenant != actor.tenant:
            return "the ticket belongs to another tenant"
        roles = actor.roles
        if "system" in roles or "admin" in roles:
            return None
        if action == "admin":
            return "needs the admin role"
        if ticket is None:
            return None if action == "open" and (roles & ROLES) else f"{action} needs a ticket"
        if "customer" in roles and not roles & _STAFF:
            return self._customer(actor, action, ticket)
        if "lead" in roles or "agent" in roles:
            return self._staff(actor, action, ticket, lead="lead" in roles)
        return f"no role that allows {action} (roles: {', '.join(sorted(roles))})"

    @staticmethod
    def _customer(actor: Actor, action: str, ticket: Ticket) -> str | None:
        own = ticket.customer is not None and ticket.customer.id == actor.id
        if action not in {"open", "read", "comment", "rate"}:
            return f"customers may not {action} tickets"
        if not own:
            return "not the customer's own ticket"
        return None

    @staticmethod
    def _staff(actor: Actor, action: str, ticket: Ticket, *, lead: bool) -> str | None:
        if action == "open":
            return None
        in_scope = ticket.assignee == actor.id or (ticket.team is not None and ticket.team in actor.teams)
        if lead and ticket.team is None and ticket.assignee is None:
            in_scope = True  # leads triage the unassigned queue
        if not in_scope:
            teams = ticket.team or "no team"
            return f"not assigned to {actor.id} or to one of {actor.id}'s teams ({teams})"
        if action == "assign" and not lead:
            return "only leads and admins assign tickets to others; agents may take them"
        if action not in ACTIONS:
            return f"unknown action {action!r}"
        return None
