"""The desk's side of the transactional outbox: notifications in, delivery out.

`outbox_messages` turns the notifications of one change into outbox rows that the
store writes in the change's own transaction. `send_inline` sends them right after
the commit (when the desk's `DeliveryPolicy` says so); `deliver` is the separate
delivery step a worker runs: claim with a lease, send, mark sent, or schedule the
next try with backoff and jitter, or give up (a dead letter).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

import attrs

from ticketkit.desk._context import DeskContext
from ticketkit.errors import TicketkitError, ValidationError
from ticketkit.model._encode import plain
from ticketkit.model._models import Ticket
from ticketkit.model._serialization import from_dict
from ticketkit.notify._notify import Notification, Notifier
from ticketkit.notify._policy import DeliveryPolicy
from ticketkit.storage import OutboxMessage, TicketStore

log = logging.getLogger("ticketkit.desk")


@attrs.frozen(kw_only=True)
class FailedNotification:
    """A notification the notifier could not send yet, as the outbox keeps it.

    ``failed_at`` is when it is tried next (for a dead letter: when it was last tried).
    [`Helpdesk.retry_notifications`][ticketkit.Helpdesk.retry_notifications] sends it again now.

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
    dead: bool = False


def notification_id(ticket: Ticket, index: int) -> str:
    """The idempotency key of the ``index``-th notification of the change that saved ``ticket``.

    A ticket's id and version name one committed change, so the key is stable
    (the same notification always has it) and unique across the store.
    """
    return f"{ticket.id}/{ticket.version:09d}/{index:03d}"


def to_payload(note: Notification) -> str:
    """The JSON an outbox row keeps for ``note``."""
    return json.dumps(
        {
            "id": note.id,
            "kind": note.kind,
            "recipients": list(note.recipients),
            "message": note.message,
            "at": note.at.isoformat(),
            "data": plain(dict(note.data)),
            "ticket": plain(note.ticket),  # the fast writer: equal to to_dict, on every commit's path
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def from_payload(payload: str) -> Notification:
    """The notification an outbox row keeps (`to_payload` read back)."""
    data = json.loads(payload)
    return Notification(
        id=data["id"],
        kind=data["kind"],
        recipients=data["recipients"],
        message=data["message"],
        at=datetime.fromisoformat(data["at"]),
        data=data["data"],
        ticket=from_dict(Ticket, data["ticket"]),
    )


def check_policy(policy: object) -> DeliveryPolicy:
    """``policy``, or the default when None; a `ValidationError` for anything else."""
    if policy is None:
        return DeliveryPolicy()
    if not isinstance(policy, DeliveryPolicy):
        raise ValidationError.one("delivery", f"expected a DeliveryPolicy or None, got {policy!r}")
    return policy


def writes_outbox(desk: DeskContext) -> bool:
    """True when this desk's changes write notifications to the outbox."""
    return desk.notifier is not None or not desk.delivery.inline


def outbox_messages(desk: DeskContext, notes: Sequence[Notification]) -> list[OutboxMessage]:
    """Outbox rows for ``notes``; leased to this process for a moment when it sends them inline."""
    if not notes or not writes_outbox(desk):
        return []
    now = desk.now()
    available = now + desk.delivery.lease if desk.delivery.inline and desk.notifier is not None else now
    return [
        OutboxMessage(
            id=n.id,
            payload=to_payload(n),
            created_at=now,
            available_at=available,
            tenant=n.ticket.tenant,
            ticket_id=n.ticket.id,
        )
        for n in notes
    ]


def send_inline(desk: DeskContext, notes: Sequence[Notification]) -> None:
    """Send the notes of a change just committed, when the policy says the desk sends them itself."""
    if not notes or desk.notifier is None or not desk.delivery.inline:
        return
    sent = [n.id for n in notes if _send(desk, desk.notifier, n, tries=0)]
    if sent:
        desk.store.mark_sent(sent)


def _send(desk: DeskContext, notifier: Notifier, note: Notification, tries: int) -> bool:
    """Send one note; on failure record the next try (or the dead letter) and return False."""
    try:
        notifier.send(note)
    except Exception as exc:  # any failure of user code is recorded, never raised
        fail(desk.store, desk, note.id, repr(exc), tries + 1)
        log.warning("notification %s (%s) for ticket %s failed: %r", note.id, note.kind, note.ticket.id, exc)
        return False
    return True


def fail(store: TicketStore, desk: DeskContext, message_id: str, error: str, tries: int) -> None:
    """Record a failed send: the next try after the backoff, or a dead letter."""
    policy = desk.delivery
    retry_at = None if policy.gives_up(tries) else desk.now() + policy.delay(tries, desk.rng)
    store.mark_failed(message_id, error=error, retry_at=retry_at)


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """What one delivery step did.

    Examples:
        >>> DeliveryReport(claimed=3, sent=2, failed=1, dead=0).sent
        2
    """

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0


def deliver(desk: DeskContext, *, limit: int) -> DeliveryReport:
    """Claim pending notifications with a lease, send them, mark them sent (or schedule a retry)."""
    notifier = desk.notifier
    if notifier is None:
        return DeliveryReport()
    claimed = desk.store.claim_outbox(desk.now(), worker=desk.worker, lease=desk.delivery.lease, limit=limit)
    sent: list[str] = []
    failed = dead = 0
    for message in claimed:
        try:
            note = from_payload(message.payload)
        except (ValueError, KeyError, TypeError, TicketkitError) as exc:
            desk.store.mark_failed(message.id, error=f"unreadable payload: {exc!r}", retry_at=None)
            dead += 1
            continue
        if _send(desk, notifier, note, tries=message.attempts):
            sent.append(message.id)
        elif desk.delivery.gives_up(message.attempts + 1):
            dead += 1
        else:
            failed += 1
    if sent:
        desk.store.mark_sent(sent)
    return DeliveryReport(claimed=len(claimed), sent=len(sent), failed=failed, dead=dead)


def failed_notifications(desk: DeskContext) -> list[FailedNotification]:
    """Notifications that failed at least once and are not sent: retrying ones, then dead letters."""
    return [
        FailedNotification(
            notification=from_payload(m.payload),
            error=m.error,
            attempts=m.attempts,
            failed_at=m.available_at,
            dead=status == "dead",
        )
        for status in ("pending", "dead")
        for m in desk.store.outbox(status=status, limit=10_000)
        if m.attempts > 0 and m.error is not None
    ]


def retry_failed(desk: DeskContext) -> int:
    """Send every failed notification again now (dead letters too); how many went through."""
    notifier = desk.notifier
    if notifier is None:
        return 0
    failed = failed_notifications(desk)
    dead = [f.notification.id for f in failed if f.dead]
    if dead:
        desk.store.requeue(dead, at=desk.now())
    sent = []
    for f in failed:
        tries = 0 if f.dead else f.attempts
        if _send(desk, notifier, f.notification, tries=tries):
            sent.append(f.notification.id)
    if sent:
        desk.store.mark_sent(sent)
    return len(sent)
