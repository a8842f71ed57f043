"""Routing: rules, agent selection, availability, fallback, decision records, checks, simulation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_conditions import conditions, random_tickets, slow_eval
from ticketkit import (
    Agent,
    Assign,
    BusinessCalendar,
    Comparison,
    Condition,
    Customer,
    Decision,
    F,
    InMemoryCursor,
    RoundRobinCursor,
    Router,
    Rule,
    RuleChanges,
    Simulation,
    Team,
    Ticket,
    ValidationError,
    compare,
)

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # a Monday, 18:00 in Shanghai


def ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = {"subject": "Help", "created_at": T0}
    base.update(kw)
    return Ticket(**base)


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in exc.value.errors]


# --------------------------------------------------------------------------- the seed's rules

SHOP_TEAMS = [
    Team(id="sh-01", name="After-sales, Shanghai 01"),
    Team(id="bj-02", name="After-sales, Beijing 02"),
]


def seed_router(**kw: Any) -> Router:
    """The shop and hospital desks of the seed, as one rule set."""
    rules = [
        Rule(
            name="vip complaints",
            when=(F.category == "complaint") & F.customer.tier.in_(["vip", "svip"]),
            assign=Assign(team="senior", strategy="least_loaded"),
            set=RuleChanges(priority="high"),
        ),
        Rule(
            name="size complaints to the shop",
            when=(F.category == "complaint") & F.tags.contains("size") & F.customer.store.exists(),
            assign=Assign(team_ref="customer.store", strategy="round_robin"),
        ),
        Rule(
            name="exam results to the laboratory",
            when=(F.category == "enquiry") & (F.fields.topic == "exam-result"),
            assign=Assign(team="laboratory", strategy="queue"),
        ),
    ]
    agents = [
        Agent(id="chen", teams={"senior"}, capacity=5),
        Agent(id="zhou", teams={"senior"}, capacity=5),
        Agent(id="li", teams={"sh-01"}),
        Agent(id="wang", teams={"sh-01"}),
        Agent(id="zhao", teams={"bj-02"}),
        Agent(id="sun", teams={"triage"}),
    ]
    teams = [Team(id="senior"), *SHOP_TEAMS, Team(id="laboratory"), Team(id="triage")]
    args: dict[str, Any] = {"rules": rules, "agents": agents, "teams": teams, "fallback": "triage"}
    args.update(kw)
    return Router(**args)


class TestSeedRules:
    def test_vip_complaint_to_senior(self) -> None:
        """A VIP's complaint goes to the least-loaded senior agent, priority raised."""
        t = ticket(category="complaint", customer=Customer(id="c1", tier="vip"))
        d = seed_router().route(t, at=T0, load={"chen": 3, "zhou": 1})
        assert ("senior", "zhou", "vip complaints") == (d.team, d.agent, d.rule)
        assert {
            "team": "senior",
            "assignee": "zhou",
            "priority": seed_router().rules[0].set.priority,
        } == dict(d.changes)

    def test_size_complaint_to_the_shop_by_reference(self) -> None:
        """One rule sends each shop's size complaints to that shop's after-sales team."""
        r = seed_router()
        sh = ticket(category="complaint", tags=["size"], customer=Customer(id="c2", data={"store": "sh-01"}))
        bj = ticket(category="complaint", tags=["size"], customer=Customer(id="c3", data={"store": "bj-02"}))
        assert [("sh-01", "li"), ("bj-02", "zhao")] == [
            (d.team, d.agent) for d in (r.route(sh, at=T0), r.route(bj, at=T0))
        ]
        assert (
            "rule 'size complaints to the shop': customer.store = 'sh-01'" == r.explain(sh, at=T0).team_source
        )

    def test_unknown_shop_goes_to_fallback(self) -> None:
        """A store that names no team sends the ticket to the fallback, saying why."""
        t = ticket(category="complaint", tags=["size"], customer=Customer(id="c2", data={"store": "gz-09"}))
        d = seed_router().route(t, at=T0)
        assert ("triage", None) == (d.team, d.agent)
        assert "customer.store names unknown team 'gz-09': fallback team" == d.fallback

    def test_exam_results_to_laboratory(self) -> None:
        """A hospital's exam-result enquiry goes to the laboratory queue."""
        t = ticket(category="enquiry", fields={"topic": "exam-result"})
        d = seed_router().route(t, at=T0)
        assert ("laboratory", None, "exam results to the laboratory") == (d.team, d.agent, d.rule)

    def test_unroutable_to_fallback(self) -> None:
        """A ticket no rule matches goes to the fallback team, never dropped."""
        d = seed_router().route(ticket(category="billing"), at=T0)
        assert ("triage", None, None, ()) == (d.team, d.agent, d.rule, d.matched)
        assert "no rule assigned it: fallback team" == d.fallback

    def test_rule_set_in_data_form(self) -> None:
        """The seed's rules load from plain data and route the same."""
        r = seed_router()
        again = Router.from_dict(json.loads(json.dumps(r.to_dict())))
        t = ticket(category="complaint", tags=["size"], customer=Customer(id="c2", data={"store": "sh-01"}))
        assert (r.route(t, at=T0).team, r.route(t, at=T0).agent) == (
            again.route(t, at=T0).team,
            again.route(t, at=T0).agent,
        )


