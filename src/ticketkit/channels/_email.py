"""The e-mail channel: raw RFC 5322 bytes to an ``InboundMessage`` (stdlib ``email``)."""

from __future__ import annotations

import base64
import binascii
import email
import email.utils
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.message import Message
from typing import Any

import attrs

from ticketkit.channels._blob import BlobStore
from ticketkit.channels._decode import decode_bytes, decode_header, repair_8bit
from ticketkit.channels._message import Attachment, Automatic, InboundMessage, MessageLimits, Sender
from ticketkit.channels._text import html_to_text, strip_quoted
from ticketkit.errors import ValidationError

__all__ = ["parse_email"]

DEFAULT_LIMITS = MessageLimits()

# Headers kept on the message: threading, loop detection and the sending software.
KEPT_HEADERS = (
    "Message-ID",
    "In-Reply-To",
    "References",
    "Thread-Index",
    "Thread-Topic",
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "Precedence",
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "Return-Path",
    "X-Failed-Recipients",
    "X-Mailer",
    "User-Agent",
)
_KEPT = {h.lower() for h in KEPT_HEADERS}

_MSGID = re.compile(r"<([^<>\s]{1,994})>")
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|maildelivery)@?", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery (status notification|failure|has failed)|"
    r"mail delivery (failed|system)|"
    r"failure notice|delivery failed|could not be delivered|退信|投递失败|未能送达|无法投递|發送失敗|退回",
    re.I,
)
# Out-of-office subjects: a weak signal, used only when no header says anything.
_OOO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|vacation|away from|abwesend|"
    r"r[ée]ponse automatique|自动回复|自動回覆|自动答复|休假|外出|不在办公室|假期)|"
    r"(out of (the )?office|自动回复|自動回覆|休假中|不在办公室)",
    re.I,
)


def _first_raw(msg: Message) -> dict[str, str]:
    """Each header's first raw value, by lower-case name (one pass over the headers)."""
    first: dict[str, str] = {}
    for k, v in msg.raw_items():
        if isinstance(v, str):
            first.setdefault(k.lower(), v)
    return first


def _header_text(msg: Message | dict[str, str], name: str) -> str | None:
    raw = (msg if isinstance(msg, dict) else _first_raw(msg)).get(name.lower())
    if raw is None:
        return None
    return re.sub(r"\s+", " ", decode_header(raw)).strip()


def _msg_ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MSGID.findall(value)
    if found:
        return found
    # Brackets dropped by broken mailers: take the bare tokens that look like ids.
    return [t for t in re.split(r"[\s,]+", value) if "@" in t and len(t) <= 994]


def _sent_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" (offset unknown) parses naive: RFC 5322 says it is UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _addresses(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    pairs = email.utils.getaddresses([repair_8bit(value)])
    out = []
    for name, addr in pairs:
        if addr.strip():
            out.append((decode_header(name).strip(), addr.strip()))
    return out


def _conversation(thread_index: str | None) -> str | None:
    # Outlook's Thread-Index: 22 bytes that name the conversation, then 5 per reply.
    if not thread_index:
        return None
    try:
        raw = base64.b64decode(thread_index.strip() + "==", validate=False)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 22:
        return None
    return "thread-index:" + raw[:22].hex()


