"""Personal data at the desk: masking by role on every read, redaction, erasure, retention in the sweep."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import ticketkit as tk
from ticketkit.analytics import monthly_report
from ticketkit.errors import NotFoundError, PermissionDeniedError, ValidationError
from ticketkit.testing import ManualClock

pytest_plugins = ("tests.postgres_fixture",)

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
PHONE = "13812345678"
MASKED = "138****5678"
EMAIL = "wangfang@example.com"
NAME = "王芳"

ADMIN = tk.Actor(id="boss", roles={"admin"})
LI = tk.Actor(id="li", roles={"agent"}, teams={"after-sales"})  # the assignee
WU = tk.Actor(id="wu", roles={"agent"}, teams={"after-sales"})  # a teammate
LEAD = tk.Actor(id="zhou", roles={"lead"}, teams={"after-sales"})
OWNER = tk.Actor.customer("c-1")


def make_desk(store: tk.TicketStore | None = None, **kwargs: Any) -> tuple[tk.Helpdesk, ManualClock]:
    clock = ManualClock(T0)
    desk = tk.Helpdesk(store=store if store is not None else tk.InMemoryStore(), clock=clock, **kwargs)
    return desk, clock


def open_personal(desk: tk.Helpdesk, customer: str = "c-1", **kwargs: Any) -> tk.Ticket:
    return desk.open(
        subject=f"电话{PHONE} 请回电",
        description=f"邮箱 {EMAIL}",
        customer=tk.Customer(id=customer, name=NAME, phone=PHONE, email=EMAIL),
        team="after-sales",
        assignee="li",
        **kwargs,
    )


class TestMaskingOnReads:
    """Every read path masks personal data for actors without the reveal right on the ticket."""

    @pytest.mark.parametrize(
        ("actor", "revealed"),
        [(ADMIN, True), (LI, True), (LEAD, True), (OWNER, True), (WU, False)],
        ids=["admin", "assignee", "lead", "own customer", "teammate"],
    )
    def test_get_by_role(self, actor: tk.Actor, revealed: bool) -> None:
        """get: admins, the assignee, the lead and the customer see the number; a teammate sees it masked."""
        desk, _ = make_desk()
        t = open_personal(desk)
        got = desk.get(t.id, actor=actor)
        assert revealed == (PHONE in got.subject)
        assert (not revealed) == (MASKED in got.subject)
        assert revealed == (got.customer is not None and got.customer.phone == PHONE)

    def test_tickets_masks_each_listed_ticket(self) -> None:
        """tickets: a teammate's listing shows every ticket masked, the assignee's shows them as stored."""
        desk, _ = make_desk()
        for _ in range(3):
            open_personal(desk, dedupe=False)
        assert 3 * [f"电话{MASKED} 请回电"] == [t.subject for t in desk.tickets(actor=WU)]
        assert 3 * [f"电话{PHONE} 请回电"] == [t.subject for t in desk.tickets(actor=LI)]

    def test_history_masks_event_copies(self) -> None:
        """history: the subject copied into ticket.created and the customer's actor ref are masked."""
        desk, _ = make_desk()
        t = open_personal(desk)
        desk.comment(t.id, f"call me at {PHONE}", actor=OWNER)
        shown = json.dumps([tk.to_dict(e) for e in desk.history(t.id, actor=WU)], ensure_ascii=False)
        raw = json.dumps([tk.to_dict(e) for e in desk.history(t.id, actor=LI)], ensure_ascii=False)
        assert PHONE not in shown
        assert EMAIL not in shown
        assert MASKED in shown
        assert PHONE in raw

    def test_comments_masked(self) -> None:
        """comments: bodies are masked for a teammate, kept for the assignee."""
        desk, _ = make_desk()
        t = open_personal(desk)
        desk.comment(t.id, f"my mail is {EMAIL}", actor=OWNER)
        assert [f"my mail is {EMAIL}"] == [c.body for c in desk.comments(t.id, actor=LI)]
        (masked,) = desk.comments(t.id, actor=WU)
        assert EMAIL not in masked.body
        assert "@example.com" in masked.body

    def test_children_masked(self) -> None:
        """children: sub-tickets come masked for a teammate like any listing."""
        desk, _ = make_desk()
        t = open_personal(desk)
        desk.spawn(t.id, subject=f"call {PHONE}", team="after-sales", actor=ADMIN)
        assert [f"call {MASKED}"] == [c.subject for c in desk.children(t.id, actor=WU)]

    def test_progress_carries_no_personal_data(self) -> None:
        """progress: the customer's view holds status, team and times only: no personal data whoever asks."""
        desk, _ = make_desk()
        t = open_personal(desk)
        for actor in (OWNER, WU, ADMIN):
            text = repr(desk.progress(t.id, actor=actor))
            assert PHONE not in text
            assert EMAIL not in text
            assert NAME not in text

    def test_masked_export_masks_even_for_admins(self) -> None:
        """export(mask=True) masks tickets and events through the privacy masker, names included."""
        desk, _ = make_desk()
        open_personal(desk)
        buf = io.StringIO()
        assert 1 == desk.export(buf, actor=ADMIN)
        text = buf.getvalue()
        for value in (PHONE, EMAIL, NAME):
            assert value not in text
        assert MASKED in text

    def test_unmasked_export_needs_the_whole_tenant(self) -> None:
        """export(mask=False): an admin gets the values; a lead (scope team) is refused."""
        desk, _ = make_desk()
        open_personal(desk)
        buf = io.StringIO()
        desk.export(buf, actor=ADMIN, mask=False)
        assert PHONE in buf.getvalue()
        with pytest.raises(PermissionDeniedError):
            desk.export(io.StringIO(), actor=LEAD, mask=False)

    def test_reveal_policy_is_configurable(self) -> None:
        """RevealPolicy(scopes={"agent": "team"}) shows a teammate the number; empty scopes show nobody."""
        desk, _ = make_desk(reveal=tk.RevealPolicy(scopes={"agent": "team", "admin": "all"}))
        t = open_personal(desk)
        assert PHONE in desk.get(t.id, actor=WU).subject
        assert desk.reveal.scope(frozenset({"agent"})) == "team"
        strict, _ = make_desk(reveal=tk.RevealPolicy(scopes={}))
        t2 = open_personal(strict)
        assert PHONE not in strict.get(t2.id, actor=ADMIN).subject

    def test_bad_privacy_settings_are_listed(self) -> None:
        """Wrong reveal, personal, retention and region settings are one ValidationError naming each."""
        with pytest.raises(ValidationError) as info:
            tk.Helpdesk(
                store=tk.InMemoryStore(),
                reveal="all",  # type: ignore[arg-type]
                personal={},  # type: ignore[arg-type]
                retention=[tk.RetentionPolicy(after="P1Y"), tk.RetentionPolicy(after="P2Y"), "x"],  # type: ignore[list-item]
                region="china",
            )
        assert ["reveal", "personal", "retention[1].name", "retention[2]", "region"] == [
            e.path for e in info.value.errors
        ]

    def test_notifications_masked_unless_only_the_customer_reads(self) -> None:
        """A customer's message notifies the assignee masked; a public reply reaches the customer as is."""
        notes = tk.RecordingNotifier()
        desk, _ = make_desk(notifier=notes)
        t = open_personal(desk)
        desk.comment(t.id, f"call me at {PHONE}", actor=OWNER)
        desk.comment(t.id, f"we will call {PHONE}", actor=LI, public=True)
        to_agent = [n for n in notes.sent if n.is_for("agent:li") and n.kind == "comment.added"]
        to_customer = [n for n in notes.sent if n.is_for("customer:c-1") and n.kind == "comment.added"]
        assert to_agent
        assert to_customer
        for n in to_agent:
            assert PHONE not in n.message + json.dumps(tk.to_dict(n)["data"], ensure_ascii=False)
            assert n.ticket.customer is not None
            assert PHONE == n.ticket.customer.phone  # the notifier still has the address
        assert any(PHONE in json.dumps(dict(n.data), ensure_ascii=False, default=str) for n in to_customer)

    def test_notifications_mask_what_the_desk_declares(self) -> None:
        """A customer data value the desk declares personal is masked in the assignee's notification."""
        notes = tk.RecordingNotifier()
        personal = tk.PersonalFields(customer={"name", "email", "phone", "data.member_no"})
        desk, _ = make_desk(notifier=notes, personal=personal)
        member = "VIP-88231"
        t = desk.open(
            subject="refund please",
            customer=tk.Customer(id="c-1", name=NAME, data={"member_no": member}),
            team="after-sales",
            assignee="li",
        )
        desk.comment(t.id, f"my member number is {member}", actor=OWNER)
        to_agent = [n for n in notes.sent if n.is_for("agent:li") and n.kind == "comment.added"]
        assert to_agent
        for n in to_agent:
            assert member not in n.message + json.dumps(tk.to_dict(n)["data"], ensure_ascii=False)

    def test_notifications_to_the_customer_alone_speak_their_language(self) -> None:
        """A public reply notifies a zh-CN customer in Chinese; the assignee still reads English."""
        notes = tk.RecordingNotifier()
        desk, _ = make_desk(notifier=notes)
        t = desk.open(
            subject="退款",
            customer=tk.Customer(id="c-1", name=NAME, locale="zh-CN"),
            team="after-sales",
            assignee="li",
        )
        desk.comment(t.id, "我们明天回电", actor=LI, public=True)
        desk.comment(t.id, "好的", actor=OWNER)
        to_customer = [
            n for n in notes.sent if n.recipients == ("customer:c-1",) and n.kind == "comment.added"
        ]
        to_agent = [n for n in notes.sent if n.is_for("agent:li") and n.kind == "comment.added"]
        assert to_customer
        assert to_agent
        assert all(n.message.startswith("工单 ") for n in to_customer)
        assert all(n.message.startswith("Ticket ") for n in to_agent)


