"""The one rights table: the page matches the code, and every Helpdesk operation follows it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.desk._access import RIGHTS, ROLES, rights_table
from ticketkit.errors import InvalidTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
PAGE = Path(__file__).parent.parent / "docs" / "how-to" / "permissions.md"
SYSTEM = {t: tk.Actor.system(t) for t in ("acme", "beta")}


class TestTable:
    def test_page_shows_the_table_of_the_code(self) -> None:
        """docs/how-to/permissions.md holds exactly the table generated from RIGHTS."""
        text = PAGE.read_text(encoding="utf-8")
        shown = re.search(r"<!-- rights-table:start -->\n(.*?)<!-- rights-table:end -->", text, re.S)
        assert shown is not None
        assert rights_table() == shown.group(1)

    def test_every_action_names_every_role(self) -> None:
        """Each row of RIGHTS gives a known scope for each of the five roles."""
        assert [] == [
            (a, r)
            for a, row in RIGHTS.items()
            for r in ROLES
            if row.get(r) not in {"tenant", "team", "own", "-"}
        ]


def reference(actor: tk.Actor, action: str, ticket: tk.Ticket | None) -> bool:
    """A slow reading of RIGHTS, written apart from DefaultAccess."""
    if ticket is not None and ticket.tenant != actor.tenant:
        return False
    for role in actor.roles:
        scope = RIGHTS[action].get(role, "-")
        if scope == "tenant":
            return True
        if ticket is None:
            continue
        if scope == "team":
            if ticket.assignee == actor.id or ticket.team in actor.teams:
                return True
            if "lead" in actor.roles and ticket.team is None and ticket.assignee is None:
                return True
        if scope == "own":
            customer = ticket.customer
            if customer is not None and customer.id == actor.id and ticket.channel != "internal":
                return True
    return False


def build_desk() -> tuple[tk.Helpdesk, list[tk.Ticket]]:
    desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
    made = [
        desk.open(subject="one", customer="c1", team="a", tenant="acme"),
        desk.open(subject="two", customer="c2", team="b", assignee="li", tenant="acme"),
        desk.open(subject="three", customer="c1", tenant="acme"),
        desk.open(subject="four", customer="c1", team="a", tenant="beta"),
    ]
    made.append(desk.spawn(made[0].id, subject="check stock", team="a", actor=SYSTEM["acme"]))
    return desk, made


Operation = Callable[[tk.Helpdesk, str, tk.Actor], object]

TICKET_OPERATIONS: dict[str, tuple[str, Operation]] = {
    "get": ("read", lambda d, i, a: d.get(i, actor=a)),
    "children": ("read", lambda d, i, a: d.children(i, actor=a)),
    "history": ("read", lambda d, i, a: d.history(i, actor=a)),
    "progress": ("read", lambda d, i, a: d.progress(i, actor=a)),
    "comment": ("comment", lambda d, i, a: d.comment(i, "hello", actor=a, public=True)),
    "note": ("note", lambda d, i, a: d.comment(i, "internal", actor=a, public=False)),
    "tag": ("update", lambda d, i, a: d.tag(i, "x", actor=a)),
    "take": ("take", lambda d, i, a: d.assign(i, agent=a.id, actor=a)),
    "assign": ("assign", lambda d, i, a: d.assign(i, agent="somebody-else", actor=a)),
    "rate": ("rate", lambda d, i, a: d.rate(i, 5, actor=a)),
}

TENANT_OPERATIONS: dict[str, tuple[str, Callable[[tk.Helpdesk, tk.Actor], object]]] = {
    "tick": ("admin", lambda d, a: d.tick(actor=a)),
    "next_wakeup": ("admin", lambda d, a: d.next_wakeup(actor=a)),
    "export_unmasked": ("export_unmasked", lambda d, a: d.export(io.StringIO(), actor=a, mask=False)),
}

actors = st.builds(
    lambda ident, roles, teams, tenant: tk.Actor(id=ident, roles=roles, teams=teams, tenant=tenant),
    st.sampled_from(["li", "wu", "c1", "c2"]),
    st.frozensets(st.sampled_from(sorted(ROLES)), min_size=1),
    st.frozensets(st.sampled_from(["a", "b"])),
    st.sampled_from(["acme", "beta"]),
)


def outcome(run: Callable[[], object]) -> bool:
    """True when the desk let the actor act (a refusal for another reason still counts as allowed)."""
    try:
        run()
    except (PermissionDeniedError, NotFoundError):
        return False
    except (ValidationError, InvalidTransitionError):
        return True
    return True


class TestEveryOperationFollowsTheTable:
    @given(actor=actors, op=st.sampled_from(sorted(TICKET_OPERATIONS)), which=st.integers(0, 4))
    def test_ticket_operations(self, actor: tk.Actor, op: str, which: int) -> None:
        """Random actor x ticket operation x ticket: the desk allows exactly what RIGHTS allows."""
        desk, made = build_desk()
        action, run = TICKET_OPERATIONS[op]
        ticket = made[which]
        assert reference(actor, action, ticket) == outcome(lambda: run(desk, ticket.id, actor))

    @given(actor=actors, op=st.sampled_from(sorted(TENANT_OPERATIONS)))
    def test_tenant_operations(self, actor: tk.Actor, op: str) -> None:
        """Random actor x tenant-wide operation: allowed exactly when RIGHTS gives the tenant."""
        desk, _ = build_desk()
        action, run = TENANT_OPERATIONS[op]
        assert reference(actor, action, None) == outcome(lambda: run(desk, actor))

    @given(actor=actors, action=st.sampled_from(sorted(RIGHTS)), which=st.integers(0, 5))
    def test_policy_agrees_with_the_reference(self, actor: tk.Actor, action: str, which: int) -> None:
        """DefaultAccess.check agrees with the slow reading of RIGHTS on every action."""
        _, made = build_desk()
        ticket = made[which] if which < len(made) else None
        assert reference(actor, action, ticket) == (tk.DefaultAccess().check(actor, action, ticket) is None)


CUSTOMER = tk.Actor.customer("c1", tenant="acme")
AGENT = tk.Actor(id="li", roles={"agent"}, teams={"a"}, tenant="acme")


class TestIntake:
    @pytest.mark.parametrize(
        "entry",
        [
            {"author": "li", "author_kind": "agent", "body": "refund approved"},
            {"author": "customer", "body": "psst", "public": False},
            {"author": "customer", "body": "later", "at": T0 + timedelta(days=1)},
            {"author": "c2", "author_kind": "customer", "body": "I am someone else"},
        ],
        ids=["agent", "hidden", "future", "other-customer"],
    )
    def test_customer_cannot_forge_transcript(self, entry: dict[str, Any]) -> None:
        """A customer's transcript holds only their and the bot's public entries, never later than now."""
        desk, _ = build_desk()
        with pytest.raises(PermissionDeniedError) as err:
            desk.open(subject="help", customer="c1", actor=CUSTOMER, transcript=[entry])
        assert "import" == err.value.action

    def test_forged_entry_refused_on_a_duplicate_too(self) -> None:
        """Sent again as a duplicate, a forged agent reply is refused and nothing is added."""
        desk, _made = build_desk()
        desk.open(subject="dup", customer="c1", actor=CUSTOMER)
        before = len(list(desk.tickets(actor=SYSTEM["acme"])))
        forged = [{"author": "li", "author_kind": "agent", "body": "done"}]
        with pytest.raises(PermissionDeniedError):
            desk.open(subject="dup", customer="c1", actor=CUSTOMER, transcript=forged, dedupe=True)
        assert before == len(list(desk.tickets(actor=SYSTEM["acme"])))

    def test_system_imports_history(self) -> None:
        """The system may bring in agent replies, notes and past-dated entries."""
        desk, _ = build_desk()
        entries = [
            {"author": "li", "author_kind": "agent", "body": "refund approved", "at": T0 - timedelta(days=1)},
            {"author": "li", "author_kind": "agent", "body": "note", "public": False},
        ]
        t = desk.open(subject="import", customer="c1", tenant="acme", transcript=entries)
        assert ["agent", "agent"] == [c.author_kind for c in desk.comments(t.id, actor=SYSTEM["acme"])]

    def test_customer_entries_and_bot_are_fine(self) -> None:
        """A customer's own transcript of their and the bot's public lines is accepted."""
        desk, _ = build_desk()
        t = desk.open(subject="hi", actor=CUSTOMER, transcript=[("bot", "Hello"), ("customer", "Hi")])
        assert ["bot", "customer"] == [c.author_kind for c in desk.comments(t.id, actor=CUSTOMER)]

    @pytest.mark.parametrize("extra", [{"team": "a"}, {"assignee": "li"}, {"priority": "urgent"}])
    def test_customer_cannot_place(self, extra: dict[str, Any]) -> None:
        """A customer cannot set team, assignee or urgent priority when opening."""
        desk, _ = build_desk()
        with pytest.raises(PermissionDeniedError):
            desk.open(subject="me first", actor=CUSTOMER, **extra)

    def test_agent_cannot_open_for_another_teams_agent(self) -> None:
        """An agent cannot open a ticket assigned to an agent of another team, but may for their own."""
        desk, _made = build_desk()
        with pytest.raises(PermissionDeniedError):
            desk.open(subject="yours", actor=AGENT, team="b", assignee="wu")
        mine = desk.open(subject="mine", actor=AGENT, team="a", assignee="zhou")
        assert ("a", "zhou") == (mine.team, mine.assignee)

    def test_agent_cannot_spawn_for_another_teams_agent(self) -> None:
        """spawn with an assignee outside the agent's teams is refused."""
        desk, made = build_desk()
        with pytest.raises(PermissionDeniedError):
            desk.spawn(made[0].id, subject="x", team="b", assignee="wu", actor=AGENT)


