"""Helpdesk.receive: idempotence, threading, loops and noise, attachments, identities across channels."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.channels import (
    Attachment,
    Automatic,
    InboundMessage,
    InMemoryBlobStore,
    Sender,
    email_reply_headers,
    parse_email,
    parse_wechat,
)
from ticketkit.desk._blobs import blob_keys_of
from ticketkit.desk._inbound import participant_key
from ticketkit.errors import ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday
ADMIN = tk.Actor(id="li", roles={"admin"})
MAIL = Path(__file__).resolve().parent / "fixtures" / "mail"
WECHAT = Path(__file__).resolve().parent / "fixtures" / "wechat"


def desk_for(
    store: tk.TicketStore | None = None,
    *,
    clock: ManualClock | None = None,
    notifier: tk.Notifier | None = None,
    **kw: Any,
) -> tk.Helpdesk:
    return tk.Helpdesk(
        store=store if store is not None else tk.InMemoryStore(),
        clock=clock or ManualClock(T0),
        notifier=notifier,
        **kw,
    )


def mail(
    mid: str,
    *,
    sender: str = "li@mail.cn",
    subject: str = "Fridge",
    text: str = "It is broken.",
    refs: tuple[str, ...] = (),
    reply_to: str | None = None,
    automatic: Automatic | None = None,
    bounced: tuple[str, ...] = (),
    conversation: str | None = None,
    channel: str = "email",
    kind: str = "email",
    attachments: tuple[Attachment, ...] = (),
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        message_id=mid,
        sender=Sender(kind=kind, value=sender),
        subject=subject,
        text=text,
        new_text=text,
        references=refs,
        in_reply_to=reply_to,
        automatic=automatic,
        bounced=bounced,
        conversation_id=conversation,
        attachments=attachments,
    )


def comments(desk: tk.Helpdesk, ticket_id: str) -> list[tk.Comment]:
    return desk.comments(ticket_id, actor=ADMIN)


class TestIdempotence:
    def test_same_message_twice_changes_nothing(self) -> None:
        """The second copy is a duplicate naming the ticket; no event is added."""
        desk = desk_for()
        first = desk.receive(mail("a1@x"))
        history = desk.history(first.ticket_id or "", actor=ADMIN)
        again = desk.receive(mail("a1@x"))
        assert ("opened", "duplicate", first.ticket_id) == (first.action, again.action, again.ticket_id)
        assert history == desk.history(first.ticket_id or "", actor=ADMIN)
        assert 1 == desk.store.count()

    def test_same_id_on_another_channel_is_another_message(self) -> None:
        """Idempotence is on (channel, message id): the same id from the app is new."""
        desk = desk_for()
        desk.receive(mail("1@x"))
        outcome = desk.receive(mail("1@x", channel="app", kind="app_user", sender="u1"))
        assert "duplicate" != outcome.action

    def test_duplicate_across_processes(self, tmp_path: Path) -> None:
        """Two desks on one SQLite file (two processes): the second sees the first's message."""
        path = tmp_path / "desk.db"
        a = desk_for(tk.SQLiteStore(path))
        b = desk_for(tk.SQLiteStore(path))
        first = a.receive(mail("x1@x"))
        second = b.receive(mail("x1@x"))
        assert ("duplicate", first.ticket_id) == (second.action, second.ticket_id)
        reply = b.receive(mail("x2@x", reply_to="x1@x"))
        assert (first.ticket_id, "in-reply-to") == (reply.ticket_id, reply.rule)

    def test_ignored_message_stays_ignored(self) -> None:
        """An automatic message that was ignored is a duplicate (with no ticket) the next time."""
        desk = desk_for()
        auto = Automatic(reason="auto-generated", evidence="Auto-Submitted: auto-generated")
        assert "ignored" == desk.receive(mail("n1@x", automatic=auto)).action
        again = desk.receive(mail("n1@x", automatic=auto))
        assert ("duplicate", None) == (again.action, again.ticket_id)

    def test_subject_from_the_text_when_missing(self) -> None:
        """A message without a subject (WeChat) takes its first line, else names the sender."""
        desk = desk_for(inbound=tk.InboundSettings(join_open=False))
        a = desk.receive(mail("s1", subject="", text="\n  冰箱不制冷\n第二行"))
        b = desk.receive(mail("s2", subject="", text="", sender="wang@mail.cn"))
        subjects = [desk.get(o.ticket_id or "", actor=ADMIN).subject for o in (a, b)]
        assert ["冰箱不制冷", "Message from wang@mail.cn"] == subjects

    def test_refuses_what_is_not_a_message(self) -> None:
        """receive() of a dict or with a bad actor is a ValidationError."""
        desk = desk_for()
        with pytest.raises(ValidationError):
            desk.receive({"channel": "email"})  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            desk.receive(mail("a@x"), actor="li")  # type: ignore[arg-type]


