"""Actors, the default access policy, tenancy through every Helpdesk method, and masking."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.errors import NotFoundError, PermissionDeniedError, ValidationError
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
POLICY = tk.SLAPolicy(
    name="std",
    calendar=tk.BusinessCalendar.always_open(),
    targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
)


def ticket(**kw: Any) -> tk.Ticket:
    return tk.Ticket(subject="s", created_at=T0, **kw)


class TestActor:
    def test_refs(self) -> None:
        """An actor's ref names its kind: customer, system, or agent for any staff role."""
        assert ["agent:li", "agent:zhao", "customer:c-1", "system:ticketkit"] == [
            tk.Actor(id="li").ref,
            tk.Actor(id="zhao", roles={"lead", "admin"}).ref,
            tk.Actor.customer("c-1").ref,
            tk.Actor.system().ref,
        ]

    def test_validation_lists_every_problem(self) -> None:
        """Empty id, no roles, a non-string team and an empty tenant are reported together."""
        with pytest.raises(ValidationError) as info:
            tk.Actor(id="", roles=set(), teams=[1], tenant="")  # type: ignore[list-item]
        assert ["id", "teams", "roles", "tenant"] == [e.path for e in info.value.errors]

    def test_from_agent(self) -> None:
        """An Agent becomes an actor with its roles, teams and tenant."""
        a = tk.Actor.from_agent(tk.Agent(id="li", teams={"t"}, roles={"lead"}, tenant="acme"))
        assert (frozenset({"lead"}), frozenset({"t"}), "acme") == (a.roles, a.teams, a.tenant)


class TestDefaultAccess:
    policy = tk.DefaultAccess()

    @pytest.mark.parametrize(
        ("actor", "action", "t", "allowed"),
        [
            (tk.Actor(id="li", teams={"a"}), "update", ticket(team="a"), True),
            (tk.Actor(id="li", teams={"a"}), "update", ticket(team="b", assignee="li"), True),
            (tk.Actor(id="li", teams={"a"}), "read", ticket(team="b"), False),
            (tk.Actor(id="li", teams={"a"}), "read", ticket(), False),
            (tk.Actor(id="li", teams={"a"}), "assign", ticket(team="a"), False),
            (tk.Actor(id="li", teams={"a"}), "take", ticket(team="a"), True),
            (tk.Actor(id="li", teams={"a"}), "admin", None, False),
            (tk.Actor(id="li", teams={"a"}), "open", None, True),
            (tk.Actor(id="z", roles={"lead"}, teams={"a"}), "assign", ticket(team="a"), True),
            (tk.Actor(id="z", roles={"lead"}, teams={"a"}), "read", ticket(), True),
            (tk.Actor(id="z", roles={"lead"}, teams={"a"}), "read", ticket(team="b"), False),
            (tk.Actor(id="r", roles={"admin"}), "admin", None, True),
            (tk.Actor(id="r", roles={"admin"}), "update", ticket(team="b"), True),
            (tk.Actor(id="r", roles={"admin"}, tenant="x"), "read", ticket(team="b"), False),
            (tk.Actor.customer("c1"), "read", ticket(customer=tk.Customer(id="c1")), True),
            (tk.Actor.customer("c1"), "rate", ticket(customer=tk.Customer(id="c1")), True),
            (tk.Actor.customer("c1"), "note", ticket(customer=tk.Customer(id="c1")), False),
            (tk.Actor.customer("c1"), "update", ticket(customer=tk.Customer(id="c1")), False),
            (tk.Actor.customer("c1"), "read", ticket(customer=tk.Customer(id="c2")), False),
            (tk.Actor(id="q", roles={"auditor"}), "read", ticket(), False),
        ],
    )
    def test_matrix(self, actor: tk.Actor, action: str, t: tk.Ticket | None, allowed: bool) -> None:
        """Who may do what, role by role."""
        assert allowed == (self.policy.check(actor, action, t) is None)


def populated(n: int = 0) -> tuple[tk.Helpdesk, dict[str, tk.Ticket]]:
    """A desk with one ticket per (tenant, team, customer) and assignees x / none."""
    desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[POLICY], clock=ManualClock(T0))
    made: dict[str, tk.Ticket] = {}
    for tenant in ("acme", "globex"):
        for team in ("a", "b"):
            for customer in ("c1", "c2"):
                for assignee in ("x", None):
                    t = desk.open(
                        subject=f"{tenant}/{team}/{customer}/{assignee}",
                        customer=customer,
                        tenant=tenant,
                        team=team,
                        assignee=assignee,
                        dedupe=False,
                    )
                    made[t.id] = t
    return desk, made


