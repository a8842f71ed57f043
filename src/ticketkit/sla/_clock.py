"""Arithmetic on one clock's state: run, pause, stop, new cycle, deadlines and the next checkpoint.

Every function takes values and returns values: a
[`ClockState`][ticketkit.ClockState] and the calendar or the
`PolicyPlan` it is measured with. States are built
with ``replace_trusted`` because the engine made every value in them; these are
the hot paths of the SLA engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ticketkit.errors import ValidationError
from ticketkit.model._models import ClockSegment, ClockState, Priority, SLAState, Ticket, replace_trusted
from ticketkit.sla._plan import ZERO, CalendarLike, PolicyPlan, is_fired

__all__: list[str] = []


def segment(start: datetime, elapsed_before: timedelta) -> ClockSegment:
    """A running ClockSegment from engine-made values, without re-validating them."""
    seg = object.__new__(ClockSegment)
    object.__setattr__(seg, "start", start)
    object.__setattr__(seg, "end", None)
    object.__setattr__(seg, "elapsed_before", elapsed_before)
    return seg


def new_state(template: ClockState, **changes: Any) -> ClockState:
    """``template`` with ``changes``, for engine-made values only."""
    return replace_trusted(template, **changes)


def live(cal: CalendarLike, cs: ClockState, at: datetime) -> timedelta:
    """The business time the clock has counted by ``at`` (its current cycle)."""
    rs = cs.running_since
    if rs is None or at <= rs:
        return cs.elapsed
    return cs.elapsed + cal.between(rs, at)


def reached(cal: CalendarLike, cs: ClockState, thr: timedelta) -> datetime | None:
    """When the clock's elapsed time reached ``thr`` while it ran (a future instant if it runs now).

    None when it has not (and, paused or stopped, cannot without resuming).
    """
    rs = cs.running_since
    if rs is not None and thr > cs.elapsed:
        return cal.add(rs, thr - cs.elapsed)
    segs = cs.segments
    n = len(segs)
    for i, seg in enumerate(segs):
        e0 = seg.elapsed_before
        if seg.end is None:
            return cal.add(seg.start, thr - e0) if thr >= e0 else seg.start
        e1 = segs[i + 1].elapsed_before if i + 1 < n else cs.elapsed
        if thr < e1:
            return cal.add(seg.start, thr - e0)
        if thr == e1:
            candidate = cal.add(seg.start, thr - e0)
            if candidate < seg.end:
                return candidate
    return None


def state_of(plan: PolicyPlan, ticket: Ticket) -> SLAState:
    """The ticket's clocks under ``plan`` (new clocks of an edited policy added idle).

    Raises:
        ValidationError: when the ticket has no clocks or runs under another policy.
    """
    sla = ticket.sla
    if sla is None:
        raise ValidationError.one(
            "ticket.sla", f"ticket {ticket.id!r} has no SLA clocks; call policy.start(ticket, at) first"
        )
    if sla.policy != plan.name:
        raise ValidationError.one(
            "ticket.sla",
            f"ticket {ticket.id!r} runs under SLA policy {sla.policy!r}, not {plan.name!r}; "
            "move it with recompute(ticket, events) or reselect_policy(...)",
        )
    clocks = sla.clocks
    specs = plan.specs
    if len(clocks) != len(specs) or any(c.metric != s.metric for c, s in zip(clocks, specs, strict=False)):
        # The policy was edited since the clocks were set up: keep the clocks it still
        # has, add the new ones idle (recompute() measures them over the history).
        by_metric = {c.metric: c for c in clocks}
        adapted = tuple(
            by_metric.get(s.metric) or new_state(plan.template, metric=s.metric, fired=frozenset())
            for s in specs
        )
        return replace_trusted(sla, clocks=adapted)
    return sla


def begin(
    cs: ClockState,
    t: datetime,
    *,
    paused: bool,
    cycle: int,
    elapsed: timedelta = ZERO,
    segments: tuple[ClockSegment, ...] = (),
    carried: tuple[tuple[str, datetime], ...] | None = None,
    fired: frozenset[str] | None = None,
    started_at: datetime | None = None,
) -> ClockState:
    """``cs`` running (or paused) from ``t`` in ``cycle`` with ``elapsed`` already counted."""
    if not paused:
        segments = (*segments, segment(t, elapsed))
    return new_state(
        cs,
        elapsed=elapsed,
        running_since=None if paused else t,
        paused_since=t if paused else None,
        stopped_at=None,
        started_at=t if started_at is None else started_at,
        cycle=cycle,
        fired=cs.fired if fired is None else fired,
        segments=segments,
        carried=cs.carried if carried is None else carried,
        target=None,
        due_at=None,
        breached_at=None,
    )


def halt(cal: CalendarLike, cs: ClockState, t: datetime, *, stop: bool) -> ClockState:
    """Pause (``stop=False``) or stop a running or paused clock at ``t``."""
    rs = cs.running_since
    elapsed = cs.elapsed
    segments = cs.segments
    if rs is not None:
        if t > rs:
            elapsed = elapsed + cal.between(rs, t)
        last = segments[-1] if segments else None
        if last is not None and last.end is None:
            segments = (*segments[:-1], replace_trusted(last, end=t))
    return new_state(
        cs,
        elapsed=elapsed,
        running_since=None,
        paused_since=None if stop else (cs.paused_since if rs is None else t),
        stopped_at=t if stop else None,
        segments=segments,
        target=None,
        due_at=None,
        breached_at=None,
    )


def new_cycle(
    plan: PolicyPlan, cs: ClockState, t: datetime, *, paused: bool, priority: Priority
) -> ClockState:
    """Close the clock's cycle at ``t`` (carrying its unemitted checkpoints) and start the next."""
    cal = plan.calendar
    closed = halt(cal, cs, t, stop=True) if cs.state in ("running", "paused") else cs
    carried = list(closed.carried)
    clock_plan = plan.plans.get((priority, cs.metric))
    if clock_plan is not None and closed.state != "idle":
        for cp in clock_plan.checkpoints:
            if is_fired(cp, closed.fired):
                continue
            inst = reached(cal, closed, cp.threshold)
            if inst is None:
                break
            carried.append((f"{closed.cycle}/{cp.key}", inst))
    return begin(
        closed,
        t,
        paused=paused,
        cycle=cs.cycle + 1,
        carried=tuple(carried),
        fired=frozenset(),
        segments=(),
    )


