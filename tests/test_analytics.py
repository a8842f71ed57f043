"""Analytics: reports checked against figures computed by hand on a small fixture."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ticketkit import BusinessCalendar, ClockState, Customer, Event, SLAState, Ticket
from ticketkit.analytics import Dataset, load, monthly_report
from ticketkit.errors import ValidationError

H = 3600.0


def at(day: int, hour: float, month: int = 3) -> datetime:
    """An instant in 2025 (UTC); 2025-03-03 is a Monday."""
    return datetime(2025, month, day, tzinfo=UTC) + timedelta(hours=hour)


CAL = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
SH01 = Customer(id="c1", data={"store": "sh-01"})
SH02 = Customer(id="c2", data={"store": "sh-02"})
NOSHOP = Customer(id="c3")


def clocks(fr: str | None, res: str | None) -> SLAState:
    """SLA state with a first-response and a resolution clock: 'met', 'breached' or None."""
    out = []
    for metric, state in (("first_response", fr), ("resolution", res)):
        if state is None:
            continue
        out.append(
            ClockState(
                metric=metric,
                started_at=at(1, 0),
                stopped_at=at(1, 1),
                breached_at=at(1, 1) if state == "breached" else None,
            )
        )
    return SLAState(policy="standard", clocks=out)


def fixture_tickets() -> list[Ticket]:
    """Six tickets whose figures are worked out by hand in the tests below."""
    return [
        Ticket(
            id="A",
            subject="a",
            created_at=at(3, 9),
            first_response_at=at(3, 10),
            resolved_at=at(3, 13),
            team="after-sales",
            priority="high",
            category="size",
            channel="wechat",
            customer=SH01,
            assignee="li",
            satisfaction=5,
            fields={"fault": "zip"},
            status="resolved",
            status_kind="resolved",
            sla=clocks("met", "met"),
        ),
        Ticket(
            id="B",
            subject="b",
            created_at=at(3, 16),
            first_response_at=at(4, 10),
            resolved_at=at(5, 12),
            team="after-sales",
            category="size",
            channel="phone",
            customer=SH01,
            assignee="li",
            satisfaction=3,
            fields={"fault": "zip"},
            status="resolved",
            status_kind="resolved",
            sla=clocks("breached", "met"),
        ),
        Ticket(
            id="C",
            subject="c",
            created_at=at(7, 16),
            first_response_at=at(10, 9.5),
            team="logistics",
            priority="urgent",
            category="late",
            channel="wechat",
            customer=SH02,
            assignee="wang",
            status="open",
            status_kind="open",
            sla=clocks("breached", None),
        ),
        Ticket(
            id="D",
            subject="d",
            created_at=at(8, 10),
            first_response_at=at(8, 12),
            resolved_at=at(10, 11),
            team="logistics",
            category="size",
            channel="web",
            customer=SH02,
            assignee="wang",
            satisfaction=4,
            fields={"fault": "seam"},
            parent_id="A",
            status="resolved",
            status_kind="resolved",
        ),
        Ticket(
            id="E",
            subject="e",
            created_at=at(20, 9, month=2),
            resolved_at=at(20, 10, month=2),
            team="after-sales",
            category="broken",
            channel="wechat",
            customer=SH01,
            assignee="li",
            satisfaction=1,
            status="resolved",
            status_kind="resolved",
        ),
        Ticket(
            id="F",
            subject="f",
            created_at=at(12, 9),
            closed_at=at(12, 10),
            team="after-sales",
            category="other",
            channel="api",
            customer=NOSHOP,
            status="cancelled",
            status_kind="closed",
        ),
    ]


def fixture_events() -> list[Event]:
    """Reopen of D, F merged into A, A spawned D, B's resolution breach, C's escalation."""

    def ev(ticket: str, kind: str, when: datetime, **data: object) -> Event:
        return Event(ticket_id=ticket, kind=kind, actor="agent:li", at=when, data=data)

    return [
        ev(
            "D",
            "status.changed",
            at(9, 10),
            **{"from": "resolved", "to": "open"},
            from_kind="resolved",
            to_kind="open",
        ),
        ev(
            "D",
            "status.changed",
            at(10, 11),
            **{"from": "open", "to": "resolved"},
            from_kind="open",
            to_kind="resolved",
        ),
        ev("F", "ticket.merged", at(12, 10), into="A"),
        ev("A", "ticket.merged", at(12, 10), **{"from": "F"}),
        ev("A", "ticket.spawned", at(8, 10), child="D"),
        ev("D", "ticket.spawned", at(8, 10), parent="A"),
        ev("B", "sla.warning", at(4, 15), metric="resolution", threshold=0.75),
        ev("B", "sla.breached", at(5, 9), metric="resolution"),
        ev("C", "sla.escalated", at(10, 9), metric="first_response", level=1),
        ev("B", "ticket.assigned", at(4, 9), agent="li", team="after-sales"),
        ev("X", "ticket.created", at(1, 0)),  # a ticket not in the data
    ]


MARCH = {"start": at(1, 0), "end": at(1, 0, month=4)}


@pytest.fixture
def ds() -> Dataset:
    """The fixture on a Monday-to-Friday 09:00-17:00 UTC calendar."""
    return Dataset(fixture_tickets(), fixture_events(), calendar=CAL)


def hours(value: timedelta | None) -> float | None:
    """A duration in hours, rounded to the millisecond."""
    return None if value is None else round(value.total_seconds() / H, 6)


class TestVolume:
    def test_by_month(self, ds: Dataset) -> None:
        """February has one ticket, March five: change +4, +400 %."""
        rows = [(r.period, r.count, r.previous, r.change, r.change_pct) for r in ds.volume("month")]
        assert [("2025-02", 1, 0, 1, None), ("2025-03", 5, 1, 4, 4.0)] == rows

    def test_by_shop_with_previous_period(self, ds: Dataset) -> None:
        """Every shop gets a row in every period, with the previous count of the same shop."""
        rows = [
            (r.period, r.key, r.count, r.previous) for r in ds.volume("month", by="customer.store", **MARCH)
        ]
        assert [("2025-03", "sh-01", 2, 1), ("2025-03", "sh-02", 2, 0), ("2025-03", None, 1, 0)] == rows

    def test_by_week_in_report_zone(self) -> None:
        """Weeks are cut at Monday midnight of the report zone, not UTC."""
        sunday_late_utc = Ticket(
            subject="x", created_at=datetime(2025, 3, 2, 20, tzinfo=UTC)
        )  # Mon 04:00 +08
        utc = Dataset([sunday_late_utc]).volume("week")
        shanghai = Dataset([sunday_late_utc], tz="Asia/Shanghai").volume("week")
        assert ("2025-W09", "2025-W10") == (utc[0].period, shanghai[0].period)

    def test_by_day_fills_empty_days(self) -> None:
        """Days without tickets appear with a zero count."""
        ts = [Ticket(subject="x", created_at=at(d, 9)) for d in (3, 5)]
        assert [("2025-03-03", 1), ("2025-03-04", 0), ("2025-03-05", 1)] == [
            (r.period, r.count) for r in Dataset(ts).volume("day")
        ]

    def test_empty(self) -> None:
        """No tickets, no rows."""
        assert 0 == len(Dataset([]).volume())


class TestDurations:
    def test_first_response_business_time(self, ds: Dataset) -> None:
        """A 1h, B 2h (Mon 16:00 -> Tue 10:00), C 1.5h (Fri 16:00 -> Mon 9:30), D 0h (Saturday)."""
        r = ds.durations("first_response", **MARCH)[0]
        assert (4, 1.125, 1.25, 1.85) == (r.count, hours(r.mean), hours(r.median), hours(r.p90))

    def test_resolution_business_time(self, ds: Dataset) -> None:
        """A 4h, B 12h, D 2h: mean 6h, median 4h, p90 10.4h (linear interpolation)."""
        r = ds.durations("resolution", **MARCH)[0]
        assert (3, 6.0, 4.0, 10.4) == (r.count, hours(r.mean), hours(r.median), hours(r.p90))

    def test_resolution_wall_time_without_calendar(self) -> None:
        """Without a calendar: A 4h, B 44h, D 49h (E is February)."""
        r = Dataset(fixture_tickets()).durations("resolution", **MARCH)[0]
        assert (3, 32.333333, 44.0, 48.0) == (r.count, hours(r.mean), hours(r.median), hours(r.p90))

    def test_by_team(self, ds: Dataset) -> None:
        """after-sales: A 4h and B 12h; logistics: D 2h."""
        rows = [(r.key, r.count, hours(r.median)) for r in ds.durations("resolution", by="team", **MARCH)]
        assert [("after-sales", 2, 8.0), ("logistics", 1, 2.0)] == rows

    def test_by_priority(self, ds: Dataset) -> None:
        """Priorities group by their lower-case name."""
        rows = [(r.key, r.count) for r in ds.durations("first_response", by="priority", **MARCH)]
        assert [("high", 1), ("normal", 2), ("urgent", 1)] == rows

    def test_handling_from_last_assignment(self, ds: Dataset) -> None:
        """B was assigned to li on Tue 09:00: 11h of handling; A counts from creation: 4h."""
        rows = {r.key: hours(r.mean) for r in ds.durations("handling", by="assignee", **MARCH)}
        assert {"li": 7.5, "wang": 2.0} == rows

    def test_calendar_with_between_only(self) -> None:
        """A calendar offering only between() gives the same figures, one call per ticket."""

        class Between:
            def between(self, a: datetime, b: datetime) -> timedelta:
                return CAL.between(a, b)

        slow = Dataset(fixture_tickets(), calendar=Between()).durations("resolution", **MARCH)[0]
        fast = Dataset(fixture_tickets(), calendar=CAL).durations("resolution", **MARCH)[0]
        assert (fast.mean, fast.median, fast.p90) == (slow.mean, slow.median, slow.p90)

    def test_unknown_metric(self, ds: Dataset) -> None:
        """An unknown metric names the known ones."""
        with pytest.raises(ValidationError, match="first_response, resolution, handling"):
            ds.durations("speed")


class TestSLA:
    def test_per_metric(self, ds: Dataset) -> None:
        """First response: A met, B and C breached; resolution: A met, B breached (event)."""
        rows = [(r.metric, r.tickets, r.met, r.breached, r.warnings, r.escalations) for r in ds.sla(**MARCH)]
        assert [("first_response", 3, 1, 2, 0, 1), ("resolution", 2, 1, 1, 1, 0)] == rows
        assert pytest.approx([1 / 3, 0.5]) == [r.compliance for r in ds.sla(**MARCH)]

    def test_per_team(self, ds: Dataset) -> None:
        """Per team and metric."""
        rows = [(r.metric, r.key, r.tickets, r.breached) for r in ds.sla(by="team", **MARCH)]
        assert [
            ("first_response", "after-sales", 2, 1),
            ("first_response", "logistics", 1, 1),
            ("resolution", "after-sales", 2, 1),
        ] == rows

    def test_running_clock_is_neither_met_nor_breached(self) -> None:
        """A clock still running within its target counts as running, not met."""
        t0 = datetime(2025, 3, 3, 9, tzinfo=UTC)

        def ticket(**clock: datetime) -> Ticket:
            state = SLAState(policy="p", clocks=[ClockState(metric="resolution", started_at=t0, **clock)])
            return Ticket(subject="x", created_at=t0, sla=state)

        running = ticket(running_since=t0)
        met = ticket(stopped_at=t0 + timedelta(hours=1))
        late = ticket(stopped_at=t0 + timedelta(hours=9), breached_at=t0 + timedelta(hours=8))
        [row] = Dataset([running, met, late]).sla()
        assert (3, 1, 1, 1, 0.5) == (row.tickets, row.met, row.breached, row.running, row.compliance)


class TestBacklog:
    def test_at_an_instant(self, ds: Dataset) -> None:
        """On Mon 10 March 12:00 only C is open, 2 days 20 hours old."""
        rows = [(r.key, r.count, hours(r.oldest_age)) for r in ds.backlog(at(10, 12))]
        assert [("all", 1, 68.0)] == rows

    def test_business_age(self, ds: Dataset) -> None:
        """C's business age at Mon 12:00: Fri 16-17 and Mon 9-12: 4 hours."""
        assert 4.0 == hours(ds.backlog(at(10, 12), business=True)[0].oldest_age)

    def test_cancelled_ticket_open_until_closed(self, ds: Dataset) -> None:
        """F is open between its creation and its closing."""
        assert [("after-sales", 1), ("logistics", 1)] == [
            (r.key, r.count) for r in ds.backlog(at(12, 9.5), by="team")
        ]

    def test_ageing_buckets(self, ds: Dataset) -> None:
        """C is in the 1-3 day bucket."""
        rows = {r.bucket: r.count for r in ds.ageing(at(10, 12))}
        assert {"<1d": 0, "1-3d": 1, "3-7d": 0, "7-14d": 0, "14-30d": 0, "30d+": 0} == rows

    def test_custom_buckets(self, ds: Dataset) -> None:
        """Buckets can be hours."""
        rows = [r.bucket for r in ds.ageing(at(10, 12), buckets=[timedelta(hours=4), timedelta(days=2)])]
        assert ["<4h", "4h-2d", "2d+"] == rows

    def test_bad_buckets(self, ds: Dataset) -> None:
        """Buckets must increase."""
        with pytest.raises(ValidationError, match="buckets"):
            ds.ageing(at(10, 12), buckets=[timedelta(days=2), timedelta(days=1)])

    def test_naive_instant(self, ds: Dataset) -> None:
        """A naive instant is refused, naming the parameter."""
        with pytest.raises(ValidationError, match="at"):
            ds.backlog(datetime(2025, 3, 10))


