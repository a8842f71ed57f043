"""Masking personal data for display: in text, and in tickets, events, comments and customers
as a whole.

A masked value keeps a recognisable shape (``138****5678``, ``w***@example.com``,
``110101********1234``, ``王*``) so that staff can tell records apart and a customer can
confirm "the number ending 5678", but the value itself cannot be read back. Masking is
for reads; it changes nothing stored. Erasure and redaction live in ``_redact``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from ticketkit.errors import ErrorDetail, ValidationError, install_message_masker
from ticketkit.model import _events as ev
from ticketkit.model._json import FrozenDict, freeze
from ticketkit.model._models import Comment, Customer, Event, Ticket, replace_trusted
from ticketkit.privacy._detect import (
    BANK_CARD,
    EMAIL,
    ID_NUMBER,
    PASSPORT,
    PHONE,
    Finding,
    detect_personal,
)

__all__ = [
    "PersonalFields",
    "mask_comment",
    "mask_customer",
    "mask_event",
    "mask_personal",
    "mask_ticket",
]

NAME: Final = "name"
FIELD: Final = "field"

_CUSTOMER_ATTRS: Final = frozenset({"name", "email", "phone"})
# Identifiers ticketkit makes (26 characters of Crockford's base 32) are never masked:
# they carry no personal data and the links between records depend on them.
_TICKETKIT_ID: Final = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


# --------------------------------------------------------------------------- one value


def _star_digits(text: str, keep: Callable[[int, int], bool]) -> str:
    n = sum(c.isdigit() for c in text)
    out: list[str] = []
    seen = -1
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if keep(seen, n) else "*")
        else:
            out.append(c)
    return "".join(out)


def _mask_phone(text: str) -> str:
    # Hide the four digits before the last four (the middle of a mobile number).
    return _star_digits(text, lambda i, n: not max(0, n - 8) <= i < n - 4)


def _mask_email(text: str) -> str:
    at = max(text.find("@"), text.find("＠"))
    return f"{text[0]}***{text[at:]}" if at > 0 else mask_words(text)


def _mask_id_number(text: str) -> str:
    return text[:6] + "*" * (len(text) - 10) + text[-4:] if len(text) > 10 else mask_words(text)


def _mask_card(text: str) -> str:
    return _star_digits(text, lambda i, n: i < 4 or i >= n - 4)


def _mask_passport(text: str) -> str:
    return text[0] + "*" * (len(text) - 3) + text[-2:] if len(text) > 3 else mask_words(text)


def mask_words(text: str) -> str:
    """The first character of each word kept, the rest as ``*`` (for names, addresses)."""
    out: list[str] = []
    first = True
    for c in text:
        if c.isspace() or c in ",，.。-·":
            out.append(c)
            first = True
        elif first:
            out.append(c)
            first = False
        else:
            out.append("*")
    return "".join(out)


_MASKERS: Final[dict[str, Callable[[str], str]]] = {
    PHONE: _mask_phone,
    EMAIL: _mask_email,
    ID_NUMBER: _mask_id_number,
    BANK_CARD: _mask_card,
    PASSPORT: _mask_passport,
    NAME: mask_words,
    FIELD: mask_words,
}


def mask_span(text: str, kind: str) -> str:
    """``text`` (one piece of personal data of ``kind``) in its masked shape."""
    return _MASKERS.get(kind, mask_words)(text)


def apply_masks(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding (sorted, not overlapping) replaced by its masked shape."""
    out: list[str] = []
    pos = 0
    for f in findings:
        out.append(text[pos : f.start])
        out.append(mask_span(text[f.start : f.end], f.kind))
        pos = f.end
    if pos == 0:
        return text
    out.append(text[pos:])
    return "".join(out)


def detect_under_key(text: str, key: str | None, *, region: str = "CN") -> tuple[Finding, ...]:
    """`detect_personal` on a JSON value, its key read as the label in front of it.

    ``{"phone": "6234 5678"}`` is a local phone number, ``{"amount": "13812345678"}`` is not.
    """
    if not key:
        return detect_personal(text, region=region)
    shift = len(key) + 2
    found = detect_personal(f"{key}: {text}", region=region)
    return tuple(Finding(f.start - shift, f.end - shift, f.kind) for f in found if f.start >= shift)


