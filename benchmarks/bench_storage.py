"""Storage benchmark: SQLite write throughput, the due query at scale, memory per ticket.

Run: ``python benchmarks/bench_storage.py`` (add ``--quick`` for a small run).

1. SQLiteStore: 100,000 tickets created with their events in batches (``save_many``),
   then 100,000 saves (a status change and its event each), batched; target < 10 s
   for each. Peer: bare ``sqlite3`` writing the same JSON into a key/value table with
   no checks and no indexes (the floor any store on SQLite pays).
2. The due query: 1,000,000 tickets of which 1,000 are due; ``SQLiteStore.due`` (index
   on ``next_due_at``) against ``InMemoryStore.due`` (heap) and a full scan (the slow,
   obviously correct reference). Target < 50 ms. All three must agree.
3. Bytes per ticket held by ``InMemoryStore`` (tracemalloc), next to its JSON size.

Every timing is the median of several repeats. Correctness is asserted throughout.
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ticketkit import (
    ClockState,
    Customer,
    Event,
    InMemoryStore,
    SLAState,
    SQLiteStore,
    Ticket,
    from_dict,
    to_dict,
)
from ticketkit.model._models import replace_trusted

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)

TEMPLATE = Ticket(
    subject="Washing machine leaks after repair",
    description="The machine was repaired on Monday and leaks again. " * 4,
    created_at=T0,
    id="TEMPLATE",
    channel="wechat",
    customer=Customer(id="c-000001", name="王芳", tier="vip", data={"store": "shanghai-01"}),
    category="repair",
    priority="high",
    status="open",
    status_kind="open",
    team="after-sales",
    assignee="li",
    tags={"warranty", "leak"},
    fields={"order": "A-1009", "model": "WM-8"},
    sla=SLAState(
        policy="vip",
        clocks=(
            ClockState(metric="first_response", running_since=T0, started_at=T0),
            ClockState(metric="resolution", running_since=T0, started_at=T0),
        ),
        next_due_at=T0 + timedelta(hours=4),
    ),
)


def make_ticket(i: int, due: datetime | None) -> Ticket:
    """A realistic ticket numbered ``i`` with the given next checkpoint (cheap to make)."""
    created = T0 + timedelta(seconds=i)
    assert TEMPLATE.sla is not None
    return replace_trusted(
        TEMPLATE,
        id=f"T{i:09d}",
        created_at=created,
        updated_at=created,
        customer=replace_trusted(TEMPLATE.customer, id=f"c-{i % 5000:06d}"),
        sla=replace_trusted(TEMPLATE.sla, next_due_at=due),
    )


def created_event(t: Ticket) -> Event:
    return Event(
        ticket_id=t.id,
        kind="ticket.created",
        actor="system",
        at=t.created_at,
        data={"channel": t.channel, "subject": t.subject},
        version=1,
        id=f"E{t.id}",
    )


def median_ms(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn`` in ms, and its result; the median CPU time goes to CPU_MS."""
    times, cpu_times = [], []
    result = None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
    CPU_MS.append(statistics.median(cpu_times))
    return statistics.median(times), result


CPU_MS: list[float] = []


# --------------------------------------------------------------------------- 1. writes


