"""Sub-tickets inside a change: spawning a child (by hand or by an automation) and telling parents.

A child has ``parent_id`` set and a ``parent`` link; a parent that waits on it
links it ``waits_on`` and fires ``wait_trigger``. When a child reaches a resolved
or closed kind its parent is told (a ``ticket.child_resolved`` event) and fires
``resume_trigger`` once nothing it waits on is still open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ticketkit.desk._kinds import CHILD_RESOLVED, DONE_KINDS
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import NotFoundError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import freeze, json_problems
from ticketkit.model._models import Link, Priority, Ticket


def spawn_into(work: Work, parent: Draft, spec: Mapping[str, Any], *, wait: bool, actor: str | None) -> Draft:
    """Create a sub-ticket of ``parent`` inside ``work`` (for `Helpdesk.spawn` and automations)."""
    ticket = _child_ticket(work, parent, spec)
    if ticket.assignee is not None:
        work.authorize("place_agent", ticket)
    if ticket.priority is Priority.URGENT:
        work.authorize("place", ticket)
    child = work.add(ticket, depth=parent.depth + 1)
    p = parent.ticket
    work.emit(
        child,
        ev.TICKET_CREATED,
        {
            "channel": "internal",
            "subject": ticket.subject,
            "category": ticket.category,
            "priority": ticket.priority.value,
            "customer": p.customer.id if p.customer else None,
            "type": ticket.type,
            "external_ref": None,
        },
        actor=actor,
    )
    work.emit(child, ev.SPAWNED, {"parent": p.id, "wait": wait}, actor=actor)
    if ticket.team is None and ticket.assignee is None:
        work.route(child, actor=actor)
    else:
        work.emit(
            child,
            ev.ASSIGNED,
            {
                "team": ticket.team,
                "agent": ticket.assignee,
                "from_team": None,
                "from_agent": None,
                "rule": None,
                "reason": "given when spawned",
            },
            actor=actor,
        )
    work.start_clocks(child, spec.get("policy") or child.policy_hint)
    work.link(parent, "waits_on" if wait else "child", ticket.id, event=False)
    work.emit(parent, ev.SPAWNED, {"child": ticket.id, "wait": wait}, actor=actor)
    if (
        wait
        and parent.ticket.status_kind not in ("pending", *DONE_KINDS)
        and work.can_fire(parent, work.desk.wait_trigger)
    ):
        work.fire(parent, work.desk.wait_trigger, actor=actor)
    return child


def _child_ticket(work: Work, parent: Draft, spec: Mapping[str, Any]) -> Ticket:
    """The new sub-ticket described by ``spec``, checked, in its workflow's first state."""
    p = parent.ticket
    subject = spec.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        raise ValidationError.one("subject", f"expected a non-empty string, got {subject!r}")
    fields = spec.get("fields")
    if fields is not None:
        if not isinstance(fields, Mapping):
            raise ValidationError.one("fields", f"expected a mapping, got {fields!r}")
        problems = json_problems(fields, "fields")
        if problems:
            raise ValidationError(problems)
    prio = Priority.parse(spec["priority"]) if spec.get("priority") is not None else p.priority
    ticket = Ticket(
        subject=subject.strip(),
        created_at=work.now,
        tenant=p.tenant,
        type=spec.get("type") or p.type,
        description=spec.get("description") or "",
        channel="internal",
        customer=p.customer,
        category=spec.get("category") or p.category,
        priority=prio,
        team=spec.get("team"),
        assignee=spec.get("assignee"),
        tags=frozenset(spec.get("tags") or ()),
        fields=freeze(dict(fields or {})),
        parent_id=p.id,
        links=(Link(kind="parent", ticket_id=p.id),),
    )
    return work.desk.workflow_for(ticket).start(ticket)


def tell_parents(work: Work) -> None:
    """A child that reached a resolved or closed kind tells its parent (which may resume)."""
    for draft in list(work.drafts.values()):
        t = draft.ticket
        if t.parent_id is None or draft.created:
            continue
        finished = any(
            e.kind == ev.STATUS_CHANGED
            and e.data.get("to_kind") in DONE_KINDS
            and e.data.get("from_kind") not in DONE_KINDS
            for e in draft.events[draft.told :]
        )
        draft.told = len(draft.events)
        if finished:
            _child_finished(work, draft)


def _child_finished(work: Work, child: Draft) -> None:
    """Tell the parent that ``child`` finished; resume it when nothing it waits on is open."""
    c = child.ticket
    assert c.parent_id is not None
    try:
        parent = work.load(c.parent_id, None, tenant=c.tenant)
    except NotFoundError:
        return
    waits_on = [link.ticket_id for link in parent.ticket.links if link.kind == "waits_on"]
    still_open = []
    for other_id in waits_on:
        if other_id == c.id:
            continue
        other = work.drafts.get(other_id)
        other_ticket = other.ticket if other is not None else _peek(work, other_id, c.tenant)
        if other_ticket is not None and other_ticket.status_kind not in DONE_KINDS:
            still_open.append(other_id)
    actor = "system:desk"
    work.emit(
        parent,
        CHILD_RESOLVED,
        {"child": c.id, "status": c.status, "status_kind": c.status_kind, "waiting": still_open},
        actor=actor,
    )
    if (
        c.id in waits_on
        and not still_open
        and parent.ticket.status_kind == "pending"
        and work.can_fire(parent, work.desk.resume_trigger)
    ):
        work.fire(parent, work.desk.resume_trigger, actor=actor)


def _peek(work: Work, ticket_id: str, tenant: str) -> Ticket | None:
    try:
        return work.desk.store.get(ticket_id, tenant=tenant)
    except NotFoundError:
        return None
