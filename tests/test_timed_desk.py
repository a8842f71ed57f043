"""Timed rules on the desk: configuration, timers on tickets, the sweep firing them once, two workers."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from tests.test_timed import slow_business_day, slow_business_time
from ticketkit import Action, F, TimedRule, TimerState
from ticketkit.automation._timed import TIMER_CANCELLED, TIMER_FIRED, TIMER_STARTED
from ticketkit.desk import _timed as desk_timed
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2025, 3, 12)  # a Wednesday the office is closed
OFFICE = tk.BusinessCalendar(
    tz="Asia/Shanghai",
    hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
    holidays=[HOLIDAY],
    name="office",
)
START = datetime(2025, 3, 10, 9, 0, tzinfo=SH)  # a Monday, the office opens
ADMIN = tk.Actor(id="li", roles={"admin"})
SYSTEM = tk.Actor.system()

AUTO_RESOLVE = TimedRule(
    name="auto-resolve",
    when=F.status_kind == "pending",
    after="2 business days",
    calendar="office",
    actions=[Action.fire("resolve"), Action.comment("Resolved: no answer for two business days")],
)
SURVEY = TimedRule(
    name="survey",
    when=F.status_kind == "resolved",
    after="1 day",
    actions=[Action.notify("customer", "survey: how did we do on {id}?")],
)
REMIND = TimedRule(
    name="remind",
    when=(F.status_kind == "open") & (F.assignee != None),  # noqa: E711 - a condition, not a test
    after="3 business hours",
    restart_on={"comment.added"},
    actions=[Action.notify("assignee", "remind: {id} waits for an update")],
)
ESCALATE = TimedRule(
    name="escalate",
    when=(F.assignee == None) & F.status_kind.in_(["new", "open"]),  # noqa: E711
    after="2 hours",
    actions=[Action.assign(team="support", agent="lead-1"), Action.tag("escalated")],
)
RULES = (AUTO_RESOLVE, SURVEY, REMIND, ESCALATE)


def make_desk(
    store: tk.TicketStore,
    clock: ManualClock,
    *,
    rules: tuple[TimedRule, ...] = RULES,
    calendar: tk.BusinessCalendar = OFFICE,
    worker: str | None = None,
    **kw: Any,
) -> tk.Helpdesk:
    return tk.Helpdesk(
        store=store,
        clock=clock,
        timed=rules,
        calendars={"office": calendar},
        worker=worker,
        notifier=kw.pop("notifier", tk.RecordingNotifier()),
        **kw,
    )


def kinds(desk: tk.Helpdesk, ticket_id: str) -> list[str]:
    return [e.kind for e in desk.history(ticket_id, actor=ADMIN)]


def fired(desk: tk.Helpdesk, ticket_id: str) -> list[tk.Event]:
    return [e for e in desk.history(ticket_id, actor=ADMIN) if e.kind == TIMER_FIRED]


class TestTimedRuleConfig:
    @pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
    def test_round_trips(self, rule: TimedRule) -> None:
        """Every example rule reads back equal from its data form, and the data form is stable."""
        data = rule.to_dict()
        assert rule == TimedRule.from_dict(data)
        assert data == TimedRule.from_dict(data).to_dict()

    @given(
        n=st.integers(1, 500),
        unit=st.sampled_from(["minutes", "hours", "days", "business hours", "business days"]),
        enabled=st.booleans(),
        restart=st.lists(st.sampled_from(["*", "comment.added", "status.changed"]), max_size=2),
    )
    @settings(max_examples=60, deadline=None)
    def test_round_trips_any_delay(self, n: int, unit: str, enabled: bool, restart: list[str]) -> None:
        """Any delay, flag and restart list survives to_dict / from_dict."""
        rule = TimedRule(
            name="r",
            when=F.status_kind == "open",
            after=f"{n} {unit}",
            calendar="office" if "business" in unit else None,
            actions=[Action.tag("x")],
            enabled=enabled,
            restart_on=restart,
        )
        assert rule == TimedRule.from_dict(rule.to_dict())
        assert rule == TimedRule.from_dict(rule.to_dict(), calendars={"office": OFFICE})

    def test_business_without_calendar_uses_the_default(self) -> None:
        """A business phrase without a calendar parses; a plain duration without one is wall time."""
        assert (
            "business_days"
            == TimedRule(
                name="r", when=F.status_kind == "pending", after="3 business days", actions=[Action.tag("x")]
            ).after.kind
        )
        assert (
            "wall"
            == TimedRule(
                name="r", when=F.status_kind == "pending", after="PT4H", actions=[Action.tag("x")]
            ).after.kind
        )
        assert (
            "business_time"
            == TimedRule(
                name="r",
                when=F.status_kind == "pending",
                after="PT4H",
                calendar="c",
                actions=[Action.tag("x")],
            ).after.kind
        )

    @pytest.mark.parametrize(
        ("data", "paths"),
        [
            (
                {"name": "x", "when": {"field": "status", "op": "eq", "value": "open"}},
                ["t.after", "t.actions"],
            ),
            (
                {"name": "", "when": {}, "after": "soon", "actions": [{"nope": 1}], "extra": 1},
                ["t.extra", "t.when", "t.actions[0].nope", "t.after", "t.name"],
            ),
            (
                {
                    "name": "x",
                    "when": {"field": "status", "op": "eq", "value": "o"},
                    "after": -5,
                    "actions": [],
                },
                ["t.after", "t.actions"],
            ),
            (
                {
                    "name": "x",
                    "when": {"field": "status", "op": "eq", "value": "o"},
                    "after": "2 hours",
                    "actions": "tag",
                },
                ["t.actions"],
            ),
            (
                {
                    "name": "x",
                    "when": {"field": "status", "op": "eq", "value": "o"},
                    "after": "2 hours",
                    "actions": [{"tag": ["a"]}],
                    "restart_on": [3],
                    "enabled": "yes",
                },
                ["t.restart_on", "t.enabled"],
            ),
            (
                {
                    "name": "x",
                    "when": {"field": "status", "op": "eq", "value": "o"},
                    "after": "2 hours",
                    "actions": [{"tag": ["a"]}],
                    "calendar": "mars",
                },
                ["t.calendar"],
            ),
            ("not a rule", ["t"]),
        ],
    )
    def test_refuses_with_paths(self, data: Any, paths: list[str]) -> None:
        """Bad rule data is refused with a ValidationError naming each problem's path."""
        with pytest.raises(tk.ValidationError) as caught:
            TimedRule.from_dict(data, calendars={"office": OFFICE}, path="t")
        found = [e.path for e in caught.value.errors]
        assert sorted(paths) == sorted(set(found))

    def test_hostile_nesting_is_refused(self) -> None:
        """A deeply nested condition is a ValidationError, never a RecursionError."""
        deep: Any = {"field": "status", "op": "eq", "value": "o"}
        for _ in range(5000):
            deep = {"not": deep}
        with pytest.raises(tk.ValidationError):
            TimedRule.from_dict({"name": "x", "when": deep, "after": "1 hour", "actions": [{"tag": ["a"]}]})

    def test_desk_checks_names_and_calendars(self) -> None:
        """The desk refuses duplicate names, unknown calendars, business time without any calendar."""
        store = tk.InMemoryStore()
        with pytest.raises(tk.ValidationError) as caught:
            tk.Helpdesk(
                store=store,
                timed=[AUTO_RESOLVE, AUTO_RESOLVE.to_dict(), {"name": "b", "when": {}, "after": "x"}],
                calendars={"other": OFFICE, "more": OFFICE},
            )
        expected = ["timed[0].calendar", "timed[1].calendar", "timed[1].name"]
        expected += ["timed[2].actions", "timed[2].after", "timed[2].when"]
        assert expected == sorted(e.path for e in caught.value.errors)
        with pytest.raises(tk.ValidationError) as caught:
            tk.Helpdesk(store=store, timed=[REMIND])
        assert ["timed[0].after"] == [e.path for e in caught.value.errors]
        with pytest.raises(tk.ValidationError) as caught:
            tk.Helpdesk(store=store, timed="rules", calendars=[OFFICE])  # type: ignore[arg-type]
        assert ["calendars", "timed"] == [e.path for e in caught.value.errors]
        with pytest.raises(tk.ValidationError) as caught:
            tk.Helpdesk(store=store, calendars={"x": "office"})  # type: ignore[dict-item]
        assert ["calendars.x"] == [e.path for e in caught.value.errors]

    def test_timer_state_checks(self) -> None:
        """A TimerState with a naive start or an empty rule is refused, and it round-trips as data."""
        with pytest.raises(tk.ValidationError):
            TimerState(rule="", since=datetime(2025, 3, 3))
        state = TimerState(rule="r", since=START, fired_at=START + timedelta(hours=1))
        assert state == tk.from_dict(TimerState, tk.to_dict(state))


