"""Small helpers every report family shares: statistics, ratios, report columns and titles."""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import attrs

from ticketkit.analytics._table import Report


def _stats(values: list[float]) -> tuple[timedelta | None, timedelta | None, timedelta | None]:
    """Mean, median and 90th percentile (linear interpolation, as pandas and numpy do)."""
    n = len(values)
    if not n:
        return None, None, None
    values.sort()
    mean = math.fsum(values) / n
    return (
        timedelta(seconds=mean),
        timedelta(seconds=_quantile(values, 0.5)),
        timedelta(seconds=_quantile(values, 0.9)),
    )


def _quantile(ordered: Sequence[float], q: float) -> float:
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    frac = pos - lo
    if frac == 0.0 or lo + 1 >= len(ordered):
        return ordered[lo]
    return ordered[lo] + (ordered[lo + 1] - ordered[lo]) * frac


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic values.

    Full collections triggered by the allocations would walk every ticket in memory,
    again and again; nothing made here forms a cycle, so nothing is lost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _retitle(report: Report[Any], title: str) -> Report[Any]:
    """The same report under another title."""
    return attrs.evolve(report, title=title)


def _columns(cls: type) -> tuple[str, ...]:
    return tuple(a.name for a in cls.__attrs_attrs__)  # type: ignore[attr-defined]
