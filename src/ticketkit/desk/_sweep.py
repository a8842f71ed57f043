"""The SLA sweep: warnings, breaches and escalations that are due, each emitted exactly once.

Only tickets whose ``next_due_at`` has passed are read (the store's due index) and
claimed for this worker, so two processes never handle the same one. The emitted
event is saved on the ticket in the same atomic write that records it as fired.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize, require_actor, require_actor_or_none
from ticketkit.desk._outbox import send_inline
from ticketkit.desk._retention import run_retention
from ticketkit.desk._running import settle
from ticketkit.desk._timed import fire_timers
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import ConflictError, NotFoundError
from ticketkit.model import _events as ev
from ticketkit.model._models import Event, Priority, Ticket, replace_trusted
from ticketkit.storage import OutboxMessage

log = logging.getLogger("ticketkit.desk")

_END_OF_TIME: Final = datetime.max.replace(tzinfo=UTC)


def tick(desk: DeskContext, *, actor: Actor | None, limit: int) -> list[Event]:
    """Claim the due tickets (of the actor's tenant, or all) and emit what is due; the events."""
    tenant: str | None = None
    if actor is not None:
        require_actor(actor, "an Actor or None")
        authorize(desk.access, actor, "admin", None)
        tenant = actor.tenant
    now = desk.now()
    claimed = desk.store.claim_due(now, worker=desk.worker, lease=desk.lease, limit=limit, tenant=tenant)
    if not claimed:
        return []
    # A ticket whose retention is due gets only that, written on its own (rewrite or purge).
    out: list[Event] = []
    rest: list[Ticket] = []
    for ticket in claimed:
        retained = run_retention(desk, ticket, now)
        if retained is None:
            rest.append(ticket)
        else:
            out.extend(retained)
    if not rest:
        return out
    batch = _sweep_batch(desk, rest, now)
    if batch is not None:
        return out + batch
    # A concurrent write (or a bad ticket) failed the batch: each ticket on its own.
    for ticket in rest:
        try:
            out.extend(_sweep_one(desk, ticket, now))
        except Exception:  # one bad ticket must not stop the sweep; its lease brings it back
            log.exception("sweeping ticket %s failed; it falls due again when its lease ends", ticket.id)
    return out


def _sweep_batch(desk: DeskContext, claimed: list[Ticket], now: datetime) -> list[Event] | None:
    """Sweep the claimed tickets and save them all, with their notifications, in one transaction.

    The notifications of the whole batch go into the outbox in the batch's own
    transaction (``store.commit``); None when that write fails.
    """
    works: list[tuple[Work, list[Event], list[Any]]] = []
    changes: list[Any] = []
    outbox: list[OutboxMessage] = []
    try:
        for ticket in claimed:
            work = Work(desk, Actor.system(ticket.tenant), now)
            draft = Draft(ticket, ticket)
            work.drafts[ticket.id] = draft
            emitted = _emit_due(work, draft)
            settle(work)
            pending = work.pending()
            if pending:
                outbox.extend(work.outbox(pending))
            else:
                work.commit()  # nothing to save: only names its notes, as a commit would
            works.append((work, emitted, pending))
            changes.extend(pending)
        saved = desk.store.commit(changes, outbox) if changes else []
    except Exception:
        log.debug(
            "the batch of %d due tickets did not commit at once; sweeping them one by one", len(claimed)
        )
        return None
    by_id = {t.id: t for t in saved}
    out: list[Event] = []
    for work, emitted, pending in works:
        work.committed([by_id[t.id] for t, _, _ in pending])
        send_inline(desk, work.notes)
        out.extend(emitted)
    return out


def _sweep_one(desk: DeskContext, claimed: Ticket, now: datetime) -> list[Event]:
    retained = run_retention(desk, claimed, now)  # a ticket whose retention is due gets only that
    if retained is not None:
        return retained
    system = Actor.system(claimed.tenant)
    for attempt in range(desk.max_attempts):
        work = Work(desk, system, now)
        if attempt == 0:
            draft = Draft(claimed, claimed)
            work.drafts[claimed.id] = draft
        else:
            try:
                draft = work.load(claimed.id, None, tenant=claimed.tenant)
            except NotFoundError:
                return []
        emitted = _emit_due(work, draft)
        settle(work)
        try:
            work.commit()
        except ConflictError:
            continue
        send_inline(desk, work.notes)
        return emitted
    log.warning("gave up sweeping ticket %s after %d concurrent writes", claimed.id, desk.max_attempts)
    return []


def _emit_due(work: Work, draft: Draft) -> list[Event]:
    return _emit_sla_due(work, draft) + fire_timers(work, draft)  # timed rules: desk/_timed.py


def _emit_sla_due(work: Work, draft: Draft) -> list[Event]:
    policy = work.desk.policy_of(draft.ticket)
    if policy is None:
        if draft.ticket.sla is not None and draft.ticket.sla.next_due_at is not None:
            draft.ticket = replace_trusted(
                draft.ticket, sla=replace_trusted(draft.ticket.sla, next_due_at=None)
            )
        return []
    emitted: list[Event] = []
    _restore_due(work.desk, draft)
    for event in policy.due_events(draft.ticket, None, work.now):
        fresh = replace_trusted(event, at=work.now) if event.at > work.now else event
        work.track(draft, fresh)
        emitted.append(fresh)
        if event.kind == ev.SLA_ESCALATED:
            _escalate(work, draft, event)
    _restore_due(work.desk, draft)
    return emitted


def _restore_due(desk: DeskContext, draft: Draft) -> None:
    # A claim moves next_due_at to the end of its lease; the clocks know the real checkpoint.
    policy = desk.policy_of(draft.ticket)
    sla = draft.ticket.sla
    if policy is not None and sla is not None:
        due = policy.next_checkpoint(draft.ticket)
        if due != sla.next_due_at:
            draft.ticket = replace_trusted(draft.ticket, sla=replace_trusted(sla, next_due_at=due))


def _escalate(work: Work, draft: Draft, event: Event) -> None:
    for action in event.data.get("actions") or ():
        if not isinstance(action, Mapping):
            continue
        target = action.get("reassign")
        if isinstance(target, str):
            kind, _, ident = target.partition(":")
            if kind == "team" and ident == "router":
                work.route(draft, actor="system:sla", reason="escalation")
            elif kind == "team" and ident:
                work.assign(draft, team=ident, agent=None, reason="escalation", actor="system:sla")
            elif kind == "agent" and ident:
                work.assign(
                    draft, team=draft.ticket.team, agent=ident, reason="escalation", actor="system:sla"
                )
        prio = action.get("raise_priority")
        if isinstance(prio, str):
            target_prio = Priority.parse(prio)
            if target_prio > draft.ticket.priority:
                work.set_priority(draft, target_prio, actor="system:sla")


def next_wakeup(desk: DeskContext, *, actor: Actor | None) -> datetime | None:
    """When the next SLA checkpoint of the actor's tenant (or any) falls due; None when nothing is pending."""
    checked = require_actor_or_none(actor)
    if checked is not None:
        authorize(desk.access, checked, "admin", None)
    tenant = actor.tenant if actor is not None else None
    # The earliest checkpoint of all: the first due "by the end of time", from the due index.
    for ticket in desk.store.due(_END_OF_TIME, limit=1, tenant=tenant):
        return ticket.next_due_at
    return None
