"""Personal data at the desk: masking on reads, redaction and erasure through the store.

Every read the desk hands out passes through the desk's `RevealPolicy`: actors who hold
the ``reveal_personal`` right on a ticket get it as stored, everyone else its masked copy.
Redaction (`redact`) and erasure (`erase_customer`) apply the pure functions of
``ticketkit.privacy`` and write their result with `TicketStore.rewrite`, which replaces the
stored ticket and its events in place; erasure also deletes the ticket's outbox messages
(notifications keep a copy of the ticket), then asks the store to `compact` so no copy
of the removed values is left in its files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs

from ticketkit.desk._access import Actor
from ticketkit.desk._blobs import blob_keys_of, release
from ticketkit.desk._blobs import index as blob_index
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize, require_actor
from ticketkit.desk._retention import next_due
from ticketkit.errors import ConflictError, ErrorDetail, PermissionDeniedError, ValidationError
from ticketkit.model._ids import new_id
from ticketkit.model._models import Comment, Event, Ticket
from ticketkit.privacy._mask import Masker, PersonalFields
from ticketkit.privacy._redact import RedactSpan, anonymize_ticket, redact_ticket
from ticketkit.privacy._retention import RetentionPolicy
from ticketkit.privacy._rights import RevealPolicy


@attrs.frozen(kw_only=True)
class ErasureReport:
    """What [`Helpdesk.erase_customer`][ticketkit.Helpdesk.erase_customer] changed.

    ``tickets`` are the ids of the tickets rewritten; ``removed`` counts the removed values
    by kind (``phone``, ``email``, ``name``, ``text``, ``field``, ...); ``pseudonym`` is the id
    the customer's tickets now carry (one per erasure, so they still count as one
    customer's). Never the removed values.

    Examples:
        >>> ErasureReport(
        ...     customer_id="c-1", pseudonym="erased-1", tickets=("T1",), removed={"phone": 2}
        ... ).tickets
        ('T1',)
    """

    customer_id: str
    pseudonym: str
    tickets: tuple[str, ...]
    removed: Mapping[str, int]


def configure(
    desk: DeskContext,
    *,
    reveal: RevealPolicy | None,
    personal: PersonalFields | None,
    retention: Iterable[RetentionPolicy],
    region: str,
) -> None:
    """Check the privacy settings (every problem at once) and put them on the context."""
    problems: list[ErrorDetail] = []
    given: dict[str, object] = {"reveal": reveal, "personal": personal, "retention": retention}
    if given["reveal"] is not None and not isinstance(given["reveal"], RevealPolicy):
        problems.append(ErrorDetail("reveal", f"expected a RevealPolicy, got {reveal!r}"))
    if given["personal"] is not None and not isinstance(given["personal"], PersonalFields):
        problems.append(ErrorDetail("personal", f"expected PersonalFields, got {personal!r}"))
    many = given["retention"]
    policies: list[object] = (
        list(many) if isinstance(many, Iterable) and not isinstance(many, str | bytes) else [many]
    )
    names: set[str] = set()
    for i, p in enumerate(policies):
        if not isinstance(p, RetentionPolicy):
            problems.append(ErrorDetail(f"retention[{i}]", f"expected a RetentionPolicy, got {p!r}"))
        elif p.name in names:
            problems.append(ErrorDetail(f"retention[{i}].name", f"duplicate retention policy {p.name!r}"))
        else:
            names.add(p.name)
    if not isinstance(region, str) or len(region) != 2 or not region.isalpha() or not region.isupper():
        problems.append(
            ErrorDetail("region", f"expected a two-letter region code such as 'CN', got {region!r}")
        )
    if problems:
        raise ValidationError(problems)
    if reveal is not None:
        desk.reveal = reveal
    if personal is not None:
        desk.personal = personal
    desk.retention = tuple(p for p in policies if isinstance(p, RetentionPolicy))
    desk.region = region


# ---------------------------------------------------------------------------- masking on reads


def shown_ticket(desk: DeskContext, actor: Actor, ticket: Ticket) -> Ticket:
    """``ticket`` as ``actor`` may see it: as stored with the reveal right, masked without."""
    return desk.reveal.ticket_for(actor, ticket, personal=desk.personal, region=desk.region)


def shown_events(desk: DeskContext, actor: Actor, ticket: Ticket, events: Sequence[Event]) -> list[Event]:
    """``ticket``'s events as ``actor`` may see them."""
    return desk.reveal.events_for(actor, ticket, events, personal=desk.personal, region=desk.region)


def shown_comments(
    desk: DeskContext, actor: Actor, ticket: Ticket, comments: Sequence[Comment]
) -> list[Comment]:
    """``ticket``'s comments as ``actor`` may see them."""
    return desk.reveal.comments_for(actor, ticket, comments, personal=desk.personal, region=desk.region)


def masker(desk: DeskContext, ticket: Ticket) -> Masker:
    """A masker for one ticket's records (knows its customer's declared values)."""
    return Masker.for_customer(ticket.customer, personal=desk.personal, region=desk.region)


def require_unmasked_export(desk: DeskContext, actor: Actor) -> None:
    """Refuse an unmasked export to an actor whose reveal scope is not the whole tenant."""
    if desk.reveal.scope(actor.roles) != "all":
        raise PermissionDeniedError(
            actor.ref,
            "export unmasked",
            f"tenant {actor.tenant}",
            "the reveal_personal right on every ticket of the tenant is needed (scope 'all')",
        )