class TestReopensAndLinks:
    def test_reopen_rate(self, ds: Dataset) -> None:
        """A, B and D were resolved; D was reopened once."""
        r = ds.reopens(**MARCH)[0]
        assert (3, 1, 1) == (r.resolved, r.reopened, r.reopens)
        assert pytest.approx(1 / 3) == r.rate

    def test_links(self, ds: Dataset) -> None:
        """F merged into A (counted once, on F), A spawned D, D has a parent."""
        r = ds.links(**MARCH)[0]
        assert (5, 1, 0, 1, 1) == (r.tickets, r.merged, r.split, r.spawned, r.children)

    def test_orphan_events(self, ds: Dataset) -> None:
        """Events of unknown tickets are counted, not failed on."""
        assert 1 == ds.orphan_events


class TestPareto:
    def test_categories(self, ds: Dataset) -> None:
        """size 3, late 1, other 1: the first two make 80 %."""
        rows = [(r.rank, r.key, r.count, r.cumulative_share, r.vital) for r in ds.pareto("category", **MARCH)]
        assert [(1, "size", 3, 0.6, True), (2, "late", 1, 0.8, True), (3, "other", 1, 1.0, False)] == rows

    def test_fault_types(self, ds: Dataset) -> None:
        """zip twice, seam once; tickets without a fault are left out."""
        rows = [(r.key, r.count) for r in ds.top_values("fields.fault", 5, **MARCH)]
        assert [("zip", 2), ("seam", 1)] == rows

    def test_per_group(self, ds: Dataset) -> None:
        """Ranks restart in every group."""
        rows = [(r.group, r.rank, r.key) for r in ds.pareto("category", by="team", **MARCH)]
        assert [
            ("after-sales", 1, "size"),
            ("after-sales", 2, "other"),
            ("logistics", 1, "late"),
            ("logistics", 2, "size"),
        ] == rows

    def test_tags_count_each_tag(self) -> None:
        """A list-valued field counts every element."""
        ts = [Ticket(subject="x", created_at=at(3, 9), tags=t) for t in (["a", "b"], ["a"])]
        assert [("a", 2), ("b", 1)] == [(r.key, r.count) for r in Dataset(ts).pareto("tags")]

    def test_bad_threshold(self, ds: Dataset) -> None:
        """The threshold is a share."""
        with pytest.raises(ValidationError, match="threshold"):
            ds.pareto("category", threshold=80)


