"""Agent presence: set_presence, away/offline policies, until, weighted capacity and skill levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ticketkit as tk
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="boss", roles={"admin"})
LI = tk.Actor(id="li", teams={"t"})


def router(**assign: object) -> tk.Router:
    """Team t: li (named by the rule when available), wang and zhao."""
    return tk.Router(
        rules=[tk.Rule(name="all", assign=tk.Assign(team="t", strategy="least_loaded", **assign))],  # type: ignore[arg-type]
        agents=[
            tk.Agent(id="li", teams={"t"}, capacity=30),
            tk.Agent(id="wang", teams={"t"}, capacity=30),
            tk.Agent(id="zhao", teams={"t"}, capacity=30),
        ],
        teams=[tk.Team(id="t")],
    )


def desk_with_20(policy: str, store: tk.TicketStore | None = None) -> tuple[tk.Helpdesk, list[str]]:
    """A desk whose agent li holds 20 open tickets."""
    desk = tk.Helpdesk(
        store=store or tk.InMemoryStore(),
        router=router(agent="li"),
        presence_policy=policy,
        clock=ManualClock(T0),
    )
    ids = [desk.open(subject=f"s{i}", customer=f"c{i}").id for i in range(20)]
    return desk, ids


class TestPolicies:
    """Going away with 20 open tickets under each policy: nothing dropped, each move explained."""

    @pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
    @pytest.mark.parametrize("policy", ["leave", "requeue", "reroute"])
    def test_away_with_20_tickets(self, policy: str, store_kind: str, tmp_path: Path) -> None:
        """Every ticket is still there and open; moved ones say why; leave moves none."""
        store = tk.SQLiteStore(tmp_path / "d.db") if store_kind == "sqlite" else tk.InMemoryStore()
        desk, ids = desk_with_20(policy, store)
        assert ["li"] * 20 == [desk.get(i, actor=ADMIN).assignee for i in ids]
        assert "away" == desk.set_presence("li", "away", actor=LI).status
        tickets = [desk.get(i, actor=ADMIN) for i in ids]
        assert 20 == len(tickets)
        assert {"new"} == {t.status_kind for t in tickets}
        assert {"t"} == {t.team for t in tickets}
        moves = [
            [
                e
                for e in desk.history(i, actor=ADMIN)
                if e.kind == "ticket.assigned" and "went away" in str(e.data["reason"])
            ]
            for i in ids
        ]
        if policy == "leave":
            assert ["li"] * 20 == [t.assignee for t in tickets]
            assert [[]] * 20 == moves
            return
        assert [1] * 20 == [len(m) for m in moves]
        assert {"li"} == {m[0].data["from_agent"] for m in moves}
        assert {"agent:li"} == {m[0].actor for m in moves}
        if policy == "requeue":
            assert [None] * 20 == [t.assignee for t in tickets]
            assert {"li went away: requeued to the team's queue"} == {m[0].data["reason"] for m in moves}
        else:
            assert {"wang": 10, "zhao": 10} == {
                a: sum(t.assignee == a for t in tickets) for a in ("wang", "zhao")
            }
            assert all(str(m[0].data["reason"]).startswith("li went away: rerouted") for m in moves)

    def test_reroute_with_nobody_available_requeues(self) -> None:
        """When routing finds nobody else, the ticket goes to the team's queue, and says so."""
        desk, ids = desk_with_20("reroute")
        for name in ("wang", "zhao"):
            desk.set_presence(name, "offline", actor=ADMIN)
        desk.set_presence("li", "offline", actor=LI)
        tickets = [desk.get(i, actor=ADMIN) for i in ids]
        assert [None] * 20 == [t.assignee for t in tickets]
        last = desk.history(ids[0], actor=ADMIN)[-1]
        assert (
            "li went offline: rerouted: nobody in 't' can take it: queued to the team unassigned"
            == last.data["reason"]
        )

    def test_reroute_that_keeps_the_agent_requeues(self) -> None:
        """When routing leaves the ticket as it was (no rule, no fallback), it is requeued, and says so."""
        r = tk.Router(rules=[], agents=[tk.Agent(id="li", teams={"t"})], teams=[tk.Team(id="t")])
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=r, presence_policy="reroute")
        t = desk.open(subject="s")
        desk.assign(t.id, team="t", agent="li", actor=ADMIN)
        desk.set_presence("li", "away", actor=LI)
        assert None is desk.get(t.id, actor=ADMIN).assignee
        reason = desk.history(t.id, actor=ADMIN)[-1].data["reason"]
        assert "li went away: rerouted, nobody available, requeued to the team's queue" == reason

    def test_policy_per_status(self) -> None:
        """A mapping gives away and offline their own policy."""
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            router=router(agent="li"),
            presence_policy={"away": "leave", "offline": "requeue"},
        )
        t = desk.open(subject="s")
        desk.set_presence("li", "away", actor=LI)
        assert "li" == desk.get(t.id, actor=ADMIN).assignee
        desk.set_presence("li", "online", actor=LI)
        desk.set_presence("li", "offline", actor=LI)
        assert None is desk.get(t.id, actor=ADMIN).assignee

    @pytest.mark.parametrize("policy", ["drop", {"away": "nope"}, {"busy": "leave"}, 3])
    def test_bad_policy_is_refused(self, policy: object) -> None:
        """An unknown policy or status is a ValidationError naming presence_policy."""
        with pytest.raises(tk.ValidationError, match="presence_policy"):
            tk.Helpdesk(store=tk.InMemoryStore(), presence_policy=policy)  # type: ignore[arg-type]


