"""Automations: data form and checks, actions through the Helpdesk, integrations, loop detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import ticketkit as tk
from ticketkit.automation._automation import MAX_DEPTH
from ticketkit.errors import ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="boss", roles={"admin"})


def desk_with(
    *automations: tk.Automation | dict[str, Any], **kw: Any
) -> tuple[tk.Helpdesk, tk.RecordingNotifier, ManualClock]:
    rec = tk.RecordingNotifier()
    clock = ManualClock(T0)
    policy = tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
    )
    desk = tk.Helpdesk(
        store=tk.InMemoryStore(),
        policies=[policy],
        clock=clock,
        notifier=rec,
        automations=automations,
        teams=[tk.Team(id="after-sales", lead="zhao")],
        **kw,
    )
    return desk, rec, clock


class TestDataForm:
    def test_round_trip(self) -> None:
        """Every action kind survives to_dict / from_dict."""
        rule = tk.Automation(
            name="all",
            on={"ticket.created", "tags.changed"},
            when=tk.F.priority >= "high",
            actions=[
                tk.Action.tag("a", "b"),
                tk.Action.untag("c"),
                tk.Action.set_fields(rma=True, note=None),
                tk.Action.set_priority("+1"),
                tk.Action.set_category("repair"),
                tk.Action.fire("open"),
                tk.Action.comment("Seen {id}", public=True),
                tk.Action.notify(["lead", "role:qa"], "Ticket {id}"),
                tk.Action.assign(team="qa"),
                tk.Action.assign(),
                tk.Action.spawn(
                    "Child of {id}", type="restock", team="production", fields={"part": "x"}, wait=False
                ),
            ],
        )
        assert rule == tk.Automation.from_dict(rule.to_dict())
        assert rule.to_dict() == tk.Automation.from_dict(rule.to_dict()).to_dict()

    def test_every_problem_with_its_path(self) -> None:
        """Bad keys, conditions, actions and parameters are all listed with paths."""
        with pytest.raises(ValidationError) as info:
            tk.Automation.from_dict(
                {
                    "name": "x",
                    "on": ["ticket.created"],
                    "when": {"field": "colour", "op": "eq", "value": 1},
                    "actions": [
                        {"tag": []},
                        {"set_priority": "asap"},
                        {"notify": {"to": ["boss"], "message": ""}},
                        {"spawn": {"subject": "s", "colour": 1}},
                        {"explode": True},
                        "tag",
                    ],
                    "extra": 1,
                }
            )
        paths = [e.path for e in info.value.errors]
        assert [
            "extra",
            "when.field",
            "actions[0].tag.tags",
            "actions[1].set_priority.priority",
            "actions[2].notify.to[0]",
            "actions[2].notify.message",
            "actions[3].spawn.colour",
            "actions[4].explode",
            "actions[5]",
        ] == paths

    def test_duplicate_names_refused(self) -> None:
        """Two automations with one name cannot both be given to a desk."""
        a = tk.Automation(name="x", on="*", actions=[tk.Action.tag("a")])
        with pytest.raises(ValidationError, match="duplicate automation name"):
            tk.Helpdesk(store=tk.InMemoryStore(), automations=[a, a])

    def test_constructor_checks(self) -> None:
        """An automation needs a name, event kinds and at least one action."""
        with pytest.raises(ValidationError) as info:
            tk.Automation(name="", on=[], actions=[])
        assert ["name", "on", "actions"] == [e.path for e in info.value.errors]


class TestActions:
    def test_vip_intake(self) -> None:
        """On creation of a VIP ticket: tag, raise priority, tell the team lead; all in one version."""
        rule = tk.Automation(
            name="vip",
            on="ticket.created",
            when=tk.F.customer.tier == "vip",
            actions=[
                tk.Action.tag("vip"),
                tk.Action.set_priority("+1"),
                tk.Action.notify("lead", "VIP ticket {id}"),
            ],
        )
        desk, rec, _ = desk_with(rule)
        t = desk.open(subject="x", customer=tk.Customer(id="c", tier="vip"), team="after-sales")
        assert ({"vip"}, tk.Priority.HIGH, 1) == (set(t.tags), t.priority, t.version)
        note = rec.of_kind("automation")[0]
        assert (("agent:zhao",), f"VIP ticket {t.id}") == (note.recipients, note.message)
        kinds = [e.kind for e in desk.history(t.id, actor=ADMIN)]
        assert "automation.applied" == kinds[-1]
        plain = desk.open(subject="y", customer=tk.Customer(id="d"))
        assert (frozenset(), tk.Priority.NORMAL) == (plain.tags, plain.priority)

    def test_event_data_in_context(self) -> None:
        """The triggering event is readable as context.event.*: close tickets resolved by the bot."""
        rule = tk.Automation.from_dict(
            {
                "name": "comment on resolve",
                "on": ["status.changed"],
                "when": {"field": "context.event.data.to", "op": "eq", "value": "resolved"},
                "actions": [
                    {"comment": {"body": "Resolved {id}; rate us!", "public": True}},
                    {"fire": "close"},
                ],
            }
        )
        desk, _, _ = desk_with(rule)
        t = desk.open(subject="x", customer="c-1")
        desk.fire(t.id, "open", actor=ADMIN)
        final = desk.fire(t.id, "resolve", actor=ADMIN)
        assert "closed" == final.status
        assert f"Resolved {t.id}; rate us!" == desk.comments(t.id, actor=tk.Actor.customer("c-1"))[-1].body

    def test_fire_not_allowed_is_skipped(self) -> None:
        """A transition the workflow does not allow now is skipped, not an error."""
        rule = tk.Automation(name="close early", on="ticket.created", actions=[tk.Action.fire("close")])
        desk, _, _ = desk_with(rule)
        t = desk.open(subject="x")
        applied = [e for e in desk.history(t.id, actor=ADMIN) if e.kind == "automation.applied"]
        assert ("new", ()) == (t.status, applied[0].data["actions"])

    def test_on_breach_reassign_and_fields(self) -> None:
        """An automation on sla.breached can move the ticket and set fields."""
        rule = tk.Automation(
            name="breach",
            on="sla.breached",
            actions=[tk.Action.assign(team="seniors"), tk.Action.set_fields(escalated=True)],
        )
        desk, _, clock = desk_with(rule)
        t = desk.open(subject="x", team="after-sales")
        clock.advance(timedelta(hours=2))
        desk.tick()
        final = desk.get(t.id, actor=ADMIN)
        assert ("seniors", True) == (final.team, final.fields["escalated"])

    def test_category_action_and_route(self) -> None:
        """set_category and assign() (routing again) use the same engines as by hand."""
        router = tk.Router(
            rules=[
                tk.Rule(name="repairs", when=tk.F.category == "repair", assign=tk.Assign(team="workshop"))
            ],
            fallback="triage",
        )
        rule = tk.Automation(
            name="repair words",
            on="ticket.created",
            when=tk.F.subject.matches("(?i)broken|repair"),
            actions=[tk.Action.set_category("repair"), tk.Action.assign()],
        )
        desk, _, _ = desk_with(rule, router=router)
        t = desk.open(subject="Broken zip")
        assert ("repair", "workshop") == (t.category, t.team)


class TestIntegrations:
    def test_out_of_stock_spawns_restock(self) -> None:
        """The stock integration answers in context; out of stock spawns a restock and the repair waits."""
        stock = tk.InMemoryInventory({"MOTOR-7": 0, "BELT-2": 4})
        rule = tk.Automation(
            name="restock",
            on="status.changed",
            when=(tk.F.type == "support") & (tk.F.context.stock.in_stock == False) & (tk.F.status == "open"),  # noqa: E712
            actions=[
                tk.Action.spawn("Restock {fields.part}", team="production", fields={"part": "MOTOR-7"}),
                tk.Action.tag("waiting-parts"),
            ],
        )
        desk, _, _ = desk_with(rule, integrations={"stock": stock})
        t = desk.open(subject="Press 4 down", fields={"part": "MOTOR-7"})
        desk.fire(t.id, "open", actor=ADMIN)
        repair = desk.get(t.id, actor=ADMIN)
        children = desk.children(t.id, actor=ADMIN)
        assert ("pending", {"waiting-parts"}) == (repair.status, set(repair.tags))
        assert [("Restock MOTOR-7", "production", "new")] == [(c.subject, c.team, c.status) for c in children]
        other = desk.open(subject="Belt squeaks", fields={"part": "BELT-2"})
        desk.fire(other.id, "open", actor=ADMIN)
        assert [] == desk.children(other.id, actor=ADMIN)

    def test_integration_called_only_when_read(self) -> None:
        """An integration no condition reads is never called."""
        calls = []

        def crm(ticket: tk.Ticket) -> dict[str, Any]:
            calls.append(ticket.id)
            return {"ok": True}

        rule = tk.Automation(name="plain", on="ticket.created", actions=[tk.Action.tag("x")])
        desk, _, _ = desk_with(rule, integrations={"crm": crm})
        desk.open(subject="x")
        assert [] == calls


class TestLoops:
    def test_ping_pong_is_stopped(self) -> None:
        """Two automations undoing each other run once each, then are stopped and recorded."""
        ping = tk.Automation(
            name="ping",
            on="tags.changed",
            when=tk.F.tags.contains("a"),
            actions=[tk.Action.untag("a"), tk.Action.tag("b")],
        )
        pong = tk.Automation(
            name="pong",
            on="tags.changed",
            when=tk.F.tags.contains("b"),
            actions=[tk.Action.untag("b"), tk.Action.tag("a")],
        )
        desk, _, _ = desk_with(ping, pong)
        t = desk.open(subject="x")
        final = desk.tag(t.id, "a", actor=ADMIN)
        stopped = [e for e in desk.history(t.id, actor=ADMIN) if e.kind == "automation.stopped"]
        assert ["ping"] == [e.data["automation"] for e in stopped]
        assert "a" in final.tags or "b" in final.tags

    def test_self_trigger_is_stopped(self) -> None:
        """An automation reacting to its own event does not run twice in one change."""
        rule = tk.Automation(name="again", on="fields.changed", actions=[tk.Action.set_fields(n=1)])
        desk, _, _ = desk_with(rule)
        t = desk.open(subject="x")
        final = desk.set_fields(t.id, {"m": 2}, actor=ADMIN)
        assert {"m": 2, "n": 1} == dict(final.fields)

    def test_spawn_chain_is_cut(self) -> None:
        """Spawning on every new ticket stops after MAX_DEPTH generations."""
        rule = tk.Automation(
            name="forever", on="ticket.created", actions=[tk.Action.spawn("child of {id}", wait=False)]
        )
        desk, _, _ = desk_with(rule)
        desk.open(subject="root")
        assert 1 + MAX_DEPTH == desk.store.count()
        stopped = [
            e
            for t in desk.tickets(actor=ADMIN)
            for e in desk.history(t.id, actor=ADMIN)
            if e.kind == "automation.stopped"
        ]
        assert 1 == len(stopped)


class TestPolicyFollowsAutomations:
    def test_category_set_at_intake_chooses_the_policy(self) -> None:
        """An automation that sets the category of a new ticket moves it to that category's policy."""
        fast = tk.SLAPolicy(
            name="repairs",
            calendar=tk.BusinessCalendar.always_open(),
            when=tk.F.category == "repair",
            targets={"default": tk.SLATarget(first_response=timedelta(minutes=15))},
        )
        std = tk.SLAPolicy(
            name="std",
            calendar=tk.BusinessCalendar.always_open(),
            targets={"default": tk.SLATarget(first_response=timedelta(hours=4))},
        )
        rule = tk.Automation(
            name="repair words",
            on="ticket.created",
            when=tk.F.subject.matches("(?i)broken"),
            actions=[tk.Action.set_category("repair")],
        )
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(), policies=[fast, std], automations=[rule], clock=ManualClock(T0)
        )
        t = desk.open(subject="Broken zip")
        assert ("repairs", T0 + timedelta(minutes=15)) == (t.sla.policy, t.next_due_at)
        applied = [
            e.data["policy"] for e in desk.history(t.id, actor=ADMIN) if e.kind == "sla.policy_applied"
        ]
        assert ["std", "repairs"] == applied
        assert "std" == desk.open(subject="Question").sla.policy


