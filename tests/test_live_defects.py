"""Defects of routing, workflow diagrams and SLA checkpoints found by checking against references."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_sla import OFFICE, Sim
from ticketkit import (
    Agent,
    Assign,
    Customer,
    Escalation,
    F,
    InMemoryCursor,
    Router,
    Rule,
    SLAPolicy,
    SLATarget,
    State,
    Team,
    Ticket,
    Transition,
    ValidationError,
    Workflow,
)
from ticketkit.automation._automation import render

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)


def ticket(**kw: object) -> Ticket:
    return Ticket(subject="Help", created_at=T0, **kw)  # type: ignore[arg-type]


class TestQueueStrategy:
    def test_named_agent_unavailable_waits_in_queue(self) -> None:
        """With strategy queue, an unavailable named agent leaves the ticket queued, not with another."""
        r = Router(
            rules=[Rule(name="li", assign=Assign(team="t", agent="li", strategy="queue"))],
            agents=[Agent(id="li", teams={"t"}, status="away"), Agent(id="wu", teams={"t"})],
            teams=[Team(id="t")],
        )
        d = r.route(ticket(), at=T0)
        assert ("t", None) == (d.team, d.agent)
        assert "queue" in d.tie_break

    def test_named_agent_available_gets_it(self) -> None:
        """With strategy queue, the named agent gets the ticket when they can take it."""
        r = Router(
            rules=[Rule(name="li", assign=Assign(team="t", agent="li", strategy="queue"))],
            agents=[Agent(id="li", teams={"t"}), Agent(id="wu", teams={"t"})],
        )
        assert "li" == r.route(ticket(), at=T0).agent

    def test_queue_ignores_overflow(self) -> None:
        """A queued ticket waits in its team even when the rule has an overflow team."""
        r = Router(
            rules=[Rule(name="li", assign=Assign(team="t", agent="li", strategy="queue", overflow="o"))],
            agents=[Agent(id="li", teams={"t"}, capacity=0), Agent(id="zz", teams={"o"})],
        )
        d = r.route(ticket(), at=T0)
        assert ("t", None, None) == (d.team, d.agent, d.fallback)


class TestTeamRefRecord:
    def test_record_names_team_routing_used(self) -> None:
        """The record's team_ref value is the one routing read, before the stopping rule's own set."""
        r = Router(
            rules=[
                Rule(
                    name="by category",
                    assign=Assign(team_ref="category", strategy="queue"),
                    set={"category": "other"},
                )
            ],
            teams=[Team(id="billing"), Team(id="other")],
        )
        d = r.route(ticket(category="billing"), at=T0)
        assert "billing" == d.team
        assert "rule 'by category': category = 'billing'" == d.record.team_source

    def test_stayed_in_resolved_team_is_not_fallback(self) -> None:
        """A ticket queued unassigned in its team_ref team is not reported as sent to the fallback."""
        r = Router(
            rules=[Rule(name="by category", assign=Assign(team_ref="category"))],
            agents=[Agent(id="a", teams={"billing"}, capacity=0)],
            teams=[Team(id="billing"), Team(id="fb")],
            fallback="fb",
        )
        rec = r.explain(ticket(category="billing"), at=T0)
        assert "billing" == rec.team
        assert "rule 'by category': category = 'billing'" == rec.team_source

    def test_unknown_team_is_fallback(self) -> None:
        """A team_ref naming no team still says it went to the fallback."""
        r = Router(
            rules=[Rule(name="by category", assign=Assign(team_ref="category"))],
            teams=[Team(id="billing"), Team(id="fb")],
            fallback="fb",
        )
        rec = r.explain(ticket(category="nope"), at=T0)
        assert ("fb", "rule 'by category': category = 'nope' -> fallback") == (rec.team, rec.team_source)


class TestCheckTypes:
    def test_true_is_not_one(self) -> None:
        """A rule on fields.x eq true after one on fields.x in [1] is reachable, as routing shows."""
        r = Router(
            rules=[
                Rule(name="one", when=F.fields.x.in_([1]), assign=Assign(team="a", strategy="queue")),
                Rule(name="yes", when=F.fields.x == True, assign=Assign(team="b", strategy="queue")),  # noqa: E712
            ],
            fallback="a",
        )
        assert "yes" == r.route(ticket(fields={"x": True}), at=T0).rule
        assert [] == [f for f in r.check() if "never reached" in f.message]

    def test_equal_conditions_of_other_types(self) -> None:
        """fields.x eq 0 does not shadow fields.x eq false."""
        r = Router(
            rules=[
                Rule(name="zero", when=F.fields.x == 0, assign=Assign(team="a", strategy="queue")),
                Rule(name="no", when=F.fields.x == False, assign=Assign(team="b", strategy="queue")),  # noqa: E712
            ],
            fallback="a",
        )
        assert "no" == r.route(ticket(fields={"x": False}), at=T0).rule
        assert [] == [f for f in r.check() if "never reached" in f.message]

    def test_real_shadowing_still_found(self) -> None:
        """A rule on fields.x eq 1 after fields.x in [1, 2] is still reported never reached."""
        r = Router(
            rules=[
                Rule(name="a", when=F.fields.x.in_([1, 2]), assign=Assign(team="a", strategy="queue")),
                Rule(name="b", when=F.fields.x == 1, assign=Assign(team="b", strategy="queue")),
            ],
            fallback="a",
        )
        assert 1 == len([f for f in r.check() if "never reached" in f.message])


class TestMermaidIds:
    def test_state_named_like_generated_id(self) -> None:
        """A state named s1 and one that needs an alias never share a Mermaid id."""
        wf = Workflow(
            "odd",
            [State("s1", "new"), State("end", "closed", final=True)],
            [Transition("go", "s1", "end")],
            "s1",
        )
        text = wf.to_mermaid()
        aliases = dict(re.findall(r'state "([^"]+)" as (\S+)', text))
        assert "s1" != aliases["end"]
        assert f"    s1 --> {aliases['end']}: go" in text

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.sampled_from(["s0", "s1", "s2", "end", "a b", "x", "s0_"]), min_size=1, unique=True))
    def test_ids_unique(self, names: list[str]) -> None:
        """Whatever the names, every state gets its own id."""
        states = [State(n, "open") for n in names] + [State("fin", "closed", final=True)]
        chain = [*names, "fin"]
        moves = [Transition(f"t{i}", a, b) for i, (a, b) in enumerate(pairwise(chain))]
        wf = Workflow("w", states, moves, names[0])
        text = wf.to_mermaid()
        aliased = dict(re.findall(r'state "([^"]+)" as (\S+)', text))
        ids = [aliased.get(n, n) for n in chain]
        assert len(ids) == len(set(ids))


class TestEscalationPriority:
    def policy(self) -> SLAPolicy:
        return SLAPolicy(
            name="p",
            calendar=OFFICE,
            targets={"urgent": SLATarget(resolution=2 * H), "default": SLATarget(resolution=8 * H)},
            warn_at=(0.5,),
            escalations=[
                Escalation(metric="resolution", after=H, notify="role:regional", raise_priority="urgent")
            ],
        )

    def test_raised_priority_does_not_notify_again(self) -> None:
        """An escalation raising to a tier with a shorter target fires nothing again on the next tick."""
        s = Sim(self.policy(), status="open")
        first = s.tick(T0 + 27 * H)  # Tuesday noon: warning, breach, escalation
        assert ["sla.warning", "sla.breached", "sla.escalated"] == [e.kind for e in first]
        s.prioritize(T0 + 27 * H, "urgent")
        assert [] == s.tick(T0 + 27 * H + timedelta(minutes=1))
        assert [] == s.tick(T0 + 100 * H)

    def test_deadline_moved_into_past_breaches_once(self) -> None:
        """Moving a deadline earlier into the past yields one breach, dated at the new deadline."""
        s = Sim(self.policy(), status="open")
        s.prioritize(T0 + 3 * H, "urgent")
        due = s.tick(T0 + 3 * H)
        assert 1 == [e.kind for e in due].count("sla.breached")
        s.prioritize(T0 + 4 * H, "normal")  # the longer target: the breach moves to Tuesday
        assert [] == [e for e in s.tick(T0 + 30 * H) if e.kind == "sla.breached"]

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.integers(1, 600), st.booleans()), max_size=8))
    def test_each_checkpoint_once_per_cycle(self, steps: list[tuple[int, bool]]) -> None:
        """Whatever the priority changes and ticks, each checkpoint is notified at most once."""
        s = Sim(self.policy(), status="open")
        at = T0
        for gap, urgent in steps:
            at += timedelta(minutes=gap)
            s.tick(at)
            s.prioritize(at, "urgent" if urgent else "normal")
        s.tick(at + 100 * H)
        stems = [(e.data["metric"], e.data["cycle"], e.data["key"].split("@")[0]) for e in s.emitted]
        assert len(stems) == len(set(stems))


class _StoreCursor:
    """A round-robin cursor on a shared table (a dict standing in for the store)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        chosen = self.peek_agent(key, eligible)
        self.table[key] = chosen
        return chosen

    def peek_agent(self, key: str, eligible: Sequence[str]) -> str:
        last = self.table.get(key)
        i = 0 if last is None else bisect.bisect_right(eligible, last)
        return eligible[i] if i < len(eligible) else eligible[0]


