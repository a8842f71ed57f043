"""Notification: what the ``Helpdesk`` tells people, and the ``Notifier`` interface.

A [`Notification`][ticketkit.Notification] is a value: its kind (``ticket.created``,
``ticket.assigned``, ``status.changed``, ``comment.added``, ``sla.warning``,
``sla.breached``, ``sla.escalated``, ...), who it is for, the ticket as it was,
a message and when. A [`Notifier`][ticketkit.Notifier] delivers it; ticketkit ships one for
tests ([`RecordingNotifier`][ticketkit.RecordingNotifier]), one that logs
([`LoggingNotifier`][ticketkit.LoggingNotifier]) and one that calls your function
([`CallbackNotifier`][ticketkit.CallbackNotifier]).
"""

from __future__ import annotations

import abc
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._json import EMPTY, freeze, json_problems
from ticketkit.model._models import Ticket
from ticketkit.model._time import aware_problem
from ticketkit.privacy._mask import Masker

__all__ = [
    "RECIPIENT_KINDS",
    "CallbackNotifier",
    "LoggingNotifier",
    "Notification",
    "Notifier",
    "RecordingNotifier",
]

RECIPIENT_KINDS: Final = ("agent", "team", "role", "customer")
"""The kinds of recipient, written ``"<kind>:<id>"`` (``"agent:li"``, ``"role:lead"``)."""


def _to_frozen(value: Any) -> Any:
    return freeze(value) if isinstance(value, Mapping) else value


