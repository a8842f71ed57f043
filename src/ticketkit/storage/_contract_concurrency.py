"""The contract's concurrency and second-handle families.

Races run in rounds: all racers start each round at a barrier and each is paused
after its first read until the others have read too (see ``Rendezvous``), so a
store that reads, then writes without a version check fails on every run. Every
wait is bounded by ``thread_timeout``.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import attrs
import pytest

from ticketkit.errors import ConflictError
from ticketkit.model._models import Ticket
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import (
    T0,
    ContractBase,
    assert_same,
    bump,
    due,
    ev,
    ids,
    tk,
    unexpected,
)

_RACERS = 4


def _save_step(ticket_id: str, base: Ticket) -> Any:
    def step(number: int, racer: int, store: TicketStore) -> str:
        mine = attrs.evolve(base, version=number + 2, status=f"r{number}-by{racer}")
        store.save(mine, [ev(mine, "race.won", round=number, racer=racer)], number + 1)
        return "won"

    return step


def _check_save_race(store: TicketStore, base: Ticket, results: list[list[Any]]) -> None:
    winners = []
    for number, outcomes in enumerate(results):
        odd = [o for o in outcomes if o != "won" and not isinstance(o, ConflictError)]
        if odd:
            raise odd[0] if isinstance(odd[0], BaseException) else AssertionError(odd[0])
        won = [racer for racer, o in enumerate(outcomes) if o == "won"]
        if len(won) != 1:
            pytest.fail(
                f"round {number}: {len(won)} of {len(outcomes)} racers saved over version {number + 1} "
                f"(racers {won}); exactly one may win, the others must get ConflictError. The version "
                "check and the write must be one atomic step",
                pytrace=False,
            )
        winners.append(won[0])
    final = store.get(base.id)
    assert len(results) + 1 == final.version
    assert f"r{len(results) - 1}-by{winners[-1]}" == final.status
    got = [(e.data["round"], e.data["racer"]) for e in store.events(base.id)]
    assert list(enumerate(winners)) == got, "the events must be exactly the winners' events, in order"


def _claim_step(number: int, racer: int, store: TicketStore) -> list[str]:
    return ids(store.claim_due(T0, worker=f"w{racer}", lease=timedelta(hours=1), limit=3))


def _check_claims(store: TicketStore, results: list[list[Any]], expected: list[str]) -> None:
    errors = unexpected(o for outcomes in results for o in outcomes)
    if errors:
        raise errors[0]
    claimed = [tid for outcomes in results for got in outcomes for tid in got]
    twice = sorted({tid for tid in claimed if claimed.count(tid) > 1})
    if twice:
        pytest.fail(
            f"tickets claimed by more than one worker: {twice}. Of several workers claiming the same due "
            "version exactly one may get it (check the version when saving the claim, or lock the rows)",
            pytrace=False,
        )
    assert sorted(expected) == sorted(claimed), "every due ticket is claimed once"
    assert {2} == {store.get(tid).version for tid in expected}


class ConcurrencyContract(ContractBase):
    """Concurrency: threads racing on one store object never both win, never lose a write."""

    def test_concurrent_saves_have_one_winner_per_version(self, store: TicketStore) -> None:
        """Threads racing to save the same version, round after round: exactly one wins each round."""
        self.need_threads()
        base = store.create(tk(1))
        results = self.race([store] * _RACERS, _save_step(base.id, base), rounds=self.race_rounds)
        _check_save_race(store, base, results)

    def test_concurrent_creates_of_one_id_have_one_winner(self, store: TicketStore) -> None:
        """Threads creating the same id at once: one creates it, the others get ConflictError."""
        self.need_threads()

        def step(number: int, racer: int, handle: TicketStore) -> str:
            t = tk(number, subject=f"by {racer}")
            handle.create(t, [ev(t, racer=racer)])
            return "won"

        results = self.race([store] * _RACERS, step, rounds=self.race_rounds)
        for number, outcomes in enumerate(results):
            won = [racer for racer, o in enumerate(outcomes) if o == "won"]
            assert all(o == "won" or isinstance(o, ConflictError) for o in outcomes), outcomes
            assert 1 == len(won), f"round {number}: {len(won)} racers created the same id"
            assert f"by {won[0]}" == store.get(f"T{number:04d}").subject
            assert [won[0]] == [e.data["racer"] for e in store.events(f"T{number:04d}")]

    def test_concurrent_creates_all_land(self, store: TicketStore) -> None:
        """Threads creating different tickets at once lose none of them."""
        self.need_threads()

        def step(number: int, racer: int, handle: TicketStore) -> None:
            t = tk(number * _RACERS + racer)
            handle.create(t, [ev(t)])

        results = self.race([store] * _RACERS, step, rounds=25)
        assert [] == unexpected(o for outcomes in results for o in outcomes)
        assert 100 == store.count()
        assert 100 == sum(len(store.events(t.id)) for t in store.scan())

    def test_claim_due_concurrent_workers_never_share(self, store: TicketStore) -> None:
        """Workers claiming at once, round after round, split the due tickets; none is claimed twice."""
        self.need_threads()
        made = [store.create(tk(i, sla=due(T0))).id for i in range(24)]
        results = self.race([store] * _RACERS, _claim_step, rounds=len(made) + 2, more=any)
        _check_claims(store, results, made)

    def test_pagination_is_stable_while_another_thread_inserts(self, store: TicketStore) -> None:
        """Paging while a thread keeps inserting tickets: every ticket that was there is seen once."""
        self.need_threads()
        originals = {t.id for t in store.save_many([(tk(i * 3), [], None) for i in range(60)])}
        stop = threading.Event()
        failures: list[BaseException] = []

        def insert() -> None:
            try:
                for n in range(400):
                    if stop.is_set():
                        return
                    store.create(tk(n % 180, id=f"Y{n:05d}"))
            except Exception as exc:  # reported below
                failures.append(exc)

        writer = threading.Thread(target=insert, daemon=True)
        writer.start()
        try:
            seen: list[str] = []
            cursor = None
            for _ in range(100):
                page = store.query(order_by="-created_at", limit=7, cursor=cursor)
                seen += ids(page)
                cursor = page.next_cursor
                if cursor is None:
                    break
            else:
                pytest.fail("paging never ended: 100 pages of 7 for at most 460 tickets", pytrace=False)
        finally:
            stop.set()
            writer.join(self.thread_timeout)
        assert not writer.is_alive(), f"the inserting thread did not finish within {self.thread_timeout:g}s"
        assert [] == failures
        assert len(seen) == len(set(seen)), "a ticket came twice while paging"
        assert originals <= set(seen), "a ticket that was there before paging started was skipped"


class HandleContract(ContractBase):
    """Two handles: store objects on one backend see each other's commits and race safely.

    Needs the ``open_again`` fixture; skipped without it.
    """

    def test_handles_see_each_others_commits(self, store: TicketStore) -> None:
        """Whatever one handle commits, the other reads at once: get, events, query, count, due."""
        other = self.other_handle(store)
        t = store.create(tk(1, sla=due(T0), status="open"), [ev(tk(1))])
        assert_same(t, other.get(t.id), "the other handle's get()")
        assert 1 == len(other.events(t.id))
        assert ["T0001"] == ids(other.query(status="open"))
        assert 1 == other.count(status="open")
        assert ["T0001"] == ids(other.due(T0))
        t2 = other.save(bump(t, status="closed", sla=None), [ev(bump(t), "closed")], 1)
        assert_same(t2, store.get(t.id), "the first handle's get() after the other saved")
        assert ["ticket.created", "closed"] == [e.kind for e in store.events(t.id)]
        assert [] == ids(store.query(status="open"))
        assert (0, 1) == (store.count(status="open"), store.count(status="closed"))
        assert [] == store.due(T0)
        other.save_many([(tk(2), [], None), (bump(t2, status="s3"), [], 2)])
        assert ["T0001", "T0002"] == ids(store.query())
        assert "s3" == store.get("T0001").status

    def test_a_handle_never_serves_a_stale_copy(self, store: TicketStore) -> None:
        """After one handle saves, the other's reads (even of a ticket it just read) give the new version."""
        other = self.other_handle(store)
        t = store.create(tk(1, sla=due(T0)))
        for n in range(2, 8):
            writer, reader = (store, other) if n % 2 else (other, store)
            for _ in range(2):  # read twice: a cache warmed by the first read must not answer the second
                reader.get(t.id)
                reader.query(status=t.status)
            t = writer.save(bump(t, status=f"s{n}"), [], n - 1)
            assert_same(t, reader.get(t.id), f"get() through the other handle after save {n}")
            assert [t.id] == ids(reader.query(status=f"s{n}")), f"query() after save {n}"
            assert_same([t], reader.due(T0), f"due() through the other handle after save {n}")
            with pytest.raises(ConflictError):
                reader.save(attrs.evolve(t, version=n), [], n - 1)  # stale through the other handle

    def test_saves_race_between_handles(self, store: TicketStore) -> None:
        """Racers on two handles saving the same version: exactly one wins each round."""
        self.need_threads()
        other = self.other_handle(store)
        base = store.create(tk(1))
        handles = list(itertools.islice(itertools.cycle([store, other]), _RACERS))
        results = self.race(handles, _save_step(base.id, base), rounds=self.race_rounds)
        _check_save_race(other, base, results)

    def test_claims_race_between_handles(self, store: TicketStore) -> None:
        """Workers on two handles claiming at once never get the same ticket."""
        self.need_threads()
        other = self.other_handle(store)
        made = [store.create(tk(i, sla=due(T0))).id for i in range(24)]
        handles = list(itertools.islice(itertools.cycle([store, other]), _RACERS))
        results = self.race(handles, _claim_step, rounds=len(made) + 2, more=any)
        _check_claims(store, results, made)
