"""Agent presence: `set_presence`, and what happens to an agent's tickets when they go away.

Presence is stored in the store's desk records (see ``_presence_state``). Going away or
offline applies the desk's presence policy for that status, from configuration:

- ``leave``: the tickets stay with the agent;
- ``requeue``: each goes back to its team's queue, unassigned;
- ``reroute``: routing picks another available agent now (the team's queue when nobody
  can take it).

Every moved ticket gets a ``ticket.assigned`` event whose reason says why it moved.
Coming online drains the queues at once (the facade calls ``_queues``); an ``until`` reverts the
presence for every worker at that instant, and the sweep applies the policy then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize, require_actor
from ticketkit.desk._kinds import OPEN_KINDS
from ticketkit.desk._presence_state import (
    PRESENCE_KIND,
    PRESENCE_STATUSES,
    Presence,
    presence_now,
    stored_presence,
)
from ticketkit.desk._running import run
from ticketkit.desk._work import Work
from ticketkit.errors import ConflictError, ErrorDetail, NotFoundError, PermissionDeniedError, ValidationError
from ticketkit.model._models import Event
from ticketkit.model._time import require_aware

PRESENCE_POLICIES: Final = ("leave", "requeue", "reroute")
"""What going away or offline does to an agent's open tickets."""

DEFAULT_POLICY: Final[Mapping[str, str]] = {"away": "leave", "offline": "leave"}


def check_policy(value: object) -> dict[str, str]:
    """The presence policy per status: one name for both, or ``{"away": ..., "offline": ...}``.

    Raises:
        ValidationError: an unknown policy or status, with its path.

    Examples:
        >>> check_policy("requeue")
        {'away': 'requeue', 'offline': 'requeue'}
        >>> check_policy({"offline": "reroute"})
        {'away': 'leave', 'offline': 'reroute'}
    """
    expected = ", ".join(PRESENCE_POLICIES)
    if isinstance(value, str):
        value = {"away": value, "offline": value}
    if not isinstance(value, Mapping):
        raise ValidationError.one(
            "presence_policy",
            f"expected a policy name ({expected}) or a mapping status -> policy, got {value!r}",
        )
    out = dict(DEFAULT_POLICY)
    problems: list[ErrorDetail] = []
    for status, policy in value.items():
        if status not in out:
            problems.append(
                ErrorDetail(
                    f"presence_policy.{status}", f"unknown status {status!r} (expected one of: away, offline)"
                )
            )
        elif policy not in PRESENCE_POLICIES:
            problems.append(
                ErrorDetail(
                    f"presence_policy.{status}", f"unknown policy {policy!r} (expected one of: {expected})"
                )
            )
        else:
            out[status] = policy
    if problems:
        raise ValidationError(problems)
    return out


def available(desk: DeskContext, status: str) -> bool:
    """True when agents with ``status`` take tickets (the router's ``available_statuses``)."""
    statuses = getattr(desk.router, "available_statuses", None) or frozenset({"online"})
    return status in statuses


def set_presence(
    desk: DeskContext,
    agent_id: str,
    status: str,
    *,
    actor: Actor,
    at: datetime | None,
    until: datetime | None,
) -> Presence:
    """Store the agent's presence, apply the policy to their tickets; the presence now in force."""
    require_actor(actor, "an Actor (who is setting the presence)")
    problems: list[ErrorDetail] = []
    if not isinstance(agent_id, str) or not agent_id:
        problems.append(ErrorDetail("agent_id", f"expected an agent id, got {agent_id!r}"))
    if status not in PRESENCE_STATUSES:
        problems.append(
            ErrorDetail(
                "status", f"unknown status {status!r} (expected one of: {', '.join(PRESENCE_STATUSES)})"
            )
        )
    if problems:
        raise ValidationError(problems)
    now = desk.now() if at is None else require_aware(at, "at")
    if until is not None and require_aware(until, "until") <= now:
        raise ValidationError.one("until", f"must be later than {now.isoformat()}, got {until.isoformat()}")
    known = {a.id: a for a in getattr(desk.router, "agents", ()) if a.tenant == actor.tenant}
    if known and agent_id not in known:
        raise NotFoundError("agent", agent_id)
    if not (actor.id == agent_id and actor.kind == "agent"):  # one's own presence needs no right
        authorize(desk.access, actor, "presence", None)
    configured = known[agent_id].status if agent_id in known else "online"
    for _ in range(desk.max_attempts):
        found = stored_presence(desk, actor.tenant, [agent_id]).get(agent_id)
        before = found[0].at(now).status if found is not None else configured
        new = Presence(
            agent=agent_id,
            status=status,
            since=now,
            until=until,
            revert_to=before if until is not None else None,
            by=actor.ref,
        )
        try:
            desk.store.put_record(
                PRESENCE_KIND,
                agent_id,
                new.to_json(),
                tenant=actor.tenant,
                expected_version=None if found is None else found[1],
            )
        except ConflictError:
            continue
        break
    else:
        raise ConflictError(
            f"presence:{agent_id}", None, None, detail="changed by others too often; try again"
        )
    if available(desk, before) and not available(desk, status):
        move_tickets(desk, agent_id, status, actor=actor)
    return new


def move_tickets(desk: DeskContext, agent_id: str, status: str, *, actor: Actor) -> list[Event]:
    """Apply the policy for ``status`` to the agent's open tickets; the assignment events."""
    policy = desk.presence_policy.get(status, "leave")
    if policy == "leave":
        return []
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = desk.store.query(
            tenant=actor.tenant, assignee=agent_id, status_kind=OPEN_KINDS, limit=500, cursor=cursor
        )
        ids.extend(t.id for t in page)
        cursor = page.next_cursor
        if cursor is None:
            break
    moved: dict[str, list[Event]] = {}  # the events of each ticket's committed attempt
    why = f"{agent_id} went {status}"
    for ticket_id in ids:

        def change(work: Work, ticket_id: str = ticket_id) -> str:
            draft = work.load(ticket_id, None)
            if draft.ticket.assignee != agent_id or draft.ticket.status_kind not in OPEN_KINDS:
                return ticket_id  # moved or closed meanwhile
            before = len(draft.events)
            if policy == "reroute":
                work.route(draft, actor=actor.ref, reason=f"{why}: rerouted")
                if draft.ticket.assignee == agent_id:  # routing kept it (nobody else, or a rule names them)
                    work.assign(draft, team=draft.ticket.team, agent=None, reason=f"{why}: rerouted, nobody "
                                "available, requeued to the team's queue", actor=actor.ref)  # fmt: skip
            else:
                work.assign(
                    draft, team=draft.ticket.team, agent=None, reason=f"{why}: requeued to the team's queue",
                    actor=actor.ref,
                )  # fmt: skip
            moved[ticket_id] = draft.events[before:]
            return ticket_id

        run(desk, actor, change)
    return [e for events in moved.values() for e in events]


def presence(desk: DeskContext, *, actor: Actor, at: datetime | None) -> dict[str, str]:
    """Every agent's status at ``at`` (now): the stored presence over the configured status."""
    require_actor(actor, "an Actor (who is asking)")
    if not actor.is_staff:
        raise PermissionDeniedError(actor.ref, "presence", "agents", "only staff see agents' presence")
    now = desk.now() if at is None else require_aware(at, "at")
    stored = presence_now(desk, actor.tenant, now)
    out = {a.id: a.status for a in getattr(desk.router, "agents", ()) if a.tenant == actor.tenant}
    out.update(stored)
    return dict(sorted(out.items()))
