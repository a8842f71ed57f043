"""An SMTP notifier: one templated, threaded, loop-safe e-mail per notification (stdlib smtplib)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from string import Template
from typing import Final

from ticketkit.channels._outbound import email_reply_headers
from ticketkit.errors import ValidationError
from ticketkit.notify._notify import Notification, Notifier

SECURITY: Final = ("starttls", "tls", "none")
DEFAULT_TEMPLATE: Final = ("[$kind] $subject", "$message\n\nTicket $ticket_id ($status)\n")


class SMTPNotifier(Notifier):
    """Sends each notification as an e-mail through an SMTP server.

    ``addresses`` turns a recipient (``"agent:li"``, ``"customer:c-1"``) into e-mail
    addresses (none: that recipient is skipped). ``templates`` maps an event kind
    (``"sla.breached"``) to a ``(subject, body)`` pair of `string.Template` texts with
    ``$kind``, ``$subject`` (the ticket's), ``$message``, ``$ticket_id``, ``$status``,
    ``$priority``, ``$team`` and ``$assignee``; ``"*"`` is the fallback. Every mail
    has a stable ``Message-ID`` made from the notification id, ``References`` to the
    ticket's thread root so replies thread back to the ticket, and
    ``Auto-Submitted: auto-generated``. ``security`` is ``starttls`` (default),
    ``tls`` (implicit TLS, port 465) or ``none``. A refused or failed send raises
    (``smtplib.SMTPException`` or ``OSError``), so the outbox tries again later.

    Examples:
        >>> mailer = SMTPNotifier(
        ...     "smtp.shop.example",
        ...     sender="desk@shop.example",
        ...     domain="shop.example",
        ...     addresses=lambda r: [r.partition(":")[2] + "@shop.example"],
        ... )
        >>> mailer.security
        'starttls'
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        domain: str,
        addresses: Callable[[str], Sequence[str]],
        templates: Mapping[str, tuple[str, str]] | None = None,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY:
            raise ValidationError.one("security", f"expected one of {', '.join(SECURITY)}, got {security!r}")
        if not callable(addresses):
            raise ValidationError.one("addresses", f"expected a function, got {addresses!r}")
        self.host = host
        self.port = (
            port
            if port is not None
            else (465 if security == "tls" else 587 if security == "starttls" else 25)
        )
        self.sender = sender
        self.domain = domain
        self.addresses = addresses
        self.templates = {"*": DEFAULT_TEMPLATE, **dict(templates or {})}
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout
        self.context = context

    def message(self, notification: Notification) -> EmailMessage | None:
        """The e-mail for ``notification`` (None when no recipient has an address)."""
        to: list[str] = []
        for recipient in notification.recipients:
            to.extend(a for a in self.addresses(recipient) if a not in to)
        if not to:
            return None
        t = notification.ticket
        subject_t, body_t = self.templates.get(notification.kind, self.templates["*"])
        values = {
            "kind": notification.kind,
            "subject": t.subject,
            "message": notification.message,
            "ticket_id": t.id,
            "status": t.status,
            "priority": t.priority.name.lower(),
            "team": t.team or "",
            "assignee": t.assignee or "",
        }
        headers = email_reply_headers(
            ticket_id=t.id,
            notification_id=notification.id or f"{notification.kind}.{t.version}",
            domain=self.domain,
            subject=Template(subject_t).safe_substitute(values),
            automatic="auto-generated",
        )
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(to)
        for name, value in headers.items():
            msg[name] = value
        if "References" not in msg:
            msg["References"] = f"<tk.{t.id}@{self.domain}>"  # the ticket's thread root
        msg.set_content(Template(body_t).safe_substitute(values))
        return msg

    def send(self, notification: Notification) -> None:
        """Send the e-mail; raise on any SMTP or network failure (the outbox retries)."""
        msg = self.message(notification)
        if msg is None:
            return
        context = self.context or ssl.create_default_context()
        if self.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username is not None:
                client.login(self.username, self.password or "")
            client.send_message(msg)