class TestCSAT:
    def test_average_and_distribution(self, ds: Dataset) -> None:
        """Ratings 5, 3, 4 in March: average 4, two of three satisfied."""
        r = ds.csat(**MARCH)[0]
        assert (3, 3, 4.0, 1.0) == (r.resolved, r.rated, r.average, r.response_rate)
        assert (0, 0, 1, 1, 1) == (r.score_1, r.score_2, r.score_3, r.score_4, r.score_5)
        assert pytest.approx(2 / 3) == r.csat

    def test_by_shop(self, ds: Dataset) -> None:
        """Shops without ratings have no average."""
        rows = [(r.key, r.rated, r.average) for r in ds.csat(by="customer.store", **MARCH)]
        assert [("sh-01", 2, 4.0), ("sh-02", 1, 4.0), (None, 0, None)] == rows


class TestAgents:
    def test_throughput_and_handling(self, ds: Dataset) -> None:
        """li resolved A and B (4h and 11h); wang resolved D (2h, reopened once)."""
        rows = [
            (r.agent, r.assigned, r.resolved, hours(r.handling_mean), r.csat_average, r.reopened)
            for r in ds.agents(**MARCH)
        ]
        assert [("li", 2, 2, 7.5, 4.0, 0), ("wang", 2, 1, 2.0, 4.0, 1)] == rows
        assert pytest.approx(2 / 31) == ds.agents(**MARCH)[0].per_day

    def test_by_shop(self, ds: Dataset) -> None:
        """With ``by`` the agent is paired with the group."""
        assert [("sh-01", "li"), ("sh-02", "wang")] == [
            r.agent for r in ds.agents(by="customer.store", **MARCH)
        ]