class TestNotificationView:
    """What a notification may carry, whoever queued it (events, automations, escalations)."""

    def test_only_the_own_customer_gets_values(self) -> None:
        """Own customer alone: as is; staff, a mix or nobody: message and data masked."""
        from ticketkit.desk._masking import notification_view

        t = tk.Ticket(subject="s", created_at=T0, customer=tk.Customer(id="c-1", name=NAME))
        message, data = f"{NAME} {PHONE}", {"body": f"mail {EMAIL}"}
        assert (message, data) == notification_view(t, ["customer:c-1"], message, data)
        for recipients in (["agent:li"], ["customer:c-1", "team:a"], ["customer:c-2"], []):
            shown, shown_data = notification_view(t, recipients, message, data)
            assert NAME not in shown
            assert PHONE not in shown
            assert EMAIL not in shown_data["body"]

    def test_automation_notifications_masked(self) -> None:
        """An automation's notification to the team is masked like an event's."""
        notes = tk.RecordingNotifier()
        rule = {
            "name": "tell team",
            "on": ["ticket.created"],
            "actions": [{"notify": {"to": ["team"], "message": f"new ticket from {PHONE}"}}],
        }
        desk, _ = make_desk(notifier=notes, automations=[rule])
        open_personal(desk)
        mine = [n for n in notes.sent if n.kind == "automation"]
        assert mine
        assert all(PHONE not in n.message for n in mine)