class _Body:
    """What a walk over the MIME tree collects."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.html: list[str] = []
        self.forwarded: list[str] = []
        self.attachments: list[tuple[Attachment, bytes]] = []
        self.dsn: list[str] = []
        self.report: str | None = None
        self.original_ids: list[str] = []  # Message-IDs of the mail a report is about


class _Walker:
    def __init__(self, limits: MessageLimits) -> None:
        self.limits = limits
        self.parts = 0

    def walk(self, part: Message, body: _Body, depth: int) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise ValidationError.one(
                "", f"more than {self.limits.max_parts} MIME parts; refusing the message"
            )
        if depth > self.limits.max_depth:
            raise ValidationError.one("", f"MIME parts nested deeper than {self.limits.max_depth}; refusing")
        ctype = part.get_content_type()
        payload = part.get_payload()
        # message/* parts hold parsed messages or header blocks: not a multipart to descend.
        if ctype == "message/rfc822":
            self._forwarded(part, body, depth)
            return
        if ctype == "message/delivery-status":
            body.dsn.append(self._delivery_status(part))
            return
        if ctype.startswith("message/") and ctype not in {"message/partial", "message/external-body"}:
            return  # other reports (read receipts, feedback): the report type says enough
        if part.is_multipart() and isinstance(payload, list):
            if ctype == "multipart/alternative":
                self._alternative(payload, body, depth)
            else:
                if ctype == "multipart/report":
                    body.report = str(part.get_param("report-type") or "").lower()
                for child in payload:
                    if isinstance(child, Message):
                        self.walk(child, body, depth + 1)
            return
        disposition = part.get_content_disposition()
        filename = self._filename(part)
        if ctype == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            headers = decode_bytes(data if isinstance(data, bytes) else b"", "utf-8")
            found = re.search(r"^message-id:\s*(.+)$", headers, re.I | re.M)
            if found:
                body.original_ids.extend(_msg_ids(found.group(1)))
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and filename is None:
            data = part.get_payload(decode=True)
            text = decode_bytes(data if isinstance(data, bytes) else b"", part.get_content_charset())
            (body.text if ctype == "text/plain" else body.html).append(text)
            return
        self._attachment(part, body, ctype, filename, disposition)

    def _alternative(self, children: list[Any], body: _Body, depth: int) -> None:
        found = []
        for child in children:
            if isinstance(child, Message):
                sub = _Body()
                self.walk(child, sub, depth + 1)
                found.append(sub)
        plain = next((b for b in found if b.text), None)
        html = next((b for b in reversed(found) if b.html), None)
        if plain is not None:
            body.text.extend(plain.text)
        if html is not None:
            body.html.extend(html.html)
        for sub in found:
            body.attachments.extend(sub.attachments)
            body.original_ids.extend(sub.original_ids)
            body.forwarded.extend(sub.forwarded)
            body.dsn.extend(sub.dsn)

    def _filename(self, part: Message) -> str | None:
        try:
            name = part.get_filename()
        except (ValueError, TypeError, LookupError, AttributeError, IndexError):
            name = None
        if name is None:
            name = part.get_param("name")  # type: ignore[assignment]
            if not isinstance(name, str):
                return None
        name = decode_header(str(name)) if "=?" in str(name) else repair_8bit(str(name))
        name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
        return name[:255] or None

    def _attachment(
        self, part: Message, body: _Body, ctype: str, filename: str | None, disposition: str | None
    ) -> None:
        if len(body.attachments) >= self.limits.max_attachments:
            raise ValidationError.one("attachments", f"more than {self.limits.max_attachments} attachments")
        data = part.get_payload(decode=True)
        content = data if isinstance(data, bytes) else b""
        cid = part.get("Content-ID")
        content_id = None
        if cid is not None:
            content_id = str(cid).strip().strip("<>").strip()[:998] or None
        inline = disposition == "inline" or (disposition is None and content_id is not None)
        name = filename or f"attachment.{ctype.split('/', 1)[-1]}"
        attachment = Attachment(
            name=name,
            content_type=ctype,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            inline=inline,
            content_id=content_id,
        )
        body.attachments.append((attachment, content))

    def _forwarded(self, part: Message, body: _Body, depth: int) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            self._attachment(part, body, "message/rfc822", self._filename(part), "attachment")
            return
        sub = _Body()
        self.walk(inner, sub, depth + 1)
        subject = _header_text(inner, "Subject") or ""
        head = [
            f"{name}: {value}"
            for name in ("From", "Date", "Subject", "To")
            if (value := _header_text(inner, name))
        ]
        text = "\n\n".join(
            [
                ("\n\n".join(sub.text) or html_to_text("\n".join(sub.html)[: self.limits.max_text_chars])),
                *sub.forwarded,
            ]
        )
        body.forwarded.append("---------- Forwarded message ----------\n" + "\n".join(head) + "\n\n" + text)
        content = inner.as_bytes(policy=policy.compat32.clone(linesep="\r\n"))
        name = (
            self._filename(part)
            or (re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", subject)[:200] or "forwarded") + ".eml"
        )
        if len(body.attachments) >= self.limits.max_attachments:
            raise ValidationError.one("attachments", f"more than {self.limits.max_attachments} attachments")
        body.attachments.append(
            (
                Attachment(
                    name=name,
                    content_type="message/rfc822",
                    size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                ),
                content,
            )
        )

    def _delivery_status(self, part: Message) -> str:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n\n".join(
                "\n".join(f"{k}: {v}" for k, v in block.raw_items())
                for block in payload
                if isinstance(block, Message)
            )
        data = part.get_payload(decode=True)
        return decode_bytes(data, "utf-8") if isinstance(data, bytes) else str(payload)


def _failed_recipients(dsn: str) -> list[str]:
    out: list[str] = []
    for block in re.split(r"\n\s*\n", dsn):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        action = fields.get("action", "").lower()
        status = fields.get("status", "")
        recipient = fields.get("final-recipient") or fields.get("original-recipient")
        if recipient and (action == "failed" or (not action and status.startswith("5"))):
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            if address and address not in out:
                out.append(address)
    return out


def _bounce_text_recipients(text: str, exclude: set[str]) -> list[str]:
    out: list[str] = []
    for m in _ADDRESS.finditer(text):
        address = m.group(1).lower()
        if address not in exclude and not _DAEMON.match(address) and address not in out:
            out.append(address)
    return out[:10]


def _automatic(
    heads: dict[str, str], body: _Body, sender: str, subject: str, text: str
) -> tuple[Automatic | None, tuple[str, ...]]:
    def header(name: str) -> str | None:
        return _header_text(heads, name)

    if body.report == "delivery-status" or body.dsn:
        return (
            Automatic(reason="bounce", evidence="multipart/report; report-type=delivery-status"),
            tuple(_failed_recipients("\n\n".join(body.dsn))),
        )
    if failed := header("X-Failed-Recipients"):
        return Automatic(reason="bounce", evidence=f"X-Failed-Recipients: {failed}"[:2000]), tuple(
            a.lower() for a in _ADDRESS.findall(failed)
        )
    if _DAEMON.match(sender) and _BOUNCE_SUBJECT.search(subject):
        return (
            Automatic(reason="bounce", evidence=f"from {sender} with subject {subject!r}"[:2000]),
            tuple(_bounce_text_recipients(text, {sender})),
        )
    if body.report == "disposition-notification":
        return Automatic(
            reason="auto-generated", evidence="multipart/report; report-type=disposition-notification"
        ), ()
    auto = header("Auto-Submitted")
    if auto and auto.split(";", 1)[0].strip().lower() != "no":
        reason = "auto-reply" if auto.lower().startswith("auto-replied") else "auto-generated"
        return Automatic(reason=reason, evidence=f"Auto-Submitted: {auto}"[:2000]), ()
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoreply-From", "X-Mail-Autoreply"):
        if (value := header(name)) is not None:
            return Automatic(reason="auto-reply", evidence=f"{name}: {value}"[:2000]), ()
    if suppress := header("X-Auto-Response-Suppress"):
        return Automatic(reason="auto-generated", evidence=f"X-Auto-Response-Suppress: {suppress}"[:2000]), ()
    precedence = (header("Precedence") or "").lower()
    if precedence in {"bulk", "junk"}:
        return Automatic(reason="bulk", evidence=f"Precedence: {precedence}"), ()
    if precedence == "list":
        return Automatic(reason="list", evidence="Precedence: list"), ()
    if precedence == "auto_reply":
        return Automatic(reason="auto-reply", evidence="Precedence: auto_reply"), ()
    for name in ("List-Id", "List-Post"):
        if value := header(name):
            return Automatic(reason="list", evidence=f"{name}: {value}"[:2000]), ()
    if value := header("List-Unsubscribe"):
        return Automatic(reason="bulk", evidence=f"List-Unsubscribe: {value}"[:2000]), ()
    return_path = header("Return-Path")
    if return_path is not None and return_path.replace(" ", "") == "<>":
        return Automatic(reason="auto-generated", evidence="Return-Path: <> (null sender)"), ()
    if _DAEMON.match(sender):
        return Automatic(reason="auto-generated", evidence=f"from {sender}"), ()
    if _OOO_SUBJECT.search(subject):
        return Automatic(reason="auto-reply", evidence=f"subject {subject!r}"[:2000], weak=True), ()
    return None, ()


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text[:limit], True) if len(text) > limit else (text, False)


def parse_email(
    raw: bytes,
    *,
    limits: MessageLimits = DEFAULT_LIMITS,
    blobs: BlobStore | None = None,
) -> InboundMessage:
    """An ``InboundMessage`` from the raw bytes of one e-mail (RFC 5322, MIME).

    Reads multipart and forwarded (``message/rfc822``) mail, makes text from HTML-only
    mail, decodes every charset Chinese mail uses (GB2312 and GBK as GB18030, Big5 as
    Big5-HKSCS, UTF-8, broken RFC 2047 headers), strips the quoted earlier messages into
    ``new_text`` (``text`` keeps everything), lists attachments and inline images, and
    says whether a machine wrote it (``automatic``: RFC 3834, the ``X-Auto*`` headers,
    ``Precedence``, list headers, a null return path, delivery reports and bounces, with
    the failed recipients in ``bounced``; an out-of-office subject alone is a weak sign).
    With ``blobs``, attachment bytes are stored and each ``storage_key`` set.

    Raises:
        ValidationError: the only error, for input over ``limits``, without a sender, or
            beyond repair; any bytes at all give either a message or this.

    Examples:
        >>> raw = (
        ...     b"From: =?GBK?B?wO7OsA==?= <LiWei@example.cn>\\r\\n"
        ...     b"To: support@shop.example\\r\\n"
        ...     b"Subject: =?GBK?B?UmU6IFsjVDFdILH5z+Syu9bGwOQ=?=\\r\\n"
        ...     b"Message-ID: <r2@example.cn>\\r\\nIn-Reply-To: <n1@shop.example>\\r\\n"
        ...     b"Date: Mon, 3 Mar 2025 10:00:00 +0800\\r\\n"
        ...     b"Content-Type: text/plain; charset=gb2312\\r\\n\\r\\n"
        ...     + "还是不制冷\\r\\n\\r\\n> 您好，请问……\\r\\n".encode("gbk")
        ... )
        >>> m = parse_email(raw)
        >>> m.sender.value, m.sender.name, m.subject, m.new_text, m.in_reply_to
        ('liwei@example.cn', '李伟', 'Re: [#T1] 冰箱不制冷', '还是不制冷', 'n1@shop.example')
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValidationError.one("", f"expected the raw message as bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if len(data) > limits.max_raw_bytes:
        raise ValidationError.one(
            "", f"the message is {len(data)} bytes; the limit is {limits.max_raw_bytes}"
        )
    try:
        return _parse(data, limits, blobs)
    except ValidationError:
        raise
    except (
        ValueError,
        TypeError,
        LookupError,
        AttributeError,
        AssertionError,
        RecursionError,
        UnicodeError,
    ) as exc:
        # The stdlib parser has many small failure modes on hostile input; all mean "unreadable".
        raise ValidationError.one("", f"unreadable message ({type(exc).__name__}: {exc})"[:500]) from None


def _parse(data: bytes, limits: MessageLimits, blobs: BlobStore | None) -> InboundMessage:
    # compat32, not policy.default: every header is decoded from its raw value by our own
    # tolerant decoder (GBK in GB2312 words, split characters, raw 8-bit), so the modern
    # policy's header objects would be parsed only to be thrown away, and that parsing was
    # 60% of the time (3x slower end to end on the corpus) and raises on broken headers.
    msg = email.message_from_bytes(data, policy=policy.compat32)
    heads = _first_raw(msg)
    senders = _addresses(_header_text_raw(heads, "From")) or _addresses(_header_text_raw(heads, "Sender"))
    if not senders:
        return_path = _addresses(_header_text_raw(heads, "Return-Path"))
        senders = [(n, a) for n, a in return_path if a.strip("<> ")]
    if not senders:
        raise ValidationError.one(
            "From", "the message has no sender address (no From, Sender or Return-Path)"
        )
    name, address = senders[0]
    address = address.strip().strip("<>").strip()[:320] or "unknown"
    body = _Body()
    _Walker(limits).walk(msg, body, 0)
    html_raw = "\n".join(body.html) if body.html else None
    own_text = (
        "\n\n".join(t.strip("\r\n") for t in body.text)
        if body.text
        else html_to_text((html_raw or "")[: limits.max_text_chars])  # the HTML parser is slow: cut first
    )
    full = "\n\n".join([own_text, *body.forwarded]) if body.forwarded else own_text
    full = full.replace("\r\n", "\n")
    text, cut_text = _cut(full, limits.max_text_chars)
    new_text = strip_quoted(own_text[: limits.max_text_chars])
    html, cut_html = _cut(html_raw, limits.max_text_chars) if html_raw is not None else (None, False)
    subject_full = _header_text(heads, "Subject") or ""
    subject, cut_subject = _cut(subject_full, limits.max_subject_chars)
    message_ids = _msg_ids(_header_text(heads, "Message-ID"))
    message_id = (
        message_ids[0] if message_ids else f"sha256-{hashlib.sha256(data).hexdigest()}@ticketkit.invalid"
    )
    # A delivery report names the mail it is about: treat it as the message it answers.
    replied = _msg_ids(_header_text(heads, "In-Reply-To")) or body.original_ids
    references = list(dict.fromkeys(_msg_ids(_header_text(heads, "References"))))[-limits.max_references :]
    automatic, bounced = _automatic(heads, body, address.lower(), subject_full, full)
    recipients = [
        a.lower()[:320] for field in ("To", "Cc") for _, a in _addresses(_header_text_raw(heads, field))
    ]
    attachments = [
        attrs.evolve(found, storage_key=blobs.put(content)) if blobs is not None else found
        for found, content in body.attachments
    ]
    headers = tuple(
        (k, re.sub(r"\s+", " ", decode_header(v)).strip()[:998])
        for k, v in msg.raw_items()
        if k.lower() in _KEPT and isinstance(v, str)
    )
    return InboundMessage(
        channel="email",
        message_id=message_id,
        sender=Sender(kind="email", value=address, name=name[:320] or None),
        subject=subject,
        text=text,
        new_text=new_text,
        html=html,
        conversation_id=_conversation(_header_text(heads, "Thread-Index")),
        in_reply_to=replied[0] if replied else None,
        references=tuple(references),
        recipients=tuple(dict.fromkeys(recipients)),
        attachments=tuple(attachments),
        sent_at=_sent_at(_header_text(heads, "Date")),
        automatic=automatic,
        bounced=bounced,
        truncated=cut_text or cut_html or cut_subject,
        headers=headers,
        data={"report": body.report} if body.report else {},
    )


def _header_text_raw(heads: dict[str, str], name: str) -> str | None:
    """The raw header (encoded words left in) for address parsing: names may hold commas."""
    raw = heads.get(name.lower())
    return None if raw is None else re.sub(r"\r?\n[ \t]", " ", raw).strip()
