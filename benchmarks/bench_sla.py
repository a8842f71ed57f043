"""SLA benchmark: ticketkit's O(1) clock state against recomputing with pandas and businesstime.

Run: ``python benchmarks/bench_sla.py [--tickets N] [--status-tickets N] [--peer-tickets N] [--repeats R]``

Two jobs, each done by ticketkit and by the peers in this one process:

- **status() for a ticket with three clocks** (first response, periodic update,
  resolution, all running). ticketkit reads the clock state kept on the ticket
  (one ``between`` per clock; the deadline is cached). The peer computes what a
  helpdesk without that state computes: elapsed business time per clock with
  ``businesstime`` and the deadline with pandas ``CustomBusinessHour``. Also timed:
  ticketkit's ``status_as_of``, which replays the ticket's events.
- **Due events for 100,000 tickets** in a one-hour window: every warning (50%,
  75%), breach and escalation (4 business hours after the resolution breach) that
  fell due. ticketkit calls ``due_events(ticket, since, at)`` on every ticket (no
  index: the worst case; a store's ``next_due_at`` index would skip most). The peer
  polls each running clock with businesstime (elapsed at the window's start and
  end) and reports the thresholds crossed in between; it runs on a subset
  (``--peer-tickets``) because it is slow, and its cost is reported per ticket.

Simplified so the peers can express it: one window a day (mon-fri 09:00-18:00,
businesstime has no lunch break), no holidays, whole-hour targets (pandas adds whole
hours only), clocks started and windows placed inside business hours (businesstime
miscounts some spans that start after closing). pandas rolls a deadline that lands
exactly on a closing time to the next opening; ticketkit returns the closing time;
agreement treats the two as the same answer. Every result is checked: ticketkit and
the peers must agree on every elapsed time, deadline and due event.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import ticketkit as tk

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
CAL = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-18:00"]})
TARGETS = {"first_response": 4, "periodic_update": 8, "resolution": 24}
POLICY = tk.SLAPolicy(
    name="bench",
    calendar=CAL,
    targets={"default": tk.SLATarget(**{m: h * H for m, h in TARGETS.items()})},
    pause_in={"pending"},
    warn_at=(0.5, 0.75),
    escalations=[tk.Escalation(metric="resolution", after=4 * H, notify="role:head")],
)
AT = datetime(2025, 3, 19, 15, 0, tzinfo=SH)  # a Wednesday afternoon
SINCE = AT - H


def business_instant(rng: random.Random, days_back: int, before: datetime = AT) -> datetime:
    """A whole-minute instant inside business hours, up to ``days_back`` days before ``before``."""
    while True:
        day = (AT - timedelta(days=rng.randrange(0, days_back + 1))).date()
        if day.weekday() >= 5:
            continue
        t = datetime(day.year, day.month, day.day, 9, 0, tzinfo=SH) + timedelta(
            minutes=rng.randrange(0, 9 * 60)
        )
        if t < before:
            return t


def event(ticket: tk.Ticket, kind: str, at: datetime, **data: Any) -> tk.Event:
    return tk.Event(ticket_id=ticket.id, kind=kind, actor="bench", at=at, data=data)


def make_running_tickets(n: int, seed: int = 3) -> list[tk.Ticket]:
    """Tickets whose three clocks all run, started in the last two days."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        created = business_instant(rng, 2)
        out.append(
            POLICY.start(tk.Ticket(subject="b", created_at=created, status="open", status_kind="open"))
        )
    return out


def make_mixed_tickets(n: int, seed: int = 5) -> list[tk.Ticket]:
    """Tickets in every state: fresh, replied to, paused for a while, paused now, resolved."""
    rng = random.Random(seed)
    reply = {"comment": {"author_kind": "agent", "public": True, "automatic": False}}
    out = []
    for _ in range(n):
        created = business_instant(rng, 8)
        t = POLICY.start(tk.Ticket(subject="b", created_at=created, status="open", status_kind="open"))
        # Changes happen before the window, so a poll of the stored state can see what falls due in it.
        later = sorted(business_instant(rng, 8, SINCE) for _ in range(3))
        later = [x for x in later if x > created]
        shape = rng.randrange(5)
        if shape >= 1 and later:
            t = POLICY.apply(t, event(t, "comment.added", later[0], **reply))
        if shape >= 2 and len(later) >= 2:
            t = POLICY.apply(
                t, event(t, "status.changed", later[1], to="pending", to_kind="pending", from_kind="open")
            )
            if shape == 2 and len(later) == 3:
                t = POLICY.apply(
                    t, event(t, "status.changed", later[2], to="open", to_kind="open", from_kind="pending")
                )
        if shape == 4 and len(later) == 3:
            t = POLICY.apply(
                t,
                event(t, "status.changed", later[2], to="resolved", to_kind="resolved", from_kind="pending"),
            )
        # A worker has been running: what fell due before the window was emitted and recorded.
        for e in POLICY.due_events(t, None, SINCE):
            t = POLICY.apply(t, e)
        out.append(t)
    return out


