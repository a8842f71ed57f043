"""Who an event concerns: the notifications a change makes.

Notifications are made from a change's events (`event_notifications`) or queued
by automations; `_outbox` writes them in the change's transaction and delivers them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ticketkit.desk._kinds import CHILD_RESOLVED, DEDUPLICATED
from ticketkit.desk._masking import notification_view
from ticketkit.desk._text import notification_message, pick_language
from ticketkit.model import _events as ev
from ticketkit.model._models import Event, Team, Ticket
from ticketkit.notify._notify import Notification
from ticketkit.privacy._mask import DEFAULT_PERSONAL, PersonalFields

log = logging.getLogger("ticketkit.desk")


def resolve_recipients(teams: Mapping[str, Team], ticket: Ticket, recipients: Iterable[str]) -> list[str]:
    """Recipients with the ticket's own filled in: ``assignee``, ``team``, ``lead``, ``customer``."""
    out: list[str] = []
    for r in recipients:
        value: str | None = r
        if r in ("assignee", "agent"):
            value = f"agent:{ticket.assignee}" if ticket.assignee else None
        elif r == "team":
            value = f"team:{ticket.team}" if ticket.team else None
        elif r == "customer":
            value = f"customer:{ticket.customer.id}" if ticket.customer else None
        elif r == "lead":
            value = _lead_of(teams, ticket)
        elif "{" in r:
            value = (
                r.replace("{team}", ticket.team or "")
                .replace("{assignee}", ticket.assignee or "")
                .replace("{customer}", ticket.customer.id if ticket.customer else "")
            )
        if value is not None and value.partition(":")[2].strip() and value not in out:
            out.append(value)
    return out


def _lead_of(teams: Mapping[str, Team], ticket: Ticket) -> str | None:
    team = teams.get(ticket.team) if ticket.team else None
    lead = getattr(team, "lead", None) if team is not None else None
    return f"agent:{lead}" if lead else "role:lead"


def event_notifications(
    teams: Mapping[str, Team],
    ticket: Ticket,
    events: Sequence[Event],
    at: datetime,
    *,
    personal: PersonalFields = DEFAULT_PERSONAL,
    region: str = "CN",
) -> list[Notification]:
    """Committed events as notifications for the people they concern (masked per the desk's ``personal``)."""
    out: list[Notification] = []
    own = f"customer:{ticket.customer.id}" if ticket.customer is not None else None
    for event in events:
        recipients = resolve_recipients(teams, ticket, _concerned(event, ticket))
        if recipients:
            # the customer alone reads it in their language; staff read the catalogs' source
            lang = "en"
            if ticket.customer is not None and all(r == own for r in recipients):
                lang = pick_language(ticket.customer.locale)
            # masked unless only the ticket's own customer reads it (desk._masking)
            message, data = notification_view(
                ticket,
                recipients,
                notification_message(event, ticket, lang=lang),
                event.data,
                personal=personal,
                region=region,
            )
            out.append(
                Notification(
                    kind=event.kind,
                    recipients=recipients,
                    ticket=ticket,
                    message=message,
                    at=at,
                    data=data,
                )
            )
    return out


def _concerned(event: Event, ticket: Ticket) -> list[str]:
    """Whom ``event`` concerns, as roles of the ticket (``assignee``, ``team``, ...) or references."""
    kind = event.kind
    d = event.data
    who: list[str] = []
    if kind == ev.TICKET_CREATED:
        # A ticket opened from a message a machine may have written gets no acknowledgement.
        who = ["customer"] if d.get("auto_reply", True) else []
    elif kind == ev.ASSIGNED:
        who = [f"agent:{d['agent']}"] if d.get("agent") else [f"team:{d['team']}"] if d.get("team") else []
    elif kind == ev.STATUS_CHANGED:
        who = ["customer"] if d.get("to_kind") != d.get("from_kind") else []
        if not event.actor.endswith(f":{ticket.assignee}"):
            who.append("assignee")
    elif kind == ev.COMMENT_ADDED:
        c = d.get("comment") or {}
        if c.get("author_kind") == "customer":
            who = ["assignee"] if ticket.assignee else ["team"]
        elif c.get("public") and c.get("author_kind") in ("agent", "system"):
            who = ["customer"]
    elif kind == ev.SLA_WARNING:
        who = ["assignee"] if ticket.assignee else ["team"]
    elif kind == ev.SLA_BREACHED:
        who = ["assignee", "team", "lead"]
    elif kind == ev.SLA_ESCALATED:
        who = [str(r) for r in d.get("notify") or ()] or ["lead"]
    elif kind in (ev.PRIORITY_CHANGED, ev.MERGED, DEDUPLICATED, CHILD_RESOLVED):
        who = ["assignee"] if ticket.assignee else ["team"]
    if ticket.channel == "internal":  # sub-tickets are between departments, not for the customer
        who = [w for w in who if w != "customer"]
    return who
