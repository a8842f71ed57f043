"""SLA compliance per metric (and key): tickets measured, met, breached, still running."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _gc_paused, _ratio
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import Chart, Report, SLARow

_SLAColumns = dict[str, tuple[list[int | None], list[int] | None, list[int] | None]]


def sla_report(data: Columns, *, by: KeySpec, start: datetime | None, end: datetime | None) -> Report[SLARow]:
    """See `Dataset.sla`."""
    idx = data._cohort(start, end)
    keys = data._keys(by, idx)
    rows = []
    for metric, (state_col, warn_col, esc_col) in sorted(sla_columns(data).items()):
        pairs = Counter(zip(keys, data._take(f"sla:{metric}", state_col, idx), strict=True))
        counts: Counter[Any] = Counter()
        broken: Counter[Any] = Counter()
        running: Counter[Any] = Counter()
        for (k, flag), c in pairs.items():
            if flag is not None:
                counts[k] += c
                if flag == 1:
                    broken[k] += c
                elif flag == 2:
                    running[k] += c
        warn: Counter[Any] = Counter()
        esc: Counter[Any] = Counter()
        for col, acc in ((warn_col, warn), (esc_col, esc)):
            if col is not None:
                counts_col = data._take(None, col, idx)
                for k, c in zip(itertools.compress(keys, counts_col), filter(None, counts_col), strict=True):
                    acc[k] += c
        for k in _sorted_keys(counts):
            n, b, r = counts[k], broken[k], running[k]
            rows.append(
                SLARow(
                    metric=metric,
                    key=k,
                    tickets=n,
                    met=n - b - r,
                    breached=b,
                    running=r,
                    compliance=_ratio(n - b - r, n - r),
                    warnings=warn[k],
                    escalations=esc[k],
                )
            )
    return Report(
        title="SLA compliance" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(SLARow),
        chart=Chart(kind="bar", x="key", y=("compliance",), ylabel="share met"),
    )


def sla_columns(data: Columns) -> _SLAColumns:
    """Per metric: a state per ticket (None: not measured, 0: met, 1: breached, 2: still
    running and not breached), and the warnings and escalations per ticket (None when
    there are none); cached on ``data``."""
    cached = data._derived.get("sla")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    n = len(data._tickets)
    states: dict[str, list[int | None]] = {}
    with _gc_paused():
        for i, sla in enumerate([t.sla for t in data._tickets]):
            if sla is None:
                continue
            for clock in sla.clocks:
                if clock.breached_at is not None:
                    flag = 1
                elif clock.stopped_at is not None:
                    flag = 0
                elif clock.started_at is not None:
                    flag = 2  # not finished yet: neither met nor breached
                else:
                    continue
                col = states.get(clock.metric)
                if col is None:
                    col = states[clock.metric] = [None] * n
                col[i] = flag
        for i, metric in data._sla_events:
            col = states.get(metric)
            if col is None:
                col = states[metric] = [None] * n
            if col[i] is None:
                col[i] = 0
        for i, metric in data._sla_breached:
            states[metric][i] = 1

    def counts(source: Counter[tuple[int, str]], metric: str) -> list[int] | None:
        col: list[int] | None = None
        for (i, m), c in source.items():
            if m == metric:
                if col is None:
                    col = [0] * n
                col[i] += c
        return col

    result = {m: (states[m], counts(data._warnings, m), counts(data._escalations, m)) for m in states}
    data._derived["sla"] = result
    return result
