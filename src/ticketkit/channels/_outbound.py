"""Outbound e-mail headers that make replies thread back, and the ticket token in subjects."""

from __future__ import annotations

import re
from typing import Any

import attrs

from ticketkit.channels._message import InboundMessage, _Problems
from ticketkit.errors import ValidationError

__all__ = [
    "OutboundHeaders",
    "TicketToken",
    "email_message_id",
    "email_reply_headers",
    "ticket_from_message_id",
]

_ID_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$"
)
_SAFE_PART = re.compile(r"^[A-Za-z0-9_-]+$")
AUTO_SUBMITTED = ("auto-replied", "auto-generated")
MAX_REFERENCES = 20


@attrs.frozen(kw_only=True)
class TicketToken:
    """The ticket id written into subjects (``[#T1]`` by default), and finding it again.

    ``pattern`` holds ``{id}`` once, with fixed text around it (``[#{id}]``,
    ``【工单 {id}】``, ``(Case {id})``). Ids found are 1-64 characters of letters, digits,
    ``_`` and ``-``.

    Examples:
        >>> token = TicketToken()
        >>> token.add("Re: 冰箱不制冷", "T1")
        '[#T1] Re: 冰箱不制冷'
        >>> token.find("Re: Re: [#T1] 冰箱不制冷 [#T9]")
        ('T1', 'T9')
        >>> TicketToken(pattern="【工单 {id}】").find("回复：【工单 A-7】")
        ('A-7',)
    """

    pattern: str = "[#{id}]"
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("pattern", self.pattern, empty=False, limit=50)
        if isinstance(self.pattern, str) and self.pattern.count("{id}") != 1:
            p.add("pattern", f"must hold '{{id}}' exactly once, e.g. '[#{{id}}]', got {self.pattern!r}")
        elif isinstance(self.pattern, str) and (
            "{" in self.pattern.replace("{id}", "") or "}" in self.pattern.replace("{id}", "")
        ):
            p.add("pattern", f"may hold no braces other than '{{id}}', got {self.pattern!r}")
        elif isinstance(self.pattern, str) and self.pattern.strip() == "{id}":
            p.add("pattern", "needs fixed text around '{id}' or any word in a subject would match")
        p.raise_if_any()
        before, after = self.pattern.split("{id}")
        regex = re.compile(re.escape(before) + r"([A-Za-z0-9][A-Za-z0-9_-]{0,63})" + re.escape(after))
        object.__setattr__(self, "_regex", regex)

    def format(self, ticket_id: str) -> str:
        """The token for ``ticket_id``; ``ValidationError`` for an id a subject cannot carry.

        Examples:
            >>> TicketToken().format("T1")
            '[#T1]'
        """
        if not isinstance(ticket_id, str) or not _ID_CHARS.match(ticket_id):
            raise ValidationError.one(
                "ticket_id", f"a subject token carries 1-64 letters, digits, '_' or '-'; got {ticket_id!r}"
            )
        return self.pattern.replace("{id}", ticket_id)

    def find(self, subject: str) -> tuple[str, ...]:
        """Every ticket id in ``subject``, first to last, each once."""
        return tuple(dict.fromkeys(self._regex.findall(subject)))

    def add(self, subject: str, ticket_id: str) -> str:
        """``subject`` with the token for ``ticket_id`` in front, unless it is already there."""
        token = self.format(ticket_id)
        return subject if ticket_id in self.find(subject) else f"{token} {subject}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """The plain form: ``{"pattern": ...}``."""
        return {"pattern": self.pattern}

    @classmethod
    def from_dict(cls, data: Any) -> TicketToken:
        """Build a token from its plain form."""
        if not isinstance(data, dict) or set(data) - {"pattern"}:
            raise ValidationError.one("", f"expected an object with only 'pattern', got {data!r}")
        return cls(**data)


def _part(value: str, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError.one(path, f"expected a non-empty string, got {value!r}")
    # Ids with other characters are hex-encoded behind '=' (never in a safe id), so they round-trip.
    return value if _SAFE_PART.match(value) else "=" + value.encode("utf-8").hex()


def _unpart(value: str) -> str | None:
    if not value.startswith("="):
        return value if _SAFE_PART.match(value) else None
    try:
        return bytes.fromhex(value[1:]).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _check_domain(domain: str) -> None:
    if not isinstance(domain, str) or len(domain) > 253 or not _DOMAIN.match(domain):
        raise ValidationError.one(
            "domain", f"expected a domain name such as 'support.example.com', got {domain!r}"
        )


def email_message_id(*, ticket_id: str, notification_id: str, domain: str) -> str:
    """A stable ``Message-ID`` (without brackets) for one notification on one ticket.

    The same notification always gets the same id, so a resend after a crash is the same
    message to the receiving server, and `ticket_from_message_id` reads the ticket back.

    Examples:
        >>> email_message_id(ticket_id="T1", notification_id="N7", domain="shop.example")
        'tk.T1.N7@shop.example'
    """
    _check_domain(domain)
    return f"tk.{_part(ticket_id, 'ticket_id')}.{_part(notification_id, 'notification_id')}@{domain}"


def ticket_from_message_id(message_id: str, domain: str) -> str | None:
    """The ticket id inside a ``Message-ID`` this library made for ``domain``, else None.

    A reply's ``In-Reply-To`` and ``References`` name such ids, so a desk threads a
    reply even when it kept no record of the messages it sent.

    Examples:
        >>> ticket_from_message_id("<tk.T1.N7@shop.example>", "shop.example")
        'T1'
        >>> ticket_from_message_id("tk.T1.N7@evil.example", "shop.example") is None
        True
    """
    value = message_id.strip().strip("<>")
    local, sep, host = value.rpartition("@")
    if not sep or host.lower() != domain.lower():
        return None
    parts = local.split(".")
    if len(parts) != 3 or parts[0] != "tk":
        return None
    return _unpart(parts[1])


@attrs.frozen(kw_only=True)
class OutboundHeaders:
    """The headers of one outgoing e-mail that keep it threaded and loop-safe.

    Examples:
        >>> h = email_reply_headers(
        ...     ticket_id="T1", notification_id="N7", domain="shop.example", subject="收到"
        ... )
        >>> dict(h.items())["Message-ID"], h.subject
        ('<tk.T1.N7@shop.example>', '[#T1] 收到')
    """

    message_id: str
    subject: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """The headers as (name, value) pairs, ready for ``EmailMessage.__setitem__``."""
        out = [("Message-ID", f"<{self.message_id}>"), ("Subject", self.subject)]
        if self.in_reply_to:
            out.append(("In-Reply-To", f"<{self.in_reply_to}>"))
        if self.references:
            out.append(("References", " ".join(f"<{r}>" for r in self.references)))
        if self.auto_submitted:
            out.append(("Auto-Submitted", self.auto_submitted))
            # Ask Exchange and Outlook not to answer with their own out-of-office replies.
            out.append(("X-Auto-Response-Suppress", "All"))
        return out


def email_reply_headers(
    *,
    ticket_id: str,
    notification_id: str,
    domain: str,
    subject: str,
    replying_to: InboundMessage | None = None,
    automatic: str | None = None,
    token: TicketToken | None = None,
) -> OutboundHeaders:
    """Headers for a message the desk sends about ``ticket_id`` (a reply or a notice).

    ``Message-ID`` is stable (see `email_message_id`); when ``replying_to`` is an e-mail,
    ``In-Reply-To`` names it and ``References`` carries its chain (the first and the last
    19 ids, as RFC 5322 suggests trimming). ``automatic`` is ``auto-replied`` for an
    automatic answer to a message (an acknowledgement) or ``auto-generated`` for other
    machine-made mail (SLA notices); it sets ``Auto-Submitted`` and
    ``X-Auto-Response-Suppress: All`` so other machines do not answer. The subject gets
    the ticket token.

    Examples:
        >>> h = email_reply_headers(
        ...     ticket_id="T1",
        ...     notification_id="ack",
        ...     domain="shop.example",
        ...     subject="Re: 退款",
        ...     automatic="auto-replied",
        ... )
        >>> [name for name, _ in h.items()]
        ['Message-ID', 'Subject', 'Auto-Submitted', 'X-Auto-Response-Suppress']
    """
    if automatic is not None and automatic not in AUTO_SUBMITTED:
        raise ValidationError.one(
            "automatic", f"expected 'auto-replied', 'auto-generated' or None, got {automatic!r}"
        )
    message_id = email_message_id(ticket_id=ticket_id, notification_id=notification_id, domain=domain)
    in_reply_to = None
    references: tuple[str, ...] = ()
    if replying_to is not None and replying_to.channel == "email":
        in_reply_to = replying_to.message_id
        chain = list(dict.fromkeys([*replying_to.references, replying_to.message_id]))
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        references = tuple(chain)
    subject_line = (token or TicketToken()).add(" ".join(subject.split()), ticket_id)
    return OutboundHeaders(
        message_id=message_id,
        subject=subject_line,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=automatic,
    )