def _class(c: str) -> str:
    if c.isascii() and c.isalpha():
        return "a"
    if c.isascii() and c.isdigit():
        return "0"
    return ""


def known_findings(text: str, known: Iterable[tuple[str, str]]) -> list[Finding]:
    """Where the known values (``(value, kind)`` pairs) occur verbatim in ``text``.

    A value that starts or ends with a Latin letter (or a digit) is not matched inside a
    longer word (or number): the name "Li" is not in "Lily"; Chinese text has no such
    boundaries, so "王芳" is found in "我是王芳".
    """
    found: list[Finding] = []
    for value, kind in known:
        start = text.find(value)
        if start < 0:
            continue
        first, last = _class(value[0]), _class(value[-1])
        while start >= 0:
            end = start + len(value)
            inside = (first and start > 0 and _class(text[start - 1]) == first) or (
                last and end < len(text) and _class(text[end]) == last
            )
            if not inside:
                found.append(Finding(start, end, kind))
            start = text.find(value, end if not inside else start + 1)
    return found


def merge_findings(*groups: Iterable[Finding]) -> list[Finding]:
    """The findings of all groups, sorted, overlaps resolved in favour of the longer."""
    found = sorted((f for g in groups for f in g), key=lambda f: (f.start, -f.length))
    kept: list[Finding] = []
    for f in found:
        if kept and f.start < kept[-1].end:
            continue
        kept.append(f)
    return kept


def mask_personal(text: str, *, region: str = "CN") -> str:
    """``text`` with phone numbers, e-mail addresses, identity, card and passport numbers masked.

    Enough is kept to tell records apart: the first letter of an address, the first three
    and last four digits of a mobile number, the region and the last four characters of
    an identity number, the first and last four digits of a card. Amounts, dates, order
    and serial numbers stay as they are (see `detect_personal`).

    Examples:
        >>> mask_personal("Call 13812345678 or mail wang.fang@example.com")
        'Call 138****5678 or mail w***@example.com'
        >>> mask_personal("ID 110101199003071234")
        'ID 110101********1234'
        >>> mask_personal("电话13812345678，SN 1234 5678")
        '电话138****5678，SN 1234 5678'
    """
    checked: object = text
    if not isinstance(checked, str):
        return text  # not text (a caller's None or number): nothing to mask
    return apply_masks(checked, detect_personal(checked, region=region))


# --------------------------------------------------------------------------- configuration


def _to_paths(value: Any) -> Any:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return value
    return frozenset(value)


def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


