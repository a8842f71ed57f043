"""Benchmark: the monthly service quality report over 1,000,000 tickets, and pandas doing the same.

Run: ``python benchmarks/bench_analytics.py [N]`` (N tickets in the report month, default
1,000,000, plus N/10 in the month before). Prints the time to read the tickets into a
``Dataset`` and to make the report (median of several runs), the report's peak memory
(tracemalloc), and the same overview figures computed with pandas/numpy from the same
tickets, asserting that both agree.
"""

from __future__ import annotations

import gc
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ticketkit import BusinessCalendar, ClockState, Customer, Event, SLAState, Ticket
from ticketkit.analytics import Dataset, ServiceReport, monthly_report
from ticketkit.model._models import replace_trusted

TZ = ZoneInfo("Asia/Shanghai")
MONTH = "2025-03"
CALENDAR = BusinessCalendar(TZ, {"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-16:00"]})
SHOPS = [f"shop-{i:02d}" for i in range(50)]
TEAMS = ["after-sales", "logistics", "quality", "billing", "returns", "install", "vip", "online"]
AGENTS = [f"agent-{i:03d}" for i in range(200)]
CHANNELS = ["wechat", "app", "phone", "web", "email"]
CATEGORIES = ["size", "quality", "delivery", "refund", "install", "billing", "account", "other"]
CATEGORY_WEIGHTS = [30, 22, 15, 11, 8, 6, 5, 3]
FAULTS = [f"fault-{i:02d}" for i in range(20)]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]