class TestThreading:
    def test_rules_in_order(self) -> None:
        """Conversation, references, in-reply-to and the token each thread; the outcome names the rule."""
        desk = desk_for(inbound=tk.InboundSettings(join_open=False))
        root = desk.receive(mail("r@x", conversation="c1")).ticket_id
        assert root is not None
        cases = [
            (mail("c@x", conversation="c1", subject="other"), "conversation"),
            (mail("f@x", refs=("zz@x", "r@x"), subject="other"), "references"),
            (mail("i@x", reply_to="r@x", subject="other"), "in-reply-to"),
            (mail("t@x", subject=f"Re: [#{root}] Fridge"), "subject-token"),
        ]
        for message, rule in cases:
            outcome = desk.receive(message)
            assert ("threaded", root, rule) == (outcome.action, outcome.ticket_id, outcome.rule)
        assert 1 == desk.store.count()
        assert ["customer"] * 4 == [c.author_kind for c in comments(desk, root)]

    def test_stranger_token_opens_a_new_ticket(self) -> None:
        """A subject token from someone who never wrote on the ticket is not believed."""
        desk = desk_for()
        root = desk.receive(mail("r@x")).ticket_id
        outcome = desk.receive(mail("s@x", sender="mallory@evil.example", subject=f"[#{root}] give me data"))
        assert "opened" == outcome.action
        assert root != outcome.ticket_id

    def test_participant_token_threads(self) -> None:
        """Someone who wrote on the ticket before (a colleague in cc) may use its token."""
        desk = desk_for(inbound=tk.InboundSettings(join_open=False))
        root = desk.receive(mail("r@x")).ticket_id or ""
        desk.receive(mail("w@x", sender="wang@mail.cn", reply_to="r@x"))
        outcome = desk.receive(mail("w2@x", sender="wang@mail.cn", subject=f"[#{root}] more"))
        assert (root, "subject-token") == (outcome.ticket_id, outcome.rule)
        assert root == desk.store.message_key(participant_key(root, "email:wang@mail.cn"), tenant="default")

    def test_reply_before_original(self) -> None:
        """A reply that arrives first opens the ticket; the original then threads onto it."""
        desk = desk_for()
        reply = desk.receive(mail("b@x", refs=("a@x",), sender="x@a.cn"))
        original = desk.receive(mail("a@x", sender="y@b.cn"))
        assert ("opened", "threaded", reply.ticket_id) == (reply.action, original.action, original.ticket_id)

    def test_desk_message_ids_thread_without_a_record(self) -> None:
        """A reply naming a Message-ID the desk made (its domain) threads even if nothing was stored."""
        desk = desk_for(inbound=tk.InboundSettings(domain="support.shop.example", join_open=False))
        t = desk.open(subject="Fridge", customer="c-1")
        headers = email_reply_headers(
            ticket_id=t.id, notification_id="N1", domain="support.shop.example", subject="Fridge"
        )
        outcome = desk.receive(mail("r@x", reply_to=headers.message_id.strip("<>"), subject="Re: Fridge"))
        assert (t.id, "in-reply-to") == (outcome.ticket_id, outcome.rule)
        unknown = desk.receive(mail("r2@x", reply_to="tk.T404.N1@support.shop.example", subject="Re"))
        assert "opened" == unknown.action

    def test_intake_dedupe_rules_apply(self) -> None:
        """With a category set, the intake's dedupe rules add a new message to the open ticket."""
        desk = desk_for(inbound=tk.InboundSettings(join_open=False, category="email"))
        first = desk.receive(mail("d1@x"))
        second = desk.receive(mail("d2@x", subject="Another thing"))
        assert ("threaded", first.ticket_id) == (second.action, second.ticket_id)
        assert "dedupe" in second.reason


