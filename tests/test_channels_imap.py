"""The IMAP poller against a real IMAP server on 127.0.0.1 (pymap, in memory, started by the test)."""

from __future__ import annotations

import imaplib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ticketkit as tk
from tests.test_inbound import T0
from ticketkit.channels import ImapError, ImapPoller, InboundMessage, PollResult
from ticketkit.errors import ValidationError
from ticketkit.testing import ManualClock

MAIL = Path(__file__).resolve().parent / "fixtures" / "mail"
USER, PASSWORD = "help", "s3cret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[int]:
    """A fresh pymap IMAP server (in memory, no TLS) on a free local port; its port."""
    pymap = shutil.which("pymap") or str(Path(sys.executable).with_name("pymap"))
    if not Path(pymap).exists():
        pytest.skip("pymap is not installed (pip install 'ticketkit[test]')")
    port = _free_port()
    proc = subprocess.Popen(
        [pymap, "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict",
         "--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the local IMAP server did not start")
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


def deliver(port: int, *raws: bytes) -> None:
    """Put ``raws`` in the INBOX as a mail server would (IMAP APPEND)."""
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(USER, PASSWORD)
    for raw in raws:
        assert "OK" == client.append("INBOX", None, None, raw)[0]
    client.logout()


def poller(port: int, **kw: object) -> ImapPoller:
    return ImapPoller(host="127.0.0.1", port=port, user=USER, password=PASSWORD, tls="none", **kw)  # type: ignore[arg-type]


def corpus(n: int) -> list[bytes]:
    return [p.read_bytes() for p in sorted(MAIL.glob("*.eml"))[:n]]


class TestImapPoller:
    def test_unseen_mail_is_received_once(self, server: int) -> None:
        """Each unseen mail reaches the desk once; the next poll finds nothing; a new mail is taken."""
        deliver(server, *corpus(6))
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        outcomes: list[str] = []
        first = poller(server).poll(lambda m: outcomes.append(desk.receive(m).action))
        assert (6, (), False) == (len(first.handled), first.unreadable, first.more)
        assert 6 == len(outcomes)
        assert PollResult(handled=(), unreadable=(), more=False) == poller(server).poll(outcomes.append)
        deliver(server, b"From: li@mail.cn\r\nMessage-ID: <late@x>\r\nSubject: late\r\n\r\nhello\r\n")
        late: list[InboundMessage] = []
        poller(server).poll(late.append)
        assert ["<late@x>"] == [f"<{m.message_id}>" for m in late]

    def test_batches_and_a_failing_handler(self, server: int) -> None:
        """A poll takes at most ``batch`` mails; a mail whose handler raises stays unseen and comes back."""
        deliver(server, *corpus(5))
        got: list[str] = []
        result = poller(server, batch=2).poll(lambda m: got.append(m.message_id))
        assert (2, True) == (len(result.handled), result.more)

        def fail(m: InboundMessage) -> None:
            raise RuntimeError("the desk is down")

        with pytest.raises(RuntimeError):
            poller(server).poll(fail)
        rest = poller(server).poll(lambda m: got.append(m.message_id))
        assert (3, 5) == (len(rest.handled), len(set(got)))

    def test_unreadable_mail_is_reported_and_set_aside(self, server: int) -> None:
        """A mail the parser refuses (no sender) is reported with its reason and not taken again."""
        deliver(server, b"Subject: nobody sent me\r\n\r\nhello\r\n")
        result = poller(server).poll(lambda m: None)
        assert ((), 1) == (result.handled, len(result.unreadable))
        assert "no sender" in result.unreadable[0][1]
        assert () == poller(server).poll(lambda m: None).unreadable

    def test_server_errors_are_imap_errors(self, server: int) -> None:
        """A wrong password, a missing mailbox or no server: an ImapError naming the command."""
        with pytest.raises(ImapError, match="LOGIN"):
            ImapPoller(host="127.0.0.1", port=server, user=USER, password="wrong", tls="none").poll(print)
        with pytest.raises(ImapError, match="SELECT"):
            poller(server, mailbox="Nope").poll(print)
        with pytest.raises(ImapError, match="CONNECT"):
            ImapPoller(host="127.0.0.1", port=_free_port(), user="u", password="p", tls="starttls").poll(
                print
            )


class TestImapSettings:
    def test_bad_settings_are_listed(self) -> None:
        """Every bad setting is named in one ValidationError."""
        with pytest.raises(ValidationError) as err:
            ImapPoller(host="", user="u", password="", tls="tls", port=0, batch=0)  # type: ignore[arg-type]
        assert {"host", "password", "tls", "port", "batch"} == {e.path for e in err.value.errors}

    def test_default_ports(self) -> None:
        """993 for implicit TLS, 143 otherwise."""
        assert (993, 143) == (
            ImapPoller(host="h", user="u", password="p").port,
            ImapPoller(host="h", user="u", password="p", tls="starttls").port,
        )
