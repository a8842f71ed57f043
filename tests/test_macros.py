"""Macros: data form and checks, safe comment templates, apply and preview through the Helpdesk, rights."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.automation._macro import MAX_TEMPLATE, TEMPLATE_PATHS, render_macro
from ticketkit.errors import PermissionDeniedError, ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="boss", roles={"admin"})
AGENT = tk.Actor(id="li", roles={"agent"}, teams={"after-sales"})

RMA = {
    "name": "wrong part",
    "description": "We sent the wrong part: tag, raise, tell the customer.",
    "actions": [
        {"tag": ["rma"]},
        {"set_priority": "high"},
        {"set_fields": {"rma": True}},
    ],
    "comment": (
        "Hello {customer.name}, ticket {ticket.id} ({ticket.fields.part}): the right part is on its way."
    ),
    "public": True,
}


def make_desk(*macros: Any, **kw: Any) -> tk.Helpdesk:
    policy = tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
    )
    return tk.Helpdesk(
        store=tk.InMemoryStore(),
        policies=[policy],
        clock=ManualClock(T0),
        teams=[tk.Team(id="after-sales", lead="zhao")],
        macros=macros,
        **kw,
    )


def open_ticket(desk: tk.Helpdesk) -> tk.Ticket:
    return desk.open(
        subject="Wrong fan delivered",
        customer=tk.Customer(id="c-1", name="Wang Fang", tier="vip", email="w@example.com"),
        team="after-sales",
        fields={"part": "FAN-9"},
    )


# --------------------------------------------------------------------------- strategies

_actions = st.sampled_from(
    [
        tk.Action.tag("a", "b"),
        tk.Action.untag("c"),
        tk.Action.set_fields(rma=True, note=None),
        tk.Action.set_priority("+1"),
        tk.Action.set_priority("urgent"),
        tk.Action.set_category("repair"),
        tk.Action.fire("resolve"),
        tk.Action.comment("Seen {id}", public=True),
        tk.Action.notify(["lead"], "Ticket {id}"),
        tk.Action.assign(team="qa"),
        tk.Action.assign(),
    ]
)
_pieces = st.one_of(
    st.sampled_from(["{" + p.replace("<key>", "part") + "}" for p in TEMPLATE_PATHS]),
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20),
)
macros = st.builds(
    tk.Macro,
    name=st.text(min_size=1, max_size=10).filter(str.strip),
    description=st.text(max_size=20),
    actions=st.lists(_actions, min_size=1, max_size=5),
    comment=st.lists(_pieces, max_size=6).map("".join),
    public=st.booleans(),
)


class TestDataForm:
    @given(macros)
    def test_round_trip(self, macro: tk.Macro) -> None:
        """Every macro survives to_dict / from_dict, exactly."""
        assert macro == tk.Macro.from_dict(macro.to_dict())
        assert macro.to_dict() == tk.Macro.from_dict(macro.to_dict()).to_dict()

    def test_every_problem_with_its_path(self) -> None:
        """Unknown keys, bad actions, bad templates and a bad flag are listed with paths."""
        with pytest.raises(ValidationError) as info:
            tk.Helpdesk(
                store=tk.InMemoryStore(),
                macros=[
                    {"name": "ok", "comment": "fine"},
                    {
                        "name": "bad",
                        "colour": 1,
                        "actions": [{"tag": []}, {"explode": True}],
                    },
                    {"name": "tpl", "comment": "{ticket.nope}", "public": "yes"},
                    {"name": "ok", "comment": "again"},
                    "not a macro",
                ],
            )
        paths = {e.path for e in info.value.errors}
        assert {
            "macros[1].colour",
            "macros[1].actions[0].tag.tags",
            "macros[1].actions[1].explode",
            "macros[2].comment",
            "macros[2].public",
            "macros[3].name",
            "macros[4]",
        } == paths

    def test_missing_name_and_empty_macro(self) -> None:
        """A macro needs a name and something to do."""
        with pytest.raises(ValidationError) as info:
            tk.Macro.from_dict({"actions": "tag"})
        assert {"name", "actions"} == {e.path for e in info.value.errors}
        with pytest.raises(ValidationError) as info:
            tk.Macro(name="empty")
        assert ["actions"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError) as info:
            tk.Macro(name=" ", description=3, actions=[object()], comment=5)  # type: ignore[arg-type, list-item]
        assert {"name", "description", "actions[0]", "comment"} == {e.path for e in info.value.errors}
        with pytest.raises(ValidationError):
            tk.Macro(name="x", actions="tag")  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as info:
            tk.Helpdesk(store=tk.InMemoryStore(), macros="wrong")  # type: ignore[arg-type]
        assert ["macros"] == [e.path for e in info.value.errors]

    def test_macro_objects_and_data_mix(self) -> None:
        """The desk takes Macro objects as well as their data form."""
        desk = make_desk(tk.Macro(name="note", comment="Seen {ticket.id}"), RMA)
        t = open_ticket(desk)
        assert f"Seen {t.id}" == desk.apply_macro(t.id, "note", actor=ADMIN).comment


class TestTemplates:
    def test_every_documented_placeholder(self) -> None:
        """Each placeholder of TEMPLATE_PATHS renders the ticket's plain value."""
        desk = make_desk()
        t = desk.set_priority(open_ticket(desk).id, "high", actor=ADMIN)
        t = desk.set_category(t.id, "repair", actor=ADMIN)
        t = desk.assign(t.id, agent="li", team="after-sales", actor=ADMIN)
        expected = {
            "ticket.assignee": "li",
            "ticket.category": "repair",
            "ticket.channel": t.channel or "",
            "ticket.description": t.description or "",
            "ticket.id": t.id,
            "ticket.priority": "high",
            "ticket.status": t.status,
            "ticket.subject": "Wrong fan delivered",
            "ticket.team": "after-sales",
            "ticket.type": t.type or "",
            "ticket.fields.<key>": "FAN-9",
            "customer.email": "w@example.com",
            "customer.id": "c-1",
            "customer.name": "Wang Fang",
            "customer.phone": "",
            "customer.tier": "vip",
            "actor.id": "agent:li",
        }
        assert set(TEMPLATE_PATHS) == set(expected)
        for path, value in expected.items():
            template = "<{" + path.replace("<key>", "part") + "}>"
            assert f"<{value}>" == render_macro(template, t, actor="agent:li"), path

    @pytest.mark.parametrize(
        "template",
        [
            "{ticket.__class__}",
            "{ticket.__class__.__mro__}",
            "{customer.__init__.__globals__}",
            "{customer.__init__}",
            "{0.__class__}",
            "{0}",
            "{}",
            "{ticket}",
            "{customer}",
            "{ticket.fields}",
            "{ticket.fields.__class__}",
            "{ticket.fields._x}",
            "{ticket.sla}",
            "{ticket.id:>99999999}",
            "{ticket.id!r}",
            "{ticket.id[0]}",
            "{ticket.customer}",
            "{actor}",
        ],
    )
    def test_reaching_python_objects_is_refused(self, template: str) -> None:
        """A placeholder outside the whitelist is refused at load and left as written when rendered."""
        with pytest.raises(ValidationError) as info:
            tk.Macro(name="evil", comment=template)
        assert "comment" == info.value.errors[0].path
        desk = make_desk()
        t = open_ticket(desk)
        start = time.perf_counter()
        out = render_macro(template, t)
        assert time.perf_counter() - start < 1.0
        assert template == out
        for leak in ("<", "object at", "class ", "function", "module", "{'", "Ticket("):
            assert leak not in out

    def test_hostile_templates_do_not_hang(self) -> None:
        """Long, brace-heavy templates are refused or rendered in linear time; sizes are bounded."""
        with pytest.raises(ValidationError):
            tk.Macro(name="long", comment="x" * (MAX_TEMPLATE + 1))
        with pytest.raises(ValidationError):
            render_macro("x" * (MAX_TEMPLATE + 1), tk.Ticket(subject="s", created_at=T0))
        t = tk.Ticket(subject="s", id="T1", created_at=T0)
        for template in ("{" * MAX_TEMPLATE, "{ticket." * 1000, "{ticket.id}" * 900, "{{}}" * 2500):
            start = time.perf_counter()
            out = render_macro(template[:MAX_TEMPLATE], t)
            assert time.perf_counter() - start < 1.0
            assert len(out) <= MAX_TEMPLATE
        assert "T1" * 900 == render_macro("{ticket.id}" * 900, t)

    @settings(max_examples=50)
    @given(st.text(max_size=200))
    def test_any_text_renders_without_python_objects(self, template: str) -> None:
        """Whatever the template, rendering never writes a Python representation."""
        t = tk.Ticket(subject="s", id="T1", created_at=T0, fields={"part": "P"})
        out = render_macro(template, t)
        assert "object at" not in out
        assert "<class" not in out


