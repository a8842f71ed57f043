"""Timed-rules benchmark: the sweep over many tickets with timed rules, against the sweep without them.

Run: ``python benchmarks/bench_timed.py`` (100,000 tickets on SQLiteStore; ``--size`` to
change it, ``--stores=memory,sqlite``). Three sweeps, each over ``size`` tickets that all
fall due at the same instant, each timed from the first ``tick`` until nothing is due
(``tick(limit=500)`` in a loop):

- ``sla``: a desk without timed rules; every ticket's first-response target breaches
  (one ``sla.breached`` event per ticket). The peer the others are compared with.
- ``sla+rules``: the same tickets on a desk that also has the timed rules, none of whose
  conditions hold on them: what configuring timed rules costs a sweep that fires none.
- ``timed``: a desk without SLA policies; every ticket waits in ``pending`` with an
  auto-resolve timer due ("3 business days" on the after-sales calendar): the sweep
  fires it (tag, resolve), which starts the survey rule's timer (1 day after resolution),
  folded into ``next_due_at``.

For each the cost per ticket and its ratio to ``sla`` (measured in the same run) are
printed. The stored tickets (with their events) are built once per size and scenario
with ``save_many`` and cached as SQLite files under ``--cache``; every run sweeps a copy.
Correctness is checked: every ticket swept exactly once, every timer fired once, none
early, and the survey timer of each is in the due index.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from ticketkit import (
    Action,
    Actor,
    BusinessCalendar,
    Event,
    F,
    Helpdesk,
    InMemoryStore,
    SLAPolicy,
    SLATarget,
    SQLiteStore,
    Ticket,
    TicketStore,
    TimedRule,
)
from ticketkit.cli._demo import START, calendar
from ticketkit.model._models import replace_trusted
from ticketkit.testing import ManualClock

FORMAT = 1  # bump when the generated tickets change (the cache key)
CHUNK = 2000
ADMIN = Actor(id="bench", roles={"admin"})

RULES = (
    TimedRule(
        name="auto-resolve",
        when=F.status_kind == "pending",
        after="3 business days",
        calendar="after-sales",
        actions=[Action.tag("auto-resolved"), Action.fire("resolve")],
    ),
    TimedRule(
        name="survey",
        when=F.status_kind == "resolved",
        after="1 day",
        actions=[Action.notify("customer", "How did we do on {id}?")],
    ),
)
POLICY = SLAPolicy(
    name="std",
    calendar=BusinessCalendar.always_open(),
    targets={"default": SLATarget(first_response=timedelta(hours=1))},
    warn_at=(),
)


def make_desk(store: TicketStore, clock: ManualClock, scenario: str) -> Helpdesk:
    """The desk of a scenario: SLA policy and/or timed rules."""
    policies = [POLICY] if scenario in ("sla", "sla+rules") else []
    rules = RULES if scenario in ("sla+rules", "timed") else ()
    return Helpdesk(
        store=store, clock=clock, policies=policies, timed=rules, calendars={"after-sales": calendar()}
    )


def template(scenario: str) -> tuple[Ticket, list[Event]]:
    """One ticket as the desk makes it (new with an SLA clock, or pending with a timer), with its events."""
    store = InMemoryStore()
    desk = make_desk(store, ManualClock(START), "sla" if scenario == "sla" else "timed")
    t = desk.open(
        subject="Jacket one size too small", channel="wechat", customer="c-1", team="t", assignee="a"
    )
    if scenario == "timed":
        desk.fire(t.id, "open", actor=ADMIN)
        desk.fire(t.id, "wait", actor=ADMIN)
    return store.get(t.id), store.events(t.id)


def tickets(scenario: str, n: int) -> Iterator[tuple[Ticket, list[Event], None]]:
    """``n`` copies of the scenario's ticket, all due at the same instant."""
    base, events = template(scenario)
    for i in range(n):
        tid = f"{scenario[0].upper()}{i:08d}"
        ticket = replace_trusted(base, id=tid)
        evs = [replace_trusted(e, ticket_id=tid, id=f"{tid}-{j}") for j, e in enumerate(events)]
        yield ticket, evs, None