actors = st.builds(
    tk.Actor,
    id=st.sampled_from(["x", "y", "c1", "c2"]),
    roles=st.frozensets(st.sampled_from(["agent", "lead", "admin", "customer", "auditor"]), min_size=1),
    teams=st.frozensets(st.sampled_from(["a", "b", "c"])),
    tenant=st.sampled_from(["acme", "globex", "initech"]),
)

DESK, TICKETS = populated()


def reads(desk: tk.Helpdesk) -> list[Callable[[str, tk.Actor], object]]:
    return [
        lambda i, a: desk.get(i, actor=a),
        lambda i, a: desk.history(i, actor=a),
        lambda i, a: desk.comments(i, actor=a),
        lambda i, a: desk.progress(i, actor=a),
        lambda i, a: desk.sla_status(i, actor=a),
        lambda i, a: desk.children(i, actor=a),
    ]


class TestTenancy:
    @settings(max_examples=60)
    @given(actor=actors)
    def test_no_method_returns_another_tenants_ticket(self, actor: tk.Actor) -> None:
        """Whatever the actor, every read either returns their own tenant's ticket or refuses."""
        policy = tk.DefaultAccess()
        for tid, t in TICKETS.items():
            for read in reads(DESK):
                if t.tenant != actor.tenant:
                    with pytest.raises(NotFoundError):
                        read(tid, actor)
                elif policy.check(actor, "read", t) is None:
                    read(tid, actor)
                else:
                    with pytest.raises(PermissionDeniedError):
                        read(tid, actor)
        listed = list(DESK.tickets(actor=actor))
        expected = {
            tid
            for tid, t in TICKETS.items()
            if t.tenant == actor.tenant and policy.check(actor, "read", t) is None
        }
        assert expected == {t.id for t in listed}
        buf = io.StringIO()
        DESK.export(buf, actor=actor)
        exported = [json.loads(line)["ticket"] for line in buf.getvalue().splitlines()[1:-1]]
        assert expected == {t["id"] for t in exported}

    def test_unknown_filter(self) -> None:
        """An unknown filter is a ValidationError naming it, not a TypeError."""
        with pytest.raises(ValidationError) as info:
            list(DESK.tickets(actor=tk.Actor(id="r", roles={"admin"}, tenant="acme"), colour="red"))
        assert ["colour"] == [e.path for e in info.value.errors]

    def test_tenant_filter_cannot_be_overridden(self) -> None:
        """Asking tickets() for another tenant is refused."""
        with pytest.raises(ValidationError):
            list(DESK.tickets(actor=tk.Actor(id="r", roles={"admin"}, tenant="acme"), tenant="globex"))

    def test_open_in_own_tenant_only(self) -> None:
        """An actor opens tickets in their own tenant; asking for another is refused."""
        desk, _ = populated()
        with pytest.raises(ValidationError):
            desk.open(subject="x", actor=tk.Actor(id="r", roles={"admin"}, tenant="acme"), tenant="globex")
        t = desk.open(subject="x", actor=tk.Actor.customer("c9", tenant="acme"))
        assert ("acme", "c9") == (t.tenant, t.customer.id)