# ---------------------------------------------------------------------------- redaction


def redact(
    desk: DeskContext,
    ticket_id: str,
    spans: Iterable[RedactSpan | str] | RedactSpan | str,
    *,
    reason: str,
    actor: Actor,
) -> Ticket:
    """Remove ``spans`` from the ticket and every copy in its events; record a ``ticket.redacted`` event."""
    require_actor(actor, "an Actor (who is redacting)")
    wanted = [spans] if isinstance(spans, str | RedactSpan) else list(spans)
    if not wanted:
        raise ValidationError.one("paths_or_spans", "name at least one path or span to redact")
    for attempt in range(1, desk.max_attempts + 1):
        ticket = desk.store.get(ticket_id, tenant=actor.tenant)
        authorize(desk.access, actor, "update", ticket)
        if not desk.reveal.allows(actor, ticket):
            raise PermissionDeniedError(
                actor.ref, "redact", f"ticket {ticket.id}", "redacting needs the reveal_personal right"
            )
        events = desk.store.events(ticket.id, tenant=actor.tenant)
        result = redact_ticket(ticket, events, wanted, reason=reason, actor=actor.ref, at=desk.now())
        try:
            return desk.store.rewrite(
                result.ticket, result.events, append=[result.event], expected_version=ticket.version
            )
        except ConflictError:
            if attempt >= desk.max_attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


# ---------------------------------------------------------------------------- erasure


def index_blobs(desk: DeskContext, *, actor: Actor) -> int:
    """Record the blob holders of every ticket in the actor's tenant (see `Helpdesk.index_blobs`)."""
    require_actor(actor, "an Actor (who is indexing)")
    authorize(desk.access, actor, "admin", None)
    return blob_index(desk.store, actor.tenant)


def erase_customer(desk: DeskContext, customer_id: str, *, actor: Actor, reason: str) -> ErasureReport:
    """Anonymise every ticket of ``customer_id`` in the actor's tenant, then compact the store."""
    require_actor(actor, "an Actor (who is erasing)")
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise ValidationError.one("customer_id", f"expected a customer id, got {customer_id!r}")
    authorize(desk.access, actor, "admin", None)
    if desk.reveal.scope(actor.roles) != "all":
        raise PermissionDeniedError(
            actor.ref,
            "erase",
            f"customer of tenant {actor.tenant}",
            "erasure needs the reveal_personal right",
        )
    now = desk.now()
    pseudonym = f"erased-{new_id(now)}"
    removed: Counter[str] = Counter()
    ids = _ticket_ids_of(desk, customer_id, actor.tenant)
    held = {t: blob_keys_of(desk.store.events(t, tenant=actor.tenant)) for t in ids if desk.blobs is not None}
    done = [
        ticket_id
        for ticket_id in ids
        if _erase_one(desk, ticket_id, customer_id, pseudonym, actor=actor, reason=reason, removed=removed)
    ]
    if desk.blobs is not None:
        # Every ticket of the customer lets go of its blobs (erased now or before).
        removed["attachment"] += release(desk.store, desk.blobs, actor.tenant, held)
    desk.store.compact(tenant=actor.tenant)
    return ErasureReport(
        customer_id=customer_id, pseudonym=pseudonym, tickets=tuple(done), removed=dict(removed)
    )


def _ticket_ids_of(desk: DeskContext, customer_id: str, tenant: str) -> list[str]:
    """The ids of the customer's tickets (the store's customer index), read before any rewrite."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = desk.store.query(tenant=tenant, customer=customer_id, order_by="id", limit=200, cursor=cursor)
        ids.extend(t.id for t in page)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _erase_one(
    desk: DeskContext,
    ticket_id: str,
    customer_id: str,
    pseudonym: str,
    *,
    actor: Actor,
    reason: str,
    removed: Counter[str],
) -> bool:
    for attempt in range(1, desk.max_attempts + 1):
        ticket = desk.store.get(ticket_id, tenant=actor.tenant)
        events = desk.store.events(ticket_id, tenant=actor.tenant)
        erasure = anonymize_ticket(
            ticket,
            events,
            customer_id=customer_id,
            actor=actor.ref,
            at=desk.now(),
            pseudonym=pseudonym,
            reason=reason,
            personal=desk.personal,
            region=desk.region,
        )
        # The outbox keeps copies of the ticket's data (notifications not sent yet, and
        # sent ones): none may stay or go out after the erasure. Dropped first, so a
        # rerun after a crash between the two steps still finds them.
        desk.store.drop_outbox(ticket_id)
        # The keys its messages were received by name the customer (``from:`` keys,
        # a WeChat conversation's openid): they go too, so a later message is new.
        desk.store.drop_message_keys(ticket_id, tenant=actor.tenant)
        if not erasure.changed:
            return False
        try:
            desk.store.rewrite(
                next_due(desk, erasure.ticket),
                erasure.events,
                append=[erasure.event],
                expected_version=ticket.version,
            )
        except ConflictError:
            if attempt >= desk.max_attempts:
                raise
            continue
        removed.update(str(r.get("kind", "text")) for r in erasure.removed)
        return True
    return False  # pragma: no cover - the loop returns or raises
