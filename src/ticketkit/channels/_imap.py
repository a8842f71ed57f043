"""Polling a mailbox over IMAP (stdlib ``imaplib``): each unseen mail parsed, handed over, marked seen.

At least once: a mail is marked ``\\Seen`` only after the handler returned, so a crash
or a failing handler leaves it unseen for the next poll; ``Helpdesk.receive`` is
idempotent on the message id, so a mail handled twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs

from ticketkit.channels._blob import BlobStore
from ticketkit.channels._email import DEFAULT_LIMITS, parse_email
from ticketkit.channels._message import InboundMessage, MessageLimits
from ticketkit.errors import ErrorDetail, TicketkitError, ValidationError

_TLS: Final = ("ssl", "starttls", "none")
_UID: Final = re.compile(rb"^\d+$")


class ImapError(TicketkitError, ConnectionError):
    """The IMAP server refused or failed a command (login, select, fetch, store).

    Examples:
        >>> print(ImapError("LOGIN", "authentication failed"))
        IMAP LOGIN failed: authentication failed
    """

    def __init__(self, command: str, detail: str) -> None:
        self.command = command
        self.detail = detail
        super().__init__(command, detail)

    def __str__(self) -> str:
        return f"IMAP {self.command} failed: {self.detail}"


@attrs.frozen(kw_only=True)
class PollResult:
    """What one [`ImapPoller.poll`][ticketkit.channels.ImapPoller.poll] did.

    Attributes:
        handled: the UIDs of the mails parsed, handed to the handler and marked seen.
        unreadable: ``(uid, reason)`` of mails that could not be parsed (marked seen too,
            so they do not come back; read them in the mailbox).
        more: whether unseen mails were left for the next poll (the batch was full).

    Examples:
        >>> PollResult(handled=("7",), unreadable=(), more=False).handled
        ('7',)
    """

    handled: tuple[str, ...]
    unreadable: tuple[tuple[str, str], ...]
    more: bool


def _problems(  # noqa: PLR0917 - one argument per setting
    host: object, user: object, password: object, tls: object, port: object, batch: object
) -> list[ErrorDetail]:
    p: list[ErrorDetail] = []
    for name, value in (("host", host), ("user", user), ("password", password)):
        if not isinstance(value, str) or not value:
            p.append(ErrorDetail(name, f"expected a non-empty string, got {value!r}"))
    if tls not in _TLS:
        p.append(ErrorDetail("tls", f"expected one of {', '.join(_TLS)}, got {tls!r}"))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        p.append(ErrorDetail("port", f"expected a port number 1-65535, got {port!r}"))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        p.append(ErrorDetail("batch", f"expected a whole number >= 1, got {batch!r}"))
    return p


class ImapPoller:
    """Fetch the unseen mails of one IMAP mailbox and hand each to a handler (``Helpdesk.receive``).

    Uses only the standard library (``imaplib``), so it needs no extra. One
    [`poll`][ticketkit.channels.ImapPoller.poll] connects, takes up to ``batch``
    unseen mails in UID order, parses each with `parse_email` (attachments into
    ``blobs`` when given), calls ``handle`` and marks the mail ``\\Seen``; then it logs
    out. Run it from a loop or a scheduler; the mailbox's seen flags are its cursor.

    Args:
        host: the IMAP server.
        user: the login.
        password: the password.
        port: the port (993 with ``tls="ssl"``, else usually 143).
        mailbox: the mailbox to read.
        tls: ``"ssl"`` (implicit TLS), ``"starttls"``, or ``"none"`` (a local test server only).
        timeout: seconds for the connection and each command.
        batch: the most mails taken by one poll.
        blobs: where attachment bytes go (`BlobStore`).
        limits: the parser's limits.
        context: the TLS context (default: the system's trusted certificates).

    Raises:
        ValidationError: bad settings (every problem listed).

    Examples:
        >>> poller = ImapPoller(host="imap.example.cn", user="help", password="secret")
        >>> poller.port, poller.mailbox, poller.tls
        (993, 'INBOX', 'ssl')
    """

    def __init__(
        self,
        *,
        host: str,
        user: str,
        password: str,
        port: int | None = None,
        mailbox: str = "INBOX",
        tls: Literal["ssl", "starttls", "none"] = "ssl",
        timeout: float = 30.0,
        batch: int = 50,
        blobs: BlobStore | None = None,
        limits: MessageLimits = DEFAULT_LIMITS,
        context: ssl.SSLContext | None = None,
    ) -> None:
        port = port if port is not None else (993 if tls == "ssl" else 143)
        problems = _problems(host, user, password, tls, port, batch)
        if problems:
            raise ValidationError(problems)
        self.host, self.user, self._password = host, user, password
        self.port, self.mailbox, self.tls = port, mailbox, tls
        self.timeout, self.batch, self.blobs, self.limits = timeout, batch, blobs, limits
        self._context = context

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.tls == "ssl":
                context = self._context or ssl.create_default_context()
                return imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=self.timeout)
            client = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
            if self.tls == "starttls":
                client.starttls(self._context or ssl.create_default_context())
            return client
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError("CONNECT", f"{self.host}:{self.port}: {exc}") from None

    def poll(self, handle: Callable[[InboundMessage], object]) -> PollResult:
        """Take up to ``batch`` unseen mails: parse, ``handle``, mark seen; what was done.

        A mail whose handler raises stays unseen (the error propagates, the mails
        before it are done): the next poll takes it again.

        Raises:
            ImapError: the server refused the login, the mailbox or a command.
        """
        client = self._connect()
        try:
            self._ok("LOGIN", lambda: client.login(self.user, self._password))
            self._ok("SELECT", lambda: client.select(_quote(self.mailbox)))
            found = self._ok("SEARCH", lambda: client.uid("SEARCH", "UNSEEN"))
            uids = [u.decode() for u in (found[0] or b"").split() if _UID.match(u)]
            handled: list[str] = []
            unreadable: list[tuple[str, str]] = []
            for uid in uids[: self.batch]:
                raw = self._fetch(client, uid)
                try:
                    message = parse_email(raw, limits=self.limits, blobs=self.blobs)
                except ValidationError as exc:
                    unreadable.append((uid, str(exc)[:500]))
                else:
                    handle(message)
                    handled.append(uid)
                self._seen(client, uid)
            return PollResult(
                handled=tuple(handled), unreadable=tuple(unreadable), more=len(uids) > self.batch
            )
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()

    def _seen(self, client: imaplib.IMAP4, uid: str) -> None:
        self._ok("STORE", lambda: client.uid("STORE", uid, "+FLAGS", "(\\Seen)"))

    def _fetch(self, client: imaplib.IMAP4, uid: str) -> bytes:
        data = self._ok("FETCH", lambda: client.uid("FETCH", uid, "(BODY.PEEK[])"))
        for part in data:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return part[1]
        raise ImapError("FETCH", f"no message body for UID {uid}")  # pragma: no cover - a broken server

    @staticmethod
    def _ok(command: str, call: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        try:
            typ, data = call()
        except (TimeoutError, OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(command, str(exc)) from None
        if typ != "OK":
            raise ImapError(command, " ".join(str(d) for d in data if d is not None) or typ)
        return data


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
