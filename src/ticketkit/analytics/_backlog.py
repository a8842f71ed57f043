"""The backlog at an instant: open tickets per key, their mean and oldest age, and age buckets."""

from __future__ import annotations

import itertools
import math
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _ratio
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import ALL, AgeingRow, BacklogRow, Chart, Report
from ticketkit.errors import ValidationError
from ticketkit.model._time import require_aware

DEFAULT_AGE_BUCKETS: Final = (
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=30),
)
"""Upper bounds of the default ageing buckets: <1d, 1-3d, 3-7d, 7-14d, 14-30d, 30d+."""


def backlog_report(data: Columns, at: datetime, *, by: KeySpec, business: bool) -> Report[BacklogRow]:
    """See `Dataset.backlog`."""
    keys = data.column(by)
    when, idx = _open_at(data, at)
    ages = _ages(data, when, idx, business)
    groups: dict[Any, list[float]] = {}
    for i, age in zip(idx, ages, strict=True):
        groups.setdefault(keys[i], []).append(age)
    rows = [
        BacklogRow(
            key=k,
            count=len(groups[k]),
            mean_age=timedelta(seconds=math.fsum(groups[k]) / len(groups[k])),
            oldest_age=timedelta(seconds=max(groups[k])),
        )
        for k in _sorted_keys(groups)
    ]
    return Report(
        title=f"Backlog at {at.astimezone(data._tz).isoformat(timespec='minutes')}" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(BacklogRow),
        chart=Chart(kind="bar", x="key", y=("count",), ylabel="open tickets"),
        business_time=_on_calendar(data, business),
    )


def _on_calendar(data: Columns, business: bool) -> bool:
    """Whether ages are business time: asked for, and the dataset has a calendar."""
    return business and data._calendar is not None


def ageing_report(
    data: Columns, at: datetime, *, by: KeySpec, buckets: Sequence[timedelta], business: bool
) -> Report[AgeingRow]:
    """See `Dataset.ageing`."""
    bounds = list(buckets)
    if (
        not bounds
        or any(not isinstance(b, timedelta) or b <= timedelta(0) for b in bounds)
        or any(a >= b for a, b in itertools.pairwise(bounds))
    ):
        raise ValidationError.one("buckets", f"expected increasing positive timedeltas, got {buckets!r}")
    limits = [b.total_seconds() for b in bounds]
    business = _on_calendar(data, business)
    names = _bucket_names(bounds, hours=business)
    keys = data.column(by)
    when, idx = _open_at(data, at)
    ages = _ages(data, when, idx, business)
    counts: Counter[tuple[Any, int]] = Counter(
        (keys[i], bisect_right(limits, age)) for i, age in zip(idx, ages, strict=True)
    )
    totals: Counter[Any] = Counter(keys[i] for i in idx)
    rows = [
        AgeingRow(key=k, bucket=name, count=counts[k, b], share=_ratio(counts[k, b], totals[k]))
        for k in _sorted_keys(totals)
        for b, name in enumerate(names)
    ]
    if not rows and by is None:
        rows = [AgeingRow(key=ALL, bucket=name, count=0, share=None) for name in names]
    return Report(
        title=f"Backlog age at {at.astimezone(data._tz).isoformat(timespec='minutes')}" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(AgeingRow),
        chart=Chart(kind="bar", x="bucket", y=("count",), ylabel="open tickets"),
        business_time=business,
    )


def _open_at(data: Columns, at: datetime) -> tuple[float, list[int]]:
    """``at`` as a timestamp and the positions of the tickets open then (cached for one instant)."""
    when = require_aware(at, "at").timestamp()
    cached = data._derived.get("open_at")
    if cached is not None and cached[0] == when:
        return cached  # type: ignore[no-any-return]
    ends = data._derived.get("end")
    if ends is None:
        # resolved_at, or closed_at for tickets closed without a resolution; NaN when open
        ends = array(
            "d",
            [x if r != r else r for r, x in zip(data._resolved, data._closed, strict=True)],  # noqa: PLR0124
        )
        data._derived["end"] = ends
    open_ = [
        i for i, (c, e) in enumerate(zip(data._created, ends, strict=True)) if c <= when and not e <= when
    ]
    data._derived["open_at"] = (when, open_)
    return when, open_


def _ages(data: Columns, when: float, idx: list[int], business: bool) -> list[float]:
    """Seconds since creation at ``when`` of the tickets at ``idx``, wall or business time."""
    created = data._created
    if not _on_calendar(data, business):
        return [when - created[i] for i in idx]
    index = data._index(min((created[i] for i in idx), default=when), when)
    if index is None:
        return [data.business_seconds(created[i], when) for i in idx]
    cum = index.cum_many([when, *(created[i] for i in idx)])
    return [cum[0] - c for c in cum[1:]]


def _bucket_names(bounds: Sequence[timedelta], *, hours: bool = False) -> list[str]:
    """``<1d``, ``1-3d``, ... ``30d+``; in hours (``<24h``) when the ages are business time."""

    def short(td: timedelta) -> str:
        s = td.total_seconds()
        if s % 86400 == 0 and not hours:
            return f"{int(s // 86400)}d"
        if s % 3600 == 0:
            return f"{int(s // 3600)}h"
        return f"{int(s // 60)}m"

    names = [f"<{short(bounds[0])}"]
    for a, b in itertools.pairwise(bounds):
        sa, sb = short(a), short(b)
        if sa[-1] == sb[-1]:
            sa = sa[:-1]
        names.append(f"{sa}-{sb}")
    names.append(f"{short(bounds[-1])}+")
    return names
