"""Durations: mean, median and p90 business time to first response, resolution or handling."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _stats
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import ALL, Chart, DurationRow, Report


def durations_report(
    data: Columns, metric: str, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[DurationRow]:
    """See `Dataset.durations`."""
    groups = duration_groups(data, metric, by, start, end)
    return duration_report(metric, by, groups, business=data._calendar is not None)


def duration_groups(
    data: Columns, metric: str, by: KeySpec, start: datetime | None, end: datetime | None
) -> dict[Any, list[float]]:
    """The measured business seconds of ``metric`` per key, each list sorted.

    Sorted lists of a finer grouping roll up to a coarser one by concatenating and
    sorting again, which Python's sort does as a cheap merge of sorted runs.
    """
    column = data._metric(metric)
    idx = data._cohort(start, end)
    values = data._take(f"metric:{metric}", column, idx)
    groups: dict[Any, list[float]] = {}
    if by is None:
        measured = [v for v in values if v == v]  # noqa: PLR0124 - NaN: not measured
        if measured:
            groups[ALL] = measured
    else:
        grouped: defaultdict[Any, list[float]] = defaultdict(list)
        for k, v in zip(data._keys(by, idx), values, strict=True):
            if v == v:  # noqa: PLR0124 - NaN: not measured
                grouped[k].append(v)
        groups = grouped
    for vs in groups.values():
        vs.sort()
    return dict(groups)


def duration_report(
    metric: str, by: KeySpec, groups: Mapping[Any, list[float]], *, business: bool
) -> Report[DurationRow]:
    """The report over per-key sorted durations (made by `duration_groups`, or rolled up from them);
    ``business`` when they were measured on a calendar."""
    rows = []
    for k in _sorted_keys(groups):
        vs = groups[k]
        mean, median, p90 = _stats(vs)
        rows.append(DurationRow(metric=metric, key=k, count=len(vs), mean=mean, median=median, p90=p90))
    return Report(
        title=f"{metric.replace('_', ' ').capitalize()} time" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(DurationRow),
        chart=Chart(kind="bar", x="key", y=("median", "p90"), ylabel="hours"),
        business_time=business,
    )
