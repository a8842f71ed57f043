"""Who may see personal data unmasked: the ``reveal_personal`` right, as data.

The desk asks `RevealPolicy.allows` before it hands a ticket, its events or its comments
to an actor; without the right it masks them (`mask_ticket`, `mask_event`,
`mask_comment`). The policy maps each role to a *scope*: the tickets on which holders of
that role see personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._json import FrozenDict
from ticketkit.model._limits import guarded_loader
from ticketkit.model._models import Comment, Event, Ticket
from ticketkit.privacy._mask import DEFAULT_PERSONAL, Masker, PersonalFields

__all__ = ["REVEAL_PERSONAL", "REVEAL_SCOPES", "RevealPolicy"]

REVEAL_PERSONAL: Final = "reveal_personal"
"""The name of the right to see personal data unmasked."""

REVEAL_SCOPES: Final = ("none", "own", "assigned", "team", "all")
"""The scopes a role can have, narrowest first.

``none``: never; ``own``: the customer's own tickets; ``assigned``: tickets assigned to
the actor; ``team``: tickets assigned to the actor or to one of their teams; ``all``:
every ticket of the actor's tenant.
"""

DEFAULT_SCOPES: Final = FrozenDict(
    {"admin": "all", "system": "all", "lead": "team", "agent": "assigned", "customer": "own"}
)


class RevealActor(Protocol):
    """What the policy needs to know about an actor (``ticketkit.Actor`` has it)."""

    @property
    def id(self) -> str:
        """The actor's id (an agent id, or a customer id for customers)."""
        ...

    @property
    def roles(self) -> frozenset[str]:
        """The actor's roles."""
        ...

    @property
    def teams(self) -> frozenset[str]:
        """The actor's teams."""
        ...

    @property
    def tenant(self) -> str:
        """The actor's tenant."""
        ...


def _to_scopes(value: Any) -> Any:
    return FrozenDict(value) if isinstance(value, Mapping) else value


