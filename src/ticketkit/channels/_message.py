"""The values a channel produces: ``InboundMessage``, ``Sender``, ``Attachment``,
``Automatic``, the parsers' ``MessageLimits`` and what ``Helpdesk.receive`` returns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._attachment import Attachment
from ticketkit.model._json import EMPTY, freeze, json_problems
from ticketkit.model._serialization import _details, make_converter

__all__ = [
    "Attachment",
    "Automatic",
    "InboundMessage",
    "MessageLimits",
    "ReceiveOutcome",
    "Sender",
]

T = TypeVar("T")

SENDER_KINDS: Final = frozenset({"email", "phone", "wechat_openid", "wecom_userid", "app_user", "other"})
"""The kinds of sender identity a channel can give."""

AUTOMATIC_REASONS: Final = frozenset({"auto-reply", "auto-generated", "bounce", "list", "bulk", "event"})
"""Why a message counts as automatic (never a person writing)."""

RECEIVE_ACTIONS: Final = frozenset({"opened", "threaded", "followup", "duplicate", "ignored"})
"""What ``Helpdesk.receive`` did with a message."""

THREAD_RULES: Final = ("conversation", "references", "in-reply-to", "subject-token")
"""The threading rules, in the order they are tried."""

_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class _Problems:
    """Collects problems during validation, then raises them all together."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[ErrorDetail] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(ErrorDetail(path, message))

    def text(self, path: str, value: object, *, empty: bool = True, limit: int | None = None) -> None:
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {value!r}")
        elif not empty and not value.strip():
            self.add(path, "must not be empty")
        elif limit is not None and len(value) > limit:
            self.add(path, f"is {len(value)} characters long; the limit is {limit}")

    def optional_text(self, path: str, value: object, *, limit: int | None = None) -> None:
        if value is not None:
            self.text(path, value, empty=False, limit=limit)

    def texts(self, path: str, value: object) -> None:
        if not isinstance(value, tuple):
            self.add(path, f"expected a tuple of strings, got {value!r}")
            return
        for i, item in enumerate(value):
            self.text(f"{path}[{i}]", item, empty=False)

    def boolean(self, path: str, value: object) -> None:
        if not isinstance(value, bool):
            self.add(path, f"expected true or false, got {value!r}")

    def count(self, path: str, value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.add(path, f"expected a whole number >= 0, got {value!r}")

    def moment(self, path: str, value: object) -> None:
        if not isinstance(value, datetime):
            self.add(path, f"expected a timezone-aware datetime, got {value!r}")
        elif value.tzinfo is None or value.utcoffset() is None:
            self.add(path, f"naive datetime {value.isoformat()!r}: give it a time zone")

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _pairs(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(tuple(h) if isinstance(h, list | tuple) else h for h in value)
    return value


def _frozen(value: Any) -> Any:
    return freeze(value) if isinstance(value, Mapping) else value


@attrs.frozen(kw_only=True)
class Sender:
    """Who sent a message: an identity of one ``kind`` and its ``value``, plus a display name.

    Kinds: ``email`` (the address, lower-cased), ``phone``, ``wechat_openid`` (an official
    account's follower), ``wecom_userid`` (a WeCom member), ``app_user`` (your app's user id)
    and ``other``. The customer directory resolves identities to one customer.

    Examples:
        >>> Sender(kind="email", value="Li.Wei@Example.COM", name="李伟").value
        'li.wei@example.com'
    """

    kind: str
    value: str
    name: str | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        if self.kind not in SENDER_KINDS:
            p.add(
                "kind",
                f"unknown sender kind {self.kind!r} (expected one of: {', '.join(sorted(SENDER_KINDS))})",
            )
        p.text("value", self.value, empty=False, limit=320)
        p.optional_text("name", self.name, limit=320)
        p.raise_if_any()
        if self.kind == "email" and self.value != self.value.strip().lower():
            object.__setattr__(self, "value", self.value.strip().lower())


@attrs.frozen(kw_only=True)
class Automatic:
    """Why a message was written by a machine, not a person.

    ``reason`` is one of ``auto-reply`` (out of office, vacation), ``auto-generated``
    (notifications, RFC 3834 ``auto-generated``, a null return path), ``bounce`` (a
    delivery failure report), ``list`` (mailing-list traffic), ``bulk`` (newsletters,
    ``Precedence: bulk``) and ``event`` (a channel event such as a WeChat subscribe).
    ``evidence`` names what gave it away; ``weak`` is True when only a guess from the
    subject line says so.

    Examples:
        >>> Automatic(reason="auto-reply", evidence="Auto-Submitted: auto-replied").weak
        False
    """

    reason: str
    evidence: str
    weak: bool = False

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        if self.reason not in AUTOMATIC_REASONS:
            p.add(
                "reason",
                f"unknown reason {self.reason!r} (expected one of: {', '.join(sorted(AUTOMATIC_REASONS))})",
            )
        p.text("evidence", self.evidence, empty=False, limit=2000)
        p.boolean("weak", self.weak)
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class MessageLimits:
    """How much a parser accepts from one raw message; more is refused or cut.

    Defaults: 25 MiB of raw input (``max_raw_bytes``, larger is a ``ValidationError``),
    1,000,000 characters of text or HTML body (longer is cut and the message marked
    ``truncated``), 100 attachments, 1,000 MIME parts and 20 levels of nesting of MIME
    parts or webhook JSON (more is a ``ValidationError``), 200 references (the newest are
    kept) and 2,000 characters of subject (cut).

    Examples:
        >>> MessageLimits(max_raw_bytes=1024).max_attachments
        100
        >>> MessageLimits.from_dict(MessageLimits().to_dict()) == MessageLimits()
        True
    """

    max_raw_bytes: int = 25 * 1024 * 1024
    max_text_chars: int = 1_000_000
    max_subject_chars: int = 2000
    max_attachments: int = 100
    max_parts: int = 1000
    max_depth: int = 20
    max_references: int = 200

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        for field in attrs.fields(MessageLimits):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                p.add(field.name, f"expected a whole number >= 1, got {value!r}")
        p.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        """The plain form (every limit by name)."""
        return _unstructure(self)

    @classmethod
    def from_dict(cls, data: Any) -> MessageLimits:
        """Build limits from their plain form; missing keys keep their defaults."""
        return _structure(data, cls)


@attrs.frozen(kw_only=True)
class InboundMessage:
    """One message as a channel delivered it, ready for ``Helpdesk.receive``.

    ``channel`` names the channel (``email``, ``wechat``, ``wecom``, ``webhook``, ...)
    and ``message_id`` is the channel's own id for the message: together they make
    the message unique. ``conversation_id`` is the channel's thread (a WeChat chat, an
    Outlook ``Thread-Index`` conversation), ``in_reply_to`` and ``references`` the
    message ids this one answers (e-mail). ``text`` is the whole plain-text body (made
    from the HTML when there is none), ``new_text`` the part the sender wrote now, with
    the quoted earlier messages removed. ``automatic`` says why a machine wrote it, or
    None. ``bounced`` lists the addresses a delivery failure report says failed.
    ``headers`` keeps the raw headers of interest (threading, loop detection), ``data``
    channel details as JSON values (a WeChat location, an event key).

    Examples:
        >>> from datetime import datetime, timezone
        >>> m = InboundMessage(
        ...     channel="email",
        ...     message_id="abc@mail.example.com",
        ...     sender=Sender(kind="email", value="li@example.com"),
        ...     subject="Re: [#T1] 冰箱不制冷",
        ...     text="Still broken.\\n\\n> earlier",
        ...     new_text="Still broken.",
        ...     sent_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc),
        ... )
        >>> InboundMessage.from_dict(m.to_dict()) == m, bool(m.automatic)
        (True, False)
    """

    channel: str
    message_id: str
    sender: Sender
    subject: str = ""
    text: str = ""
    new_text: str = ""
    html: str | None = None
    conversation_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_tuple)
    sent_at: datetime | None = None
    automatic: Automatic | None = None
    bounced: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    truncated: bool = False
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    data: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_frozen, hash=False)

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        # Typed as declared, but built from anything: check what actually arrived.
        v: dict[str, object] = {f.name: getattr(self, f.name) for f in attrs.fields(InboundMessage)}
        if not isinstance(v["channel"], str) or not _CHANNEL.match(v["channel"]):
            p.add(
                "channel",
                f"expected a lower-case channel name such as 'email' or 'wechat', got {v['channel']!r}",
            )
        p.text("message_id", self.message_id, empty=False, limit=998)
        if not isinstance(v["sender"], Sender):
            p.add("sender", f"expected a Sender, got {v['sender']!r}")
        p.text("subject", self.subject)
        p.text("text", self.text)
        p.text("new_text", self.new_text)
        p.optional_text("html", self.html)
        p.optional_text("conversation_id", self.conversation_id, limit=998)
        p.optional_text("in_reply_to", self.in_reply_to, limit=998)
        p.texts("references", self.references)
        p.texts("recipients", self.recipients)
        if not isinstance(v["attachments"], tuple):
            p.add("attachments", f"expected a tuple of Attachment, got {v['attachments']!r}")
        else:
            for i, a in enumerate(v["attachments"]):
                if not isinstance(a, Attachment):
                    p.add(f"attachments[{i}]", f"expected an Attachment, got {a!r}")
        if v["sent_at"] is not None:
            p.moment("sent_at", v["sent_at"])
        if v["automatic"] is not None and not isinstance(v["automatic"], Automatic):
            p.add("automatic", f"expected an Automatic or None, got {v['automatic']!r}")
        p.texts("bounced", self.bounced)
        p.boolean("truncated", self.truncated)
        headers = v["headers"]
        if not isinstance(headers, tuple) or not all(
            isinstance(h, tuple) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in headers
        ):
            p.add("headers", f"expected (name, value) pairs of strings, got {v['headers']!r}")
        if not isinstance(v["data"], Mapping):
            p.add("data", f"expected a JSON object, got {v['data']!r}")
        else:
            p.items.extend(json_problems(v["data"], "data"))
        p.raise_if_any()

    def header(self, name: str) -> str | None:
        """The first kept raw header called ``name`` (any case), or None.

        Examples:
            >>> m = InboundMessage(
            ...     channel="email",
            ...     message_id="x@y",
            ...     sender=Sender(kind="email", value="a@b"),
            ...     headers=(("Auto-Submitted", "auto-replied"),),
            ... )
            >>> m.header("auto-submitted")
            'auto-replied'
        """
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def to_dict(self) -> dict[str, Any]:
        """The plain, JSON-ready form (datetimes as ISO 8601 with offset)."""
        return _unstructure(self)

    @classmethod
    def from_dict(cls, data: Any) -> InboundMessage:
        """Build a message from its plain form; every problem is listed with its path."""
        return _structure(data, cls)


