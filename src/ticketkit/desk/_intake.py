"""Intake: a request from any channel becomes one ticket, or joins the customer's open one.

The customer is looked up in the directory, a chatbot's transcript becomes
comments, the router places the ticket (unless a team or agent is given), the SLA
policy is chosen and its clocks start; all of it in one change. A repeated
request (same ``external_ref``, or same category within ``dedupe_window``) is
added to the open ticket as a customer comment instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeAlias, cast

import attrs

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import authorize_intake, was_placed, wrong
from ticketkit.desk._kinds import DEDUPLICATED, OPEN_KINDS
from ticketkit.desk._request_key import request_ticket_id
from ticketkit.desk._running import run
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import JSONValue, freeze, json_problems
from ticketkit.model._limits import guarded_loader
from ticketkit.model._models import Comment, Customer, Priority, Ticket

CHANNELS: Final = ("email", "phone", "web", "app", "wechat", "chatbot", "api")
"""The channels ticketkit names; any other non-empty name works too."""

_SYSTEM_INTAKE: Final = "intake"

Message: TypeAlias = "Comment | Mapping[str, object] | tuple[str, str]"
"""A transcript message: a `Comment`, a dict with ``body`` (``author``, ``at``...), or ``(speaker, text)``."""


@attrs.frozen(kw_only=True)
class Request:
    """What a caller asked to open, checked."""

    subject: str
    channel: str
    description: str
    category: str | None
    priority: Priority
    type: str
    fields: Mapping[str, JSONValue]
    tags: frozenset[str]
    external_ref: str | None
    messages: Sequence[Message]
    team: str | None
    assignee: str | None
    policy: str | None
    dedupe: bool


@guarded_loader(1_000)  # no positional data: only turns a builtin error into a ValidationError
def open_ticket(
    desk: DeskContext,
    *,
    subject: str,
    channel: str,
    customer: Customer | str | None,
    actor: Actor | None,
    description: str,
    category: str | None,
    priority: Priority | str | None,
    type: str,  # noqa: A002 - the ticket field's name
    fields: Mapping[str, JSONValue] | None,
    tags: Iterable[str],
    external_ref: str | None,
    transcript: Iterable[Message],
    team: str | None,
    assignee: str | None,
    policy: str | None,
    dedupe: bool,
    tenant: str | None,
) -> Ticket:
    """Check the request, resolve actor and customer, and run the change that opens (or dedupes) it."""
    problems: list[ErrorDetail] = []
    _check_text(subject, channel, actor, customer, problems)
    if fields is not None:
        if wrong(fields, Mapping):
            problems.append(ErrorDetail("fields", f"expected a mapping, got {fields!r}"))
        else:
            problems.extend(json_problems(fields, "fields"))
    tag_list = _checked_tags(tags, problems)
    prio: Priority = Priority.NORMAL
    if priority is not None:
        try:
            prio = Priority.parse(priority)
        except ValidationError as err:
            problems.extend(err.errors)
    messages = _transcript(transcript, problems)
    if problems:
        raise ValidationError(problems)
    who = _intake_actor(actor, tenant, customer)
    if customer is None and who.kind == "customer":
        customer = who.id
    request = Request(
        subject=subject.strip(),
        channel=channel.strip().lower(),
        description=description,
        category=category,
        priority=prio,
        type=type,
        fields=dict(fields or {}),
        tags=frozenset(tag_list),
        external_ref=external_ref,
        messages=messages,
        team=team,
        assignee=assignee,
        policy=policy,
        dedupe=dedupe,
    )
    record = _customer(desk, customer, who.tenant)
    return run(desk, who, lambda work: _intake(work, request, record))


def _check_text(
    subject: object, channel: object, actor: object, customer: object, problems: list[ErrorDetail]
) -> None:
    if not isinstance(subject, str) or not subject.strip():
        problems.append(ErrorDetail("subject", f"expected a non-empty string, got {subject!r}"))
    if not isinstance(channel, str) or not channel.strip():
        problems.append(ErrorDetail("channel", f"expected a channel name such as 'wechat', got {channel!r}"))
    if actor is not None and wrong(actor, Actor):
        problems.append(ErrorDetail("actor", f"expected an Actor or None, got {actor!r}"))
    if customer is not None and wrong(customer, (Customer, str)):
        problems.append(
            ErrorDetail("customer", f"expected a Customer, a customer id or None, got {customer!r}")
        )


def _checked_tags(tags: object, problems: list[ErrorDetail]) -> list[str]:
    if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
        problems.append(ErrorDetail("tags", f"expected a list of tags, got {tags!r}"))
        return []
    tag_list = list(tags)
    problems.extend(
        ErrorDetail(f"tags[{i}]", f"expected a non-empty string, got {x!r}")
        for i, x in enumerate(tag_list)
        if not isinstance(x, str) or not x
    )
    return tag_list


def _intake_actor(actor: Actor | None, tenant: str | None, customer: Customer | str | None) -> Actor:
    """The actor given (in ``tenant`` if one is named) or the system intake of the tenant."""
    if actor is None:
        ten = tenant or (customer.tenant if isinstance(customer, Customer) else "default")
        return Actor(id=_SYSTEM_INTAKE, roles={"system"}, tenant=ten)
    if tenant is not None and tenant != actor.tenant:
        raise ValidationError.one("tenant", f"the actor works in tenant {actor.tenant!r}, not {tenant!r}")
    return actor


def _intake(work: Work, request: Request, record: Customer | None) -> str:
    """The change: a new ticket, or the request added to the open ticket it repeats."""
    ticket = Ticket(
        subject=request.subject,
        created_at=work.now,
        tenant=work.actor.tenant,
        type=request.type,
        description=request.description,
        channel=request.channel,
        customer=record,
        category=request.category,
        priority=request.priority,
        team=request.team,
        assignee=request.assignee,
        tags=request.tags,
        fields=freeze(dict(request.fields)),
        external_ref=request.external_ref,
    )
    if request.dedupe and request.external_ref is not None and record is not None:
        keyed = request_ticket_id(work.desk.store, ticket.tenant, record.id, request.external_ref)
        if keyed is not None:
            ticket = attrs.evolve(ticket, id=keyed)
    ticket = work.desk.workflow_for(ticket).start(ticket)
    work.authorize("open", ticket)
    authorize_intake(
        work.desk.access,
        work.actor,
        ticket,
        placed=was_placed(request.team, request.assignee, request.priority),
        comments=[_as_comment(m, ticket, record, work.now) for m in request.messages],
        now=work.now,
    )
    if request.dedupe and record is not None:
        existing = _duplicate_of(work, ticket)
        if existing is not None:
            return _merge_request(work, existing, ticket, request.messages)
    draft = work.add(ticket)
    work.emit(
        draft,
        ev.TICKET_CREATED,
        {
            "channel": ticket.channel,
            "subject": ticket.subject,
            "category": ticket.category,
            "priority": ticket.priority.value,
            "customer": record.id if record is not None else None,
            "type": ticket.type,
            "external_ref": request.external_ref,
        },
    )
    for message in request.messages:
        work.comment(draft, _as_comment(message, ticket, record, work.now))
    _place(work, draft, request)
    return ticket.id


def _place(work: Work, draft: Draft, request: Request) -> None:
    """Route the new ticket (or record the team and agent given) and start its SLA clocks."""
    if request.team is None and request.assignee is None:
        work.route(draft)
    else:
        work.emit(
            draft,
            ev.ASSIGNED,
            {
                "team": request.team,
                "agent": request.assignee,
                "from_team": None,
                "from_agent": None,
                "rule": None,
                "reason": "given at intake",
            },
        )
    work.start_clocks(draft, request.policy or draft.policy_hint)


def _customer(desk: DeskContext, customer: Customer | str | None, tenant: str) -> Customer | None:
    if customer is None:
        return None
    if desk.customers is not None:
        found = desk.customers.resolve(customer, tenant=tenant)
    else:
        found = customer if isinstance(customer, Customer) else Customer(id=customer, tenant=tenant)
    if found.tenant != tenant:
        found = attrs.evolve(found, tenant=tenant)
    return found


def _transcript(transcript: Iterable[Message], problems: list[ErrorDetail]) -> list[Message]:
    if not wrong(transcript, (str, bytes)) or wrong(transcript, Iterable):
        problems.append(ErrorDetail("transcript", f"expected a list of messages, got {transcript!r}"))
        return []
    out = list(transcript)
    for i, m in enumerate(out):
        if isinstance(m, Comment):
            continue
        if isinstance(m, tuple) and len(m) == 2 and all(isinstance(x, str) for x in m):
            continue
        if isinstance(m, Mapping) and isinstance(m.get("body"), str):
            unknown = set(m) - {"author", "body", "at", "author_kind", "public"}
            if unknown:
                problems.append(ErrorDetail(f"transcript[{i}]", f"unknown keys {sorted(unknown)!r}"))
            continue
        problems.append(
            ErrorDetail(
                f"transcript[{i}]",
                f"expected (speaker, text), a dict with 'body', or a Comment, got {m!r}",
            )
        )
    return out


def _as_comment(message: Message, ticket: Ticket, customer: Customer | None, now: datetime) -> Comment:
    if isinstance(message, Comment):
        return attrs.evolve(message, ticket_id=ticket.id)
    if isinstance(message, tuple):
        speaker, text = message
        kind = "customer" if speaker == "customer" else "bot" if speaker == "bot" else "agent"
        author = customer.id if kind == "customer" and customer is not None else speaker
        return Comment(ticket_id=ticket.id, author=author, body=text, at=now, author_kind=kind, public=True)
    # _transcript checked the keys and that body is a string; Comment checks the rest.
    speaker = str(message.get("author", "bot"))
    given = message.get("author_kind")
    author = customer.id if speaker == "customer" and customer is not None else speaker
    return Comment(
        ticket_id=ticket.id,
        author=author,
        body=cast(str, message["body"]),
        at=cast(datetime, message.get("at") or now),
        author_kind=cast(str, given) if given else ("customer" if speaker == "customer" else "bot"),
        public=bool(message.get("public", True)),
    )


def _duplicate_of(work: Work, ticket: Ticket) -> Ticket | None:
    """An open ticket of the same customer this request repeats, if any."""
    assert ticket.customer is not None
    desk = work.desk
    page = desk.store.query(
        tenant=ticket.tenant,
        customer=ticket.customer.id,
        status_kind=OPEN_KINDS,
        order_by="-created_at",
        limit=100,
    )
    since = work.now - desk.dedupe_window if desk.dedupe_window is not None else None
    # Only into a ticket the actor could comment on themselves (an agent taking a call may
    # not see the customer's ticket of another team; then the request becomes its own ticket).
    visible = [other for other in page if desk.access.check(work.actor, "comment", other) is None]
    for other in visible:
        if ticket.external_ref is not None and other.external_ref == ticket.external_ref:
            return other
    if since is None or ticket.category is None:
        return None
    for other in visible:
        if other.category == ticket.category and other.created_at >= since and other.type == ticket.type:
            return other
    return None


def _merge_request(work: Work, existing: Ticket, request: Ticket, messages: Sequence[Message]) -> str:
    draft = work.load(existing.id, None)
    reason = (
        f"same external reference {request.external_ref!r}"
        if request.external_ref is not None and existing.external_ref == request.external_ref
        else f"same category {request.category!r} within {work.desk.dedupe_window}"
    )
    work.emit(
        draft,
        DEDUPLICATED,
        {
            "channel": request.channel,
            "reason": reason,
            "external_ref": request.external_ref,
            "subject": request.subject,
        },
    )
    assert request.customer is not None
    body = request.subject if not request.description else f"{request.subject}\n\n{request.description}"
    work.comment(
        draft,
        Comment(
            ticket_id=existing.id,
            author=request.customer.id,
            body=body,
            at=work.now,
            author_kind="customer",
            public=True,
        ),
    )
    for message in messages:
        work.comment(draft, _as_comment(message, existing, request.customer, work.now))
    return existing.id
