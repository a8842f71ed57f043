"""Analytics results: rows, dicts, DataFrames, text, HTML, Markdown and charts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import attrs
import matplotlib
import pytest

from ticketkit import BusinessCalendar, Ticket
from ticketkit.analytics import Dataset, ReopenRow, Report, human_duration, monthly_report

matplotlib.use("Agg")

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
def ds() -> Dataset:
    """Three tickets in two channels, two resolved, one rated."""
    return Dataset(
        [
            Ticket(
                subject="a",
                created_at=T0,
                channel="wechat",
                category="size",
                resolved_at=T0 + timedelta(hours=2),
            ),
            Ticket(subject="b", created_at=T0, channel="phone", category="size", satisfaction=4),
            Ticket(subject="c", created_at=T0 + timedelta(days=1), channel="wechat", category="late<b>"),
        ]
    )


class TestRows:
    def test_iterable_and_indexable(self, ds: Dataset) -> None:
        """A report iterates over frozen rows and indexes like a tuple."""
        report = ds.volume("day", by="channel")
        rows = list(report)
        assert len(rows) == len(report)
        assert rows[0] == report[0]
        assert tuple(rows[:2]) == report[:2]
        with pytest.raises(AttributeError):
            rows[0].count = 3  # type: ignore[misc]

    def test_to_dicts(self, ds: Dataset) -> None:
        """Dicts carry every column in order."""
        first = ds.pareto("category").to_dicts()[0]
        assert ["group", "rank", "key", "count", "share", "cumulative_share", "vital"] == list(first)
        assert ("size", 2) == (first["key"], first["count"])

    def test_empty_report_has_columns(self) -> None:
        """An empty report still knows its columns."""
        assert "period" in Dataset([]).volume().columns


class TestPandas:
    def test_to_pandas(self, ds: Dataset) -> None:
        """The DataFrame has the report's columns and values."""
        df = ds.volume("day", by="channel").to_pandas()
        assert ["period", "start", "key", "count", "previous", "change", "change_pct"] == list(df.columns)
        assert 3 == int(df["count"].sum())

    def test_missing_pandas(self, ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without pandas, the error names the extra to install."""
        monkeypatch.setitem(sys.modules, "pandas", None)
        with pytest.raises(ImportError, match=r"pip install 'ticketkit\[pandas\]'"):
            ds.volume().to_pandas()


class TestText:
    def test_text_table(self, ds: Dataset) -> None:
        """Text tables align numbers right and show shares as percentages."""
        text = str(ds.pareto("category"))
        lines = text.splitlines()
        assert "Pareto of category" == lines[0]
        assert lines[1].split() == ["group", "rank", "key", "count", "share", "cumulative_share", "vital"]
        assert "66.7%" in lines[3]

    def test_empty_text(self) -> None:
        """An empty report says so."""
        assert str(Dataset([]).csat()).endswith("(no rows)")

    def test_html_escapes(self, ds: Dataset) -> None:
        """HTML escapes values and has a caption."""
        page = ds.pareto("category")._repr_html_()
        assert "late&lt;b&gt;" in page
        assert "<caption>Pareto of category</caption>" in page

    def test_markdown_headers(self, ds: Dataset) -> None:
        """Markdown tables can rename columns and right-align numbers."""
        md = ds.csat().to_markdown(headers={"key": "scope"})
        assert md.splitlines()[0].startswith("| scope | resolved |")
        assert "---:" in md.splitlines()[1]

    def test_durations_read_as_human(self) -> None:
        """Durations print as days, hours, minutes."""
        assert ["45s", "12m 30s", "4h 05m", "2d 3h", "-1h 00m"] == [
            human_duration(timedelta(seconds=s)) for s in (45, 750, 14700, 183600, -3600)
        ]

    def test_business_durations_never_in_days(self) -> None:
        """Business hours do not roll over into days, which readers of 8-hour days misread."""
        assert ["45s", "4h 05m", "51h 00m", "-27h 00m"] == [
            human_duration(timedelta(seconds=s), days=False) for s in (45, 14700, 183600, -97200)
        ]


# Monday to Friday 09:00-17:00 UTC: a ticket opened Monday 09:00 and resolved Thursday
# 12:00 took 3 days 3 hours of wall time and 27 business hours.
OFFICE = BusinessCalendar(hours={d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, tz="UTC")
SLOW = Ticket(subject="slow", created_at=T0, channel="phone", resolved_at=T0 + timedelta(days=3, hours=3))


class TestBusinessHours:
    """Reports over business time write durations in hours; wall-clock reports keep days."""

    def test_durations_report(self) -> None:
        business = Dataset([SLOW], calendar=OFFICE).durations("resolution")
        wall = Dataset([SLOW]).durations("resolution")
        assert (True, False) == (business.business_time, wall.business_time)
        assert timedelta(hours=27) == business[0].median
        assert "27h 00m" in business.to_text()
        assert "1d" not in business.to_text()
        assert "| 27h 00m |" in business.to_markdown()
        assert "<td>27h 00m</td>" in business.to_html()
        assert "3d 3h" in wall.to_text()

    def test_monthly_report_every_table(self) -> None:
        """The overview, each shop's summary and tables, and the header say hours."""
        report = monthly_report(Dataset([SLOW], calendar=OFFICE), month="2025-03", by="channel")
        md = report.to_markdown()
        assert "durations in business hours" in md
        assert "27h 00m" in md
        assert "1d 3h" not in md
        assert "median resolution 27h 00m" in md
        assert all(t.business_time for t in (report.overview, report.sections[0].response))
        wall = monthly_report(Dataset([SLOW]), month="2025-03", by="channel").to_markdown()
        assert "durations in wall-clock time" in wall
        assert "3d 3h" in wall

    def test_agents_and_business_ageing(self) -> None:
        ds = Dataset([attrs.evolve(SLOW, assignee="li")], calendar=OFFICE)
        assert ds.agents().business_time
        ageing = ds.ageing(T0 + timedelta(days=2), business=True)
        assert ageing.business_time
        assert ["<24h", "24-72h", "72-168h", "168-336h", "336-720h", "720h+"] == [r.bucket for r in ageing]
        assert "<1d" == ds.ageing(T0 + timedelta(days=2))[0].bucket


class TestPlot:
    @pytest.mark.parametrize(
        "make",
        [
            lambda ds: ds.volume("day", by="channel"),
            lambda ds: ds.durations("resolution", by="channel"),
            lambda ds: ds.pareto("category"),
            lambda ds: ds.csat(by="channel"),
            lambda ds: ds.links(),
            lambda ds: ds.ageing(T0 + timedelta(days=2)),
            lambda ds: monthly_report(ds, month="2025-03", by="channel").overview,
        ],
        ids=["line", "bars", "pareto", "stacked", "grouped", "ageing", "overview"],
    )
    def test_every_chart_kind(self, ds: Dataset, make: object, tmp_path: object) -> None:
        """Each report draws its chart on fresh axes and saves as PNG."""
        report = make(ds)  # type: ignore[operator]
        ax = report.plot()
        assert report.title == ax.get_title()
        path = tmp_path / "chart.png"  # type: ignore[operator]
        ax.figure.savefig(path)
        assert path.stat().st_size > 1000

    def test_on_given_axes(self, ds: Dataset) -> None:
        """plot(ax=...) draws where it is told."""
        from matplotlib.figure import Figure

        ax = Figure().subplots()
        assert ax is ds.reopens().plot(ax=ax)

    def test_default_chart(self) -> None:
        """A report without a chart spec draws bars of its count-like column."""
        report = Report(title="r", rows=(ReopenRow(key="all", resolved=2, reopened=1, reopens=1, rate=0.5),))
        assert "r" == report.plot().get_title()

    def test_missing_matplotlib(self, ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without matplotlib, the error names the extra to install."""
        monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
        with pytest.raises(ImportError, match=r"pip install 'ticketkit\[plot\]'"):
            ds.volume().plot()