class TestTimersOnTheDesk:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(START)

    @pytest.fixture
    def desk(self, clock: ManualClock) -> tk.Helpdesk:
        return make_desk(tk.InMemoryStore(), clock)

    def pending(self, desk: tk.Helpdesk) -> tk.Ticket:
        t = desk.open(subject="Printer", customer="c-1", team="support", assignee="a1")
        desk.fire(t.id, "open", actor=ADMIN)
        return desk.fire(t.id, "wait", actor=ADMIN)

    def test_starts_and_is_due_in_the_index(self, desk: tk.Helpdesk) -> None:
        """Waiting starts the auto-resolve timer; its due instant is the ticket's next_due_at."""
        t = self.pending(desk)
        due = datetime(2025, 3, 13, 9, 0, tzinfo=SH)  # Monday + 2 business days, Wednesday a holiday
        assert (("auto-resolve", START),) == tuple((x.rule, x.since) for x in t.timers)
        assert due == t.next_due_at
        started = [e for e in desk.history(t.id, actor=ADMIN) if e.kind == TIMER_STARTED]
        assert [due.isoformat()] == [e.data["due_at"] for e in started if e.data["rule"] == "auto-resolve"]
        assert due == desk.next_wakeup()

    def test_never_early_and_once(self, desk: tk.Helpdesk, clock: ManualClock) -> None:
        """Nothing fires a second before the due instant; at it, once; later ticks fire nothing again."""
        t = self.pending(desk)
        assert t.next_due_at is not None
        clock.set(t.next_due_at - timedelta(seconds=1))
        assert [] == [e for e in desk.tick() if e.kind == TIMER_FIRED]
        clock.set(t.next_due_at)
        events = desk.tick()
        assert [("auto-resolve", t.next_due_at)] == [
            (e.data["rule"], e.at) for e in events if e.kind == TIMER_FIRED
        ]
        after = desk.get(t.id, actor=ADMIN)
        assert "resolved" == after.status
        assert [x.rule for x in after.timers] == ["survey"]
        clock.advance(timedelta(hours=1))
        assert [] == [e for e in desk.tick() if e.kind == TIMER_FIRED and e.data["rule"] == "auto-resolve"]
        assert 1 == len([e for e in fired(desk, t.id) if e.data["rule"] == "auto-resolve"])

    def test_cancelled_when_the_condition_stops(self, desk: tk.Helpdesk, clock: ManualClock) -> None:
        """Resuming before the due instant cancels the timer, with an event saying why; it never fires."""
        t = self.pending(desk)
        clock.advance(timedelta(hours=5))
        t = desk.fire(t.id, "resume", actor=ADMIN)
        cancelled = [e for e in desk.history(t.id, actor=ADMIN) if e.kind == TIMER_CANCELLED]
        assert [
            ("remind", "its condition no longer holds"),
            ("auto-resolve", "its condition no longer holds"),
        ] == [(e.data["rule"], e.data["reason"]) for e in cancelled]
        assert ["remind"] == [x.rule for x in t.timers]
        clock.advance(timedelta(days=10))
        desk.tick()
        assert [] == [e for e in fired(desk, t.id) if e.data["rule"] == "auto-resolve"]

    def test_a_new_start_after_a_fire(self, desk: tk.Helpdesk, clock: ManualClock) -> None:
        """After firing, the condition stopping and holding again starts a new timer that fires again."""
        t = self.pending(desk)
        for _ in range(2):
            assert t.next_due_at is not None
            clock.set(t.next_due_at)
            desk.tick()
            desk.fire(t.id, "reopen", actor=ADMIN)
            t = desk.fire(t.id, "wait", actor=ADMIN)
        assert 2 == len([e for e in fired(desk, t.id) if e.data["rule"] == "auto-resolve"])

    def test_restart_on_an_update(self, desk: tk.Helpdesk, clock: ManualClock) -> None:
        """A comment restarts the reminder: it fires 3 business hours after the last update, not the first."""
        t = desk.open(subject="Printer", customer="c-1", team="support", assignee="a1")
        desk.fire(t.id, "open", actor=ADMIN)
        clock.advance(timedelta(hours=2))
        t = desk.comment(t.id, "Looking into it", actor=ADMIN)
        assert [START + timedelta(hours=2)] == [x.since for x in t.timers]
        clock.set(START + timedelta(hours=4))  # 3 business hours after the first start (lunch closed)
        desk.tick()
        assert [] == fired(desk, t.id)
        clock.set(datetime(2025, 3, 10, 15, 0, tzinfo=SH))  # 11:00 + 1h to 12:00, 13:00 + 2h
        desk.tick()
        assert [("remind", (START + timedelta(hours=2)).isoformat())] == [
            (e.data["rule"], e.data["since"]) for e in fired(desk, t.id)
        ]

    def test_a_new_holiday_moves_the_due_instant(self, clock: ManualClock, tmp_path: Path) -> None:
        """A desk built with a calendar that has one more holiday recomputes the due from the stored start."""
        path = tmp_path / "desk.db"
        first = make_desk(tk.SQLiteStore(path), clock)
        t = self.pending(first)
        old_due = datetime(2025, 3, 13, 9, 0, tzinfo=SH)
        assert old_due == t.next_due_at
        closed = tk.BusinessCalendar(
            tz="Asia/Shanghai",
            hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
            holidays=[HOLIDAY, date(2025, 3, 13)],
            name="office",
        )
        second = make_desk(tk.SQLiteStore(path), clock, calendar=closed)
        clock.set(old_due)
        assert [] == [e for e in second.tick() if e.kind == TIMER_FIRED]
        new_due = datetime(2025, 3, 14, 9, 0, tzinfo=SH)
        assert new_due == second.get(t.id, actor=ADMIN).next_due_at
        clock.set(new_due)
        assert ["auto-resolve"] == [e.data["rule"] for e in second.tick() if e.kind == TIMER_FIRED]

    def test_rule_removed_or_disabled_cancels(self, clock: ManualClock) -> None:
        """A timer whose rule left the configuration, or was disabled, is cancelled on the next save."""
        store = tk.InMemoryStore()
        t = self.pending(make_desk(store, clock))
        gone = make_desk(store, clock, rules=(SURVEY,))
        desk_timed_reasons = [
            e.data["reason"]
            for e in gone.history(gone.comment(t.id, "x", actor=ADMIN).id, actor=ADMIN)
            if e.kind == TIMER_CANCELLED and e.data["rule"] == "auto-resolve"
        ]
        assert ["the rule is no longer configured"] == desk_timed_reasons
        t2 = self.pending(make_desk(store, clock))
        off = TimedRule.from_dict({**AUTO_RESOLVE.to_dict(), "enabled": False})
        disabled = make_desk(store, clock, rules=(off,))
        disabled.comment(t2.id, "x", actor=ADMIN)
        assert ["the rule is disabled"] == [
            e.data["reason"]
            for e in disabled.history(t2.id, actor=ADMIN)
            if e.kind == TIMER_CANCELLED and e.data["rule"] == "auto-resolve"
        ]
        assert () == disabled.get(t2.id, actor=ADMIN).timers

    def test_a_stale_claim_fires_nothing_when_the_condition_changed(self, clock: ManualClock) -> None:
        """A due timer whose time-based condition stopped holding without a save does not fire."""
        young = TimedRule(
            name="young",
            when=F.created_at.age_under(timedelta(hours=1)),
            after="2 hours",
            actions=[Action.tag("old")],
        )
        desk = make_desk(tk.InMemoryStore(), clock, rules=(young,))
        t = desk.open(subject="s", customer="c")
        assert ["young"] == [x.rule for x in t.timers]
        clock.advance(timedelta(hours=3))
        assert [] == [e for e in desk.tick() if e.kind == TIMER_FIRED]
        assert [TIMER_CANCELLED] == [k for k in kinds(desk, t.id) if k == TIMER_CANCELLED]

    def test_sla_checkpoints_and_timers_share_next_due(self, clock: ManualClock) -> None:
        """With an SLA policy next_due_at is the earlier of the SLA checkpoint and the timer; both fire."""
        policy = tk.SLAPolicy(
            name="std",
            calendar=tk.BusinessCalendar.always_open(),
            targets={"default": tk.SLATarget(first_response=timedelta(minutes=30))},
        )
        desk = make_desk(tk.InMemoryStore(), clock, rules=(ESCALATE,), policies=[policy])
        t = desk.open(subject="s", customer="c")
        assert START + timedelta(minutes=30) == t.next_due_at
        clock.set(START + timedelta(minutes=30))
        assert "sla.breached" in [e.kind for e in desk.tick()]
        assert START + timedelta(hours=2) == desk.get(t.id, actor=ADMIN).next_due_at
        clock.set(START + timedelta(hours=2))
        assert ["escalate"] == [e.data["rule"] for e in desk.tick() if e.kind == TIMER_FIRED]
        after = desk.get(t.id, actor=ADMIN)
        assert ("lead-1", True) == (after.assignee, "escalated" in after.tags)

    def test_no_rules_no_timers(self, clock: ManualClock) -> None:
        """A desk without timed rules adds no timers and no timer events."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=clock)
        t = desk.open(subject="s", customer="c")
        assert () == t.timers
        assert not [k for k in kinds(desk, t.id) if k.startswith("timer.")]


# --------------------------------------------------------------------------- the timer logic


class TestTimerProperties:
    @given(
        steps=st.lists(
            st.tuples(st.integers(1, 600), st.sampled_from(["new", "open", "pending", "resolved"])),
            min_size=1,
            max_size=25,
        )
    )
    @settings(max_examples=60, deadline=None)
    def test_timers_follow_the_status_history(self, steps: list[tuple[int, str]]) -> None:
        """After any sequence of status changes each timer's start is when its condition last became true."""
        clock = ManualClock(START)
        desk = make_desk(tk.InMemoryStore(), clock, rules=(AUTO_RESOLVE, SURVEY))
        t = desk.open(subject="s", customer="c")
        history: list[tuple[datetime, str]] = [(START, "new")]
        for minutes, kind in steps:
            clock.advance(timedelta(minutes=minutes))
            # straight to the status kind, by a field-free path: set the status directly through fields
            t = desk.get(t.id, actor=ADMIN)
            t = _move_to(desk, t, kind)
            history.append((clock.now(), t.status_kind))
        expected = {}
        for rule, kind in (("auto-resolve", "pending"), ("survey", "resolved")):
            since = None
            for at, k in history:
                if k == kind and since is None:
                    since = at
                elif k != kind:
                    since = None
            if since is not None:
                expected[rule] = since
        assert expected == {x.rule: x.since for x in t.timers}


