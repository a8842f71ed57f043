"""Customer satisfaction: ratings, average score, share of 4-5 and the distribution."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _ratio
from ticketkit.analytics._keys import KeySpec, _by_title, _sorted_keys
from ticketkit.analytics._table import Chart, CSATRow, Report


def csat_report(
    data: Columns, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[CSATRow]:
    """See `Dataset.csat`."""
    idx = data._cohort(start, end)
    keys = data._keys(by, idx)
    dist: Counter[tuple[Any, Any]] = Counter(zip(keys, data._keys("satisfaction", idx), strict=True))
    resolved: Counter[Any] = Counter(
        itertools.compress(keys, data._take("resolved", data._was_resolved(), idx))
    )
    seen = {k for k, _ in dist}
    rows = []
    for k in _sorted_keys(seen):
        per = [dist[k, s] for s in range(1, 6)]
        rated = sum(per)
        rows.append(
            CSATRow(
                key=k,
                resolved=resolved[k],
                rated=rated,
                average=sum(s * c for s, c in enumerate(per, start=1)) / rated if rated else None,
                csat=_ratio(per[3] + per[4], rated),
                response_rate=_ratio(rated, resolved[k]),
                score_1=per[0],
                score_2=per[1],
                score_3=per[2],
                score_4=per[3],
                score_5=per[4],
            )
        )
    return Report(
        title="Customer satisfaction" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(CSATRow),
        chart=Chart(
            kind="stacked",
            x="key",
            y=("score_1", "score_2", "score_3", "score_4", "score_5"),
            ylabel="ratings",
        ),
    )