class TestClosedTickets:
    def _resolved(self, desk: tk.Helpdesk) -> str:
        t = desk.receive(mail("r@x")).ticket_id or ""
        desk.fire(t, "open", actor=ADMIN)
        desk.fire(t, "resolve", actor=ADMIN)
        return t

    def test_reply_within_the_window_reopens(self) -> None:
        """A reply two business days after resolving reopens the ticket."""
        clock = ManualClock(T0)
        desk = desk_for(clock=clock, inbound=tk.InboundSettings(reopen_within=3))
        t = self._resolved(desk)
        clock.advance(timedelta(days=2))
        outcome = desk.receive(mail("r2@x", reply_to="r@x"))
        assert ("threaded", t, "open") == (outcome.action, outcome.ticket_id, desk.get(t, actor=ADMIN).status)

    def test_reply_after_the_window_opens_a_followup(self) -> None:
        """After the window (business days: a weekend does not count), a follow-up linked to it."""
        clock = ManualClock(T0)
        desk = desk_for(clock=clock, inbound=tk.InboundSettings(reopen_within=3))
        t = self._resolved(desk)
        clock.advance(timedelta(days=4, hours=1))  # Friday: Mon+3 business days is Thursday
        outcome = desk.receive(mail("r2@x", reply_to="r@x"))
        assert ("followup", t) == (outcome.action, outcome.parent_id)
        new = desk.get(outcome.ticket_id or "", actor=ADMIN)
        assert [("followup", t)] == [(link.kind, link.ticket_id) for link in new.links]
        assert "resolved" == desk.get(t, actor=ADMIN).status

    def test_without_a_window_a_resolved_ticket_always_reopens(self) -> None:
        """reopen_within=None: a reply a month later still reopens a resolved ticket."""
        clock = ManualClock(T0)
        desk = desk_for(clock=clock, inbound=tk.InboundSettings(reopen_within=None))
        t = self._resolved(desk)
        clock.advance(timedelta(days=30))
        assert ("threaded", "open") == (
            desk.receive(mail("r2@x", reply_to="r@x")).action,
            desk.get(t, actor=ADMIN).status,
        )

    def test_the_chat_goes_on_in_the_followup(self) -> None:
        """The next message of a chat whose ticket is closed joins the follow-up, not yet another one."""
        desk = desk_for(inbound=tk.InboundSettings(join_open=False))
        t = desk.receive(mail("w1", conversation="chat-1")).ticket_id or ""
        desk.fire(t, "open", actor=ADMIN)
        desk.fire(t, "resolve", actor=ADMIN)
        desk.fire(t, "close", actor=ADMIN)
        follow = desk.receive(mail("w2", conversation="chat-1"))
        more = desk.receive(mail("w3", conversation="chat-1"))
        assert ("followup", "threaded", follow.ticket_id) == (follow.action, more.action, more.ticket_id)
        f = follow.ticket_id or ""
        desk.fire(f, "open", actor=ADMIN)
        desk.fire(f, "resolve", actor=ADMIN)
        desk.fire(f, "close", actor=ADMIN)
        third = desk.receive(mail("w4", conversation="chat-1"))
        assert ("followup", f) == (third.action, third.parent_id)
        assert 3 == desk.store.count()

    def test_closed_ticket_gets_a_followup(self) -> None:
        """A closed ticket is never reopened, however recent."""
        desk = desk_for(inbound=tk.InboundSettings(reopen_within=None))
        t = self._resolved(desk)
        desk.fire(t, "close", actor=ADMIN)
        outcome = desk.receive(mail("r2@x", reply_to="r@x"))
        assert ("followup", t) == (outcome.action, outcome.parent_id)


