"""Relations between tickets: links, merges, splits and sub-tickets, each keeping SLA history.

Every operation changes all the tickets it touches in one atomic save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import source_customer, wrong
from ticketkit.desk._kinds import DONE_KINDS
from ticketkit.desk._running import run
from ticketkit.desk._subtickets import spawn_into
from ticketkit.desk._work import Work
from ticketkit.errors import ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import JSONValue
from ticketkit.model._models import Comment, Link, Priority, Ticket, replace_trusted
from ticketkit.model._serialization import to_dict


def link(
    desk: DeskContext, ticket_id: str, other_id: str, *, actor: Actor, kind: str, expected_version: int | None
) -> Ticket:
    """Link the ticket to another one the actor can read."""
    if wrong(kind, str) or not kind:
        raise ValidationError.one("kind", f"expected a link kind such as 'related', got {kind!r}")

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        other = work.load(other_id, "read")
        if other.ticket.id == draft.ticket.id:
            raise ValidationError.one("other_id", "a ticket cannot be linked to itself")
        work.link(draft, kind, other.ticket.id)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def merge(desk: DeskContext, source_id: str, into_id: str, *, actor: Actor) -> Ticket:
    """Merge ``source_id`` into ``into_id``: the source closes, the target records it; the target."""

    def change(work: Work) -> str:
        source = work.load(source_id, "update")
        target = work.load(into_id, "update")
        if source.ticket.id == target.ticket.id:
            raise ValidationError.one("into_id", "a ticket cannot be merged into itself")
        if target.ticket.status_kind in DONE_KINDS:
            raise ValidationError.one(
                "into_id", f"ticket {into_id!r} is {target.ticket.status}; reopen it first"
            )
        s = source.ticket
        work.fire(source, work.desk.merge_trigger, merged_into=target.ticket.id)
        work.link(source, "merged_into", target.ticket.id, event=False)
        work.emit(source, ev.MERGED, {"into": target.ticket.id})
        work.link(target, "merged_from", s.id, event=False)
        work.emit(
            target,
            ev.MERGED,
            {
                "from": s.id,
                "source_customer": source_customer(s),
                "subject": s.subject,
                "description": s.description,
                "source_sla": to_dict(s.sla) if s.sla is not None else None,
            },
        )
        note = f"Merged from {s.id}: {s.subject}" + (f"\n\n{s.description}" if s.description else "")
        work.comment(
            target,
            Comment(
                ticket_id=target.ticket.id,
                author=work.actor.id,
                body=note,
                at=work.now,
                public=False,
                author_kind="system",
                automatic=True,
            ),
        )
        return target.ticket.id

    return run(desk, actor, change)


def split(
    desk: DeskContext,
    ticket_id: str,
    *,
    subject: str,
    actor: Actor,
    description: str,
    category: str | None,
) -> Ticket:
    """Split part of a ticket into a new one with the original's SLA clocks; the new ticket."""
    if wrong(subject, str) or not subject.strip():
        raise ValidationError.one("subject", f"expected a non-empty string, got {subject!r}")

    def change(work: Work) -> str:
        source = work.load(ticket_id, "update")
        s = source.ticket
        created = Ticket(subject=subject.strip(), created_at=work.now, tenant=s.tenant)
        new_ticket = replace_trusted(
            s,
            id=created.id,
            subject=subject.strip(),
            description=description,
            category=category if category is not None else s.category,
            created_at=work.now,
            updated_at=work.now,
            links=(Link(kind="split_from", ticket_id=s.id),),
            external_ref=None,
            satisfaction=None,
            satisfaction_remark=None,
            version=1,
        )
        child = work.add(new_ticket)
        work.emit(
            child,
            ev.TICKET_CREATED,
            {
                "channel": s.channel,
                "subject": subject,
                "category": new_ticket.category,
                "priority": s.priority.value,
                "customer": s.customer.id if s.customer else None,
                "type": s.type,
                "external_ref": None,
            },
        )
        work.emit(child, ev.SPLIT, {"from": s.id})
        work.link(source, "split_into", new_ticket.id, event=False)
        work.emit(source, ev.SPLIT, {"into": new_ticket.id})
        return new_ticket.id

    return run(desk, actor, change)


def spawn(
    desk: DeskContext,
    parent_id: str,
    *,
    subject: str,
    actor: Actor,
    type: str | None,  # noqa: A002 - the ticket field's name
    team: str | None,
    assignee: str | None,
    category: str | None,
    priority: Priority | str | None,
    description: str,
    fields: Mapping[str, JSONValue] | None,
    tags: Iterable[str],
    policy: str | None,
    wait: bool,
) -> Ticket:
    """Open a sub-ticket of ``parent_id``; with ``wait`` the parent waits for it. The child."""
    spec: dict[str, Any] = {
        "subject": subject,
        "type": type,
        "team": team,
        "assignee": assignee,
        "category": category,
        "priority": priority,
        "description": description,
        "fields": dict(fields) if fields is not None else None,
        "tags": tuple(tags),
        "policy": policy,
    }

    def change(work: Work) -> str:
        parent = work.load(parent_id, "update")
        return spawn_into(work, parent, spec, wait=wait, actor=None).ticket.id

    return run(desk, actor, change)
