"""Redaction and erasure as pure functions: a ticket and its events in, rewritten values out.

`redact_ticket` removes chosen values (whole paths, or character spans inside a text) from a
ticket and from every copy of them in its events, and makes a ``ticket.redacted`` event
that says what was removed (where, what kind, how long, why), never the value.

`anonymize_ticket` removes everything that identifies one customer from a ticket and its events
(their record, their name, contact details and numbers in every text, the custom fields
declared personal) and keeps what reports need: counts, timestamps, durations, statuses,
priorities, categories, teams, ratings. It makes a ``ticket.anonymized`` event.

The desk applies both through a store primitive that rewrites a ticket and its events in
place (see the personal-data explanation page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._json import freeze, thaw
from ticketkit.model._models import Customer, Event, Ticket, replace_trusted
from ticketkit.model._time import aware_problem
from ticketkit.privacy._detect import Finding, detect_personal
from ticketkit.privacy._mask import (
    DEFAULT_PERSONAL,
    PersonalFields,
    customer_known,
    detect_under_key,
    known_findings,
    map_declared,
    merge_findings,
)

__all__ = [
    "ANONYMIZED",
    "ANONYMIZED_TAG",
    "REDACTED",
    "Erasure",
    "RedactSpan",
    "Redaction",
    "anonymize_ticket",
    "redact_ticket",
]

REDACTED: Final = "ticket.redacted"
"""The kind of the event `redact_ticket` makes: ``reason``, ``removed`` (path, kind, length)."""

ANONYMIZED: Final = "ticket.anonymized"
"""The kind of the event `anonymize_ticket` makes: ``reason``, ``removed`` (path, kind, length)."""

ANONYMIZED_TAG: Final = "anonymized"
"""The tag an anonymised ticket carries, so retention never anonymises it twice."""

PLACEHOLDER: Final = "[redacted]"

_TEXT_ATTRS: Final = ("subject", "description", "external_ref", "satisfaction_remark")
_CUSTOMER_ATTRS: Final = ("name", "email", "phone")
_PATH: Final = re.compile(r"[^.]+(?:\.[^.]+)*")


@attrs.frozen(kw_only=True)
class RedactSpan:
    """What to redact: a path, and optionally a character range of the text found there.

    Paths: ``subject``, ``description``, ``external_ref``, ``satisfaction_remark``,
    ``tags.<tag>``, ``fields.<dotted path>``, ``customer.name`` / ``.email`` /
    ``.phone``, ``customer.data.<dotted path>``, ``comment.<comment id>`` (its body) and
    ``event.<event id>.data.<dotted path>``. Without ``start``/``end`` the whole value
    goes.

    Examples:
        >>> RedactSpan(path="subject", start=5, end=16).path
        'subject'
    """

    path: str
    start: int | None = None
    end: int | None = None

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        path: object = self.path
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            problems.append(ErrorDetail("path", f"expected a dotted path such as 'subject', got {path!r}"))
        if (self.start is None) != (self.end is None):
            problems.append(ErrorDetail("end", "give both start and end, or neither"))
        elif self.start is not None and self.end is not None:
            ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (self.start, self.end))
            if not ok or not 0 <= self.start < self.end:
                problems.append(
                    ErrorDetail("start", f"expected 0 <= start < end, got {self.start!r}..{self.end!r}")
                )
        if problems:
            raise ValidationError(problems)


@attrs.frozen(kw_only=True)
class Redaction:
    """The result of `redact_ticket`: the rewritten ticket and events, and the event to append.

    ``removed`` describes each removed value as ``{"path", "kind", "length"}``.

    Examples:
        >>> Redaction.__name__
        'Redaction'
    """

    ticket: Ticket
    events: tuple[Event, ...]
    event: Event
    removed: tuple[Mapping[str, Any], ...]


@attrs.frozen(kw_only=True)
class Erasure:
    """The result of `anonymize_ticket`: the rewritten ticket and events, the event to append, and
    what changed (paths, kinds, lengths; never values).

    Examples:
        >>> Erasure.__name__
        'Erasure'
    """

    ticket: Ticket
    events: tuple[Event, ...]
    event: Event
    removed: tuple[Mapping[str, Any], ...]

    @property
    def changed(self) -> bool:
        """True when anything was removed."""
        return bool(self.removed)


def _kind_of(value: str) -> str:
    found = detect_personal(value)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(value.strip()):
        return found[0].kind
    return "text"


def _record(path: str, value: Any, kind: str | None = None) -> dict[str, Any]:
    text = value if isinstance(value, str) else str(value)
    return {"path": path, "kind": kind or _kind_of(text), "length": len(text)}


class _Scrubber:
    """Replaces every occurrence of the removed values in every string of a record."""

    def __init__(self, values: Iterable[str], replace: Callable[[str], str] | None = None) -> None:
        self.values = sorted({v for v in values if v}, key=len, reverse=True)
        self.replace = replace

    def text(self, text: str) -> str:
        for v in self.values:
            if v in text:
                text = text.replace(v, PLACEHOLDER)
        return self.replace(text) if self.replace is not None else text

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                key = self.text(k)
                while key in out:
                    key += "'"
                out[key] = self.json(v)
            return out
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool) and str(value) in self.values:
            return None
        return value

    def customer(self, customer: Customer) -> Customer:
        return replace_trusted(
            customer,
            id=self.text(customer.id),
            name=self.text(customer.name),
            email=None if customer.email is None else self.text(customer.email),
            phone=None if customer.phone is None else self.text(customer.phone),
            data=freeze(self.json(thaw(customer.data))),
        )

    def ticket(self, ticket: Ticket) -> Ticket:
        return replace_trusted(
            ticket,
            subject=self.text(ticket.subject),
            description=self.text(ticket.description),
            external_ref=None if ticket.external_ref is None else self.text(ticket.external_ref),
            satisfaction_remark=(
                None if ticket.satisfaction_remark is None else self.text(ticket.satisfaction_remark)
            ),
            tags=frozenset(self.text(t) for t in ticket.tags),
            fields=freeze(self.json(thaw(ticket.fields))),
            customer=None if ticket.customer is None else self.customer(ticket.customer),
            assignee=None if ticket.assignee is None else self.text(ticket.assignee),
        )

    def event(self, event: Event) -> Event:
        return replace_trusted(event, actor=self.text(event.actor), data=freeze(self.json(thaw(event.data))))


def _cut(text: str, span: RedactSpan, path: str) -> tuple[str, str]:
    """The text with the span replaced by the placeholder, and the removed piece."""
    if span.start is None or span.end is None:
        return PLACEHOLDER, text
    if span.end > len(text):
        raise ValidationError.one(
            path, f"span {span.start}..{span.end} is beyond the text ({len(text)} characters)"
        )
    return text[: span.start] + PLACEHOLDER + text[span.end :], text[span.start : span.end]


def _at_path(value: Any, path: Sequence[str], where: str) -> Any:
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            raise ValidationError.one(where, "no value at this path")
        value = value[part]
    return value


def _set_path(value: Any, path: Sequence[str], new: Any) -> Any:
    out = dict(value)
    out[path[0]] = new if len(path) == 1 else _set_path(value[path[0]], path[1:], new)
    return out


def _redact_json(
    container: Any, path: Sequence[str], span: RedactSpan, where: str
) -> tuple[Any, list[str], str]:
    """The container with the value at ``path`` redacted, the removed strings, and the
    removed value as text (for its kind and length)."""
    old = _at_path(container, path, where)
    if isinstance(old, str):
        new, removed = _cut(old, span, where)
        return _set_path(container, path, new), [removed], removed
    if span.start is not None:
        raise ValidationError.one(where, f"a span needs a text here, got {type(old).__name__}")
    strings: list[str] = []
    _strings(old, strings)
    return _set_path(container, path, None), strings, json.dumps(old, ensure_ascii=False)


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _strings(v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out.append(str(value))


def _check_at(at: object) -> None:
    problem = aware_problem(at)
    if problem:
        raise ValidationError.one("at", problem)


def redact_ticket(
    ticket: Ticket,
    events: Iterable[Event],
    spans: Iterable[RedactSpan | str],
    *,
    reason: str,
    actor: str,
    at: datetime,
) -> Redaction:
    """Remove the values at ``spans`` from ``ticket`` and from every copy of them in ``events``.

    Each span names a path (a plain string is a whole path) and optionally a character
    range. The removed text is replaced by ``[redacted]`` in the ticket, and every other
    occurrence of it in the ticket and its events (the subject copied into
    ``ticket.created``, a comment body, a field's old value in ``fields.changed``) is
    replaced too, so the value is gone from everything returned. The new ticket has the
    next version; the ``ticket.redacted`` event records each removal's path, kind and
    length, and the reason, never the value.

    Raises:
        ValidationError: for a path that names nothing, or a span outside its text.

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> t = Ticket(subject="Call 13812345678", id="T1", created_at=at)
        >>> r = redact_ticket(
        ...     t, [], [RedactSpan(path="subject", start=5, end=16)], reason="asked", actor="agent:li", at=at
        ... )
        >>> r.ticket.subject, r.event.data["removed"][0]["kind"], r.event.data["removed"][0]["length"]
        ('Call [redacted]', 'phone', 11)
    """
    _check_at(at)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError.one("reason", "say why the data is redacted (it is recorded)")
    event_list = list(events)
    by_id = {e.id: i for i, e in enumerate(event_list)}
    comment_index = _comment_index(event_list)
    removed: list[dict[str, Any]] = []
    values: list[str] = []
    new = ticket
    for item in spans:
        span = RedactSpan(path=item) if isinstance(item, str) else item
        if not isinstance(span, RedactSpan):
            raise ValidationError.one("spans", f"expected a RedactSpan or a path, got {item!r}")
        new, pieces, record = _apply_span(new, span, event_list, by_id, comment_index)
        values.extend(pieces)
        removed.append(record)
    scrub = _Scrubber(values)
    version = ticket.version + 1
    new = replace_trusted(scrub.ticket(new), version=version, updated_at=max(at, ticket.updated_at))
    out_events = tuple(scrub.event(e) for e in event_list)
    event = Event(
        ticket_id=ticket.id,
        kind=REDACTED,
        actor=scrub.text(actor),
        at=at,
        data={"reason": scrub.text(reason.strip()), "removed": removed},
        version=version,
        tenant=ticket.tenant,
    )
    return Redaction(ticket=new, events=out_events, event=event, removed=tuple(freeze(r) for r in removed))


def _apply_span(
    new: Ticket,
    span: RedactSpan,
    event_list: list[Event],
    by_id: Mapping[str, int],
    comment_index: Mapping[str, int],
) -> tuple[Ticket, list[str], dict[str, Any]]:
    """Remove one span from the ticket (or, in place, from ``event_list``): the new ticket,
    the removed strings and the record of the removal."""
    path = span.path
    head, _, rest = path.partition(".")
    if path in _TEXT_ATTRS:
        old = getattr(new, path)
        if old is None:
            raise ValidationError.one(path, "no value at this path")
        text, piece = _cut(old, span, path)
        whole = span.start is None
        value = (None if path in {"external_ref", "satisfaction_remark"} else PLACEHOLDER) if whole else text
        return replace_trusted(new, **{path: value}), [piece], _record(path, piece)
    if head == "tags" and rest:
        if rest not in new.tags:
            raise ValidationError.one(path, "no such tag")
        # the path would name the tag itself
        return replace_trusted(new, tags=new.tags - {rest}), [rest], _record("tags", rest)
    if head == "fields" and rest:
        fields, pieces, old = _redact_json(thaw(new.fields), rest.split("."), span, path)
        return replace_trusted(new, fields=freeze(fields)), pieces, _record(path, old)
    if head == "customer" and rest:
        new, pieces, old = _redact_customer(new, rest, span, path)
        return new, pieces, _record(path, old)
    if head == "comment" and rest in comment_index:
        i = comment_index[rest]
        data, pieces, old = _redact_json(thaw(event_list[i].data), ["comment", "body"], span, path)
        event_list[i] = replace_trusted(event_list[i], data=freeze(data))
        return new, pieces, _record(path, old)
    if head == "event" and rest:
        event_id, _, sub = rest.partition(".")
        if event_id not in by_id or not sub.startswith("data."):
            raise ValidationError.one(
                path, "expected event.<event id>.data.<path> of one of the ticket's events"
            )
        i = by_id[event_id]
        data, pieces, old = _redact_json(thaw(event_list[i].data), sub.split(".")[1:], span, path)
        event_list[i] = replace_trusted(event_list[i], data=freeze(data))
        return new, pieces, _record(path, old)
    raise ValidationError.one(
        path,
        "unknown path (expected subject, description, external_ref, satisfaction_remark, "
        "tags.<tag>, fields.<path>, customer.<name|email|phone|data.path>, comment.<id> "
        "or event.<id>.data.<path>)",
    )


def _comment_index(events: Sequence[Event]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, e in enumerate(events):
        comment = e.data.get("comment")
        if isinstance(comment, Mapping) and isinstance(comment.get("id"), str):
            index[comment["id"]] = i
    return index


def _redact_customer(ticket: Ticket, rest: str, span: RedactSpan, path: str) -> tuple[Ticket, list[str], str]:
    customer = ticket.customer
    if customer is None:
        raise ValidationError.one(path, "the ticket has no customer")
    if rest in _CUSTOMER_ATTRS:
        old = getattr(customer, rest)
        if not old:
            raise ValidationError.one(path, "no value at this path")
        text, piece = _cut(old, span, path)
        value: str | None = text if span.start is not None else ("" if rest == "name" else None)
        return replace_trusted(ticket, customer=replace_trusted(customer, **{rest: value})), [piece], piece
    head, _, sub = rest.partition(".")
    if head != "data" or not sub:
        raise ValidationError.one(
            path, "expected customer.name, customer.email, customer.phone or customer.data.<path>"
        )
    data, pieces, old = _redact_json(thaw(customer.data), sub.split("."), span, path)
    return replace_trusted(ticket, customer=replace_trusted(customer, data=freeze(data))), pieces, old


# --------------------------------------------------------------------------- anonymisation


def _anonymizer(known: Sequence[tuple[str, str]], region: str) -> Callable[[str, str | None], str]:
    def scrub(text: str, key: str | None = None) -> str:
        found = detect_under_key(text, key, region=region)
        if known:
            found = tuple(merge_findings(found, known_findings(text, known)))
        return _replace_findings(text, found)

    return scrub


def _replace_findings(text: str, findings: Sequence[Finding]) -> str:
    if not findings:
        return text
    out: list[str] = []
    pos = 0
    for f in findings:
        out.append(text[pos : f.start])
        out.append(f"[{f.kind}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def _drop_declared(
    ticket: Ticket, customer: Customer, personal: PersonalFields, removed: list[dict[str, Any]]
) -> tuple[Any, Any]:
    """The customer's data and the ticket's fields without the declared personal values,
    recording the customer's contact attributes and each dropped value in ``removed``."""
    for name in _CUSTOMER_ATTRS:
        value = getattr(customer, name)
        if value:
            removed.append(_record(f"customer.{name}", value, "name" if name == "name" else None))
    data: Any = thaw(customer.data)
    for path in personal.customer_data_paths:
        gone: list[Any] = []
        data = map_declared(data, path, gone.append)  # append returns None: the value goes
        removed.extend(
            _record("customer.data." + ".".join(path), v if isinstance(v, str) else json.dumps(v), "field")
            for v in gone
            if v is not None
        )
    fields: Any = thaw(ticket.fields)
    for path in personal.field_paths:
        old: list[Any] = []
        fields = map_declared(fields, path, old.append)  # append returns None: the value goes
        removed.extend(
            _record("fields." + ".".join(path), v if isinstance(v, str) else json.dumps(v), "field")
            for v in old
            if v is not None
        )
    return data, fields


class _Walker:
    """Anonymises every text of a ticket and its events, recording what changed."""

    def __init__(
        self,
        scrubber: Callable[[str, str | None], str],
        customer_id: str,
        pseudonym: str,
        removed: list[dict[str, Any]],
    ) -> None:
        self.scrubber = scrubber
        self.customer_id = customer_id
        self.pseudonym = pseudonym
        self.removed = removed

    def text(self, value: str, path: str, key: str | None = None) -> str:
        new = self.scrubber(value, key)
        if new != value:
            self.removed.append({"path": path, "kind": "text", "length": len(value)})
        return new

    def walk(self, value: Any, path: str, key: str | None = None) -> Any:
        if isinstance(value, str):
            return self.pseudonym if value == self.customer_id else self.text(value, path, key)
        if isinstance(value, Mapping):
            return {self.scrubber(k, None): self.walk(v, f"{path}.{k}", k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.walk(v, f"{path}[{i}]", key) for i, v in enumerate(value)]
        return value

    def rewrite(
        self, ticket: Ticket, event_list: Sequence[Event], data: Any, fields: Any, at: datetime
    ) -> tuple[Ticket, list[Event]]:
        customer = ticket.customer
        assert customer is not None  # checked by the caller
        text, walk, pseudonym = self.text, self.walk, self.pseudonym
        anon_customer = Customer(
            id=pseudonym, tier=customer.tier, tenant=customer.tenant, data=walk(data, "customer.data")
        )
        if customer.id != pseudonym:
            # The id alone can identify (a phone number, a WeChat openid): an erasure that
            # found nothing else still replaces it, and says so.
            self.removed.append(_record("customer.id", customer.id, "customer"))
        if ticket.external_ref is not None:
            self.removed.append(_record("external_ref", ticket.external_ref, "reference"))
        new = replace_trusted(
            ticket,
            subject=text(ticket.subject, "subject") or "[removed]",
            description=text(ticket.description, "description"),
            satisfaction_remark=(
                None
                if ticket.satisfaction_remark is None
                else text(ticket.satisfaction_remark, "satisfaction_remark")
            ),
            external_ref=None,
            tags=frozenset(text(t, "tags") for t in ticket.tags) | {ANONYMIZED_TAG},
            fields=freeze(walk(fields, "fields")),
            customer=anon_customer,
            version=ticket.version + 1,
            updated_at=max(at, ticket.updated_at),
        )
        actor_ref = f"customer:{customer.id}"
        out: list[Event] = []
        for e in event_list:
            ref = f"customer:{pseudonym}" if e.actor == actor_ref else text(e.actor, f"event.{e.id}.actor")
            out.append(replace_trusted(e, actor=ref, data=freeze(walk(thaw(e.data), f"event.{e.id}.data"))))
        return new, out


def anonymize_ticket(
    ticket: Ticket,
    events: Iterable[Event],
    *,
    customer_id: str,
    actor: str,
    at: datetime,
    pseudonym: str = "anonymous",
    reason: str = "erasure requested",
    personal: PersonalFields = DEFAULT_PERSONAL,
    region: str = "CN",
) -> Erasure:
    """Remove everything that identifies customer ``customer_id`` from a ticket and its events.

    The customer record keeps its tier, tenant and the data not declared personal (so a
    report by shop still counts the ticket), under the id ``pseudonym`` (the desk passes
    one random pseudonym per erasure, so a customer's tickets still count as one
    customer's); the customer's name, e-mail, phone, declared data and id go and are
    replaced wherever they appear, detected personal data in every text becomes
    ``[phone]``, ``[email]``, ... , declared personal custom fields become None, the
    external reference goes. Timestamps, statuses, priorities, categories, teams,
    assignees, SLA state, ratings and the number of events stay, so reports keep their
    counts and durations. A ticket of another customer comes back unchanged with no
    removals.

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> t = Ticket(
        ...     subject="王芳: call 13812345678",
        ...     customer=Customer(id="13812345678", name="王芳", tier="vip"),
        ...     created_at=at,
        ... )
        >>> e = anonymize_ticket(
        ...     t, [], customer_id="13812345678", actor="system:privacy", at=at, pseudonym="p-1"
        ... )
        >>> e.ticket.subject, e.ticket.customer.id, e.ticket.customer.tier
        ('[name]: call [phone]', 'p-1', 'vip')
    """
    _check_at(at)
    for name, value in (("customer_id", customer_id), ("pseudonym", pseudonym), ("actor", actor)):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError.one(name, f"expected a non-empty string, got {value!r}")
    event_list = list(events)
    customer = ticket.customer
    if customer is None or customer.id != customer_id:
        event = Event(
            ticket_id=ticket.id,
            kind=ANONYMIZED,
            actor=actor,
            at=at,
            version=ticket.version,
            tenant=ticket.tenant,
            data={"reason": reason, "removed": []},
        )
        return Erasure(ticket=ticket, events=tuple(event_list), event=event, removed=())
    removed: list[dict[str, Any]] = []
    known = customer_known(customer, personal)
    if len(customer.id) >= 4:  # a shorter id would match inside unrelated words
        known.append((customer.id, "customer"))
    if ticket.external_ref is not None and len(ticket.external_ref) >= 4:
        known.append((ticket.external_ref, "reference"))
    data, fields = _drop_declared(ticket, customer, personal, removed)
    scrubber = _anonymizer(sorted(set(known), key=lambda vk: -len(vk[0])), region)

    walker = _Walker(scrubber, customer.id, pseudonym, removed)
    new, out = walker.rewrite(ticket, event_list, data, fields, at)
    event = Event(
        ticket_id=ticket.id,
        kind=ANONYMIZED,
        actor=actor,
        at=at,
        data={"reason": reason, "removed": removed},
        version=new.version,
        tenant=ticket.tenant,
    )
    return Erasure(ticket=new, events=tuple(out), event=event, removed=tuple(freeze(r) for r in removed))
