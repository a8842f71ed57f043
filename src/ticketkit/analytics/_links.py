"""Merges, splits and spawned children among the tickets of each key."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import Chart, LinkRow, Report


def links_report(
    data: Columns, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[LinkRow]:
    """See `Dataset.links`."""
    idx = data._cohort(start, end)
    keys = data._keys(by, idx)
    tickets: Counter[Any] = Counter(keys)

    def flagged(name: str) -> Counter[Any]:
        return Counter(itertools.compress(keys, data._take(name, data._event_column(name), idx)))

    merged, split, children = flagged("merged"), flagged("split"), flagged("children")
    spawn_counts = data._take("spawned", data._event_column("spawned"), idx)
    spawned: Counter[Any] = Counter()
    for k, n in zip(itertools.compress(keys, spawn_counts), filter(None, spawn_counts), strict=True):
        spawned[k] += n
    rows = [
        LinkRow(
            key=k,
            tickets=tickets[k],
            merged=merged[k],
            split=split[k],
            spawned=spawned[k],
            children=children[k],
        )
        for k in _sorted_keys(tickets)
    ]
    return Report(
        title="Merges and spawns" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(LinkRow),
        chart=Chart(kind="bar", x="key", y=("merged", "split", "spawned"), ylabel="tickets"),
    )