class TestLoopAndNoise:
    AUTO = Automatic(reason="auto-reply", evidence="Auto-Submitted: auto-replied")

    def test_automatic_message_never_opens(self) -> None:
        """An out-of-office reply that threads nowhere is ignored, naming why."""
        desk = desk_for()
        outcome = desk.receive(mail("o@x", automatic=self.AUTO))
        assert ("ignored", 0) == (outcome.action, desk.store.count())
        assert "auto-reply" in outcome.reason

    def test_automatic_reply_is_an_internal_note_moving_no_clock(self) -> None:
        """On an open ticket: an internal automatic note; SLA state, status and notifications unchanged."""
        policy = tk.SLAPolicy(
            name="std",
            calendar=tk.BusinessCalendar.always_open(),
            targets={
                "default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=8))
            },
            pause_in={"pending"},
        )
        rec = tk.RecordingNotifier()
        desk = desk_for(policies=[policy], notifier=rec)
        t = desk.receive(mail("r@x")).ticket_id or ""
        desk.fire(t, "open", actor=ADMIN)
        desk.fire(t, "wait", actor=ADMIN)
        before = desk.get(t, actor=ADMIN)
        sent = len(rec.sent)
        outcome = desk.receive(mail("o@x", reply_to="r@x", automatic=self.AUTO))
        after = desk.get(t, actor=ADMIN)
        assert ("threaded", "pending") == (outcome.action, after.status)
        assert before.sla == after.sla
        note = comments(desk, t)[-1]
        assert (False, True, "system") == (note.public, note.automatic, note.author_kind)
        assert [] == [n for n in rec.sent[sent:] if any(r.startswith("customer:") for r in n.recipients)]

    def test_automatic_message_never_reopens(self) -> None:
        """An auto-reply to a resolved ticket leaves it resolved and opens nothing."""
        desk = desk_for()
        t = desk.receive(mail("r@x")).ticket_id or ""
        desk.fire(t, "open", actor=ADMIN)
        desk.fire(t, "resolve", actor=ADMIN)
        outcome = desk.receive(mail("o@x", reply_to="r@x", automatic=self.AUTO))
        assert ("ignored", t, "resolved", 1) == (
            outcome.action,
            outcome.ticket_id,
            desk.get(t, actor=ADMIN).status,
            desk.store.count(),
        )

    def test_weak_guess_opens_without_acknowledgement(self) -> None:
        """A subject-only out-of-office guess opens a ticket (a person may have written it), with no ack."""
        rec = tk.RecordingNotifier()
        desk = desk_for(notifier=rec)
        weak = Automatic(reason="auto-reply", evidence="Subject: Out of office", weak=True)
        outcome = desk.receive(mail("w@x", subject="Out of office", automatic=weak))
        human = desk.receive(mail("h@x", sender="wang@mail.cn"))
        assert "opened" == outcome.action
        acks = {
            n.ticket.id
            for n in rec.of_kind("ticket.created")
            if any(r.startswith("customer:") for r in n.recipients)
        }
        assert {human.ticket_id} == acks

    def test_bounce_marks_the_address_failing(self) -> None:
        """A bounce names failed addresses; the directory records them; nothing is opened."""
        directory = tk.InMemoryDirectory()
        desk = desk_for(customers=directory)
        bounce = Automatic(reason="bounce", evidence="Status: 5.1.1")
        outcome = desk.receive(
            mail("b@x", sender="mailer-daemon@mx.cn", automatic=bounce, bounced=("gone@x.cn",))
        )
        assert ("ignored", "Status: 5.1.1", None) == (
            outcome.action,
            directory.failing("gone@x.cn"),
            directory.failing("li@mail.cn"),
        )

    def test_rate_limit_per_sender(self) -> None:
        """Beyond the limit within a window a sender is ignored; the next window on the clock allows again."""
        clock = ManualClock(T0)
        desk = desk_for(
            clock=clock, inbound=tk.InboundSettings(rate_limit=3, rate_window=timedelta(minutes=10))
        )
        actions = [desk.receive(mail(f"f{i}@x", subject=f"s{i}")).action for i in range(5)]
        other = desk.receive(mail("o@x", sender="wang@mail.cn")).action
        clock.advance(timedelta(minutes=11))
        later = desk.receive(mail("late@x")).action
        assert (["opened", "threaded", "threaded", "ignored", "ignored"], "opened", "threaded") == (
            actions,
            other,
            later,
        )
        assert "duplicate" == desk.receive(mail("f4@x")).action

    def test_rate_limit_is_shared_by_workers(self, tmp_path: Path) -> None:
        """Two desks on one SQLite file (two workers) share a sender's limit instead of each allowing it."""
        clock = ManualClock(T0)
        settings = tk.InboundSettings(rate_limit=3, rate_window=timedelta(minutes=10), join_open=False)
        path = tmp_path / "d.db"
        workers = [desk_for(tk.SQLiteStore(path), clock=clock, inbound=settings) for _ in range(2)]
        actions = [workers[i % 2].receive(mail(f"w{i}@x", subject=f"s{i}")).action for i in range(8)]
        assert ["ignored"] * 5 == [a for a in actions if a == "ignored"]
        assert "ignored" not in actions[:3]
        clock.advance(timedelta(minutes=10))
        assert "ignored" != workers[1].receive(mail("next-window@x")).action

    def test_two_desks_acknowledging_each_other_stop(self) -> None:
        """Two desks auto-acknowledging new tickets by mail stop after at most one ack each."""
        desks = {
            "a@desk-a.example": desk_for(
                notifier=tk.RecordingNotifier(), inbound=tk.InboundSettings(domain="desk-a.example")
            ),
            "b@desk-b.example": desk_for(
                notifier=tk.RecordingNotifier(), inbound=tk.InboundSettings(domain="desk-b.example")
            ),
        }
        sent: dict[str, int] = dict.fromkeys(desks, 0)
        # B's robot (a person's mistake: no Auto-Submitted) writes to A first.
        queue = [
            (
                "a@desk-a.example",
                (
                    b"From: b@desk-b.example\r\nTo: a@desk-a.example\r\n"
                    b"Message-ID: <first@desk-b.example>\r\nSubject: Order 42\r\n\r\nPlease confirm.\r\n"
                ),
            )
        ]
        rounds = 0
        while queue and rounds < 20:
            rounds += 1
            to, raw = queue.pop(0)
            desk = desks[to]
            notifier = desk.notifier
            assert isinstance(notifier, tk.RecordingNotifier)
            before = len(notifier.sent)
            outcome = desk.receive(parse_email(raw))
            for n in notifier.sent[before:]:
                if n.kind != "ticket.created" or not any(r.startswith("customer:") for r in n.recipients):
                    continue
                sent[to] += 1
                other = next(k for k in desks if k != to)
                headers = email_reply_headers(
                    ticket_id=n.ticket.id, notification_id="ack", domain=to.split("@")[1],
                    subject=n.ticket.subject, automatic="auto-replied",
                )  # fmt: skip
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                queue.append((other, f"From: {to}\r\nTo: {other}\r\n{head}\r\nWe got it.\r\n".encode()))
            assert outcome.action in {"opened", "ignored"}
        assert ([], True) == (queue, all(n <= 1 for n in sent.values()))
        assert 1 == sum(sent.values())