class TestKeys:
    def test_unknown_field(self, ds: Dataset) -> None:
        """An unknown field lists what is known."""
        with pytest.raises(ValidationError, match=r"by: unknown field 'colour' \(expected one of: id,"):
            ds.volume(by="colour")

    def test_compound_and_callable(self, ds: Dataset) -> None:
        """A tuple of fields makes a compound key; a function works too."""
        keys = [r.key for r in ds.volume(by=("team", "channel"), **MARCH) if r.count]
        assert ("after-sales", "api") in keys
        assert [False, True] == [r.key for r in ds.volume(by=lambda t: t.priority.rank >= 2, **MARCH)]

    def test_customer_fields(self, ds: Dataset) -> None:
        """``customer`` is the id, ``customer.tier`` an attribute, ``customer.store`` data."""
        assert ["c1", "c1", "c2", "c2", "c1", "c3"] == ds.column("customer")
        assert {"standard"} == set(ds.column("customer.tier"))

    def test_bad_construction(self) -> None:
        """Bad time zone and calendar are reported together."""
        with pytest.raises(ValidationError) as info:
            Dataset([], tz="Mars/Olympus", calendar=object())  # type: ignore[arg-type]
        assert ["tz", "calendar"] == [e.path for e in info.value.errors]

    def test_not_a_ticket(self) -> None:
        """A wrong item is named by its position."""
        with pytest.raises(ValidationError, match=r"tickets\[0\]"):
            Dataset(["nope"])  # type: ignore[list-item]


