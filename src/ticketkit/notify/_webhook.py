"""A webhook notifier signed per the Standard Webhooks scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from ticketkit.errors import TicketkitError, ValidationError
from ticketkit.model._clock import Clock, as_now
from ticketkit.model._serialization import to_dict
from ticketkit.notify._notify import Notification, Notifier


class WebhookError(TicketkitError):
    """A webhook delivery failed (network error, timeout, or a non-2xx answer); the outbox retries it.

    Examples:
        >>> str(WebhookError("https://hooks.example/x", "HTTP 503"))
        "webhook to 'https://hooks.example/x' failed: HTTP 503"
    """

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(url, detail)
        self.url = url
        self.detail = detail

    def __str__(self) -> str:
        return f"webhook to {self.url!r} failed: {self.detail}"


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: a ``whsec_<base64>`` secret decoded, other text as UTF-8, bytes as they are."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except ValueError:
            raise ValidationError.one("secret", "a 'whsec_' secret must be base64 after the prefix") from None
    return secret.encode("utf-8")


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


class WebhookNotifier(Notifier):
    """POSTs each notification as JSON, signed per Standard Webhooks.

    Headers: ``webhook-id`` (the notification's id: the idempotency key a receiver
    keeps), ``webhook-timestamp`` (Unix seconds from ``clock``) and
    ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``). A
    network error, a timeout (``timeout`` seconds) or an answer other than 2xx raises
    `WebhookError`, so the outbox tries again later with backoff. The body is
    ``{"type": kind, "timestamp": ..., "data": {...}}`` with the ticket in its data form.

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> hook = WebhookNotifier("https://example.invalid/hook", "whsec_c2VjcmV0", clock=lambda: at)
        >>> body = b'{"type":"x"}'
        >>> sig = hook.signature("n-1", 1740960000, body)
        >>> (
        ...     sig.startswith("v1,"),
        ...     WebhookNotifier.verify(
        ...         body,
        ...         {"webhook-id": "n-1", "webhook-timestamp": "1740960000", "webhook-signature": sig},
        ...         "whsec_c2VjcmV0",
        ...         at=at,
        ...     ),
        ... )
        (True, True)
    """

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = 10.0,
        clock: Clock | Callable[[], datetime] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError.one("url", f"expected an http:// or https:// URL, got {url!r}")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValidationError.one("timeout", f"expected a positive number of seconds, got {timeout!r}")
        self.url = url
        self._key = _key(secret)
        self.timeout = float(timeout)
        self._now = as_now(clock)
        self._headers = dict(headers or {})

    def signature(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value for one delivery."""
        return _signature(self._key, msg_id, timestamp, body)

    def body(self, notification: Notification, timestamp: int) -> bytes:
        """The JSON body sent for ``notification``."""
        payload = {
            "type": notification.kind,
            "timestamp": timestamp,
            "data": {
                "id": notification.id,
                "recipients": list(notification.recipients),
                "message": notification.message,
                "at": notification.at.isoformat(),
                "details": to_dict(dict(notification.data)),
                "ticket": to_dict(notification.ticket),
            },
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def send(self, notification: Notification) -> None:
        """POST the notification; raise `WebhookError` unless the answer is 2xx."""
        timestamp = int(self._now().timestamp())
        msg_id = notification.id or f"{notification.ticket.id}-{notification.kind}-{timestamp}"
        body = self.body(notification, timestamp)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                **self._headers,
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": self.signature(msg_id, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise WebhookError(self.url, f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WebhookError(self.url, repr(exc)) from None
        if not 200 <= status < 300:
            raise WebhookError(self.url, f"HTTP {status}")

    @staticmethod
    def verify(
        body: bytes,
        headers: Mapping[str, str],
        secret: str | bytes,
        *,
        at: datetime,
        tolerance: timedelta = timedelta(minutes=5),
    ) -> bool:
        """Whether ``headers`` sign ``body`` with ``secret``, stamped within ``tolerance`` of ``at``.

        For receivers (and tests). Any ``v1`` signature among several (space-separated)
        counts; comparison is in constant time; malformed headers are False.
        """
        lower = {k.lower(): v for k, v in headers.items()}
        msg_id, stamp, sigs = (
            lower.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
        )
        try:
            timestamp = int(stamp)
        except ValueError:
            return False
        if abs(at.timestamp() - timestamp) > tolerance.total_seconds():
            return False
        expected = _signature(_key(secret), msg_id, timestamp, body)
        return any(hmac.compare_digest(expected, s) for s in sigs.split())