class TestIntegrationFailure:
    def test_a_failing_integration_loses_nothing(self) -> None:
        """When the stock system is down the change is saved and the automation's stop recorded."""

        def down(ticket: tk.Ticket) -> dict[str, Any]:
            raise ConnectionError("stock system down")

        rule = tk.Automation(
            name="restock",
            on="ticket.created",
            when=tk.F.context.stock.in_stock == False,  # noqa: E712
            actions=[tk.Action.tag("restock")],
        )
        desk, _, _ = desk_with(rule, integrations={"stock": down})
        t = desk.open(subject="Press down")
        stopped = [e for e in desk.history(t.id, actor=ADMIN) if e.kind == "automation.stopped"]
        assert (frozenset(), 1) == (t.tags, len(stopped))
        assert "stock system down" in stopped[0].data["reason"]


class TestActionChecks:
    @pytest.mark.parametrize(
        ("data", "path"),
        [
            ({"set_fields": {}}, "set_fields.fields"),
            ({"set_category": ""}, "set_category.category"),
            ({"fire": 3}, "fire.trigger"),
            ({"comment": {"body": "x", "public": "yes"}}, "comment.public"),
            ({"comment": {"body": ""}}, "comment.body"),
            ({"assign": {"team": ""}}, "assign.team"),
            ({"spawn": {"subject": "s", "priority": "asap"}}, "spawn.priority"),
            ({"spawn": {"subject": "s", "tags": [1]}}, "spawn.tags"),
            ({"spawn": {"subject": "s", "fields": 1}}, "spawn.fields"),
            ({"spawn": {"subject": "s", "wait": "no"}}, "spawn.wait"),
            ({"spawn": {"subject": "s", "team": ""}}, "spawn.team"),
            ({"notify": "boss"}, "notify"),
            ({"set_fields": {"x": float("nan")}}, "set_fields.fields.x"),
        ],
    )
    def test_bad_parameters(self, data: dict[str, Any], path: str) -> None:
        """Each bad parameter is reported at its path."""
        with pytest.raises(ValidationError) as info:
            tk.Action.from_dict(data)
        assert path == info.value.errors[0].path

    def test_automation_checks(self) -> None:
        """Bad on/actions/when/enabled values and a non-mapping are reported."""
        with pytest.raises(ValidationError):
            tk.Automation.from_dict("x")
        with pytest.raises(ValidationError) as info:
            tk.Automation.from_dict({"name": "x", "on": "*", "actions": "tag"})
        assert ["actions"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            tk.Automation(name="x", on="*", actions=[tk.Action.tag("a"), "b"], when="c", enabled=1)  # type: ignore[list-item,arg-type]
        assert ["actions[1]", "when", "enabled"] == [e.path for e in info.value.errors]

    def test_render(self) -> None:
        """Templates fill priorities, times, tags and missing values."""
        from ticketkit.automation._automation import render

        t = tk.Ticket(subject="s", id="T1", created_at=T0, tags={"b", "a"}, priority="high")
        assert f"high {T0.isoformat()} a, b  {{x}}" == render(
            "{priority} {created_at} {tags} {category} {x}", t
        )