class TestSources:
    def test_from_store(self) -> None:
        """A store's tickets and events are read page by page."""
        import ticketkit as tk

        store = tk.InMemoryStore()
        events = {e.ticket_id: [] for e in fixture_events()}
        for e in fixture_events():
            events[e.ticket_id].append(e)
        for t in fixture_tickets():
            store.create(t, [e for e in events.get(t.id, []) if e.kind != "ticket.created"])
        ds = Dataset.from_store(store, calendar=CAL, page_size=2)
        assert 6 == len(ds)
        assert 1 == ds.reopens(**MARCH)[0].reopened

    def test_from_sqlite_store(self, tmp_path: object) -> None:
        """The SQLite store gives the same figures as the list it was filled from."""
        import ticketkit as tk

        store = tk.SQLiteStore(str(tmp_path / "desk.db"))  # type: ignore[operator]
        by_ticket: dict[str, list[Event]] = {}
        for e in fixture_events():
            by_ticket.setdefault(e.ticket_id, []).append(e)
        for t in fixture_tickets():
            store.create(t, [e for e in by_ticket.get(t.id, []) if e.kind != "ticket.created"])
        from_store = Dataset.from_store(store, calendar=CAL)
        from_list = Dataset(fixture_tickets(), fixture_events(), calendar=CAL)
        for make in (
            lambda d: d.durations("resolution", by="team", **MARCH),
            lambda d: d.sla(**MARCH),
            lambda d: d.reopens(**MARCH),
            lambda d: d.links(**MARCH),
        ):
            assert make(from_list).rows == make(from_store).rows
        store.close()

    def test_load(self) -> None:
        """load() passes a Dataset through and wraps anything else."""
        ds = Dataset([])
        assert ds is load(ds)
        assert 6 == len(load(fixture_tickets()))
        with pytest.raises(ValidationError, match="source"):
            load(42)


