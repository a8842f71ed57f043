"""The SMTP notifier against a real local SMTP server speaking TLS: STARTTLS, implicit TLS, login.

The server is aiosmtpd on 127.0.0.1 with a certificate made for the test (by
``cryptography``, in the test extra). A notifier that trusts it sends; one that does
not, or one asked for STARTTLS by a server that offers none, sends nothing in clear and
leaves the notification in the outbox for a retry.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ticketkit as tk

controller_mod = pytest.importorskip("aiosmtpd.controller")
smtp_mod = pytest.importorskip("aiosmtpd.smtp")
x509 = pytest.importorskip("cryptography.x509")
hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")

USER, PASSWORD = "desk", "s3cret-pass"
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    return ctx


def trusting(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


class Mailbox:
    """The aiosmtpd handler: keeps each mail and whether its session was encrypted and logged in."""

    def __init__(self) -> None:
        self.mails: list[tuple[bytes, bool, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.mails.append((envelope.content, encrypted, bool(session.authenticated)))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return smtp_mod.AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def running(box: Mailbox, **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = controller_mod.Controller(box, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def mailer(
    port: int, security: str, context: ssl.SSLContext | None, timeout: float = 5, **kwargs: Any
) -> tk.SMTPNotifier:
    return tk.SMTPNotifier(
        "127.0.0.1",
        port,
        sender="desk@shop.example",
        domain="shop.example",
        addresses=lambda r: ["wang@shop.example"] if r.startswith("customer:") else [],
        security=security,
        context=context,
        timeout=timeout,
        **kwargs,
    )


def open_one(notifier: tk.SMTPNotifier) -> tk.Helpdesk:
    desk = tk.Helpdesk(store=tk.InMemoryStore(), notifier=notifier)
    t = desk.open(subject="Broken zip", customer="c-1")
    desk.comment(t.id, "A new one is on its way", actor=tk.Actor(id="li", roles={"admin"}), public=True)
    return desk


class TestSMTPOverTLS:
    def test_starttls_with_login(self, cert: tuple[Path, Path]) -> None:
        """STARTTLS then AUTH on a server that requires both: the mail arrives encrypted and logged in."""
        box = Mailbox()
        for port in running(
            box,
            tls_context=server_context(cert),
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
        ):
            desk = open_one(mailer(port, "starttls", trusting(cert), username=USER, password=PASSWORD))
            assert [] == desk.failed_notifications
        assert box.mails
        assert all(encrypted and logged_in for _, encrypted, logged_in in box.mails)
        first = email.message_from_bytes(box.mails[0][0])
        assert "auto-generated" == first["Auto-Submitted"]

    def test_implicit_tls(self, cert: tuple[Path, Path]) -> None:
        """security="tls" speaks TLS from the first byte (port 465 style)."""
        box = Mailbox()
        for port in running(box, ssl_context=server_context(cert)):
            desk = open_one(mailer(port, "tls", trusting(cert)))
            assert [] == desk.failed_notifications
        assert box.mails
        assert all(encrypted for _, encrypted, _ in box.mails)

    def test_wrong_password_is_retried_not_lost(self, cert: tuple[Path, Path]) -> None:
        """A refused login sends nothing and keeps every notification for a retry."""
        box = Mailbox()
        for port in running(
            box, tls_context=server_context(cert), require_starttls=True, authenticator=authenticator
        ):
            desk = open_one(
                mailer(port, "starttls", trusting(cert), timeout=1, username=USER, password="wrong")
            )
            assert desk.failed_notifications
        assert [] == box.mails

    def test_untrusted_certificate_sends_nothing(self, cert: tuple[Path, Path]) -> None:
        """With the system's trust store the test certificate is refused: no mail, kept for a retry."""
        box = Mailbox()
        for port in running(box, tls_context=server_context(cert), require_starttls=True):
            desk = open_one(mailer(port, "starttls", None))
            assert desk.failed_notifications
        assert [] == box.mails

    def test_no_downgrade_when_the_server_offers_no_starttls(self) -> None:
        """Asked for STARTTLS, a plain server gets nothing in clear: the send fails into the outbox."""
        box = Mailbox()
        for port in running(box):
            desk = open_one(mailer(port, "starttls", None))
            assert desk.failed_notifications
        assert [] == box.mails