@attrs.frozen(kw_only=True)
class ReceiveOutcome:
    """What ``Helpdesk.receive`` did with a message, and why.

    ``action`` is ``opened`` (a new ticket), ``threaded`` (added to ``ticket_id``),
    ``followup`` (a new ticket linked to the closed ``parent_id``), ``duplicate`` (the
    same channel and message id came before; nothing changed) or ``ignored`` (for
    ``reason``: an automatic message, a rate-limited sender, a bounce). ``rule`` is the
    threading rule that matched (``conversation``, ``references``, ``in-reply-to``,
    ``subject-token``) or None.

    Examples:
        >>> o = ReceiveOutcome(action="threaded", ticket_id="T1", rule="references", reason="reply to <a@b>")
        >>> ReceiveOutcome.from_dict(o.to_dict()) == o
        True
    """

    action: str
    reason: str
    ticket_id: str | None = None
    rule: str | None = None
    parent_id: str | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        if self.action not in RECEIVE_ACTIONS:
            p.add(
                "action",
                f"unknown action {self.action!r} (expected one of: {', '.join(sorted(RECEIVE_ACTIONS))})",
            )
        p.text("reason", self.reason, empty=False)
        p.optional_text("ticket_id", self.ticket_id)
        if self.rule is not None and self.rule not in THREAD_RULES:
            p.add("rule", f"unknown rule {self.rule!r} (expected one of: {', '.join(THREAD_RULES)})")
        p.optional_text("parent_id", self.parent_id)
        if self.action in {"opened", "threaded", "followup"} and self.ticket_id is None:
            p.add("ticket_id", f"an {self.action!r} outcome names its ticket")
        if self.action == "followup" and self.parent_id is None:
            p.add("parent_id", "a follow-up names the closed ticket it follows")
        p.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        """The plain, JSON-ready form."""
        return _unstructure(self)

    @classmethod
    def from_dict(cls, data: Any) -> ReceiveOutcome:
        """Build an outcome from its plain form."""
        return _structure(data, cls)


