"""Report results: frozen rows in a [`Report`][ticketkit.analytics.Report] that prints, renders and plots.

A report is a tuple of frozen ``attrs`` rows plus a title. It iterates over its rows,
turns into dicts ([`Report.to_dicts`][ticketkit.analytics.Report.to_dicts]), a pandas DataFrame when pandas is
installed ([`Report.to_pandas`][ticketkit.analytics.Report.to_pandas]), a text table (``str(report)``),
Markdown, HTML for notebooks, and a matplotlib chart ([`Report.plot`][ticketkit.analytics.Report.plot]) when
matplotlib is installed.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs

if TYPE_CHECKING:  # pragma: no cover - optional extras, for annotations only
    from matplotlib.axes import Axes

# No __all__: the public names are re-exported from ticketkit.analytics (a sub-namespace,
# deliberately not from ticketkit itself).

R = TypeVar("R")

ALL: str = "all"
"""The key of the single row of an ungrouped report."""

# Columns shown as percentages in text, Markdown and HTML.
_PERCENT = frozenset(
    {"change_pct", "share", "cumulative_share", "compliance", "rate", "csat", "response_rate"}
)


# --------------------------------------------------------------------------- rows


@attrs.frozen(kw_only=True)
class VolumeRow:
    """Tickets created in one period for one key, and the change against the period before.

    ``change_pct`` is ``change / previous`` (None when there was nothing before).

    Examples:
        >>> from datetime import datetime, timezone
        >>> VolumeRow(
        ...     period="2025-03",
        ...     start=datetime(2025, 3, 1, tzinfo=timezone.utc),
        ...     key="wechat",
        ...     count=12,
        ...     previous=10,
        ...     change=2,
        ...     change_pct=0.2,
        ... ).change_pct
        0.2
    """

    period: str
    start: datetime
    key: Any
    count: int
    previous: int
    change: int
    change_pct: float | None


@attrs.frozen(kw_only=True)
class DurationRow:
    """Mean, median and 90th percentile of one duration metric for one key.

    ``count`` is how many tickets had the metric (a first response, a resolution);
    the statistics are None when it is 0. ``metric`` is ``first_response``,
    ``resolution`` or ``handling``.

    Examples:
        >>> from datetime import timedelta
        >>> h = timedelta(hours=1)
        >>> DurationRow(metric="resolution", key="after-sales", count=3, mean=h, median=h, p90=h).count
        3
    """

    metric: str
    key: Any
    count: int
    mean: timedelta | None
    median: timedelta | None
    p90: timedelta | None


@attrs.frozen(kw_only=True)
class SLARow:
    """SLA compliance of one metric for one key: tickets measured, met, breached, running.

    ``running`` counts clocks not finished and not breached; ``compliance`` is
    ``met / (met + breached)`` (None when no clock has finished);
    ``warnings`` and ``escalations`` count the events.

    Examples:
        >>> SLARow(
        ...     metric="resolution",
        ...     key="all",
        ...     tickets=4,
        ...     met=3,
        ...     breached=1,
        ...     compliance=0.75,
        ...     warnings=2,
        ...     escalations=1,
        ... ).compliance
        0.75
    """

    metric: str
    key: Any
    tickets: int
    met: int
    breached: int
    compliance: float | None
    warnings: int
    escalations: int
    running: int = 0


@attrs.frozen(kw_only=True)
class BacklogRow:
    """Tickets open at an instant for one key, with their mean and oldest age.

    Examples:
        >>> from datetime import timedelta
        >>> BacklogRow(key="all", count=2, mean_age=timedelta(days=1), oldest_age=timedelta(days=2)).count
        2
    """

    key: Any
    count: int
    mean_age: timedelta | None
    oldest_age: timedelta | None


@attrs.frozen(kw_only=True)
class AgeingRow:
    """How many open tickets of one key fall in one age bucket at an instant.

    Examples:
        >>> AgeingRow(key="all", bucket="1-3d", count=4, share=0.5).bucket
        '1-3d'
    """

    key: Any
    bucket: str
    count: int
    share: float | None


@attrs.frozen(kw_only=True)
class ReopenRow:
    """Resolved tickets of one key and how many of them were reopened.

    ``reopened`` counts tickets reopened at least once, ``reopens`` every reopening;
    ``rate`` is ``reopened / resolved``.

    Examples:
        >>> ReopenRow(key="all", resolved=10, reopened=1, reopens=2, rate=0.1).rate
        0.1
    """

    key: Any
    resolved: int
    reopened: int
    reopens: int
    rate: float | None


@attrs.frozen(kw_only=True)
class LinkRow:
    """Merges, splits and spawned child tickets among the tickets of one key.

    ``merged`` counts tickets merged into another one, ``split`` tickets split, ``spawned``
    child tickets spawned from them, ``children`` tickets that have a parent.

    Examples:
        >>> LinkRow(key="all", tickets=9, merged=1, split=0, spawned=2, children=2).spawned
        2
    """

    key: Any
    tickets: int
    merged: int
    split: int
    spawned: int
    children: int


@attrs.frozen(kw_only=True)
class ParetoRow:
    """One value in a Pareto table: its count, share and the cumulative share so far.

    ``vital`` marks the "vital few": the values that together make the first
    ``threshold`` (80 % by default) of all tickets. ``group`` is the value of the
    ``by`` field when the table is made per group (else ``"all"``).

    Examples:
        >>> ParetoRow(
        ...     group="all", rank=1, key="size", count=6, share=0.6, cumulative_share=0.6, vital=True
        ... ).vital
        True
    """

    group: Any
    rank: int
    key: Any
    count: int
    share: float
    cumulative_share: float
    vital: bool


@attrs.frozen(kw_only=True)
class CSATRow:
    """Customer satisfaction of one key: how many rated, the average and the spread.

    ``csat`` is the share of ratings of 4 or 5; ``response_rate`` is ratings per
    resolved ticket. ``score_1`` to ``score_5`` count each score.

    Examples:
        >>> r = CSATRow(
        ...     key="all",
        ...     resolved=4,
        ...     rated=2,
        ...     average=4.5,
        ...     csat=1.0,
        ...     response_rate=0.5,
        ...     score_1=0,
        ...     score_2=0,
        ...     score_3=0,
        ...     score_4=1,
        ...     score_5=1,
        ... )
        >>> r.average, r.csat
        (4.5, 1.0)
    """

    key: Any
    resolved: int
    rated: int
    average: float | None
    csat: float | None
    response_rate: float | None
    score_1: int
    score_2: int
    score_3: int
    score_4: int
    score_5: int


@attrs.frozen(kw_only=True)
class AgentRow:
    """What one agent did: tickets assigned, resolved, per business day, and how long.

    ``handling_*`` measure the business time from the ticket's last assignment to
    the agent (or its creation when no assignment event is known) to its resolution.

    Examples:
        >>> from datetime import timedelta
        >>> AgentRow(
        ...     agent="li",
        ...     assigned=5,
        ...     resolved=4,
        ...     per_day=0.2,
        ...     handling_mean=timedelta(hours=2),
        ...     handling_median=timedelta(hours=1),
        ...     csat_average=4.5,
        ...     reopened=0,
        ... ).resolved
        4
    """

    agent: Any
    assigned: int
    resolved: int
    per_day: float
    handling_mean: timedelta | None
    handling_median: timedelta | None
    csat_average: float | None
    reopened: int


@attrs.frozen(kw_only=True)
class OverviewRow:
    """One line of the monthly service quality report: a shop or department at a glance.

    ``tickets`` were created in the month, ``previous`` in the month before;
    ``first_response_median``, ``resolution_median`` and ``resolution_p90`` are business
    time; ``compliance`` is the share of SLA targets met over every metric together;
    ``csat`` the share of ratings of 4 or 5; ``reopen_rate`` reopened per resolved
    ticket; ``backlog`` the tickets still open when the month ended.

    Examples:
        >>> OverviewRow(
        ...     key="shanghai-01",
        ...     tickets=120,
        ...     previous=100,
        ...     change_pct=0.2,
        ...     first_response_median=None,
        ...     resolution_median=None,
        ...     resolution_p90=None,
        ...     compliance=0.95,
        ...     csat=0.9,
        ...     reopen_rate=0.05,
        ...     backlog=7,
        ... ).tickets
        120
    """

    key: Any
    tickets: int
    previous: int
    change_pct: float | None
    first_response_median: timedelta | None
    resolution_median: timedelta | None
    resolution_p90: timedelta | None
    compliance: float | None
    csat: float | None
    reopen_rate: float | None
    backlog: int


# --------------------------------------------------------------------------- formatting


def human_duration(value: timedelta, *, days: bool = True) -> str:
    """A short human form of a duration: ``2d 3h``, ``4h 05m``, ``12m 30s``, ``45s``.

    With ``days=False`` hours do not roll over into days (``51h 00m``): that is how
    reports write business time, where a reader of 8-hour days would read ``1d`` as one
    working day rather than 24 business hours.

    Examples:
        >>> human_duration(timedelta(hours=4, minutes=5)), human_duration(timedelta(days=2, hours=3))
        ('4h 05m', '2d 3h')
        >>> human_duration(timedelta(days=2, hours=3), days=False)
        '51h 00m'
    """
    total = round(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    whole_days, rest = divmod(total, 86400) if days else (0, total)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if whole_days:
        return f"{sign}{whole_days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {seconds:02d}s"
    return f"{sign}{seconds}s"


def format_cell(name: str, value: Any, *, business: bool = False) -> str:
    """How a value shows in text, Markdown and HTML tables, by column name and type.

    With ``business=True`` durations are business time and are written in hours
    (``27h 30m``), never in days (see `human_duration`).

    Examples:
        >>> format_cell("share", 0.256), format_cell("key", None), format_cell("average", 4.25)
        ('25.6%', '(none)', '4.25')
    """
    if value is None:
        return "(none)" if name in {"key", "group", "agent"} else "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, timedelta):
        return human_duration(value, days=not business)
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, float):
        if name in _PERCENT or name.endswith("_rate"):
            return f"{value:+.1%}" if name == "change_pct" else f"{value:.1%}"
        return f"{value:.2f}"
    if isinstance(value, tuple):
        return " / ".join(format_cell(name, v, business=business) for v in value)
    return str(value)


# --------------------------------------------------------------------------- the report


@attrs.frozen(kw_only=True)
class Chart:
    """How [`Report.plot`][ticketkit.analytics.Report.plot] draws a report.

    ``kind`` is ``bar`` (bars of each ``y`` column per ``x``), ``line`` (one line per
    value of ``series``), ``pareto`` (bars and the cumulative share) or ``stacked``
    (the ``y`` columns stacked per ``x``). Durations are drawn in hours.

    Examples:
        >>> Chart(kind="bar", x="key", y=("median", "p90"), ylabel="hours").y
        ('median', 'p90')
    """

    kind: str  # "bar", "line", "pareto", "stacked"
    x: str
    y: tuple[str, ...]
    series: str | None = None
    ylabel: str = ""


@attrs.frozen(kw_only=True)
class Report(Generic[R]):
    """A report: a title, the names of its columns and its frozen rows.

    Iterate over it for the rows; ``len(report)``, ``report[0]`` work as on a tuple.
    ``business_time`` says the report's durations are business time: its tables then
    write them in hours (``27h 30m``) rather than days, which readers of 8-hour days
    would misread. The values themselves (`to_dicts`, `to_pandas`) are timedeltas either way.

    Examples:
        >>> rows = (ReopenRow(key="all", resolved=10, reopened=1, reopens=1, rate=0.1),)
        >>> r = Report(title="Reopen rate", rows=rows)
        >>> [row.rate for row in r], r.to_dicts()[0].get("resolved")
        ([0.1], 10)
        >>> print(r)
        Reopen rate
        key  resolved  reopened  reopens  rate
        ---  --------  --------  -------  -----
        all        10         1        1  10.0%
    """

    title: str
    rows: tuple[R, ...]
    columns: tuple[str, ...] = attrs.field()
    chart: Chart | None = None
    business_time: bool = False

    @columns.default
    def _columns_from_rows(self) -> tuple[str, ...]:
        if not self.rows:
            return ()
        return tuple(a.name for a in attrs.fields(type(self.rows[0])))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[R]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[R, ...]: ...

    def __getitem__(self, index: int | slice) -> R | tuple[R, ...]:
        return self.rows[index]

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as plain dicts, one per row, keys in column order.

        Examples:
            >>> Report(title="t", rows=(AgeingRow(key="all", bucket="<1d", count=1, share=1.0),)).to_dicts()
            [{'key': 'all', 'bucket': '<1d', 'count': 1, 'share': 1.0}]
        """
        names = self.columns
        return [{name: getattr(row, name) for name in names} for row in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a pandas ``DataFrame`` (needs the ``ticketkit[pandas]`` extra).

        Raises:
            ImportError: pandas is not installed; the message says how to install it.

        Examples:
            >>> df = Report(
            ...     title="t", rows=(AgeingRow(key="all", bucket="<1d", count=1, share=1.0),)
            ... ).to_pandas()
            >>> list(df.columns), int(df["count"].sum())
            (['key', 'bucket', 'count', 'share'], 1)
        """
        try:
            pd = importlib.import_module("pandas")
        except ImportError as exc:
            raise ImportError(
                "Report.to_pandas() needs pandas, which is not installed: pip install 'ticketkit[pandas]'"
            ) from exc
        return pd.DataFrame.from_records(self.to_dicts(), columns=list(self.columns))

    def _cells(self) -> list[list[str]]:
        business = self.business_time
        return [
            [format_cell(name, getattr(row, name), business=business) for name in self.columns]
            for row in self.rows
        ]

    def to_text(self) -> str:
        """The report as an aligned plain-text table under its title (also ``str(report)``)."""
        cells = self._cells()
        header = list(self.columns)
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
        numeric = [all(_looks_numeric(r[i]) for r in cells) and bool(cells) for i in range(len(header))]

        def line(values: Sequence[str]) -> str:
            parts = [
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [self.title, line(header), line(["-" * w for w in widths])]
        out.extend(line(r) for r in cells)
        if not cells:
            out.append("(no rows)")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self, *, headers: Mapping[str, str] | None = None) -> str:
        """The rows as a Markdown table (without the title); ``headers`` renames columns.

        Examples:
            >>> print(
            ...     Report(
            ...         title="t", rows=(AgeingRow(key="all", bucket="<1d", count=1, share=1.0),)
            ...     ).to_markdown()
            ... )
            | key | bucket | count | share |
            |---|---|---:|---:|
            | all | <1d | 1 | 100.0% |
        """
        cells = self._cells()
        numeric = [all(_looks_numeric(r[i]) for r in cells) and bool(cells) for i in range(len(self.columns))]
        names = [(headers or {}).get(c, c) for c in self.columns]
        head = "| " + " | ".join(names) + " |"
        rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
        body = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
        return "\n".join([head, rule, *body])

    def to_html(self, *, title: bool = True, headers: Mapping[str, str] | None = None) -> str:
        """The report as an HTML ``<table>`` (with a caption when ``title``); ``headers`` renames columns."""
        cells = self._cells()
        parts = ['<table class="ticketkit-report">']
        if title:
            parts.append(f"<caption>{html.escape(self.title)}</caption>")
        parts.append(
            "<thead><tr>"
            + "".join(f"<th>{html.escape((headers or {}).get(c, c))}</th>" for c in self.columns)
            + "</tr></thead>"
        )
        parts.append("<tbody>")
        parts.extend("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells)
        parts.append("</tbody></table>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the report's headline chart with matplotlib (needs ``ticketkit[plot]``).

        Draws on ``ax`` when given, else on a new figure (no pyplot state is touched);
        returns the axes, so ``ax.figure.savefig("volume.png")`` saves it.

        Raises:
            ImportError: matplotlib is not installed; the message says how to install it.

        Examples:
            >>> rows = (ReopenRow(key="all", resolved=10, reopened=1, reopens=1, rate=0.1),)
            >>> ax = Report(
            ...     title="Reopen rate", rows=rows, chart=Chart(kind="bar", x="key", y=("rate",))
            ... ).plot()
            >>> ax.get_title()
            'Reopen rate'
        """
        try:
            from matplotlib.figure import Figure  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            raise ImportError(
                "Report.plot() needs matplotlib, which is not installed: pip install 'ticketkit[plot]'"
            ) from exc
        if ax is None:
            ax = Figure(figsize=(8, 4.5), layout="constrained").subplots()
        chart = self.chart or _default_chart(self.columns)
        _draw(ax, self, chart)
        ax.set_title(self.title)
        return ax


def _looks_numeric(text: str) -> bool:
    if text in {"-", ""}:
        return True
    head = text.lstrip("+-")
    return bool(head) and (head[0].isdigit()) and not any(c.isalpha() and c not in "dhms" for c in head)


def _default_chart(columns: tuple[str, ...]) -> Chart:
    y = next((c for c in ("count", "tickets", "rate", "compliance") if c in columns), columns[-1])
    return Chart(kind="bar", x=columns[0], y=(y,))


def _plot_value(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600.0
    return float(value)


def _label(value: Any) -> str:
    return format_cell("key", value)


def _draw(ax: Axes, report: Report[Any], chart: Chart) -> None:
    rows = report.rows
    if chart.kind == "line" and chart.series is not None:
        series: dict[str, tuple[list[str], list[float]]] = {}
        for row in rows:
            xs, ys = series.setdefault(_label(getattr(row, chart.series)), ([], []))
            xs.append(_label(getattr(row, chart.x)))
            ys.append(_plot_value(getattr(row, chart.y[0])))
        for name, (xs, ys) in series.items():
            ax.plot(xs, ys, marker="o", label=name)
        if len(series) > 1:
            ax.legend(fontsize="small")
        ax.tick_params(axis="x", labelrotation=45)
    elif chart.kind == "pareto":
        labels = [_label(getattr(row, chart.x)) for row in rows]
        ax.bar(labels, [_plot_value(getattr(row, chart.y[0])) for row in rows], color="#4c72b0")
        twin = ax.twinx()
        twin.plot(
            labels,
            [_plot_value(row.cumulative_share) * 100 for row in rows],
            color="#dd8452",
            marker="o",
        )
        twin.set_ylim(0, 105)
        twin.set_ylabel("cumulative %")
        ax.tick_params(axis="x", labelrotation=45)
    elif chart.kind == "stacked":
        labels = [_label(getattr(row, chart.x)) for row in rows]
        bottom = [0.0] * len(rows)
        for col in chart.y:
            values = [_plot_value(getattr(row, col)) for row in rows]
            ax.bar(labels, values, bottom=bottom, label=col)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.legend(fontsize="small")
        ax.tick_params(axis="x", labelrotation=45)
    else:
        labels = [_label(getattr(row, chart.x)) for row in rows]
        width = 0.8 / max(1, len(chart.y))
        for k, col in enumerate(chart.y):
            positions = [i + (k - (len(chart.y) - 1) / 2) * width for i in range(len(rows))]
            ax.bar(positions, [_plot_value(getattr(row, col)) for row in rows], width=width, label=col)
        ax.set_xticks(range(len(rows)), labels, rotation=45, ha="right")
        if len(chart.y) > 1:
            ax.legend(fontsize="small")
    if chart.ylabel:
        ax.set_ylabel(chart.ylabel)
