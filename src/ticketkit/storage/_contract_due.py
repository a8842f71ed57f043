"""The contract's tenant and due-ticket families: isolation of every read, due() and claim_due()."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import attrs
import pytest

from ticketkit.errors import NotFoundError, ValidationError
from ticketkit.model._models import Ticket
from ticketkit.storage._base import MAX_LIMIT, TicketStore
from ticketkit.storage._contract_support import SH, T0, ContractBase, assert_same, bump, due, ev, ids, tk

_LEASE = timedelta(minutes=5)


def leased_copy(ticket: Ticket, until: datetime) -> Ticket:
    """What a claim must store: one version on, next checkpoint at ``until``, nothing else changed."""
    assert ticket.sla is not None
    return attrs.evolve(ticket, version=ticket.version + 1, sla=attrs.evolve(ticket.sla, next_due_at=until))


class TenantContract(ContractBase):
    """Tenants: with ``tenant=`` given, no read or claim ever returns another tenant's data."""

    def _two_tenants(self, store: TicketStore) -> None:
        for i, tenant in ((1, "default"), (2, "other"), (3, "default"), (4, "other")):
            t = tk(i, tenant=tenant, team="t1", status="open", status_kind="open", tags={"x"}, sla=due(T0))
            store.create(t, [ev(t)])

    def test_reads_never_cross_tenants(self, store: TicketStore) -> None:
        """get, events, query, count, scan and due keep to the tenant given; without one they see all."""
        self._two_tenants(store)
        for tid, mine, theirs in (("T0001", "default", "other"), ("T0002", "other", "default")):
            with pytest.raises(NotFoundError):
                store.get(tid, tenant=theirs)
            with pytest.raises(NotFoundError):
                store.events(tid, tenant=theirs)
            assert mine == store.get(tid, tenant=mine).tenant
            assert 1 == len(store.events(tid, tenant=mine))
        for tenant, want in (("default", ["T0001", "T0003"]), ("other", ["T0002", "T0004"]), ("nobody", [])):
            assert want == ids(store.query(tenant=tenant, team="t1", tags="x", status_kind=["open", "new"]))
            assert len(want) == store.count(tenant=tenant, team=["t1", "t2"], status=["open", "new"])
            assert want == sorted(ids(store.scan(tenant=tenant)))
            assert want == ids(store.due(T0, tenant=tenant))
        assert ["T0001", "T0002", "T0003", "T0004"] == ids(store.due(T0))
        assert 4 == store.count()

    def test_claims_and_exports_never_cross_tenants(self, store: TicketStore) -> None:
        """claim_due and export with tenant= touch only that tenant's tickets."""
        self._two_tenants(store)
        buf = io.StringIO()
        assert 2 == store.export(buf, tenant="other")
        lines = buf.getvalue().splitlines()[1:-1]  # between the header and the trailer
        assert ["other", "other"] == [json.loads(line)["ticket"]["tenant"] for line in lines]
        claimed = store.claim_due(T0, worker="w", lease=_LEASE, tenant="other")
        assert ["T0002", "T0004"] == ids(claimed)
        assert ["T0001", "T0003"] == ids(store.due(T0))
        assert [1, 1] == [store.get(t).version for t in ("T0001", "T0003")]