class TestRedact:
    """Helpdesk.redact rewrites the ticket and its events and records what went."""

    @pytest.mark.parametrize("backend", ["memory", "sqlite"])
    def test_redact_span_everywhere(self, backend: str, tmp_path: Path) -> None:
        """A redacted span is gone from the ticket, its event copies and the export; an event records it."""
        store = tk.InMemoryStore() if backend == "memory" else tk.SQLiteStore(tmp_path / "d.db")
        desk, _ = make_desk(store)
        t = open_personal(desk)
        span = tk.RedactSpan(path="subject", start=2, end=13)
        new = desk.redact(t.id, [span], reason="customer asked", actor=LI)
        assert "电话[redacted] 请回电" == new.subject
        assert t.version + 1 == new.version
        history = desk.history(t.id, actor=ADMIN)
        assert "ticket.redacted" == history[-1].kind
        assert [{"path": "subject", "kind": "phone", "length": 11}] == [
            dict(r) for r in history[-1].data["removed"]
        ]
        assert len(store.events(t.id)) == len(history)
        assert PHONE not in json.dumps([tk.to_dict(e) for e in store.events(t.id)], ensure_ascii=False)
        buf = io.StringIO()
        store.export(buf)
        assert PHONE not in buf.getvalue().replace(f'"phone":"{PHONE}"', "")  # the customer record keeps it

    def test_redact_a_path_by_name(self) -> None:
        """A plain path removes the whole value; the new version is returned."""
        desk, _ = make_desk()
        t = open_personal(desk)
        new = desk.redact(t.id, "description", reason="not needed", actor=ADMIN)
        assert "[redacted]" == new.description

    def test_redact_needs_the_reveal_right(self) -> None:
        """A lead who may update but not see the data (policy without leads) cannot redact."""
        desk, _ = make_desk(reveal=tk.RevealPolicy(scopes={"admin": "all"}))
        t = open_personal(desk)
        with pytest.raises(PermissionDeniedError):
            desk.redact(t.id, ["subject"], reason="x", actor=LEAD)
        assert t.version == desk.get(t.id, actor=ADMIN).version

    def test_redact_refuses_bad_input(self) -> None:
        """No span, an unknown path or no reason is a ValidationError; nothing changes."""
        desk, _ = make_desk()
        t = open_personal(desk)
        with pytest.raises(ValidationError):
            desk.redact(t.id, [], reason="x", actor=ADMIN)
        with pytest.raises(ValidationError):
            desk.redact(t.id, ["nonsense"], reason="x", actor=ADMIN)
        with pytest.raises(ValidationError):
            desk.redact(t.id, ["subject"], reason=" ", actor=ADMIN)
        with pytest.raises(ValidationError):
            desk.redact(t.id, ["subject"], reason="x", actor="boss")  # type: ignore[arg-type]
        assert t.version == desk.get(t.id, actor=ADMIN).version

    def test_redact_of_a_store_without_rewrite(self) -> None:
        """A store keeping the default rewrite says so by name."""

        class Plain(tk.InMemoryStore):
            rewrite = tk.TicketStore.rewrite

        desk, _ = make_desk(Plain())
        t = open_personal(desk)
        with pytest.raises(NotImplementedError, match="rewrite"):
            desk.redact(t.id, ["subject"], reason="x", actor=ADMIN)