class TestExplainCursor:
    def test_store_cursor_explain_matches_route(self) -> None:
        """explain with a readable store-backed cursor names the agent the next route picks."""
        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id=x, teams={"t"}) for x in "abc"],
            cursor=_StoreCursor({"t": "a"}),
        )
        for _ in range(4):
            said = r.explain(ticket(), at=T0).agent
            assert said == r.route(ticket(), at=T0).agent

    def test_unreadable_cursor_names_nobody(self) -> None:
        """A cursor without peek_agent: explain names no agent rather than a wrong one, and says why."""

        class Last:
            def next_agent(self, key: str, eligible: Sequence[str]) -> str:
                return eligible[-1]

        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id=x, teams={"t"}) for x in "ab"],
            cursor=Last(),
        )
        rec = r.explain(ticket(), at=T0)
        assert (None, "t") == (rec.agent, rec.team)
        assert "peek_agent" in rec.tie_break
        assert "assignee" not in rec.changes

    def test_in_memory_peek(self) -> None:
        """InMemoryCursor.peek_agent does not move the cursor."""
        c = InMemoryCursor()
        assert ["a", "a"] == [c.peek_agent("t", ["a", "b"]) for _ in range(2)]
        assert "a" == c.next_agent("t", ["a", "b"])
        assert "b" == c.peek_agent("t", ["a", "b"])