# --------------------------------------------------------------------------- strategies


def team_router(strategy: str, agents: Sequence[Agent], **assign: Any) -> Router:
    return Router(
        rules=[Rule(name="all", assign=Assign(team="t", strategy=strategy, **assign))],
        agents=agents,
        teams=[Team(id="t"), Team(id="o"), Team(id="fb")],
        fallback="fb",
    )


class TestStrategies:
    def test_round_robin_cycles(self) -> None:
        """round_robin takes the agents in turn."""
        r = team_router("round_robin", [Agent(id=x, teams={"t"}) for x in "cab"])
        assert ["a", "b", "c", "a"] == [r.route(ticket(), at=T0).agent for _ in range(4)]

    def test_round_robin_skips_unavailable(self) -> None:
        """round_robin passes over agents who cannot take the ticket now."""
        r = team_router(
            "round_robin",
            [
                Agent(id="a", teams={"t"}),
                Agent(id="b", teams={"t"}, status="away"),
                Agent(id="c", teams={"t"}),
            ],
        )
        assert ["a", "c", "a"] == [r.route(ticket(), at=T0).agent for _ in range(3)]

    def test_least_loaded_by_capacity_share(self) -> None:
        """least_loaded compares open tickets against capacity."""
        r = team_router(
            "least_loaded", [Agent(id="a", teams={"t"}, capacity=10), Agent(id="b", teams={"t"}, capacity=2)]
        )
        d = r.route(ticket(), at=T0, load={"a": 4, "b": 1})
        assert ("a", "least loaded (40% of capacity)") == (d.agent, d.tie_break)

    def test_least_loaded_tie_round_robin(self) -> None:
        """Ties in least_loaded are broken by round-robin, and the record says so."""
        r = team_router("least_loaded", [Agent(id="a", teams={"t"}), Agent(id="b", teams={"t"})])
        ds = [r.route(ticket(), at=T0) for _ in range(2)]
        assert ["a", "b"] == [d.agent for d in ds]
        assert "least loaded (0%); tie between a, b broken by round-robin" == ds[0].tie_break

    def test_skills_most_specialised_first(self) -> None:
        """skills needs every required skill and prefers the agent with the fewest others."""
        r = team_router(
            "skills",
            [
                Agent(id="a", teams={"t"}, skills={"returns", "zh", "en", "billing"}),
                Agent(id="b", teams={"t"}, skills={"returns", "zh"}),
                Agent(id="c", teams={"t"}, skills={"zh"}),
            ],
            skills={"returns", "zh"},
        )
        d = r.route(ticket(), at=T0)
        assert "b" == d.agent
        assert "missing skill: returns" == {c.agent: c.excluded for c in d.record.candidates}["c"]

    def test_sticky(self) -> None:
        """sticky gives the customer's last agent when available, else the least loaded."""
        agents = [
            Agent(id="a", teams={"t"}),
            Agent(id="b", teams={"t"}),
            Agent(id="c", teams={"t"}, status="offline"),
        ]
        r = team_router("sticky", agents)
        assert "b" == r.route(ticket(), at=T0, last_agent="b", load={"b": 5}).agent
        d = r.route(ticket(), at=T0, last_agent="c", load={"a": 2})
        assert ("b", True) == (d.agent, d.tie_break.startswith("sticky: last agent not available"))
        assert r.route(ticket(), at=T0).tie_break.startswith("sticky: no last agent")

    def test_named_agent(self) -> None:
        """A rule naming an agent assigns them when available, else falls back to the strategy."""
        agents = [Agent(id="a", teams={"t"}), Agent(id="b", teams={"t"})]
        r = team_router("round_robin", agents, agent="b")
        assert ("b", "named by the rule") == (
            r.route(ticket(), at=T0).agent,
            r.route(ticket(), at=T0).tie_break,
        )
        assert "a" == r.route(ticket(), at=T0, load={"b": 10}).agent

    def test_queue(self) -> None:
        """queue assigns the team only."""
        r = team_router("queue", [Agent(id="a", teams={"t"})])
        assert ("t", None) == (r.route(ticket(), at=T0).team, r.route(ticket(), at=T0).agent)

    def test_shared_cursor(self) -> None:
        """Two routers sharing one cursor take turns as one (as processes sharing a store would)."""
        cursor = InMemoryCursor()
        agents = [Agent(id=x, teams={"t"}) for x in "ab"]
        r1 = Router(rules=[Rule(name="all", assign=Assign(team="t"))], agents=agents, cursor=cursor)
        r2 = Router.from_dict(r1.to_dict(), cursor=cursor)
        assert ["a", "b", "a", "b"] == [r.route(ticket(), at=T0).agent for r in (r1, r2, r1, r2)]
        assert {"t": "b"} == cursor.state()

    def test_cursor_threads(self) -> None:
        """Threads sharing one cursor take strict turns: every agent gets the same number."""
        import threading

        cursor = InMemoryCursor()
        got: list[str] = []

        def worker() -> None:
            got.extend(cursor.next_agent("t", ["a", "b", "c", "d"]) for _ in range(250))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert {"a": 250, "b": 250, "c": 250, "d": 250} == {x: got.count(x) for x in "abcd"}

    def test_custom_cursor(self) -> None:
        """Any object with next_agent(key, eligible) serves as a cursor."""

        class Last:
            def next_agent(self, key: str, eligible: Sequence[str]) -> str:
                return eligible[-1]

        assert isinstance(Last(), RoundRobinCursor)
        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id=x, teams={"t"}) for x in "ab"],
            cursor=Last(),
        )
        assert "b" == r.route(ticket(), at=T0).agent