class TestEraseCustomer:
    """Helpdesk.erase_customer anonymises every ticket of one customer and nothing else."""

    def test_erase_all_their_tickets_only(self) -> None:
        """The customer's tickets lose their data under one pseudonym; another customer's stay."""
        desk, _ = make_desk()
        mine = [open_personal(desk, dedupe=False) for _ in range(3)]
        other = desk.open(subject="call 13900001111", customer=tk.Customer(id="c-2", name="李雷"))
        report = desk.erase_customer("c-1", actor=ADMIN)
        assert sorted(t.id for t in mine) == sorted(report.tickets)
        assert report.pseudonym.startswith("erased-")
        assert report.removed["phone"] >= 3
        for t in mine:
            got = desk.get(t.id, actor=ADMIN)
            assert got.customer is not None
            assert report.pseudonym == got.customer.id
            text = json.dumps(
                [tk.to_dict(got), *(tk.to_dict(e) for e in desk.history(t.id, actor=ADMIN))],
                ensure_ascii=False,
            )
            for value in (PHONE, EMAIL, NAME, "c-1"):
                assert value not in text
            assert "ticket.anonymized" == desk.history(t.id, actor=ADMIN)[-1].kind
        assert other == desk.get(other.id, actor=ADMIN)
        assert () == desk.erase_customer("c-1", actor=ADMIN).tickets  # nothing left to erase

    def test_only_admins_erase(self) -> None:
        """A lead is refused, and so is an admin whose reveal scope is narrower than the tenant."""
        desk, _ = make_desk()
        t = open_personal(desk)
        with pytest.raises(PermissionDeniedError):
            desk.erase_customer("c-1", actor=LEAD)
        narrow, _ = make_desk(reveal=tk.RevealPolicy(scopes={"admin": "team"}))
        open_personal(narrow)
        with pytest.raises(PermissionDeniedError):
            narrow.erase_customer("c-1", actor=ADMIN)
        with pytest.raises(ValidationError):
            desk.erase_customer("", actor=ADMIN)
        assert PHONE in desk.get(t.id, actor=ADMIN).subject

    def test_erasure_stays_in_the_tenant(self) -> None:
        """Another tenant's ticket of a customer with the same id is not touched."""
        desk, _ = make_desk()
        open_personal(desk)
        there = desk.open(
            subject=f"call {PHONE}", customer=tk.Customer(id="c-1", tenant="acme"), tenant="acme"
        )
        desk.erase_customer("c-1", actor=ADMIN)
        assert there == desk.get(there.id, actor=tk.Actor(id="boss", roles={"admin"}, tenant="acme"))