def fill(store: TicketStore, scenario: str, n: int) -> None:
    batch: list[Any] = []
    for change in tickets(scenario, n):
        batch.append(change)
        if len(batch) >= CHUNK:
            store.save_many(batch)
            batch = []
    if batch:
        store.save_many(batch)


def sqlite_file(scenario: str, n: int, cache: Path, workdir: Path) -> Path:
    """A copy of the cached SQLite file of ``n`` tickets of the scenario (built once)."""
    cache.mkdir(parents=True, exist_ok=True)
    with SQLiteStore(":memory:") as s:
        schema = s.schema_version
    name = "sla" if scenario.startswith("sla") else scenario
    cached = cache / f"timed-{name}-{n}-f{FORMAT}-s{schema}.db"
    if not cached.exists():
        t0 = time.perf_counter()
        tmp = cached.with_suffix(".building")
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        with SQLiteStore(tmp) as store:
            fill(store, name, n)
            with sqlite3.connect(tmp) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tmp.rename(cached)
        for p in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        print(f"  built {cached.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    target = workdir / f"{scenario}-{cached.name}"
    shutil.copyfile(cached, target)
    return target


def sweep(store: TicketStore, scenario: str, n: int) -> float:
    """Seconds per ticket of sweeping every due ticket once; checks what the sweep did."""
    base, _ = template(scenario if scenario != "sla+rules" else "sla")
    due = base.next_due_at
    assert due is not None
    clock = ManualClock(due)
    desk = make_desk(store, clock, scenario)
    swept: dict[str, int] = {}
    t0 = time.perf_counter()
    while True:
        events = desk.tick(limit=500)
        if not events:
            break
        for e in events:
            if e.kind in ("sla.breached", "timer.fired"):
                swept[e.ticket_id] = swept.get(e.ticket_id, 0) + 1
    elapsed = time.perf_counter() - t0
    assert n == len(swept), f"{scenario}: {len(swept)} of {n} tickets swept"
    assert {1} == set(swept.values()), f"{scenario}: a ticket swept twice"
    assert [] == list(store.due(due, limit=1)), f"{scenario}: a ticket still due"
    check(store, scenario, base, due)
    return elapsed / n


def check(store: TicketStore, scenario: str, base: Ticket, due: Any) -> None:
    """Every hundredth swept ticket: resolved, with the survey timer pending a day later (timed)."""
    name = "sla" if scenario.startswith("sla") else scenario
    for ticket, _, _ in list(tickets(name, store.count()))[::100]:
        t = store.get(ticket.id)
        if scenario == "timed":
            assert "resolved" == t.status, t.status
            assert "auto-resolved" in t.tags
            assert [("survey", due)] == [(x.rule, x.since) for x in t.timers]
            assert due + timedelta(days=1) == t.next_due_at, "the survey timer is not in the due index"
        else:
            assert () == t.timers
            assert "new" == t.status


def open_store(kind: str, scenario: str, n: int, cache: Path, workdir: Path) -> TicketStore:
    if kind == "memory":
        store = InMemoryStore()
        fill(store, "sla" if scenario.startswith("sla") else scenario, n)
        return store
    return SQLiteStore(sqlite_file(scenario, n, cache, workdir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="tickets due at once")
    parser.add_argument("--stores", default="sqlite", help="memory and/or sqlite, comma-separated")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ticketkit-bench-cache"))
    args = parser.parse_args(argv)
    n = args.size
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores.split(","):
            print(f"{kind}: the sweep over {n:,} due tickets", flush=True)
            per: dict[str, float] = {}
            for scenario in ("sla", "sla+rules", "timed"):
                store = open_store(kind, scenario, n, Path(args.cache), Path(tmp))
                try:
                    per[scenario] = sweep(store, scenario, n)
                finally:
                    close = getattr(store, "close", None)
                    if close is not None:
                        close()
            for scenario, seconds in per.items():
                ratio = seconds / per["sla"]
                print(
                    f"  {scenario:<10} {seconds * 1e6:8.0f} us/ticket   ratio to sla {ratio:5.2f}x",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