@attrs.frozen(kw_only=True)
class RevealPolicy:
    """Which roles hold the ``reveal_personal`` right, and on which tickets.

    ``scopes`` maps a role to one of `REVEAL_SCOPES`; an actor with several roles gets
    the widest of their scopes; a role not listed gets ``none``. The default: admins
    and the system everywhere in their tenant, leads on their teams' tickets, agents on
    the tickets assigned to them, customers on their own tickets. Everyone else, and
    agents reading a teammate's ticket, see personal data masked.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Actor, Ticket
        >>> t = Ticket(
        ...     subject="s",
        ...     team="after-sales",
        ...     assignee="li",
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> policy = RevealPolicy()
        >>> policy.allows(Actor(id="li", teams={"after-sales"}), t)
        True
        >>> policy.allows(Actor(id="wu", teams={"after-sales"}), t)
        False
        >>> RevealPolicy(scopes={"agent": "team"}).allows(Actor(id="wu", teams={"after-sales"}), t)
        True
    """

    scopes: Mapping[str, str] = attrs.field(default=DEFAULT_SCOPES, converter=_to_scopes)

    def __attrs_post_init__(self) -> None:
        scopes: object = self.scopes
        if not isinstance(scopes, Mapping):
            raise ValidationError.one("scopes", f"expected a mapping of role to scope, got {scopes!r}")
        problems = [
            ErrorDetail(
                f"scopes.{role}",
                f"unknown scope {scope!r} (expected one of: {', '.join(REVEAL_SCOPES)})",
            )
            for role, scope in sorted(scopes.items(), key=lambda kv: str(kv[0]))
            if not isinstance(role, str) or scope not in REVEAL_SCOPES
        ]
        if problems:
            raise ValidationError(problems)

    def scope(self, roles: frozenset[str]) -> str:
        """The widest scope any of ``roles`` has.

        Examples:
            >>> RevealPolicy().scope(frozenset({"agent", "lead"}))
            'team'
        """
        best = 0
        for role in roles:
            scope = self.scopes.get(role)
            if scope is not None:
                best = max(best, REVEAL_SCOPES.index(scope))
        return REVEAL_SCOPES[best]

    def allows(self, actor: RevealActor, ticket: Ticket) -> bool:
        """True when ``actor`` may see ``ticket``'s personal data unmasked."""
        if ticket.tenant != actor.tenant:
            return False
        scope = self.scope(actor.roles)
        if scope == "all":
            return True
        if scope == "team" and ticket.team is not None and ticket.team in actor.teams:
            return True
        if scope in {"team", "assigned"}:
            return ticket.assignee is not None and ticket.assignee == actor.id
        if scope == "own":
            return ticket.customer is not None and ticket.customer.id == actor.id
        return False

    def ticket_for(
        self,
        actor: RevealActor,
        ticket: Ticket,
        *,
        personal: PersonalFields = DEFAULT_PERSONAL,
        region: str = "CN",
    ) -> Ticket:
        """``ticket`` as ``actor`` may see it: as it is with the right, masked without.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Actor, Ticket
            >>> t = Ticket(
            ...     subject="电话13812345678",
            ...     team="after-sales",
            ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
            ... )
            >>> RevealPolicy().ticket_for(Actor(id="wu", teams={"after-sales"}), t).subject
            '电话138****5678'
            >>> RevealPolicy().ticket_for(Actor(id="boss", roles={"admin"}), t).subject
            '电话13812345678'
        """
        if self.allows(actor, ticket):
            return ticket
        return Masker.for_customer(ticket.customer, personal=personal, region=region).ticket(ticket)

    def events_for(
        self,
        actor: RevealActor,
        ticket: Ticket,
        events: Iterable[Event],
        *,
        personal: PersonalFields = DEFAULT_PERSONAL,
        region: str = "CN",
    ) -> list[Event]:
        """``ticket``'s events as ``actor`` may see them (comment bodies and transcripts included).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Actor, Event, Ticket
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> t = Ticket(subject="s", id="T1", created_at=at)
            >>> e = Event(ticket_id="T1", kind="comment.added", actor="customer:13812345678", at=at)
            >>> [x.actor for x in RevealPolicy().events_for(Actor(id="wu"), t, [e])]
            ['customer:138****5678']
        """
        if self.allows(actor, ticket):
            return list(events)
        masker = Masker.for_customer(ticket.customer, personal=personal, region=region)
        return [masker.event(e) for e in events]

    def comments_for(
        self,
        actor: RevealActor,
        ticket: Ticket,
        comments: Iterable[Comment],
        *,
        personal: PersonalFields = DEFAULT_PERSONAL,
        region: str = "CN",
    ) -> list[Comment]:
        """``ticket``'s comments as ``actor`` may see them.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Actor, Comment, Ticket
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> t = Ticket(subject="s", id="T1", created_at=at)
            >>> c = Comment(ticket_id="T1", author="li", body="call 13812345678", at=at)
            >>> [x.body for x in RevealPolicy().comments_for(Actor(id="wu"), t, [c])]
            ['call 138****5678']
        """
        if self.allows(actor, ticket):
            return list(comments)
        masker = Masker.for_customer(ticket.customer, personal=personal, region=region)
        return [masker.comment(c) for c in comments]

    @classmethod
    @guarded_loader(1)
    def from_dict(cls, data: Any) -> RevealPolicy:
        """Build from ``{"scopes": {role: scope}}``.

        Examples:
            >>> RevealPolicy.from_dict({"scopes": {"dpo": "all"}}).scope(frozenset({"dpo"}))
            'all'
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one("", f"expected an object with 'scopes', got {data!r}")
        unknown = sorted(set(data) - {"scopes"}, key=str)
        if unknown:
            raise ValidationError(
                [ErrorDetail(str(k), f"unknown key {k!r}; check its spelling") for k in unknown]
            )
        if "scopes" not in data:
            return cls()
        return cls(scopes=data["scopes"])

    def to_dict(self) -> dict[str, Any]:
        """The data form.

        Examples:
            >>> RevealPolicy(scopes={"admin": "all"}).to_dict()
            {'scopes': {'admin': 'all'}}
        """
        return {"scopes": dict(sorted(self.scopes.items()))}