def _fill(desk: tk.Helpdesk, clock: ManualClock, n: int, erased: int) -> list[str]:
    """``n`` tickets, ``erased`` of them by the customer to erase (with comments), the rest by others."""
    ids = []
    for i in range(n):
        clock.set(T0 + timedelta(minutes=7 * i))
        if i % (n // erased) == 0:
            t = desk.open(
                subject=f"{NAME} 电话{PHONE} 第{i}次",
                description=f"邮箱 {EMAIL}",
                customer=tk.Customer(id="c-1", name=NAME, phone=PHONE, email=EMAIL, data={"store": "sh-01"}),
                category="repair",
                team="after-sales",
                dedupe=False,
            )
            desk.comment(t.id, f"我是{NAME}，手机{PHONE}", actor=OWNER)
            ids.append(t.id)
        else:
            t = desk.open(
                subject=f"ticket {i} SN 1234 5678",
                customer=tk.Customer(id=f"c-{i + 100}", name=f"客户{i}", data={"store": f"sh-0{i % 3}"}),
                category="repair" if i % 2 else "refund",
                team="after-sales",
                dedupe=False,
            )
        if i % 4 == 0:
            desk.fire(t.id, "open", actor=ADMIN)
            clock.advance(timedelta(hours=2))
            desk.fire(t.id, "resolve", actor=ADMIN)
    return ids


def _forms(value: str) -> list[bytes]:
    """How a value can sit in a file: UTF-8, JSON-escaped, UTF-16 (SQLite text may be either)."""
    return [value.encode(), json.dumps(value).strip('"').encode(), value.encode("utf-16-le")]


class Flaky(tk.InMemoryStore):
    """A store whose first ``fails`` rewrites meet a concurrent write (ConflictError)."""

    def __init__(self, fails: int) -> None:
        super().__init__()
        self.fails = fails

    def rewrite(
        self, ticket: tk.Ticket, events: Any, *, append: Any = (), expected_version: int
    ) -> tk.Ticket:
        if self.fails > 0:
            self.fails -= 1
            raise tk.ConflictError(ticket.id, expected_version, expected_version + 1)
        return super().rewrite(ticket, events, append=append, expected_version=expected_version)


class TestConcurrentWrites:
    """Redaction, erasure and retention meeting a concurrent write."""

    def test_redact_and_erase_retry_then_give_up(self) -> None:
        """A conflict is retried on the fresh ticket; after max_attempts conflicts the error is raised."""
        store = Flaky(fails=2)
        desk, _ = make_desk(store, max_attempts=3)
        t = open_personal(desk)
        assert "[redacted]" == desk.redact(t.id, "description", reason="x", actor=ADMIN).description
        store.fails = 2
        assert (t.id,) == desk.erase_customer("c-1", actor=ADMIN).tickets
        t2 = open_personal(desk, customer="c-2")
        store.fails = 3
        with pytest.raises(tk.ConflictError):
            desk.redact(t2.id, "description", reason="x", actor=ADMIN)
        store.fails = 3
        with pytest.raises(tk.ConflictError):
            desk.erase_customer("c-2", actor=ADMIN)

    def test_retention_conflict_comes_back_later(self) -> None:
        """A retention write that conflicts is skipped; the ticket is retained on a later tick."""
        store = Flaky(fails=0)
        desk, clock = make_desk(
            store, retention=[tk.RetentionPolicy(after="P1D")], lease=timedelta(minutes=1)
        )
        t = open_personal(desk)
        for trigger in ("open", "resolve", "close"):
            desk.fire(t.id, trigger, actor=ADMIN)
        clock.advance(timedelta(days=2))
        store.fails = 1
        assert [] == desk.tick()
        clock.advance(timedelta(minutes=2))
        assert ["ticket.anonymized"] == [e.kind for e in desk.tick()]


class TestEraseManyAndDeclared:
    """Erasure pages through many tickets; declared personal fields are masked on reads."""

    def test_erase_pages_through_hundreds(self) -> None:
        """More tickets than one page of the customer index are all erased."""
        desk, _ = make_desk()
        for _ in range(205):
            open_personal(desk, dedupe=False)
        assert 205 == len(desk.erase_customer("c-1", actor=ADMIN).tickets)
        assert 0 == desk.store.count(customer="c-1")

    def test_declared_fields_masked_on_reads(self) -> None:
        """Helpdesk(personal=...) masks a declared custom field for a teammate."""
        desk, _ = make_desk(personal=tk.PersonalFields(fields={"patient.name"}))
        t = open_personal(desk, fields={"patient": {"name": "Li Lei"}})
        assert "Li Lei" == desk.get(t.id, actor=LI).fields["patient"]["name"]
        assert "Li Lei" != desk.get(t.id, actor=WU).fields["patient"]["name"]

    def test_rewrite_refuses_events_that_are_not_a_list(self) -> None:
        """rewrite(events="...") is a ValidationError naming events."""
        desk, _ = make_desk()
        t = open_personal(desk)
        with pytest.raises(ValidationError) as info:
            desk.store.rewrite(attrs.evolve(t, version=2), "abc", expected_version=1)  # type: ignore[arg-type]
        assert ["events"] == [e.path for e in info.value.errors]


class TestErasureLeavesNoCopy:
    """After erase_customer the data is gone from the store itself: SQLite's files, PostgreSQL's rows."""

    def test_sqlite_file_has_no_trace(self, tmp_path: Path) -> None:
        """1000 tickets; after erasure no phone, e-mail or name of the customer is in the db, WAL or SHM."""
        path = tmp_path / "desk.db"
        store = tk.SQLiteStore(path)
        desk, clock = make_desk(store)
        ids = _fill(desk, clock, 1000, 20)
        before = monthly_report(store, month="2025-03")
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert any(f in raw for f in _forms(PHONE))  # the search finds what is there
        report = desk.erase_customer("c-1", actor=ADMIN)
        assert sorted(ids) == sorted(report.tickets)
        after = monthly_report(store, month="2025-03")
        assert before.overview.rows == after.overview.rows
        assert 1000 == store.count()
        files = sorted(tmp_path.iterdir())
        assert any(p.name.endswith("-wal") for p in files)
        for p in files:
            data = p.read_bytes()
            for value in (PHONE, EMAIL, NAME):
                for form in _forms(value):
                    assert form not in data, f"{value!r} found in {p.name}"
        store.close()
        for p in sorted(tmp_path.iterdir()):
            data = p.read_bytes()
            for value in (PHONE, EMAIL, NAME):
                for form in _forms(value):
                    assert form not in data, f"{value!r} found in {p.name} after close"

    @pytest.mark.postgres
    def test_postgres_rows_have_no_trace(
        self, make_postgres_store: Callable[..., Any], postgres_dsn: str
    ) -> None:
        """On PostgreSQL no row of the tickets or events tables holds the customer's data afterwards."""
        import psycopg

        store = make_postgres_store()
        desk, clock = make_desk(store)
        ids = _fill(desk, clock, 100, 10)
        before = monthly_report(store, month="2025-03")
        desk.erase_customer("c-1", actor=ADMIN)
        assert before.overview.rows == monthly_report(store, month="2025-03").overview.rows
        with psycopg.connect(postgres_dsn) as conn:
            rows = conn.execute(
                f'SELECT t::text FROM "{store.schema}".tickets t '
                f'UNION ALL SELECT e::text FROM "{store.schema}".events e'
            ).fetchall()
        text = "\n".join(r[0] for r in rows)
        assert len(rows) > 100
        for value in (PHONE, EMAIL, NAME):
            assert value not in text
        assert all(i in text for i in ids)


class TestRetention:
    """Retention policies run in the sweep, once per ticket, with a dry run."""

    def closed_ticket(self, desk: tk.Helpdesk, **kwargs: Any) -> tk.Ticket:
        t = open_personal(desk, dedupe=False, **kwargs)
        for trigger in ("open", "resolve", "close"):
            t = desk.fire(t.id, trigger, actor=ADMIN)
        return t

    def test_anonymize_once_when_due(self) -> None:
        """Before the period nothing happens; then one tick anonymises the ticket, later ticks do nothing."""
        desk, clock = make_desk(retention=[tk.RetentionPolicy(name="short", after="P30D")])
        t = self.closed_ticket(desk)
        assert desk.get(t.id, actor=ADMIN).next_due_at == t.closed_at + timedelta(days=30)  # type: ignore[operator]
        clock.advance(timedelta(days=29))
        assert [] == desk.tick()
        clock.advance(timedelta(days=2))
        first = desk.tick()
        assert ["ticket.anonymized"] == [e.kind for e in first]
        assert [] == desk.tick()
        clock.advance(timedelta(days=400))
        assert [] == desk.tick()
        got = desk.get(t.id, actor=ADMIN)
        assert PHONE not in got.subject
        assert "anonymized" in got.tags
        assert got.next_due_at is None
        assert 1 == [e.kind for e in desk.history(t.id, actor=ADMIN)].count("ticket.anonymized")

    def test_purge_removes_the_ticket(self, tmp_path: Path) -> None:
        """A purge policy deletes the ticket and its events once due."""
        desk, clock = make_desk(
            tk.SQLiteStore(tmp_path / "d.db"), retention=[tk.RetentionPolicy(after="P1Y", action="purge")]
        )
        t = self.closed_ticket(desk)
        keep = open_personal(desk, dedupe=False)
        clock.advance(timedelta(days=366))
        assert ["ticket.purged"] == [e.kind for e in desk.tick()]
        with pytest.raises(NotFoundError):
            desk.get(t.id, actor=ADMIN)
        assert [keep.id] == [x.id for x in desk.tickets(actor=ADMIN)]

    def test_two_workers_retain_once(self, tmp_path: Path) -> None:
        """Two desks (workers) on one SQLite file ticking together anonymise each ticket exactly once."""
        path = tmp_path / "d.db"
        policy = [tk.RetentionPolicy(after="P30D")]
        one, clock = make_desk(tk.SQLiteStore(path), retention=policy, worker="w1")
        two = tk.Helpdesk(store=tk.SQLiteStore(path), clock=clock, retention=policy, worker="w2")
        ts = [self.closed_ticket(one) for _ in range(6)]
        clock.advance(timedelta(days=31))
        events = one.tick(limit=3) + two.tick(limit=3) + one.tick() + two.tick()
        assert sorted(t.id for t in ts) == sorted(e.ticket_id for e in events)
        for t in ts:
            assert 1 == [e.kind for e in one.history(t.id, actor=ADMIN)].count("ticket.anonymized")

    def test_reopened_ticket_is_not_due(self) -> None:
        """A ticket reopened before its period ends is not retained (its checkpoint follows closed_at)."""
        desk, clock = make_desk(retention=[tk.RetentionPolicy(after="P30D", since="resolved_at")])
        t = open_personal(desk)
        desk.fire(t.id, "open", actor=ADMIN)
        desk.fire(t.id, "resolve", actor=ADMIN)
        desk.fire(t.id, "reopen", actor=ADMIN)
        clock.advance(timedelta(days=31))
        assert [] == desk.tick()
        assert PHONE in desk.get(t.id, actor=ADMIN).subject

    def test_ticket_without_customer_is_marked_once(self) -> None:
        """A ticket with no customer gets its detected data removed and the tag, and is not retained again."""
        desk, clock = make_desk(retention=[tk.RetentionPolicy(after="P1D")])
        t = desk.open(subject="hello")
        for trigger in ("open", "resolve", "close"):
            desk.fire(t.id, trigger, actor=ADMIN)
        clock.advance(timedelta(days=2))
        assert 1 == len(desk.tick())
        assert [] == desk.tick()
        assert "anonymized" in desk.get(t.id, actor=ADMIN).tags

    def test_dry_run_reports_without_changing(self) -> None:
        """retention_report lists what is due and changes nothing; non-admins are refused."""
        desk, clock = make_desk(retention=[tk.RetentionPolicy(after="P30D")])
        t = self.closed_ticket(desk)
        open_personal(desk, dedupe=False)
        clock.advance(timedelta(days=31))
        report = desk.retention_report(actor=ADMIN)
        assert {"anonymize": 1, "purge": 0} == report.counts
        assert [t.id] == [d.ticket_id for d in report.due]
        assert 1 == report.never
        assert 0 == desk.retention_report(actor=ADMIN, at=T0).counts["anonymize"]
        assert PHONE in desk.get(t.id, actor=ADMIN).subject
        with pytest.raises(PermissionDeniedError):
            desk.retention_report(actor=LI)


class Collect(tk.Notifier):
    """A notifier keeping what it was given."""

    def __init__(self) -> None:
        self.sent: list[tk.Notification] = []

    def send(self, notification: tk.Notification) -> None:
        self.sent.append(notification)


def _outbox_desks(store: tk.TicketStore) -> tuple[tk.Helpdesk, tk.Helpdesk, ManualClock]:
    """A desk sending inline (its rows end sent) and one leaving its rows to a worker (pending)."""
    clock = ManualClock(T0)
    sending = tk.Helpdesk(store=store, clock=clock, notifier=Collect())
    queuing = tk.Helpdesk(store=store, clock=clock, delivery=tk.DeliveryPolicy(inline=False))
    return sending, queuing, clock


class TestOutboxCopies:
    """Outbox rows copy the ticket: erasure and retention take them too, and only the ticket's own."""

    def _tickets(self, sending: tk.Helpdesk, queuing: tk.Helpdesk) -> tuple[list[str], str]:
        erased = [open_personal(sending, dedupe=False).id, open_personal(queuing, dedupe=False).id]
        other = queuing.open(subject="other", customer=tk.Customer(id="c-9", name="李雷"), team="after-sales")
        sending.comment(erased[1], f"我是{NAME}，手机{PHONE}", actor=OWNER)
        return erased, other.id

    def test_erasure_removes_pending_and_sent_copies(self) -> None:
        """After erase_customer no outbox row of the customer's tickets is left; others' rows stay."""
        store = tk.InMemoryStore()
        sending, queuing, _ = _outbox_desks(store)
        erased, other = self._tickets(sending, queuing)
        rows = store.outbox(limit=1000)
        assert {"pending", "sent"} == {m.status for m in rows if m.ticket_id in erased}
        assert any(PHONE in m.payload for m in rows)
        sending.erase_customer("c-1", actor=ADMIN)
        left = store.outbox(limit=1000)
        assert [] == [m for m in left if m.ticket_id in erased]
        assert {other} == {m.ticket_id for m in left}
        assert all(PHONE not in m.payload and EMAIL not in m.payload for m in left)
        notifier = sending.notifier
        assert isinstance(notifier, Collect)
        before = len(notifier.sent)
        sending.deliver()  # nothing of the erased customer goes out afterwards
        assert {other} == {n.ticket.id for n in notifier.sent[before:]}

    def test_sqlite_file_keeps_no_outbox_copy(self, tmp_path: Path) -> None:
        """On SQLite the outbox copies are gone from the database file and its WAL after the erasure."""
        store = tk.SQLiteStore(tmp_path / "desk.db")
        sending, queuing, _ = _outbox_desks(store)
        self._tickets(sending, queuing)
        sending.erase_customer("c-1", actor=ADMIN)
        for p in sorted(tmp_path.iterdir()):
            data = p.read_bytes()
            for value in (PHONE, EMAIL, NAME):
                for form in _forms(value):
                    assert form not in data, f"{value!r} found in {p.name}"
        store.close()

    @pytest.mark.postgres
    def test_postgres_outbox_rows_have_no_trace(
        self, make_postgres_store: Callable[..., Any], postgres_dsn: str
    ) -> None:
        """On PostgreSQL no outbox row holds the customer's data after the erasure."""
        import psycopg

        store = make_postgres_store()
        sending, queuing, _ = _outbox_desks(store)
        _, other = self._tickets(sending, queuing)
        sending.erase_customer("c-1", actor=ADMIN)
        with psycopg.connect(postgres_dsn) as conn:
            rows = conn.execute(f'SELECT o::text, ticket_id FROM "{store.schema}".outbox o').fetchall()
        assert rows
        assert {other} == {r[1] for r in rows}
        for value in (PHONE, EMAIL, NAME):
            assert all(value not in r[0] for r in rows)

    @pytest.mark.parametrize("action", ["purge", "anonymize"])
    def test_retention_takes_the_tickets_outbox_rows(self, tmp_path: Path, action: str) -> None:
        """A retention purge or anonymisation leaves no outbox row of the retained ticket."""
        store = tk.SQLiteStore(tmp_path / "d.db")
        clock = ManualClock(T0)
        policy = [tk.RetentionPolicy(after="P1Y", action=action)]
        desk = tk.Helpdesk(
            store=store, clock=clock, retention=policy, delivery=tk.DeliveryPolicy(inline=False)
        )
        t = open_personal(desk, dedupe=False)
        for trigger in ("open", "resolve", "close"):
            desk.fire(t.id, trigger, actor=ADMIN)
        keep = desk.open(subject="keep", customer=tk.Customer(id="c-9"), team="after-sales")
        assert t.id in {m.ticket_id for m in store.outbox(limit=1000)}
        clock.advance(timedelta(days=366))
        desk.tick()
        assert {keep.id} == {m.ticket_id for m in store.outbox(limit=1000)}
        store.close()
