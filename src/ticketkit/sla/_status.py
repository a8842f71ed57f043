"""Reading the clocks on a ticket: [`SLAStatus`][ticketkit.SLAStatus] per measured clock, without history.

The functions behind [`status`][ticketkit.SLAPolicy.status]: each clock's state,
elapsed and remaining time, deadline, breach and crossed warnings and escalation
levels at an instant, from the state `ticketkit.sla._apply` keeps on the
ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from ticketkit.model._models import ClockState, Ticket
from ticketkit.model._serialization import format_duration
from ticketkit.model._time import require_aware
from ticketkit.sla._clock import live, reached, refresh, state_of
from ticketkit.sla._config import SLAClock
from ticketkit.sla._plan import ZERO, Plan, PolicyPlan

__all__ = ["SLAStatus"]


@attrs.frozen(kw_only=True, slots=False)
class SLAStatus:
    """What one SLA clock is doing at an instant, and why.

    ``state`` is ``idle`` (not started), ``running``, ``paused``, ``met`` (stopped
    within its target) or ``breached`` (its target was reached before it stopped;
    it may still be running or paused: see ``clock``). ``elapsed`` is business time
    spent in the current cycle; ``remaining`` is ``target - elapsed`` (negative
    when overdue). ``due_at`` is when the target is (or was) reached while the
    clock runs; None while paused or met. ``warnings`` lists the warning fractions
    crossed, ``escalations`` the escalation levels reached. ``paused_by`` says what
    pauses the clock; [`reason`][ticketkit.SLAStatus.reason] says it all in words ("paused: status is
    pending; 1h of 8h used").

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> policy = tk.SLAPolicy(
        ...     name="std",
        ...     calendar=tk.BusinessCalendar.always_open("UTC"),
        ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
        ... )
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = policy.start(tk.Ticket(subject="Broken zip", created_at=t0), t0)
        >>> s = policy.status(t, at=t0 + timedelta(hours=2))["resolution"]
        >>> s.state, s.remaining, s.due_at.hour
        ('running', datetime.timedelta(seconds=21600), 17)
        >>> s.reason
        'running: 2h of 8h used, due 2025-03-03T17:00:00+00:00'
    """

    metric: str
    state: str
    clock: str
    target: timedelta
    elapsed: timedelta
    remaining: timedelta
    due_at: datetime | None
    breached_at: datetime | None
    warnings: tuple[float, ...]
    escalations: tuple[int, ...]
    cycle: int
    at: datetime
    policy: str
    stopped_at: datetime | None = None
    paused_by: str | None = None

    @property
    def breached(self) -> bool:
        """Whether the target was reached before the clock stopped."""
        return self.state == "breached"

    @property
    def reason(self) -> str:
        """The state in words: ``"paused: status is pending; 1h of 8h used"``."""
        used = f"{_human(self.elapsed)} of {_human(self.target)} used"
        paused = f"paused: {self.paused_by or 'the pause condition holds'}"
        if self.state == "idle":
            return "not started"
        if self.state == "breached":
            head = f"breached at {self.breached_at.isoformat() if self.breached_at else '?'}"
            if self.clock == "running":
                return f"{head}, {_human(self.elapsed - self.target)} overdue; still running"
            if self.clock == "paused":
                return f"{head}; {paused}"
            return f"{head}; stopped at {self.stopped_at.isoformat() if self.stopped_at else '?'}"
        if self.state == "running":
            return f"running: {used}, due {self.due_at.isoformat()}" if self.due_at else f"running: {used}"
        if self.state == "paused":
            return f"{paused}; {used}"
        return f"met at {self.stopped_at.isoformat() if self.stopped_at else '?'}: {used}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (durations as ISO 8601, datetimes with offsets), with the reason.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> d = SLAStatus(
            ...     metric="resolution",
            ...     state="idle",
            ...     clock="idle",
            ...     target=timedelta(hours=1),
            ...     elapsed=timedelta(0),
            ...     remaining=timedelta(hours=1),
            ...     due_at=None,
            ...     breached_at=None,
            ...     warnings=(),
            ...     escalations=(),
            ...     cycle=0,
            ...     at=at,
            ...     policy="std",
            ... ).to_dict()
            >>> d["remaining"], d["reason"]
            ('PT1H', 'not started')
        """

        def moment(d: datetime | None) -> str | None:
            return None if d is None else d.isoformat()

        return {
            "metric": self.metric,
            "state": self.state,
            "clock": self.clock,
            "target": format_duration(self.target),
            "elapsed": format_duration(self.elapsed),
            "remaining": format_duration(self.remaining),
            "due_at": moment(self.due_at),
            "breached_at": moment(self.breached_at),
            "warnings": list(self.warnings),
            "escalations": list(self.escalations),
            "cycle": self.cycle,
            "at": self.at.isoformat(),
            "policy": self.policy,
            "stopped_at": moment(self.stopped_at),
            "paused_by": self.paused_by,
            "reason": self.reason,
        }


def _status(**fields: Any) -> SLAStatus:
    """An SLAStatus built from engine-made values, without running attrs' __init__."""
    obj = object.__new__(SLAStatus)
    object.__setattr__(obj, "__dict__", fields)
    return obj


def _human(d: timedelta) -> str:
    """A short duration in words: ``1h 20m``, ``45s``, ``-30m``."""
    total = int(d.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h"] if h else []
    if m:
        parts.append(f"{m}m")
    if s or not parts:
        parts.append(f"{s}s")
    return sign + " ".join(parts)


def clock_status(
    policy: PolicyPlan, spec: SLAClock, cs: ClockState, plan: Plan, ticket: Ticket, *, at: datetime
) -> SLAStatus:
    """The status of clock ``cs`` (defined by ``spec``, measured by ``plan``) at ``at``."""
    target = plan.target
    st = cs.state
    if st == "idle":
        return _idle_status(policy, spec.metric, cs, target, at)
    cal = policy.calendar
    if cs.target != target:
        cs = refresh(cal, cs, target)
    live_elapsed = live(cal, cs, at)
    running = st == "running"
    if running:
        due = cs.due_at
        breached_at = due if due is not None and at >= due else None
    else:
        due = None
        breached_at = cs.breached_at if cs.breached_at is not None and cs.breached_at <= at else None
    warnings: list[float] = []
    levels: list[int] = []
    elapsed0 = cs.elapsed
    for cp in plan.checkpoints:
        thr = cp.threshold
        if running and thr > elapsed0:
            crossed = thr <= live_elapsed
        elif thr < elapsed0:
            crossed = True
        elif thr == elapsed0:
            inst = reached(cal, cs, thr)
            crossed = inst is not None and inst <= at
        else:
            crossed = False
        if not crossed:
            break
        if cp.fraction is not None and cp.kind == "warning":
            warnings.append(cp.fraction)
        elif cp.level is not None:
            levels.append(cp.level)
    if breached_at is not None:
        state = "breached"
        due = breached_at
    elif running:
        state = "running"
    elif st == "paused":
        state = "paused"
    else:
        state = "met"
    return _status(
        metric=spec.metric,
        state=state,
        clock=st,
        target=target,
        elapsed=live_elapsed,
        remaining=target - live_elapsed,
        due_at=due,
        breached_at=breached_at,
        warnings=tuple(warnings),
        escalations=tuple(levels),
        cycle=cs.cycle,
        at=at,
        policy=policy.name,
        stopped_at=cs.stopped_at,
        paused_by=pause_reason(policy, spec, ticket) if st == "paused" else None,
    )


def _idle_status(
    policy: PolicyPlan, metric: str, cs: ClockState, target: timedelta, at: datetime
) -> SLAStatus:
    return _status(
        metric=metric,
        state="idle",
        clock="idle",
        target=target,
        elapsed=ZERO,
        remaining=target,
        due_at=None,
        breached_at=None,
        warnings=(),
        escalations=(),
        cycle=cs.cycle,
        at=at,
        policy=policy.name,
        stopped_at=None,
        paused_by=None,
    )


def pause_reason(policy: PolicyPlan, spec: SLAClock, ticket: Ticket) -> str:
    """What pauses clock ``spec`` on ``ticket``, in words (``status is pending``)."""
    names = policy.pause_in if spec.pause_in is None else spec.pause_in
    if ticket.status in names:
        return f"status is {ticket.status}"
    if ticket.status_kind in names:
        return f"status {ticket.status} is {ticket.status_kind}"
    return "the pause condition holds"


def read_status(policy: PolicyPlan, ticket: Ticket, at: datetime) -> dict[str, SLAStatus]:
    """Each measured clock's status at ``at`` (see [`status`][ticketkit.SLAPolicy.status])."""
    require_aware(at, "at")
    sla = state_of(policy, ticket)
    out: dict[str, SLAStatus] = {}
    for spec, cs, plan in zip(policy.specs, sla.clocks, policy.plan_rows[ticket.priority], strict=True):
        if plan is not None:
            out[spec.metric] = clock_status(policy, spec, cs, plan, ticket, at=at)
    return out