class TestMonthlyReport:
    def test_overview(self, ds: Dataset) -> None:
        """The overview row of each shop, worked out by hand."""
        report = monthly_report(ds, month="2025-03")
        rows = {
            r.key: (
                r.tickets,
                r.previous,
                r.change_pct,
                hours(r.first_response_median),
                hours(r.resolution_median),
                r.backlog,
            )
            for r in report.overview
        }
        assert {
            "all": (5, 1, 4.0, 1.25, 4.0, 1),
            "sh-01": (2, 1, 1.0, 1.5, 8.0, 0),
            "sh-02": (2, 0, None, 0.75, 2.0, 1),
            None: (1, 0, None, None, None, 0),
        } == rows
        assert pytest.approx([0.4, 0.5, 0.0]) == [r.compliance for r in report.overview[:3]]
        assert pytest.approx([1 / 3, 0.0, 1.0]) == [r.reopen_rate for r in report.overview[:3]]

    def test_sections(self, ds: Dataset) -> None:
        """Each shop's section holds its own tables, keyed by department and agent."""
        section = monthly_report(ds, month="2025-03").section("sh-02")
        assert [("late", 1), ("size", 1)] == [(r.key, r.count) for r in section.categories]
        assert ["wang"] == [r.agent for r in section.agents]
        assert {"logistics"} == {r.key for r in section.departments}
        with pytest.raises(KeyError):
            monthly_report(ds, month="2025-03").section("sh-99")

    def test_markdown_and_html(self, ds: Dataset) -> None:
        """The report renders as Markdown and HTML with every shop."""
        report = monthly_report(ds, month="2025-03")
        md, page = report.to_markdown(images={"trend": "trend.png"}), report.to_html()
        assert md.startswith("# Service quality report, 2025-03\n")
        assert "## sh-01" in md
        assert "![Ticket volume trend](trend.png)" in md
        assert "<h2>sh-02</h2>" in page
        assert page == report._repr_html_()
        assert report.to_markdown() == str(report)

    def test_month_in_report_zone(self) -> None:
        """A ticket at 20:00 UTC on the last day of February is March in Shanghai."""
        t = Ticket(subject="x", created_at=datetime(2025, 2, 28, 20, tzinfo=UTC))
        report = monthly_report([t], month="2025-03", tz="Asia/Shanghai", by="channel")
        assert 1 == report.overview[0].tickets

    def test_bad_month(self, ds: Dataset) -> None:
        """Months look like 2025-03."""
        with pytest.raises(ValidationError, match="month"):
            monthly_report(ds, month="March")


