"""Desk benchmark: what users run (open, reply+resolve, tick, progress, receive) as stored history grows.

Run: ``python benchmarks/bench_desk.py`` (1k, 10k, 100k stored tickets on InMemoryStore
and SQLiteStore, plus PostgresStore when ``TICKETKIT_TEST_POSTGRES_DSN`` is set). Add
``--big`` for 1,000,000 stored tickets (SQLite and InMemoryStore; PostgreSQL with
``--big-postgres``). ``--old-src PATH`` runs the open benchmark of another checkout's
``src`` (e.g. the commit before this one, via ``git worktree add``) on SQLite in a
subprocess and prints the speed-up against it.

The desk is the demo's (``python -m ticketkit demo``): its business calendar, routing
rules (least-loaded and skills strategies with capacities), SLA policies with
warnings and escalations, dedupe window. Stored history: 99% resolved tickets spread
over agents and customers (about ten per customer), each with its events, plus a
fixed open backlog of 100 tickets; the customers who write in have history too.
Each size is built once with ``save_many`` (the batched API) and cached as an
SQLite file under the cache folder (``--cache``); every run works on a copy.

Every operation is timed per ticket (median of the per-ticket times of ``--ops``
tickets); for each operation the ratio of the largest size to the smallest is
printed (target: at most 1.5x). A bare ``sqlite3`` insert of the same ticket JSON
is the floor of a write on SQLite. Correctness is asserted throughout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from ticketkit import Actor, Customer, Event, Helpdesk, InMemoryStore, SQLiteStore, Ticket, TicketStore
from ticketkit.channels import InboundMessage, Sender
from ticketkit.cli._demo import (
    DESK_AGENTS,
    SHOP_AGENTS,
    SHOPS,
    START,
    _agents,
    _policies,
    _router,
    _teams,
    calendar,
)
from ticketkit.model._models import replace_trusted
from ticketkit.testing import ManualClock
from ticketkit.workflow._workflow import default_workflow

OPEN_BACKLOG = 100
PER_CUSTOMER = 10
BUILD_CHUNK = 2000
FORMAT = 3  # bump when the generated history changes (the cache key)


# ------------------------------------------------------------------------------ the desk


class Bench:
    """One desk on one store, on a manual clock, with the demo's configuration."""

    def __init__(self, store: TicketStore, clock: ManualClock) -> None:
        self.cal = calendar()
        self.clock = clock
        agents = _agents()
        teams = _teams()
        self.store = store
        self.notes: list[Any] = []
        self.desk = Helpdesk(
            store=store,
            workflows=default_workflow(),
            router=_router(agents, teams),
            policies=_policies(self.cal),
            clock=clock,
            teams=teams,
            dedupe_window=timedelta(hours=12),
        )
        self.agent = Actor(id=DESK_AGENTS[0], roles={"lead", "agent"}, teams={t.id for t in teams})


def customer(i: int) -> Customer:
    shops = sorted(SHOPS)
    return Customer(
        id=f"c-{i:07d}",
        name=f"Customer {i}",
        tier="vip" if i % 7 == 0 else "standard",
        data={"store": shops[i % len(shops)]},
    )


def template() -> tuple[Ticket, list[Event], Ticket, list[Event]]:
    """A closed ticket and an open one as the desk makes them, with their events."""
    clock = ManualClock(START + timedelta(hours=2))
    b = Bench(InMemoryStore(), clock)
    t = b.desk.open(
        subject="Jacket one size too small", channel="wechat", customer=customer(1), category="size"
    )
    b.desk.fire(t.id, "open", actor=b.agent)
    b.desk.comment(t.id, "Please bring it to the shop.", actor=b.agent)
    b.desk.fire(t.id, "resolve", actor=b.agent)
    closed = b.store.get(t.id)
    o = b.desk.open(subject="Zip broken", channel="app", customer=customer(2), category="quality")
    return closed, b.store.events(t.id), b.store.get(o.id), b.store.events(o.id)