class TestSetPresence:
    """set_presence: validation, rights, storage shared between desks, until."""

    def test_routing_skips_an_away_agent(self) -> None:
        """A new ticket never goes to an agent who is away, whatever the configured status."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router(agent="li"))
        desk.set_presence("li", "away", actor=LI)
        assert "li" != desk.open(subject="s").assignee
        desk.set_presence("li", "online", actor=LI)
        assert "li" == desk.open(subject="s").assignee

    def test_presence_is_shared_through_the_store(self, tmp_path: Path) -> None:
        """Another desk on the same SQLite file sees the presence at once."""
        one = tk.Helpdesk(store=tk.SQLiteStore(tmp_path / "d.db"), router=router(agent="li"))
        two = tk.Helpdesk(store=tk.SQLiteStore(tmp_path / "d.db"), router=router(agent="li"))
        one.set_presence("li", "offline", actor=LI)
        assert {"li": "offline", "wang": "online", "zhao": "online"} == two.presence(actor=LI)
        assert "li" != two.open(subject="s").assignee

    def test_rights(self) -> None:
        """An agent sets their own presence only; a lead or admin anyone's; customers nobody's."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router())
        with pytest.raises(tk.PermissionDeniedError):
            desk.set_presence("wang", "away", actor=LI)
        assert "away" == desk.set_presence("wang", "away", actor=tk.Actor(id="zhao", roles={"lead"})).status
        assert "away" == desk.set_presence("zhao", "away", actor=ADMIN).status
        with pytest.raises(tk.PermissionDeniedError):
            desk.set_presence("li", "away", actor=tk.Actor.customer("li"))
        with pytest.raises(tk.PermissionDeniedError):
            desk.presence(actor=tk.Actor.customer("c-1"))

    @pytest.mark.parametrize(
        ("agent", "status", "at", "until", "error"),
        [("li", "busy", None, None, tk.ValidationError), ("", "away", None, None, tk.ValidationError),
         ("li", "away", datetime(2025, 3, 3), None, tk.ValidationError),
         ("li", "away", T0, T0, tk.ValidationError), ("nobody", "away", None, None, tk.NotFoundError)],
    )  # fmt: skip
    def test_bad_input(
        self, agent: str, status: str, at: datetime | None, until: datetime | None, error: type[Exception]
    ) -> None:
        """An unknown status or agent, a naive time, an until not after at: a ticketkit error."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router(), clock=ManualClock(T0))
        with pytest.raises(error):
            desk.set_presence(agent, status, actor=ADMIN, at=at, until=until)

    def test_until_reverts_and_the_sweep_applies_the_policy(self) -> None:
        """Online until noon: at noon the agent is away again and the sweep requeues their tickets."""
        clock = ManualClock(T0)
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(), router=router(agent="li"), presence_policy="requeue", clock=clock
        )
        for name in ("li", "wang", "zhao"):
            desk.set_presence(name, "away", actor=ADMIN)
        p = desk.set_presence("li", "online", actor=LI, until=T0.replace(hour=12))
        assert ("online", "away") == (p.status, p.revert_to)
        t = desk.open(subject="s")
        assert "li" == t.assignee
        clock.advance(timedelta(hours=3))
        assert "away" == desk.presence(actor=LI)["li"]
        moved = desk.tick()
        assert [t.id] == [e.ticket_id for e in moved if e.kind == "ticket.assigned"]
        assert None is desk.get(t.id, actor=ADMIN).assignee
        assert [] == [e for e in desk.tick() if e.kind == "ticket.assigned"]

    def test_coming_online_drains_the_queue(self) -> None:
        """Tickets queued while everyone was away go out when an agent comes back."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router())
        for name in ("li", "wang", "zhao"):
            desk.set_presence(name, "away", actor=ADMIN)
        ids = [desk.open(subject=f"s{i}").id for i in range(3)]
        assert [None] * 3 == [desk.get(i, actor=ADMIN).assignee for i in ids]
        desk.set_presence("wang", "online", actor=ADMIN)
        assert ["wang"] * 3 == [desk.get(i, actor=ADMIN).assignee for i in ids]


