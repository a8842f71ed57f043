"""Per-agent throughput: assigned, resolved, resolutions per day, handling time, CSAT, reopens."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ticketkit.analytics._columns import Columns
from ticketkit.analytics._common import _columns, _stats
from ticketkit.analytics._keys import KeySpec, _sorted_keys
from ticketkit.analytics._periods import _bound
from ticketkit.analytics._table import AgentRow, Chart, Report


def agents_report(
    data: Columns, *, start: datetime | None, end: datetime | None, agent: KeySpec, by: KeySpec
) -> Report[AgentRow]:
    """See `Dataset.agents`."""
    lo = _bound(start, "start", -math.inf)
    hi = _bound(end, "end", math.inf)
    cohort = data._cohort(start, end)
    agents = data.column(agent)
    groups = None if by is None else data.column(by)

    def keys(cut: Callable[[str, Sequence[Any]], Sequence[Any]]) -> Iterator[Any]:
        # zip reuses its tuple while Counter only keeps new keys: no tuple per ticket
        mine = cut("agent", agents)
        return iter(mine) if groups is None else zip(cut("group", groups), mine, strict=True)

    assigned: Counter[Any] = Counter(
        keys(lambda name, col: data._take(("key", agent if name == "agent" else by), col, cohort))
    )
    resolved_idx = [i for i, r in enumerate(data._resolved) if lo <= r < hi]

    def cut_resolved(_: str, col: Sequence[Any]) -> Sequence[Any]:
        return list(map(col.__getitem__, resolved_idx))

    handling = cut_resolved("", data._metric("handling"))
    scores = cut_resolved("", data.column("satisfaction"))
    reopen_counts = cut_resolved("", data._event_column("reopens"))
    mine, theirs = cut_resolved("", agents), None if groups is None else cut_resolved("", groups)

    def who() -> Iterator[Any]:
        return iter(mine) if theirs is None else zip(theirs, mine, strict=True)

    resolved: Counter[Any] = Counter(who())
    reopened: Counter[Any] = Counter(itertools.compress(who(), reopen_counts))
    score_counts = Counter(zip(who(), scores, strict=True))
    rated: dict[Any, list[int]] = {}
    for (k, score), c in score_counts.items():
        if score is not None:
            rated.setdefault(k, []).extend([score] * c)
    times: defaultdict[Any, list[float]] = defaultdict(list)
    for k, h in zip(who(), handling, strict=True):
        if h == h:  # noqa: PLR0124 - NaN: not measured
            times[k].append(h)
    for k in [k for k in [*assigned, *resolved] if not _agent(k)]:
        assigned.pop(k, None)
        resolved.pop(k, None)
    days = _days(data, lo, hi, resolved_idx)
    rows = []
    for k in _sorted_keys([*assigned, *resolved]):
        mean, median, _ = _stats(times.get(k, []))
        ratings = rated.get(k, [])
        rows.append(
            AgentRow(
                agent=k,
                assigned=assigned[k],
                resolved=resolved[k],
                per_day=resolved[k] / days,
                handling_mean=mean,
                handling_median=median,
                csat_average=sum(ratings) / len(ratings) if ratings else None,
                reopened=reopened[k],
            )
        )
    return Report(
        title="Agents",
        rows=tuple(rows),
        columns=_columns(AgentRow),
        chart=Chart(kind="bar", x="agent", y=("resolved",), ylabel="tickets resolved"),
        business_time=data._calendar is not None,
    )


def _days(data: Columns, lo: float, hi: float, resolved_idx: list[int]) -> float:
    """Calendar days in the window (the data's span where it is open-ended), at least 1."""
    if lo == -math.inf:
        lo = min(data._created, default=0.0)
    if hi == math.inf:
        hi = max((data._resolved[i] for i in resolved_idx), default=lo)
    return max((hi - lo) / 86400.0, 1.0)


def _agent(name: Any) -> bool:
    """Whether a key names an agent (not None, nor a (group, None) pair)."""
    return name is not None and not (isinstance(name, tuple) and name[-1] is None)