# One converter for the channel values, made by the project's function; the shared one
# is left alone. Tuples refuse a bare string, which cattrs would split into characters.
def _structure_str_tuple(value: object, _: type) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError.one("", f"expected a list of strings, got {value!r}")
    problems = [
        ErrorDetail(f"[{i}]", f"expected a string, got {v!r}")
        for i, v in enumerate(value)
        if not isinstance(v, str)
    ]
    if problems:
        raise ValidationError(problems)
    return tuple(value)


def _structure_headers(value: object, _: type) -> tuple[tuple[str, str], ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError.one("", f"expected a list of [name, value] pairs, got {value!r}")
    out: list[tuple[str, str]] = []
    problems: list[ErrorDetail] = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            problems.append(ErrorDetail(f"[{i}]", f"expected a [name, value] pair of strings, got {pair!r}"))
        else:
            out.append((pair[0], pair[1]))
    if problems:
        raise ValidationError(problems)
    return tuple(out)


def _make_converter() -> cattrs.Converter:
    conv = make_converter()
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_str_tuple)
    conv.register_structure_hook_func(lambda t: t == tuple[tuple[str, str], ...], _structure_headers)
    conv.register_unstructure_hook_func(
        lambda t: t == tuple[tuple[str, str], ...], lambda pairs: [list(pair) for pair in pairs]
    )
    return conv


_converter = _make_converter()


def _unstructure(value: object) -> dict[str, Any]:
    result: dict[str, Any] = _converter.unstructure(value)
    return result


def _structure(data: Any, cls: type[T]) -> T:
    if not isinstance(data, Mapping):
        raise ValidationError.one("", f"expected an object for {cls.__name__}, got {data!r}")
    try:
        return _converter.structure(data, cls)
    except (BaseValidationError, ForbiddenExtraKeysError) as exc:
        details = _details(exc, "")
        details.sort(key=lambda e: e.path)
        raise ValidationError(details) from None