class TestApply:
    def test_apply_runs_actions_and_comment_in_one_change(self) -> None:
        """The actions and the rendered comment are saved as one new version."""
        desk = make_desk(RMA)
        t = open_ticket(desk)
        result = desk.apply_macro(t.id, "wrong part", actor=ADMIN)
        assert not result.preview
        assert t.version + 1 == result.ticket.version
        assert {"rma"} <= result.ticket.tags
        assert tk.Priority.HIGH == result.ticket.priority
        assert True is result.ticket.fields["rma"]
        text = f"Hello Wang Fang, ticket {t.id} (FAN-9): the right part is on its way."
        assert text == result.comment
        comments = desk.comments(t.id, actor=ADMIN)
        assert [(text, True, "boss")] == [(c.body, c.public, c.author) for c in comments]
        stored = desk.get(t.id, actor=ADMIN)
        assert stored == result.ticket
        history = desk.history(t.id, actor=ADMIN)
        assert [e for e in history if e.version == result.ticket.version] == list(result.events)
        assert {e.version for e in result.events} == {result.ticket.version}

    def test_preview_saves_nothing_and_matches_apply(self) -> None:
        """A preview returns the ticket, events and comment apply gives; the store is untouched."""
        desk = make_desk(RMA)
        t = open_ticket(desk)

        def stored() -> tuple[Any, ...]:
            ticket = desk.get(t.id, actor=ADMIN)
            return ticket, desk.history(t.id, actor=ADMIN), desk.comments(t.id, actor=ADMIN)

        before = stored()
        preview = desk.apply_macro(t.id, "wrong part", actor=ADMIN, preview=True)
        after = stored()
        assert before == after
        assert preview.preview
        applied = desk.apply_macro(t.id, "wrong part", actor=ADMIN)
        assert applied.ticket == preview.ticket

        def shape(events: tuple[tk.Event, ...]) -> list[tuple[Any, ...]]:
            """The events without their fresh ids (and those of the comments they carry)."""
            out = []
            for e in events:
                data = {k: v for k, v in e.data.items() if k != "comment"}
                comment = {k: v for k, v in (e.data.get("comment") or {}).items() if k != "id"}
                out.append((e.kind, e.actor, e.at, e.version, data, comment))
            return out

        assert shape(applied.events) == shape(preview.events)
        assert len(applied.events) >= 4
        assert applied.comment == preview.comment

    def test_preview_on_sqlite_leaves_the_file_alone(self, tmp_path: Any) -> None:
        """On a SQLite store a preview leaves the database file byte for byte the same."""
        path = tmp_path / "desk.db"
        store = tk.SQLiteStore(str(path))
        desk = tk.Helpdesk(store=store, clock=ManualClock(T0), macros=[RMA])
        t = open_ticket(desk)
        before = path.read_bytes()
        desk.apply_macro(t.id, "wrong part", actor=ADMIN, preview=True)
        assert before == path.read_bytes()
        assert t.version == desk.get(t.id, actor=ADMIN).version

    def test_automations_run_on_macro_events(self) -> None:
        """Automations see the macro's events, in the same change (and in the preview)."""
        rule = tk.Automation(name="rma note", on="tags.changed", actions=[tk.Action.set_category("rma")])
        desk = make_desk(RMA, automations=[rule])
        t = open_ticket(desk)
        preview = desk.apply_macro(t.id, "wrong part", actor=ADMIN, preview=True)
        applied = desk.apply_macro(t.id, "wrong part", actor=ADMIN)
        assert "rma" == preview.ticket.category == applied.ticket.category

    def test_unknown_macro_names_the_known_ones(self) -> None:
        """An unknown name is a ValidationError listing the macros there are."""
        desk = make_desk(RMA, {"name": "close", "actions": [{"fire": "resolve"}]})
        t = open_ticket(desk)
        with pytest.raises(ValidationError) as info:
            desk.apply_macro(t.id, "wrong prat", actor=ADMIN)
        assert "name" == info.value.errors[0].path
        assert "close, wrong part" in info.value.errors[0].message
        with pytest.raises(ValidationError):
            desk.apply_macro(t.id, "x", actor=ADMIN, preview="yes")  # type: ignore[arg-type]

    def test_unknown_ticket(self) -> None:
        """A ticket that does not exist is a NotFoundError."""
        desk = make_desk(RMA)
        with pytest.raises(tk.NotFoundError):
            desk.apply_macro("nope", "wrong part", actor=ADMIN)


