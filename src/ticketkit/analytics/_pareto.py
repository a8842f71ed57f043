"""Pareto tables: values of a field by count, with shares, cumulative shares and the vital few."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _retitle
from ticketkit.analytics._keys import KeySpec, _by_title, _sort_key, _sorted_keys
from ticketkit.analytics._table import Chart, ParetoRow, Report
from ticketkit.errors import ValidationError


def pareto_report(
    data: Columns,
    field: KeySpec,
    *,
    by: KeySpec,
    start: datetime | None,
    end: datetime | None,
    threshold: float,
    top: int | None,
    skip_none: bool,
) -> Report[ParetoRow]:
    """See `Dataset.pareto`."""
    if not 0.0 < threshold <= 1.0:
        raise ValidationError.one("threshold", f"expected a share in (0, 1], got {threshold!r}")
    idx = data._cohort(start, end)
    values = data._keys(field, idx)
    groups = data._keys(by, idx)
    explode = isinstance(field, str) and (field == "tags" or field.startswith("fields."))
    counts: Counter[tuple[Any, Any]] = Counter(zip(groups, values, strict=True))
    if explode and any(type(k[1]) is tuple for k in counts):
        for (g, v), n in list(counts.items()):
            if type(v) is tuple:
                del counts[g, v]
                for item in v:
                    counts[g, item] += n
    if skip_none:
        for g, v in [gv for gv in counts if gv[1] is None]:
            del counts[g, v]
    per_group: dict[Any, list[tuple[Any, int]]] = {}
    for (g, v), n in counts.items():
        per_group.setdefault(g, []).append((v, n))
    rows = []
    for g in _sorted_keys(per_group):
        items = sorted(per_group[g], key=lambda vn: (-vn[1], _sort_key(vn[0])))
        total = sum(n for _, n in items)
        running = 0
        for rank, (v, n) in enumerate(items, start=1):
            if top is not None and rank > top:
                break
            before = running / total
            running += n
            rows.append(
                ParetoRow(
                    group=g,
                    rank=rank,
                    key=v,
                    count=n,
                    share=n / total,
                    cumulative_share=running / total,
                    vital=before < threshold,
                )
            )
    name = field if isinstance(field, str) else "value"
    return Report(
        title=f"Pareto of {name}" + _by_title(by),
        rows=tuple(rows),
        columns=_columns(ParetoRow),
        chart=Chart(kind="pareto", x="key", y=("count",), ylabel="tickets"),
    )


def top_values_report(
    data: Columns, field: KeySpec, n: int, *, by: KeySpec, start: datetime | None, end: datetime | None
) -> Report[ParetoRow]:
    """See `Dataset.top_values`."""
    report = pareto_report(data, field, threshold=0.8, by=by, start=start, end=end, top=n, skip_none=True)
    name = field if isinstance(field, str) else "value"
    return _retitle(report, f"Most frequent {name}" + _by_title(by))
