"""Reopen rate: of the tickets ever resolved, how many went back to an open kind."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _ratio
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import Chart, ReopenRow, Report


def reopens_report(
    data: Columns, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[ReopenRow]:
    """See `Dataset.reopens`."""
    idx = data._cohort(start, end)
    keys = data._keys(by, idx)
    counts = data._take("reopens", data._event_column("reopens"), idx)
    resolved: Counter[Any] = Counter(
        itertools.compress(keys, data._take("resolved", data._was_resolved(), idx))
    )
    reopened: Counter[Any] = Counter(itertools.compress(keys, counts))
    reopens: Counter[Any] = Counter()
    for k, n in zip(itertools.compress(keys, counts), filter(None, counts), strict=True):
        reopens[k] += n
    rows = [
        ReopenRow(
            key=k,
            resolved=resolved[k],
            reopened=reopened[k],
            reopens=reopens[k],
            rate=_ratio(reopened[k], resolved[k]),
        )
        for k in _sorted_keys(resolved)
    ]
    return Report(
        title="Reopen rate" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(ReopenRow),
        chart=Chart(kind="bar", x="key", y=("rate",), ylabel="share reopened"),
    )
