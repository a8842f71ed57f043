"""Reports over tickets and events: the numbers a service manager decides with.

Read tickets (and their events) once into a [`Dataset`][ticketkit.analytics.Dataset], from a list or a
[`TicketStore`][ticketkit.TicketStore], then ask it for reports: volume and its trend,
first-response and resolution times in business hours, SLA compliance, backlog and
ageing, reopen rate, merges and spawns, Pareto tables, satisfaction and per-agent
throughput. [`monthly_report`][ticketkit.analytics.monthly_report] puts them together as the monthly service
quality report per shop or department, in Markdown and HTML.

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

from ticketkit.analytics._dataset import (
    DEFAULT_AGE_BUCKETS,
    EVENT_KINDS,
    METRICS,
    PERIODS,
    CalendarLike,
    Dataset,
    KeySpec,
    load,
)
from ticketkit.analytics._monthly import ServiceReport, ShopSection, monthly_report
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
