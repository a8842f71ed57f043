"""Analytics laws: counts add up across every grouping; business time never exceeds wall time;
the fast reports agree with a slow, obviously-correct reference."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ticketkit import BusinessCalendar, ClockState, Customer, Event, SLAState, Ticket
from ticketkit.analytics import Dataset

BASE = datetime(2025, 2, 20, tzinfo=UTC)
CALENDARS = [
    BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]}),
    BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-16:00"]}),
    BusinessCalendar("Europe/Berlin", {"daily": ["22:00-06:00"]}, holidays=["2025-03-03"]),
    BusinessCalendar.always_open("UTC"),
]
GROUPINGS = [
    None,
    "team",
    "category",
    "channel",
    "priority",
    "assignee",
    "customer.store",
    "fields.fault",
    ("team", "category"),
]

offsets = st.floats(min_value=0, max_value=40 * 86400, allow_nan=False).map(lambda s: timedelta(seconds=s))
later = st.none() | st.floats(min_value=0, max_value=10 * 86400).map(lambda s: timedelta(seconds=s))
stores = st.sampled_from(
    [Customer(id="c1", data={"store": "a"}), Customer(id="c2", data={"store": "b"}), None]
)
sla_states = st.sampled_from(
    [
        None,
        SLAState(clocks=[ClockState(metric="first_response", started_at=BASE)]),
        SLAState(
            clocks=[
                ClockState(metric="first_response", started_at=BASE, breached_at=BASE),
                ClockState(metric="resolution", started_at=BASE),
            ]
        ),
    ]
)


@st.composite
def tickets(draw: st.DrawFn, n: int) -> Ticket:
    """A ticket with random instants, keys and ratings."""
    created = BASE + draw(offsets)
    first, resolved, closed = draw(later), draw(later), draw(later)
    return Ticket(
        id=f"T{n}",
        subject="x",
        created_at=created,
        first_response_at=None if first is None else created + first,
        resolved_at=None if resolved is None else created + resolved,
        closed_at=None if closed is None else created + closed,
        team=draw(st.sampled_from(["a", "b", None])),
        category=draw(st.sampled_from(["size", "late", "broken", None])),
        channel=draw(st.sampled_from(["wechat", "phone"])),
        priority=draw(st.sampled_from(["low", "normal", "urgent"])),
        assignee=draw(st.sampled_from(["li", "wang", None])),
        customer=draw(stores),
        fields=draw(st.sampled_from([{}, {"fault": "zip"}, {"fault": "seam"}])),
        satisfaction=draw(st.none() | st.integers(1, 5)),
        parent_id=draw(st.sampled_from([None, "T0"])),
        sla=draw(sla_states),
    )


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[Ticket], list[Event], BusinessCalendar]:
    """Up to 25 tickets, some events about them, and one of the calendars."""
    n = draw(st.integers(0, 25))
    ts = [draw(tickets(i)) for i in range(n)]
    events = []
    for t in ts:
        for kind, data in draw(
            st.lists(
                st.sampled_from(
                    [
                        ("status.changed", {"from_kind": "resolved", "to_kind": "open"}),
                        ("status.changed", {"from_kind": "open", "to_kind": "resolved"}),
                        ("ticket.merged", {"into": "T0"}),
                        ("ticket.spawned", {"child": "T1"}),
                        ("sla.breached", {"metric": "resolution"}),
                        ("sla.warning", {"metric": "first_response"}),
                        ("ticket.assigned", {"agent": t.assignee or "x"}),
                    ]
                ),
                max_size=3,
            )
        ):
            events.append(
                Event(ticket_id=t.id, kind=kind, actor="a", at=t.created_at + timedelta(hours=1), data=data)
            )
    return ts, events, draw(st.sampled_from(CALENDARS))


WINDOW = {"start": datetime(2025, 3, 1, tzinfo=UTC), "end": datetime(2025, 4, 1, tzinfo=UTC)}


class TestCountsAddUp:
    @given(datasets(), st.sampled_from([{}, WINDOW]))
    def test_every_report_every_grouping(self, data: tuple, window: dict) -> None:
        """Per-group counts of every report sum to the ungrouped figure, for every grouping."""
        ts, events, cal = data
        ds = Dataset(ts, events, calendar=cal)
        at = datetime(2025, 3, 15, tzinfo=UTC)

        def totals(by: object) -> dict[str, object]:
            return {
                "volume": _sum_by(ds.volume("week", by=by, **window), "period", "count", "previous"),
                "durations": [
                    sum(r.count for r in ds.durations(m, by=by, **window))
                    for m in ("first_response", "resolution")
                ],
                "sla": _sum_by(ds.sla(by=by, **window), "metric", "tickets", "breached", "warnings"),
                "backlog": sum(r.count for r in ds.backlog(at, by=by)),
                "ageing": sum(r.count for r in ds.ageing(at, by=by)),
                "reopens": [
                    sum(getattr(r, f) for r in ds.reopens(by=by, **window)) for f in ("resolved", "reopens")
                ],
                "links": [
                    sum(getattr(r, f) for r in ds.links(by=by, **window))
                    for f in ("tickets", "merged", "spawned")
                ],
                "pareto": sum(r.count for r in ds.pareto("category", by=by, **window)),
                "csat": [sum(getattr(r, f) for r in ds.csat(by=by, **window)) for f in ("rated", "score_5")],
                "agents": sum(
                    r.resolved for r in ds.agents(by=by if isinstance(by, str) else None, **window)
                ),
            }

        reference = totals(None)
        for by in GROUPINGS[1:]:
            assert reference == totals(by), by
        cohort = [t for t in ts if not window or window["start"] <= t.created_at < window["end"]]
        assert len(cohort) == reference["links"][0]  # type: ignore[index]


def _sum_by(report: object, key: str, *fields: str) -> dict[object, tuple[int, ...]]:
    out: dict[object, list[int]] = {}
    for row in report:  # type: ignore[attr-defined]
        acc = out.setdefault(getattr(row, key), [0] * len(fields))
        for i, f in enumerate(fields):
            acc[i] += getattr(row, f)
    return {k: tuple(v) for k, v in out.items()}


class TestBusinessTime:
    @given(datasets())
    def test_business_never_exceeds_wall(self, data: tuple) -> None:
        """For every ticket and metric, business time is between 0 and the wall time."""
        ts, events, cal = data
        ds = Dataset(ts, events, calendar=cal)
        for metric, end in (("first_response", "first_response_at"), ("resolution", "resolved_at")):
            values = ds._metric(metric)
            for t, v in zip(ts, values, strict=True):
                stop = getattr(t, end)
                if stop is None:
                    assert math.isnan(v)
                else:
                    wall = (stop - t.created_at).total_seconds()
                    assert -1e-6 <= v <= wall + 1e-6

    @given(
        st.sampled_from(CALENDARS),
        st.lists(st.tuples(offsets, offsets), min_size=1, max_size=10),
    )
    def test_index_agrees_with_calendar(self, cal: BusinessCalendar, pairs: list) -> None:
        """The prefix-sum index gives what calendar.between gives, to the microsecond."""
        ts = [Ticket(subject="x", created_at=BASE), Ticket(subject="x", created_at=BASE + timedelta(days=41))]
        ds = Dataset(ts, calendar=cal)
        for da, db in pairs:
            a, b = BASE + min(da, db), BASE + max(da, db)
            expected = cal.between(a, b).total_seconds()
            assert abs(expected - ds.business_seconds(a.timestamp(), b.timestamp())) < 2e-6

    @given(datasets())
    def test_durations_match_slow_reference(self, data: tuple) -> None:
        """Mean, median and p90 per team agree with a per-ticket calendar.between reference."""
        ts, _, cal = data
        ds = Dataset(ts, calendar=cal)
        groups: dict[object, list[float]] = {}
        for t in ts:
            if t.resolved_at is not None:
                groups.setdefault(t.team, []).append(cal.between(t.created_at, t.resolved_at).total_seconds())
        got = {r.key: r for r in ds.durations("resolution", by="team")}
        assert set(groups) == set(got)
        for key, values in groups.items():
            row = got[key]
            assert len(values) == row.count
            assert abs(statistics.fmean(values) - row.mean.total_seconds()) < 1e-3  # type: ignore[union-attr]
            assert abs(statistics.median(values) - row.median.total_seconds()) < 1e-3  # type: ignore[union-attr]
            assert abs(_p90(values) - row.p90.total_seconds()) < 1e-3  # type: ignore[union-attr]

    @given(datasets())
    def test_volume_matches_reference(self, data: tuple) -> None:
        """Monthly counts per channel equal counting month labels in the report zone by hand."""
        ts, _, _ = data
        zone = ZoneInfo("Asia/Shanghai")
        ds = Dataset(ts, tz=zone)
        expected = Counter((t.created_at.astimezone(zone).strftime("%Y-%m"), t.channel) for t in ts)
        got = {(r.period, r.key): r.count for r in ds.volume("month", by="channel") if r.count}
        assert dict(expected) == got


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    pos = 0.9 * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class TestOrder:
    @given(datasets(), st.sampled_from([{}, WINDOW]))
    def test_creation_order_changes_nothing(self, data: tuple, window: dict) -> None:
        """Tickets in creation order (the sliced fast path) give the same reports as any order."""
        ts, events, cal = data
        shuffled = Dataset(list(reversed(ts)), events, calendar=cal)
        ordered = Dataset(sorted(ts, key=lambda t: t.created_at), events, calendar=cal)
        at = datetime(2025, 3, 15, tzinfo=UTC)
        for by in ("team", ("team", "category"), None):
            for make in (
                lambda d, by=by: d.volume("week", by=by, **window),
                lambda d, by=by: d.durations("resolution", by=by, **window),
                lambda d, by=by: d.sla(by=by, **window),
                lambda d, by=by: d.csat(by=by, **window),
                lambda d, by=by: d.reopens(by=by, **window),
                lambda d, by=by: d.links(by=by, **window),
                lambda d, by=by: d.pareto("category", by=by, **window),
                lambda d, by=by: d.backlog(at, by=by),
                lambda d, by=by: d.agents(**window),
            ):
                assert make(shuffled).rows == make(ordered).rows