def _to_recipients(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return tuple(value)
    return value


def _problems(  # noqa: PLR0917 - one check per field, in field order
    kind: object, recipients: object, ticket: object, message: object, at: object, data: object
) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []
    if not isinstance(kind, str) or not kind.strip():
        problems.append(ErrorDetail("kind", f"expected a non-empty string, got {kind!r}"))
    if not isinstance(recipients, tuple):
        problems.append(ErrorDetail("recipients", f"expected a list of recipients, got {recipients!r}"))
    else:
        for i, r in enumerate(recipients):
            rkind, sep, ident = r.partition(":") if isinstance(r, str) else ("", "", "")
            if not sep or rkind not in RECIPIENT_KINDS or not ident.strip():
                problems.append(
                    ErrorDetail(
                        f"recipients[{i}]",
                        f"expected '<kind>:<id>' with kind one of {', '.join(RECIPIENT_KINDS)}, got {r!r}",
                    )
                )
    if not isinstance(ticket, Ticket):
        problems.append(ErrorDetail("ticket", f"expected a Ticket, got {ticket!r}"))
    if not isinstance(message, str):
        problems.append(ErrorDetail("message", f"expected a string, got {message!r}"))
    problem = aware_problem(at)
    if problem:
        problems.append(ErrorDetail("at", problem))
    if not isinstance(data, Mapping):
        problems.append(ErrorDetail("data", f"expected a mapping of JSON-safe values, got {data!r}"))
    else:
        problems.extend(json_problems(data, "data"))
    return problems


def _id_string(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError.one(attribute.name, f"expected a string, got {value!r}")


@attrs.frozen(kw_only=True)
class Notification:
    """Something to tell some people about a ticket.

    ``recipients`` are ``"agent:<id>"``, ``"team:<id>"``, ``"role:<name>"`` or
    ``"customer:<id>"`` (a single string is one recipient); ``ticket`` is the
    ticket as it was when the notification was made; ``data`` holds JSON-safe
    details (the event's data, the SLA metric, ...). ``id`` is the idempotency key
    of a notification delivered through the outbox: a receiver that sees an id it
    has handled already must ignore the repeat (delivery is at least once).

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> n = tk.Notification(
        ...     kind="sla.warning",
        ...     recipients=["agent:li", "role:lead"],
        ...     ticket=tk.Ticket(subject="Late parcel", id="T1", created_at=at),
        ...     message="Resolution due in 1h",
        ...     at=at,
        ...     data={"metric": "resolution"},
        ... )
        >>> n.recipients, n.data["metric"]
        (('agent:li', 'role:lead'), 'resolution')
    """

    kind: str
    recipients: tuple[str, ...] = attrs.field(converter=_to_recipients)
    ticket: Ticket
    message: str
    at: datetime
    data: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_to_frozen, hash=False)
    id: str = attrs.field(default="", validator=_id_string)
    """The idempotency key: a notification delivered twice has the same id ("" outside an outbox)."""

    def __attrs_post_init__(self) -> None:
        problems = _problems(self.kind, self.recipients, self.ticket, self.message, self.at, self.data)
        if problems:
            raise ValidationError(problems)

    def is_for(self, recipient: str) -> bool:
        """True when ``recipient`` (``"agent:li"``) is among the recipients.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> n = tk.Notification(
            ...     kind="ticket.assigned",
            ...     recipients="agent:li",
            ...     ticket=tk.Ticket(subject="s", created_at=at),
            ...     message="",
            ...     at=at,
            ... )
            >>> n.is_for("agent:li"), n.is_for("agent:wang")
            (True, False)
        """
        return recipient in self.recipients


class Notifier(abc.ABC):
    """Delivers notifications: email, chat, SMS, push, a queue... you write it.

    ``send`` may raise; the ``Helpdesk`` sends only after a change is committed,
    and a failing notifier never rolls the change back.

    Examples:
        >>> class Print(Notifier):
        ...     def send(self, notification: Notification) -> None:
        ...         print(notification.kind, notification.recipients)
        >>> isinstance(Print(), Notifier)
        True
    """

    @abc.abstractmethod
    def send(self, notification: Notification) -> None:
        """Deliver one notification."""


class RecordingNotifier(Notifier):
    """Keeps every notification it is sent, for tests; thread-safe.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> rec = tk.RecordingNotifier()
        >>> rec.send(
        ...     tk.Notification(
        ...         kind="sla.breached",
        ...         recipients=["team:after-sales"],
        ...         ticket=tk.Ticket(subject="s", created_at=at),
        ...         message="breached",
        ...         at=at,
        ...     )
        ... )
        >>> [n.kind for n in rec.sent], len(rec.to("team:after-sales")), len(rec.of_kind("sla.warning"))
        (['sla.breached'], 1, 0)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        """Record ``notification``."""
        with self._lock:
            self._sent.append(notification)

    @property
    def sent(self) -> list[Notification]:
        """Everything sent so far, in order (a copy)."""
        with self._lock:
            return list(self._sent)

    def of_kind(self, kind: str) -> list[Notification]:
        """The notifications of one kind, in order."""
        return [n for n in self.sent if n.kind == kind]

    def to(self, recipient: str) -> list[Notification]:
        """The notifications for one recipient (``"agent:li"``), in order."""
        return [n for n in self.sent if recipient in n.recipients]

    def clear(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._sent.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sent)


class LoggingNotifier(Notifier):
    """Writes each notification to a standard-library logger.

    ``logger`` is a ``logging.Logger`` or a logger name (default
    ``"ticketkit.notify"``). The log line never carries personal data: phone numbers,
    e-mail addresses, identity, card and passport numbers and the customer's name are
    masked (``138****5678``). The record carries the notification itself as
    ``record.notification`` for structured handlers, which must mask what they write.

    Examples:
        >>> import logging
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> n = tk.Notification(
        ...     kind="comment.added",
        ...     recipients=["customer:c-1"],
        ...     ticket=tk.Ticket(subject="s", id="T1", created_at=at),
        ...     message="New reply",
        ...     at=at,
        ... )
        >>> tk.LoggingNotifier().format(n)
        "comment.added on ticket 'T1' for customer:c-1: New reply"
        >>> tk.LoggingNotifier().format(attrs.evolve(n, message="Call 13812345678"))
        "comment.added on ticket 'T1' for customer:c-1: Call 138****5678"
    """

    def __init__(self, logger: logging.Logger | str = "ticketkit.notify", level: int = logging.INFO) -> None:
        self.logger = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        self.level = level

    def format(self, notification: Notification) -> str:
        """The log line for ``notification``, personal data masked."""
        who = ", ".join(notification.recipients) or "nobody"
        line = f"{notification.kind} on ticket {notification.ticket.id!r} for {who}: {notification.message}"
        return Masker.for_customer(notification.ticket.customer).text(line)

    def send(self, notification: Notification) -> None:
        """Log ``notification`` at ``level``."""
        self.logger.log(self.level, "%s", self.format(notification), extra={"notification": notification})


class CallbackNotifier(Notifier):
    """Calls your function with each notification (a queue's ``put``, a webhook poster).

    Examples:
        >>> import ticketkit as tk
        >>> seen = []
        >>> notifier = tk.CallbackNotifier(seen.append)
        >>> callable(notifier.callback)
        True
    """

    def __init__(self, callback: Callable[[Notification], object]) -> None:
        if not callable(callback):
            raise ValidationError.one(
                "callback", f"expected a function taking a Notification, got {callback!r}"
            )
        self.callback = callback

    def send(self, notification: Notification) -> None:
        """Call the callback with ``notification``."""
        self.callback(notification)