def bench_writes(n: int, batch: int, folder: Path) -> dict[str, float]:
    tickets = [make_ticket(i, T0 + timedelta(hours=4, seconds=i)) for i in range(n)]
    events = [created_event(t) for t in tickets]

    store = SQLiteStore(folder / "writes.db")
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(0, n, batch):
        store.save_many(
            [(t, [e], None) for t, e in zip(tickets[k : k + batch], events[k : k + batch], strict=True)]
        )
    create_s, create_cpu = time.perf_counter() - start, time.process_time() - cpu

    updated = [
        replace_trusted(
            t,
            status="pending",
            status_kind="pending",
            version=2,
            updated_at=t.created_at + timedelta(hours=1),
        )
        for t in tickets
    ]
    changes = [
        Event(
            ticket_id=t.id,
            kind="status.changed",
            actor="agent:li",
            at=t.updated_at,
            data={
                "from": "open",
                "to": "pending",
                "trigger": "wait",
                "from_kind": "open",
                "to_kind": "pending",
            },
            version=2,
            id=f"S{t.id}",
        )
        for t in updated
    ]
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(0, n, batch):
        store.save_many(
            [(t, [e], 1) for t, e in zip(updated[k : k + batch], changes[k : k + batch], strict=True)]
        )
    save_s, save_cpu = time.perf_counter() - start, time.process_time() - cpu

    # Agreement: what went in comes out.
    for i in (0, n // 2, n - 1):
        assert updated[i] == store.get(updated[i].id)
        assert [events[i], changes[i]] == store.events(updated[i].id)
    assert n == store.count(status="pending")
    store.close()

    # Peer: bare sqlite3, same JSON, no checks, no indexes, one transaction per batch.
    conn = sqlite3.connect(folder / "peer.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE kv (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
    conn.execute("CREATE TABLE ev (seq INTEGER PRIMARY KEY, ticket_id TEXT, body TEXT)")
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(0, n, batch):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO kv VALUES (?, ?)",
            [(t.id, json.dumps(to_dict(t), ensure_ascii=False)) for t in tickets[k : k + batch]],
        )
        conn.executemany(
            "INSERT INTO ev (ticket_id, body) VALUES (?, ?)",
            [(e.ticket_id, json.dumps(to_dict(e), ensure_ascii=False)) for e in events[k : k + batch]],
        )
        conn.execute("COMMIT")
    peer_s, peer_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert n == conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0]
    conn.close()
    return {
        "create_s": create_s,
        "save_s": save_s,
        "peer_s": peer_s,
        "create_cpu": create_cpu,
        "save_cpu": save_cpu,
        "peer_cpu": peer_cpu,
    }


# --------------------------------------------------------------------------- 2. due query


