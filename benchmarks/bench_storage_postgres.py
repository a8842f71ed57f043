"""PostgreSQL beside SQLite on the same storage work, and a multi-process load test.

Run: ``python benchmarks/bench_storage_postgres.py`` (``--quick`` for a small run,
``--load-only`` / ``--store-only`` for one part). The server is the one in
``TICKETKIT_TEST_POSTGRES_DSN`` or ``--dsn``; without either a throw-away cluster is
started on 127.0.0.1 (as the tests do) and removed afterwards.

1. Store work, PostgresStore beside SQLiteStore, the tickets of
   ``benchmarks/bench_storage.py``: batched creates and saves (``save_many``, 1,000
   per batch), single creates / saves / gets (one transaction each: the latency an
   application sees), the due query among many tickets, and ``claim_due`` draining
   the due tickets. The two stores must agree on every answer.
2. The load test of issue 11: 4 worker processes open tickets through a
   ``Helpdesk`` (routing by rules, SLA clocks started), comment, change status and
   tag, half of the tags on a few shared tickets that all of them update at once,
   while 2 processes run ``Helpdesk.tick`` (and a third claims due tickets and dies
   without handling them, so the others must take them over when its lease ends).
   Time runs on a virtual clock shared by all processes (one real second is
   ``speed`` virtual seconds), frozen at the end of the run so the tick workers can
   finish what fell due. Then it checks: no lost
   update (every tag and comment a worker saw succeed is in the final state), no
   duplicate notification (each SLA checkpoint notified once), no missed checkpoint
   (nothing due is left, and every SLA event in the store was notified). Bounded in
   count and in time; loopback only. Prints throughput and p50/p99 latencies.

Timings are medians of several repeats (part 1); the machine is shared, so read
ratios rather than absolute figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from bench_storage import T0, created_event, make_ticket, median_ms  # noqa: E402

import ticketkit as tk  # noqa: E402
from ticketkit import Event, SQLiteStore, Ticket  # noqa: E402
from ticketkit.model._models import replace_trusted  # noqa: E402
from ticketkit.storage import PostgresStore, TicketStore  # noqa: E402

DSN_ENV = "TICKETKIT_TEST_POSTGRES_DSN"


# --------------------------------------------------------------------------- the server


@contextlib.contextmanager
def server(dsn: str | None = None) -> Iterator[str]:
    """A PostgreSQL connection string: the one given, the environment's, or a throw-away local cluster."""
    dsn = dsn or os.environ.get(DSN_ENV)
    if dsn:
        yield dsn
        return
    from tests.postgres_fixture import LocalServer

    local = LocalServer.start()
    try:
        yield local.dsn
    finally:
        local.stop()


def new_schema() -> str:
    return f"tk_bench_{uuid.uuid4().hex[:10]}"