class DueContract(ContractBase):
    """Due tickets and claims: inclusive, oldest first, exclusive per lease, arguments checked."""

    def test_due_returns_oldest_first_within_limit(self, store: TicketStore) -> None:
        """due() returns next_due_at <= at (inclusive), oldest first, ties by id, at most limit."""
        same_instant_sh = datetime(2025, 3, 3, 18, tzinfo=SH)  # == T0 + 1h
        specs = {
            1: T0 + timedelta(hours=2),
            2: T0 + timedelta(hours=1),
            3: same_instant_sh,
            4: T0 + timedelta(hours=3),
            5: None,
            6: T0 - timedelta(days=1),
            7: datetime(2025, 3, 3, 16, 30, tzinfo=SH),  # T0 - 30 min, written later in the day
        }
        for i, at in specs.items():
            store.create(tk(i, sla=due(at) if at else None))
        assert ["T0006", "T0007", "T0002", "T0003", "T0001"] == ids(store.due(T0 + timedelta(hours=2)))
        assert ["T0006", "T0007"] == ids(store.due(T0 + timedelta(hours=2), limit=2))
        assert ["T0006", "T0007", "T0002", "T0003"] == ids(store.due(same_instant_sh))
        assert ["T0006", "T0007"] == ids(store.due(same_instant_sh - timedelta(microseconds=1)))
        assert [] == store.due(T0 - timedelta(days=2))

    def test_due_checks_its_arguments(self, store: TicketStore) -> None:
        """A naive at or a limit outside 1..MAX_LIMIT is a ValidationError naming it."""
        with pytest.raises(ValidationError) as info:
            store.due(datetime(2025, 1, 1), limit=0)
        assert {"at", "limit"} == {e.path for e in info.value.errors}
        for limit in (True, MAX_LIMIT + 1, -1):
            with pytest.raises(ValidationError):
                store.due(T0, limit=limit)

    def test_due_follows_saves(self, store: TicketStore) -> None:
        """A save that moves or clears next_due_at moves the ticket in or out of due()."""
        t = store.create(tk(1, sla=due(T0)))
        t = store.save(bump(t, sla=due(T0 + timedelta(hours=1))), [], 1)
        assert [] == store.due(T0)
        assert ["T0001"] == ids(store.due(T0 + timedelta(hours=1)))
        t = store.save(bump(t, sla=due(T0 - timedelta(hours=1))), [], 2)
        assert ["T0001"] == ids(store.due(T0))
        store.save(bump(t, sla=None), [], 3)
        assert [] == store.due(T0 + timedelta(days=1))

    def test_claim_due_is_exclusive_until_the_lease_ends(self, store: TicketStore) -> None:
        """A claimed ticket is not due for others until its lease ends; the worker saves over the claim."""
        t1 = store.create(tk(1, sla=due(T0)))
        store.create(tk(2, sla=due(T0 + timedelta(minutes=1))))
        first = store.claim_due(T0 + timedelta(minutes=1), worker="w1", lease=_LEASE, limit=1)
        assert_same([leased_copy(t1, T0 + timedelta(minutes=6))], first, "claim_due()'s result")
        assert_same(first[0], store.get("T0001"), "the stored claimed ticket")
        second = store.claim_due(T0 + timedelta(minutes=1), worker="w2", lease=_LEASE)
        assert ["T0002"] == ids(second)
        assert [] == store.claim_due(T0 + timedelta(minutes=2), worker="w3", lease=_LEASE)
        assert [] == store.claim_due(
            T0 + timedelta(minutes=6) - timedelta(microseconds=1), worker="w3", lease=_LEASE
        )
        # w2 dies; its lease runs out and the ticket is due again:
        assert ["T0001", "T0002"] == ids(store.due(T0 + timedelta(minutes=6)))
        done = store.save(bump(first[0], sla=due(T0 + timedelta(days=1))), [], 2)
        assert ["T0002"] == ids(store.claim_due(T0 + timedelta(minutes=6), worker="w4", lease=_LEASE))
        assert_same(done, store.get("T0001"), "the worker's result saved over its claim")
        assert [] == store.events("T0001")

    def test_claim_due_checks_its_arguments(self, store: TicketStore) -> None:
        """A bad lease (zero too), worker, at or limit is a ValidationError naming it; nothing is claimed."""
        t = store.create(tk(1, sla=due(T0)))
        bad: list[tuple[dict[str, object], str]] = [
            ({"lease": timedelta(0)}, "lease"),
            ({"lease": timedelta(microseconds=-1)}, "lease"),
            ({"lease": 60}, "lease"),
            ({"worker": ""}, "worker"),
            ({"worker": "  "}, "worker"),
            ({"at": datetime(2025, 3, 3, 9)}, "at"),
            ({"limit": 0}, "limit"),
            ({"limit": MAX_LIMIT + 1}, "limit"),
        ]
        for kwargs, path in bad:
            args: dict[str, object] = {"at": T0, "worker": "w", "lease": _LEASE, **kwargs}
            with pytest.raises(ValidationError) as info:
                store.claim_due(**args)  # type: ignore[arg-type]
            assert [path] == [e.path for e in info.value.errors], f"claim_due({kwargs})"
            assert_same(t, store.get("T0001"), f"a ticket after the refused claim_due({kwargs})")

    def test_claiming_until_nothing_is_due_ends(self, store: TicketStore) -> None:
        """Claiming again and again hands out each due ticket once, then nothing (never one twice)."""
        made = [store.create(tk(i, sla=due(T0 - timedelta(minutes=i)))) for i in range(10)]
        claimed: list[str] = []
        for _ in range(8):
            batch = store.claim_due(T0, worker="w", lease=_LEASE, limit=3)
            if not batch:
                break
            claimed += ids(batch)
        else:
            pytest.fail(
                f"claim_due still returned tickets after 8 rounds of 3 for 10 due tickets ({claimed}): "
                "a claimed ticket must not be due again until at + lease",
                pytrace=False,
            )
        assert sorted(ids(made)) == sorted(claimed)
        assert ids(sorted(made, key=lambda t: (t.next_due_at, t.id))) == claimed, "claims go oldest first"
        assert [] == store.due(T0)
        assert {2} == {store.get(tid).version for tid in claimed}