class TestIdentity:
    def test_two_channels_one_customer_one_ticket(self) -> None:
        """The directory links a WeChat openid to the customer's e-mail: both messages land on one ticket."""
        directory = tk.InMemoryDirectory([tk.Customer(id="c-7", email="li@mail.cn", phone="13812345678")])
        directory.link_identity("c-7", "wechat_openid", "oFollower1")
        desk = desk_for(customers=directory)
        by_mail = desk.receive(mail("m1@x"))
        wechat = parse_wechat((WECHAT / "oa-text.xml").read_bytes())
        assert ("wechat_openid", "oFollower1") == (wechat.sender.kind, wechat.sender.value)
        by_wechat = desk.receive(wechat)
        assert ("opened", "threaded", by_mail.ticket_id) == (
            by_mail.action,
            by_wechat.action,
            by_wechat.ticket_id,
        )
        ticket = desk.get(by_mail.ticket_id or "", actor=ADMIN)
        assert "c-7" == (ticket.customer.id if ticket.customer else None)
        sms = desk.receive(mail("p1", channel="phone", kind="phone", sender="+86 138 1234 5678"))
        assert by_mail.ticket_id == sms.ticket_id

    def test_unknown_sender_becomes_a_customer_of_its_identity(self) -> None:
        """Without a directory entry the customer is the identity (with its e-mail filled in)."""
        desk = desk_for()
        t = desk.get(desk.receive(mail("m@x", sender="Wang@Mail.cn")).ticket_id or "", actor=ADMIN)
        assert t.customer is not None
        assert ("email:wang@mail.cn", "wang@mail.cn") == (t.customer.id, t.customer.email)

    def test_directory_identities(self) -> None:
        """link_identity checks its arguments; a plain directory finds e-mail and phone, nothing else."""
        d = tk.InMemoryDirectory([tk.Customer(id="c-1", email="a@x.cn", phone="13812345678")])
        with pytest.raises(ValidationError):
            d.link_identity("", "wechat_openid", "o1")

        class Crm(tk.CustomerDirectory):
            def get(self, customer_id: str, *, tenant: str = "default") -> tk.Customer | None:
                return d.get(customer_id, tenant=tenant)

            def find(
                self, *, email: str | None = None, phone: str | None = None, tenant: str = "default"
            ) -> tk.Customer | None:
                return d.find(email=email, phone=phone, tenant=tenant)

        crm = Crm()
        found = [
            crm.find_identity(k, v)
            for k, v in (("email", "A@x.cn"), ("phone", "138 1234 5678"), ("app_user", "u"))
        ]
        assert ["c-1", "c-1", None] == [c.id if c else None for c in found]
        crm.mark_failing("a@x.cn", reason="bounced")  # the default does nothing, and says so
        desk = desk_for(customers=crm)
        assert "opened" == desk.receive(mail("b@x", automatic=None, bounced=("a@x.cn",))).action


