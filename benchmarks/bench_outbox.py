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
from collections.abc import Callable
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dsn", default=os.environ.get("TICKETKIT_TEST_POSTGRES_DSN"))
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
    if args.dsn:
        import psycopg

        with psycopg.connect(args.dsn, autocommit=True) as conn:
            for schema in schemas:  # only the schemas this run made
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    sys.exit(main())
