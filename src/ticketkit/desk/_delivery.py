"""Notification delivery: who an event concerns, sending after the commit, and the outbox of failures.

Notifications are made from committed events (`event_notifications`) or
queued by automations, and sent only after the change is saved. A notifier that
fails loses nothing: the `Outbox` keeps the notification as a
`FailedNotification` and sends it again on `Outbox.retry`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from ticketkit.desk._kinds import CHILD_RESOLVED, DEDUPLICATED
from ticketkit.desk._text import notification_message
from ticketkit.model import _events as ev
from ticketkit.model._models import Event, Team, Ticket
from ticketkit.notify._notify import Notification, Notifier

log = logging.getLogger("ticketkit.desk")


@attrs.frozen(kw_only=True)
class FailedNotification:
    """A notification the notifier could not send, kept until it goes through.

    [`Helpdesk.retry_notifications`][ticketkit.Helpdesk.retry_notifications] sends it again.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Notification, Ticket
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> n = Notification(
        ...     kind="sla.breached",
        ...     recipients="team:a",
        ...     message="late",
        ...     at=at,
        ...     ticket=Ticket(subject="s", created_at=at),
        ... )
        >>> FailedNotification(
        ...     notification=n, error="ConnectionError('smtp down')", attempts=1, failed_at=at
        ... ).attempts
        1
    """

    notification: Notification
    error: str
    attempts: int
    failed_at: datetime


class Outbox:
    """The notifications a notifier failed to send, kept until they go through (thread-safe)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._failed: list[FailedNotification] = []
        self._lock = threading.Lock()

    def deliver(self, notifier: Notifier | None, notes: Sequence[Notification]) -> None:
        """Send each notification once; a failure is kept, never raised."""
        if notifier is None:
            return
        for note in notes:
            self._send(notifier, note, attempts=0)

    def _send(self, notifier: Notifier, note: Notification, attempts: int) -> bool:
        try:
            notifier.send(note)
        except Exception as exc:  # any failure of user code is recorded, never raised
            log.warning("notification %s for ticket %s failed: %r", note.kind, note.ticket.id, exc)
            with self._lock:
                self._failed.append(
                    FailedNotification(
                        notification=note, error=repr(exc), attempts=attempts + 1, failed_at=self._now()
                    )
                )
            return False
        return True

    @property
    def failed(self) -> list[FailedNotification]:
        """The notifications still waiting to be sent (a copy), oldest first."""
        with self._lock:
            return list(self._failed)

    def retry(self, notifier: Notifier | None) -> int:
        """Send the failed notifications again; how many went through (the rest stay queued)."""
        if notifier is None:
            return 0
        with self._lock:
            pending, self._failed = self._failed, []
        sent = 0
        for item in pending:
            if self._send(notifier, item.notification, attempts=item.attempts):
                sent += 1
        return sent


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
    teams: Mapping[str, Team], ticket: Ticket, events: Sequence[Event], at: datetime
) -> list[Notification]:
    """Committed events as notifications for the people they concern."""
    out: list[Notification] = []
    for event in events:
        recipients = resolve_recipients(teams, ticket, _concerned(event, ticket))
        if recipients:
            out.append(
                Notification(
                    kind=event.kind,
                    recipients=recipients,
                    ticket=ticket,
                    message=notification_message(event, ticket),
                    at=at,
                    data=event.data,
                )
            )
    return out


def _concerned(event: Event, ticket: Ticket) -> list[str]:
    """Whom ``event`` concerns, as roles of the ticket (``assignee``, ``team``, ...) or references."""
    kind = event.kind
    d = event.data
    who: list[str] = []
    if kind == ev.TICKET_CREATED:
        who = ["customer"]
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