class TestEdges:
    def test_nested_and_structured_fields(self) -> None:
        """Nested custom fields are reachable; lists and mappings become hashable keys."""
        ts = [
            Ticket(
                subject="x", created_at=at(3, 9), fields={"product": {"line": "shoes"}, "parts": ["a", "b"]}
            ),
            Ticket(subject="x", created_at=at(3, 9), fields={"product": "flat", "meta": {"k": 1}}),
        ]
        ds = Dataset(ts)
        assert ["shoes", None] == ds.column("fields.product.line")
        assert [("a", "b"), None] == ds.column("fields.parts")
        assert [None, (("k", 1),)] == ds.column("fields.meta")

    def test_bad_key_type(self, ds: Dataset) -> None:
        """A key that is neither a path, a tuple of paths nor a function is refused."""
        with pytest.raises(ValidationError, match="expected a field path"):
            ds.volume(by=42)  # type: ignore[arg-type]

    def test_unknown_period(self, ds: Dataset) -> None:
        """Periods are day, week or month."""
        with pytest.raises(ValidationError, match="day, week, month"):
            ds.volume("quarter")

    def test_split_events_and_tickets(self) -> None:
        """A split counts on the ticket that was split; the dataset keeps its tickets."""
        ts = fixture_tickets()
        ev = [Event(ticket_id="A", kind="ticket.split", actor="li", at=at(3, 12), data={"into": "Z"})]
        ds = Dataset(ts, ev)
        assert 1 == ds.links()[0].split
        assert ts == list(ds.tickets)

    def test_business_seconds_of_nothing(self) -> None:
        """A missing instant gives NaN."""
        assert math.isnan(Dataset([], calendar=CAL).business_seconds(math.nan, 0.0))

    def test_between_only_calendar_everywhere(self, ds: Dataset) -> None:
        """Handling times and business ages work with a calendar that has only between()."""

        class Between:
            def between(self, a: datetime, b: datetime) -> timedelta:
                return CAL.between(a, b)

        slow = Dataset(fixture_tickets(), fixture_events(), calendar=Between())
        assert [r.mean for r in ds.durations("handling", by="assignee", **MARCH)] == [
            r.mean for r in slow.durations("handling", by="assignee", **MARCH)
        ]
        assert 4.0 == hours(slow.backlog(at(10, 12), business=True)[0].oldest_age)

    def test_volume_window_inside_the_data(self, ds: Dataset) -> None:
        """A window narrower than the data counts only its periods (and the one before)."""
        rows = [(r.period, r.count, r.previous) for r in ds.volume("day", start=at(7, 0), end=at(9, 0))]
        assert [("2025-03-07", 1, 0), ("2025-03-08", 1, 1)] == rows

    def test_minute_buckets(self, ds: Dataset) -> None:
        """Bucket bounds below an hour are named in minutes."""
        names = [r.bucket for r in ds.ageing(at(10, 12), buckets=[timedelta(minutes=30), timedelta(hours=1)])]
        assert ["<30m", "30m-1h", "1h+"] == names

    def test_load_a_store(self) -> None:
        """load() reads a store page by page."""
        import ticketkit as tk

        store = tk.InMemoryStore()
        store.create(fixture_tickets()[0])
        assert 1 == len(load(store, calendar=CAL))
