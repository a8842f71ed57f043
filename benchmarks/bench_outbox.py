"""Outbox benchmark: notifications delivered per second, and what the outbox adds to a save.

Run: ``python benchmarks/bench_outbox.py`` (``--quick`` for a small run; PostgreSQL too
when ``TICKETKIT_TEST_POSTGRES_DSN`` or ``--dsn`` names a server).

1. Delivery: N notifications written by a desk with ``inline=False``, then delivered by
   ``Helpdesk.deliver`` in batches of 100 (claim with a lease, send to a no-op notifier,
   mark sent). Reported: notifications per second.
2. The cost on a save: the same change (a comment with its event and one notification)
   committed by ``TicketStore.commit`` with its outbox row, against the bare save of the
   ticket and event (``save``) with no outbox row. Reported: the ratio (commit with
   outbox / save alone), peers measured in the same run.

3. The cost on a desk operation: ``Helpdesk.open`` with a notifier sending inline (outbox
   row written, sent, marked sent) against the same desk with no notifier (no outbox row).
   Reported: the ratio, and how much of the operation the mark-sent write is.
4. PostgreSQL only: the cost of one ``changes`` call at the end of the feed and of one
   page of 100 from the start, with 1,000 and with ``--feed-events`` (100,000) events
   stored, one commit per ticket (the feed's worst case). Reported: the ratio big/small.

Every timing is the median of three repeats; correctness (every notification sent once)
is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import ticketkit as tk
from ticketkit.storage import OutboxMessage

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


class Null(tk.Notifier):
    def __init__(self) -> None:
        self.ids: set[str] = set()

    def send(self, notification: tk.Notification) -> None:
        self.ids.add(notification.id)


def _median(run: Callable[[], float], repeats: int = 3) -> float:
    return statistics.median(run() for _ in range(repeats))


def delivery_rate(make: Callable[[], tk.TicketStore], n: int) -> float:
    """Notifications per second through the outbox."""

    def once() -> float:
        store = make()
        writer = tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False), clock=lambda: T0)
        for i in range(n):
            writer.open(subject=f"s{i}", customer=f"c{i}")
        sink = Null()
        worker = tk.Helpdesk(store=store, notifier=sink, clock=lambda: T0)
        start = time.perf_counter()
        while worker.deliver(limit=100).claimed:
            pass
        took = time.perf_counter() - start
        assert n == len(sink.ids), (n, len(sink.ids))
        store.close()
        return n / took

    return _median(once)


def save_cost(make: Callable[[], tk.TicketStore], n: int) -> tuple[float, float]:
    """Seconds per save without an outbox row and per commit with one."""

    def run(*, with_outbox: bool) -> float:
        store = make()
        t = tk.Ticket(subject="s", id=f"T-{uuid.uuid4().hex[:8]}", created_at=T0)
        store.create(t)
        start = time.perf_counter()
        for i in range(n):
            new = tk.Ticket(subject="s", id=t.id, created_at=T0, version=t.version + 1, tags={f"x{i % 3}"})
            event = tk.Event(
                ticket_id=t.id, kind="comment.added", actor="agent:li", at=T0, version=new.version
            )
            if with_outbox:
                payload = '{"kind":"comment.added","message":"' + "x" * 200 + '"}'
                msg = OutboxMessage(
                    id=f"{t.id}/{new.version}", payload=payload, created_at=T0, available_at=T0
                )
                store.commit([(new, [event], t.version)], [msg])
            else:
                store.save(new, [event], t.version)
            t = new
        took = time.perf_counter() - start
        store.close()
        return took / n

    plain = _median(lambda: run(with_outbox=False))
    boxed = _median(lambda: run(with_outbox=True))
    return plain, boxed


def open_cost(make: Callable[[], tk.TicketStore], n: int) -> tuple[float, float, float]:
    """Seconds per ``open`` without a notifier, with one sending inline, and of its mark-sent write."""
    marks: list[float] = []

    def run(*, inline: bool) -> float:
        store = make()
        if inline:
            mark = store.mark_sent

            def timed(ids: Iterable[str]) -> None:
                start = time.perf_counter()
                mark(ids)
                marks.append(time.perf_counter() - start)

            store.mark_sent = timed  # type: ignore[method-assign]
        desk = tk.Helpdesk(store=store, clock=lambda: T0, notifier=Null() if inline else None)
        for i in range(20):  # warm up
            desk.open(subject=f"w{i}", customer=f"w{i}")
        start = time.perf_counter()
        for i in range(n):
            desk.open(subject=f"s{i}", customer=f"c{i}")
        took = time.perf_counter() - start
        store.close()
        return took / n

    off, on = [], []
    for _ in range(3):  # interleaved: the peers share the machine's moods
        off.append(run(inline=False))
        on.append(run(inline=True))
    return statistics.median(off), statistics.median(on), statistics.median(marks)


def feed_cost(dsn: str, events: int) -> tuple[float, float]:
    """Seconds per ``changes`` call at the end of the feed, and per page of 100 from the start."""
    from ticketkit.storage import PostgresStore

    schema = f"bench_feed_{uuid.uuid4().hex[:10]}"
    store = PostgresStore(dsn, schema=schema)
    try:
        made = i = 0
        while made < events:
            t = tk.Ticket(subject="s", id=f"T{i}", created_at=T0)
            k = 1 + i % 4
            evs = [tk.Event(ticket_id=t.id, kind="k", actor="a", at=T0, version=1) for _ in range(k)]
            store.create(t, evs)
            made += k
            i += 1
        cursor: str | None = None
        while len(page := store.changes(cursor, limit=10_000)):
            cursor = page.cursor

        def per_call(after: str | None) -> float:
            start = time.perf_counter()
            for _ in range(100):
                store.changes(after, limit=100)
            return (time.perf_counter() - start) / 100

        return _median(lambda: per_call(cursor)), _median(lambda: per_call(None))
    finally:
        store.close()
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dsn", default=os.environ.get("TICKETKIT_TEST_POSTGRES_DSN"))
    parser.add_argument("--feed-events", type=int, default=100_000)
    args = parser.parse_args(argv)
    n = 300 if args.quick else 2000
    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    makers: dict[str, Callable[[], tk.TicketStore]] = {
        "InMemoryStore": tk.InMemoryStore,
        "SQLiteStore": lambda: tk.SQLiteStore(tmp / f"{uuid.uuid4().hex}.db"),
    }
    if args.dsn:
        from ticketkit.storage import PostgresStore

        schemas: list[str] = []

        def make_pg() -> tk.TicketStore:
            schemas.append(f"bench_outbox_{uuid.uuid4().hex[:10]}")
            return PostgresStore(args.dsn, schema=schemas[-1])

        makers["PostgresStore"] = make_pg
    print(f"{'store':15} {'delivered/s':>12} {'save µs':>9} {'commit+outbox µs':>17} {'ratio':>6}")
    for name, make in makers.items():
        rate = delivery_rate(make, n)
        plain, boxed = save_cost(make, n // 2)
        print(f"{name:15} {rate:12,.0f} {plain * 1e6:9.0f} {boxed * 1e6:17.0f} {boxed / plain:6.2f}")
    print(f"\n{'store':15} {'open µs':>8} {'open+outbox µs':>15} {'ratio':>6} {'mark-sent µs':>13}")
    for name, make in makers.items():
        off, on, mark = open_cost(make, n // 4)
        print(f"{name:15} {off * 1e6:8.0f} {on * 1e6:15.0f} {on / off:6.2f} {mark * 1e6:13.0f}")
    if args.dsn:
        big = args.feed_events if not args.quick else 10_000
        small_end, small_start = feed_cost(args.dsn, 1000)
        big_end, big_start = feed_cost(args.dsn, big)
        print()
        for label, small, large in (
            ("feed call at the end", small_end, big_end),
            ("feed page from the start", small_start, big_start),
        ):
            sizes = f"1k {small * 1e6:7.0f} µs  {big:,} {large * 1e6:7.0f} µs"
            print(f"{label:25} {sizes}  ratio {large / small:.2f}")
    if args.dsn:
        import psycopg

        with psycopg.connect(args.dsn, autocommit=True) as conn:
            for schema in schemas:  # only the schemas this run made
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
