"""The contract's records family: `records` and `put_record` (agent presence, queue leases).

The promises: a write is a compare-and-set (create only when absent, replace only at the
version read), a stale write raises `ConflictError` and writes nothing; records keep to
their tenant and kind and come back exactly; of racing writers from one version exactly
one wins, on one handle or two; bad input is a `ValidationError`.
"""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ticketkit.errors import ConflictError, ValidationError
from ticketkit.model._models import Priority, Ticket
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import ContractBase

_RACERS = 6
_T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


class RecordsContract(ContractBase):
    """Desk records: versioned values under (tenant, kind, key), written by compare-and-set."""

    def test_records_compare_and_set(self, store: TicketStore) -> None:
        """Create when absent, replace at the version read; a stale or repeated create writes nothing."""
        assert {} == store.records("presence", tenant="default")
        assert 1 == store.put_record("presence", "li", "away", tenant="default", expected_version=None)
        with pytest.raises(ConflictError):
            store.put_record("presence", "li", "online", tenant="default", expected_version=None)
        assert 2 == store.put_record("presence", "li", "online", tenant="default", expected_version=1)
        with pytest.raises(ConflictError):
            store.put_record("presence", "li", "offline", tenant="default", expected_version=1)
        with pytest.raises(ConflictError):
            store.put_record("presence", "wang", "away", tenant="default", expected_version=3)
        assert {"li": ("online", 2)} == store.records("presence", tenant="default")

    def test_records_keep_to_tenant_kind_and_text(self, store: TicketStore) -> None:
        """Kinds and tenants separate records; keys asked for filter; values come back exactly."""
        text = '{"status": "away", "note": "店 ✓ \\n tab\\t"}'
        store.put_record("presence", "li", text, tenant="default", expected_version=None)
        store.put_record("lease", "li", "", tenant="default", expected_version=None)
        store.put_record("presence", "li", "other", tenant="acme", expected_version=None)
        store.put_record("presence", "Li", "case", tenant="default", expected_version=None)
        assert {"li": (text, 1), "Li": ("case", 1)} == store.records("presence", tenant="default")
        assert {"li": ("", 1)} == store.records("lease", tenant="default")
        assert {"li": ("other", 1)} == store.records("presence", tenant="acme")
        assert {"Li": ("case", 1)} == store.records("presence", tenant="default", keys=["Li", "nobody"])

    @pytest.mark.parametrize(
        ("kind", "key", "value", "tenant", "version"),
        [("", "k", "v", "default", None), ("kind", "", "v", "default", None),
         ("kind", "k", 7, "default", None), ("kind", "k", "v", "", None),
         ("kind", "k", "v", "default", 0), ("kind", "k", "v", "default", True),
         ("kind", "k\x00", "v", "default", None)],
    )  # fmt: skip
    def test_records_refuse_bad_input(  # noqa: PLR0917 - pytest passes the parameters by position
        self, store: TicketStore, kind: object, key: object, value: object, tenant: object, version: object
    ) -> None:
        """An empty kind, key or tenant, a non-string value, a bad version, a NUL: ValidationError."""
        with pytest.raises(ValidationError):
            store.put_record(kind, key, value, tenant=tenant, expected_version=version)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.records("", tenant="default")
        with pytest.raises(ValidationError):
            store.records("presence", tenant="default", keys="li")

    def test_records_hold_between_handles(self, store: TicketStore) -> None:
        """A record written through one handle is read, and version-checked, through another."""
        other = self.other_handle(store)
        store.put_record("presence", "li", "away", tenant="default", expected_version=None)
        assert {"li": ("away", 1)} == other.records("presence", tenant="default")
        with pytest.raises(ConflictError):
            other.put_record("presence", "li", "x", tenant="default", expected_version=None)
        assert 2 == other.put_record("presence", "li", "online", tenant="default", expected_version=1)
        assert {"li": ("online", 2)} == store.records("presence", tenant="default")

    def test_records_race(self, store: TicketStore) -> None:
        """Threads writing over the same version at once: exactly one wins, the others conflict."""
        self.need_threads()
        handles = [store]
        if getattr(self, "_again", None) is not None:
            handles.append(self.other_handle(store))
        store.put_record("lease", "queues", "", tenant="default", expected_version=None)
        barrier = threading.Barrier(_RACERS)
        won: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def racer(n: int, handle: TicketStore) -> None:
            try:
                barrier.wait(timeout=self.thread_timeout)
                handle.put_record("lease", "queues", f"w{n}", tenant="default", expected_version=1)
                with lock:
                    won.append(n)
            except ConflictError:
                pass
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        threads = [
            threading.Thread(target=racer, args=(n, h), daemon=True)
            for n, h in zip(range(_RACERS), itertools.cycle(handles), strict=False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.thread_timeout)
        assert [] == errors
        assert 1 == len(won)
        assert {"queues": (f"w{won[0]}", 2)} == store.records("lease", tenant="default")


class QueueContract(ContractBase):
    """Team queues: `queued` gives the open unassigned tickets of a team in hand-out order."""

    def test_queued_matches_a_full_scan(self, store: TicketStore) -> None:
        """Random tickets: each team's queue, read page by page, equals the filtered, sorted scan."""
        rng = random.Random(5)
        kinds = ["new", "open", "pending", "resolved", "closed"]
        for i in range(120):
            at = _T0 + timedelta(minutes=rng.randrange(30))
            store.create(
                Ticket(
                    subject=f"s{i}",
                    id=f"Q{i:03d}",
                    created_at=at,
                    updated_at=at,
                    team=rng.choice(["a", "b", None]),
                    assignee=rng.choice([None, None, "li"]),
                    status_kind=rng.choice(kinds),
                    priority=rng.choice(list(Priority)),
                    tenant=rng.choice(["default", "default", "acme"]),
                )
            )
        for tenant in ("default", "acme"):
            for team in ("a", "b"):
                expected = sorted(
                    (
                        t
                        for t in store.scan(tenant=tenant)
                        if t.team == team
                        and t.assignee is None
                        and t.status_kind in ("new", "open", "pending")
                    ),
                    key=lambda t: (-t.priority.rank, t.created_at, t.id),
                )
                got: list[Ticket] = []
                page = store.queued(team, tenant=tenant, limit=7)
                while page:
                    got.extend(page)
                    page = store.queued(team, tenant=tenant, limit=7, after=page[-1])
                assert [t.id for t in expected] == [t.id for t in got]

    def test_queued_refuses_bad_input(self, store: TicketStore) -> None:
        """An empty team or tenant, a limit of 0: ValidationError."""
        for team, tenant, limit in (("", "default", 5), ("a", "", 5), ("a", "default", 0)):
            with pytest.raises(ValidationError):
                store.queued(team, tenant=tenant, limit=limit)