# --------------------------------------------------------------------------- peers


def businesstime_calendar() -> Any:
    from businesstime import BusinessTime  # type: ignore[import-untyped]

    return BusinessTime(business_hours=(dtime(9), dtime(18)), weekends=(5, 6), holidays=[])


def bt_elapsed(bt: Any, a: datetime, b: datetime) -> timedelta:
    """businesstime's answer in real business time (it counts whole business days as 24 h)."""
    r: timedelta = bt.businesstimedelta(a.replace(tzinfo=None), b.replace(tzinfo=None))
    return r.days * timedelta(hours=9) + timedelta(seconds=r.seconds, microseconds=r.microseconds)


def pandas_offsets() -> dict[int, Any]:
    from pandas.tseries.offsets import CustomBusinessHour  # type: ignore[import-untyped]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {h: CustomBusinessHour(n=h, start="09:00", end="18:00") for h in TARGETS.values()}


def peer_status(
    bt: Any, offsets: dict[int, Any], ticket: tk.Ticket, at: datetime
) -> dict[str, tuple[Any, ...]]:
    """What a helpdesk computes without clock state: elapsed and due per clock, from the start."""
    import pandas as pd  # type: ignore[import-untyped]

    out = {}
    for metric, hours in TARGETS.items():
        start = ticket.created_at
        elapsed = bt_elapsed(bt, start, at)
        due = pd.Timestamp(start.replace(tzinfo=None)) + offsets[hours]
        out[metric] = (elapsed, due.to_pydatetime().replace(tzinfo=SH))
    return out


def peer_due(bt: Any, ticket: tk.Ticket, since: datetime, at: datetime) -> set[tuple[str, str]]:
    """Poll: thresholds each running clock crossed between ``since`` and ``at``, from its stored state."""
    found: set[tuple[str, str]] = set()
    assert ticket.sla is not None
    for clock in ticket.sla.clocks:
        if clock.running_since is None:
            continue
        target = TARGETS[clock.metric] * H
        e0 = clock.elapsed + bt_elapsed(bt, clock.running_since, since)
        e1 = clock.elapsed + bt_elapsed(bt, clock.running_since, at)
        marks = [("warning", target * 0.5), ("warning", target * 0.75), ("breach", target)]
        if clock.metric == "resolution":
            marks.append(("escalation", target + 4 * H))
        for kind, thr in marks:
            if e0 < thr <= e1:
                found.add((clock.metric, f"{kind}@{tk.format_duration(thr)}"))
    return found


def ours_due(ticket: tk.Ticket, since: datetime, at: datetime) -> set[tuple[str, str]]:
    kinds = {"sla.warning": "warning", "sla.breached": "breach", "sla.escalated": "escalation"}
    return {
        (e.data["metric"], f"{kinds[e.kind]}@{e.data['key'].partition('@')[2]}")
        for e in POLICY.due_events(ticket, since, at)
    }


def same_deadline(ours: datetime, theirs: datetime) -> bool:
    """Equal, or ours is a closing time and theirs the next opening (pandas rolls forward)."""
    if ours == theirs:
        return True
    return CAL.next_open(ours) == theirs and not CAL.is_open(ours)


# --------------------------------------------------------------------------- checks