@attrs.frozen(kw_only=True)
class PersonalFields:
    """What the integrator declares personal beyond what detection finds in text.

    ``customer`` names `Customer` attributes (``name``, ``email``, ``phone``) and keys of
    ``Customer.data`` as ``data.<key>`` (dotted for nested keys); ``fields`` names
    ticket custom fields by dotted path (``contact.phone``, ``patient.name``); a path
    reaches through lists. A declared value is masked as a whole, whatever it holds.
    By default the customer's name, e-mail and phone are personal.

    Examples:
        >>> p = PersonalFields(customer={"name", "data.patient_no"}, fields={"contact.address"})
        >>> PersonalFields.from_dict(p.to_dict()) == p
        True
        >>> sorted(PersonalFields().customer)
        ['email', 'name', 'phone']
    """

    customer: frozenset[str] = attrs.field(default=_CUSTOMER_ATTRS, converter=_to_paths)
    fields: frozenset[str] = attrs.field(default=frozenset(), converter=_to_paths)

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        for attr in ("customer", "fields"):
            value: object = getattr(self, attr)
            if not isinstance(value, frozenset) or not all(isinstance(p, str) for p in value):
                problems.append(ErrorDetail(attr, f"expected a list of dotted paths, got {value!r}"))
                continue
            problems.extend(
                ErrorDetail(attr, f"{path!r} is not a dotted path such as 'contact.phone'")
                for path in sorted(value)
                if not path or any(not part for part in _split(path))
            )
        if isinstance(self.customer, frozenset):
            problems.extend(
                ErrorDetail(
                    "customer", f"unknown customer path {path!r} (expected name, email, phone or data.<key>)"
                )
                for path in sorted(p for p in self.customer if isinstance(p, str))
                if path not in _CUSTOMER_ATTRS and not path.startswith("data.")
            )
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_dict(cls, data: Any) -> PersonalFields:
        """Build from ``{"customer": [...], "fields": [...]}`` (both optional).

        Examples:
            >>> sorted(PersonalFields.from_dict({"fields": ["contact.phone"]}).fields)
            ['contact.phone']
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one("", f"expected an object with 'customer' and 'fields', got {data!r}")
        unknown = sorted(set(data) - {"customer", "fields"}, key=str)
        problems = [ErrorDetail(str(k), f"unknown key {k!r}; check its spelling") for k in unknown]
        kwargs: dict[str, Any] = {}
        for key in ("customer", "fields"):
            if key in data:
                value = data[key]
                if isinstance(value, str) or not isinstance(value, list | tuple):
                    problems.append(ErrorDetail(key, f"expected a list of dotted paths, got {value!r}"))
                else:
                    kwargs[key] = value
        if problems:
            raise ValidationError(problems)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The data form: both lists, sorted."""
        return {"customer": sorted(self.customer), "fields": sorted(self.fields)}

    @property
    def customer_data_paths(self) -> tuple[tuple[str, ...], ...]:
        """The declared paths inside ``Customer.data``, split."""
        return tuple(_split(p)[1:] for p in sorted(self.customer) if p.startswith("data."))

    @property
    def field_paths(self) -> tuple[tuple[str, ...], ...]:
        """The declared custom-field paths, split."""
        return tuple(_split(p) for p in sorted(self.fields))


DEFAULT_PERSONAL: Final = PersonalFields()


# --------------------------------------------------------------------------- values as a whole