class TestReads:
    def test_agent_cannot_rate(self) -> None:
        """Only the ticket's customer rates it; an agent of the ticket's team cannot."""
        desk, made = build_desk()
        with pytest.raises(PermissionDeniedError):
            desk.rate(made[0].id, 5, actor=AGENT)
        assert 4 == desk.rate(made[0].id, 4, actor=CUSTOMER).satisfaction

    def test_customer_never_reads_internal_subtickets(self) -> None:
        """get, children and tickets hide a customer's internal sub-tickets from them."""
        desk, made = build_desk()
        child = made[4]
        with pytest.raises(PermissionDeniedError):
            desk.get(child.id, actor=CUSTOMER)
        seen = (
            [t.id for t in desk.children(made[0].id, actor=CUSTOMER)],
            child.id in {t.id for t in desk.tickets(actor=CUSTOMER)},
        )
        assert ([], False) == seen

    def test_merged_content_of_another_customer_is_hidden(self) -> None:
        """After B's ticket is merged into A's, A's history does not show B's subject or description."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        a = desk.open(subject="A's parcel", customer="c1", tenant="acme")
        b = desk.open(subject="B's secret", description="my address", customer="c2", tenant="acme")
        desk.merge(b.id, a.id, actor=SYSTEM["acme"])
        text = repr(desk.history(a.id, actor=CUSTOMER))
        staff = repr(desk.history(a.id, actor=SYSTEM["acme"]))
        assert (False, False, True) == ("B's secret" in text, "my address" in text, "B's secret" in staff)

    def test_merged_content_of_the_same_customer_is_shown(self) -> None:
        """Merging the customer's own two tickets keeps the merged subject visible to them."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        a = desk.open(subject="first", customer="c1", tenant="acme")
        b = desk.open(subject="second try", customer="c1", tenant="acme")
        desk.merge(b.id, a.id, actor=SYSTEM["acme"])
        assert "second try" in repr(desk.history(a.id, actor=CUSTOMER))

    def test_unmasked_export_needs_the_right(self) -> None:
        """An agent's masked export works; mask=False is refused for them and allowed for an admin."""
        desk, _ = build_desk()
        assert 1 <= desk.export(io.StringIO(), actor=AGENT)
        with pytest.raises(PermissionDeniedError):
            desk.export(io.StringIO(), actor=AGENT, mask=False)
        admin = tk.Actor(id="root", roles={"admin"}, tenant="acme")
        assert 4 == desk.export(io.StringIO(), actor=admin, mask=False)

    def test_next_wakeup_checks_the_actor(self) -> None:
        """next_wakeup(actor="x") is a ValidationError and an agent is refused."""
        desk, _ = build_desk()
        with pytest.raises(ValidationError):
            desk.next_wakeup(actor="x")  # type: ignore[arg-type]
        with pytest.raises(PermissionDeniedError):
            desk.next_wakeup(actor=AGENT)


class TestActorNul:
    @pytest.mark.parametrize("field", ["id", "tenant"])
    def test_nul_refused_in_actor_ids(self, field: str) -> None:
        """An actor's id or tenant with NUL is refused (PostgreSQL would fold it into U+FFFD)."""
        kwargs = {"id": "li", "tenant": "acme", field: "acme\x00"}
        with pytest.raises(tk.ValidationError) as err:
            tk.Actor(**kwargs)
        assert [field] == [d.path for d in err.value.errors]

    def test_nul_refused_in_actor_roles_and_teams(self) -> None:
        """Roles and teams with NUL are refused too."""
        with pytest.raises(tk.ValidationError) as err:
            tk.Actor(id="li", roles={"agent\x00"}, teams={"t\x00"})
        assert ["roles", "teams"] == sorted(d.path for d in err.value.errors)