def analyze(dsn: str, schema: str) -> None:
    """Refresh the planner's statistics of the store's tables."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{schema}".tickets')
        conn.execute(f'ANALYZE "{schema}".events')


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --------------------------------------------------------------------------- 1. store work


def _status_change(t: Ticket) -> tuple[Ticket, Event]:
    new = replace_trusted(
        t,
        status="pending",
        status_kind="pending",
        version=t.version + 1,
        updated_at=t.created_at + timedelta(hours=1),
    )
    event = Event(
        ticket_id=t.id,
        kind="status.changed",
        actor="agent:li",
        at=new.updated_at,
        data={"from": "open", "to": "pending", "trigger": "wait", "from_kind": "open", "to_kind": "pending"},
        version=new.version,
        id=f"S{t.id}",
    )
    return new, event


def store_work(
    store: TicketStore,
    *,
    n: int,
    singles: int,
    due_total: int,
    due: int,
    repeats: int,
    settle: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The same work on any store; returns timings (ms) and the answers to compare.

    ``settle`` runs after each bulk load (for PostgreSQL: ANALYZE, which autovacuum
    does on its own in a running system, so the planner knows the new rows).
    """
    out: dict[str, Any] = {}
    tickets = [make_ticket(i, T0 + timedelta(hours=4, seconds=i)) for i in range(n)]
    events = [created_event(t) for t in tickets]
    start = time.perf_counter()
    for k in range(0, n, 1000):
        store.save_many(
            [(t, [e], None) for t, e in zip(tickets[k : k + 1000], events[k : k + 1000], strict=True)]
        )
    out["batch_create_us"] = (time.perf_counter() - start) / n * 1e6
    changed = [_status_change(t) for t in tickets]
    start = time.perf_counter()
    for k in range(0, n, 1000):
        store.save_many([(t, [e], 1) for t, e in changed[k : k + 1000]])
    out["batch_save_us"] = (time.perf_counter() - start) / n * 1e6
    settle()

    # One transaction per call: what an application's request pays.
    base = n
    counter = iter(range(base, base + singles * repeats))

    def one_create() -> None:
        for _ in range(singles):
            i = next(counter)
            t = make_ticket(i, T0 + timedelta(hours=4, seconds=i))
            store.create(t, [created_event(t)])

    ms, _ = median_ms(one_create, repeats)
    out["create_us"] = ms / singles * 1000
    ids = [tickets[(i * 7919) % n].id for i in range(singles)]
    ms, _ = median_ms(lambda: [store.get(i) for i in ids], repeats)
    out["get_us"] = ms / singles * 1000
    current = {t.id: t for t, _ in changed[:singles]}

    def one_save() -> None:
        for tid, t in list(current.items()):
            new = replace_trusted(t, version=t.version + 1, updated_at=t.updated_at + timedelta(seconds=1))
            current[tid] = store.save(new, [], t.version)

    ms, _ = median_ms(one_save, repeats)
    out["save_us"] = ms / singles * 1000
    ms, page = median_ms(lambda: store.query(status="pending", order_by="-updated_at", limit=50), repeats)
    out["query_ms"] = ms
    out["query_ids"] = [t.id for t in page]
    out["count"] = store.count(status="pending")
    out["answers"] = [store.get(tickets[i].id) for i in (0, n // 2, n - 1)]
    out["events"] = [store.events(tickets[i].id) for i in (0, n // 2, n - 1)]

    # The due query among many tickets, then claim_due draining the due ones.
    at = T0 + timedelta(days=1)
    step = due_total // due
    many = []
    for i in range(due_total):
        if i % step == 0 and i // step < due:
            when: datetime | None = at - timedelta(seconds=(i * 7919) % 86_400)
        elif i % 2:
            when = at + timedelta(minutes=1 + i % 100_000)
        else:
            when = None
        many.append(make_ticket(10_000_000 + i, when))
    for k in range(0, due_total, 5000):
        store.save_many([(t, (), None) for t in many[k : k + 5000]])
    settle()
    ms, found = median_ms(lambda: store.due(at, limit=due), repeats)
    out["due_ms"] = ms
    out["due_ids"] = [t.id for t in found]
    start = time.perf_counter()
    claimed: list[str] = []
    while batch := store.claim_due(at, worker="bench", lease=timedelta(minutes=5), limit=100):
        claimed += [t.id for t in batch]
    out["claim_us"] = (time.perf_counter() - start) / max(1, len(claimed)) * 1e6
    out["claimed"] = sorted(claimed)
    return out


def bench_stores(dsn: str, *, n: int, singles: int, due_total: int, due: int, repeats: int) -> dict[str, Any]:
    """Part 1 on both stores; asserts that they agree."""
    schema = new_schema()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sq = SQLiteStore(Path(tmp) / "bench.db")
            lite = store_work(sq, n=n, singles=singles, due_total=due_total, due=due, repeats=repeats)
            sq.close()
        pg = PostgresStore(dsn, schema=schema)
        post = store_work(
            pg,
            n=n,
            singles=singles,
            due_total=due_total,
            due=due,
            repeats=repeats,
            settle=lambda: analyze(dsn, schema),
        )
        pg.close()
    finally:
        drop_schema(dsn, schema)
    for key in ("query_ids", "count", "answers", "events", "due_ids", "claimed"):
        assert lite[key] == post[key], key
    assert set(post["due_ids"]) <= set(post["claimed"])
    return {"sqlite": lite, "postgres": post}


# --------------------------------------------------------------------------- 2. the load test

_SPEED = 600.0  # virtual seconds per real second


def _desk(
    dsn: str, schema: str, clock: Callable[[], datetime], worker: str
) -> tuple[tk.Helpdesk, tk.RecordingNotifier]:
    policy = tk.SLAPolicy(
        name="std",
        calendar=tk.BusinessCalendar.always_open(),
        warn_at=(0.5,),
        targets={
            "default": tk.SLATarget(first_response=timedelta(minutes=20), resolution=timedelta(hours=1)),
            tk.Priority.URGENT: tk.SLATarget(
                first_response=timedelta(minutes=5), resolution=timedelta(minutes=30)
            ),
        },
    )
    agents = [tk.Agent(id=a, teams={team}) for team, names in _TEAMS.items() for a in names]
    router = tk.Router(
        rules=[
            tk.Rule(name="repairs", when=tk.F.category == "repair", assign=tk.Assign(team="repairs")),
            tk.Rule(name="billing", when=tk.F.category == "billing", assign=tk.Assign(team="billing")),
        ],
        agents=agents,
        teams=[tk.Team(id=t, lead=names[0]) for t, names in _TEAMS.items()],
        fallback="repairs",
    )
    notifier = tk.RecordingNotifier()
    desk = tk.Helpdesk(
        store=PostgresStore(dsn, schema=schema, max_size=2),
        router=router,
        policies=[policy],
        notifier=notifier,
        clock=clock,
        worker=worker,
        lease=timedelta(minutes=2),
        dedupe_window=None,
        max_attempts=1000,
    )
    return desk, notifier


_TEAMS = {"repairs": ["li", "wang", "zhao"], "billing": ["chen", "sun"]}


class _Start:
    """When the run starts (wall clock), the same for every process once the parent says go."""

    wall = time.time()


def _clock(start: type[_Start] | float, freeze: datetime, speed: float) -> Callable[[], datetime]:
    def now() -> datetime:
        wall = start if isinstance(start, float) else start.wall
        return min(T0 + timedelta(seconds=(time.time() - wall) * speed), freeze)

    return now


def _ready_and_wait() -> float:
    """Tell the parent this process is set up; wait for the common start time."""
    print("ready", flush=True)
    _Start.wall = float(sys.stdin.readline())
    return _Start.wall


_CHECKPOINTS = frozenset({"sla.warning", "sla.breached", "sla.escalated"})


def _sla_key(note: tk.Notification) -> str | None:
    if note.kind not in _CHECKPOINTS:
        return None
    return _checkpoint(note.ticket.id, note.data)


def _checkpoint(ticket_id: str, data: Any) -> str:
    """Which SLA checkpoint an event or notification is about: ticket, metric, cycle, key."""
    return f"{ticket_id}|{data.get('metric')}|{data.get('cycle')}|{data.get('key')}"


def app_worker(args: dict[str, Any]) -> dict[str, Any]:
    """One application process: open, route, comment, change status and tag tickets."""
    w = args["index"]
    clock = _clock(_Start, datetime.fromisoformat(args["freeze"]), args["speed"])
    desk, notifier = _desk(args["dsn"], args["schema"], clock, f"app-{w}")
    agent = tk.Actor(id=_TEAMS["repairs"][w % 3], roles={"agent", "admin"}, teams={"repairs", "billing"})
    lat: dict[str, list[float]] = {"open": [], "comment": [], "fire": [], "tag": [], "tag_shared": []}
    tags: list[list[str]] = []
    comments: list[str] = []
    opened: list[str] = []
    shared: list[str] = args["shared"]
    deadline = _ready_and_wait() + args["deadline_after"]

    def timed(op: str, fn: Callable[..., Ticket], *a: Any, **kw: Any) -> Ticket:
        start = time.perf_counter()
        result = fn(*a, **kw)
        lat[op].append((time.perf_counter() - start) * 1000)
        return result

    for i in range(args["tickets"]):
        if time.time() > deadline:
            break
        t = timed(
            "open",
            desk.open,
            subject=f"load {w}-{i}",
            channel="wechat",
            customer=f"c-{w}-{i % 7}",
            category=("repair", "billing", "repair", "enquiry")[i % 4],
            priority="urgent" if i % 5 == 0 else "normal",
            actor=agent,
        )
        opened.append(t.id)
        if i % 3 != 2:  # a first response for two tickets in three
            timed("comment", desk.comment, t.id, "We are on it.", actor=agent, public=True)
            comments.append(t.id)
        timed("fire", desk.fire, t.id, "open", actor=agent)
        if i % 4 == 0:
            timed("fire", desk.fire, t.id, "resolve", actor=agent)
        tag = f"w{w}-{i}"
        timed("tag", desk.tag, t.id, tag, actor=agent)
        tags.append([t.id, tag])
        target = shared[i % len(shared)]
        timed("tag_shared", desk.tag, target, tag, actor=agent)
        tags.append([target, tag])
    keys = [k for k in map(_sla_key, notifier.sent) if k]
    desk.store.close()
    return {"lat": lat, "tags": tags, "comments": comments, "opened": opened, "sla_notes": keys}


def tick_worker(args: dict[str, Any]) -> dict[str, Any]:
    """One tick process: claim due tickets and emit their checkpoints until nothing is left due."""
    freeze = datetime.fromisoformat(args["freeze"])
    clock = _clock(_Start, freeze, args["speed"])
    desk, notifier = _desk(args["dsn"], args["schema"], clock, f"tick-{args['index']}")
    hard_deadline = _ready_and_wait() + args["hard_deadline_after"]
    lat: list[float] = []
    emitted = 0
    timed_out = False
    while True:
        start = time.perf_counter()
        events = desk.tick(limit=20)
        lat.append((time.perf_counter() - start) * 1000)
        emitted += len(events)
        if not events:
            if clock() >= freeze and not desk.store.due(freeze, limit=1):
                break
            time.sleep(0.005)
        if time.time() > hard_deadline:
            timed_out = True
            break
    keys = [k for k in map(_sla_key, notifier.sent) if k]
    desk.store.close()
    return {"lat": lat, "emitted": emitted, "sla_notes": keys, "timed_out": timed_out}


def crash_worker(args: dict[str, Any]) -> dict[str, Any]:
    """A tick worker that dies right after claiming: its tickets must still be handled, once."""
    freeze = datetime.fromisoformat(args["freeze"])
    clock = _clock(_Start, freeze, args["speed"])
    store = PostgresStore(args["dsn"], schema=args["schema"], max_size=1)
    claimed: list[Ticket] = []
    deadline = _ready_and_wait() + args["deadline_after"]
    while not claimed and time.time() < deadline:
        claimed = store.claim_due(clock(), worker="doomed", lease=timedelta(minutes=2), limit=5)
        time.sleep(0.01)
    # Dies here: no save, no close. The claims' leases run out and other workers take over.
    print(json.dumps({"claimed": [t.id for t in claimed]}), flush=True)
    os._exit(0)


def _spawn(role: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", role, json.dumps(args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stderr(proc: subprocess.Popen[str]) -> str:
    proc.kill()
    _, err = proc.communicate(timeout=30)
    return err[-4000:]


def _collect(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"a load worker failed ({proc.returncode}):\n{err[-4000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_load(
    dsn: str,
    *,
    apps: int = 4,
    ticks: int = 2,
    tickets: int = 60,
    shared: int = 3,
    seconds: float = 20.0,
    speed: float = _SPEED,
    crashes: int = 1,
) -> dict[str, Any]:
    """The load test; returns its figures after asserting no lost update, duplicate or missed checkpoint.

    ``tickets`` per app worker; the app phase stops after ``seconds`` real seconds
    at most (the virtual clock freezes then), the whole test after about twice that.
    """
    schema = new_schema()
    setup_clock = _clock(time.time(), T0, speed)
    desk, _ = _desk(dsn, schema, setup_clock, "setup")
    system = tk.Actor.system()
    shared_ids = [
        desk.open(subject=f"shared {k}", customer=f"c-shared-{k}", category="repair", actor=system).id
        for k in range(shared)
    ]
    desk.store.close()
    freeze = T0 + timedelta(seconds=seconds * speed)
    common = {
        "dsn": dsn,
        "schema": schema,
        "speed": speed,
        "freeze": freeze.isoformat(),
        "deadline_after": seconds * 0.9,
        "hard_deadline_after": seconds * 2 + 30,
    }
    everyone: list[subprocess.Popen[str]] = []
    try:
        app_procs = [
            _spawn("app", {**common, "index": w, "tickets": tickets, "shared": shared_ids})
            for w in range(apps)
        ]
        tick_procs = [_spawn("tick", {**common, "index": k}) for k in range(ticks)]
        crash_procs = [_spawn("crash", common) for _ in range(crashes)]
        everyone += [*app_procs, *tick_procs, *crash_procs]
        for proc in everyone:  # all set up (imports, pools) before the clock starts
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a load worker failed to start:\n{_stderr(proc)}")
        began = time.perf_counter()
        start_wall = time.time()
        for proc in everyone:
            assert proc.stdin is not None
            proc.stdin.write(f"{start_wall!r}\n")
            proc.stdin.flush()
        app_results = [_collect(p, seconds * 3 + 60) for p in app_procs]
        app_s = time.perf_counter() - began
        crash_results = [_collect(p, seconds * 3 + 60) for p in crash_procs]
        tick_results = [_collect(p, seconds * 3 + 90) for p in tick_procs]
        total_s = time.perf_counter() - began

        check = PostgresStore(dsn, schema=schema)
        try:
            report = _verify(check, desk.policies[0], freeze, app_results, tick_results)
        finally:
            check.close()
    finally:
        for proc in everyone:
            if proc.poll() is None:  # only after a failure: stop what is left
                proc.kill()
                proc.communicate(timeout=30)
        drop_schema(dsn, schema)
    ops = {op: [x for r in app_results for x in r["lat"][op]] for op in app_results[0]["lat"]}
    all_ops = [x for v in ops.values() for x in v]
    tick_lat = [x for r in tick_results for x in r["lat"]]
    report.update(
        {
            "apps": apps,
            "ticks": ticks,
            "app_seconds": app_s,
            "total_seconds": total_s,
            "ops": len(all_ops),
            "ops_per_s": len(all_ops) / app_s,
            "p50_ms": _pct(all_ops, 0.50),
            "p99_ms": _pct(all_ops, 0.99),
            "per_op": {op: (len(v), _pct(v, 0.5), _pct(v, 0.99)) for op, v in ops.items()},
            "tick_calls": len(tick_lat),
            "tick_p99_ms": _pct(tick_lat, 0.99),
            "emitted": sum(r["emitted"] for r in tick_results),
            "crash_claimed": sum(len(r["claimed"]) for r in crash_results),
        }
    )
    return report


def _verify(
    store: PostgresStore,
    policy: tk.SLAPolicy,
    freeze: datetime,
    app_results: list[dict[str, Any]],
    tick_results: list[dict[str, Any]],
) -> dict[str, Any]:
    assert not any(r["timed_out"] for r in tick_results), "a tick worker ran out of time"
    tickets = {t.id: t for t in store.scan()}
    opened = [tid for r in app_results for tid in r["opened"]]
    assert len(opened) == len(set(opened))
    assert set(opened) <= set(tickets)
    # No lost update: every tag and comment a worker saw succeed is there.
    lost = [(tid, tag) for r in app_results for tid, tag in r["tags"] if tag not in tickets[tid].tags]
    assert [] == lost, f"lost updates: {lost[:10]}"
    wanted_comments = Counter(tid for r in app_results for tid in r["comments"])
    for tid, n in wanted_comments.items():
        got = sum(1 for e in store.events(tid) if e.kind == "comment.added")
        assert n == got, (tid, n, got)
    # No missed checkpoint: nothing is due at the freeze, and nothing due is left un-emitted.
    assert [] == store.due(freeze, limit=10)
    missed = [tid for tid, t in tickets.items() if t.sla is not None and policy.due_events(t, None, freeze)]
    assert [] == missed, f"checkpoints missed on {missed[:10]}"
    # No duplicate notification: each SLA checkpoint was notified exactly once, and each
    # SLA event in the store was notified.
    notes = Counter(k for r in (*app_results, *tick_results) for k in r["sla_notes"])
    dupes = [k for k, n in notes.items() if n > 1]
    assert [] == dupes, f"duplicate notifications: {dupes[:10]}"
    stored = Counter(
        _checkpoint(tid, e.data) for tid in tickets for e in store.events(tid) if e.kind in _CHECKPOINTS
    )
    assert max(stored.values(), default=1) == 1, "an SLA checkpoint was recorded twice"
    assert set(stored) == set(notes), (len(stored), len(notes))
    return {
        "tickets": len(tickets),
        "opened": len(opened),
        "checkpoints": len(stored),
        "notifications": sum(notes.values()),
    }


# --------------------------------------------------------------------------- main


def _print_stores(r: dict[str, Any], n: int, due_total: int, due: int) -> None:
    lite, post = r["sqlite"], r["postgres"]
    print(f"Store work: SQLiteStore (file, WAL) and PostgresStore (loopback), {n:,} tickets")
    print(f"  {'':30s} {'SQLite':>12s} {'PostgreSQL':>12s} {'PG/SQLite':>10s}")
    rows = [
        ("create, batches of 1,000", "batch_create_us", "µs/ticket"),
        ("save, batches of 1,000", "batch_save_us", "µs/ticket"),
        ("create, one per transaction", "create_us", "µs/op"),
        ("save, one per transaction", "save_us", "µs/op"),
        ("get", "get_us", "µs/op"),
        ("query page of 50", "query_ms", "ms"),
        (f"due: {due:,} of {due_total:,}", "due_ms", "ms"),
        ("claim_due, batches of 100", "claim_us", "µs/ticket"),
    ]
    for label, key, unit in rows:
        a, b = lite[key], post[key]
        print(f"  {label:30s} {a:9.1f} {b:9.1f}   {b / a:6.2f}x  {unit}")
    print("  both stores gave the same answers (tickets, events, query, count, due, claims)")


def _print_load(r: dict[str, Any]) -> None:
    print(
        f"Load test: {r['apps']} app processes + {r['ticks']} tick processes on one PostgreSQL schema, "
        f"{r['tickets']:,} tickets"
    )
    print(f"  app phase {r['app_seconds']:.1f} s, all done in {r['total_seconds']:.1f} s")
    print(f"  throughput {r['ops_per_s']:.0f} ops/s over {r['ops']:,} desk operations")
    print(f"  latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
    for op, (count, p50, p99) in r["per_op"].items():
        print(f"    {op:12s} {count:6d} ops  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    print(
        f"  tick: {r['tick_calls']:,} calls, p99 {r['tick_p99_ms']:.1f} ms, "
        f"{r['emitted']:,} checkpoints emitted"
    )
    print(
        f"  a tick worker died right after claiming {r['crash_claimed']} due tickets; "
        "the others took them over"
    )
    print(
        f"  checked: no lost update, {r['checkpoints']:,} SLA checkpoints each notified exactly once "
        f"({r['notifications']:,} notifications), none missed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dsn", default=None, help=f"PostgreSQL server (default: ${DSN_ENV} or a local one)")
    parser.add_argument("--store-only", action="store_true")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("ROLE", "ARGS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        role, raw = args.child
        worker = {"app": app_worker, "tick": tick_worker, "crash": crash_worker}[role]
        result = worker(json.loads(raw))
        print(json.dumps(result))
        return 0
    if args.quick:
        sizes = {"n": 2000, "singles": 100, "due_total": 20_000, "due": 200}
        load = {"tickets": 40, "seconds": 15.0}
    else:
        sizes = {"n": 20_000, "singles": 300, "due_total": 200_000, "due": 1000}
        load = {"tickets": 150, "seconds": 40.0}
    # A polite stop (SIGTERM) still stops the throw-away server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with server(args.dsn) as dsn:
        if not args.load_only:
            r = bench_stores(dsn, **sizes, repeats=args.repeats)
            _print_stores(r, sizes["n"], sizes["due_total"], sizes["due"])
        if not args.store_only:
            rep = run_load(dsn, **load)
            _print_load(rep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