class TestAttachments:
    def _file(self, blobs: InMemoryBlobStore, data: bytes, name: str = "photo.jpg") -> Attachment:
        key = blobs.put(data)
        return Attachment(
            name=name,
            content_type="image/jpeg",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
        )

    def test_attachments_on_the_comment_within_limits(self) -> None:
        """Stored attachments within the size limit go on a comment; a large or missing one is only named."""
        blobs = InMemoryBlobStore()
        small = self._file(blobs, b"x" * 10)
        big = self._file(blobs, b"y" * 100, "video.mp4")
        missing = Attachment(
            name="lost.pdf", content_type="application/pdf", size=1, sha256="0" * 64, storage_key="0" * 64
        )
        desk = desk_for(blobs=blobs, inbound=tk.InboundSettings(max_attachment_bytes=50))
        t = desk.receive(mail("a@x", attachments=(small, big, missing))).ticket_id or ""
        reply = desk.receive(mail("b@x", reply_to="a@x", attachments=(small,)))
        found = [c for c in comments(desk, t) if c.attachments]
        assert [(small,), (small,)] == [c.attachments for c in found]
        assert "threaded" == reply.action
        assert {small.storage_key} == blob_keys_of(desk.history(t, actor=ADMIN))
        assert "not attached: video.mp4, lost.pdf" in desk.get(t, actor=ADMIN).description
        assert desk.blobs is blobs

    def test_attachments_survive_export_and_import(self) -> None:
        """A comment's attachments are in the export and come back on import."""
        import io

        blobs = InMemoryBlobStore()
        desk = desk_for(blobs=blobs)
        a = self._file(blobs, b"pdf")
        t = desk.receive(mail("a@x", attachments=(a,))).ticket_id or ""
        buf = io.StringIO()
        desk.store.export(buf)
        other = tk.InMemoryStore()
        other.import_(io.StringIO(buf.getvalue()))
        found = [c for c in desk_for(other).comments(t, actor=ADMIN) if c.attachments]
        assert [(a,)] == [c.attachments for c in found]

    def test_comment_refuses_a_non_attachment(self) -> None:
        """Comment(attachments=[...]) checks each item."""
        with pytest.raises(ValidationError):
            tk.Comment(ticket_id="T1", author="a", body="b", at=T0, attachments=["x"])  # type: ignore[list-item]