def _move_to(desk: tk.Helpdesk, t: tk.Ticket, kind: str) -> tk.Ticket:
    """Walk the default workflow to a state of ``kind`` (the same state: no change)."""
    paths = {
        ("new", "open"): ["open"],
        ("new", "pending"): ["open", "wait"],
        ("new", "resolved"): ["open", "resolve"],
        ("open", "pending"): ["wait"],
        ("open", "resolved"): ["resolve"],
        ("pending", "open"): ["resume"],
        ("pending", "resolved"): ["resolve"],
        ("resolved", "open"): ["reopen"],
        ("resolved", "pending"): ["reopen", "wait"],
        ("open", "new"): [],
        ("pending", "new"): ["resume"],
        ("resolved", "new"): ["reopen"],
    }
    for trigger in paths.get((t.status_kind, kind), []):
        t = desk.fire(t.id, trigger, actor=ADMIN)
    return t


# --------------------------------------------------------------------------- two workers, simulated days

STEP = timedelta(minutes=10)


def reference_fires(
    histories: dict[str, list[tk.Event]], ticks: list[datetime], end: datetime
) -> list[tuple[str, str, datetime, datetime]]:
    """The fires each rule must make, from the histories alone: (ticket, rule, since, fired at).

    Slow and plain: the ticket's status kind and assignee are read back from its events,
    each rule's condition is a Python expression over them, the due instant is counted
    minute by minute (business hours) or date by date (business days) on the calendar,
    and a timer fires at the first sweep at or after its due instant, if its condition
    held (not ended or restarted by anyone but the timer itself) until then.
    """
    conditions: dict[str, Callable[[dict[str, Any]], bool]] = {
        "auto-resolve": lambda s: s["kind"] == "pending",
        "survey": lambda s: s["kind"] == "resolved",
        "remind": lambda s: s["kind"] == "open" and s["assignee"] is not None,
        "escalate": lambda s: s["assignee"] is None and s["kind"] in ("new", "open"),
    }

    def due(rule: str, since: datetime) -> datetime:
        if rule == "auto-resolve":
            return slow_business_day(OFFICE, since, 2)
        if rule == "remind":
            return slow_business_time(OFFICE, since, timedelta(hours=3))
        return since + (timedelta(days=1) if rule == "survey" else timedelta(hours=2))

    out: list[tuple[str, str, datetime, datetime]] = []
    for tid, events in histories.items():
        state: dict[str, Any] = {"kind": "new", "assignee": None}
        versions: dict[int, list[tk.Event]] = {}
        for e in events:
            versions.setdefault(e.version, []).append(e)
        since: dict[str, datetime | None] = dict.fromkeys(conditions)
        for version in sorted(versions):
            change = versions[version]
            at = change[0].at
            for e in change:
                if e.kind == "status.changed":
                    state["kind"] = e.data["to_kind"]
                elif e.kind == "ticket.assigned":
                    state["assignee"] = e.data.get("agent")
                elif e.kind == "ticket.created":
                    state["assignee"] = e.data.get("assignee", state["assignee"])
            by_timer = {
                e.actor.removeprefix("system:timer/") for e in change if e.actor.startswith("system:timer/")
            }
            comment = any(e.kind == "comment.added" and not e.actor.startswith("system:") for e in change)
            for rule, holds in conditions.items():
                start = since[rule]
                if start is not None and (not holds(state) or (rule == "remind" and comment)):
                    if rule not in by_timer:  # ended by someone else: fires only if due by a sweep before
                        _expect(out, tid, rule, start, due(rule, start), ticks=ticks, limit=at, strict=True)
                    else:  # ended by its own firing at this very sweep
                        _expect(out, tid, rule, start, due(rule, start), ticks=ticks, limit=at, strict=False)
                    since[rule] = None
                if since[rule] is None and holds(state):
                    since[rule] = at
        for rule, start in since.items():
            if start is not None:
                _expect(out, tid, rule, start, due(rule, start), ticks=ticks, limit=end, strict=False)
    return sorted(out)


