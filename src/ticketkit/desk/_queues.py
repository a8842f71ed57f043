"""A queue that drains: tickets waiting in a team's queue handed out, highest priority then oldest first.

The sweep (`tick`) and an agent coming online (`set_presence`) call `drain`. It runs
for one tenant at a time under a lease (a desk record, kind ``lease``, key ``queues``,
taken by compare-and-set), so of several workers on one store exactly one hands
tickets out at any moment: no ticket goes to two agents (each write also carries the
ticket's version) and no agent gets more than their capacity, because the load is read
from the store after the lease is taken and counted up as tickets are handed out.

A drain first reverts presences whose ``until`` has passed (applying the away/offline
policy), then, for each team with an agent who has room, reads the team's open tickets
by priority (urgent first) and age, skips the assigned ones and gives each waiting one to
the agent [`Router.pick`][ticketkit.Router.pick] names. A shift that starts is seen the
same way: the agent's calendar is open at the drain's instant. The hand-outs are saved
in batches, each in one transaction with its notifications (as the sweep does).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize, require_actor_or_none
from ticketkit.desk._kinds import OPEN_KINDS
from ticketkit.desk._outbox import send_inline
from ticketkit.desk._placement import AgentLoad
from ticketkit.desk._presence import move_tickets
from ticketkit.desk._presence_state import PRESENCE_KIND, presence_now, stored_presence
from ticketkit.desk._running import settle
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import Event, Ticket
from ticketkit.storage import OutboxMessage

log = logging.getLogger("ticketkit.desk")

LEASE_KIND: Final = "lease"
LEASE_KEY: Final = "queues"
_BATCH: Final = 200
_PAGE: Final = 500


def drain(desk: DeskContext, *, tenant: str | None, limit: int) -> list[Event]:
    """Hand out queued tickets of ``tenant`` (None: every tenant the router's agents work in)."""
    router = desk.router
    if router is None or not router.agents:
        return []
    tenants = [tenant] if tenant is not None else sorted({a.tenant for a in router.agents})
    out: list[Event] = []
    for name in tenants:
        now = desk.now()
        if not _worth_a_lease(desk, name, now):
            continue  # nothing waits for anyone with room: no write at all
        lease = _take_lease(desk, name, now)
        if lease is None:
            continue  # another worker is draining this tenant now
        try:
            out.extend(_expire_presence(desk, name, now))
            out.extend(_hand_out(desk, name, now, limit, lease))
        finally:
            _release_lease(desk, name)
    return out


def drain_for(desk: DeskContext, *, actor: Actor | None) -> list[Event]:
    """`Helpdesk.drain_queues`: the actor's tenant (an admin), or every tenant as the system."""
    checked = require_actor_or_none(actor)
    if checked is not None:
        authorize(desk.access, checked, "admin", None)
    return drain(desk, tenant=None if checked is None else checked.tenant, limit=desk.drain_limit)


# ---------------------------------------------------------------------- the lease


def _take_lease(desk: DeskContext, tenant: str, now: datetime) -> int | None:
    """Take the tenant's drain lease for this worker; its record version, or None when held by another."""
    found = desk.store.records(LEASE_KIND, tenant=tenant, keys=[LEASE_KEY]).get(LEASE_KEY)
    version: int | None = None
    if found is not None:
        text, version = found
        holder, until = _read_lease(text)
        if holder not in ("", desk.worker) and until is not None and until > now:
            return None
    value = json.dumps({"holder": desk.worker, "until": (now + desk.lease).isoformat()})
    try:
        return desk.store.put_record(LEASE_KIND, LEASE_KEY, value, tenant=tenant, expected_version=version)
    except ConflictError:
        return None


def _renew_lease(desk: DeskContext, tenant: str, version: int) -> int | None:
    """Extend the lease before a write; None when it was lost (another worker took it after it ran out)."""
    value = json.dumps({"holder": desk.worker, "until": (desk.now() + desk.lease).isoformat()})
    try:
        return desk.store.put_record(LEASE_KIND, LEASE_KEY, value, tenant=tenant, expected_version=version)
    except ConflictError:
        return None


def _release_lease(desk: DeskContext, tenant: str) -> None:
    value = json.dumps({"holder": "", "until": None})
    current = desk.store.records(LEASE_KIND, tenant=tenant, keys=[LEASE_KEY]).get(LEASE_KEY)
    if current is None or _read_lease(current[0])[0] != desk.worker:
        return  # lost meanwhile: it is another worker's now
    with contextlib.suppress(ConflictError):  # taken over meanwhile: nothing to give back
        desk.store.put_record(LEASE_KIND, LEASE_KEY, value, tenant=tenant, expected_version=current[1])


def _read_lease(text: str) -> tuple[str, datetime | None]:
    try:
        data = json.loads(text)
        until = data.get("until")
        moment = datetime.fromisoformat(until) if isinstance(until, str) else None
        holder = data.get("holder")
        return (holder if isinstance(holder, str) else ""), moment
    except (ValueError, TypeError, AttributeError):
        return "", None


# ---------------------------------------------------------------------- presence that ran out


def _expire_presence(desk: DeskContext, tenant: str, now: datetime) -> list[Event]:
    """Write back presences whose ``until`` passed; apply the policy to agents that became unavailable."""
    out: list[Event] = []
    statuses = getattr(desk.router, "available_statuses", frozenset({"online"}))
    for agent, (presence, version) in stored_presence(desk, tenant).items():
        if presence.until is None or presence.until > now:
            continue
        reverted = presence.at(now)
        try:
            desk.store.put_record(
                PRESENCE_KIND, agent, reverted.to_json(), tenant=tenant, expected_version=version
            )
        except ConflictError:
            continue  # set again meanwhile: that presence rules
        if presence.status in statuses and reverted.status not in statuses:
            out.extend(move_tickets(desk, agent, reverted.status, actor=Actor.system(tenant)))
    return out


def next_change(desk: DeskContext, *, tenant: str | None) -> datetime | None:
    """The next instant the queues may drain by themselves: a presence reverts or a shift opens.

    What `Helpdesk.next_wakeup` adds to the sweep's next checkpoint, so a worker that
    sleeps until then is awake when an agent comes back or a shift starts.
    """
    router = desk.router
    if router is None or not router.agents:
        return None
    now = desk.now()
    tenants = [tenant] if tenant is not None else sorted({a.tenant for a in router.agents})
    found: list[datetime] = []
    for name in tenants:
        found.extend(
            p.until for p, _ in stored_presence(desk, name).values() if p.until is not None and p.until > now
        )
    for shift in sorted({a.shift for a in router.agents if a.shift is not None}):
        calendar = router.calendars.get(shift)
        if calendar is None or calendar.is_open(now) or not hasattr(calendar, "next_open"):
            continue
        with contextlib.suppress(ValidationError):  # a calendar that never opens again
            found.append(calendar.next_open(now))
    return min(found, default=None)


# ---------------------------------------------------------------------- handing out


def _worth_a_lease(desk: DeskContext, tenant: str, now: datetime) -> bool:
    """Reads only: a presence due to revert, or a ticket waiting for a team where someone has room.

    An idle tick then writes nothing (no lease taken and given back); what it read is
    read again under the lease before anything is handed out.
    """
    router = desk.router
    assert router is not None
    stored = stored_presence(desk, tenant)
    if any(p.until is not None and p.until <= now for p, _ in stored.values()):
        return True
    presence = {agent: p.status for agent, (p, _) in stored.items()}
    agents = [a for a in router.agents if a.tenant == tenant]
    weighted = router.weight if router.capacity_weights else None
    loads = AgentLoad(desk.store, tenant, agents, weighted).snapshot()
    teams = sorted({t for a in agents if _has_room(router, a, presence, loads) for t in a.teams})
    return any(desk.store.queued(team, tenant=tenant, limit=1) for team in teams)


def _hand_out(desk: DeskContext, tenant: str, now: datetime, limit: int, lease: int) -> list[Event]:
    router = desk.router
    assert router is not None
    agents = [a for a in router.agents if a.tenant == tenant]
    presence = presence_now(desk, tenant, now)
    weighted = router.weight if router.capacity_weights else None
    loads = dict(AgentLoad(desk.store, tenant, agents, weighted).snapshot())
    plan: list[tuple[Ticket, str, str]] = []
    for team in sorted({t for a in agents for t in a.teams}):
        room = [a for a in agents if team in a.teams and _has_room(router, a, presence, loads)]
        if not room:
            continue
        for ticket in _waiting(desk, tenant, team):
            if len(plan) >= limit:
                break
            agent = router.pick(ticket, team, at=now, load=loads, presence=presence)
            if agent is None:
                if not any(_has_room(router, a, presence, loads) for a in room):
                    break  # the team is full: the rest waits
                continue  # this one needs what nobody free has; the next may fit
            loads[agent] = loads.get(agent, 0) + router.weight(ticket)
            plan.append((ticket, team, agent))
    out: list[Event] = []
    for start in range(0, len(plan), _BATCH):
        renewed = _renew_lease(desk, tenant, lease)
        if renewed is None:
            log.warning("lost the queue lease of tenant %s; another worker drains it now", tenant)
            break
        lease = renewed
        out.extend(_commit(desk, plan[start : start + _BATCH], now))
    return out


def _has_room(router: Any, agent: Any, presence: Any, loads: dict[str, int]) -> bool:
    status = presence.get(agent.id, agent.status)
    return bool(status in router.available_statuses and loads.get(agent.id, 0) < agent.capacity)


def _waiting(desk: DeskContext, tenant: str, team: str) -> Iterable[Ticket]:
    """The team's unassigned open tickets: urgent first, then oldest first (ties by id)."""
    page = desk.store.queued(team, tenant=tenant, limit=_PAGE)
    while page:
        yield from page
        page = desk.store.queued(team, tenant=tenant, limit=_PAGE, after=page[-1])


def _commit(desk: DeskContext, plan: list[tuple[Ticket, str, str]], now: datetime) -> list[Event]:
    """Save one batch of hand-outs in one transaction; one by one when a ticket changed meanwhile."""
    works: list[tuple[Work, Draft]] = []
    changes: list[Any] = []
    outbox: list[OutboxMessage] = []
    for ticket, team, agent in plan:
        work, draft = _assign(desk, ticket, team, agent, now)
        pending = work.pending()
        outbox.extend(work.outbox(pending))
        changes.extend(pending)
        works.append((work, draft))
    try:
        saved = desk.store.commit(changes, outbox)
    except ConflictError:
        return [e for ticket, team, agent in plan for e in _one(desk, ticket, team, agent, now)]
    by_id = {t.id: t for t in saved}
    out: list[Event] = []
    for work, draft in works:
        work.committed([by_id[d.ticket.id] for d in work.drafts.values() if d.ticket.id in by_id])
        send_inline(desk, work.notes)
        out.extend(draft.events)
    return out


def _assign(desk: DeskContext, ticket: Ticket, team: str, agent: str, now: datetime) -> tuple[Work, Draft]:
    work = Work(desk, Actor.system(ticket.tenant), now)
    draft = Draft(ticket, ticket)
    work.drafts[ticket.id] = draft
    reason = f"queue drained: from {team}'s queue to {agent}, who has room"
    work.assign(draft, team=team, agent=agent, reason=reason, actor="system:queues")
    settle(work)
    return work, draft


def _one(desk: DeskContext, ticket: Ticket, team: str, agent: str, now: datetime) -> list[Event]:
    """Hand one ticket out on its own, if it still waits in ``team``'s queue (else nobody gets it now)."""
    try:
        ticket = desk.store.get(ticket.id, tenant=ticket.tenant)
    except NotFoundError:
        return []
    if ticket.assignee is not None or ticket.team != team or ticket.status_kind not in OPEN_KINDS:
        return []  # taken, moved or closed meanwhile; the agent's slot stays free for the next drain
    work, draft = _assign(desk, ticket, team, agent, now)
    try:
        work.commit()
    except ConflictError:
        return []
    send_inline(desk, work.notes)
    return list(draft.events)
