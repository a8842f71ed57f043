"""Reports over tickets and events: the numbers a service manager decides with.

Read tickets (and their events) once into a [`Dataset`][ticketkit.analytics.Dataset], from a list or a
[`TicketStore`][ticketkit.TicketStore], then ask it for reports: volume and its trend,
first-response and resolution times in business hours, SLA compliance, backlog and
ageing, reopen rate, merges and spawns, Pareto tables, satisfaction and per-agent
throughput. [`monthly_report`][ticketkit.analytics.monthly_report] puts them together as the monthly service
quality report per shop or department, in Markdown and HTML.

Inside: `Columns` (``_columns``) reads tickets and events once; one private module per
report family (``_volume``, ``_durations``, ``_sla``, ``_backlog``, ``_reopens``,
``_links``, ``_pareto``, ``_csat``, ``_agents``) computes it over those columns; `Dataset`
(``_dataset``) is `Columns` plus one documented method per report.

May import: ``ticketkit.model`` and ``ticketkit.errors`` (analytics reads the core; a
store is read through its ``query`` and ``events`` methods, never imported).
Must not import: the engines, storage, notification or the desk.

Examples:
    >>> from datetime import datetime, timezone
    >>> import ticketkit as tk
    >>> from ticketkit import analytics
    >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    >>> ds = analytics.Dataset([tk.Ticket(subject="Wrong size", created_at=t0, category="size")])
    >>> [(r.key, r.count) for r in ds.pareto("category")]
    [('size', 1)]
"""

from __future__ import annotations

from ticketkit.analytics._backlog import DEFAULT_AGE_BUCKETS
from ticketkit.analytics._business import CalendarLike
from ticketkit.analytics._columns import EVENT_KINDS, METRICS
from ticketkit.analytics._dataset import Dataset, load
from ticketkit.analytics._feed import FeedDataset
from ticketkit.analytics._keys import KeySpec
from ticketkit.analytics._monthly import ServiceReport, ShopSection, monthly_report
from ticketkit.analytics._periods import PERIODS
from ticketkit.analytics._table import (
    AgeingRow,
    AgentRow,
    BacklogRow,
    Chart,
    CSATRow,
    DurationRow,
    LinkRow,
    OverviewRow,
    ParetoRow,
    ReopenRow,
    Report,
    SLARow,
    VolumeRow,
    human_duration,
)

__all__ = [
    "DEFAULT_AGE_BUCKETS",
    "EVENT_KINDS",
    "METRICS",
    "PERIODS",
    "AgeingRow",
    "AgentRow",
    "BacklogRow",
    "CSATRow",
    "CalendarLike",
    "Chart",
    "Dataset",
    "DurationRow",
    "FeedDataset",
    "KeySpec",
    "LinkRow",
    "OverviewRow",
    "ParetoRow",
    "ReopenRow",
    "Report",
    "SLARow",
    "ServiceReport",
    "ShopSection",
    "VolumeRow",
    "human_duration",
    "load",
    "monthly_report",
]