class TestRights:
    def test_customer_cannot_change_priority_through_a_macro(self) -> None:
        """An actor without the right for one action gets PermissionDeniedError; nothing is saved."""
        desk = make_desk(RMA, {"name": "thanks", "comment": "Thanks, {customer.name}", "public": True})
        t = open_ticket(desk)
        customer = tk.Actor.customer("c-1")
        for preview in (True, False):
            with pytest.raises(PermissionDeniedError):
                desk.apply_macro(t.id, "wrong part", actor=customer, preview=preview)
        assert t.version == desk.get(t.id, actor=ADMIN).version
        result = desk.apply_macro(t.id, "thanks", actor=customer)
        assert "Thanks, Wang Fang" == result.comment

    def test_agent_cannot_assign_to_others_through_a_macro(self) -> None:
        """Assignment needs the assign right; a lead has it, an agent does not."""
        hand_over = {"name": "to wang", "actions": [{"assign": {"agent": "wang"}}]}
        desk = make_desk(hand_over)
        t = open_ticket(desk)
        with pytest.raises(PermissionDeniedError):
            desk.apply_macro(t.id, "to wang", actor=AGENT)
        lead = tk.Actor(id="zhao", roles={"lead"}, teams={"after-sales"})
        assert "wang" == desk.apply_macro(t.id, "to wang", actor=lead).ticket.assignee

    def test_internal_comment_actions_need_the_note_right(self) -> None:
        """A comment action asks for 'note' (internal) or 'comment' (public): customers may not add notes."""
        desk = make_desk({"name": "n", "actions": [{"comment": {"body": "internal {id}"}}]})
        t = open_ticket(desk)
        with pytest.raises(PermissionDeniedError):
            desk.apply_macro(t.id, "n", actor=tk.Actor.customer("c-1"))
        result = desk.apply_macro(t.id, "n", actor=AGENT)
        assert f"internal {t.id}" == desk.comments(t.id, actor=ADMIN)[-1].body
        assert "" == result.comment