class TestAvailability:
    def test_reasons(self) -> None:
        """Each excluded agent is listed with why: offline, away, at capacity, off shift, missing skill."""
        office = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-17:00"]}, name="office")
        agents = [
            Agent(id="a", teams={"t"}, status="offline"),
            Agent(id="b", teams={"t"}, status="away"),
            Agent(id="c", teams={"t"}, capacity=2),
            Agent(id="d", teams={"t"}, shift="office"),
            Agent(id="e", teams={"t"}, skills={"en"}),
            Agent(id="f", teams={"t"}, skills={"zh"}),
        ]
        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t", skills={"zh"}, strategy="least_loaded"))],
            agents=agents,
            calendars={"office": office},
        )
        d = r.route(ticket(), at=T0, load={"c": 2})
        assert "f" == d.agent
        assert {
            "a": "offline",
            "b": "away",
            "c": "at capacity (2/2)",
            "d": "off shift (office)",
            "e": "missing skill: zh",
            "f": None,
        } == {c.agent: c.excluded for c in d.record.candidates}

    def test_on_shift(self) -> None:
        """An agent whose shift calendar is open at ``at`` can take tickets."""
        office = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-17:00"]}, name="office")
        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id="d", teams={"t"}, shift="office")],
            calendars={"office": office},
        )
        assert ["d", None] == [r.route(ticket(), at=at).agent for at in (T0 - timedelta(hours=4), T0)]

    def test_away_allowed_when_configured(self) -> None:
        """available_statuses decides which statuses can take tickets."""
        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id="b", teams={"t"}, status="away")],
            available_statuses={"online", "away"},
        )
        assert "b" == r.route(ticket(), at=T0).agent


class TestFallback:
    def test_queue_unassigned_when_nobody(self) -> None:
        """Nobody available and no overflow: the ticket waits in the team's queue."""
        r = team_router("round_robin", [Agent(id="a", teams={"t"}, status="offline")])
        d = r.route(ticket(), at=T0)
        assert ("t", None, "nobody in 't' can take it: queued to the team unassigned") == (
            d.team,
            d.agent,
            d.fallback,
        )

    def test_overflow_team(self) -> None:
        """Nobody available: the overflow team's agents are tried."""
        r = team_router(
            "round_robin", [Agent(id="a", teams={"t"}, capacity=0), Agent(id="o1", teams={"o"})], overflow="o"
        )
        d = r.route(ticket(), at=T0)
        assert ("o", "o1", "nobody in 't' can take it: overflow team 'o'") == (d.team, d.agent, d.fallback)
        assert ["a", "o1"] == [c.agent for c in d.record.candidates]

    def test_overflow_team_empty(self) -> None:
        """Nobody in the overflow team either: queued unassigned there."""
        r = team_router("round_robin", [Agent(id="a", teams={"t"}, capacity=0)], overflow="o")
        d = r.route(ticket(), at=T0)
        assert ("o", None) == (d.team, d.agent)
        assert d.fallback is not None
        assert d.fallback.endswith("queued unassigned there too")

    def test_no_fallback_keeps_ticket(self) -> None:
        """Without a fallback team an unmatched ticket keeps its team and assignee."""
        r = Router(rules=[Rule(name="x", when=F.category == "x", assign=Assign(team="t"))])
        d = r.route(ticket(team="old", assignee="li"), at=T0)
        assert ("old", "li", {}) == (d.team, d.agent, dict(d.changes))

    def test_team_ref_missing(self) -> None:
        """A team_ref with no value sends the ticket to the fallback."""
        r = Router(rules=[Rule(name="x", assign=Assign(team_ref="fields.team"))], fallback="fb")
        d = r.route(ticket(), at=T0)
        assert ("fb", "fields.team is None, which names no team: fallback team") == (d.team, d.fallback)
        r2 = Router(rules=[Rule(name="x", assign=Assign(team_ref="fields.team"))])
        assert (
            "fields.team is None, which names no team and there is no fallback team: left as it was"
            == r2.route(ticket(), at=T0).fallback
        )

    def test_team_ref_without_teams_list(self) -> None:
        """Without a teams list any named team is accepted."""
        r = Router(rules=[Rule(name="x", assign=Assign(team_ref="fields.team", strategy="queue"))])
        assert "anything" == r.route(ticket(fields={"team": "anything"}), at=T0).team