class TestSettings:
    def test_round_trip_and_refusals(self) -> None:
        """Settings round-trip through their plain form; bad values and unknown keys are listed."""
        s = tk.InboundSettings(domain="d.example", token="<{id}>", reopen_within=None, rate_limit=None)
        assert s == tk.InboundSettings.from_dict(json.loads(json.dumps(s.to_dict())))
        with pytest.raises(ValidationError) as err:
            tk.InboundSettings(rate_limit=-1, rate_window=timedelta(0), join_open="yes", domain="@x")  # type: ignore[arg-type]
        assert {"rate_limit", "rate_window", "join_open", "domain"} == {e.path for e in err.value.errors}
        for bad in ({"nope": 1}, {"rate_window": "10m"}, [], {"token": "no id"}, {"category": ""}):
            with pytest.raises(ValidationError):
                tk.InboundSettings.from_dict(bad)
        with pytest.raises(ValidationError):
            desk_for(inbound={"rate_limit": 1})  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            desk_for(blobs=object())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

# Threads of messages: each thread has its own sender; message j of thread i names the
# earlier messages of its thread in References (as mail clients do).
THREADS = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=5)


def _thread_messages(sizes: list[int]) -> list[InboundMessage]:
    out = []
    for i, n in enumerate(sizes):
        ids = [f"t{i}m{j}@x" for j in range(n)]
        for j, mid in enumerate(ids):
            out.append(mail(mid, sender=f"c{i}@x", subject=f"thread {i}", refs=tuple(ids[:j])))
    return out


def _grouping(desk: tk.Helpdesk, messages: list[InboundMessage]) -> set[frozenset[str]]:
    by_ticket: dict[str, set[str]] = {}
    for m in messages:
        tid = desk.store.message_key(f"msg:{m.channel}:{m.message_id}", tenant="default")
        assert tid
        by_ticket.setdefault(tid, set()).add(m.message_id)
    return {frozenset(v) for v in by_ticket.values()}