def _expect(
    out: list[tuple[str, str, datetime, datetime]],
    tid: str,
    rule: str,
    since: datetime,
    due: datetime,
    *,
    ticks: list[datetime],
    limit: datetime,
    strict: bool,
) -> None:
    for t in ticks:  # the first sweep at or after the due instant
        if t >= due:
            if t < limit or (not strict and t <= limit):
                out.append((tid, rule, since, t))
            return


def actual_fires(histories: dict[str, list[tk.Event]]) -> list[tuple[str, str, datetime, datetime]]:
    return sorted(
        (tid, e.data["rule"], datetime.fromisoformat(e.data["since"]), e.at)
        for tid, events in histories.items()
        for e in events
        if e.kind == TIMER_FIRED
    )


def simulate(tmp: Path, *, days: int, tickets: int, seed: int, threads: bool) -> dict[str, Any]:
    """Two desks on two SQLite handles of one file, agents acting at random, both sweeping every step."""
    rng = random.Random(seed)
    clock = ManualClock(START)
    path = tmp / "timed.db"
    notifiers = [tk.RecordingNotifier(), tk.RecordingNotifier()]
    desks = [make_desk(tk.SQLiteStore(path), clock, worker=f"w{i}", notifier=notifiers[i]) for i in range(2)]
    ids: list[str] = []
    ticks: list[datetime] = []
    end = START + timedelta(days=days)
    triggers = ["open", "open", "wait", "wait", "wait", "resume", "resolve", "reopen", "close"]
    while clock.now() < end:
        for _ in range(rng.choice([0] * 10 + [1, 2])):
            desk = rng.choice(desks)
            if len(ids) < tickets and (not ids or rng.random() < 0.6):
                assignee = rng.choice([None, "a1"])
                ids.append(
                    desk.open(subject="s", customer=f"c{len(ids)}", team="support", assignee=assignee).id
                )
                continue
            tid = rng.choice(ids)
            action = rng.random()
            if action < 0.15:
                desk.comment(tid, "update", actor=ADMIN)
            elif action < 0.25:
                desk.assign(tid, team="support", agent=rng.choice(["a1", "a2"]), actor=ADMIN)
            else:
                with contextlib.suppress(tk.InvalidTransitionError):
                    desk.fire(tid, rng.choice(triggers), actor=ADMIN)
        ticks.append(clock.now())
        if threads:
            _sweep_together(desks)
        else:
            order = desks if rng.random() < 0.5 else desks[::-1]
            for d in order:
                d.tick()
        clock.advance(STEP)
    histories = {tid: list(desks[0].history(tid, actor=ADMIN)) for tid in ids}
    return {"histories": histories, "ticks": ticks, "end": clock.now(), "notifiers": notifiers}