class TestCapacityAndSkills:
    """Weighted capacity per channel or type, and skill levels with a minimum."""

    def test_weighted_capacity_through_the_desk(self) -> None:
        """A phone call counts 3: with capacity 4, one call and one e-mail fill the agent."""
        r = tk.Router(
            rules=[tk.Rule(name="all", assign=tk.Assign(team="t", strategy="least_loaded"))],
            agents=[tk.Agent(id="li", teams={"t"}, capacity=4)],
            capacity_weights={"channel": {"phone": 3}},
        )
        desk = tk.Helpdesk(store=tk.InMemoryStore(), router=r)
        assert "li" == desk.open(subject="call", channel="phone").assignee
        assert "li" == desk.open(subject="mail", channel="email").assignee
        assert None is desk.open(subject="mail 2", channel="email").assignee

    def test_weights_round_trip_and_refuse_bad_values(self) -> None:
        """capacity_weights round-trip exactly; an unknown key or a bad weight is named."""
        data = {
            "rules": [
                {
                    "name": "a",
                    "when": {"all": []},
                    "assign": {"team": "t", "strategy": "queue", "min_levels": {"zh": 3}},
                }
            ],
            "agents": [tk.to_dict(tk.Agent(id="li", teams={"t"}, skill_levels={"zh": 4}))],
            "teams": [
                {"id": "t", "name": "", "tenant": "default", "lead": None, "parent": None, "calendar": None}
            ],
            "capacity_weights": {"channel": {"phone": 3}, "type": {"incident": 2}},
        }
        assert data == tk.Router.from_dict(data).to_dict()
        with pytest.raises(tk.ValidationError, match=r"capacity_weights\.\w+"):
            tk.Router(rules=[], capacity_weights={"queue": {"x": 1}})
        with pytest.raises(tk.ValidationError, match=r"capacity_weights\.channel\.phone"):
            tk.Router(rules=[], capacity_weights={"channel": {"phone": 0}})

    def test_min_level(self) -> None:
        """A rule asking zh at level 3 skips an agent at level 2 and says why."""
        r = tk.Router(
            rules=[
                tk.Rule(name="zh", assign=tk.Assign(team="t", strategy="least_loaded", min_levels={"zh": 3}))
            ],
            agents=[
                tk.Agent(id="a", teams={"t"}, skill_levels={"zh": 2}),
                tk.Agent(id="b", teams={"t"}, skills={"zh"}),
                tk.Agent(id="c", teams={"t"}, skill_levels={"zh": 5}),
            ],
        )
        t = tk.Ticket(subject="s", created_at=T0)
        assert "c" == r.route(t, at=T0).agent
        record = r.explain(t, at=T0)
        assert {"a": "skill level too low: zh 2 < 3", "b": "skill level too low: zh 1 < 3", "c": None} == {
            c.agent: c.excluded for c in record.candidates
        }

    @pytest.mark.parametrize("levels", [{"zh": -1}, {"zh": 101}, {"zh": "3"}, {"": 2}, ["zh"]])
    def test_bad_levels(self, levels: object) -> None:
        """A level outside 0-100, not a whole number, or an empty skill: ValidationError with its path."""
        with pytest.raises(tk.ValidationError, match="skill_levels"):
            tk.Agent(id="a", skill_levels=levels)  # type: ignore[arg-type]
        with pytest.raises(tk.ValidationError, match="min_levels"):
            tk.Assign(team="t", min_levels=levels)  # type: ignore[arg-type]