def mask_whole(value: Any) -> Any:
    """A declared personal value masked whatever it is: text keeps its first letters,
    other scalars become ``"***"``, containers are masked inside; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return mask_words(value)
    if isinstance(value, Mapping):
        return {k: mask_whole(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_whole(v) for v in value]
    return "***"


def map_declared(value: Any, path: tuple[str, ...], fn: Callable[[Any], Any]) -> Any:
    """``value`` with ``fn`` applied at ``path`` (dotted keys; lists are reached through)."""
    if isinstance(value, list | tuple):
        return [map_declared(v, path, fn) for v in value]
    if not path:
        return fn(value)
    if not isinstance(value, Mapping) or path[0] not in value:
        return value
    out = dict(value)
    out[path[0]] = map_declared(value[path[0]], path[1:], fn)
    return out


class Masker:
    """Masks the strings of one ticket's records: detected data plus known values.

    ``known`` are values the masker knows are personal wherever they appear (the
    customer's name, e-mail and phone), as ``(value, kind)`` pairs.
    """

    __slots__ = ("data_paths", "field_paths", "known", "personal", "region")

    def __init__(
        self,
        *,
        personal: PersonalFields = DEFAULT_PERSONAL,
        known: Iterable[tuple[str, str]] = (),
        region: str = "CN",
    ) -> None:
        self.personal = personal
        self.region = region
        self.data_paths = personal.customer_data_paths
        self.field_paths = personal.field_paths
        # Longest first, so "Wang Fang" is masked before "Wang".
        self.known = tuple(sorted({(v, k) for v, k in known if len(v) >= 2}, key=lambda vk: -len(vk[0])))

    @classmethod
    def for_customer(
        cls, customer: Customer | None, *, personal: PersonalFields = DEFAULT_PERSONAL, region: str = "CN"
    ) -> Masker:
        """A masker that also knows the customer's declared name, e-mail and phone."""
        return cls(personal=personal, known=customer_known(customer, personal), region=region)

    def text(self, text: str, key: str | None = None) -> str:
        """``text`` masked (``key``: the JSON key it stands under, read as a label)."""
        if _TICKETKIT_ID.fullmatch(text):
            return text
        found = detect_under_key(text, key, region=self.region)
        if self.known:
            return apply_masks(text, merge_findings(found, known_findings(text, self.known)))
        return apply_masks(text, found)

    def opt(self, text: str | None) -> str | None:
        """``text`` masked, None kept."""
        return None if text is None else self.text(text)

    def json(self, value: Any, key: str | None = None) -> Any:
        """Every string and every key of a JSON value masked (keys kept apart when they collide)."""
        if isinstance(value, str):
            return self.text(value, key)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                masked = self.text(k)
                n = 2
                while masked in out:
                    masked = f"{self.text(k)} ({n})"
                    n += 1
                out[masked] = self.json(v, k)
            return out
        if isinstance(value, list | tuple):
            return [self.json(v, key) for v in value]
        return value

    def fields(self, fields: Mapping[str, Any]) -> FrozenDict:
        """Custom fields: declared paths masked as a whole, then the rest by detection."""
        value: Any = fields
        for path in self.field_paths:
            value = map_declared(value, path, mask_whole)
        return _freeze(self.json(value))

    def customer(self, customer: Customer) -> Customer:
        """A customer record masked (id, declared attributes and data, detected data)."""
        declared = self.personal.customer
        data: Any = customer.data
        for path in self.data_paths:
            data = map_declared(data, path, mask_whole)

        def attr(name: str, value: str | None) -> str | None:
            if value is None:
                return None
            return mask_span(value, _ATTR_KIND[name]) if name in declared and value else self.text(value)

        return replace_trusted(
            customer,
            id=self.text(customer.id),
            name=attr("name", customer.name) or "",
            email=attr("email", customer.email),
            phone=attr("phone", customer.phone),
            data=_freeze(self.json(data)),
        )

    def ticket(self, ticket: Ticket) -> Ticket:
        """A ticket masked everywhere personal data can hide."""
        return replace_trusted(
            ticket,
            subject=self.text(ticket.subject),
            description=self.text(ticket.description),
            customer=self.customer(ticket.customer) if ticket.customer is not None else None,
            assignee=self.opt(ticket.assignee),
            tags=frozenset(self.text(t) for t in ticket.tags),
            fields=self.fields(ticket.fields),
            external_ref=self.opt(ticket.external_ref),
            satisfaction_remark=self.opt(ticket.satisfaction_remark),
        )

    def event(self, event: Event) -> Event:
        """An event masked: its actor and every string and key of its data."""
        data: Any = event.data
        if event.kind == ev.FIELDS_CHANGED and self.field_paths:
            data = self._declared_changes(data)
        return replace_trusted(event, actor=self.text(event.actor), data=_freeze(self.json(data)))

    def _declared_changes(self, data: Mapping[str, Any]) -> Any:
        changes = data.get("changes")
        if not isinstance(changes, Mapping):
            return data
        out = dict(changes)
        for path in self.field_paths:
            change = out.get(path[0])
            if isinstance(change, Mapping):
                out[path[0]] = {
                    k: map_declared(v, path[1:], mask_whole) if k in {"from", "to"} else v
                    for k, v in change.items()
                }
        return {**data, "changes": out}

    def comment(self, comment: Comment) -> Comment:
        """A comment masked: its author and body."""
        return replace_trusted(comment, author=self.text(comment.author), body=self.text(comment.body))


_ATTR_KIND: Final = {"name": NAME, "email": EMAIL, "phone": PHONE}


def _freeze(value: Any) -> FrozenDict:
    frozen: FrozenDict = freeze(value)
    return frozen


def customer_known(
    customer: Customer | None, personal: PersonalFields = DEFAULT_PERSONAL
) -> list[tuple[str, str]]:
    """The customer's declared personal values, as ``(value, kind)`` pairs to look for in text."""
    if customer is None:
        return []
    known: list[tuple[str, str]] = []
    for name in sorted(personal.customer & _CUSTOMER_ATTRS):
        value = getattr(customer, name)
        if isinstance(value, str) and value.strip():
            known.append((value.strip(), _ATTR_KIND[name]))
    for path in personal.customer_data_paths:
        _collect_strings(customer.data, path, known)
    return known


def _collect_strings(value: Any, path: tuple[str, ...], out: list[tuple[str, str]]) -> None:
    if isinstance(value, list | tuple):
        for v in value:
            _collect_strings(v, path, out)
    elif path:
        if isinstance(value, Mapping) and path[0] in value:
            _collect_strings(value[path[0]], path[1:], out)
    elif isinstance(value, str) and value.strip():
        out.append((value.strip(), FIELD))
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect_strings(v, (), out)
    elif isinstance(value, int | float) and not isinstance(value, bool) and len(str(value)) >= 4:
        out.append((str(value), FIELD))


# --------------------------------------------------------------------------- public functions


def mask_ticket(ticket: Ticket, *, personal: PersonalFields = DEFAULT_PERSONAL, region: str = "CN") -> Ticket:
    """A copy of ``ticket`` with personal data masked everywhere it can hide.

    Detected data (phones, e-mails, identity, card and passport numbers) in the subject,
    description, tags, external reference, satisfaction remark, custom fields (values and
    keys) and customer record (id, data); the customer's declared attributes as a whole
    (name, e-mail, phone by default) and wherever they appear in the ticket's text; the
    custom fields and customer data the integrator declared in ``personal``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Customer
        >>> t = Ticket(
        ...     subject="Callback to 13812345678",
        ...     customer=Customer(id="c-1", email="wang@example.com", phone="+86 13812345678"),
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> m = mask_ticket(t)
        >>> m.subject, m.customer.email, m.customer.phone
        ('Callback to 138****5678', 'w***@example.com', '+86 138****5678')
    """
    return Masker.for_customer(ticket.customer, personal=personal, region=region).ticket(ticket)


def mask_event(
    event: Event,
    *,
    customer: Customer | None = None,
    personal: PersonalFields = DEFAULT_PERSONAL,
    region: str = "CN",
) -> Event:
    """A copy of ``event`` with its actor and data masked (comments and transcripts included).

    Pass the ticket's ``customer`` so their name is masked wherever it appears.

    Examples:
        >>> from datetime import datetime, timezone
        >>> e = Event(
        ...     ticket_id="T1",
        ...     kind="comment.added",
        ...     actor="customer:13812345678",
        ...     at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ...     data={"comment": {"body": "我是王芳, 电话13812345678"}},
        ... )
        >>> m = mask_event(e, customer=Customer(id="13812345678", name="王芳"))
        >>> m.actor, m.data["comment"]["body"]
        ('customer:138****5678', '我是王*, 电话138****5678')
    """
    return Masker.for_customer(customer, personal=personal, region=region).event(event)


def mask_comment(
    comment: Comment,
    *,
    customer: Customer | None = None,
    personal: PersonalFields = DEFAULT_PERSONAL,
    region: str = "CN",
) -> Comment:
    """A copy of ``comment`` with its author and body masked.

    Examples:
        >>> from datetime import datetime, timezone
        >>> c = Comment(
        ...     ticket_id="T1",
        ...     author="13812345678",
        ...     body="mail me: wang@example.com",
        ...     at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ...     author_kind="customer",
        ... )
        >>> m = mask_comment(c)
        >>> m.author, m.body
        ('138****5678', 'mail me: w***@example.com')
    """
    return Masker.for_customer(customer, personal=personal, region=region).comment(comment)


def mask_customer(
    customer: Customer, *, personal: PersonalFields = DEFAULT_PERSONAL, region: str = "CN"
) -> Customer:
    """A copy of ``customer`` with its id, declared attributes and data masked.

    Examples:
        >>> c = mask_customer(Customer(id="c-1", name="Wang Fang", phone="13812345678"))
        >>> c.name, c.phone
        ('W*** F***', '138****5678')
    """
    return Masker.for_customer(customer, personal=personal, region=region).customer(customer)


_DIGIT: Final = re.compile(r"\d")


def _mask_message(text: str) -> str:
    # Most messages hold no '@' and fewer than six digits: they pass after two cheap checks.
    if "@" not in text and "＠" not in text and len(_DIGIT.findall(text)) < 6:
        return text
    return mask_personal(text)


install_message_masker(_mask_message)