def _sweep_together(desks: list[tk.Helpdesk]) -> None:
    """Both desks sweep at once, in two threads released by one barrier."""
    barrier = threading.Barrier(len(desks))
    errors: list[BaseException] = []

    def sweep(d: tk.Helpdesk) -> None:
        try:
            barrier.wait(timeout=10)
            d.tick()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=sweep, args=(d,)) for d in desks]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert [] == errors


def sent(notifiers: list[tk.RecordingNotifier], prefix: str) -> list[str]:
    return sorted(n.ticket.id for rec in notifiers for n in rec.sent if n.message.startswith(prefix))


class TestTwoWorkers:
    @pytest.mark.parametrize("threads", [False, True], ids=["alternating", "threads"])
    def test_each_timed_action_exactly_once(self, tmp_path: Path, threads: bool) -> None:
        """Over simulated days two workers fire each timer once, never early, none missed (slow reference)."""
        run = simulate(tmp_path, days=8, tickets=25, seed=7 if threads else 3, threads=threads)
        expected = reference_fires(run["histories"], run["ticks"], run["end"])
        actual = actual_fires(run["histories"])
        assert expected == actual
        counts = {r: sum(1 for _, x, _, _ in actual if x == r) for r in ("auto-resolve", "survey", "remind")}
        assert all(n >= 3 for n in counts.values()), counts
        cancelled = [e for h in run["histories"].values() for e in h if e.kind == TIMER_CANCELLED]
        assert len(cancelled) >= 5
        # each notification once, across both workers' notifiers
        assert sorted(t for t, r, _, _ in actual if r == "survey") == sent(run["notifiers"], "survey")
        assert sorted(t for t, r, _, _ in actual if r == "remind") == sent(run["notifiers"], "remind")

    def test_the_reference_catches_a_timer_fired_early(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A broken desk that counts every delay as one hour of wall time disagrees with the reference."""
        real = desk_timed.timer_due

        def early(desk: Any, timer: TimerState) -> datetime | None:
            found = real(desk, timer)
            return None if found is None else timer.since + timedelta(hours=1)

        monkeypatch.setattr(desk_timed, "timer_due", early)
        run = simulate(tmp_path, days=2, tickets=10, seed=3, threads=False)
        assert reference_fires(run["histories"], run["ticks"], run["end"]) != actual_fires(run["histories"])

    def test_the_reference_catches_a_timer_fired_twice(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A broken desk that forgets a timer fired fires it again; the reference sees the extra fires."""
        real = desk_timed.timer_due

        def forgetful(desk: Any, timer: TimerState) -> datetime | None:
            return real(desk, TimerState(rule=timer.rule, since=timer.since))

        monkeypatch.setattr(desk_timed, "timer_due", forgetful)
        run = simulate(tmp_path, days=2, tickets=10, seed=3, threads=False)
        actual = actual_fires(run["histories"])
        assert (
            len(set(actual)) < len(actual)
            or reference_fires(run["histories"], run["ticks"], run["end"]) != actual
        )


class TestConcurrentSweep:
    def test_many_due_at_once_fire_once(self, tmp_path: Path) -> None:
        """Forty tickets due at the same instant, two workers sweeping in threads: forty fires in all."""
        clock = ManualClock(START)
        path = tmp_path / "c.db"
        desks = [make_desk(tk.SQLiteStore(path), clock, rules=(ESCALATE,), worker=f"w{i}") for i in range(2)]
        ids = [desks[i % 2].open(subject="s", customer=f"c{i}").id for i in range(40)]
        clock.advance(timedelta(hours=2))
        results: list[list[tk.Event]] = [[], []]

        def sweep(i: int) -> None:
            while True:
                got = desks[i].tick(limit=3)
                if not got:
                    return
                results[i].extend(got)

        workers = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        fired_ids = sorted(e.ticket_id for r in results for e in r if e.kind == TIMER_FIRED)
        assert sorted(ids) == fired_ids
        stored = [sum(1 for e in fired(desks[0], tid)) for tid in ids]
        assert [1] * 40 == stored


class TestEdges:
    def test_direct_construction_lists_every_problem(self) -> None:
        """TimedRule(...) with bad values names each field at once."""
        with pytest.raises(tk.ValidationError) as caught:
            TimedRule(
                name="",
                when="status == open",  # type: ignore[arg-type]
                after="soon",
                actions=["tag"],  # type: ignore[list-item]
                calendar=3,  # type: ignore[arg-type]
                restart_on=[1],  # type: ignore[list-item]
                enabled="yes",  # type: ignore[arg-type]
            )
        assert ["actions[0]", "after", "calendar", "enabled", "name", "restart_on", "when"] == sorted(
            e.path for e in caught.value.errors
        )
        with pytest.raises(tk.ValidationError) as caught:
            TimedRule(name="x", when=F.status == "o", after="1 hour", actions=[])
        assert ["actions"] == [e.path for e in caught.value.errors]
        with pytest.raises(tk.ValidationError) as caught:
            TimedRule(name="x", when=F.status == "o", after="1 hour", actions=5)  # type: ignore[arg-type]
        assert ["actions"] == [e.path for e in caught.value.errors]

    def test_single_values_and_delays(self) -> None:
        """One action, one restart kind and a Delay are taken as given; business whole days read back."""
        rule = TimedRule(
            name="x",
            when=F.status == "o",
            after=AUTO_RESOLVE.after,
            actions=Action.tag("a"),
            restart_on="*",
            calendar="office",
        )
        assert (1, frozenset({"*"}), AUTO_RESOLVE.after) == (len(rule.actions), rule.restart_on, rule.after)
        assert rule.restarts(["tags.changed"])
        assert not rule.restarts(["timer.started"])
        day = TimedRule(
            name="d", when=F.status == "o", after="PT24H", calendar="c", actions=[Action.tag("a")]
        )
        assert "24 business hours" == day.after.text()
        assert day == TimedRule.from_dict(day.to_dict())
        assert (
            "1 day"
            == TimedRule(name="d", when=F.status == "o", after="P1D", actions=Action.tag("a")).after.text()
        )

    def test_retention_and_timers_share_next_due(self) -> None:
        """With a retention policy the ticket is due at the earlier of its retention and its timer."""
        clock = ManualClock(START)
        keep = tk.RetentionPolicy(name="short", after="P30D", since="created_at")
        desk = make_desk(tk.InMemoryStore(), clock, rules=(ESCALATE,), retention=[keep])
        t = desk.open(subject="s", customer="c")
        assert START + timedelta(hours=2) == t.next_due_at
        clock.set(START + timedelta(hours=2))
        desk.tick()
        assert datetime(2025, 4, 9, 9, 0, tzinfo=SH) == desk.get(t.id, actor=ADMIN).next_due_at

    def test_a_fired_timer_of_a_removed_rule_goes_quietly(self) -> None:
        """A fired timer whose rule left the configuration is dropped without a cancel event."""
        clock = ManualClock(START)
        store = tk.InMemoryStore()
        desk = make_desk(store, clock, rules=(SURVEY,))
        t = desk.open(subject="s", customer="c")
        desk.fire(t.id, "open", actor=ADMIN)
        desk.fire(t.id, "resolve", actor=ADMIN)
        clock.advance(timedelta(days=1))
        desk.tick()
        other = make_desk(store, clock, rules=(ESCALATE,))
        t = other.comment(t.id, "thanks", actor=ADMIN)
        assert () == t.timers
        assert [] == [k for k in kinds(other, t.id) if k == TIMER_CANCELLED]


class TestWorkerConfig:
    def test_the_worker_reads_timed_rules_from_json(self) -> None:
        """The worker's JSON desk takes a "timed" section on named calendars; bad rules name their path."""
        from ticketkit.cli._worker import desk_from_config

        config = {
            "calendars": {"office": OFFICE.to_dict()},
            "timed": [AUTO_RESOLVE.to_dict(), SURVEY.to_dict()],
        }
        clockless = desk_from_config(config, tk.InMemoryStore())
        t = clockless.open(subject="s", customer="c")
        assert () == t.timers  # new: neither rule holds
        bad = {**config, "timed": [{**AUTO_RESOLVE.to_dict(), "calendar": "mars", "after": "soon"}]}
        with pytest.raises(tk.ValidationError) as caught:
            desk_from_config(bad, tk.InMemoryStore())
        assert ["timed[0].after", "timed[0].calendar"] == sorted(e.path for e in caught.value.errors)
