"""A policy compiled for the clock engine: per priority and clock, the target and its checkpoints.

An [`SLAPolicy`][ticketkit.SLAPolicy] is configuration. `build_plan` turns it,
once, into a `PolicyPlan`: the lookup tables the engine functions
(``_apply``, ``_status``, ``_due``, ``_recompute``) read on every call, so the hot
paths never walk the configuration. A plan is a value derived from the policy;
nothing in it changes after it is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final, NamedTuple, Protocol

import attrs

from ticketkit.model._models import ClockState, Priority
from ticketkit.model._serialization import format_duration
from ticketkit.sla._config import Escalation, SLAClock, SLATarget

__all__: list[str] = []

ZERO: Final = timedelta(0)
ACTOR: Final = "system:sla"


class CalendarLike(Protocol):
    """What the SLA engine needs from a [`BusinessCalendar`][ticketkit.BusinessCalendar]."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant with ``duration`` of business time since ``start``."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``."""


class Checkpoint(NamedTuple):
    """One threshold of a clock at which a warning, the breach or an escalation falls due."""

    threshold: timedelta
    key: str
    kind: str  # warning | breach | escalation
    fraction: float | None
    level: int | None
    escalation: Escalation | None


class Plan(NamedTuple):
    """A clock's target for one priority and its checkpoints in the order they fall due."""

    target: timedelta
    checkpoints: tuple[Checkpoint, ...]


@attrs.frozen(kw_only=True, eq=False)
class PolicyPlan:
    """What the engine reads of a policy, indexed for constant-time lookups.

    ``specs`` are the clock definitions in the policy's order and ``index`` maps
    a metric to its position there. ``plans`` maps (priority, metric) to the
    clock's `Plan`; ``plan_rows`` and ``targets_by`` give, per priority,
    the plan and the target of every clock in ``specs`` order (None: not
    measured). ``template`` is the idle clock new clocks are copied from.
    """

    name: str
    calendar: CalendarLike
    pause_in: frozenset[str]
    escalations: tuple[Escalation, ...]
    specs: tuple[SLAClock, ...]
    index: dict[str, int]
    plans: dict[tuple[Priority, str], Plan]
    plan_rows: dict[Priority, tuple[Plan | None, ...]]
    targets_by: dict[Priority, tuple[timedelta | None, ...]]
    template: ClockState


def is_fired(cp: Checkpoint, fired: frozenset[str]) -> bool:
    """Whether checkpoint ``cp`` was already emitted in the cycle, whatever its threshold then.

    A key is ``name@threshold``; the threshold moves with the target (a priority change,
    a recompute), the checkpoint does not: a warning, breach or escalation level once
    notified is never notified again in the same cycle because its target moved.
    """
    if cp.key in fired:
        return True
    if not fired:
        return False
    stem = cp.key[: cp.key.find("@") + 1]
    return any(k.startswith(stem) for k in fired)


def fraction_text(f: float) -> str:
    """A warning fraction as written in a checkpoint key (``0.75``, ``0.5``)."""
    return f"{f:g}"


def checkpoints(
    metric: str, target: timedelta, warn_at: tuple[float, ...], escalations: tuple[Escalation, ...]
) -> tuple[Checkpoint, ...]:
    """The checkpoints of clock ``metric`` with ``target``: warnings, the breach, the escalations.

    Ordered by threshold; at one threshold a warning comes before the breach and
    the breach before an escalation.
    """
    items: list[tuple[timedelta, int, Checkpoint]] = []
    for f in sorted(set(warn_at)):
        thr = target * float(f)
        key = f"warn:{fraction_text(f)}@{format_duration(thr)}"
        items.append((thr, 0, Checkpoint(thr, key, "warning", float(f), None, None)))
    items.append(
        (target, 1, Checkpoint(target, f"breach@{format_duration(target)}", "breach", 1.0, None, None))
    )
    level = 0
    for e in escalations:
        if e.metric != metric:
            continue
        level += 1
        thr = e.threshold(target)
        key = f"esc:{level}@{format_duration(thr)}"
        items.append((thr, 2, Checkpoint(thr, key, "escalation", None, level, e)))
    items.sort(key=lambda x: (x[0], x[1]))
    return tuple(i[2] for i in items)


def build_plan(
    *,
    name: str,
    calendar: CalendarLike,
    targets: Mapping[Priority | str, SLATarget],
    pause_in: frozenset[str],
    warn_at: tuple[float, ...],
    escalations: tuple[Escalation, ...],
    specs: tuple[SLAClock, ...],
) -> PolicyPlan:
    """The `PolicyPlan` of a policy whose fields were checked (``specs``: its clocks in order)."""
    plans: dict[tuple[Priority, str], Plan] = {}
    targets_by: dict[Priority, tuple[timedelta | None, ...]] = {}
    for pr in Priority:
        chosen = targets.get(pr) or targets.get("default")
        row: list[timedelta | None] = []
        for spec in specs:
            target = chosen.get(spec.metric) if chosen is not None else None
            row.append(target)
            if target is not None:
                plans[(pr, spec.metric)] = Plan(
                    target, checkpoints(spec.metric, target, warn_at, escalations)
                )
        targets_by[pr] = tuple(row)
    return PolicyPlan(
        name=name,
        calendar=calendar,
        pause_in=pause_in,
        escalations=escalations,
        specs=specs,
        index={c.metric: i for i, c in enumerate(specs)},
        plans=plans,
        plan_rows={pr: tuple(plans.get((pr, c.metric)) for c in specs) for pr in Priority},
        targets_by=targets_by,
        template=ClockState(metric="template"),
    )