def make_data(n: int, seed: int = 7) -> tuple[list[Ticket], list[Event]]:
    """``n`` tickets in March 2025 and ``n // 10`` in February, in creation order, with a
    sparse event stream.

    Tickets are made from a few validated templates with ``replace_trusted`` so that
    building a million of them takes seconds; all values are valid.
    """
    rng = random.Random(seed)
    base = datetime(2025, 3, 1, tzinfo=TZ)
    feb = datetime(2025, 2, 1, tzinfo=TZ)
    customers = [Customer(id=f"c-{shop}", data={"store": shop}) for shop in SHOPS]
    template = Ticket(subject="Wrong size delivered", created_at=base, status="open", status_kind="open")
    t0 = base
    slas = {
        (fr, rs): SLAState(
            policy="standard",
            clocks=[
                ClockState(
                    metric="first_response", started_at=t0, stopped_at=t0, breached_at=t0 if fr else None
                ),
                ClockState(metric="resolution", started_at=t0, stopped_at=t0, breached_at=t0 if rs else None),
            ],
        )
        for fr in (False, True)
        for rs in (False, True)
    }
    field_sets = [{"fault": f} for f in FAULTS] + [{}] * 13
    tickets: list[Ticket] = []
    events: list[Event] = []
    ev_template = Event(ticket_id="x", kind="status.changed", actor="agent:x", at=base)
    rnd = rng.random
    month_seconds = 31 * 86400
    feb_seconds = 28 * 86400
    # in creation order, as a store's query(order_by="created_at") returns them
    offsets = sorted([rnd() * feb_seconds for _ in range(n // 10)]) + sorted(
        [feb_seconds + rnd() * month_seconds for _ in range(n)]
    )
    for i, offset in enumerate(offsets):
        created = feb + timedelta(seconds=offset)
        shop = rng.randrange(50)
        first = created + timedelta(seconds=300 + rnd() * 172800) if rnd() < 0.9 else None
        resolved = created + timedelta(seconds=1800 + rnd() * 864000) if rnd() < 0.8 else None
        closed = resolved + timedelta(days=2) if resolved is not None and rnd() < 0.5 else None
        assignee = AGENTS[shop * 4 + rng.randrange(4)] if rnd() < 0.95 else None  # 4 agents a shop
        tid = f"T{i:08d}"
        ticket = replace_trusted(
            template,
            id=tid,
            created_at=created,
            updated_at=created,
            customer=customers[shop],
            channel=CHANNELS[rng.randrange(5)],
            category=rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0],
            priority=Ticket.__attrs_attrs__.priority.converter(PRIORITIES[rng.randrange(6)]),  # type: ignore[attr-defined,misc]
            team=TEAMS[rng.randrange(8)],
            assignee=assignee,
            fields=field_sets[rng.randrange(len(field_sets))],
            first_response_at=first,
            resolved_at=resolved,
            closed_at=closed,
            status="closed" if closed else "resolved" if resolved else "open",
            status_kind="closed" if closed else "resolved" if resolved else "open",
            satisfaction=rng.choice((5, 5, 4, 4, 4, 3, 2, 1)) if resolved and rnd() < 0.3 else None,
            sla=slas[rnd() < 0.12, rnd() < 0.08],
        )
        tickets.append(ticket)
        if resolved is not None and rnd() < 0.04:
            events.append(
                replace_trusted(
                    ev_template,
                    ticket_id=tid,
                    at=resolved + timedelta(hours=1),
                    data={"from": "resolved", "to": "open", "from_kind": "resolved", "to_kind": "open"},
                )
            )
        if rnd() < 0.01:
            events.append(
                replace_trusted(
                    ev_template, ticket_id=tid, kind="ticket.merged", at=created, data={"into": "T0"}
                )
            )
        if rnd() < 0.01:
            events.append(
                replace_trusted(
                    ev_template, ticket_id=tid, kind="ticket.spawned", at=created, data={"child": "T1"}
                )
            )
        if assignee is not None and rnd() < 0.3:
            events.append(
                replace_trusted(
                    ev_template,
                    ticket_id=tid,
                    kind="ticket.assigned",
                    at=created + timedelta(minutes=10),
                    data={"agent": assignee, "team": "x"},
                )
            )
    return tickets, events


def run_ticketkit(tickets: list[Ticket], events: list[Event]) -> ServiceReport:
    """Read the tickets and events into a Dataset and make the monthly report."""
    ds = Dataset(tickets, events, tz=TZ, calendar=CALENDAR)
    return monthly_report(ds, month=MONTH)


# --------------------------------------------------------------------------- pandas


def pandas_frame(tickets: list[Ticket], events: list[Event]) -> Any:
    """The columns pandas needs, read from the tickets and events (timed on its own)."""
    import numpy as np
    import pandas as pd

    nan = float("nan")

    def ts(value: datetime | None) -> float:
        return nan if value is None else value.timestamp()

    def sla_flag(t: Ticket, metric: str) -> float:
        if t.sla is None:
            return nan
        for c in t.sla.clocks:
            if c.metric == metric:
                return 1.0 if c.breached_at is not None else 0.0
        return nan

    df = pd.DataFrame(
        {
            "id": [t.id for t in tickets],
            "shop": [None if t.customer is None else t.customer.data.get("store") for t in tickets],
            "created": np.array([t.created_at.timestamp() for t in tickets]),
            "first": np.array([ts(t.first_response_at) for t in tickets]),
            "resolved": np.array([ts(t.resolved_at) for t in tickets]),
            "closed": np.array([ts(t.closed_at) for t in tickets]),
            "satisfaction": [t.satisfaction for t in tickets],
            "fr_breached": [sla_flag(t, "first_response") for t in tickets],
            "res_breached": [sla_flag(t, "resolution") for t in tickets],
        }
    )
    ev = pd.DataFrame(
        {
            "ticket_id": [e.ticket_id for e in events],
            "kind": [e.kind for e in events],
            "from_kind": [e.data.get("from_kind") for e in events],
            "to_kind": [e.data.get("to_kind") for e in events],
        }
    )
    return df, ev


def pandas_overview(df: Any, ev: Any) -> dict[Any, tuple[Any, ...]]:
    """The overview figures per shop with pandas and numpy (same definitions as ticketkit)."""
    import numpy as np

    start = datetime(2025, 3, 1, tzinfo=TZ).timestamp()
    end = datetime(2025, 4, 1, tzinfo=TZ).timestamp()
    prev = datetime(2025, 2, 1, tzinfo=TZ).timestamp()
    lo = datetime.fromtimestamp(float(df["created"].min()) - 86400, TZ)
    hi = datetime.fromtimestamp(
        float(np.nanmax(df[["created", "first", "resolved", "closed"]].to_numpy())) + 86400, TZ
    )
    intervals = CALENDAR.open_intervals(lo, hi)
    starts = np.array([a.timestamp() for a, _ in intervals])
    ends = np.array([b.timestamp() for _, b in intervals])
    cums = np.concatenate([[0.0], np.cumsum(ends - starts)[:-1]])

    def cum(x: Any) -> Any:
        j = np.searchsorted(starts, x, side="right") - 1
        jj = np.clip(j, 0, None)
        out = cums[jj] + np.minimum(x, ends[jj]) - starts[jj]
        out = np.where(j < 0, 0.0, out)
        return np.where(np.isnan(x), np.nan, out)

    reopened_ids = ev.loc[
        (ev["kind"] == "status.changed")
        & ev["from_kind"].isin(["resolved", "closed"])
        & ev["to_kind"].isin(["new", "open", "pending"]),
        "ticket_id",
    ].unique()
    month = df[(df["created"] >= start) & (df["created"] < end)].copy()
    c0 = cum(month["created"].to_numpy())
    month["frt"] = np.where(month["first"] >= month["created"], cum(month["first"].to_numpy()) - c0, np.nan)
    month["res"] = np.where(
        month["resolved"] >= month["created"], cum(month["resolved"].to_numpy()) - c0, np.nan
    )
    month["reopened"] = month["id"].isin(reopened_ids)
    month["was_resolved"] = month["resolved"].notna() | month["reopened"] | month["satisfaction"].notna()
    month["happy"] = month["satisfaction"] >= 4
    month["rated"] = month["satisfaction"].notna()
    month["measured"] = month["fr_breached"].notna().astype(int) + month["res_breached"].notna().astype(int)
    month["breached"] = month["fr_breached"].fillna(0) + month["res_breached"].fillna(0)
    g = month.groupby("shop", dropna=False)
    counts = g.size()
    previous = df[(df["created"] >= prev) & (df["created"] < start)].groupby("shop", dropna=False).size()
    frt_median = g["frt"].median()
    res_median = g["res"].median()
    res_p90 = g["res"].quantile(0.9)
    measured = g["measured"].sum()
    breached = g["breached"].sum()
    happy = g["happy"].sum()
    rated = g["rated"].sum()
    reopened = g["reopened"].sum()
    was_resolved = g["was_resolved"].sum()
    end_col = df[["resolved", "closed"]].min(axis=1)
    open_at_end = df[(df["created"] <= end) & ~(end_col <= end)].groupby("shop", dropna=False).size()

    def ratio(part: Any, whole: Any) -> float | None:
        return None if whole == 0 else float(part / whole)

    def value(x: Any) -> float | None:
        return None if np.isnan(x) else float(x)

    out = {}
    for shop in counts.index:
        out[shop] = (
            int(counts[shop]),
            int(previous.get(shop, 0)),
            value(frt_median[shop]),
            value(res_median[shop]),
            value(res_p90[shop]),
            ratio(measured[shop] - breached[shop], measured[shop]),
            ratio(happy[shop], rated[shop]),
            ratio(reopened[shop], was_resolved[shop]),
            int(open_at_end.get(shop, 0)),
        )
    return out


def same(mine: tuple[Any, ...], other: tuple[Any, ...]) -> bool:
    """Equal counts, and figures within a millisecond (durations) or 1e-9 (shares)."""
    for a, b in zip(mine, other, strict=True):
        if a is None or b is None or isinstance(a, int):
            if a != b:
                return False
        elif abs(a - b) > 1e-3:
            return False
    return True


def ticketkit_overview(report: ServiceReport) -> dict[Any, tuple[Any, ...]]:
    """The same figures from the ticketkit report's overview."""
    out = {}
    for r in report.overview.rows[1:]:
        out[r.key] = (
            r.tickets,
            r.previous,
            None if r.first_response_median is None else r.first_response_median.total_seconds(),
            None if r.resolution_median is None else r.resolution_median.total_seconds(),
            None if r.resolution_p90 is None else r.resolution_p90.total_seconds(),
            r.compliance,
            r.csat,
            r.reopen_rate,
            r.backlog,
        )
    return out


def check_agreement(n: int = 2000) -> tuple[ServiceReport, dict[Any, tuple[Any, ...]]]:
    """Make ``n`` tickets, run both, and assert every overview figure agrees."""
    tickets, events = make_data(n)
    report = run_ticketkit(tickets, events)
    ours = ticketkit_overview(report)
    theirs = pandas_overview(*pandas_frame(tickets, events))
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    for shop, mine in ours.items():
        assert same(mine, theirs[shop]), (shop, mine, theirs[shop])
    return report, ours


def measure(fn: Any, repeats: int) -> list[tuple[float, float]]:
    """(wall-clock, CPU) seconds of ``repeats`` runs; CPU time is less disturbed by other
    processes on a shared machine."""
    times = []
    for _ in range(repeats):
        gc.collect()
        s, c = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - s, time.process_time() - c))
    return times