def bench_due(total: int, due: int, repeats: int, folder: Path) -> dict[str, float]:
    at = T0 + timedelta(days=1)
    step = total // due
    tickets = []
    for i in range(total):
        if i % step == 0 and i // step < due:
            when: datetime | None = at - timedelta(seconds=(i * 7919) % 86_400)  # due, in scrambled order
        elif i % 2:
            when = at + timedelta(minutes=1 + i % 100_000)
        else:
            when = None
        tickets.append(make_ticket(i, when))
    expected_due = sum(1 for t in tickets if t.next_due_at is not None and t.next_due_at <= at)
    assert due == expected_due, expected_due

    sq = SQLiteStore(folder / "due.db")
    start = time.perf_counter()
    for k in range(0, total, 5000):
        sq.save_many([(t, (), None) for t in tickets[k : k + 5000]])
    load_s = time.perf_counter() - start

    mem = InMemoryStore()
    mem.save_many([(t, (), None) for t in tickets])

    def reference() -> list[str]:
        found = [t for t in tickets if t.next_due_at is not None and t.next_due_at <= at]
        found.sort(key=lambda t: (t.next_due_at, t.id))
        return [t.id for t in found[:due]]

    cold = SQLiteStore(folder / "due.db", cache_size=0)  # decodes every ticket every time
    cold_ms, cold_result = median_ms(lambda: cold.due(at, limit=due), repeats)
    cold_cpu = CPU_MS[-1]
    cold.close()
    sq.due(at, limit=due)  # fill the decode cache, as a worker's earlier ticks would
    sq_ms, sq_result = median_ms(lambda: sq.due(at, limit=due), repeats)
    warm_cpu = CPU_MS[-1]
    mem_ms, mem_result = median_ms(lambda: mem.due(at, limit=due), repeats)
    ref_ms, ref_ids = median_ms(reference, max(1, repeats // 3))
    assert ref_ids == [t.id for t in sq_result] == [t.id for t in mem_result]
    assert sq_result == mem_result == cold_result
    sq.close()
    return {
        "load_s": load_s,
        "cold_ms": cold_ms,
        "cold_cpu": cold_cpu,
        "warm_cpu": warm_cpu,
        "sqlite_ms": sq_ms,
        "memory_ms": mem_ms,
        "scan_ms": ref_ms,
    }


# --------------------------------------------------------------------------- 3. memory


def bench_memory(n: int) -> dict[str, float]:
    """Bytes held per ticket: the ticket value, one event and the store's structures.

    Tickets are built from JSON so each holds its own strings and datetimes, as
    tickets loaded or made by engines do (no sharing with a template).
    """
    rows = [json.dumps(to_dict(make_ticket(i, T0 + timedelta(hours=4, seconds=i)))) for i in range(n)]
    event_rows = [json.dumps(to_dict(created_event(make_ticket(i, None)))) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    store = InMemoryStore()
    for k in range(0, n, 1000):
        store.save_many(
            [
                (from_dict(Ticket, json.loads(r)), [from_dict(Event, json.loads(e))], None)
                for r, e in zip(rows[k : k + 1000], event_rows[k : k + 1000], strict=True)
            ]
        )
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert n == len(store)
    json_bytes = statistics.mean(
        len(r.encode()) + len(e.encode()) for r, e in zip(rows, event_rows, strict=True)
    )
    return {"bytes": held / n, "json_bytes": json_bytes}


# --------------------------------------------------------------------------- main


def run(
    *, writes: int, due_total: int, due: int, memory: int, repeats: int, batch: int = 1000
) -> dict[str, Any]:
    """Run every part at the given sizes and return the figures (asserting agreement)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return {
            "writes": bench_writes(writes, batch, folder),
            "due": bench_due(due_total, due, repeats, folder),
            "memory": bench_memory(memory),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if args.quick:
        sizes = {"writes": 5000, "due_total": 50_000, "due": 100, "memory": 5000}
    else:
        sizes = {"writes": 100_000, "due_total": 1_000_000, "due": 1000, "memory": 100_000}
    r = run(**sizes, repeats=args.repeats)
    w, d, m = r["writes"], r["due"], r["memory"]
    n = sizes["writes"]
    print(f"SQLiteStore writes, {n:,} tickets, batches of 1,000 (wall time, and CPU time of this process):")
    for label, key in (
        ("create with events", "create"),
        ("save with events  ", "save"),
        ("peer: bare sqlite3", "peer"),
    ):
        print(
            f"  {label}  {w[key + '_s']:7.2f} s  {w[key + '_s'] / n * 1e6:6.1f} µs/ticket"
            f"   CPU {w[key + '_cpu']:6.2f} s  {w[key + '_cpu'] / n * 1e6:6.1f} µs/ticket"
        )
    print(
        f"  in CPU, create costs {w['create_cpu'] / w['peer_cpu']:.2f}x and save "
        f"{w['save_cpu'] / w['peer_cpu']:.2f}x the bare floor"
    )
    print(f"due query, {sizes['due_total']:,} tickets, {sizes['due']:,} due (median of {args.repeats}):")
    print(f"  (loading the SQLite file took {d['load_s']:.1f} s)")
    print(
        f"  SQLiteStore.due     {d['cold_ms']:8.2f} ms (CPU {d['cold_cpu']:6.2f} ms)"
        "   cold: every ticket decoded from JSON"
    )
    print(
        f"  SQLiteStore.due     {d['sqlite_ms']:8.2f} ms (CPU {d['warm_cpu']:6.2f} ms)"
        "   warm: unchanged tickets from the decode cache"
    )
    print(f"  InMemoryStore.due   {d['memory_ms']:8.2f} ms")
    print(
        f"  full scan (ref.)    {d['scan_ms']:8.2f} ms   (SQLite cold {d['scan_ms'] / d['cold_ms']:.0f}x, "
        f"memory {d['scan_ms'] / d['memory_ms']:.0f}x faster than scanning)"
    )
    print(f"InMemoryStore, {sizes['memory']:,} tickets with one event each (tracemalloc):")
    print(f"  held in memory      {m['bytes']:8.0f} bytes/ticket (ticket value, its event, store structures)")
    print(f"  the same as JSON    {m['json_bytes']:8.0f} bytes/ticket")
    ok = w["create_s"] < 10 and w["save_s"] < 10 and d["cold_ms"] < 50
    if not args.quick:
        print("targets (writes < 10 s, due < 50 ms):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
