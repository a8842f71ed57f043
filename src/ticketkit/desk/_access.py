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

[`mask_personal`][ticketkit.mask_personal] and [`mask_ticket`][ticketkit.mask_ticket] hide phone numbers,
e-mail addresses and ID numbers in exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._json import freeze, thaw
from ticketkit.model._models import Agent, Ticket, replace_trusted

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


def _to_str_set(value: Any) -> Any:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value
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


# --------------------------------------------------------------------------- masking

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+\.)+[A-Za-z]{2,}")
# Chinese resident ID (18 chars, last may be X) before phones so it is not half-masked.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s-]?)?(?:\(?\d{2,4}\)?[\s-]?)?\d{3,4}[\s-]?\d{4}(?!\w)")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    n = sum(c.isdigit() for c in text)
    # Hide the four digits before the last four (the middle of a mobile number).
    hide = range(max(0, n - 8), n - 4)
    seen = -1
    out = []
    for c in text:
        if c.isdigit():
            seen += 1
            out.append("*" if seen in hide else c)
        else:
            out.append(c)
    return "".join(out)


def mask_personal(text: str) -> str:
    """``text`` with e-mail addresses, phone numbers and ID numbers masked.

    Enough is kept to tell records apart (the first letter of an address, the
    first three and last four digits of a mobile number, the region and the last
    four characters of an ID number).

    Examples:
        >>> mask_personal("Call 13812345678 or mail wang.fang@example.com")
        'Call 138****5678 or mail w***@example.com'
        >>> mask_personal("ID 110101199003071234")
        'ID 110101********1234'
    """
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(0).split('@', 1)[1]}", text)
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(2)}", text)
    return _PHONE.sub(_mask_phone, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def mask_ticket(ticket: Ticket) -> Ticket:
    """A copy of ``ticket`` with personal data masked everywhere it can hide.

    The customer's e-mail and phone, and any e-mail address, phone number or ID
    number in the subject, description, custom fields and customer data.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Customer
        >>> t = Ticket(
        ...     subject="Callback to 13812345678",
        ...     customer=Customer(id="c-1", email="wang@example.com", phone="+86 13812345678"),
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> m = mask_ticket(t)
        >>> m.subject, m.customer.email, m.customer.phone
        ('Callback to 138****5678', 'w***@example.com', '+86 138****5678')
    """
    customer = ticket.customer
    if customer is not None:
        customer = replace_trusted(
            customer,
            name=customer.name,
            email=mask_personal(customer.email) if customer.email else customer.email,
            phone=mask_personal(customer.phone) if customer.phone else customer.phone,
            data=freeze(_mask_value(thaw(customer.data))),
        )
    return replace_trusted(
        ticket,
        subject=mask_personal(ticket.subject),
        description=mask_personal(ticket.description),
        fields=freeze(_mask_value(thaw(ticket.fields))),
        satisfaction_remark=(
            mask_personal(ticket.satisfaction_remark) if ticket.satisfaction_remark else None
        ),
        customer=customer,
    )
