"""The keys a ticket's messages were received by go with the ticket: erasure, retention, a crash.

Keys such as ``conv:wechat:<openid>`` and ``from:<ticket>:<customer>`` name the customer;
left behind they would keep a personal identifier after erasure and thread the
customer's next message onto an erased or purged ticket. Real SQLite files: the keys
are read straight from the ``message_keys`` table, as an auditor would.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

import ticketkit as tk
from tests.test_inbound import ADMIN, T0, mail
from tests.test_privacy_desk import _forms
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


def erase(desk: tk.Helpdesk, ticket_id: str) -> tk.ErasureReport:
    """Erase the customer of ``ticket_id``."""
    customer = desk.get(ticket_id, actor=ADMIN).customer
    assert customer is not None
    return desk.erase_customer(customer.id, actor=ADMIN)


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
        report = erase(desk, t)
        assert (t,) == report.tickets
        rows = table(tmp_path)
        assert [] == [key for key, _ in rows if OPENID in key]
        assert [] == [key for key, ticket in rows if ticket == t]
        assert {other} == {ticket for _, ticket in rows}

    def test_the_next_message_opens_a_new_ticket(self, tmp_path: Path) -> None:
        """The erased customer writing again is a new ticket, not a reply on the erased one."""
        desk, _ = make(tmp_path)
        t = desk.receive(chat("m1")).ticket_id or ""
        erase(desk, t)
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


class TestRateWindows:
    """Rate-limit slots (a hash of the sender, per window) go once their window is long past."""

    WINDOW = timedelta(minutes=10)

    def desk(self, tmp_path: Path, clock: ManualClock) -> tk.Helpdesk:
        return tk.Helpdesk(
            store=tk.SQLiteStore(tmp_path / "desk.db"),
            clock=clock,
            inbound=tk.InboundSettings(rate_limit=5, rate_window=self.WINDOW, join_open=False),
        )

    def slots(self, tmp_path: Path) -> dict[str, str]:
        return {key: owner for key, owner in table(tmp_path) if key.startswith("rate:")}

    def windows(self, tmp_path: Path) -> set[str]:
        return {key.split(":")[2] for key in self.slots(tmp_path)}

    def test_slots_of_past_windows_are_dropped(self, tmp_path: Path) -> None:
        clock = ManualClock(T0)
        desk = self.desk(tmp_path, clock)
        first = str(int(T0.timestamp() // self.WINDOW.total_seconds()))
        for i in range(3):
            desk.receive(mail(f"a{i}@x", sender="wang@mail.cn", subject=f"Oven {i}"))
        assert ({first}, 3) == (self.windows(tmp_path), len(self.slots(tmp_path)))
        assert {f"ticketkit:rate:{first}"} == set(self.slots(tmp_path).values())
        clock.advance(self.WINDOW)  # the window before: kept
        desk.receive(mail("b@x", sender="wang@mail.cn", subject="Oven b"))
        assert first in self.windows(tmp_path)
        clock.advance(self.WINDOW * 2)  # now three windows on: the first one's slots go
        desk.receive(mail("c@x", sender="wang@mail.cn", subject="Oven c"))
        assert first not in self.windows(tmp_path)
        assert 2 == len(self.windows(tmp_path))
        record = desk.store.records("rate-windows", tenant="default")["open"][0]
        assert sorted(int(w) for w in self.windows(tmp_path)) == json.loads(record)

    def test_another_process_drops_what_this_one_listed(self, tmp_path: Path) -> None:
        """The list is in the store: a desk that never saw a window still drops its slots."""
        clock = ManualClock(T0)
        self.desk(tmp_path, clock).receive(mail("a@x", sender="wang@mail.cn"))
        assert 1 == len(self.slots(tmp_path))
        clock.advance(self.WINDOW * 5)
        self.desk(tmp_path, clock).receive(mail("b@x", sender="li@mail.cn", subject="Other"))
        assert 1 == len(self.slots(tmp_path))  # the one left is the new window's
        assert str(int((T0 + self.WINDOW * 5).timestamp() // self.WINDOW.total_seconds())) in self.windows(
            tmp_path
        )

    def test_a_record_it_did_not_write_is_replaced(self, tmp_path: Path) -> None:
        """A damaged list loses track of old slots but never stops receiving."""
        clock = ManualClock(T0)
        desk = self.desk(tmp_path, clock)
        desk.store.put_record("rate-windows", "open", "not json", tenant="default", expected_version=None)
        assert "opened" == desk.receive(mail("a@x", sender="wang@mail.cn")).action
        assert [int(T0.timestamp() // self.WINDOW.total_seconds())] == json.loads(
            desk.store.records("rate-windows", tenant="default")["open"][0]
        )

    def test_the_limit_still_holds(self, tmp_path: Path) -> None:
        """Five messages in a window, the sixth is ignored; the next window takes five again."""
        clock = ManualClock(T0)
        desk = self.desk(tmp_path, clock)
        actions = [
            desk.receive(mail(f"m{i}@x", sender="bot@spam.cn", subject=f"Spam {i}")).action for i in range(6)
        ]
        assert ["opened"] * 5 + ["ignored"] == actions
        clock.advance(self.WINDOW)
        assert "opened" == desk.receive(mail("n@x", sender="bot@spam.cn", subject="Spam n")).action


class TestRawFile:
    def test_no_identifier_is_left_in_the_file(self, tmp_path: Path) -> None:
        """After erasure the SQLite file and its WAL hold neither the openid nor the address."""
        desk, _ = make(tmp_path)
        t = desk.receive(chat("m1")).ticket_id or ""
        desk.receive(chat("m2", "Still broken."))
        mailed = desk.receive(mail("e1@x", sender="li.wei@mail.cn", subject="Oven")).ticket_id or ""
        desk.receive(mail("e2@x", sender="li.wei@mail.cn", reply_to="e1@x", subject="Re: Oven"))
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert OPENID.encode() in raw
        assert b"li.wei@mail.cn" in raw
        for ticket in (t, mailed):
            erase(desk, ticket)
        for p in sorted(tmp_path.iterdir()):
            data = p.read_bytes()
            for secret in (OPENID, "li.wei@mail.cn"):
                for form in _forms(secret):
                    assert form not in data, f"{secret!r} found in {p.name}"


class TestOutcomesCarryNoIdentifier:
    """Callers log outcomes: the sender and a conversation id (an openid) are masked in reasons."""

    def test_rate_limited_and_threaded_reasons(self) -> None:
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            clock=ManualClock(T0),
            inbound=tk.InboundSettings(rate_limit=1, join_open=False),
        )
        assert "opened" == desk.receive(chat("m1")).action
        limited = desk.receive(chat("m2", "Again"))
        assert "ignored" == limited.action
        assert "rate limit" in limited.reason
        assert OPENID not in limited.reason
        other = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        other.receive(chat("m1"))
        threaded = other.receive(chat("m2", "Again"))
        assert ("threaded", "conversation") == (threaded.action, threaded.rule)
        assert OPENID not in threaded.reason
