"""The contract of ``TicketStore.assigned_counts`` (agent load), a mixin of the contract suite.

``StoreContract`` inherits these checks; they use its ``store`` and ``fresh_store``
and its ``thread_safe`` switch. The reference for every answer is a full count over
``scan``: the slow, obviously correct answer any store must agree with.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest

from ticketkit.errors import ConflictError, ValidationError
from ticketkit.model._models import Customer, Ticket
from ticketkit.storage._base import OPEN_STATUS_KINDS, TicketStore

__all__ = ["LoadContract"]

_T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
_AGENTS = ("li", "wang", "zhao", "chen")
_KINDS = ("new", "open", "pending", "resolved", "closed")


def full_count(
    store: TicketStore, agents: Iterable[str], *, tenant: str | None, status_kind: Iterable[str]
) -> dict[str, int]:
    """The reference: every stored ticket counted, agent by agent."""
    kinds = set(status_kind)
    names = list(dict.fromkeys(agents))
    counts = Counter(
        t.assignee
        for t in store.scan(tenant=tenant)
        if t.assignee is not None and t.status_kind in kinds and t.assignee in names
    )
    return {a: counts.get(a, 0) for a in names}


def _ticket(i: int, rng: random.Random, tenant: str, seed: int) -> Ticket:
    return Ticket(
        subject=f"load {i}",
        id=f"L{tenant}-{seed}-{i:05d}",
        tenant=tenant,
        created_at=_T0 + timedelta(minutes=i),
        assignee=rng.choice((*_AGENTS, None)),
        status_kind=rng.choice(_KINDS),
        status="any",
        customer=Customer(id=f"c-{i % 7}", tenant=tenant),
    )


def _change(ticket: Ticket, rng: random.Random) -> Ticket:
    return attrs.evolve(
        ticket,
        version=ticket.version + 1,
        assignee=rng.choice((*_AGENTS, None)),
        status_kind=rng.choice(_KINDS),
    )


class LoadContract:
    """Checks of ``assigned_counts``: equal to a full count, before and after concurrent writes."""

    thread_safe: ClassVar[bool] = True
    thread_timeout: ClassVar[float]  # ContractBase's, in the suite this mixin joins

    def _random_work(self, store: TicketStore, seed: int, tenant: str, n: int = 40) -> None:
        rng = random.Random(seed)
        made = [store.create(_ticket(i, rng, tenant, seed)) for i in range(n)]
        for _ in range(3 * n):
            k = rng.randrange(len(made))
            new = _change(made[k], rng)
            try:
                made[k] = store.save(new, (), made[k].version)
            except ConflictError:  # another writer got there first: re-read, go on
                made[k] = store.get(made[k].id)

    def test_assigned_counts_equal_a_full_count(self, store: TicketStore) -> None:
        """assigned_counts equals a count over every stored ticket, per tenant and kind set."""
        self._random_work(store, 1, "default")
        self._random_work(store, 2, "other")
        agents = [*_AGENTS, "nobody"]
        for tenant in ("default", "other", None):
            for kinds in (OPEN_STATUS_KINDS, ("resolved",), ("new", "closed")):
                expected = full_count(store, agents, tenant=tenant, status_kind=kinds)
                assert expected == store.assigned_counts(agents, tenant=tenant, status_kind=kinds)

    def test_assigned_counts_default_kinds_are_the_open_ones(self, store: TicketStore) -> None:
        """Without status_kind the counts are of new, open and pending tickets."""
        self._random_work(store, 3, "default")
        expected = full_count(store, _AGENTS, tenant="default", status_kind=("new", "open", "pending"))
        assert expected == store.assigned_counts(_AGENTS, tenant="default")

    def test_assigned_counts_of_no_agents_or_kinds(self, store: TicketStore) -> None:
        """No agents asked is an empty answer; no kinds counts nothing."""
        self._random_work(store, 4, "default", n=10)
        assert {} == store.assigned_counts([], tenant="default")
        assert {"li": 0} == store.assigned_counts(["li"], tenant="default", status_kind=())

    def test_assigned_counts_refuses_bad_arguments(self, store: TicketStore) -> None:
        """A bad agent list, kind or tenant is a ValidationError naming each."""
        bad: Any = "li"
        bad_tenant: Any = 7
        bad_kinds: Any = [None]
        with pytest.raises(ValidationError) as err:
            store.assigned_counts(bad, tenant=bad_tenant, status_kind=bad_kinds)
        assert ["agents", "status_kind[0]", "tenant"] == sorted(e.path for e in err.value.errors)

    def test_assigned_counts_exact_after_concurrent_writers(self, store: TicketStore) -> None:
        """After threads write at random at the same time, the counts equal a full count."""
        if not self.thread_safe:
            pytest.skip("the store is not shared between threads")
        handles = [store] + [self.fresh_store_like(store) for _ in range(2)]
        errors: list[BaseException] = []

        def worker(k: int) -> None:
            try:
                self._random_work(handles[k % len(handles)], 10 + k, f"t{k % 2}", n=25)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.thread_timeout)
        assert not any(t.is_alive() for t in threads), (
            f"a writing thread was still running after {self.thread_timeout:g}s: the store deadlocked"
        )
        assert [] == errors
        for tenant in ("t0", "t1", None):
            expected = full_count(store, _AGENTS, tenant=tenant, status_kind=OPEN_STATUS_KINDS)
            assert expected == store.assigned_counts(_AGENTS, tenant=tenant)

    def fresh_store_like(self, store: TicketStore) -> TicketStore:
        """Another handle on the same data (override for stores that can open one); default: ``store``."""
        return store
