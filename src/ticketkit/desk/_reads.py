"""Reads: tickets, history, comments, children, SLA status, the customer's progress view, export.

Every read is of the actor's tenant only and asks the access policy; customers
see neither internal notes nor automation records. What a read hands out passes
through the desk's `RevealPolicy` (see ``_privacy``): masked unless the actor holds
the ``reveal_personal`` right on the ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import IO, Any, TypedDict

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import require_actor
from ticketkit.desk._kinds import OPEN_KINDS
from ticketkit.desk._privacy import (
    masker,
    require_unmasked_export,
    shown_comments,
    shown_events,
    shown_ticket,
)
from ticketkit.desk._text import Progress, pick_language, progress_message, status_text, translations
from ticketkit.desk._work import Work
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import thaw
from ticketkit.model._models import Comment, Event, Priority, Ticket
from ticketkit.sla._policy import SLAStatus
from ticketkit.storage._base import export_header, export_line


class TicketFilters(TypedDict, total=False):
    """The filters [`Helpdesk.tickets`][ticketkit.Helpdesk.tickets] takes, as keyword arguments.

    They are those of [`TicketStore.query`][ticketkit.TicketStore.query]: a
    multi-valued filter (``status``, ``team``, ...) matches any of its values,
    ``tags`` must all be present, ranges are half-open, ``text`` is a
    case-insensitive substring of the subject. ``order_by`` is a store order key
    (``-`` in front for descending), ``limit`` the page size the desk reads with
    (default 200), and ``tenant``, if given, must be the actor's. A type checker
    rejects any other keyword (a typo such as ``stauts``); at run time an unknown
    one is a `ValidationError`.

    Examples:
        >>> import ticketkit as tk
        >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
        >>> _ = desk.open(subject="Refund", category="refund")
        >>> wanted: tk.TicketFilters = {"status_kind": ["new", "open"], "category": "refund"}
        >>> [t.subject for t in desk.tickets(actor=tk.Actor.system(), **wanted)]
        ['Refund']
    """

    tenant: str | None
    status: str | Iterable[str] | None
    status_kind: str | Iterable[str] | None
    team: str | Iterable[str] | None
    assignee: str | Iterable[str] | None
    customer: str | Iterable[str] | None
    category: str | Iterable[str] | None
    priority: Priority | str | Iterable[Priority | str] | None
    tags: str | Iterable[str] | None
    created_since: datetime | None
    created_before: datetime | None
    updated_since: datetime | None
    updated_before: datetime | None
    text: str | None
    next_due_before: datetime | None
    parent_id: str | None
    order_by: str
    limit: int


_QUERY_FILTERS = frozenset(TicketFilters.__optional_keys__) - {"tenant", "limit"}


def read(desk: DeskContext, ticket_id: str, actor: Actor) -> Ticket:
    """The ticket as ``actor`` may see it, if they may read it."""
    return shown_ticket(desk, actor, _load(desk, ticket_id, actor))


def _load(desk: DeskContext, ticket_id: str, actor: Actor) -> Ticket:
    """The stored ticket, unmasked (for the desk's own use), if ``actor`` may read it."""
    require_actor(actor, "an Actor (who is asking)")
    return Work(desk, actor, desk.now()).load(ticket_id, "read").ticket


def tickets(desk: DeskContext, actor: Actor, filters: Mapping[str, object]) -> Iterator[Ticket]:
    """Every ticket of the actor's tenant the actor may read that passes ``filters``."""
    require_actor(actor)
    given: dict[str, Any] = dict(filters)
    if "tenant" in given and given["tenant"] != actor.tenant:
        raise ValidationError.one("tenant", f"the actor works in tenant {actor.tenant!r}")
    given.pop("tenant", None)
    given.pop("cursor", None)
    limit = given.pop("limit", 200)
    unknown = sorted(set(given) - _QUERY_FILTERS)
    if unknown:
        expected = ", ".join(sorted(_QUERY_FILTERS))
        raise ValidationError(
            [ErrorDetail(name, f"unknown filter {name!r} (expected one of: {expected})") for name in unknown]
        )
    return _pages(desk, actor, limit, given)


def _pages(
    desk: DeskContext, actor: Actor, limit: int, filters: dict[str, Any], *, shown: bool = True
) -> Iterator[Ticket]:
    cursor: str | None = None
    while True:
        page = desk.store.query(tenant=actor.tenant, limit=limit, cursor=cursor, **filters)
        for ticket in page:
            if ticket.tenant == actor.tenant and desk.access.check(actor, "read", ticket) is None:
                yield shown_ticket(desk, actor, ticket) if shown else ticket
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def history(desk: DeskContext, ticket_id: str, actor: Actor) -> list[Event]:
    """Every event of the ticket in order (for customers: only what they may see), as the actor may see it."""
    ticket = _load(desk, ticket_id, actor)
    return shown_events(desk, actor, ticket, _visible_events(desk, ticket, actor))


def _visible_events(desk: DeskContext, ticket: Ticket, actor: Actor) -> list[Event]:
    events = desk.store.events(ticket.id, tenant=actor.tenant)
    if actor.kind == "customer":
        events = [e for e in events if _customer_visible(e)]
    return events


def comments(desk: DeskContext, ticket_id: str, actor: Actor) -> list[Comment]:
    """The ticket's comments in order (customers see public ones only), as the actor may see them."""
    from ticketkit.model._serialization import from_dict  # noqa: PLC0415 - a cold path

    ticket = _load(desk, ticket_id, actor)
    found = [
        from_dict(Comment, thaw(e.data["comment"]))
        for e in _visible_events(desk, ticket, actor)
        if e.kind == ev.COMMENT_ADDED and isinstance(e.data.get("comment"), Mapping)
    ]
    return shown_comments(desk, actor, ticket, found)


def children(desk: DeskContext, ticket_id: str, actor: Actor) -> list[Ticket]:
    """The sub-tickets the actor may read, oldest first."""
    parent = read(desk, ticket_id, actor)
    return list(tickets(desk, actor, {"parent_id": parent.id}))


def sla_status(desk: DeskContext, ticket_id: str, actor: Actor) -> dict[str, SLAStatus]:
    """Each SLA clock's status now (empty when no policy applies)."""
    ticket = _load(desk, ticket_id, actor)
    policy = desk.policy_of(ticket)
    return policy.status(ticket, desk.now()) if policy is not None else {}


def progress(desk: DeskContext, ticket_id: str, actor: Actor, lang: str | None) -> Progress:
    """The customer-facing view: status in plain words, the team, the next expected time."""
    if lang is not None:
        translations(lang)  # an unknown language is refused before anything is read
    ticket = _load(desk, ticket_id, actor)
    if lang is None:
        lang = pick_language(ticket.customer.locale if ticket.customer is not None else None)
    now = desk.now()
    expected_at = _expected_at(desk, ticket, now)
    within = expected_at - now if expected_at is not None else None
    overdue = within is not None and within <= timedelta(0)
    team_name = _label(desk, ticket.team, lang) if ticket.team else None
    return Progress(
        ticket_id=ticket.id,
        lang=lang,
        status=ticket.status,
        status_kind=ticket.status_kind,
        status_text=status_text(ticket.status_kind, lang),
        team=ticket.team,
        team_name=team_name,
        expected_at=expected_at,
        expected_within=within if not overdue else None,
        overdue=overdue,
        message=progress_message(
            lang=lang,
            status_kind=ticket.status_kind,
            team_name=team_name,
            expected_within=within if not overdue else None,
            overdue=overdue,
        ),
    )


def _expected_at(desk: DeskContext, ticket: Ticket, now: datetime) -> datetime | None:
    """When the next thing the customer waits for is due: a response while one is due, else resolution."""
    policy = desk.policy_of(ticket)
    if policy is None or ticket.status_kind not in OPEN_KINDS:
        return None
    status = policy.status(ticket, now)
    for metric in ("first_response", "next_response", "resolution"):
        s = status.get(metric)
        if s is not None and s.due_at is not None and s.state in ("running", "breached"):
            return s.due_at
    return None


def _label(desk: DeskContext, key: str, lang: str) -> str:
    label = desk.labels.get(lang, {}).get(key)
    if label:
        return label
    team = desk.teams.get(key)
    name = getattr(team, "name", "") if team is not None else ""
    return name if lang == "en" and name else key


def export(desk: DeskContext, fp: IO[str], *, actor: Actor, mask: bool) -> int:
    """Write what the actor may read as the store's JSON Lines export; the number of tickets.

    Masked, every ticket and event goes through the privacy masker whatever the actor's
    right; unmasked needs the reveal right on the whole tenant.
    """
    require_actor(actor)
    if not mask:
        require_unmasked_export(desk, actor)
    fp.write(export_header())
    n = 0
    for stored in _pages(desk, actor, 200, {"order_by": "id"}, shown=False):
        events = _visible_events(desk, stored, actor)  # customers get no internal notes
        ticket = stored
        if mask:
            hide = masker(desk, stored)
            ticket = hide.ticket(stored)
            events = [hide.event(e) for e in events]
        fp.write(export_line(ticket, events))
        n += 1
    return n


def _customer_visible(event: Event) -> bool:
    if event.kind == ev.COMMENT_ADDED:
        comment = event.data.get("comment")
        return isinstance(comment, Mapping) and bool(comment.get("public"))
    return not event.kind.startswith("automation.")
