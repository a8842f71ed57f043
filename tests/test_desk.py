"""The Helpdesk: intake, routing, SLA clocks, changes, merge/split/spawn, notifications, conflicts."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import ticketkit as tk
from ticketkit.errors import ConflictError, InvalidTransitionError, NotFoundError, ValidationError
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=SH)
CAL = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]})
ADMIN = tk.Actor(id="boss", roles={"admin"})
LI = tk.Actor(id="li", roles={"agent"}, teams={"after-sales"})
SYSTEM = tk.Actor.system()


def make_desk(
    *,
    notifier: tk.Notifier | None = None,
    store: tk.TicketStore | None = None,
    clock: ManualClock | None = None,
    **kwargs: object,
) -> tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]:
    """A desk on a manual clock with a 2h response / 24h resolution policy and a size-complaint router."""
    clock = clock or ManualClock(MONDAY)
    rec = tk.RecordingNotifier()
    policy = tk.SLAPolicy(
        name="standard",
        calendar=CAL,
        targets={"default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=24))},
        pause_in={"pending"},
        warn_at=(0.75,),
        escalations=[tk.Escalation(metric="resolution", at=1.0, notify="role:regional-manager")],
    )
    router = tk.Router(
        rules=[tk.Rule(name="size", when=tk.F.category == "size", assign=tk.Assign(team="after-sales"))],
        agents=[tk.Agent(id="li", teams={"after-sales"}), tk.Agent(id="wu", teams={"after-sales"})],
        teams=[tk.Team(id="after-sales", name="After-sales", lead="zhao"), tk.Team(id="triage")],
        fallback="triage",
    )
    args: dict[str, object] = {
        "store": store if store is not None else tk.InMemoryStore(),
        "router": router,
        "policies": [policy],
        "notifier": notifier if notifier is not None else rec,
        "clock": clock,
    }
    args.update(kwargs)
    return tk.Helpdesk(**args), clock, rec  # type: ignore[arg-type]


@pytest.fixture
def desk() -> tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]:
    return make_desk()


class TestOpen:
    def test_routes_starts_sla_and_saves_once(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A size complaint goes to after-sales with an agent, its clocks running, version 1."""
        d, _, _ = desk
        t = d.open(subject="Jeans too small", channel="WeChat", customer="c-1", category="size")
        assert ("after-sales", "wechat", 1) == (t.team, t.channel, t.version)
        assert t.assignee in {"li", "wu"}
        assert "standard" == t.sla.policy
        assert (
            datetime(2025, 3, 3, 11, 0, tzinfo=SH) == d.sla_status(t.id, actor=ADMIN)["first_response"].due_at
        )
        kinds = [e.kind for e in d.history(t.id, actor=ADMIN)]
        assert ["ticket.created", "ticket.assigned", "sla.policy_applied"] == kinds
        assert {1} == {e.version for e in d.history(t.id, actor=ADMIN)}

    def test_unmatched_goes_to_fallback(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """No rule matches: the router's fallback team takes the ticket."""
        d, _, _ = desk
        assert "triage" == d.open(subject="Hello", customer="c-1").team

    def test_notifications_after_commit(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """The customer hears the request arrived; the agent that it is theirs."""
        d, _, rec = desk
        t = d.open(subject="Jeans too small", customer="c-1", category="size")
        assert 1 == len(rec.to("customer:c-1"))
        assert 1 == len(rec.to(f"agent:{t.assignee}"))
        assert t.id == rec.of_kind("ticket.assigned")[0].ticket.id

    def test_directory_lookup(self) -> None:
        """The customer's record comes from the directory: tier and shop, asked once."""
        directory = tk.InMemoryDirectory([tk.Customer(id="c-9", tier="vip", data={"shop": "sh-01"})])
        d, _, _ = make_desk(customers=directory)
        t = d.open(subject="Refund", customer="c-9")
        assert ("vip", "sh-01") == (t.customer.tier, t.customer.data["shop"])

    def test_directory_by_phone(self) -> None:
        """A partial customer from the phone channel is found by phone number."""
        directory = tk.InMemoryDirectory([tk.Customer(id="c-9", phone="13812345678", tier="vip")])
        d, _, _ = make_desk(customers=directory)
        t = d.open(
            subject="Refund", channel="phone", customer=tk.Customer(id="caller", phone="+86 138 1234 5678")
        )
        assert ("c-9", "vip") == (t.customer.id, t.customer.tier)

    def test_transcript_becomes_comments(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A chatbot hand-off attaches the conversation; bot replies never count as a response."""
        d, _, _ = desk
        t = d.open(
            subject="Where is my parcel?",
            channel="chatbot",
            customer="c-1",
            transcript=[
                ("customer", "where is it"),
                ("bot", "Let me find a person."),
                {"body": "ok", "author": "customer"},
            ],
        )
        comments = d.comments(t.id, actor=ADMIN)
        assert [("customer", "c-1"), ("bot", "bot"), ("customer", "c-1")] == [
            (c.author_kind, c.author) for c in comments
        ]
        assert "running" == d.sla_status(t.id, actor=ADMIN)["first_response"].state

    def test_bad_input_lists_every_problem(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """Blank subject, blank channel, bad priority and a bad transcript entry are reported together."""
        d, _, _ = desk
        with pytest.raises(ValidationError) as info:
            d.open(
                subject=" ",
                channel="",
                priority="asap",
                transcript=[42],  # type: ignore[list-item]
                fields={"x": object()},
                tags=["ok", ""],
            )
        assert ["subject", "channel", "fields.x", "tags[1]", "priority", "transcript[0]"] == [
            e.path for e in info.value.errors
        ]

    def test_explicit_team_and_policy(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A team given at intake is kept; an unknown policy name is an error naming the known ones."""
        d, _, _ = desk
        assert "billing" == d.open(subject="Invoice", team="billing").team
        with pytest.raises(ValidationError, match="known: standard"):
            d.open(subject="Invoice", policy="gold")


class TestDedupe:
    def test_same_category_within_window(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A second size complaint of the same customer within a day is added to the first."""
        d, clock, _ = desk
        first = d.open(subject="Too small", customer="c-1", category="size", channel="app")
        clock.advance(timedelta(hours=3))
        again = d.open(subject="Still too small!", customer="c-1", category="size", channel="phone")
        assert first.id == again.id
        assert 1 == d.store.count()
        event = next(e for e in d.history(first.id, actor=ADMIN) if e.kind == "ticket.deduplicated")
        assert "phone" == event.data["channel"]
        assert "Still too small!" == d.comments(first.id, actor=ADMIN)[-1].body

    def test_outside_window_is_new(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """After the window a new request makes a new ticket."""
        d, clock, _ = desk
        first = d.open(subject="Too small", customer="c-1", category="size")
        clock.advance(timedelta(days=2))
        assert first.id != d.open(subject="Too small", customer="c-1", category="size").id

    def test_same_external_ref(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """The same external reference (an e-mail thread) is a duplicate whatever the category."""
        d, clock, _ = desk
        first = d.open(subject="Order A-1", customer="c-1", external_ref="mail-77")
        clock.advance(timedelta(days=5))
        assert first.id == d.open(subject="Re: Order A-1", customer="c-1", external_ref="mail-77").id

    def test_other_customer_or_resolved_is_new(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """Another customer, or a resolved ticket, never absorbs a request; dedupe=False turns it off."""
        d, _, _ = desk
        first = d.open(subject="Too small", customer="c-1", category="size")
        assert first.id != d.open(subject="Too small", customer="c-2", category="size").id
        third = d.open(subject="Too small", customer="c-1", category="size", dedupe=False)
        assert first.id != third.id
        d.fire(first.id, "open", actor=ADMIN)
        d.fire(first.id, "resolve", actor=ADMIN)
        assert third.id == d.open(subject="Too small", customer="c-1", category="size").id
        d.fire(third.id, "cancel", actor=ADMIN)
        assert third.id != d.open(subject="Too small", customer="c-1", category="size").id
        assert 4 == d.store.count()


class TestChanges:
    def test_every_change_is_an_event_with_actor(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """Every kind of change is one event, by the actor, one version on."""
        d, clock, _ = desk
        t = d.open(subject="Zip broke", customer="c-1", category="size")
        other = d.open(subject="Other", customer="c-2")
        clock.advance(timedelta(minutes=5))
        d.fire(t.id, "open", actor=ADMIN)
        d.comment(t.id, "We will send a new one", actor=ADMIN)
        d.comment(t.id, "Escalate to QA?", actor=ADMIN, public=False)
        d.assign(t.id, team="after-sales", agent="wu", actor=ADMIN)
        d.set_priority(t.id, "high", actor=ADMIN)
        d.set_category(t.id, "quality", actor=ADMIN)
        d.tag(t.id, "zip", actor=ADMIN)
        d.set_fields(t.id, {"order": "A-9"}, actor=ADMIN)
        d.link(t.id, other.id, actor=ADMIN)
        final = d.rate(t.id, 4, "ok", actor=tk.Actor.customer("c-1"))
        events = d.history(t.id, actor=ADMIN)[3:]
        assert [
            "status.changed",
            "comment.added",
            "comment.added",
            "ticket.assigned",
            "priority.changed",
            "category.changed",
            "tags.changed",
            "fields.changed",
            "ticket.linked",
            "ticket.rated",
        ] == [e.kind for e in events]
        assert ["agent:boss"] * 9 + ["customer:c-1"] == [e.actor for e in events]
        assert list(range(2, 12)) == [e.version for e in events]
        assert (11, "wu", tk.Priority.HIGH, "quality", 4) == (
            final.version,
            final.assignee,
            final.priority,
            final.category,
            final.satisfaction,
        )

    def test_first_public_agent_reply_stops_first_response(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """An internal note does not count; a public reply does, and sets first_response_at."""
        d, clock, _ = desk
        t = d.open(subject="Zip broke", customer="c-1")
        clock.advance(timedelta(minutes=30))
        d.comment(t.id, "note", actor=ADMIN, public=False)
        assert "running" == d.sla_status(t.id, actor=ADMIN)["first_response"].state
        clock.advance(timedelta(minutes=10))
        t = d.comment(t.id, "Hello!", actor=ADMIN)
        assert ("met", clock.now()) == (
            d.sla_status(t.id, actor=ADMIN)["first_response"].state,
            t.first_response_at,
        )

    def test_invalid_transition_saves_nothing(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A trigger the workflow refuses raises with the allowed ones; the ticket is untouched."""
        d, _, _ = desk
        t = d.open(subject="x")
        with pytest.raises(InvalidTransitionError) as info:
            d.fire(t.id, "close", actor=ADMIN)
        assert ["open", "cancel"] == info.value.allowed
        assert 1 == d.get(t.id, actor=ADMIN).version

    def test_pending_pauses_resolution(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """Waiting on the customer pauses the resolution clock; resuming carries the time spent."""
        d, clock, _ = desk
        t = d.open(subject="x")
        d.fire(t.id, "open", actor=ADMIN)
        clock.advance(timedelta(hours=1))
        d.fire(t.id, "wait", actor=ADMIN)
        clock.advance(timedelta(days=1))
        s = d.sla_status(t.id, actor=ADMIN)["resolution"]
        assert ("paused", timedelta(hours=1)) == (s.state, s.elapsed)

    def test_category_change_reselects_policy(self) -> None:
        """A category that another policy covers moves the clocks to it (recomputed, time spent counts)."""
        fast = tk.SLAPolicy(
            name="complaints",
            calendar=CAL,
            when=tk.F.category == "complaint",
            targets={"default": tk.SLATarget(first_response=timedelta(minutes=30))},
        )
        d, clock, _ = make_desk()
        d = tk.Helpdesk(store=d.store, policies=[fast, *d.policies], clock=clock)
        t = d.open(subject="x")
        clock.advance(timedelta(minutes=10))
        t = d.set_category(t.id, "complaint", actor=ADMIN)
        assert "complaints" == t.sla.policy
        assert MONDAY + timedelta(minutes=30) == d.sla_status(t.id, actor=ADMIN)["first_response"].due_at
        assert "sla.policy_applied" == d.history(t.id, actor=ADMIN)[-1].kind

    def test_unknown_ticket(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """An unknown id is NotFoundError."""
        d, _, _ = desk
        with pytest.raises(NotFoundError):
            d.fire("nope", "open", actor=ADMIN)

    def test_bad_arguments(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """Bad scores, tags, fields and actors are ValidationErrors naming the argument."""
        d, _, _ = desk
        t = d.open(subject="x")
        cases = [
            (lambda: d.rate(t.id, 9, actor=ADMIN), "score"),
            (lambda: d.tag(t.id, "", actor=ADMIN), "tags"),
            (lambda: d.set_fields(t.id, {"a": {1, 2}}, actor=ADMIN), "fields.a"),
            (lambda: d.fire(t.id, "open", actor="boss"), "actor"),  # type: ignore[arg-type]
            (lambda: d.comment(t.id, 3, actor=ADMIN), "body"),  # type: ignore[arg-type]
            (lambda: d.link(t.id, t.id, actor=ADMIN), "other_id"),
            (lambda: d.progress(t.id, actor=ADMIN, lang="fr"), "lang"),
        ]
        for call, path in cases:
            with pytest.raises(ValidationError) as info:
                call()
            assert path == info.value.errors[0].path


class TestOptimistic:
    def test_expected_version_conflict(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """A caller that saw an older version gets ConflictError; nothing is written."""
        d, _, _ = desk
        t = d.open(subject="x")
        d.tag(t.id, "a", actor=ADMIN)
        with pytest.raises(ConflictError):
            d.fire(t.id, "open", actor=ADMIN, expected_version=t.version)
        assert "new" == d.get(t.id, actor=ADMIN).status

    def test_concurrent_write_is_retried(self) -> None:
        """A write racing ours is never overwritten: our change is applied again on top of it."""
        store = tk.InMemoryStore()
        d, _, _ = make_desk(store=store)
        t = d.open(subject="x")

        original_get = store.get
        raced = []

        def racing_get(ticket_id: str, *, tenant: str | None = None) -> tk.Ticket:
            ticket = original_get(ticket_id, tenant=tenant)
            if not raced:
                raced.append(1)
                d2, _, _ = make_desk(store=store)
                d2.tag(ticket_id, "racer", actor=ADMIN)
            return ticket

        store.get = racing_get  # type: ignore[method-assign]
        final = d.tag(t.id, "mine", actor=ADMIN)
        assert ({"racer", "mine"}, 3) == (set(final.tags), final.version)

    def test_conflict_after_retries(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """When every attempt races, ConflictError comes out after max_attempts."""
        d, _, _ = desk
        t = d.open(subject="x")
        store = d.store
        original_commit = store.commit

        def always_stale(changes: list[tk.storage.Change], outbox: object = ()) -> list[tk.Ticket]:
            ticket, _, expected_version = changes[0]
            assert expected_version is not None
            raise ConflictError(ticket.id, expected_version, expected_version + 1)

        store.commit = always_stale  # type: ignore[method-assign,assignment]
        with pytest.raises(ConflictError):
            d.tag(t.id, "x", actor=ADMIN)
        store.commit = original_commit  # type: ignore[method-assign]


class TestNotifierFailure:
    def test_failing_notifier_loses_nothing(self) -> None:
        """The change is saved, the notification kept, and retry_notifications sends it."""

        class Flaky(tk.Notifier):
            def __init__(self) -> None:
                self.up = False
                self.sent: list[tk.Notification] = []

            def send(self, notification: tk.Notification) -> None:
                if not self.up:
                    raise ConnectionError("smtp down")
                self.sent.append(notification)

        flaky = Flaky()
        d, _, _ = make_desk(notifier=flaky)
        t = d.open(subject="Too small", customer="c-1", category="size")
        assert 1 == d.store.count()
        failed = d.failed_notifications
        assert (2, "ConnectionError('smtp down')", 1) == (len(failed), failed[0].error, failed[0].attempts)
        assert 0 == d.retry_notifications()
        assert [2, 2] == [f.attempts for f in d.failed_notifications]
        flaky.up = True
        assert 2 == d.retry_notifications()
        assert ([], ["ticket.created", "ticket.assigned"]) == (
            d.failed_notifications,
            [n.kind for n in flaky.sent],
        )
        assert t.id == flaky.sent[0].ticket.id


class TestMergeSplit:
    def test_merge_keeps_both_histories(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """The source closes (its clocks stop where they stood), the target records the source's SLA."""
        d, clock, _ = desk
        a = d.open(subject="Zip broke", customer="c-1", category="quality")
        clock.advance(timedelta(hours=1))
        b = d.open(subject="Zip broke again", customer="c-1", category="zip")
        clock.advance(timedelta(hours=1))
        target = d.merge(b.id, a.id, actor=ADMIN)
        source = d.get(b.id, actor=ADMIN)
        assert ("cancelled", "merged_into", "merged_from") == (
            source.status,
            source.links[0].kind,
            target.links[0].kind,
        )
        merged = next(e for e in d.history(a.id, actor=ADMIN) if e.kind == "ticket.merged")
        assert ("standard", b.id) == (merged.data["source_sla"]["policy"], merged.data["from"])
        assert "ticket.merged" in [e.kind for e in d.history(b.id, actor=ADMIN)]
        stopped = d.get(b.id, actor=ADMIN).sla.clock("resolution")
        assert ("stopped", timedelta(hours=1)) == (stopped.state, stopped.elapsed)
        assert "Merged from" in d.comments(a.id, actor=ADMIN)[-1].body

    def test_merge_into_itself_or_closed(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """Merging into itself or into a finished ticket is refused."""
        d, _, _ = desk
        a, b = d.open(subject="a"), d.open(subject="b")
        with pytest.raises(ValidationError):
            d.merge(a.id, a.id, actor=ADMIN)
        d.fire(b.id, "open", actor=ADMIN)
        d.fire(b.id, "resolve", actor=ADMIN)
        with pytest.raises(ValidationError):
            d.merge(a.id, b.id, actor=ADMIN)

    def test_split_keeps_sla_history(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """The new ticket carries the time the customer already waited."""
        d, clock, _ = desk
        t = d.open(subject="Refund and zip", customer="c-1")
        clock.advance(timedelta(hours=1))
        new = d.split(t.id, subject="Zip", actor=ADMIN)
        s = d.sla_status(new.id, actor=ADMIN)["first_response"]
        assert (timedelta(hours=1), "c-1") == (s.elapsed, new.customer.id)
        assert ["ticket.created", "ticket.split"] == [e.kind for e in d.history(new.id, actor=ADMIN)]
        assert "split_into" == d.get(t.id, actor=ADMIN).links[0].kind


class TestSpawn:
    def test_parent_waits_and_resumes(
        self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]
    ) -> None:
        """The parent pends (clock paused) until its children finish, and is told each time."""
        d, clock, rec = desk
        p = d.open(subject="Machine down", team="after-sales", assignee="li")
        d.fire(p.id, "open", actor=ADMIN)
        c1 = d.spawn(p.id, subject="Check stock", team="warehouse", actor=LI)
        c2 = d.spawn(p.id, subject="Ask vendor", team="purchasing", actor=LI)
        assert ("pending", p.id) == (d.get(p.id, actor=ADMIN).status, c1.parent_id)
        clock.advance(timedelta(hours=2))
        assert "paused" == d.sla_status(p.id, actor=ADMIN)["resolution"].state
        for trigger in ("open", "resolve"):
            d.fire(c1.id, trigger, actor=ADMIN)
        told = [e for e in d.history(p.id, actor=ADMIN) if e.kind == "ticket.child_resolved"]
        assert ((c2.id,), "pending") == (told[0].data["waiting"], d.get(p.id, actor=ADMIN).status)
        assert rec.of_kind("ticket.child_resolved")[0].is_for("agent:li")
        d.fire(c2.id, "cancel", actor=ADMIN)
        assert "open" == d.get(p.id, actor=ADMIN).status
        assert [c1.id, c2.id] == [c.id for c in d.children(p.id, actor=ADMIN)]

    def test_no_wait(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """wait=False leaves the parent as it is."""
        d, _, _ = desk
        p = d.open(subject="Machine down")
        d.fire(p.id, "open", actor=ADMIN)
        d.spawn(p.id, subject="FYI", actor=ADMIN, wait=False)
        assert "open" == d.get(p.id, actor=ADMIN).status


class TestProgress:
    def test_en_and_zh(self) -> None:
        """The customer view names the team and the expected time in both languages."""
        d, clock, _ = make_desk(labels={"zh": {"after-sales": "售后"}})
        t = d.open(subject="Too small", customer="c-1", category="size")
        me = tk.Actor.customer("c-1")
        clock.advance(timedelta(minutes=30))
        d.comment(t.id, "On it", actor=ADMIN)
        p = d.progress(t.id, actor=me)
        assert ("being handled" if p.status_kind == "open" else "received", "After-sales") == (
            p.status_text,
            p.team_name,
        )
        assert p.message.startswith("Assigned to After-sales; expected within")
        assert d.progress(t.id, actor=me, lang="zh").message.startswith("已分配给售后，预计")

    def test_expects_the_next_thing_the_customer_waits_for(self) -> None:
        """Before the first reply the view promises the reply (2h); after it, the resolution."""
        d, clock, _ = make_desk(labels={"zh": {"after-sales": "售后"}})
        t = d.open(subject="Too small", customer="c-1", category="size")
        me = tk.Actor.customer("c-1")
        assert "已分配给售后，预计 2 小时内处理" == d.progress(t.id, actor=me, lang="zh").message
        status = d.sla_status(t.id, actor=ADMIN)
        assert status["first_response"].due_at == d.progress(t.id, actor=me).expected_at
        clock.advance(timedelta(minutes=30))
        d.comment(t.id, "On it", actor=ADMIN)
        status = d.sla_status(t.id, actor=ADMIN)
        assert status["resolution"].due_at == d.progress(t.id, actor=me).expected_at

    def test_overdue_and_resolved(self, desk: tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]) -> None:
        """Past the deadline the view says so; resolved tickets say resolved."""
        d, clock, _ = desk
        t = d.open(subject="x", customer="c-1", category="size")
        clock.advance(timedelta(days=10))
        me = tk.Actor.customer("c-1")
        assert d.progress(t.id, actor=me).overdue
        d.fire(t.id, "open", actor=ADMIN)
        d.fire(t.id, "resolve", actor=ADMIN)
        assert "已解决，如仍有问题请直接回复" == d.progress(t.id, actor=me, lang="zh").message


class TestConstruction:
    def test_every_problem_listed(self) -> None:
        """Bad arguments to Helpdesk are reported together with their paths."""
        with pytest.raises(ValidationError) as info:
            tk.Helpdesk(
                store="db",  # type: ignore[arg-type]
                policies=["p"],  # type: ignore[list-item]
                notifier=print,  # type: ignore[arg-type]
                lease=timedelta(0),
                max_attempts=0,
                automations=[{"name": "x"}],
                clock=42,  # type: ignore[arg-type]
            )
        paths = [e.path for e in info.value.errors]
        assert {"store", "policies[0]", "notifier", "lease", "max_attempts", "clock"} <= set(paths)
        assert any(p.startswith("automations[0]") for p in paths)

    def test_single_workflow(self) -> None:
        """One Workflow serves the support type and its own name."""
        wf = tk.default_workflow()
        d = tk.Helpdesk(store=tk.InMemoryStore(), workflows=wf)
        assert "new" == d.open(subject="x").status

    def test_settings_read_as_given(self) -> None:
        """The facade shows the settings it was built with (the store, lease, triggers, teams, ...)."""
        store = tk.InMemoryStore()
        team = tk.Team(id="desk", lead="zhao")
        d = tk.Helpdesk(store=store, lease=timedelta(minutes=2), merge_trigger="close", teams=[team])
        assert (store, timedelta(minutes=2), "close", {"desk": team}, None) == (
            d.store,
            d.lease,
            d.merge_trigger,
            d.teams,
            d.notifier,
        )

    def test_a_setting_changed_on_the_facade_reaches_the_operations(self) -> None:
        """Setting desk.notifier after construction makes the next change notify through it."""
        d, _, first = make_desk()
        second = tk.RecordingNotifier()
        d.notifier = second
        d.open(subject="Hello", customer="c-1")
        assert (0, True) == (len(first.sent), "ticket.created" in [n.kind for n in second.sent])

    def test_settings_are_declared_on_the_class(self) -> None:
        """Each setting is a declared attribute of Helpdesk (not a per-instance dict entry)."""
        assert [] == [
            name
            for name in ("store", "notifier", "policies", "router", "lease")
            if name not in vars(tk.Helpdesk)
        ]
        assert tk.Helpdesk.store is vars(tk.Helpdesk)["store"]


class TestSQLite:
    def test_same_behaviour_on_sqlite(self, tmp_path: object) -> None:
        """The desk works the same over SQLiteStore: intake, merge (atomic batch), spawn."""
        from pathlib import Path

        store = tk.SQLiteStore(Path(str(tmp_path)) / "desk.db")
        d, _, _ = make_desk(store=store)
        a = d.open(subject="a", customer="c-1")
        b = d.open(subject="b", customer="c-2")
        d.merge(b.id, a.id, actor=ADMIN)
        d.fire(a.id, "open", actor=ADMIN)
        c = d.spawn(a.id, subject="child", actor=ADMIN)
        assert ("pending", "cancelled", a.id) == (
            d.get(a.id, actor=ADMIN).status,
            d.get(b.id, actor=ADMIN).status,
            c.parent_id,
        )
        store.close()


class TestIntakeEdges:
    def test_automation_firing_on_a_new_ticket_keeps_version_one(self) -> None:
        """A transition fired by an automation at intake is part of the first version."""
        rule = tk.Automation(name="auto-open", on="ticket.created", actions=[tk.Action.fire("open")])
        d, _, _ = make_desk(automations=[rule])
        t = d.open(subject="x")
        assert ("open", 1) == (t.status, t.version)
        assert {1} == {e.version for e in d.history(t.id, actor=ADMIN)}
        assert 2 == d.fire(t.id, "wait", actor=ADMIN).version

    def test_dedupe_only_into_what_the_actor_may_touch(self) -> None:
        """An agent of another team opening for the same customer makes a new ticket."""
        d, _, _ = make_desk()
        first = d.open(subject="Too small", customer="c-1", category="size")
        wu = tk.Actor(id="wu", roles={"agent"}, teams={"billing"})
        second = d.open(subject="Too small", customer="c-1", category="size", actor=wu)
        assert first.id != second.id


class TestWhoIsTold:
    def test_sub_tickets_are_not_for_the_customer(self) -> None:
        """A spawned sub-ticket tells its team, never the customer; the parent's agent hears it finished."""
        d, _, rec = make_desk()
        p = d.open(subject="Machine down", customer="c-1", team="after-sales", assignee="li")
        d.fire(p.id, "open", actor=ADMIN)
        rec.clear()
        child = d.spawn(p.id, subject="Check stock", team="warehouse", actor=ADMIN)
        d.fire(child.id, "open", actor=ADMIN)
        d.fire(child.id, "resolve", actor=ADMIN)
        assert [] == [n.kind for n in rec.to("customer:c-1") if n.ticket.id == child.id]
        assert ["ticket.assigned"] == [n.kind for n in rec.to("team:warehouse")]
        assert "ticket.child_resolved" in [n.kind for n in rec.to("agent:li")]

    def test_customer_and_agent_hear_about_each_other(self) -> None:
        """A public reply goes to the customer, the customer's message to the agent; notes to nobody."""
        d, _, rec = make_desk()
        t = d.open(subject="Too small", customer="c-1", category="size")
        rec.clear()
        d.comment(t.id, "internal", actor=ADMIN, public=False)
        d.comment(t.id, "Hello", actor=ADMIN)
        d.comment(t.id, "Thanks", actor=tk.Actor.customer("c-1"))
        assert [("comment.added", ("customer:c-1",)), ("comment.added", (f"agent:{t.assignee}",))] == [
            (n.kind, n.recipients) for n in rec.sent
        ]


class TestRealConcurrency:
    def test_two_writers_on_sqlite_lose_nothing(self, tmp_path: object) -> None:
        """Two desks tagging one ticket at once on one SQLite file: every tag lands, one version each."""
        import threading
        from pathlib import Path

        db = Path(str(tmp_path)) / "race.db"
        first = tk.SQLiteStore(db)
        d, clock, _ = make_desk(store=first)
        t = d.open(subject="shared")
        desks = [make_desk(store=tk.SQLiteStore(db), clock=clock, max_attempts=100)[0] for _ in range(2)]
        barrier = threading.Barrier(2)

        def work(i: int) -> None:
            barrier.wait()
            for n in range(15):
                desks[i].tag(t.id, f"w{i}-{n}", actor=ADMIN)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        final = d.get(t.id, actor=ADMIN)
        assert (30, 31) == (len(final.tags), final.version)
        assert 30 == len([e for e in d.history(t.id, actor=ADMIN) if e.kind == "tags.changed"])
        for desk in desks:
            desk.store.close()
        first.close()


class TestReopen:
    def test_customer_reply_reopens_resolved(self) -> None:
        """The customer writing on a resolved ticket reopens it; the resolution clock resumes."""
        d, clock, _ = make_desk()
        t = d.open(subject="Zip broke", customer="c-1")
        d.fire(t.id, "open", actor=ADMIN)
        clock.advance(timedelta(hours=1))
        d.fire(t.id, "resolve", actor=ADMIN)
        clock.advance(timedelta(hours=1))
        t = d.comment(t.id, "It broke again", actor=tk.Actor.customer("c-1"))
        s = d.sla_status(t.id, actor=ADMIN)["resolution"]
        assert ("open", "running", timedelta(hours=1)) == (t.status, s.state, s.elapsed)

    def test_agent_note_does_not_reopen(self) -> None:
        """Staff comments on a resolved ticket leave it resolved; reopen_trigger=None turns it off."""
        d, _, _ = make_desk(reopen_trigger=None)
        t = d.open(subject="Zip broke", customer="c-1")
        d.fire(t.id, "open", actor=ADMIN)
        d.fire(t.id, "resolve", actor=ADMIN)
        assert "resolved" == d.comment(t.id, "closing note", actor=ADMIN).status
        assert "resolved" == d.comment(t.id, "thanks", actor=tk.Actor.customer("c-1")).status


class TestSticky:
    def test_returning_customer_gets_the_same_agent(self) -> None:
        """With a sticky rule, the agent who served the customer last gets their next ticket."""
        router = tk.Router(
            rules=[tk.Rule(name="sticky", assign=tk.Assign(team="after-sales", strategy="sticky"))],
            agents=[tk.Agent(id=a, teams={"after-sales"}) for a in ("li", "wu", "zhou")],
        )
        d = tk.Helpdesk(store=tk.InMemoryStore(), router=router, clock=ManualClock(MONDAY))
        first = d.open(subject="a", customer="c-1", dedupe=False)
        others = {d.open(subject="b", customer="c-1", dedupe=False).assignee for _ in range(3)}
        assert {first.assignee} == others


class TestTypedFilters:
    USER_CODE = """\
import ticketkit as tk

desk = tk.Helpdesk(store=tk.InMemoryStore())
admin = tk.Actor(id="boss", roles={"admin"})
good = list(desk.tickets(actor=admin, status="open", team=["a", "b"], limit=10, order_by="-created_at"))
typo = list(desk.tickets(actor=admin, stauts="open"))
wrong_type = list(desk.tickets(actor=admin, limit="ten"))
"""

    def test_mypy_rejects_unknown_and_mistyped_filters(self, tmp_path: Path) -> None:
        """mypy --strict on user code: a correct call passes, stauts= and limit="ten" are errors."""
        pytest.importorskip("mypy")
        user = tmp_path / "user.py"
        user.write_text(self.USER_CODE, encoding="utf-8")
        src = Path(tk.__file__).resolve().parent.parent
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(user)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "MYPYPATH": str(src)},
            check=False,
        )
        errors = [line for line in done.stdout.splitlines() if ": error: " in line]
        assert [6, 7] == [int(line.split(":")[1]) for line in errors], done.stdout + done.stderr
        assert 'Unexpected keyword argument "stauts"' in errors[0]
        assert '"limit"' in errors[1]

    def test_filters_are_the_store_query_keywords(self) -> None:
        """TicketFilters names exactly TicketStore.query's keywords (less the cursor the desk pages with)."""
        query = inspect.signature(tk.TicketStore.query).parameters
        expected = {name for name, p in query.items() if p.kind is p.KEYWORD_ONLY} - {"cursor"}
        assert expected == set(tk.TicketFilters.__optional_keys__)

    def test_every_filter_reaches_the_store(self) -> None:
        """Each typed filter is accepted at run time (none is refused as unknown)."""
        d, _, _ = make_desk()
        d.open(subject="Zip broke", customer="c-1", category="size")
        values: tk.TicketFilters = {
            "tenant": "default",
            "status": "new",
            "status_kind": ["new"],
            "team": "after-sales",
            "assignee": "li",
            "customer": "c-1",
            "category": "size",
            "priority": "normal",
            "tags": [],
            "created_since": MONDAY,
            "created_before": MONDAY + timedelta(days=1),
            "updated_since": MONDAY,
            "updated_before": MONDAY + timedelta(days=1),
            "text": "zip",
            "next_due_before": MONDAY + timedelta(days=30),
            "parent_id": None,
            "order_by": "-created_at",
            "limit": 5,
        }
        assert set(values) == set(tk.TicketFilters.__optional_keys__)
        assert ["Zip broke"] == [t.subject for t in d.tickets(actor=ADMIN, **values)]