def refresh(cal: CalendarLike, cs: ClockState, target: timedelta | None) -> ClockState:
    """Fill the deadline cache of ``cs`` for ``target``."""
    if cs.target == target and (target is None or cs.due_at is not None or cs.state != "running"):
        return cs
    if target is None or cs.state == "idle":
        return new_state(cs, target=target, due_at=None, breached_at=None)
    inst = reached(cal, cs, target)
    breached = inst if (cs.running_since is None or target <= cs.elapsed) else None
    return new_state(cs, target=target, due_at=inst, breached_at=breached)


def instant(cal: CalendarLike, cs: ClockState, thr: timedelta, target: timedelta) -> datetime | None:
    """When the clock reaches ``thr`` (the cached deadline when ``thr`` is the target)."""
    if thr == target and cs.target == target and cs.state != "idle":
        return cs.due_at
    return reached(cal, cs, thr)


def clock_next(plan: PolicyPlan, cs: ClockState, priority: Priority) -> datetime | None:
    """The earliest checkpoint of ``cs`` not yet emitted (carried ones included)."""
    best: datetime | None = None
    for _, carried_at in cs.carried:
        if best is None or carried_at < best:
            best = carried_at
    if cs.state == "idle":
        return best
    clock_plan = plan.plans.get((priority, cs.metric))
    if clock_plan is None:
        return best
    for cp in clock_plan.checkpoints:
        if is_fired(cp, cs.fired):
            continue
        inst = instant(plan.calendar, cs, cp.threshold, clock_plan.target)
        if inst is not None and (best is None or inst < best):
            best = inst
        break
    return best


def finish(
    plan: PolicyPlan, ticket: Ticket, clocks: Sequence[ClockState], before: Sequence[ClockState] = ()
) -> Ticket:
    """``ticket`` with ``clocks``, their deadline caches and checkpoints refreshed.

    ``before`` are clocks known to be up to date: one still in ``clocks`` (the same
    object) keeps its cached next checkpoint.
    """
    row = plan.targets_by[ticket.priority]
    cal = plan.calendar
    fresh: list[ClockState] = []
    best: datetime | None = None
    for i, cs in enumerate(clocks):
        if i < len(before) and cs is before[i] and cs.target == row[i]:
            due = cs.next_at  # untouched by the event and the target is the same: still valid
        else:
            cs = refresh(cal, cs, row[i])  # noqa: PLW2901 - the refreshed state replaces it
            due = clock_next(plan, cs, ticket.priority)
        if due != cs.next_at:
            cs = new_state(cs, next_at=due)  # noqa: PLW2901
        if due is not None and (best is None or due < best):
            best = due
        fresh.append(cs)
    sla = SLAState.__new__(SLAState)
    object.__setattr__(sla, "policy", plan.name)
    object.__setattr__(sla, "clocks", tuple(fresh))
    object.__setattr__(sla, "next_due_at", best)
    return replace_trusted(ticket, sla=sla)