class TestRecordTags:
    def test_tags_are_a_list(self) -> None:
        """A tags value in the record is a sorted list, not a Python repr."""
        r = Router(
            rules=[
                Rule(name="vip", when=F.tags.contains("vip"), assign=Assign(team="t", strategy="queue")),
                Rule(name="rest", assign=Assign(team="u", strategy="queue")),
            ]
        )
        data = r.route(ticket(tags={"size", "a"}), at=T0).record.to_dict()
        assert ["a", "size"] == data["rules"][0]["failure"]["actual"]
        assert data == json.loads(json.dumps(data))


class TestPeekResult:
    def test_peek_must_name_an_agent(self) -> None:
        """A cursor whose peek_agent answers something other than an id is a ValidationError."""

        class Odd:
            def next_agent(self, key: str, eligible: Sequence[str]) -> str:
                return eligible[0]

            def peek_agent(self, key: str, eligible: Sequence[str]) -> object:
                return 3

        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id="a", teams={"t"})],
            cursor=Odd(),
        )
        with pytest.raises(ValidationError):
            r.explain(ticket(), at=T0)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def _reference_text(value: object) -> str:
    """What a template shows for a JSON value: plain values and flat lists of them, else the placeholder."""
    placeholder = "{fields.v}"

    def scalar(v: object) -> str | None:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str | int):
            return str(v)
        return None

    if value is None:
        return ""
    if isinstance(value, list):
        items = [scalar(v) for v in value]
        return placeholder if None in items else ", ".join(str(i) for i in items)
    text = scalar(value)
    return placeholder if text is None else text


class TestTemplatesReachNoObjects:
    def test_objects_stay_placeholders(self) -> None:
        """{customer}, {fields} and mappings never show a Python representation (nor a phone number)."""
        t = ticket(
            customer=Customer(id="c", name="Wang", phone="+8613800000000", data={"a": {"b": 1}}),
            fields={"y": {"k": "v"}},
            tags={"b", "a"},
        )
        text = "{customer} {customer.data} {fields} {fields.y} {customer.a} {tags} {customer.name}"
        assert "{customer} {customer.data} {fields} {fields.y} {customer.a} a, b Wang" == render(text, t)

    @settings(max_examples=200, deadline=None)
    @given(JSON)
    def test_any_field_value(self, value: object) -> None:
        """Whatever JSON a field holds, the template shows plain text or leaves the placeholder."""
        assert _reference_text(value) == render("{fields.v}", ticket(fields={"v": value}))