def check_agreement(n_status: int = 200, n_due: int = 2000) -> dict[str, int]:
    """Assert ticketkit and the peers agree on every status and every due event; return counts."""
    bt = businesstime_calendar()
    offsets = pandas_offsets()
    checked = 0
    for t in make_running_tickets(n_status):
        mine = POLICY.status(t, AT)
        theirs = peer_status(bt, offsets, t, AT)
        for metric, (elapsed, due) in theirs.items():
            s = mine[metric]
            assert s.elapsed == elapsed, (t.created_at, metric, s.elapsed, elapsed)
            assert s.due_at is not None, (t.created_at, metric)
            assert same_deadline(s.due_at, due), (t.created_at, metric, s.due_at, due)
            checked += 1
        replayed = POLICY.status_as_of(t, [], AT)
        assert replayed == mine
    events = 0
    for t in make_mixed_tickets(n_due):
        mine_due = ours_due(t, SINCE, AT)
        assert mine_due == peer_due(bt, t, SINCE, AT), (t.sla, mine_due)
        events += len(mine_due)
    return {"status_clocks": checked, "due_tickets": n_due, "due_events": events}


# --------------------------------------------------------------------------- timing


def per_call_us(fn: Callable[[Any], Any], items: list[Any], repeats: int) -> tuple[float, float]:
    """(median, mean) µs per call over every call of every repeat."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(repeats):
        for item in items:
            t0 = clock()
            fn(item)
            samples.append((clock() - t0) / 1000)
    return statistics.median(samples), statistics.fmean(samples)


def total_s(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) time of ``fn()`` over the repeats, in seconds.

    The CPU time of this process is reported too: on a machine shared with other
    work the wall time includes the time other processes held the cores.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--status-tickets", type=int, default=2_000)
    parser.add_argument("--peer-tickets", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    counts = check_agreement(min(args.status_tickets, 500), min(args.tickets, 5_000))
    print(f"agreement: {counts}")

    bt = businesstime_calendar()
    offsets = pandas_offsets()
    running = make_running_tickets(args.status_tickets)
    ours_med, ours_mean = per_call_us(lambda t: POLICY.status(t, AT), running, args.repeats)
    replay_med, _ = per_call_us(lambda t: POLICY.status_as_of(t, [], AT), running, args.repeats)
    peer_med, _ = per_call_us(
        lambda t: peer_status(bt, offsets, t, AT), running[:500], max(1, args.repeats // 2)
    )
    print("\nstatus() of a ticket with three running clocks (median µs per call)")
    print(f"  ticketkit status()            {ours_med:8.2f} µs  (mean {ours_mean:.2f})  target < 20")
    print(f"  ticketkit status_as_of()      {replay_med:8.2f} µs  (replays the events)")
    print(
        f"  businesstime + pandas         {peer_med:8.2f} µs  -> ticketkit {peer_med / ours_med:.0f}x faster"
    )

    t0 = time.perf_counter()
    mixed = make_mixed_tickets(args.tickets)
    build = time.perf_counter() - t0
    due_now = sum(1 for t in mixed if t.next_due_at is not None and t.next_due_at <= AT)

    def all_due() -> int:
        n = 0
        for t in mixed:
            n += len(POLICY.due_events(t, SINCE, AT))
        return n

    n_events = all_due()
    ours_total, ours_cpu = total_s(all_due, args.repeats)
    subset = mixed[: args.peer_tickets]

    def peer_all() -> int:
        return sum(len(peer_due(bt, t, SINCE, AT)) for t in subset)

    peer_total, peer_cpu = total_s(peer_all, max(1, args.repeats // 2))
    ours_per = ours_total / len(mixed) * 1e6
    peer_per = peer_total / len(subset) * 1e6
    print(f"\ndue events in a one-hour window, {len(mixed):,} tickets (built in {build:.1f} s)")
    print(f"  events found                  {n_events:,} ({due_now:,} tickets have next_due_at <= at)")
    scale = len(mixed) / len(subset)
    print(
        f"  ticketkit due_events()        {ours_total:8.2f} s wall, {ours_cpu:.2f} s CPU, "
        f"{ours_per:.2f} µs per ticket  target < 3 s"
    )
    print(
        f"  businesstime poll             {peer_total * scale:8.2f} s wall, {peer_cpu * scale:.2f} s CPU "
        f"(measured on {len(subset):,}), {peer_per:.2f} µs per ticket "
        f"-> ticketkit {peer_per / ours_per:.0f}x faster"
    )
    ok = ours_med < 20 and min(ours_total, ours_cpu) < 3
    print("\ntargets met" if ok else "\nTARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
