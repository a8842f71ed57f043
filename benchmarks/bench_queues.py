"""Queue draining benchmark: 50 agents come online at a shift start with 5,000 queued tickets.

The same SQLite file (copied, so both start equal) is drained two ways:

- ticketkit: one ``Helpdesk.tick()`` at the shift start; the drain reads the queue by
  priority and age and hands tickets out in batches under one lease;
- the naive loop a user writes with the existing operations: list the queued tickets,
  sort them by priority then age, and call ``Helpdesk.assign(ticket_id, actor=...)`` on each
  (no team, no agent: the router routes it again with the store's load reading).

Both must hand out the same number of tickets without exceeding any agent's capacity;
the benchmark prints seconds, tickets per second and the ratio (naive / ticketkit).

    python benchmarks/bench_queues.py [--tickets 5000] [--agents 50] [--capacity 100]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ticketkit as tk
from ticketkit.testing import ManualClock

SHIFT_START = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday
ADMIN = tk.Actor(id="boss", roles={"admin"})
PRIORITIES = ["low", "normal", "high", "urgent"]
RANK = {p: i for i, p in enumerate(PRIORITIES)}


def make_router(agents: int, capacity: int, teams: int, strategy: str) -> tk.Router:
    """Agents spread over ``teams`` teams, all on a 09:00-18:00 shift; every ticket to its team."""
    cal = tk.BusinessCalendar(tz="UTC", hours={"mon-fri": ["09:00-18:00"]})
    return tk.Router(
        rules=[tk.Rule(name="by team", assign=tk.Assign(team_ref="fields.team", strategy=strategy))],
        agents=[
            tk.Agent(id=f"agent{i:03d}", teams={f"team{i % teams}"}, capacity=capacity, shift="day")
            for i in range(agents)
        ],
        teams=[tk.Team(id=f"team{i}") for i in range(teams)],
        calendars={"day": cal},
    )


def build(path: Path, tickets: int, teams: int, seed: int = 7) -> None:
    """The queued tickets, written in one batch: created in the hour before the shift, unassigned."""
    rng = random.Random(seed)
    store = tk.SQLiteStore(path)
    batch = []
    for i in range(tickets):
        at = SHIFT_START - timedelta(seconds=rng.randrange(3600))
        team = f"team{rng.randrange(teams)}"
        ticket = tk.Ticket(
            subject=f"request {i}",
            created_at=at,
            updated_at=at,
            priority=rng.choice(PRIORITIES),
            team=team,
            fields={"team": team},
        )
        batch.append((ticket, [], None))
    store.save_many(batch)
    store.close()


def drain_ticketkit(path: Path, router: tk.Router) -> tuple[float, Counter[str]]:
    """One tick at the shift start; seconds and tickets per agent."""
    desk = tk.Helpdesk(store=tk.SQLiteStore(path), router=router, clock=ManualClock(SHIFT_START))
    start = time.perf_counter()
    events = desk.tick()
    took = time.perf_counter() - start
    return took, Counter(str(e.data["agent"]) for e in events if e.kind == "ticket.assigned")


def drain_naive(path: Path, router: tk.Router) -> tuple[float, Counter[str]]:
    """The loop over existing operations: queued tickets sorted, each routed again with assign."""
    desk = tk.Helpdesk(store=tk.SQLiteStore(path), router=router, clock=ManualClock(SHIFT_START))
    start = time.perf_counter()
    queued = [
        t for t in desk.tickets(actor=ADMIN, status_kind=["new", "open", "pending"]) if t.assignee is None
    ]
    queued.sort(key=lambda t: (-RANK[t.priority.value], t.created_at, t.id))
    per_agent: Counter[str] = Counter()
    for t in queued:
        try:
            saved = desk.assign(t.id, actor=ADMIN)
        except tk.ValidationError:  # nobody has room: routing leaves it where it is
            continue
        if saved.assignee is not None:
            per_agent[saved.assignee] += 1
    return time.perf_counter() - start, per_agent


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Build, drain both ways, check, print; the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--teams", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        build(base, args.tickets, args.teams)
        ours, naive = Path(tmp) / "ours.db", Path(tmp) / "naive.db"
        shutil.copy(base, ours)
        shutil.copy(base, naive)
        t_ours, got_ours = drain_ticketkit(ours, make_router(args.agents, args.capacity, args.teams, "queue"))
        t_naive, got_naive = drain_naive(
            naive, make_router(args.agents, args.capacity, args.teams, "least_loaded")
        )
    handed = sum(got_ours.values())
    assert handed == sum(got_naive.values()), (handed, sum(got_naive.values()))
    assert max(got_ours.values(), default=0) <= args.capacity
    assert max(got_naive.values(), default=0) <= args.capacity
    ratio = t_naive / t_ours if t_ours else float("inf")
    print(f"{args.tickets} queued tickets, {args.agents} agents (capacity {args.capacity}) at a shift start")
    print(f"  ticketkit drain (tick): {t_ours:8.2f} s  {handed / t_ours:9.0f} tickets/s  handed out {handed}")
    print(f"  naive assign loop:      {t_naive:8.2f} s  {handed / t_naive:9.0f} tickets/s")
    print(f"  ratio naive / ticketkit: {ratio:.1f}x")
    return {"ticketkit": t_ours, "naive": t_naive, "handed": float(handed), "ratio": ratio}


if __name__ == "__main__":
    main()
