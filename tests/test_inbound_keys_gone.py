"""The keys a ticket's messages were received by go with the ticket: erasure, retention, a crash.

Keys such as ``conv:wechat:<openid>`` and ``from:<ticket>:<customer>`` name the customer;
left behind they would keep a personal identifier after erasure and thread the
customer's next message onto an erased or purged ticket. Real SQLite files: the keys
are read straight from the ``message_keys`` table, as an auditor would.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

import ticketkit as tk
from tests.test_inbound import ADMIN, T0, mail
from ticketkit.testing import ManualClock

OPENID = "oX7-li-openid"


def make(tmp_path: Path, **kw: object) -> tuple[tk.Helpdesk, ManualClock]:
    clock = ManualClock(T0)
    desk = tk.Helpdesk(
        store=tk.SQLiteStore(tmp_path / "desk.db"),
        clock=clock,
        inbound=tk.InboundSettings(rate_limit=None, join_open=False),
        **kw,  # type: ignore[arg-type]
    )
    return desk, clock


def chat(mid: str, text: str = "The fridge is broken.") -> tk.InboundMessage:
    """A WeChat message from one user: the conversation id carries the openid, as WeChat's does."""
    conversation = f"gh_shop:{OPENID}"
    return mail(
        mid,
        sender=OPENID,
        kind="wechat_openid",
        channel="wechat",
        conversation=conversation,
        text=text,
    )


def table(tmp_path: Path) -> list[tuple[str, str]]:
    """Every (key, ticket) row of the message keys, read from the file itself."""
    with sqlite3.connect(tmp_path / "desk.db") as conn:
        return sorted(conn.execute("SELECT key, ticket_id FROM message_keys").fetchall())


def closed(desk: tk.Helpdesk, message: tk.InboundMessage) -> str:
    t = desk.receive(message).ticket_id or ""
    for trigger in ("open", "resolve", "close"):
        desk.fire(t, trigger, actor=ADMIN)
    return t


class TestErasure:
    def test_erasure_unbinds_the_customers_keys(self, tmp_path: Path) -> None:
        """After erasure no key names the customer or points at the erased ticket; others stay."""
        desk, _ = make(tmp_path)
        t = desk.receive(chat("m1")).ticket_id or ""
        desk.receive(chat("m2", "Still broken."))
        other = desk.receive(mail("w@x", sender="wang@mail.cn", subject="Oven")).ticket_id or ""
        assert any(OPENID in key for key, _ in table(tmp_path))
        report = desk.erase_customer(desk.get(t, actor=ADMIN).customer.id, actor=ADMIN)  # type: ignore[union-attr]
        assert (t,) == report.tickets
        rows = table(tmp_path)
        assert [] == [key for key, _ in rows if OPENID in key]
        assert [] == [key for key, ticket in rows if ticket == t]
        assert {other} == {ticket for _, ticket in rows}

    def test_the_next_message_opens_a_new_ticket(self, tmp_path: Path) -> None:
        """The erased customer writing again is a new ticket, not a reply on the erased one."""
        desk, _ = make(tmp_path)
        t = desk.receive(chat("m1")).ticket_id or ""
        desk.erase_customer(desk.get(t, actor=ADMIN).customer.id, actor=ADMIN)  # type: ignore[union-attr]
        erased = desk.get(t, actor=ADMIN)
        assert erased.customer is not None
        assert OPENID not in erased.customer.id
        again = desk.receive(chat("m3", "Me again."))
        assert "opened" == again.action
        assert again.ticket_id != t
        assert erased.version == desk.get(t, actor=ADMIN).version  # the erased ticket got nothing


class TestRetention:
    @pytest.mark.parametrize("action", ["purge", "anonymize"])
    def test_retention_unbinds_the_tickets_keys(self, tmp_path: Path, action: str) -> None:
        """A purged or anonymised ticket's keys go; the customer's next message opens a new ticket."""
        desk, clock = make(tmp_path, retention=[tk.RetentionPolicy(after="P30D", action=action)])
        t = closed(desk, chat("m1"))
        clock.advance(timedelta(days=31))
        assert [f"ticket.{action}d"] == [e.kind for e in desk.tick()]
        assert [] == [key for key, ticket in table(tmp_path) if ticket == t or OPENID in key]
        again = desk.receive(chat("m2", "The new one is broken too."))
        assert ("opened", True) == (again.action, again.ticket_id != t)


class TestKeysLeftByACrash:
    """A crash between a purge and the drop of its keys: the next message heals them."""

    def test_a_key_bound_to_a_purged_ticket_opens_a_new_one(self, tmp_path: Path) -> None:
        desk, _ = make(tmp_path)
        t = closed(desk, chat("m1"))
        ticket = desk.store.get(t)
        desk.store.purge(t, tenant=ticket.tenant, expected_version=ticket.version)  # ... and the process died
        assert any(ticket_id == t for _, ticket_id in table(tmp_path))
        again = desk.receive(chat("m2", "Hello?"))
        assert ("opened", True) == (again.action, again.ticket_id != t)
        rows = table(tmp_path)
        assert [] == [key for key, ticket_id in rows if ticket_id == t]
        # the conversation now threads onto the new ticket
        assert again.ticket_id == dict(rows)[f"conv:wechat:gh_shop:{OPENID}"]
        assert "threaded" == desk.receive(chat("m3", "Any news?")).action

    def test_a_purged_follow_up_is_skipped(self, tmp_path: Path) -> None:
        """The follow-up a closed ticket points to is gone: the message gets a new follow-up."""
        desk, _ = make(tmp_path)
        first = closed(desk, chat("m1"))
        follow = desk.receive(chat("m2", "Broken again.")).ticket_id or ""
        assert follow != first
        ticket = desk.store.get(follow)
        desk.store.purge(follow, tenant=ticket.tenant, expected_version=ticket.version)
        again = desk.receive(chat("m3", "Still broken."))
        assert again.ticket_id not in (None, first, follow)
