"""Retention in the sweep: each ticket's retention checkpoint, the action run once, the dry run.

A ticket's ``next_due_at`` (the store's due index, which `Helpdesk.tick` claims from) is
the earlier of its SLA checkpoint and the instant its retention falls due
(`ticketkit.retention_due`). `fold_retention` keeps it so on every commit. When the sweep
claims a ticket whose retention is due, `run_retention` anonymises it (`anonymize_ticket`
written with `TicketStore.rewrite`, version-checked) or purges it (`TicketStore.purge`)
instead of the SLA work: the claim gives the ticket to one worker, the version check
refuses a second write, and an anonymised ticket (tagged) or a purged one is never due
again, so each ticket is retained exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ticketkit.desk._access import Actor
from ticketkit.desk._blobs import blob_keys_of, release
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize, require_actor
from ticketkit.desk._work import Work
from ticketkit.errors import ConflictError, NotFoundError
from ticketkit.model._models import Event, SLAState, Ticket, replace_trusted
from ticketkit.privacy._redact import ANONYMIZED, ANONYMIZED_TAG, anonymize_ticket
from ticketkit.privacy._retention import RetentionReport, retention_due, retention_report

log = logging.getLogger("ticketkit.desk")

PURGED = "ticket.purged"
"""The kind of the event `tick` returns for a purged ticket (not stored: the ticket is gone)."""


def next_due(desk: DeskContext, ticket: Ticket, *, at: datetime | None = None) -> Ticket:
    """The ticket with ``next_due_at`` the earlier of its SLA checkpoint and its retention."""
    if not desk.retention:
        return ticket
    policy = desk.policy_of(ticket)
    sla_due = policy.next_checkpoint(ticket) if policy is not None and ticket.sla is not None else None
    found = retention_due(ticket, desk.retention, at=at)
    candidates = [d for d in (sla_due, found.due_at if found is not None else None) if d is not None]
    due = min(candidates) if candidates else None
    if due == ticket.next_due_at:
        return ticket
    sla = ticket.sla if ticket.sla is not None else SLAState()
    return replace_trusted(ticket, sla=replace_trusted(sla, next_due_at=due))


def fold_retention(work: Work) -> None:
    """Before a commit: put each changed ticket's retention checkpoint into its ``next_due_at``."""
    if not work.desk.retention:
        return
    for draft in work.drafts.values():
        if draft.created or draft.events or draft.ticket is not draft.base:
            draft.ticket = next_due(work.desk, draft.ticket, at=work.now)


def run_retention(desk: DeskContext, claimed: Ticket, now: datetime) -> list[Event] | None:
    """Apply the retention due on a claimed ticket; its events, or None when none is due."""
    if not desk.retention:
        return None
    found = retention_due(claimed, desk.retention, at=now)
    if found is None or not found.is_due(now):
        return None
    system = Actor.system(claimed.tenant, "retention")
    reason = f"retention policy {found.policy!r}"
    held = blob_keys_of(desk.store.events(claimed.id, tenant=claimed.tenant)) if desk.blobs else set()
    try:
        if found.action == "purge":
            desk.store.purge(claimed.id, tenant=claimed.tenant, expected_version=claimed.version)
            desk.store.drop_message_keys(claimed.id, tenant=claimed.tenant)
            _release(desk, claimed, held)
            data = {"reason": reason, "policy": found.policy}
            return [
                Event(
                    ticket_id=claimed.id,
                    kind=PURGED,
                    actor=system.ref,
                    at=now,
                    data=data,
                    tenant=claimed.tenant,
                )
            ]
        events = _anonymize(desk, claimed, system, reason, now)
        _release(desk, claimed, held)
        return events
    except (ConflictError, NotFoundError):
        # Another worker or a change got there first; the ticket falls due again if it still is.
        log.info("retention of ticket %s skipped: it changed while being retained", claimed.id)
        return []


def _release(desk: DeskContext, ticket: Ticket, held: set[str]) -> None:
    """The retained ticket lets go of its attachments' blobs (deleted unless another ticket holds them)."""
    if desk.blobs is not None and held:
        release(desk.store, desk.blobs, ticket.tenant, {ticket.id: held})


def _anonymize(desk: DeskContext, claimed: Ticket, system: Actor, reason: str, now: datetime) -> list[Event]:
    events = desk.store.events(claimed.id, tenant=claimed.tenant)
    customer_id = claimed.customer.id if claimed.customer is not None else ""
    erasure = anonymize_ticket(
        claimed,
        events,
        customer_id=customer_id or "-",
        actor=system.ref,
        at=now,
        pseudonym=f"retained-{claimed.id}",
        reason=reason,
        personal=desk.personal,
        region=desk.region,
    )
    ticket, event = erasure.ticket, erasure.event
    if ticket is claimed:  # no customer: mark it, so it is never due again
        ticket = replace_trusted(
            claimed,
            tags=claimed.tags | {ANONYMIZED_TAG},
            version=claimed.version + 1,
            updated_at=max(now, claimed.updated_at),
        )
        event = replace_trusted(event, kind=ANONYMIZED, version=ticket.version)
    desk.store.rewrite(
        next_due(desk, ticket, at=now), erasure.events, append=[event], expected_version=claimed.version
    )
    desk.store.drop_outbox(claimed.id)  # the outbox's copies of the ticket go too (a purge drops them itself)
    desk.store.drop_message_keys(claimed.id, tenant=claimed.tenant)  # they name the customer
    return [event]


def report(desk: DeskContext, *, actor: Actor, at: datetime | None) -> RetentionReport:
    """The dry run over the actor's tenant (every ticket is read: a report, not the sweep)."""
    require_actor(actor)
    authorize(desk.access, actor, "admin", None)
    return retention_report(desk.store.scan(tenant=actor.tenant), desk.retention, at=at or desk.now())