class TestRules:
    def test_non_stop_rules_accumulate(self) -> None:
        """A stop=False rule sets fields that later rules see; tags accumulate."""
        r = Router(
            rules=[
                Rule(
                    name="vip up",
                    when=F.customer.tier == "vip",
                    set={"priority": "urgent", "tags": ["vip"]},
                    stop=False,
                ),
                Rule(name="tag", when=F.channel == "phone", set={"tags": ["phone"]}, stop=False),
                Rule(
                    name="urgent",
                    when=F.priority >= "urgent",
                    assign=Assign(team="hot", strategy="queue"),
                    set={"sla_policy": "fast"},
                ),
                Rule(name="rest", assign=Assign(team="cold", strategy="queue")),
            ]
        )
        d = r.route(ticket(customer=Customer(id="c", tier="vip"), channel="phone", tags=["x"]), at=T0)
        assert ("hot", "urgent", ("vip up", "tag", "urgent")) == (d.team, d.rule, d.matched)
        assert {"priority", "tags", "sla_policy", "team"} == set(d.changes)
        assert frozenset({"x", "vip", "phone"}) == d.changes["tags"]
        routed = d.apply(ticket(customer=Customer(id="c", tier="vip"), channel="phone", tags=["x"]))
        assert ("urgent", "hot") == (routed.priority.value, routed.team)
        assert [True, True, True] == [t.matched for t in d.record.rules]

    def test_later_assign_overrides(self) -> None:
        """A later matching rule's assignment overrides an earlier non-stop one."""
        r = Router(
            rules=[
                Rule(
                    name="billing",
                    when=F.category == "billing",
                    assign=Assign(team="b", strategy="queue"),
                    stop=False,
                ),
                Rule(
                    name="vip billing",
                    when=F.customer.tier == "vip",
                    assign=Assign(team="vb", strategy="queue"),
                ),
            ]
        )
        assert "vb" == r.route(ticket(category="billing", customer=Customer(id="c", tier="vip")), at=T0).team
        assert "b" == r.route(ticket(category="billing"), at=T0).team

    def test_unchanged_values_not_in_changes(self) -> None:
        """changes lists only what differs from the ticket."""
        r = Router(
            rules=[Rule(name="x", assign=Assign(team="t", strategy="queue"), set={"priority": "normal"})]
        )
        assert {} == dict(r.route(ticket(team="t"), at=T0).changes)

    def test_match(self) -> None:
        """match returns the first matching rule, or None."""
        r = seed_router()
        assert r.rules[2] is r.match(ticket(category="enquiry", fields={"topic": "exam-result"}))
        assert None is r.match(ticket())

    def test_naive_at(self) -> None:
        """route refuses a naive at."""
        with pytest.raises(ValidationError) as exc:
            seed_router().route(ticket(), at=datetime(2025, 1, 1))
        assert ["at"] == paths(exc)

    def test_rule_needs_an_effect(self) -> None:
        """A rule that neither assigns nor sets anything is refused."""
        with pytest.raises(ValidationError) as exc:
            Rule(name="nothing")
        assert ["assign"] == paths(exc)

    def test_when_from_data(self) -> None:
        """Rule.when accepts the data form and None (always)."""
        r = Rule(name="x", when={"field": "category", "op": "eq", "value": "a"}, assign={"team": "t"})
        assert (F.category == "a", "t") == (r.when, r.assign.team if r.assign else None)
        assert Condition.always() == Rule(name="y", when=None, assign=Assign(team="t")).when


