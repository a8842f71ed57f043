"""Ticket volume per day, ISO week or month (and per key), with the change on the period before."""

from __future__ import annotations

import functools
import math
from bisect import bisect_right
from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._periods import PERIODS, _bound, _floor, _label, _midnight, _next, _prev
from ticketkit.analytics._table import Chart, Report, VolumeRow
from ticketkit.errors import ValidationError


def volume_report(
    data: Columns, period: str, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[VolumeRow]:
    """See `Dataset.volume`."""
    if period not in PERIODS:
        raise ValidationError.one("period", f"unknown period {period!r} (expected one of: day, week, month)")
    keys = data.column(by)
    created = data._created
    tz = data._tz
    lo = _bound(start, "start", min(created, default=math.nan))
    hi = _bound(end, "end", math.nan)
    if lo != lo:  # noqa: PLR0124 - no tickets
        return Report(title="Ticket volume", rows=(), columns=_columns(VolumeRow))
    last = hi - 1e-6 if hi == hi else max(created)  # noqa: PLR0124
    first_day = _floor(datetime.fromtimestamp(lo, tz).date(), period)
    last_day = _floor(datetime.fromtimestamp(max(last, lo), tz).date(), period)
    days = [_prev(first_day, period)]
    d = first_day
    while d <= last_day:
        days.append(d)
        d = _next(d, period)
    bounds = [_midnight(x, tz).timestamp() for x in days]
    stop = _midnight(d, tz).timestamp()
    b0 = bounds[0]
    bucket = functools.partial(bisect_right, bounds)
    if created and b0 <= min(created) and max(created) < stop:
        counts: Counter[tuple[int, Any]] = Counter(zip(map(bucket, created), keys, strict=True))
    else:
        idx = [i for i, c in enumerate(created) if b0 <= c < stop]
        counts = Counter(
            zip(map(bucket, map(created.__getitem__, idx)), map(keys.__getitem__, idx), strict=False)
        )
    key_order = _sorted_keys(k for _, k in counts)
    rows = []
    for p in range(1, len(days)):
        label = _label(days[p], period)
        start_dt = _midnight(days[p], tz)
        for k in key_order:
            n = counts.get((p + 1, k), 0)
            prev = counts.get((p, k), 0)
            rows.append(
                VolumeRow(
                    period=label,
                    start=start_dt,
                    key=k,
                    count=n,
                    previous=prev,
                    change=n - prev,
                    change_pct=(n - prev) / prev if prev else None,
                )
            )
    return Report(
        title=f"Ticket volume by {period}" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(VolumeRow),
        chart=Chart(kind="line", x="period", y=("count",), series="key", ylabel="tickets"),
    )