class TestEdgeCases:
    def test_a_macro_that_changes_nothing(self) -> None:
        """Removing an absent tag changes nothing: no new version, no events, in preview or apply."""
        desk = make_desk({"name": "noop", "actions": [{"untag": ["never-there"]}]})
        t = open_ticket(desk)
        for preview in (True, False):
            result = desk.apply_macro(t.id, "noop", actor=ADMIN, preview=preview)
            assert (t.version, (), "") == (result.ticket.version, result.events, result.comment)

    def test_spawning_macro_previews_the_parent(self) -> None:
        """A macro that spawns a sub-ticket returns the parent; the preview creates no child."""
        desk = make_desk({"name": "restock", "actions": [{"spawn": {"subject": "Restock", "wait": False}}]})
        t = open_ticket(desk)
        preview = desk.apply_macro(t.id, "restock", actor=ADMIN, preview=True)
        assert t.id == preview.ticket.id
        assert [] == desk.children(t.id, actor=ADMIN)
        applied = desk.apply_macro(t.id, "restock", actor=ADMIN)
        assert (preview.ticket.version, ["child"]) == (
            applied.ticket.version,
            [x.kind for x in applied.ticket.links],
        )
        assert [x.kind for x in preview.ticket.links] == [x.kind for x in applied.ticket.links]
        assert 1 == len(desk.children(t.id, actor=ADMIN))