class TestLoadErrors:
    def test_every_problem_with_its_path(self) -> None:
        """Unknown field, unknown operator, bad regex, gt on text, unknown team: all reported with paths."""
        data = {
            "rules": [
                {
                    "name": "a",
                    "when": {"field": "colour", "op": "eq", "value": "red"},
                    "assign": {"team": "t"},
                },
                {
                    "name": "b",
                    "when": {"all": [{"field": "category", "op": "equals", "value": "x"}]},
                    "assign": {"team": "t"},
                },
                {
                    "name": "c",
                    "when": {"field": "subject", "op": "matches", "value": "(["},
                    "assign": {"team": "t"},
                },
                {
                    "name": "d",
                    "when": {"field": "subject", "op": "gt", "value": "m"},
                    "assign": {"team": "t"},
                },
                {"name": "e", "assign": {"team": "nowhere"}},
                {"name": "f", "assign": {"team": "t", "strategy": "random"}, "stop": "yes"},
                {"name": "g", "assign": {"team": "t"}, "set": {"priority": "asap", "colour": 1}},
                {"when": {}, "assign": {"team": "t"}, "extra": 1},
            ],
            "teams": [{"id": "t"}],
            "agents": [{"id": "li", "capacity": -1}],
            "fallback": "t",
            "other": 1,
        }
        with pytest.raises(ValidationError) as exc:
            Router.from_dict(data)
        assert [
            "other",
            "rules[0].when.field",
            "rules[1].when.all[0].op",
            "rules[2].when.value",
            "rules[3].when.op",
            "rules[5].assign.strategy",
            "rules[6].set.colour",
            "rules[7].extra",
            "rules[7].name",
            "rules[7].when",
            "agents[0].capacity",
        ] == paths(exc)

    def test_router_level_problems(self) -> None:
        """Unknown teams and agents, duplicate names and unknown shift calendars fail at construction."""
        with pytest.raises(ValidationError) as exc:
            Router(
                rules=[
                    Rule(name="a", assign=Assign(team="nowhere", overflow="gone", agent="ghost")),
                    Rule(name="a", assign=Assign(team="t")),
                ],
                agents=[Agent(id="li", shift="night"), Agent(id="li")],
                teams=[Team(id="t")],
                fallback="nobody",
            )
        assert [
            "rules[1].name",
            "agents[0].shift",
            "agents[1].id",
            "fallback",
            "rules[0].assign.team",
            "rules[0].assign.overflow",
            "rules[0].assign.agent",
        ] == paths(exc)
        assert "unknown team 'nowhere' (known: t)" == exc.value.errors[4].message

    def test_available_statuses(self) -> None:
        """available_statuses must name known agent statuses."""
        with pytest.raises(ValidationError) as exc:
            Router(rules=[], available_statuses={"busy"})
        assert ["available_statuses"] == paths(exc)

    def test_not_rules(self) -> None:
        """Non-rule items are refused with their index."""
        with pytest.raises(ValidationError) as exc:
            Router(rules=["x"])  # type: ignore[list-item]
        assert ["rules[0]"] == paths(exc)
        with pytest.raises(ValidationError):
            Router.from_dict([])
        with pytest.raises(ValidationError) as exc2:
            Router.from_dict({"rules": "x"})
        assert ["rules"] == paths(exc2)

    def test_assign_problems(self) -> None:
        """Assign needs one team source and known strategies and fields."""
        for kwargs, expected in [
            ({}, ["team"]),
            ({"team": "a", "team_ref": "customer.store"}, ["team_ref"]),
            ({"team_ref": "nope"}, ["team_ref"]),
            ({"team_ref": "tags"}, ["team_ref"]),
            ({"team": ""}, ["team"]),
            ({"team": "a", "skills": [1]}, ["skills"]),
        ]:
            with pytest.raises(ValidationError) as exc:
                Assign(**kwargs)
            assert expected == paths(exc)
        with pytest.raises(ValidationError) as exc3:
            Assign.from_dict({"team": "a", "skills": "zh", "x": 1}, path="assign")
        assert ["assign.x", "assign.skills"] == paths(exc3)
        with pytest.raises(ValidationError):
            Assign.from_dict("a")

    def test_changes_problems(self) -> None:
        """RuleChanges checks its values."""
        with pytest.raises(ValidationError) as exc:
            RuleChanges(priority="asap", category=3, tags=[1])  # type: ignore[arg-type]
        assert ["priority", "category", "tags"] == paths(exc)
        with pytest.raises(ValidationError):
            RuleChanges.from_dict("x")
        with pytest.raises(ValidationError) as exc2:
            RuleChanges.from_dict({"tags": "x"}, path="set")
        assert ["set.tags"] == paths(exc2)

    def test_rule_from_dict_problems(self) -> None:
        """Rule.from_dict refuses non-mappings and bad names."""
        with pytest.raises(ValidationError):
            Rule.from_dict("x")
        with pytest.raises(ValidationError) as exc:
            Rule.from_dict({"name": " ", "assign": {"team": "t"}}, path="rules[0]")
        assert ["rules[0].name"] == paths(exc)


class TestRecord:
    def test_rules_tried_with_actual_values(self) -> None:
        """The record lists each rule tried and the first failing condition with the actual value."""
        rec = seed_router().explain(ticket(category="enquiry", fields={"topic": "billing"}), at=T0)
        assert [
            "rules[0] 'vip complaints': no: category eq 'complaint': got 'enquiry'",
            "rules[1] 'size complaints to the shop': no: category eq 'complaint': got 'enquiry'",
            "rules[2] 'exam results to the laboratory': no: fields.topic eq 'exam-result': got 'billing'",
        ] == [str(t) for t in rec.rules]
        assert [True, True, False] == [t.skipped for t in rec.rules]

    def test_record_text_and_html(self) -> None:
        """The record prints as text and renders as HTML."""
        t = ticket(category="complaint", customer=Customer(id="c1", tier="vip"))
        d = seed_router().route(t, at=T0, load={"chen": 1, "zhou": 1})
        text = str(d)
        assert "team: senior (rule 'vip complaints')" in text
        assert "agent: chen (least loaded (20%); tie between chen, zhou broken by round-robin)" in text
        assert "<table>" in d._repr_html_()
        assert d.record is d.record

    def test_record_json(self) -> None:
        """The record serializes to JSON."""
        d = seed_router().route(ticket(category="complaint", customer=Customer(id="c1", tier="vip")), at=T0)
        data = json.loads(json.dumps(d.record.to_dict()))
        assert ["chen", "zhou"] == [c["agent"] for c in data["candidates"]]
        assert {"team": "senior", "assignee": "chen", "priority": "high"} == data["changes"]

    def test_explain_does_not_move_cursor(self) -> None:
        """explain shows what route would do without advancing round-robin."""
        r = team_router("round_robin", [Agent(id=x, teams={"t"}) for x in "ab"])
        assert ["a", "a", "a"] == [r.explain(ticket(), at=T0).agent for _ in range(3)]
        assert "a" == r.route(ticket(), at=T0).agent
        assert "b" == r.explain(ticket(), at=T0).agent

    def test_explain_with_custom_cursor(self) -> None:
        """explain with a cursor it cannot read names no agent (never one route would not pick)."""

        class Fixed:
            def next_agent(self, key: str, eligible: Sequence[str]) -> str:
                return eligible[-1]

        r = Router(
            rules=[Rule(name="all", assign=Assign(team="t"))],
            agents=[Agent(id=x, teams={"t"}) for x in "ab"],
            cursor=Fixed(),
        )
        assert None is r.explain(ticket(), at=T0).agent

    def test_fallback_record(self) -> None:
        """The record of a fallback says where the team came from."""
        r = team_router("round_robin", [Agent(id="a", teams={"t"}, capacity=0)], overflow="o")
        rec = r.explain(ticket(), at=T0)
        assert "rule 'all' -> fallback" == rec.team_source
        assert "fallback: nobody in 't' can take it: overflow team 'o', queued unassigned there too" in str(
            rec
        )