class TestEveryMethodRefuses:
    def test_writes_refused_without_rights(self) -> None:
        """Every changing method refuses an agent of another team and a customer; nothing is written."""
        desk, made = populated()
        target = next(t for t in made.values() if t.tenant == "acme" and t.team == "a" and t.assignee is None)
        other = next(t for t in made.values() if t.tenant == "acme" and t.team == "b")
        outsider = tk.Actor(id="y", roles={"agent"}, teams={"b"}, tenant="acme")
        stranger = tk.Actor.customer("c-nobody", tenant="acme")
        stranger_tenant = tk.Actor(id="r", roles={"admin"}, tenant="globex")
        calls: list[Callable[[tk.Actor], object]] = [
            lambda a: desk.fire(target.id, "open", actor=a),
            lambda a: desk.comment(target.id, "hi", actor=a),
            lambda a: desk.comment(target.id, "note", actor=a, public=False),
            lambda a: desk.assign(target.id, team="b", actor=a),
            lambda a: desk.assign(target.id, agent=a.id, actor=a),
            lambda a: desk.set_priority(target.id, "high", actor=a),
            lambda a: desk.set_category(target.id, "x", actor=a),
            lambda a: desk.tag(target.id, "x", actor=a),
            lambda a: desk.set_fields(target.id, {"k": 1}, actor=a),
            lambda a: desk.rate(target.id, 3, actor=a),
            lambda a: desk.link(target.id, other.id, actor=a),
            lambda a: desk.merge(target.id, other.id, actor=a),
            lambda a: desk.merge(other.id, target.id, actor=a),
            lambda a: desk.split(target.id, subject="part", actor=a),
            lambda a: desk.spawn(target.id, subject="child", actor=a),
            lambda a: desk.get(target.id, actor=a),
            lambda a: desk.history(target.id, actor=a),
            lambda a: desk.comments(target.id, actor=a),
            lambda a: desk.progress(target.id, actor=a),
            lambda a: desk.sla_status(target.id, actor=a),
            lambda a: desk.children(target.id, actor=a),
        ]
        for i, call in enumerate(calls):
            for actor in (outsider, stranger):
                with pytest.raises(PermissionDeniedError):
                    call(actor)
            with pytest.raises((NotFoundError, PermissionDeniedError)):
                call(stranger_tenant)
            assert target.version == desk.store.get(target.id).version, f"call {i} wrote"
        with pytest.raises(PermissionDeniedError):
            desk.tick(actor=outsider)
        with pytest.raises(PermissionDeniedError):
            desk.open(subject="x", actor=tk.Actor(id="q", roles={"auditor"}, tenant="acme"))
        assert 16 == desk.store.count()

    def test_customer_sees_no_internal_notes(self) -> None:
        """Internal notes and automation records are hidden from the customer's history."""
        desk, made = populated()
        t = next(t for t in made.values() if t.tenant == "acme" and t.customer and t.customer.id == "c1")
        admin = tk.Actor(id="r", roles={"admin"}, tenant="acme")
        desk.comment(t.id, "internal", actor=admin, public=False)
        desk.comment(t.id, "public", actor=admin)
        me = tk.Actor.customer("c1", tenant="acme")
        assert ["public"] == [c.body for c in desk.comments(t.id, actor=me)]
        assert 2 == len(desk.comments(t.id, actor=admin))


class TestMasking:
    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            ("13812345678", "138****5678"),
            ("+86 138 1234 5678", "+86 138 **** 5678"),
            ("tel 021-6234-5678", "tel 021-****-5678"),
            ("a.b@example.co.uk", "a***@example.co.uk"),
            ("ID 11010119900307123X", "ID 110101********123X"),
            ("order A-1009 on 2025-03-03", "order A-1009 on 2025-03-03"),
            ("王芳 13812345678", "王芳 138****5678"),
        ],
    )
    def test_mask_personal(self, text: str, masked: str) -> None:
        """Phones, e-mail addresses and ID numbers are masked; dates and order numbers are not."""
        assert masked == tk.mask_personal(text)

    def test_export_masks_events_too(self) -> None:
        """A masked export hides personal data in comment bodies as well as on the ticket."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        t = desk.open(
            subject="Call back",
            customer=tk.Customer(id="c1", email="wang@example.com", phone="13812345678"),
            transcript=[("customer", "my mail is wang@example.com")],
        )
        admin = tk.Actor(id="r", roles={"admin"})
        buf = io.StringIO()
        assert 1 == desk.export(buf, actor=admin)
        assert "wang@example.com" not in buf.getvalue()
        assert "13812345678" not in buf.getvalue()
        raw = io.StringIO()
        desk.export(raw, actor=admin, mask=False)
        assert "wang@example.com" in raw.getvalue()
        assert t.id in raw.getvalue()


class TestCustomerExport:
    def test_customer_export_has_no_internal_notes(self) -> None:
        """A customer's export holds their tickets with the public conversation only."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        t = desk.open(subject="Refund", customer="c1")
        desk.open(subject="Other", customer="c2")
        desk.comment(t.id, "customer seems upset", actor=tk.Actor(id="r", roles={"admin"}), public=False)
        buf = io.StringIO()
        assert 1 == desk.export(buf, actor=tk.Actor.customer("c1"))
        assert "upset" not in buf.getvalue()