def history(n: int) -> Iterator[tuple[Ticket, list[Event], None]]:
    """``n`` stored tickets: 100 open, the rest resolved (customers with about ten tickets each)."""
    closed, closed_events, opened, open_events = template()
    agents = [a for ids in SHOP_AGENTS.values() for a in ids] + list(DESK_AGENTS)
    customers = max(1000, n // PER_CUSTOMER)
    cache: dict[int, Customer] = {}
    for i in range(n):
        is_open = i % max(1, n // OPEN_BACKLOG) == 0 and i // max(1, n // OPEN_BACKLOG) < OPEN_BACKLOG
        base, events = (opened, open_events) if is_open else (closed, closed_events)
        k = i % customers
        who = cache.get(k) or cache.setdefault(k, customer(k))
        at = START - timedelta(minutes=n - i)
        tid = f"H{i:08d}"
        ticket = replace_trusted(
            base,
            id=tid,
            customer=who,
            created_at=at,
            updated_at=at + timedelta(hours=1),
            assignee=None if is_open else agents[i % len(agents)],
            team=None if is_open else base.team,
            sla=None if is_open else base.sla,
        )
        evs = [replace_trusted(e, ticket_id=tid, id=f"{tid}-{j}", at=at) for j, e in enumerate(events)]
        if len(cache) > 50_000:
            cache.clear()
        yield ticket, evs, None


def fill(store: TicketStore, n: int) -> None:
    batch: list[Any] = []
    for change in history(n):
        batch.append(change)
        if len(batch) >= BUILD_CHUNK:
            store.save_many(batch)
            batch = []
    if batch:
        store.save_many(batch)


def schema_version() -> int:
    with SQLiteStore(":memory:") as s:
        return s.schema_version


def sqlite_file(n: int, cache: Path, workdir: Path) -> Path:
    """A copy of the cached SQLite file with ``n`` stored tickets (built once)."""
    cache.mkdir(parents=True, exist_ok=True)
    cached = cache / f"desk-{n}-f{FORMAT}-s{schema_version()}.db"
    if not cached.exists():
        t0 = time.perf_counter()
        tmp = cached.with_suffix(".building")
        for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        with SQLiteStore(tmp) as store:
            fill(store, n)
            with sqlite3.connect(tmp) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tmp.rename(cached)
        for p in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            p.unlink(missing_ok=True)
        print(f"  built {cached.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    target = workdir / cached.name
    shutil.copyfile(cached, target)
    return target


def memory_store(n: int) -> InMemoryStore:
    store = InMemoryStore()
    fill(store, n)
    return store


def postgres_store(n: int, dsn: str) -> TicketStore:
    from ticketkit.storage import PostgresStore

    schema = f"bench_desk_{n}_f{FORMAT}"
    store = PostgresStore(dsn, schema=schema)
    if store.count() < n:
        store.close()
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        store = PostgresStore(dsn, schema=schema)
        t0 = time.perf_counter()
        fill(store, n)
        print(f"  built PostgreSQL schema {schema} in {time.perf_counter() - t0:.0f} s", flush=True)
    return store


# ------------------------------------------------------------------------------ the operations


def per_ticket(fn: Callable[[int], object], count: int) -> list[float]:
    out = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def measure(store: TicketStore, ops: int, which: set[str], offset: int) -> dict[str, float]:
    """Median seconds per ticket of each operation on ``store``."""
    clock = ManualClock(START + timedelta(hours=2))
    b = Bench(store, clock)
    desk = b.desk
    results: dict[str, float] = {}
    opened: list[Ticket] = []
    warm = 10
    # Customers with no ticket open (a PostgreSQL schema is reused between runs: new ones each run).
    base = 5_000_000 + offset + (time.time_ns() // 1_000_000) % 1_000_000_000

    def open_one(i: int) -> None:
        clock.advance(timedelta(seconds=1))
        cat = ("size", "quality", "delivery", "refund")[i % 4]
        t = desk.open(subject=f"Request {i}", channel="wechat", customer=customer(base + i), category=cat)
        opened.append(t)

    per_ticket(open_one, warm)
    times = per_ticket(lambda i: open_one(warm + i), 2 * ops)
    results["open"] = statistics.median(times)
    assert len({t.id for t in opened}) == len(opened), "an open was deduplicated by mistake"
    replied, due = opened[warm : warm + ops], opened[warm + ops :]
    if "reply+resolve" in which:
        for t in replied:  # taken up by an agent first (not timed)
            desk.fire(t.id, "open", actor=b.agent)

        def reply(i: int) -> None:
            t = replied[i]
            desk.comment(t.id, "We are on it: a courier picks it up tomorrow.", actor=b.agent)
            desk.fire(t.id, "resolve", actor=b.agent)

        results["reply+resolve"] = statistics.median(per_ticket(reply, len(replied)))
        assert all(store.get(t.id).status_kind == "resolved" for t in replied)
    if "progress" in which:
        results["progress"] = statistics.median(
            per_ticket(lambda i: desk.progress(due[i].id, actor=b.agent), len(due))
        )
    if "tick" in which:
        # Every first response of the second half falls due: one sweep handles them all.
        clock.set(b.cal.add(clock.now(), timedelta(hours=5)))
        swept: set[str] = set()
        t0 = time.perf_counter()
        while True:
            events = desk.tick(limit=100)
            if not events:
                break
            swept.update(e.ticket_id for e in events)
        elapsed = time.perf_counter() - t0
        assert {t.id for t in due} <= swept, "a due ticket was not swept"
        results["tick"] = elapsed / len(swept)
    if "receive" in which:
        # A new customer's mail, then its reply: idempotence lookup, rate-limit slot (and
        # window), threading by References, the message keys bound. Per message.
        def receive(i: int) -> None:
            clock.advance(timedelta(seconds=1))
            mid = f"bench-{base}-{i}@mail.example"
            sender = Sender(kind="email", value=f"c{base + i}@mail.example")
            first = desk.receive(
                InboundMessage(
                    channel="email", message_id=mid, sender=sender, subject=f"Parcel {i}", text="Lost?"
                )
            )
            reply = desk.receive(
                InboundMessage(
                    channel="email",
                    message_id=f"re-{mid}",
                    sender=sender,
                    subject=f"Re: Parcel {i}",
                    text="Any news?",
                    in_reply_to=mid,
                )
            )
            assert (first.action, reply.action) == ("opened", "threaded"), (first, reply)

        per_ticket(receive, warm)
        results["receive"] = statistics.median(per_ticket(lambda i: receive(warm + i), ops)) / 2
    return results


def floor(ops: int, workdir: Path) -> float:
    """A bare sqlite3 insert of the JSON of a ticket (one transaction each): the floor of a write."""
    closed, _, _, _ = template()
    from ticketkit import to_dict

    body = json.dumps(to_dict(closed), ensure_ascii=False, separators=(",", ":"))
    path = workdir / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE kv (id TEXT PRIMARY KEY, body TEXT NOT NULL)")

    def insert(i: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO kv VALUES (?, ?)", (f"T{i}", body))
        conn.execute("COMMIT")

    out = statistics.median(per_ticket(insert, ops))
    conn.close()
    return out


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored tickets, comma-separated")
    parser.add_argument(
        "--big", action="store_true", help="add 1,000,000 stored tickets (built once, cached)"
    )
    parser.add_argument("--big-postgres", action="store_true", help="also 1,000,000 on PostgreSQL")
    parser.add_argument("--stores", default="memory,sqlite,postgres")
    parser.add_argument("--only", default="open,reply+resolve,tick,progress,receive")
    parser.add_argument("--ops", type=int, default=100, help="tickets per operation and size")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "ticketkit-bench-cache"))
    parser.add_argument("--old-src", help="a checkout's src folder to measure the old open path against")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.big and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    which = set(args.only.split(","))
    dsn = os.environ.get("TICKETKIT_TEST_POSTGRES_DSN")
    stores = [s for s in args.stores.split(",") if s != "postgres" or dsn]
    results: dict[str, dict[int, dict[str, float]]] = {}
    say = (lambda *a, **k: None) if args.json else print
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in stores:
            results[name] = {}
            for n in sizes:
                if name == "postgres" and n >= 1_000_000 and not args.big_postgres:
                    continue
                say(f"{name} at {n:,} stored tickets ...", flush=True)
                if name == "memory":
                    store: TicketStore = memory_store(n)
                elif name == "sqlite":
                    store = SQLiteStore(sqlite_file(n, Path(args.cache), work))
                else:
                    assert dsn is not None
                    store = postgres_store(n, dsn)
                # The stored history is long-lived: keep the cyclic GC from walking it again
                # and again (what a long-running service does with gc.freeze, too).
                gc.collect()
                gc.freeze()
                results[name][n] = measure(store, args.ops, which, offset=n % 1_000_003)
                gc.unfreeze()
                store.close()
                del store
                if name == "sqlite":
                    for p in work.glob("desk-*"):
                        p.unlink()
        floor_s = floor(args.ops, work) if "sqlite" in stores else None
    old: dict[str, Any] | None = None
    if args.old_src:
        old = run_old(args.old_src, sizes, args)
    if args.json:
        print(json.dumps({"results": results, "floor": floor_s}))
        return 0
    report(results, floor_s, old)
    return 0


def run_old(src: str, sizes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """The open benchmark of another checkout, on SQLite, in a subprocess."""
    old_sizes = [s for s in sizes if s <= 100_000]
    cmd = [
        sys.executable,
        __file__,
        "--stores=sqlite",
        "--only=open",
        f"--sizes={','.join(map(str, old_sizes))}",
        f"--ops={max(10, args.ops // 4)}",
        f"--cache={args.cache}",
        "--json",
    ]
    print(f"old path: {src} at {', '.join(f'{s:,}' for s in old_sizes)} ...", flush=True)
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def report(
    results: dict[str, dict[int, dict[str, float]]], floor_s: float | None, old: dict[str, Any] | None
) -> None:
    ops = ["open", "reply+resolve", "tick", "progress", "receive"]
    print()
    print("ms per ticket (median); growth = largest size / smallest")
    for name, by_size in results.items():
        if not by_size:
            continue
        sizes = sorted(by_size)
        print(f"\n{name}")
        print(f"  {'operation':<15}" + "".join(f"{s:>12,}" for s in sizes) + f"{'growth':>10}")
        for op in ops:
            if op not in by_size[sizes[0]]:
                continue
            row = [by_size[s][op] * 1000 for s in sizes]
            print(f"  {op:<15}" + "".join(f"{v:>12.3f}" for v in row) + f"{row[-1] / row[0]:>9.2f}x")
    if "memory" in results and "sqlite" in results:
        common = sorted(set(results["memory"]) & set(results["sqlite"]))
        for n in common:
            if "tick" in results["sqlite"][n]:
                ratio = results["sqlite"][n]["tick"] / results["memory"][n]["tick"]
                print(f"\ntick on SQLite / in memory at {n:,}: {ratio:.2f}x (target <= 2x)")
    if floor_s is not None and "sqlite" in results:
        print(f"\nfloor: a bare sqlite3 insert of the ticket's JSON: {floor_s * 1000:.3f} ms")
        for n, r in sorted(results["sqlite"].items()):
            print(f"  open at {n:,} / floor: {r['open'] / floor_s:.1f}x")
    if old is not None:
        print("\nopen on SQLite, old path / this one:")
        for n, r in sorted(old["results"]["sqlite"].items()):
            n_int = int(n)
            new = results.get("sqlite", {}).get(n_int)
            if new is not None:
                ratio = r["open"] / new["open"]
                old_ms, new_ms = r["open"] * 1000, new["open"] * 1000
                print(f"  at {n_int:,}: old {old_ms:.1f} ms, new {new_ms:.3f} ms: {ratio:.0f}x faster")


if __name__ == "__main__":
    raise SystemExit(main())