class TestCheck:
    def test_findings(self) -> None:
        """check finds shadowed and impossible rules, unstaffed teams, misplaced agents, no fallback."""
        r = Router(
            rules=[
                Rule(
                    name="complaints",
                    when=F.category.in_(["complaint", "return"]),
                    assign=Assign(team="a", strategy="queue"),
                ),
                Rule(
                    name="vip complaints",
                    when=(F.category == "complaint") & (F.customer.tier == "vip"),
                    assign=Assign(team="a"),
                ),
                Rule(name="never", when=(F.category == "x") & (F.category == "y"), assign=Assign(team="a")),
                Rule(name="li", when=F.channel == "phone", assign=Assign(team="b", agent="li")),
                Rule(name="tagger", when=F.channel == "web", set={"category": "complaint"}, stop=False),
                Rule(
                    name="after tagger",
                    when=F.category == "complaint",
                    assign=Assign(team="a", strategy="queue"),
                ),
            ],
            agents=[Agent(id="li", teams={"a", "z"})],
            teams=[Team(id="a"), Team(id="b")],
        )
        assert [
            (
                "warning: rules[1]: 'vip complaints' is never reached: "
                "every ticket it matches is taken by rules[0] 'complaints'"
            ),
            "warning: rules[2]: 'never' can never match",
            "warning: rules[3].assign.team: team 'b' has no agents: tickets wait in its queue",
            "error: rules[3].assign.agent: agent 'li' is not in team 'b': the rule can never assign them",
            "warning: agents[0].teams: unknown teams: z",
            "warning: fallback: no fallback team: tickets no rule assigns keep their current team",
        ] == [str(f) for f in r.check()]

    def test_clean(self) -> None:
        """A well-formed router has no findings."""
        r = Router(
            rules=[Rule(name="a", when=F.category == "a", assign=Assign(team="t"))],
            agents=[Agent(id="li", teams={"t"})],
            teams=[Team(id="t")],
            fallback="t",
        )
        assert [] == r.check()

    def test_any_shadowing(self) -> None:
        """A rule is shadowed by an earlier any that covers it, not by an unrelated one."""
        r = Router(
            rules=[
                Rule(
                    name="a",
                    when=(F.category == "a") | (F.channel == "web"),
                    assign=Assign(team="t", strategy="queue"),
                ),
                Rule(
                    name="b",
                    when=(F.channel == "web") & (F.team == "x"),
                    assign=Assign(team="t", strategy="queue"),
                ),
                Rule(name="c", when=F.category != "a", assign=Assign(team="t", strategy="queue")),
                Rule(name="d", when=F.category == "b", assign=Assign(team="t", strategy="queue")),
            ],
            fallback="t",
        )
        assert ["rules[1]", "rules[3]"] == [f.path for f in r.check()]


class TestSimulate:
    def test_counts_and_spread(self) -> None:
        """simulate counts per rule, team and agent, lists unmatched tickets, and grows load."""
        r = seed_router()
        ts = [
            ticket(category="complaint", customer=Customer(id="c1", tier="vip")),
            ticket(category="complaint", customer=Customer(id="c2", tier="svip")),
            ticket(category="complaint", tags=["size"], customer=Customer(id="c3", data={"store": "sh-01"})),
            ticket(category="enquiry", fields={"topic": "exam-result"}),
            ticket(category="billing"),
        ]
        sim = r.simulate(ts, load={"chen": 1})
        assert isinstance(sim, Simulation)
        assert {
            "vip complaints": 2,
            "size complaints to the shop": 1,
            "exam results to the laboratory": 1,
            "(no rule)": 1,
        } == dict(sim.per_rule)
        assert {"chen": 1, "zhou": 1, "li": 1} == dict(sim.per_agent)
        assert (2, 1, 1) == (sim.load["chen"], sim.load["zhou"], sim.load["li"])
        assert ((ts[4].id,), (ts[4].id,), 2) == (sim.unmatched, sim.fallbacks, sim.unassigned)
        assert 2.0 == sim.load_spread["max"]
        assert {"ticket": ts[4].id, "rule": None, "team": "triage", "agent": None} == {
            k: v for k, v in sim.rows()[4].items() if k in ("ticket", "rule", "team", "agent")
        }
        text = str(sim)
        assert "per rule" in text
        assert "vip complaints" in text
        assert "<table>" in sim._repr_html_()

    def test_does_not_touch_live_cursor(self) -> None:
        """simulate works on a copy of the round-robin cursor."""
        r = team_router("round_robin", [Agent(id=x, teams={"t"}) for x in "ab"])
        r.simulate([ticket(), ticket()])
        assert "a" == r.route(ticket(), at=T0).agent

    def test_capacity_reached_in_simulation(self) -> None:
        """As load grows, agents at capacity stop taking tickets and the rest queue."""
        r = team_router(
            "least_loaded", [Agent(id="a", teams={"t"}, capacity=1), Agent(id="b", teams={"t"}, capacity=1)]
        )
        sim = r.simulate([ticket() for _ in range(3)])
        assert ({"a": 1, "b": 1}, 1) == (dict(sim.per_agent), sim.unassigned)