class TestProperties:
    @settings(max_examples=40, deadline=None)
    @given(sizes=THREADS, data=st.data())
    def test_any_order_and_repetition_gives_the_same_tickets(
        self, sizes: list[int], data: st.DataObject
    ) -> None:
        """Shuffled and repeated deliveries give one ticket per thread, whatever the order."""
        messages = _thread_messages(sizes)
        deliveries = data.draw(
            st.permutations(messages + data.draw(st.lists(st.sampled_from(messages), max_size=6)))
        )
        desk = desk_for(inbound=tk.InboundSettings(rate_limit=None, join_open=False))
        outcomes = [desk.receive(m) for m in deliveries]
        expected = {frozenset(f"t{i}m{j}@x" for j in range(n)) for i, n in enumerate(sizes)}
        assert expected == _grouping(desk, messages)
        assert len(sizes) == desk.store.count()
        assert len(deliveries) - len(messages) == sum(o.action == "duplicate" for o in outcomes)

    @settings(max_examples=25, deadline=None)
    @given(sizes=THREADS, data=st.data())
    def test_replaying_everything_changes_nothing(self, sizes: list[int], data: st.DataObject) -> None:
        """After all messages are in, delivering any of them again leaves every ticket's history as it is."""
        messages = _thread_messages(sizes)
        desk = desk_for(inbound=tk.InboundSettings(rate_limit=None))
        for m in messages:
            desk.receive(m)
        before = {t.id: desk.history(t.id, actor=ADMIN) for t in desk.store.scan()}
        again = data.draw(st.lists(st.sampled_from(messages), min_size=1, max_size=8))
        assert {"duplicate"} == {desk.receive(m).action for m in again}
        assert before == {t.id: desk.history(t.id, actor=ADMIN) for t in desk.store.scan()}


# --------------------------------------------------------------------------- the corpus

EXPECTATIONS: dict[str, Any] = json.loads((MAIL / "expectations.json").read_text(encoding="utf-8"))
KNOWN = EXPECTATIONS["known"]


def _expected_action(expect: dict[str, Any]) -> str:
    automatic = expect["automatic"] is not None and not expect["weak"]
    if expect["rule"] is None:
        return "ignored" if automatic else "opened"
    return "threaded"


def _corpus_desk(name: str, message: InboundMessage) -> tk.Helpdesk:
    """A desk that knows the corpus's tickets, message ids and conversations (and this sender on them)."""
    store = tk.InMemoryStore()
    for tid in KNOWN["tokens"]:
        store.create(tk.Ticket(id=tid, subject=f"known {tid}", created_at=T0 - timedelta(days=1)))
    for mid, tid in KNOWN["message_ids"].items():
        store.bind_message_keys([f"mid:{mid}"], tid, tenant="default")
    for conv, tid in KNOWN["conversations"].items():
        store.bind_message_keys(
            [f"conv:email:{conv}", f"conv:wechat:{conv}", f"conv:wecom:{conv}"], tid, tenant="default"
        )
    customer = f"{message.sender.kind}:{message.sender.value}"
    for tid in KNOWN["tokens"]:  # the sender wrote on every known ticket before
        store.bind_message_keys([participant_key(tid, customer)], tid, tenant="default")
    return desk_for(store, inbound=tk.InboundSettings(rate_limit=None))


class TestCorpusThroughReceive:
    @pytest.mark.parametrize("name", sorted(EXPECTATIONS["messages"]))
    def test_message(self, name: str) -> None:
        """Each corpus mail, received: opened, threaded onto its expected ticket, or ignored as automatic."""
        expect = EXPECTATIONS["messages"][name]
        message = parse_email((MAIL / f"{name}.eml").read_bytes())
        desk = _corpus_desk(name, message)
        outcome = desk.receive(message)
        action = _expected_action(expect)
        assert action == outcome.action, outcome.reason
        if action == "threaded":
            assert (expect["ticket"], expect["rule"]) == (outcome.ticket_id, outcome.rule)
            last = desk.history(expect["ticket"], actor=ADMIN)[-1]
            automatic = expect["automatic"] is not None and not expect["weak"]
            assert ("system" if automatic else "customer") == last.data["comment"]["author_kind"]
        if action == "ignored":
            assert len(KNOWN["tokens"]) == desk.store.count()
        assert "duplicate" == desk.receive(message).action