def _median(times: list[tuple[float, float]], which: int = 0) -> float:
    return statistics.median(t[which] for t in times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    check_agreement(2000)
    print("agreement with pandas on 2,200 tickets: ok")
    s = time.perf_counter()
    tickets, events = make_data(n)
    print(
        f"made {len(tickets):,} tickets ({n:,} in {MONTH}) and {len(events):,} events"
        f" in {time.perf_counter() - s:.1f} s"
    )

    load_t = measure(lambda: Dataset(tickets, events, tz=TZ, calendar=CALENDAR), repeats)
    total_t = measure(lambda: run_ticketkit(tickets, events), repeats)
    tracemalloc.start()
    report = run_ticketkit(tickets, events)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med, cpu = _median(total_t), _median(total_t, 1)
    print(
        f"ticketkit: read into a Dataset         median {_median(load_t):6.2f} s wall, "
        f"{_median(load_t, 1):6.2f} s CPU  runs {_fmt(load_t)}"
    )
    print(
        f"ticketkit: Dataset + monthly report    median {med:6.2f} s wall, {cpu:6.2f} s CPU  "
        f"runs {_fmt(total_t)}  ({med / len(tickets) * 1e6:.2f} µs/ticket)"
    )
    print(
        f"ticketkit: peak memory of Dataset + report (tracemalloc) {peak / 2**20:,.0f} MiB; "
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB "
        "(including the tickets themselves)"
    )
    print(f"report: {len(report.sections)} shops, {len(report.to_markdown()):,} characters of Markdown")

    try:
        import pandas  # noqa: F401
    except ImportError:
        print("pandas is not installed: no comparison")
        return
    frame_t = measure(lambda: pandas_frame(tickets, events), 1)
    df, ev = pandas_frame(tickets, events)
    pandas_t = measure(lambda: pandas_overview(df, ev), repeats)
    ours, theirs = ticketkit_overview(report), pandas_overview(df, ev)
    for shop, mine in ours.items():
        assert same(mine, theirs[shop]), (shop, mine, theirs[shop])
    pm, fm = _median(pandas_t), frame_t[0][0]
    print(f"pandas: tickets -> DataFrame            {fm:6.2f} s wall, {frame_t[0][1]:6.2f} s CPU")
    print(
        f"pandas: overview figures only           median {pm:6.2f} s wall, {_median(pandas_t, 1):6.2f} s CPU"
    )
    print(
        f"pandas: DataFrame + overview            {fm + pm:6.2f} s wall  "
        f"(ticketkit / pandas = {med / (fm + pm):.2f}x; ticketkit makes the full report, "
        "pandas only the overview figures)"
    )
    print("figures agree: ok")


def _fmt(times: list[tuple[float, float]]) -> str:
    return ", ".join(f"{w:.2f}" for w, _ in times)


if __name__ == "__main__":
    main()
