"""Receiving messages: one `InboundMessage` from any channel becomes a new ticket, a reply on
the right one, a follow-up of a closed one, or nothing (a duplicate, a machine's mail, a flood).

The order of the checks (docs/explanation/threading.md says why):

1. **Idempotence.** The key ``msg:<channel>:<message id>`` is looked up in the store's
   message keys; a message seen before changes nothing (``duplicate``).
2. **Rate limit** per sender (fixed windows on the desk's clock, counted in the store): beyond it a
   message is recorded and ``ignored``.
3. **Threading**: the message's own id (named by a reply that came first), then
   `resolve_thread` with lookups backed by the store: the conversation
   (``conv:<channel>:<id>``), message ids (``mid:<id>``, or a ``Message-ID`` this desk
   made), a subject token only for the ticket's customer or a known participant.
4. **Automatic** messages (not weak guesses) never open, reopen or follow up a
   ticket: on an open ticket they become an internal automatic note (no SLA clock
   moves, nobody is answered), else they are ``ignored``. A bounce also marks the
   failed addresses in the customer directory.
5. A reply to a resolved or closed ticket reopens it when it was done less than
   ``reopen_within`` business days ago (on its SLA policy's calendar) and the
   workflow allows it; else a new ticket is opened with a ``followup`` link to it.
6. Else the customer's open ticket from within ``dedupe_window`` (``join_open``),
   then the intake's dedupe rules, then a new ticket.

The message's keys are bound to its ticket in the commit that applies it (the
store's ``commit(..., message_keys=...)``), so the next copy of it, or a reply
naming it, finds the ticket, and a crash or a second process cannot apply it
twice: a commit finding one of its keys bound meanwhile is refused and the
message is taken again from the start (then a duplicate, or threaded onto the
ticket that won).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ticketkit.calendar._calendar import BusinessCalendar
from ticketkit.channels._blob import BlobStore
from ticketkit.channels._message import Attachment, InboundMessage, ReceiveOutcome, Sender
from ticketkit.channels._outbound import TicketToken, ticket_from_message_id
from ticketkit.channels._threading import ThreadMatch, resolve_thread
from ticketkit.desk import _intake
from ticketkit.desk._access import Actor
from ticketkit.desk._blobs import refer
from ticketkit.desk._context import DeskContext
from ticketkit.desk._kinds import DONE_KINDS, OPEN_KINDS
from ticketkit.desk._rate_windows import RateWindows, owner
from ticketkit.desk._running import run
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import ErrorDetail, MessageKeyConflictError, NotFoundError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._models import Comment, Customer, Priority, Ticket
from ticketkit.privacy._mask import mask_words

FOLLOWUP: Final = "followup"
"""The link kind from a follow-up ticket to the closed ticket it continues."""

_SETTING_KEYS: Final = (
    "domain",
    "token",
    "reopen_within",
    "rate_limit",
    "rate_window",
    "max_attachment_bytes",
    "join_open",
    "category",
)


def _problems_of(s: InboundSettings) -> list[ErrorDetail]:
    p: list[ErrorDetail] = []
    if s.domain is not None and (not isinstance(s.domain, str) or not s.domain or "@" in s.domain):
        p.append(
            ErrorDetail("domain", f"expected a mail domain such as 'support.shop.example', got {s.domain!r}")
        )
    try:
        TicketToken(pattern=s.token)
    except ValidationError as err:
        p.extend(ErrorDetail("token", e.message) for e in err.errors)
    for name in ("reopen_within", "rate_limit", "max_attachment_bytes"):
        value = getattr(s, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            p.append(ErrorDetail(name, f"expected a whole number >= 0 or None, got {value!r}"))
    if not isinstance(s.rate_window, timedelta) or s.rate_window <= timedelta(0):
        p.append(ErrorDetail("rate_window", f"expected a positive timedelta, got {s.rate_window!r}"))
    join_open: object = s.join_open
    if not isinstance(join_open, bool):
        p.append(ErrorDetail("join_open", f"expected True or False, got {join_open!r}"))
    if s.category is not None and (not isinstance(s.category, str) or not s.category):
        p.append(ErrorDetail("category", f"expected a category name or None, got {s.category!r}"))
    return p


@attrs.frozen(kw_only=True)
class InboundSettings:
    """How [`Helpdesk.receive`][ticketkit.Helpdesk.receive] threads, limits and stores messages.

    Attributes:
        domain: the domain of the ``Message-ID`` s this desk sends (see
            `ticketkit.channels.email_message_id`); a reply naming one threads even
            without a stored record. None: only stored ids count.
        token: the subject token pattern (``"[#{id}]"``).
        reopen_within: business days (on the ticket's SLA calendar) after which a
            reply to a resolved or closed ticket opens a follow-up instead of reopening
            it; 0 always opens a follow-up; None reopens whenever the workflow can.
        rate_limit: messages per sender within one ``rate_window`` before the rest is
            ignored (None: no limit). Counted in the store, so every process
            receiving for the desk shares the count.
        rate_window: the length of the rate limit's windows: fixed windows counted
            from the Unix epoch on the desk's clock (a burst across the boundary of
            two windows can pass up to twice ``rate_limit`` within one length).
        max_attachment_bytes: the largest attachment kept on a comment (None: any);
            larger ones are named in the comment, not attached.
        join_open: a new message of a customer with an open ticket opened within the
            desk's ``dedupe_window`` joins that ticket (so one person writing by
            e-mail and WeChat has one ticket).
        category: the category of tickets opened from messages (the intake's dedupe
            rules use it).

    Examples:
        >>> s = InboundSettings(domain="support.shop.example", rate_limit=5)
        >>> InboundSettings.from_dict(s.to_dict()) == s
        True
        >>> s.to_dict()["rate_window"]
        600.0
    """

    domain: str | None = None
    token: str = "[#{id}]"
    reopen_within: int | None = 5
    rate_limit: int | None = 20
    rate_window: timedelta = timedelta(minutes=10)
    max_attachment_bytes: int | None = 25 * 1024 * 1024
    join_open: bool = True
    category: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = _problems_of(self)
        if problems:
            raise ValidationError(problems)

    def to_dict(self) -> dict[str, Any]:
        """The plain form (``rate_window`` in seconds)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _SETTING_KEYS}
        out["rate_window"] = self.rate_window.total_seconds()
        return out

    @classmethod
    def from_dict(cls, data: object) -> InboundSettings:
        """Settings from their plain form; unknown keys and bad values are listed with their paths."""
        if not isinstance(data, Mapping):
            raise ValidationError.one("", f"expected a mapping of settings, got {data!r}")
        unknown = sorted(str(k) for k in data if k not in _SETTING_KEYS)
        if unknown:
            raise ValidationError.one(
                "", f"unknown keys {unknown!r} (expected some of: {', '.join(_SETTING_KEYS)})"
            )
        values = dict(data)
        if "rate_window" in values:
            window = values["rate_window"]
            if isinstance(window, bool) or not isinstance(window, int | float):
                raise ValidationError.one("rate_window", f"expected seconds as a number, got {window!r}")
            values["rate_window"] = timedelta(seconds=window)
        return cls(**values)


