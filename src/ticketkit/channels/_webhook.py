"""A generic JSON webhook channel (app feedback, chatbots) with an HMAC-SHA256 signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ticketkit.channels._message import InboundMessage, MessageLimits
from ticketkit.errors import ErrorDetail, ValidationError

__all__ = ["parse_webhook", "sign_webhook", "verify_webhook_signature"]

WEBHOOK_KEYS = frozenset(
    {
        "id", "channel", "sender", "conversation_id", "in_reply_to", "subject", "text", "new_text",
        "html", "sent_at", "automatic", "attachments", "data",
    }
)  # fmt: skip
_RENAMED = {"id": "message_id"}


def parse_webhook(
    body: bytes | str | Mapping[str, Any], *, channel: str = "webhook", limits: MessageLimits | None = None
) -> InboundMessage:
    """An ``InboundMessage`` from one JSON webhook delivery (the shape in the reference docs).

    The object needs ``id`` (the sending system's message id) and ``sender``
    (``{"kind": "app_user", "value": "u-42", "name": "王芳"}``); ``channel`` (default:
    the argument), ``conversation_id``, ``in_reply_to``, ``subject``, ``text``,
    ``new_text`` (default: ``text``), ``html``, ``sent_at`` (ISO 8601 with offset),
    ``automatic`` (``{"reason": "bulk", "evidence": "..."}``), ``attachments`` (already
    stored: name, content_type, size, sha256, storage_key) and ``data`` are optional;
    unknown keys are refused. Text longer than ``limits.max_text_chars`` is cut.

    Raises:
        ValidationError: for bad JSON or a bad shape, every problem with its path.

    Examples:
        >>> m = parse_webhook(
        ...     '{"id": "fb-1", "sender": {"kind": "app_user", "value": "u-42"}, "text": "闪退了"}'
        ... )
        >>> m.channel, m.message_id, m.new_text
        ('webhook', 'fb-1', '闪退了')
    """
    limits = limits or MessageLimits()
    if isinstance(body, bytes | bytearray | str):
        if len(body) > limits.max_raw_bytes:
            raise ValidationError.one(
                "", f"the body is {len(body)} bytes; the limit is {limits.max_raw_bytes}"
            )
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ValidationError.one("", f"not valid JSON: {exc}"[:500]) from None
    else:
        data = body
    if not isinstance(data, Mapping):
        raise ValidationError.one("", f"expected a JSON object, got {type(data).__name__}")
    if _too_deep(data, limits.max_depth):
        raise ValidationError.one("", f"the JSON is nested deeper than {limits.max_depth} levels; refused")
    unknown = sorted(str(k) for k in data if k not in WEBHOOK_KEYS)
    if unknown:
        raise ValidationError([ErrorDetail(k, f"unknown key {k!r}; check its spelling") for k in unknown])
    if "id" not in data:
        raise ValidationError.one("id", "required field is missing")
    fields = {_RENAMED.get(k, k): v for k, v in data.items()}
    fields.setdefault("channel", channel)
    truncated = False
    for name in ("text", "new_text", "html"):
        value = fields.get(name)
        if isinstance(value, str) and len(value) > limits.max_text_chars:
            fields[name] = value[: limits.max_text_chars]
            truncated = True
    if "new_text" not in fields and isinstance(fields.get("text"), str):
        fields["new_text"] = fields["text"]
    if truncated:
        fields["truncated"] = True
    try:
        return InboundMessage.from_dict(fields)
    except ValidationError as err:
        raise ValidationError(
            [ErrorDetail("id" if e.path == "message_id" else e.path, e.message) for e in err.errors]
        ) from None


def _too_deep(value: object, limit: int) -> bool:
    # Iterative, so hostile nesting cannot exhaust the stack before it is refused.
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _digest(body: bytes, secret: bytes | str, timestamp: int) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign_webhook(body: bytes, secret: bytes | str, *, timestamp: int) -> str:
    """The signature header value for ``body``: ``t=<unix seconds>,v1=<hex HMAC-SHA256>``.

    The HMAC covers the timestamp, a dot and the raw body, so an old delivery cannot be
    replayed with a new time.

    Examples:
        >>> sign_webhook(b"{}", "s3cret", timestamp=1700000000)[:13]
        't=1700000000,'
    """
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def verify_webhook_signature(
    body: bytes,
    header: str,
    secret: bytes | str,
    *,
    at: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` from ``at``.

    Compares in constant time; any malformed header is simply False.

    Examples:
        >>> from datetime import datetime, timezone
        >>> header = sign_webhook(b"{}", "s3cret", timestamp=1700000000)
        >>> now = datetime.fromtimestamp(1700000060, timezone.utc)
        >>> (
        ...     verify_webhook_signature(b"{}", header, "s3cret", at=now),
        ...     verify_webhook_signature(b"{ }", header, "s3cret", at=now),
        ... )
        (True, False)
    """
    given: tuple[object, object] = (header, body)  # a missing HTTP header arrives as None
    if not isinstance(given[0], str) or not isinstance(given[1], bytes | bytearray):
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(at.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(_digest(bytes(body), secret, timestamp), parts.get("v1", ""))
