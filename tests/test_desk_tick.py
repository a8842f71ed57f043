"""Helpdesk.tick: due SLA events exactly once, late or concurrent; escalation actions; next_wakeup."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ticketkit as tk
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="boss", roles={"admin"})


def policy() -> tk.SLAPolicy:
    """2h first response, 8h resolution, a warning at 75%, two escalation levels."""
    return tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        targets={"default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=8))},
        warn_at=(0.75,),
        escalations=[
            tk.Escalation(metric="resolution", at=1.0, notify="role:regional-manager", raise_priority="high"),
            tk.Escalation(
                metric="resolution",
                after=timedelta(hours=4),
                notify=["role:department-head", "team:{team}"],
                reassign="team:seniors",
            ),
        ],
    )


def make(
    store: tk.TicketStore | None = None, clock: ManualClock | None = None
) -> tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]:
    clock = clock or ManualClock(T0)
    rec = tk.RecordingNotifier()
    desk = tk.Helpdesk(
        store=store if store is not None else tk.InMemoryStore(),
        policies=[policy()],
        clock=clock,
        notifier=rec,
    )
    return desk, clock, rec


EXPECTED = [
    ("sla.warning", "first_response"),
    ("sla.breached", "first_response"),
    ("sla.warning", "resolution"),
    ("sla.breached", "resolution"),
    ("sla.escalated", "resolution"),
    ("sla.escalated", "resolution"),
]


class TestExactlyOnce:
    def test_step_by_step(self) -> None:
        """Ticking every 30 minutes emits each checkpoint once, at its time."""
        desk, clock, _ = make()
        desk.open(subject="Zip broke", team="after-sales")
        seen = []
        for _ in range(30):
            clock.advance(timedelta(minutes=30))
            seen += [(e.kind, e.data["metric"]) for e in desk.tick()]
        assert EXPECTED == seen

    def test_late_tick_emits_everything_once(self) -> None:
        """One tick a day late emits every checkpoint, then nothing."""
        desk, clock, rec = make()
        t = desk.open(subject="Zip broke", team="after-sales")
        clock.advance(timedelta(days=1))
        first = desk.tick()
        assert sorted(EXPECTED) == sorted((e.kind, e.data["metric"]) for e in first)
        assert [] == desk.tick()
        assert 1 == len(rec.to("role:department-head"))
        kinds = [e.kind for e in desk.history(t.id, actor=ADMIN) if e.kind.startswith("sla.")]
        assert 7 == len(kinds)  # the policy choice and the six checkpoints

    def test_escalation_actions(self) -> None:
        """Level 1 raises the priority; level 2 reassigns to seniors and tells the department head."""
        desk, clock, rec = make()
        t = desk.open(subject="Zip broke", team="after-sales", assignee="li")
        clock.advance(timedelta(hours=8, minutes=1))
        desk.tick()
        assert (tk.Priority.HIGH, "after-sales") == (
            desk.get(t.id, actor=ADMIN).priority,
            desk.get(t.id, actor=ADMIN).team,
        )
        assert rec.of_kind("sla.escalated")[0].is_for("role:regional-manager")
        clock.advance(timedelta(hours=4))
        desk.tick()
        final = desk.get(t.id, actor=ADMIN)
        assert ("seniors", None) == (final.team, final.assignee)
        last = rec.of_kind("sla.escalated")[-1]
        assert ("role:department-head", "team:after-sales") == last.recipients

    def test_next_wakeup(self) -> None:
        """next_wakeup is the earliest checkpoint; None once nothing is pending."""
        desk, _clock, _ = make()
        assert desk.next_wakeup() is None
        t = desk.open(subject="x")
        assert T0 + timedelta(hours=1, minutes=30) == desk.next_wakeup()
        desk.fire(t.id, "cancel", actor=ADMIN)
        assert desk.next_wakeup() is None

    def test_tick_for_one_tenant_needs_admin(self) -> None:
        """An admin sweeps only their tenant; an agent may not sweep."""
        desk, clock, _ = make()
        desk.open(subject="a", tenant="acme")
        desk.open(subject="b", tenant="globex")
        clock.advance(timedelta(hours=3))
        emitted = desk.tick(actor=tk.Actor(id="root", roles={"admin"}, tenant="acme"))
        assert {"acme"} == {e.tenant for e in emitted}
        with pytest.raises(tk.PermissionDeniedError) as info:
            desk.tick(actor=tk.Actor(id="li", roles={"agent"}, tenant="acme"))
        assert "admin" == info.value.action


class TestConcurrentTickers:
    def test_two_desks_in_threads(self) -> None:
        """Two desks sharing one store and ticking at once notify each due event once in total."""
        store = tk.InMemoryStore()
        clock = ManualClock(T0)
        a, _, rec_a = make(store, clock)
        b, _, rec_b = make(store, clock)
        for i in range(20):
            a.open(subject=f"t{i}")
        clock.advance(timedelta(days=1))
        barrier = threading.Barrier(2)

        def run(desk: tk.Helpdesk) -> None:
            barrier.wait()
            for _ in range(5):
                desk.tick(limit=3)

        threads = [threading.Thread(target=run, args=(d,)) for d in (a, b)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        a.tick(limit=100)
        sent = [
            (n.ticket.id, n.kind, n.data.get("metric"), n.data.get("key")) for n in rec_a.sent + rec_b.sent
        ]
        sla = [s for s in sent if s[1].startswith("sla.")]
        assert len(sla) == len(set(sla))
        assert 20 * 6 == len(sla)

    def test_two_processes_on_sqlite(self, tmp_path: Path) -> None:
        """Two processes ticking one SQLite file emit each due event exactly once between them."""
        db = tmp_path / "desk.db"
        store = tk.SQLiteStore(db)
        desk, _clock, _ = make(store)
        ids = [desk.open(subject=f"t{i}").id for i in range(15)]
        store.close()
        script = textwrap.dedent(
            f"""
            import json, sys
            from datetime import datetime, timedelta, timezone
            import ticketkit as tk
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from test_desk_tick import policy
            at = datetime(2025, 3, 4, 9, tzinfo=timezone.utc)
            store = tk.SQLiteStore({str(db)!r})
            desk = tk.Helpdesk(store=store, policies=[policy()], clock=lambda: at, worker=sys.argv[1])
            out = []
            for _ in range(20):
                out += [[e.ticket_id, e.kind, e.data["metric"], e.data["key"]] for e in desk.tick(limit=2)]
            print(json.dumps(out))
            """
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", script, f"w{i}"], stdout=subprocess.PIPE, text=True)
            for i in range(2)
        ]
        results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        emitted = [tuple(x) for r in results for x in r]
        assert len(emitted) == len(set(emitted))
        assert 15 * 6 == len(emitted)
        assert set(ids) == {e[0] for e in emitted}


class TestSweepEdges:
    def test_user_write_between_claim_and_save(self) -> None:
        """A change saved while the sweep holds a claim wins; the sweep applies itself on top."""
        desk, clock, rec = make()
        t = desk.open(subject="x", team="after-sales")
        other, _, _ = make(desk.store, clock)
        original = desk.store.claim_due

        def claim_then_race(*args: object, **kwargs: object) -> list[tk.Ticket]:
            claimed = original(*args, **kwargs)  # type: ignore[arg-type]
            other.tag(t.id, "racer", actor=ADMIN)
            return claimed

        desk.store.claim_due = claim_then_race  # type: ignore[method-assign]
        clock.advance(timedelta(hours=3))
        emitted = desk.tick()
        final = desk.get(t.id, actor=ADMIN)
        assert (["sla.warning", "sla.breached"], {"racer"}) == ([e.kind for e in emitted], set(final.tags))
        assert 2 == len([n for n in rec.sent if n.kind.startswith("sla.")])

    def test_unknown_policy_clears_checkpoint(self) -> None:
        """A ticket whose policy is no longer configured stops falling due."""
        desk, clock, _ = make()
        desk.open(subject="x")
        bare = tk.Helpdesk(store=desk.store, clock=clock)
        clock.advance(timedelta(hours=3))
        assert [] == bare.tick()
        assert bare.next_wakeup() is None

    def test_failing_ticket_does_not_stop_the_sweep(self) -> None:
        """An automation that fails on one ticket leaves the others swept; the bad one comes back later."""
        rule = tk.Automation(
            name="misconfigured",
            on="sla.breached",
            when=tk.F.subject == "bad",
            actions=[tk.Action.spawn("child", policy="no-such-policy")],
        )
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[policy()], clock=clock, automations=[rule])
        bad = desk.open(subject="bad")
        good = desk.open(subject="good")
        clock.advance(timedelta(hours=3))
        emitted = desk.tick()
        assert {good.id} == {e.ticket_id for e in emitted}
        assert T0 + timedelta(hours=3) + desk.lease == desk.store.get(bad.id).next_due_at

    def test_escalation_to_agent_and_router(self) -> None:
        """Escalations may reassign to an agent, or through the router with team:router."""
        ladder = tk.SLAPolicy(
            name="ladder",
            calendar=tk.BusinessCalendar.always_open(),
            targets={"default": tk.SLATarget(resolution=timedelta(hours=1))},
            escalations=[
                tk.Escalation(metric="resolution", at=1.0, reassign="agent:senior-li"),
                tk.Escalation(metric="resolution", after=timedelta(hours=1), reassign="team:router"),
            ],
        )
        router = tk.Router(rules=[], teams=[tk.Team(id="duty")], fallback="duty")
        clock = ManualClock(T0)
        desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[ladder], router=router, clock=clock)
        t = desk.open(subject="x", team="after-sales")
        clock.advance(timedelta(hours=1, minutes=1))
        desk.tick()
        assert ("after-sales", "senior-li") == (
            desk.get(t.id, actor=ADMIN).team,
            desk.get(t.id, actor=ADMIN).assignee,
        )
        clock.advance(timedelta(hours=1))
        desk.tick()
        assert "duty" == desk.get(t.id, actor=ADMIN).team
