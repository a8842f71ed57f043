"""The monthly service quality report, per shop or department, in Markdown and HTML.

What the seed's managers read each month: volume and its trend, how fast first
responses and resolutions came (in business time), SLA compliance, the most frequent
problem and fault types, customer satisfaction, and per department and agent where it
goes slow. [`monthly_report`][ticketkit.analytics.monthly_report] computes every table once, grouped by the
shop, and cuts the results into one [`ShopSection`][ticketkit.analytics.ShopSection] per shop.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import attrs

from ticketkit.analytics._business import CalendarLike
from ticketkit.analytics._common import _gc_paused
from ticketkit.analytics._dataset import Dataset, load
from ticketkit.analytics._durations import duration_groups, duration_report
from ticketkit.analytics._keys import KeySpec, _by_title
from ticketkit.analytics._periods import _label, _midnight, _next, _prev
from ticketkit.analytics._table import (
    ALL,
    AgeingRow,
    AgentRow,
    Chart,
    CSATRow,
    DurationRow,
    OverviewRow,
    ParetoRow,
    ReopenRow,
    Report,
    SLARow,
    VolumeRow,
    format_cell,
)
from ticketkit.errors import ValidationError
from ticketkit.model._models import Event

# No __all__: the public names are re-exported from ticketkit.analytics (a sub-namespace,
# deliberately not from ticketkit itself).

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

# Scoped to the report's own classes, so the fragment can sit inside any page.
_STYLE = (
    "<style>"
    ".ticketkit-service-report{font-family:system-ui,sans-serif;max-width:72rem}"
    ".ticketkit-report{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    ".ticketkit-report th,.ticketkit-report td{border-bottom:1px solid #ddd;padding:.25rem .6rem}"
    ".ticketkit-report th{text-align:left;background:#f5f5f7}"
    ".ticketkit-report td{font-variant-numeric:tabular-nums}"
    "</style>"
)

_HEADERS: Mapping[str, str] = {
    "tickets": "tickets",
    "previous": "last month",
    "change_pct": "change",
    "first_response_median": "first response (median)",
    "resolution_median": "resolution (median)",
    "resolution_p90": "resolution (p90)",
    "compliance": "SLA met",
    "csat": "CSAT (4-5)",
    "reopen_rate": "reopened",
    "backlog": "open at month end",
}


@attrs.frozen(kw_only=True)
class ShopSection:
    """The part of the monthly report about one shop (or department).

    Each table is a [`Report`][ticketkit.analytics.Report] restricted to the shop; in
    ``departments`` and ``agents`` the key is the department or agent.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> t = tk.Ticket(subject="x", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc), category="size")
        >>> section = monthly_report([t], month="2025-03", by="channel").sections[0]
        >>> section.key, section.categories[0].key
        ('api', 'size')
    """

    key: Any
    overview: OverviewRow
    channels: Report[ParetoRow]
    categories: Report[ParetoRow]
    faults: Report[ParetoRow]
    response: Report[DurationRow]
    departments: Report[DurationRow]
    sla: Report[SLARow]
    csat: Report[CSATRow]
    reopens: Report[ReopenRow]
    agents: Report[AgentRow]
    ageing: Report[AgeingRow]


@attrs.frozen(kw_only=True)
class ServiceReport:
    """The monthly service quality report: an overview per shop, a trend, and one section per shop.

    ``str(report)`` and [`to_markdown`][ticketkit.analytics.ServiceReport.to_markdown] give Markdown;
    [`to_html`][ticketkit.analytics.ServiceReport.to_html] (and ``_repr_html_`` in notebooks) a self-contained
    HTML fragment. The tables inside are [`Report`][ticketkit.analytics.Report]s, so each can be printed,
    turned into a DataFrame or plotted on its own.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> t = tk.Ticket(subject="x", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
        >>> report = monthly_report([t], month="2025-03", by="channel")
        >>> report.month, [row.key for row in report.overview]
        ('2025-03', ['all', 'api'])
        >>> report.to_markdown().splitlines()[0]
        '# Service quality report, 2025-03'
    """

    title: str
    month: str
    start: datetime
    end: datetime
    by: str
    business_time: bool
    overview: Report[OverviewRow]
    trend: Report[VolumeRow]
    sections: tuple[ShopSection, ...]

    def section(self, key: Any) -> ShopSection:
        """The section of one shop.

        Raises:
            KeyError: no such shop in the report.
        """
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_markdown(self, *, images: Mapping[str, str] | None = None) -> str:
        """The report as Markdown; ``images`` maps a chart name (``trend``) to an image path.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> t = tk.Ticket(subject="x", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
            >>> "## Overview" in monthly_report([t], month="2025-03").to_markdown()
            True
        """
        images = images or {}
        unit = "business hours" if self.business_time else "wall-clock time"
        out = [
            f"# {self.title}, {self.month}",
            "",
            (
                f"Tickets created from {self.start.date().isoformat()} to "
                f"{_last_day(self.end).isoformat()} ({self.start.tzinfo}), by {self.by}; "
                f"durations in {unit}."
            ),
            "",
            "## Overview",
            "",
            self.overview.to_markdown(headers={"key": self.by, **_HEADERS}),
            "",
        ]
        if "trend" in images:
            out += [f"![Ticket volume trend]({images['trend']})", ""]
        for s in self.sections:
            summary = _summary(s.overview, self.month, business=self.business_time)
            out += [f"## {format_cell('key', s.key)}", "", summary, ""]
            for title, table, headers in _tables(s):
                if not len(table):
                    continue
                out += [f"### {title}", "", table.to_markdown(headers=headers), ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        """The report as an HTML fragment (headings, paragraphs and tables)."""
        unit = "business hours" if self.business_time else "wall-clock time"
        out = [
            _STYLE,
            f'<div class="ticketkit-service-report"><h1>{html.escape(self.title)}, {self.month}</h1>',
            (
                f"<p>Tickets created from {self.start.date().isoformat()} to "
                f"{_last_day(self.end).isoformat()} ({html.escape(str(self.start.tzinfo))}), "
                f"by {html.escape(self.by)}; durations in {unit}.</p>"
            ),
            "<h2>Overview</h2>",
            self.overview.to_html(title=False, headers={"key": self.by, **_HEADERS}),
        ]
        for s in self.sections:
            out.append(f"<h2>{html.escape(format_cell('key', s.key))}</h2>")
            out.append(f"<p>{html.escape(_summary(s.overview, self.month, business=self.business_time))}</p>")
            for title, table, headers in _tables(s):
                if len(table):
                    out += [f"<h3>{html.escape(title)}</h3>", table.to_html(title=False, headers=headers)]
        out.append("</div>")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


def _last_day(end: datetime) -> date:
    return date.fromordinal(end.date().toordinal() - 1)


def _summary(row: OverviewRow, month: str, *, business: bool) -> str:
    parts = [f"{row.tickets} tickets"]
    if row.change_pct is not None:
        parts[0] += f" ({row.change_pct:+.1%} on the month before)"
    if row.first_response_median is not None:
        parts.append(f"median first response {format_cell('', row.first_response_median, business=business)}")
    if row.resolution_median is not None:
        parts.append(f"median resolution {format_cell('', row.resolution_median, business=business)}")
    if row.compliance is not None:
        parts.append(f"SLA met {row.compliance:.1%}")
    if row.csat is not None:
        parts.append(f"CSAT {row.csat:.1%}")
    parts.append(f"{row.backlog} open at the end of {month}")
    return "; ".join(parts) + "."


def _tables(s: ShopSection) -> list[tuple[str, Report[Any], Mapping[str, str]]]:
    return [
        ("Response and resolution times", s.response, {"key": "scope"}),
        ("Where it goes slow: departments", s.departments, {"key": "department"}),
        ("Top problem types", s.categories, {"key": "category"}),
        ("Most frequent faults", s.faults, {"key": "fault"}),
        ("Channels", s.channels, {"key": "channel"}),
        ("SLA compliance", s.sla, {"key": "scope"}),
        ("Customer satisfaction", s.csat, {"key": "scope"}),
        ("Reopened tickets", s.reopens, {"key": "scope"}),
        ("Agents", s.agents, {}),
        ("Backlog age at month end", s.ageing, {"key": "scope"}),
    ]


def _month_bounds(month: Any, tz: tzinfo) -> tuple[date, str]:
    if isinstance(month, datetime):
        first = month.astimezone(tz).date().replace(day=1) if month.tzinfo else month.date().replace(day=1)
    elif isinstance(month, date):
        first = month.replace(day=1)
    elif isinstance(month, str) and (m := _MONTH.match(month)) and 1 <= int(m.group(2)) <= 12:
        first = date(int(m.group(1)), int(m.group(2)), 1)
    else:
        raise ValidationError.one("month", f"expected a month like '2025-03' or a date, got {month!r}")
    return first, _label(first, "month")


def _split(report: Report[Any], attr: str = "key") -> dict[Any, list[Any]]:
    """Rows of a report keyed by (shop, x), grouped by shop and re-keyed by x."""
    out: dict[Any, list[Any]] = {}
    for row in report.rows:
        shop, rest = getattr(row, attr)
        out.setdefault(shop, []).append(attrs.evolve(row, **{attr: rest}))
    return out


def _rows_by_key(report: Report[Any], attr: str = "key") -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    for row in report.rows:
        out.setdefault(getattr(row, attr), []).append(row)
    return out


def _sub(report: Report[Any], rows: Iterable[Any], title: str, *, drop: str = "") -> Report[Any]:
    """``rows`` under ``title`` with the columns and chart of ``report``, less column ``drop``
    (the shop, which the section's heading already names)."""
    columns = tuple(c for c in report.columns if c != drop)
    return attrs.evolve(report, title=title, rows=tuple(rows), columns=columns)


def monthly_report(
    source: Any,
    *,
    month: str | date,
    by: str = "customer.store",
    department: str = "team",
    agent: str = "assignee",
    fault: str = "fields.fault",
    events: Iterable[Event] | None = None,
    tz: str | tzinfo = "UTC",
    calendar: CalendarLike | None = None,
    top: int = 5,
    trend_months: int = 6,
    title: str = "Service quality report",
) -> ServiceReport:
    """The monthly service quality report per shop (``by``), as in the seed's retail case.

    ``source`` is a [`Dataset`][ticketkit.analytics.Dataset] (then ``events``, ``tz`` and ``calendar`` are the
    dataset's), a store or an iterable of tickets. Each shop gets volume against the
    month before, median and p90 first response and resolution in business time (per
    department too), SLA compliance, the top ``top`` categories and faults, the
    channel mix, CSAT, reopens, per-agent throughput and the backlog age at month end.
    ``trend`` counts tickets per month and shop over the last ``trend_months`` months.
    In each section, ``departments`` lists per metric the slowest department first.

    Raises:
        ValidationError: a bad month, field path, time zone or calendar.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> shop = tk.Customer(id="c1", data={"store": "sh-01"})
        >>> ts = [
        ...     tk.Ticket(subject="x", created_at=t0, customer=shop, resolved_at=t0 + timedelta(hours=h))
        ...     for h in (1, 2, 3)
        ... ]
        >>> report = monthly_report(ts, month="2025-03")
        >>> row = report.overview[1]
        >>> row.key, row.tickets, row.resolution_median
        ('sh-01', 3, datetime.timedelta(seconds=7200))
    """
    ds = source if isinstance(source, Dataset) else load(source, events, tz=tz, calendar=calendar)
    with _gc_paused():  # many acyclic rows and counters; no full collections meanwhile
        return _monthly(
            ds,
            month=month,
            by=by,
            department=department,
            agent=agent,
            fault=fault,
            top=top,
            trend_months=trend_months,
            title=title,
        )


def _monthly(
    ds: Dataset,
    *,
    month: str | date,
    by: str,
    department: str,
    agent: str,
    fault: str,
    top: int,
    trend_months: int,
    title: str,
) -> ServiceReport:
    zone = ds.tz
    first, label = _month_bounds(month, zone)
    start = _midnight(first, zone)
    end = _midnight(_next(first, "month"), zone)
    trend_first = first
    for _ in range(max(trend_months, 1) - 1):
        trend_first = _prev(trend_first, "month")
    t = _month_tables(
        ds,
        start=start,
        end=end,
        trend_start=_midnight(trend_first, zone),
        label=label,
        keys=_Keys(by=by, department=department, agent=agent, fault=fault),
        top=top,
    )
    rows = [
        _overview(
            key=ALL,
            vol=_total_volume(t.volume.rows),
            fr=list(t.frt_all.rows),
            rs=list(t.res_all.rows),
            sl=list(t.sla.rows),
            cs=_total_csat(t.csat.rows),
            ro=_total_reopens(t.reopens.rows),
            open_now=sum(t.backlog.values()),
        )
    ]
    sections = []
    for shop in _ordered(t.by_shop["volume"], t.backlog):
        section = _section(shop, t)
        rows.append(section.overview)
        sections.append(section)
    return ServiceReport(
        title=title,
        month=label,
        start=start,
        end=end,
        by=by,
        business_time=ds.calendar is not None,
        overview=Report(
            title=f"{title}, {label}" + _by_title(by),
            rows=tuple(rows),
            chart=Chart(kind="bar", x="key", y=("tickets", "previous"), ylabel="tickets"),
            business_time=ds.calendar is not None,
        ),
        trend=t.trend,
        sections=tuple(sections),
    )


@attrs.frozen(kw_only=True)
class _Keys:
    """The field paths the monthly report groups by."""

    by: str
    department: str
    agent: str
    fault: str


@attrs.frozen(kw_only=True)
class _MonthTables:
    """Every table of the month, computed once over all shops; sections are cut from them."""

    trend: Report[VolumeRow]
    volume: Report[VolumeRow]
    frt: Report[DurationRow]
    res: Report[DurationRow]
    frt_all: Report[DurationRow]
    res_all: Report[DurationRow]
    sla: Report[SLARow]
    csat: Report[CSATRow]
    reopens: Report[ReopenRow]
    backlog: dict[Any, int]
    by_shop: dict[str, dict[Any, list[Any]]]
    """Rows per shop, per table name."""


def _month_tables(
    ds: Dataset,
    *,
    start: datetime,
    end: datetime,
    trend_start: datetime,
    label: str,
    keys: _Keys,
    top: int,
) -> _MonthTables:
    by = keys.by
    business = ds.calendar is not None
    shop_dept: KeySpec = (by, keys.department)
    # One pass for the trend; the month's rows and every "all" figure that is a sum are
    # taken from the per-shop rows (counts add up), not computed again.
    trend = ds.volume("month", by=by, start=trend_start, end=end)
    volume = _sub(trend, [r for r in trend if r.period == label], "Ticket volume")
    # Durations are grouped once per (shop, department); shops and the total roll up
    # from those sorted groups (medians do not add up, sorted runs merge cheaply).
    frt_groups = duration_groups(ds, "first_response", shop_dept, start, end)
    res_groups = duration_groups(ds, "resolution", shop_dept, start, end)
    frt = duration_report("first_response", by, _roll_up(frt_groups), business=business)
    res = duration_report("resolution", by, _roll_up(res_groups), business=business)
    sla = ds.sla(by=by, start=start, end=end)
    csat = ds.csat(by=by, start=start, end=end)
    reopens = ds.reopens(by=by, start=start, end=end)
    by_shop = {
        "volume": _rows_by_key(volume),
        "frt": _rows_by_key(frt),
        "res": _rows_by_key(res),
        "sla": _rows_by_key(sla),
        "csat": _rows_by_key(csat),
        "reopens": _rows_by_key(reopens),
        "dept_frt": _split(duration_report("first_response", shop_dept, frt_groups, business=business)),
        "dept_res": _split(duration_report("resolution", shop_dept, res_groups, business=business)),
        "categories": _rows_by_key(ds.pareto("category", by=by, top=top, start=start, end=end), "group"),
        "faults": _rows_by_key(ds.top_values(keys.fault, top, by=by, start=start, end=end), "group"),
        "channels": _rows_by_key(ds.pareto("channel", by=by, start=start, end=end), "group"),
        "agents": _split(ds.agents(by=by, agent=keys.agent, start=start, end=end), "agent"),
        "ageing": _rows_by_key(ds.ageing(end, by=by)),
    }
    return _MonthTables(
        trend=trend,
        volume=volume,
        frt=frt,
        res=res,
        frt_all=duration_report("first_response", None, _roll_up(frt_groups, total=True), business=business),
        res_all=duration_report("resolution", None, _roll_up(res_groups, total=True), business=business),
        sla=sla,
        csat=csat,
        reopens=reopens,
        backlog={r.key: r.count for r in ds.backlog(end, by=by)},
        by_shop=by_shop,
    )


def _section(shop: Any, t: _MonthTables) -> ShopSection:
    """One shop's section, cut from the month's tables."""
    rows = {name: per_shop.get(shop, []) for name, per_shop in t.by_shop.items()}
    overview = _overview(
        key=shop,
        vol=rows["volume"],
        fr=rows["frt"],
        rs=rows["res"],
        sl=rows["sla"],
        cs=rows["csat"],
        ro=rows["reopens"],
        open_now=t.backlog.get(shop, 0),
    )
    return ShopSection(
        key=shop,
        overview=overview,
        channels=_sub(_pareto_template(), rows["channels"], "Channels", drop="group"),
        categories=_sub(_pareto_template(), rows["categories"], "Top problem types", drop="group"),
        faults=_sub(_pareto_template(), rows["faults"], "Most frequent faults", drop="group"),
        response=_sub(t.frt, [*rows["frt"], *rows["res"]], "Response and resolution times"),
        departments=_sub(t.frt, _slowest_first([*rows["dept_frt"], *rows["dept_res"]]), "Departments"),
        sla=_sub(t.sla, rows["sla"], "SLA compliance"),
        csat=_sub(t.csat, rows["csat"], "Customer satisfaction"),
        reopens=_sub(t.reopens, rows["reopens"], "Reopened tickets"),
        agents=_sub(_agents_template(business=t.frt.business_time), rows["agents"], "Agents"),
        ageing=_sub(_ageing_template(), rows["ageing"], "Backlog age at month end", drop="key"),
    )


def _overview(
    *,
    key: Any,
    vol: list[VolumeRow],
    fr: list[DurationRow],
    rs: list[DurationRow],
    sl: list[SLARow],
    cs: list[CSATRow],
    ro: list[ReopenRow],
    open_now: int,
) -> OverviewRow:
    """One overview row from the rows of one shop (or the totals)."""
    v = vol[0] if vol else None
    met = sum(r.met for r in sl)
    measured = met + sum(r.breached for r in sl)
    return OverviewRow(
        key=key,
        tickets=v.count if v else 0,
        previous=v.previous if v else 0,
        change_pct=v.change_pct if v else None,
        first_response_median=fr[0].median if fr else None,
        resolution_median=rs[0].median if rs else None,
        resolution_p90=rs[0].p90 if rs else None,
        compliance=met / measured if measured else None,
        csat=cs[0].csat if cs else None,
        reopen_rate=ro[0].rate if ro else None,
        backlog=open_now,
    )


def _roll_up(groups: Mapping[Any, list[float]], *, total: bool = False) -> dict[Any, list[float]]:
    """Sorted values per (shop, department) merged per shop, or into one total."""
    out: dict[Any, list[float]] = {}
    for (shop, _), values in groups.items():
        out.setdefault(ALL if total else shop, []).extend(values)
    for values in out.values():
        values.sort()
    return out


def _total_volume(rows: Iterable[VolumeRow]) -> list[VolumeRow]:
    rows = list(rows)
    if not rows:
        return []
    n, prev = sum(r.count for r in rows), sum(r.previous for r in rows)
    return [
        VolumeRow(
            period=rows[0].period,
            start=rows[0].start,
            key=ALL,
            count=n,
            previous=prev,
            change=n - prev,
            change_pct=(n - prev) / prev if prev else None,
        )
    ]


def _total_csat(rows: Iterable[CSATRow]) -> list[CSATRow]:
    rows = list(rows)
    if not rows:
        return []
    per = [sum(getattr(r, f"score_{s}") for r in rows) for s in range(1, 6)]
    rated, resolved = sum(per), sum(r.resolved for r in rows)
    return [
        CSATRow(
            key=ALL,
            resolved=resolved,
            rated=rated,
            average=sum(s * c for s, c in enumerate(per, start=1)) / rated if rated else None,
            csat=(per[3] + per[4]) / rated if rated else None,
            response_rate=rated / resolved if resolved else None,
            score_1=per[0],
            score_2=per[1],
            score_3=per[2],
            score_4=per[3],
            score_5=per[4],
        )
    ]


def _total_reopens(rows: Iterable[ReopenRow]) -> list[ReopenRow]:
    rows = list(rows)
    if not rows:
        return []
    resolved, reopened = sum(r.resolved for r in rows), sum(r.reopened for r in rows)
    return [
        ReopenRow(
            key=ALL,
            resolved=resolved,
            reopened=reopened,
            reopens=sum(r.reopens for r in rows),
            rate=reopened / resolved if resolved else None,
        )
    ]


def _slowest_first(rows: list[DurationRow]) -> list[DurationRow]:
    """Per metric, the slowest department (by median) first: where it goes slow."""
    return sorted(
        rows,
        key=lambda r: (r.metric, -(r.median.total_seconds() if r.median is not None else 0.0), _sk(r.key)),
    )


def _sk(value: Any) -> tuple[int, str]:
    return (1, "") if value is None else (0, str(value))


def _ordered(*maps: Mapping[Any, Any]) -> list[Any]:
    keys: set[Any] = set()
    for m in maps:
        keys.update(m)
    return sorted(keys, key=_sk)


def _pareto_template() -> Report[ParetoRow]:
    """An empty Pareto report carrying the columns and chart of one."""
    return Report(
        title="",
        rows=(),
        columns=tuple(a.name for a in attrs.fields(ParetoRow)),
        chart=Chart(kind="pareto", x="key", y=("count",), ylabel="tickets"),
    )


def _agents_template(*, business: bool) -> Report[AgentRow]:
    """An empty agents report carrying the columns and chart of one."""
    return Report(
        title="",
        rows=(),
        columns=tuple(a.name for a in attrs.fields(AgentRow)),
        chart=Chart(kind="bar", x="agent", y=("resolved",), ylabel="tickets resolved"),
        business_time=business,
    )


def _ageing_template() -> Report[AgeingRow]:
    """An empty ageing report carrying the columns and chart of one."""
    return Report(
        title="",
        rows=(),
        columns=tuple(a.name for a in attrs.fields(AgeingRow)),
        chart=Chart(kind="bar", x="bucket", y=("count",), ylabel="open tickets"),
    )