class Inbound:
    """A desk's receiving side: its settings, blob store and the per-sender rate windows."""

    def __init__(self, settings: InboundSettings | None, blobs: BlobStore | None) -> None:
        if settings is not None and not isinstance(settings, InboundSettings):
            raise ValidationError.one("inbound", f"expected InboundSettings or None, got {settings!r}")
        if blobs is not None and not isinstance(blobs, BlobStore):
            raise ValidationError.one("blobs", f"expected a BlobStore or None, got {blobs!r}")
        self.settings = settings or InboundSettings()
        self.blobs = blobs
        self.token = TicketToken(pattern=self.settings.token)
        self._lock = threading.Lock()
        self._hints: dict[tuple[str, str, int], int] = {}  # (tenant, sender, window) -> first free slot
        self.windows = RateWindows()

    def rate_slot(self, keys: _Keys, sender: Sender, now: datetime) -> str | None:
        """The key of the sender's free slot in the current window; "" when it has none left.

        Each window (``rate_window`` long, counted from the Unix epoch on the desk's
        clock) has ``rate_limit`` slots per sender, each a message key bound by the
        commit of the message that takes it: the count is shared by every process
        on the store. The slots of windows long past are dropped (`RateWindows`).
        None: no limit.
        """
        limit = self.settings.rate_limit
        if limit is None:
            return None
        window = int(now.timestamp() // self.settings.rate_window.total_seconds())
        self.windows.enter(keys.store, keys.tenant, window)
        keys.slot_owner = owner(window)
        sender_id = hashlib.sha256(f"{sender.kind}\x00{sender.value}".encode()).hexdigest()[:32]
        hint = (keys.tenant, sender_id, window)
        with self._lock:
            if len(self._hints) > _MAX_HINTS:
                self._hints.clear()  # hints only save lookups: slots are in the store
            first = self._hints.get(hint, 0)
        i = first
        while i < limit:
            slot = f"rate:{sender_id}:{window}:{i}"
            if keys.get(slot) is None:
                break
            i += 1
        with self._lock:
            # Slots taken stay taken: the first one seen free is where the next look starts.
            self._hints[hint] = max(i, self._hints.get(hint, 0))
        return f"rate:{sender_id}:{window}:{i}" if i < limit else ""


_MAX_HINTS: Final = 100_000


# --------------------------------------------------------------------------- keys


def message_key(message: InboundMessage) -> str:
    """The idempotence key of a message: its channel and the channel's message id."""
    return f"msg:{message.channel}:{message.message_id}"


def participant_key(ticket_id: str, customer_id: str) -> str:
    """The key saying ``customer_id`` wrote on ``ticket_id`` (a subject token of theirs is believed)."""
    return f"from:{ticket_id}:{customer_id}"


def _thread_keys(message: InboundMessage) -> list[str]:
    """The keys naming the thread a message belongs to (bound when no other ticket has them)."""
    keys = [f"mid:{message.message_id}"]
    if message.conversation_id is not None:
        keys.append(f"conv:{message.channel}:{message.conversation_id}")
    # The whole chain belongs to the thread: an earlier message arriving later finds it.
    keys.extend(f"mid:{ref}" for ref in message.references)
    if message.in_reply_to is not None:
        keys.append(f"mid:{message.in_reply_to}")
    return keys


class _Keys:
    """One attempt's message keys: the lookups it made (asked once) and the keys its commit binds.

    Every key the commit binds must be unbound (else the store refuses the commit):
    the message's own key is, or the message would be a duplicate; the thread's
    keys and the rate-limit slot are bound only where unbound when looked up. A key
    bound since (another process took the message, or the thread, first) refuses
    the commit, and the message is taken again from the start.
    """

    def __init__(self, desk: DeskContext, message: InboundMessage, tenant: str) -> None:
        self.store = desk.store
        self.message = message
        self.tenant = tenant
        self.own = message_key(message)
        self.slot: str | None = None  # the rate-limit slot this message takes
        self.slot_owner = ""  # what the slot is bound to: its window (see _rate_windows)
        self._seen: dict[str, str | None] = {}

    def get(self, key: str) -> str | None:
        """The ticket ``key`` is bound to (asked of the store once per attempt)."""
        if key not in self._seen:
            self._seen[key] = self.store.message_key(key, tenant=self.tenant)
        return self._seen[key]

    def bindings(self, ticket_id: str, *extra: str) -> dict[str, str]:
        """What the commit binds when the message goes to ``ticket_id`` ("": to none)."""
        out = {self.own: ticket_id}
        if self.slot:
            out[self.slot] = self.slot_owner
        if not ticket_id:
            return out
        for key in (*_thread_keys(self.message), *extra):
            if self.get(key) is None:
                out[key] = ticket_id
        return out

    def gone(self, ticket_id: str) -> None:
        """``ticket_id`` no longer exists (purged, and its keys left by a crash): unbind them here too."""
        self.store.drop_message_keys(ticket_id, tenant=self.tenant)
        for key, found in self._seen.items():
            if found == ticket_id:
                self._seen[key] = None

    def find(self, ticket_id: str) -> Ticket | None:
        """The ticket a key is bound to; None (its keys dropped) when it is gone."""
        try:
            return self.store.get(ticket_id, tenant=self.tenant)
        except NotFoundError:
            self.gone(ticket_id)
            return None

    def record(self, ticket_id: str = "") -> None:
        """Bind the message's keys for ``ticket_id`` without any other change (ignored messages)."""
        self.store.commit([], message_keys=self.bindings(ticket_id), tenant=self.tenant)


# --------------------------------------------------------------------------- receive

_ATTEMPTS: Final = 10
"""How often a message is taken again when its commit finds a key bound since it was read."""


def receive(
    desk: DeskContext, inbound: Inbound, message: InboundMessage, actor: Actor | None
) -> ReceiveOutcome:
    """Take one message: see the module docstring for the order of the rules."""
    if not isinstance(message, InboundMessage):
        raise ValidationError.one("message", f"expected an InboundMessage, got {message!r}")
    if actor is not None and not isinstance(actor, Actor):
        raise ValidationError.one("actor", f"expected an Actor or None, got {actor!r}")
    who = _intake._intake_actor(actor, None, None)
    attempt = 0
    while True:
        attempt += 1
        try:
            return _receive_once(desk, inbound, message, who)
        except MessageKeyConflictError:
            # Another writer bound one of this message's keys since it was read:
            # read again (it is now a duplicate, or threads onto that ticket).
            if attempt >= _ATTEMPTS:
                raise


def _receive_once(desk: DeskContext, inbound: Inbound, message: InboundMessage, who: Actor) -> ReceiveOutcome:
    tenant = who.tenant
    keys = _Keys(desk, message, tenant)
    seen = keys.get(keys.own)
    if seen is not None:
        return ReceiveOutcome(
            action="duplicate",
            reason=f"message {message.message_id!r} on {message.channel!r} was received before",
            ticket_id=seen or None,
        )
    customer = _sender_customer(desk, message.sender, tenant)
    _mark_bounces(desk, message, tenant)
    keys.slot = inbound.rate_slot(keys, message.sender, desk.now())
    if keys.slot == "":
        keys.record()
        return ReceiveOutcome(
            action="ignored",
            # The sender masked: callers log outcomes, and a log carries no personal data.
            reason=f"rate limit: more than {inbound.settings.rate_limit} messages from "
            f"{message.sender.kind} {mask_words(message.sender.value)!r} "
            f"within {inbound.settings.rate_window}",
        )
    match = _thread(desk, inbound, message, customer, keys)
    outcome = _act(desk, inbound, who=who, message=message, customer=customer, match=match, keys=keys)
    if outcome.action == "ignored":
        keys.record(outcome.ticket_id or "")
    return outcome


def _sender_customer(desk: DeskContext, sender: Sender, tenant: str) -> Customer:
    """The customer behind the sender: the directory's, else one made from the identity."""
    if desk.customers is not None:
        found = desk.customers.find_identity(sender.kind, sender.value, tenant=tenant)
        if found is not None:
            return found if found.tenant == tenant else attrs.evolve(found, tenant=tenant)
    return Customer(
        id=f"{sender.kind}:{sender.value}",
        name=sender.name or "",
        email=sender.value if sender.kind == "email" else None,
        phone=sender.value if sender.kind == "phone" else None,
        tenant=tenant,
    )


def _mark_bounces(desk: DeskContext, message: InboundMessage, tenant: str) -> None:
    if desk.customers is None or not message.bounced:
        return
    reason = message.automatic.evidence if message.automatic is not None else "bounced"
    for address in message.bounced:
        desk.customers.mark_failing(address, reason=reason, tenant=tenant)


def _thread(
    desk: DeskContext, inbound: Inbound, message: InboundMessage, customer: Customer, keys: _Keys
) -> ThreadMatch:
    store = desk.store
    tenant = keys.tenant
    own = keys.get(f"mid:{message.message_id}")
    if own:
        return ThreadMatch(rule="references", ticket_id=own, key=message.message_id)

    def exists(ticket_id: str) -> Ticket | None:
        try:
            return store.get(ticket_id, tenant=tenant)
        except NotFoundError:
            return None

    def conversation(key: str) -> str | None:
        return keys.get(f"conv:{message.channel}:{key}") or None

    def message_ids(key: str) -> str | None:
        found = keys.get(f"mid:{key}")
        if found:
            return found
        domain = inbound.settings.domain
        made = ticket_from_message_id(key, domain) if domain is not None else None
        return made if made is not None and exists(made) is not None else None

    def tokens(ticket_id: str) -> str | None:
        ticket = exists(ticket_id)
        if ticket is None:
            return None
        if ticket.customer is not None and ticket.customer.id == customer.id:
            return ticket.id
        # A stranger's guessed token opens a new ticket; a known participant's threads.
        return ticket.id if keys.get(participant_key(ticket.id, customer.id)) else None

    return resolve_thread(
        message, conversation=conversation, message_ids=message_ids, tokens=tokens, token=inbound.token
    )


def _act(
    desk: DeskContext,
    inbound: Inbound,
    *,
    who: Actor,
    message: InboundMessage,
    customer: Customer,
    match: ThreadMatch,
    keys: _Keys,
) -> ReceiveOutcome:
    automatic = message.automatic is not None and not message.automatic.weak
    why = f"{message.automatic.reason}: {message.automatic.evidence}" if message.automatic else ""
    # A key bound to a ticket that is gone (purged): as if nothing matched.
    found = None if match.ticket_id is None else keys.find(match.ticket_id)
    if found is None:
        if automatic:
            return ReceiveOutcome(action="ignored", reason=f"automatic message ({why}) opens no ticket")
        return _open(desk, inbound, who=who, message=message, customer=customer, parent=None, keys=keys)
    ticket = _latest(desk, found, keys)
    rule = match.rule
    if ticket.status_kind in DONE_KINDS:
        if automatic:
            return ReceiveOutcome(
                action="ignored",
                reason=f"automatic message ({why}) never reopens {ticket.status_kind} ticket {ticket.id!r}",
                ticket_id=ticket.id,
                rule=rule,
            )
        if _may_reopen(desk, inbound, ticket):
            _reply(
                desk,
                inbound,
                who=who,
                message=message,
                customer=customer,
                ticket_id=ticket.id,
                keys=keys,
                reopen=True,
            )
            return ReceiveOutcome(
                action="threaded",
                reason=f"reopened {ticket.status_kind} ticket by {rule}",
                ticket_id=ticket.id,
                rule=rule,
            )
        return _open(desk, inbound, who=who, message=message, customer=customer, parent=ticket, keys=keys)
    if automatic:
        _note(desk, who, message, why, ticket_id=ticket.id, keys=keys)
        return ReceiveOutcome(
            action="threaded",
            reason=f"automatic message ({why}) kept as an internal note",
            ticket_id=ticket.id,
            rule=rule,
        )
    _reply(
        desk,
        inbound,
        who=who,
        message=message,
        customer=customer,
        ticket_id=ticket.id,
        keys=keys,
        reopen=False,
    )
    return ReceiveOutcome(
        action="threaded",
        reason=f"reply found by {rule} {_shown(rule, match.key)!r}",
        ticket_id=ticket.id,
        rule=rule,
    )


def _shown(rule: str | None, key: str | None) -> str | None:
    """A thread key as an outcome shows it: a conversation id (it holds the user's openid) masked."""
    return mask_words(key) if rule == "conversation" and key else key


def followup_key(ticket_id: str) -> str:
    """The key naming the (first) follow-up opened for the closed ticket ``ticket_id``."""
    return f"followup:{ticket_id}"


def _latest(desk: DeskContext, ticket: Ticket, keys: _Keys) -> Ticket:
    """The ticket, or the follow-up that continues it when it is done (followed along a chain).

    Keys bound to a closed ticket (its conversation, its message ids) stay with it, so
    the next message of the same chat finds the follow-up through the closed ticket.
    """
    seen = {ticket.id}
    while ticket.status_kind in DONE_KINDS:
        nxt = keys.get(followup_key(ticket.id))
        if not nxt or nxt in seen:
            return ticket
        seen.add(nxt)
        following = keys.find(nxt)
        if following is None:  # the follow-up is gone: the message continues this ticket
            return ticket
        ticket = following
    return ticket


def _may_reopen(desk: DeskContext, inbound: Inbound, ticket: Ticket) -> bool:
    """Whether a reply may reopen ``ticket`` (else it gets a follow-up)."""
    days = inbound.settings.reopen_within
    if desk.reopen_trigger is None or ticket.status_kind != "resolved":
        return False
    if days is None:
        return True
    done = ticket.resolved_at or ticket.updated_at
    policy = desk.policy_of(ticket)
    calendar = policy.calendar if policy is not None else None
    if not isinstance(calendar, BusinessCalendar):  # a calendar of your own: count whole days
        calendar = BusinessCalendar.always_open("UTC")
    return days > 0 and desk.now() < calendar.add_days(done, days)


def _attachments(inbound: Inbound, message: InboundMessage) -> tuple[tuple[Attachment, ...], list[str]]:
    """The attachments kept (stored, within the size limit) and the names of those refused."""
    kept: list[Attachment] = []
    refused: list[str] = []
    limit = inbound.settings.max_attachment_bytes
    for a in message.attachments:
        stored = inbound.blobs is None or (a.storage_key is not None and inbound.blobs.exists(a.storage_key))
        if (limit is not None and a.size > limit) or not stored:
            refused.append(a.name)
        else:
            kept.append(a)
    return tuple(kept), refused


def _body(inbound: Inbound, message: InboundMessage) -> tuple[str, tuple[Attachment, ...]]:
    text = message.new_text or message.text
    kept, refused = _attachments(inbound, message)
    if refused:
        text = f"{text}\n\n[not attached: {', '.join(refused)}]".lstrip()
    return text, kept


def _customer_comment(
    inbound: Inbound, message: InboundMessage, customer: Customer, ticket_id: str, now: datetime
) -> Comment:
    body, kept = _body(inbound, message)
    return Comment(
        ticket_id=ticket_id,
        author=customer.id,
        body=body or "(no text)",
        at=now,
        author_kind="customer",
        public=True,
        attachments=kept,
    )


def _reply(
    desk: DeskContext,
    inbound: Inbound,
    *,
    who: Actor,
    message: InboundMessage,
    customer: Customer,
    ticket_id: str,
    keys: _Keys,
    reopen: bool = False,
) -> None:
    def change(work: Work) -> str:
        work.message_keys = keys.bindings(ticket_id, participant_key(ticket_id, customer.id))
        draft = work.load(ticket_id, "comment")
        comment = _customer_comment(inbound, message, customer, ticket_id, work.now)
        work.comment(draft, comment)
        _refer(work, comment)
        trigger = work.desk.reopen_trigger
        if reopen and trigger is not None and work.can_fire(draft, trigger):
            work.fire(draft, trigger)
        return ticket_id

    run(desk, who, change)


def _refer(work: Work, comment: Comment) -> None:
    """Record the comment's blobs as held by its ticket (before the commit: see ``desk._blobs``)."""
    if work.desk.blobs is not None and comment.attachments:
        keys = [a.storage_key for a in comment.attachments if a.storage_key is not None]
        refer(work.desk.store, work.actor.tenant, comment.ticket_id, keys)


def _note(
    desk: DeskContext, who: Actor, message: InboundMessage, why: str, *, ticket_id: str, keys: _Keys
) -> None:
    """An automatic message on an open ticket: an internal automatic note by the system.

    Not a customer comment, so no SLA clock that waits for the customer moves, no
    reopen fires, and no notification goes to the customer.
    """

    def change(work: Work) -> str:
        work.message_keys = keys.bindings(ticket_id)
        draft = work.load(ticket_id, "note")
        body = f"[{why}]\n{message.new_text or message.text}".rstrip()
        if message.bounced:
            body += f"\nfailed: {', '.join(message.bounced)}"
        work.comment(
            draft,
            Comment(
                ticket_id=ticket_id,
                author="system:inbound",
                body=body,
                at=work.now,
                author_kind="system",
                public=False,
                automatic=True,
            ),
        )
        return ticket_id

    run(desk, who, change)


def _subject(message: InboundMessage) -> str:
    if message.subject.strip():
        return message.subject.strip()
    first = next(
        (line.strip() for line in (message.new_text or message.text).splitlines() if line.strip()), ""
    )
    return first[:120] or f"Message from {message.sender.name or message.sender.value}"


def _joinable(
    desk: DeskContext, inbound: Inbound, customer: Customer, tenant: str, now: datetime
) -> Ticket | None:
    """The customer's newest open ticket opened within the dedupe window (``join_open``)."""
    if not inbound.settings.join_open or desk.dedupe_window is None:
        return None
    page = desk.store.query(
        tenant=tenant,
        customer=customer.id,
        status_kind=OPEN_KINDS,
        created_since=now - desk.dedupe_window,
        order_by="-created_at",
        limit=1,
    )
    return next(iter(page), None)


def _open(
    desk: DeskContext,
    inbound: Inbound,
    *,
    who: Actor,
    message: InboundMessage,
    customer: Customer,
    parent: Ticket | None,
    keys: _Keys,
) -> ReceiveOutcome:
    """A new ticket (a follow-up of ``parent``), or the customer's open one it joins."""
    if parent is None:
        joined = _joinable(desk, inbound, customer, who.tenant, desk.now())
        if joined is not None:
            _reply(desk, inbound, who=who, message=message, customer=customer, ticket_id=joined.id, keys=keys)
            return ReceiveOutcome(
                action="threaded",
                reason=f"joined the customer's open ticket {joined.id!r} (within the dedupe window)",
                ticket_id=joined.id,
            )
    description, kept = _body(inbound, message)
    request = _intake.Request(
        subject=_subject(message),
        channel=message.channel,
        description=description,
        category=inbound.settings.category,
        priority=Priority.NORMAL,
        type="support",
        fields={},
        tags=frozenset(),
        external_ref=None,
        messages=(),
        team=None,
        assignee=None,
        policy=None,
        dedupe=parent is None,
    )
    record = _intake._customer(desk, customer, who.tenant)
    assert record is not None
    opened: list[bool] = []

    def change(work: Work) -> str:
        opened.clear()
        ticket_id = _intake._intake(work, request, record)
        draft = work.drafts[ticket_id]
        opened.append(draft.created)
        if draft.created:
            _mark_created(draft, message)
            if parent is not None:
                work.link(draft, FOLLOWUP, parent.id)
        if kept:
            comment = _customer_comment(inbound, message, record, ticket_id, work.now)
            work.comment(draft, comment)
            _refer(work, comment)
        extra = [participant_key(ticket_id, customer.id)]
        if parent is not None:
            extra.append(followup_key(parent.id))
        work.message_keys = keys.bindings(ticket_id, *extra)
        return ticket_id

    ticket = run(desk, who, change)
    if parent is not None:
        return ReceiveOutcome(
            action="followup",
            reason=f"reply to {parent.status_kind} ticket {parent.id!r}: a follow-up was opened",
            ticket_id=ticket.id,
            parent_id=parent.id,
        )
    if not opened[0]:
        return ReceiveOutcome(action="threaded", reason="the intake's dedupe rules", ticket_id=ticket.id)
    return ReceiveOutcome(
        action="opened", reason="no thread, no duplicate: a new ticket", ticket_id=ticket.id
    )


def _mark_created(draft: Draft, message: InboundMessage) -> None:
    """Say on the ``ticket.created`` event which message opened the ticket.

    ``auto_reply`` is False when a machine may have written it (a weak guess from the
    subject), so the desk sends no acknowledgement that could start a mail loop.
    """
    for i, event in enumerate(draft.events):
        if event.kind == ev.TICKET_CREATED:
            data = dict(event.data)
            data["message"] = {"channel": message.channel, "message_id": message.message_id}
            data["auto_reply"] = message.automatic is None
            draft.events[i] = attrs.evolve(event, data=data)
            return