class TestCompare:
    def test_compare(self) -> None:
        """compare lists tickets whose routing changes and team counts on both sides."""
        old = seed_router()
        new = seed_router(
            rules=[
                Rule(
                    name="all complaints",
                    when=F.category == "complaint",
                    assign=Assign(team="senior", strategy="least_loaded"),
                )
            ]
        )
        ts = [
            ticket(category="complaint", customer=Customer(id="c1", tier="vip")),
            ticket(category="complaint", tags=["size"], customer=Customer(id="c3", data={"store": "sh-01"})),
            ticket(category="billing"),
        ]
        c = compare(old, new, ts)
        assert isinstance(c, Comparison)
        assert [
            (ts[0].id, "vip complaints", "all complaints"),
            (ts[1].id, "size complaints to the shop", "all complaints"),
        ] == [(ch.ticket_id, ch.before[2], ch.after[2]) for ch in c.changes]
        assert (1, 1) == (c.team_moved, c.agent_moved)
        assert "changed tickets" in str(c)
        assert "<table>" in c._repr_html_()


# --------------------------------------------------------------------------- properties

TEAMS = ["a", "b", "c"]
# whole routers are costly to draw and build: a quarter of the profile's examples each
ROUTER_EXAMPLES = settings(max_examples=max(10, settings().max_examples // 4))
categories = st.sampled_from(["x", "y", "complaint", "web", "sh-01", "vip"])


@st.composite
def routers(draw: st.DrawFn) -> Router:
    """Random routers: enough pinned rules to build an index, random conditions, random agents."""
    n = draw(st.integers(1, 10))
    rules = []
    for i in range(n):
        cond = Condition.from_dict(draw(conditions))
        if draw(st.booleans()):
            cond = F.category.in_(draw(st.lists(categories, min_size=1, max_size=2))) & cond
        if draw(st.booleans()):
            cond = (F.channel == draw(categories)) & cond
        strategy = draw(st.sampled_from(["round_robin", "least_loaded", "skills", "sticky", "queue"]))
        assign = Assign(
            team=draw(st.sampled_from(TEAMS)),
            strategy=strategy,
            skills=draw(st.frozensets(st.sampled_from(["zh", "en"]), max_size=1)),
            overflow=draw(st.none() | st.sampled_from(TEAMS)),
        )
        rules.append(Rule(name=f"r{i}", when=cond, assign=assign))
    agents = [
        Agent(
            id=f"ag{k}",
            teams=draw(st.frozensets(st.sampled_from(TEAMS), min_size=1, max_size=2)),
            skills=draw(st.frozensets(st.sampled_from(["zh", "en"]))),
            capacity=draw(st.integers(0, 3)),
            status=draw(st.sampled_from(["online", "online", "away", "offline"])),
        )
        for k in range(draw(st.integers(0, 5)))
    ]
    return Router(rules=rules, agents=agents, teams=[Team(id=t) for t in [*TEAMS, "fb"]], fallback="fb")


def decision_key(d: Decision) -> tuple[Any, ...]:
    return (d.team, d.agent, d.rule, dict(d.changes), d.fallback, d.tie_break)


class TestProperties:
    @ROUTER_EXAMPLES
    @given(
        routers(),
        st.lists(random_tickets(), max_size=4),
        st.dictionaries(st.sampled_from(["ag0", "ag1", "ag2"]), st.integers(0, 3)),
    )
    def test_round_trip_routes_the_same(
        self, router: Router, tickets: list[Ticket], load: dict[str, int]
    ) -> None:
        """from_dict(to_dict(router)) routes every ticket the same."""
        again = Router.from_dict(json.loads(json.dumps(router.to_dict())))
        assert again == router
        for t in tickets:
            assert decision_key(router.route(t, at=T0, load=load, last_agent="ag1")) == decision_key(
                again.route(t, at=T0, load=load, last_agent="ag1")
            )

    @ROUTER_EXAMPLES
    @given(routers(), random_tickets())
    def test_index_agrees_with_linear_scan(self, router: Router, t: Ticket) -> None:
        """The indexed match finds the same rule as testing every rule in order with the slow interpreter."""
        expected = next((r.name for r in router.rules if slow_eval(r.when.to_dict(), t, T0, None)), None)
        found = router.match(t, at=T0)
        assert expected == (found.name if found else None)

    @ROUTER_EXAMPLES
    @given(routers(), random_tickets())
    def test_record_agrees_with_decision(self, router: Router, t: Ticket) -> None:
        """The record's matched rule, team and agent are the decision's; failed rules have a failure."""
        d = router.route(t, at=T0)
        rec = d.record
        assert (d.team, d.agent) == (rec.team, rec.agent)
        assert list(d.matched) == [x.name for x in rec.rules if x.matched]
        assert all(x.failure is not None for x in rec.rules if not x.matched)
        assert d.team is not None

    def test_index_is_built(self) -> None:
        """A router with many category rules indexes them by category."""
        r = Router(
            rules=[
                Rule(name=f"r{i}", when=F.category == f"c{i % 20}", assign=Assign(team="t"))
                for i in range(40)
            ]
        )
        assert "category" == r._index.field
        assert r.rules[7] is r.match(ticket(category="c7"))
        assert None is r.match(ticket(category="zzz"))


@st.composite
def sequential_routers(draw: st.DrawFn) -> Router:
    """Random routers mixing stop=False rules that change priority, category and tags."""
    rules = []
    for i in range(draw(st.integers(1, 12))):
        cond = Condition.from_dict(draw(conditions))
        if draw(st.booleans()):
            cond = F.category.in_(draw(st.lists(categories, min_size=1, max_size=2))) & cond
        stop = draw(st.booleans())
        changes = RuleChanges(
            priority=draw(st.none() | st.sampled_from(["low", "normal", "high", "urgent"])),
            category=draw(st.none() | categories),
            tags=draw(st.frozensets(categories, max_size=2)),
        )
        assign = draw(
            st.none() | st.builds(lambda t: Assign(team=t, strategy="queue"), st.sampled_from(TEAMS))
        )
        if assign is None and not changes:
            changes = RuleChanges(tags={"x"})
        rules.append(Rule(name=f"r{i}", when=cond, assign=assign, set=changes, stop=stop))
    return Router(rules=rules, fallback="fb")


def slow_route(router: Router, t: Ticket) -> tuple[list[str], str | None, Ticket]:
    """Rules in order, each tested with the slow interpreter on the ticket as earlier rules left it."""
    matched: list[str] = []
    decided = None
    work = t
    for rule in router.rules:
        if not slow_eval(rule.when.to_dict(), work, T0, None):
            continue
        matched.append(rule.name)
        if rule.assign is not None:
            decided = rule.name
        if rule.set.priority is not None:
            work = attrs.evolve(work, priority=rule.set.priority)
        if rule.set.category is not None:
            work = attrs.evolve(work, category=rule.set.category)
        if rule.set.tags:
            work = attrs.evolve(work, tags=work.tags | rule.set.tags)
        if rule.stop:
            break
    return matched, decided, work


class TestSequentialProperties:
    @ROUTER_EXAMPLES
    @given(sequential_routers(), random_tickets())
    def test_route_agrees_with_slow_sequential_reference(self, router: Router, t: Ticket) -> None:
        """Indexed routing with stop=False rules matches a rule-by-rule slow reference."""
        matched, decided, work = slow_route(router, t)
        d = router.route(t, at=T0)
        assert matched == list(d.matched)
        assert (decided or (matched[-1] if matched else None)) == d.rule
        routed = d.apply(t)
        assert (work.priority, work.category, work.tags) == (routed.priority, routed.category, routed.tags)
        assert matched == [x.name for x in d.record.rules if x.matched]


@st.composite
def pinned_rule_sets(draw: st.DrawFn) -> list[Rule]:
    """Many rules pinning category, channel and priority, so the index nests several levels."""
    rules = []
    for i in range(draw(st.integers(6, 40))):
        parts = []
        if draw(st.integers(0, 4)):
            parts.append(F.category.in_(draw(st.lists(categories, min_size=1, max_size=2))))
        if draw(st.booleans()):
            parts.append(F.channel == draw(categories))
        if draw(st.booleans()):
            parts.append(
                F.priority.in_(draw(st.lists(st.sampled_from(["low", "high", "urgent"]), min_size=1)))
            )
        if draw(st.booleans()):
            parts.append(F.tags.contains(draw(categories)))
        cond = Condition.always()
        for p in parts:
            cond = cond & p
        rules.append(Rule(name=f"r{i}", when=cond, assign=Assign(team="t", strategy="queue")))
    return rules


class TestIndexProperties:
    @ROUTER_EXAMPLES
    @given(pinned_rule_sets(), st.lists(random_tickets(), min_size=1, max_size=5))
    def test_nested_index_agrees_with_linear_scan(self, rules: list[Rule], tickets: list[Ticket]) -> None:
        """With many pinned rules the nested index still finds the first matching rule."""
        router = Router(rules=rules)
        for t in tickets:
            expected = next((r.name for r in rules if r.when.evaluate(t, at=T0)), None)
            found = router.match(t, at=T0)
            assert expected == (found.name if found else None)
