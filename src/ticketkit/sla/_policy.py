"""The SLA engine: policies, clocks kept on the ticket, status, checkpoints and due events.

A policy's clocks live on the ticket ([`SLAState`][ticketkit.SLAState]), updated in
O(1) per event by [`SLAPolicy.apply`][ticketkit.SLAPolicy.apply];
[`SLAPolicy.status`][ticketkit.SLAPolicy.status] reads them without replaying history. Each clock keeps the
stretches it ran in its current cycle, so the instant any threshold was reached can be found for any target: a
priority change needs no replay and gives the same answer as one. Everything is
pure: time comes in as ``at``; nothing reads the system clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

import attrs

from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._events import (
    SLA_BREACHED,
    SLA_ESCALATED,
    SLA_POLICY,
    SLA_WARNING,
    STATUS_CHANGED,
    TICKET_CREATED,
)
from ticketkit.model._json import EMPTY, FrozenDict
from ticketkit.model._models import (
    ClockSegment,
    ClockState,
    Event,
    Priority,
    SLAState,
    Ticket,
    replace_trusted,
)
from ticketkit.model._serialization import format_duration, parse_duration
from ticketkit.model._time import require_aware
from ticketkit.sla._config import (
    METRICS,
    ConditionLike,
    Escalation,
    SLAClock,
    SLATarget,
    check_keys,
    load_condition,
)
from ticketkit.sla._replay import initial_ticket, replay_states

__all__ = ["SLAPolicy", "SLAStatus", "reselect_policy", "select_policy"]

ZERO: Final = timedelta(0)
ACTOR: Final = "system:sla"
_SLA_EVENT_KINDS: Final = frozenset({SLA_WARNING, SLA_BREACHED, SLA_ESCALATED})
_KIND_OF: Final = {"warning": SLA_WARNING, "breach": SLA_BREACHED, "escalation": SLA_ESCALATED}
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
STATES: Final = ("idle", "running", "paused", "met", "breached")


class CalendarLike(Protocol):
    """What the SLA engine needs from a [`BusinessCalendar`][ticketkit.BusinessCalendar]."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant with ``duration`` of business time since ``start``."""

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)``."""


# --------------------------------------------------------------------------- status


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


# --------------------------------------------------------------------------- internals


class _Checkpoint(NamedTuple):
    threshold: timedelta
    key: str
    kind: str  # warning | breach | escalation
    fraction: float | None
    level: int | None
    escalation: Escalation | None


class _Plan(NamedTuple):
    target: timedelta
    checkpoints: tuple[_Checkpoint, ...]


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


_PAIRS: Final = tuple(a + b for a in _ALPHABET for b in _ALPHABET)  # 10 bits -> two characters


def _event_id(instant: datetime, *parts: object) -> str:
    """A ULID-shaped id fixed by its parts, so the same due event always has the same id."""
    ms = max(0, int(instant.timestamp() * 1000))
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=10).digest()
    value = (ms << 80) | int.from_bytes(digest, "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def _trusted_event(**fields: Any) -> Event:
    """An Event from engine-made, JSON-safe values, without re-validating them."""
    if not hasattr(Event, "__slots__"):
        obj = object.__new__(Event)
        object.__setattr__(obj, "__dict__", fields)
        return obj
    return Event(**fields)  # pragma: no cover - a slotted Event is built the checked way


def _segment(start: datetime, elapsed_before: timedelta) -> ClockSegment:
    """A running ClockSegment from engine-made values, without re-validating them."""
    seg = object.__new__(ClockSegment)
    object.__setattr__(seg, "start", start)
    object.__setattr__(seg, "end", None)
    object.__setattr__(seg, "elapsed_before", elapsed_before)
    return seg


def _new_state(template: ClockState, **changes: Any) -> ClockState:
    return replace_trusted(template, **changes)


def _live(cal: CalendarLike, cs: ClockState, at: datetime) -> timedelta:
    rs = cs.running_since
    if rs is None or at <= rs:
        return cs.elapsed
    return cs.elapsed + cal.between(rs, at)


def _reached(cal: CalendarLike, cs: ClockState, thr: timedelta) -> datetime | None:
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


def _priority_key(key: Any) -> Any:
    if isinstance(key, Priority):
        return key
    if isinstance(key, str):
        if key.strip().lower() == "default":
            return "default"
        try:
            return Priority.parse(key)
        except ValidationError:
            return key
    return key


def _to_targets(value: Any) -> Any:
    if isinstance(value, SLATarget):
        return {"default": value}
    if isinstance(value, Mapping):
        return {_priority_key(k): v for k, v in value.items()}
    return value


def _to_frozenset(value: Any) -> Any:
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


def _to_floats(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return tuple(value)
    return value


def _to_tuple(value: Any) -> Any:
    if isinstance(value, Escalation | SLAClock):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return tuple(value)
    return value


def _fraction_text(f: float) -> str:
    return f"{f:g}"


def _calendar_problem(cal: object) -> str | None:
    if not callable(getattr(cal, "add", None)) or not callable(getattr(cal, "between", None)):
        return f"expected a BusinessCalendar (with add and between), got {cal!r}"
    return None


# --------------------------------------------------------------------------- policy


@attrs.frozen(kw_only=True)
class SLAPolicy:
    """Service levels for the tickets that match ``when``: targets, pauses, warnings, escalations.

    ``targets`` maps a [`Priority`][ticketkit.Priority] (or its name) or ``"default"``
    to an [`SLATarget`][ticketkit.SLATarget]; a ticket's priority picks its target, else the
    default. Clocks run on ``calendar`` (business time). They pause while the
    ticket's status name or kind is in ``pause_in``. ``warn_at`` are fractions of
    the target (``0.75``) at which a warning falls due; ``escalations`` are the
    ladder. ``clocks`` adds your own [`SLAClock`][ticketkit.SLAClock] definitions or replaces a
    preset of the same metric; every metric with a target needs a clock (the four
    named metrics have presets).

    Policies are tried in the order given and the first whose ``when`` holds
    applies ([`select_policy`][ticketkit.select_policy]); ``when=None`` matches every ticket.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]})
        >>> vip = tk.SLAPolicy(
        ...     name="vip",
        ...     calendar=cal,
        ...     when=tk.F.customer.tier == "vip",
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
        ...     pause_in={"pending"},
        ...     warn_at=(0.75,),
        ... )
        >>> t0 = datetime(2025, 3, 3, 11, 0, tzinfo=cal.tz)
        >>> t = vip.start(
        ...     tk.Ticket(subject="Refund?", created_at=t0, customer=tk.Customer(id="c", tier="vip"))
        ... )
        >>> vip.status(t, at=t0)["first_response"].due_at.isoformat()
        '2025-03-03T14:00:00+08:00'
    """

    name: str
    calendar: CalendarLike
    targets: Mapping[Priority | str, SLATarget] = attrs.field(converter=_to_targets, hash=False)
    when: ConditionLike | None = attrs.field(default=None, hash=False)
    pause_in: frozenset[str] = attrs.field(default=frozenset(), converter=_to_frozenset)
    warn_at: tuple[float, ...] = attrs.field(default=(), converter=_to_floats)
    escalations: tuple[Escalation, ...] = attrs.field(default=(), converter=_to_tuple)
    clocks: tuple[SLAClock, ...] = attrs.field(default=(), converter=_to_tuple)
    _specs: tuple[SLAClock, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _plans: dict[tuple[Priority, str], _Plan] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _plan_rows: dict[Priority, tuple[_Plan | None, ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _targets_by: dict[Priority, tuple[timedelta | None, ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _index: dict[str, int] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _template: ClockState = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        me: Any = self
        out: list[ErrorDetail] = []
        if not isinstance(me.name, str) or not me.name.strip():
            out.append(ErrorDetail("name", f"expected a non-empty name, got {me.name!r}"))
        problem = _calendar_problem(me.calendar)
        if problem:
            out.append(ErrorDetail("calendar", problem))
        if me.when is not None and not callable(getattr(me.when, "evaluate", None)):
            out.append(ErrorDetail("when", f"expected a Condition or None, got {me.when!r}"))
        metrics: list[str] = []
        if not isinstance(me.targets, Mapping):
            out.append(
                ErrorDetail("targets", f"expected a mapping of priority to SLATarget, got {me.targets!r}")
            )
        else:
            if not me.targets:
                out.append(ErrorDetail("targets", "give at least one target (per priority or 'default')"))
            for key, target in me.targets.items():
                p = join_path("targets", key.value if isinstance(key, Priority) else str(key))
                if not isinstance(key, Priority) and key != "default":
                    out.append(
                        ErrorDetail(
                            p,
                            f"unknown priority {key!r} (expected one of: low, normal, high, urgent, default)",
                        )
                    )
                if not isinstance(target, SLATarget):
                    out.append(ErrorDetail(p, f"expected an SLATarget, got {target!r}"))
                    continue
                for m in target.metrics():
                    if m not in metrics:
                        metrics.append(m)
        if not isinstance(me.pause_in, frozenset) or not all(isinstance(s, str) for s in me.pause_in):
            out.append(
                ErrorDetail("pause_in", f"expected a set of status names or kinds, got {me.pause_in!r}")
            )
        if not isinstance(me.warn_at, tuple):
            out.append(ErrorDetail("warn_at", f"expected a list of fractions, got {me.warn_at!r}"))
        else:
            for i, f in enumerate(me.warn_at):
                if not isinstance(f, int | float) or isinstance(f, bool) or not 0 < f < 1:
                    out.append(
                        ErrorDetail(f"warn_at[{i}]", f"expected a fraction between 0 and 1, got {f!r}")
                    )
        custom: dict[str, SLAClock] = {}
        if not isinstance(me.clocks, tuple):
            out.append(ErrorDetail("clocks", f"expected a list of SLAClock, got {me.clocks!r}"))
        else:
            for i, c in enumerate(me.clocks):
                if not isinstance(c, SLAClock):
                    out.append(ErrorDetail(f"clocks[{i}]", f"expected an SLAClock, got {c!r}"))
                elif c.metric in custom:
                    out.append(ErrorDetail(f"clocks[{i}].metric", f"clock {c.metric!r} is defined twice"))
                else:
                    custom[c.metric] = c
        specs: list[SLAClock] = []
        order: list[str] = [m for m in METRICS if m in metrics or m in custom]
        order += [m for m in metrics if m not in METRICS]
        order += [m for m in custom if m not in order]
        for m in order:
            if m in custom:
                specs.append(custom[m])
            elif m in METRICS:
                specs.append(SLAClock.preset(m))
            else:
                out.append(
                    ErrorDetail(
                        "targets",
                        f"no clock for metric {m!r}: define it in clocks= "
                        f"(or use a preset: {', '.join(METRICS)})",
                    )
                )
        known = {c.metric for c in specs}
        if not isinstance(me.escalations, tuple):
            out.append(ErrorDetail("escalations", f"expected a list of Escalation, got {me.escalations!r}"))
        else:
            for i, e in enumerate(me.escalations):
                if not isinstance(e, Escalation):
                    out.append(ErrorDetail(f"escalations[{i}]", f"expected an Escalation, got {e!r}"))
                elif e.metric not in known:
                    out.append(
                        ErrorDetail(
                            f"escalations[{i}].metric",
                            f"no clock {e.metric!r} in this policy "
                            f"(its clocks: {', '.join(sorted(known)) or 'none'})",
                        )
                    )
        if out:
            raise ValidationError(out)
        setter = object.__setattr__
        setter(self, "_specs", tuple(specs))
        setter(self, "_index", {c.metric: i for i, c in enumerate(specs)})
        plans: dict[tuple[Priority, str], _Plan] = {}
        targets_by: dict[Priority, tuple[timedelta | None, ...]] = {}
        for pr in Priority:
            chosen = me.targets.get(pr) or me.targets.get("default")
            row: list[timedelta | None] = []
            for spec in specs:
                target = chosen.get(spec.metric) if chosen is not None else None
                row.append(target)
                if target is not None:
                    plans[(pr, spec.metric)] = _Plan(target, me._checkpoints(spec.metric, target))
            targets_by[pr] = tuple(row)
        setter(self, "_plans", plans)
        setter(self, "_plan_rows", {pr: tuple(plans.get((pr, c.metric)) for c in specs) for pr in Priority})
        setter(self, "_targets_by", targets_by)
        setter(self, "_template", ClockState(metric="template"))

    def _checkpoints(self, metric: str, target: timedelta) -> tuple[_Checkpoint, ...]:
        items: list[tuple[timedelta, int, _Checkpoint]] = []
        for f in sorted(set(self.warn_at)):
            thr = target * float(f)
            key = f"warn:{_fraction_text(f)}@{format_duration(thr)}"
            items.append((thr, 0, _Checkpoint(thr, key, "warning", float(f), None, None)))
        items.append(
            (target, 1, _Checkpoint(target, f"breach@{format_duration(target)}", "breach", 1.0, None, None))
        )
        level = 0
        for e in self.escalations:
            if e.metric != metric:
                continue
            level += 1
            thr = e.threshold(target)
            key = f"esc:{level}@{format_duration(thr)}"
            items.append((thr, 2, _Checkpoint(thr, key, "escalation", None, level, e)))
        items.sort(key=lambda x: (x[0], x[1]))
        return tuple(i[2] for i in items)

    # ------------------------------------------------------------------ reading config

    @property
    def metrics(self) -> tuple[str, ...]:
        """The clocks this policy keeps, in order.

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="p",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={
            ...         "default": tk.SLATarget(
            ...             resolution=timedelta(hours=4), first_response=timedelta(hours=1)
            ...         )
            ...     },
            ... )
            >>> p.metrics
            ('first_response', 'resolution')
        """
        return tuple(c.metric for c in self._specs)

    def clock(self, metric: str) -> SLAClock:
        """The clock definition for ``metric`` (a preset or your own)."""
        try:
            return self._specs[self._index[metric]]
        except KeyError:
            raise ValidationError.one(
                "metric",
                f"no clock {metric!r} in policy {self.name!r} (its clocks: {', '.join(self.metrics)})",
            ) from None

    def target_for(self, priority: Priority | str, metric: str) -> timedelta | None:
        """The target of ``metric`` for a ticket of ``priority`` (None: not measured).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="p",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={
            ...         "urgent": tk.SLATarget(resolution=timedelta(hours=4)),
            ...         "default": tk.SLATarget(resolution=timedelta(hours=24)),
            ...     },
            ... )
            >>> p.target_for("urgent", "resolution"), p.target_for("low", "resolution")
            (datetime.timedelta(seconds=14400), datetime.timedelta(days=1))
        """
        plan = self._plans.get((Priority.parse(priority), metric))
        return None if plan is None else plan.target

    def matches(self, ticket: Ticket, at: datetime | None = None) -> bool:
        """Whether this policy's ``when`` holds for ``ticket`` (always, when it has none)."""
        if self.when is None:
            return True
        return bool(self.when.evaluate(ticket, at=at))

    # ------------------------------------------------------------------ clock updates

    def _state_of(self, ticket: Ticket) -> SLAState:
        sla = ticket.sla
        if sla is None:
            raise ValidationError.one(
                "ticket.sla", f"ticket {ticket.id!r} has no SLA clocks; call policy.start(ticket, at) first"
            )
        if sla.policy != self.name:
            raise ValidationError.one(
                "ticket.sla",
                f"ticket {ticket.id!r} runs under SLA policy {sla.policy!r}, not {self.name!r}; "
                "move it with recompute(ticket, events) or reselect_policy(...)",
            )
        clocks = sla.clocks
        if len(clocks) != len(self._specs) or any(
            c.metric != s.metric for c, s in zip(clocks, self._specs, strict=False)
        ):
            # The policy was edited since the clocks were set up: keep the clocks it still
            # has, add the new ones idle (recompute() measures them over the history).
            by_metric = {c.metric: c for c in clocks}
            adapted = tuple(
                by_metric.get(s.metric) or _new_state(self._template, metric=s.metric, fired=frozenset())
                for s in self._specs
            )
            return replace_trusted(sla, clocks=adapted)
        return sla

    def _should_pause(self, spec: SLAClock, ticket: Ticket, event: Event | None) -> bool:
        names = self.pause_in if spec.pause_in is None else spec.pause_in
        status, kind = ticket.status, ticket.status_kind
        if event is not None and event.kind == STATUS_CHANGED:
            status = event.data.get("to", status)
            kind = event.data.get("to_kind", kind)
        if names and (status in names or kind in names):
            return True
        if spec.pause_when is not None:
            return bool(spec.pause_when.evaluate(ticket, at=event.at if event is not None else None))
        return False

    def _pause_reason(self, spec: SLAClock, ticket: Ticket) -> str:
        names = self.pause_in if spec.pause_in is None else spec.pause_in
        if ticket.status in names:
            return f"status is {ticket.status}"
        if ticket.status_kind in names:
            return f"status {ticket.status} is {ticket.status_kind}"
        return "the pause condition holds"

    def _begin(
        self,
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
        if not paused:
            segments = (*segments, _segment(t, elapsed))
        return _new_state(
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

    def _halt(self, cs: ClockState, t: datetime, *, stop: bool) -> ClockState:
        """Pause (``stop=False``) or stop a running or paused clock at ``t``."""
        rs = cs.running_since
        elapsed = cs.elapsed
        segments = cs.segments
        if rs is not None:
            if t > rs:
                elapsed = elapsed + self.calendar.between(rs, t)
            last = segments[-1] if segments else None
            if last is not None and last.end is None:
                segments = (*segments[:-1], replace_trusted(last, end=t))
        return _new_state(
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

    def _new_cycle(self, cs: ClockState, t: datetime, *, paused: bool, priority: Priority) -> ClockState:
        closed = self._halt(cs, t, stop=True) if cs.state in ("running", "paused") else cs
        carried = list(closed.carried)
        plan = self._plans.get((priority, cs.metric))
        if plan is not None and closed.state != "idle":
            for cp in plan.checkpoints:
                if cp.key in closed.fired:
                    continue
                inst = _reached(self.calendar, closed, cp.threshold)
                if inst is None:
                    break
                carried.append((f"{closed.cycle}/{cp.key}", inst))
        return self._begin(
            closed,
            t,
            paused=paused,
            cycle=cs.cycle + 1,
            carried=tuple(carried),
            fired=frozenset(),
            segments=(),
        )

    def _step(self, spec: SLAClock, cs: ClockState, ticket: Ticket, event: Event) -> ClockState:
        t = event.at
        last = cs.running_since or cs.paused_since or cs.stopped_at
        if last is not None and t < last:
            t = last  # an event older than the clock's last change counts from that change
        state = cs.state
        if state in ("running", "paused") and any(m.matches(event, ticket) for m in spec.stop):
            cs = self._halt(cs, t, stop=True)
            state = "stopped"
        if (
            state in ("running", "paused")
            and spec.restart
            and any(m.matches(event, ticket) for m in spec.restart)
        ):
            return self._new_cycle(
                cs, t, paused=self._should_pause(spec, ticket, event), priority=ticket.priority
            )
        if state in ("idle", "stopped") and spec.start and any(m.matches(event, ticket) for m in spec.start):
            paused = self._should_pause(spec, ticket, event)
            if state == "idle":
                return self._begin(cs, t, paused=paused, cycle=cs.cycle, fired=frozenset(), segments=())
            if spec.after_stop == "resume":
                return self._begin(
                    cs,
                    t,
                    paused=paused,
                    cycle=cs.cycle,
                    elapsed=cs.elapsed,
                    segments=cs.segments,
                    started_at=cs.started_at,
                )
            if spec.after_stop == "restart":
                return self._new_cycle(cs, t, paused=paused, priority=ticket.priority)
            return cs
        if state == "running":
            if self._should_pause(spec, ticket, event):
                return self._halt(cs, t, stop=False)
        elif state == "paused" and not self._should_pause(spec, ticket, event):
            return self._begin(
                cs,
                t,
                paused=False,
                cycle=cs.cycle,
                elapsed=cs.elapsed,
                segments=cs.segments,
                started_at=cs.started_at,
            )
        return cs

    def _refresh(self, cs: ClockState, target: timedelta | None) -> ClockState:
        """Fill the deadline cache of ``cs`` for ``target``."""
        if cs.target == target and (target is None or cs.due_at is not None or cs.state != "running"):
            return cs
        if target is None or cs.state == "idle":
            return _new_state(cs, target=target, due_at=None, breached_at=None)
        inst = _reached(self.calendar, cs, target)
        breached = inst if (cs.running_since is None or target <= cs.elapsed) else None
        return _new_state(cs, target=target, due_at=inst, breached_at=breached)

    def _instant(self, cs: ClockState, thr: timedelta, target: timedelta) -> datetime | None:
        if thr == target and cs.target == target and cs.state != "idle":
            return cs.due_at
        return _reached(self.calendar, cs, thr)

    def _clock_next(self, cs: ClockState, priority: Priority) -> datetime | None:
        """The earliest checkpoint of ``cs`` not yet emitted (carried ones included)."""
        best: datetime | None = None
        for _, carried_at in cs.carried:
            if best is None or carried_at < best:
                best = carried_at
        if cs.state == "idle":
            return best
        plan = self._plans.get((priority, cs.metric))
        if plan is None:
            return best
        for cp in plan.checkpoints:
            if cp.key in cs.fired:
                continue
            inst = self._instant(cs, cp.threshold, plan.target)
            if inst is not None and (best is None or inst < best):
                best = inst
            break
        return best

    def _finish(
        self, ticket: Ticket, clocks: Sequence[ClockState], before: Sequence[ClockState] = ()
    ) -> Ticket:
        """Refresh the deadline caches and checkpoints; ``before`` are clocks known to be up to date."""
        row = self._targets_by[ticket.priority]
        fresh: list[ClockState] = []
        best: datetime | None = None
        for i, cs in enumerate(clocks):
            if i < len(before) and cs is before[i] and cs.target == row[i]:
                due = cs.next_at  # untouched by the event and the target is the same: still valid
            else:
                cs = self._refresh(cs, row[i])  # noqa: PLW2901 - the refreshed state replaces it
                due = self._clock_next(cs, ticket.priority)
            if due != cs.next_at:
                cs = _new_state(cs, next_at=due)  # noqa: PLW2901
            if due is not None and (best is None or due < best):
                best = due
            fresh.append(cs)
        sla = SLAState.__new__(SLAState)
        object.__setattr__(sla, "policy", self.name)
        object.__setattr__(sla, "clocks", tuple(fresh))
        object.__setattr__(sla, "next_due_at", best)
        return replace_trusted(ticket, sla=sla)

    def start(self, ticket: Ticket, at: datetime | None = None) -> Ticket:
        """``ticket`` with this policy's clocks set up and those that start on creation running.

        ``at`` defaults to ``ticket.created_at``. Same as applying a
        ``ticket.created`` event at ``at`` to a ticket without clocks.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0))
            >>> t.sla.policy, t.sla.clocks[0].state, t.next_due_at.hour
            ('std', 'running', 10)
        """
        at = ticket.created_at if at is None else require_aware(at, "at")
        event = _trusted_event(
            ticket_id=ticket.id,
            kind=TICKET_CREATED,
            actor=ACTOR,
            at=at,
            data=EMPTY,
            version=ticket.version,
            tenant=ticket.tenant,
            id=ticket.id + "-sla-start",
        )
        return self.apply(replace_trusted(ticket, sla=None), event)

    def apply(self, ticket: Ticket, event: Event) -> Ticket:
        """``ticket`` with its clocks moved by one ``event``, in O(1) (no history needed).

        Pass the ticket as it is after the event (for ``status.changed`` the new
        status is also read from the event's ``to`` / ``to_kind``). Emitted
        ``sla.warning`` / ``sla.breached`` / ``sla.escalated`` events mark their
        checkpoint as fired. A priority change needs nothing more: the new target
        applies to the time already spent, exactly as a replay would give.

        Raises:
            ValidationError: when the ticket runs under another policy.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     pause_in={"pending"},
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0, status="open", status_kind="open"))
            >>> e = tk.Event(
            ...     ticket_id=t.id,
            ...     kind="status.changed",
            ...     actor="li",
            ...     at=t0 + timedelta(hours=1),
            ...     data={"from": "open", "to": "pending", "from_kind": "open", "to_kind": "pending"},
            ... )
            >>> t = p.apply(attrs.evolve(t, status="pending", status_kind="pending"), e)
            >>> p.status(t, at=t0 + timedelta(hours=5))["resolution"].reason
            'paused: status is pending; 1h of 8h used'
        """
        sla = ticket.sla
        if sla is None:
            clocks: Sequence[ClockState] = tuple(
                _new_state(self._template, metric=c.metric, fired=frozenset()) for c in self._specs
            )
        else:
            clocks = self._state_of(ticket).clocks
        before = clocks if sla is not None else ()
        if event.kind in _SLA_EVENT_KINDS:
            clocks = self._mark(clocks, event)
        else:
            clocks = [
                self._step(spec, cs, ticket, event) for spec, cs in zip(self._specs, clocks, strict=True)
            ]
        return self._finish(ticket, clocks, before)

    def _mark(self, clocks: Sequence[ClockState], event: Event) -> list[ClockState]:
        out = list(clocks)
        metric = event.data.get("metric")
        key = event.data.get("key")
        cycle = event.data.get("cycle")
        i = self._index.get(metric) if isinstance(metric, str) else None
        if i is None or not isinstance(key, str) or not isinstance(cycle, int):
            return out
        cs = out[i]
        if cycle == cs.cycle:
            out[i] = _new_state(cs, fired=cs.fired | {key})
        else:
            tag = f"{cycle}/{key}"
            out[i] = _new_state(cs, carried=tuple(c for c in cs.carried if c[0] != tag))
        return out

    # ------------------------------------------------------------------ reading clocks

    def status(self, ticket: Ticket, at: datetime) -> dict[str, SLAStatus]:
        """Each measured clock's [`SLAStatus`][ticketkit.SLAStatus] at ``at``, from the state on the ticket.

        Never replays events. ``at`` should be at or after the ticket's last
        applied event; for earlier instants use [`status_as_of`][ticketkit.SLAPolicy.status_as_of].

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> s = p.status(p.start(tk.Ticket(subject="Hi", created_at=t0)), at=t0 + timedelta(hours=3))
            >>> s["first_response"].state, s["first_response"].warnings, s["first_response"].reason
            ('breached', (0.5,), 'breached at 2025-03-03T11:00:00+00:00, 1h overdue; still running')
        """
        require_aware(at, "at")
        sla = self._state_of(ticket)
        out: dict[str, SLAStatus] = {}
        pr = ticket.priority
        for spec, cs, plan in zip(self._specs, sla.clocks, self._plan_rows[pr], strict=True):
            if plan is not None:
                out[spec.metric] = self._status_one(spec, cs, plan, ticket, at)
        return out

    def _status_one(
        self, spec: SLAClock, cs: ClockState, plan: _Plan, ticket: Ticket, at: datetime
    ) -> SLAStatus:
        target = plan.target
        st = cs.state
        if st == "idle":
            return _status(
                metric=spec.metric,
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
                policy=self.name,
                stopped_at=None,
                paused_by=None,
            )
        if cs.target != target:
            cs = self._refresh(cs, target)
        live = _live(self.calendar, cs, at)
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
                crossed = thr <= live
            elif thr < elapsed0:
                crossed = True
            elif thr == elapsed0:
                inst = _reached(self.calendar, cs, thr)
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
            elapsed=live,
            remaining=target - live,
            due_at=due,
            breached_at=breached_at,
            warnings=tuple(warnings),
            escalations=tuple(levels),
            cycle=cs.cycle,
            at=at,
            policy=self.name,
            stopped_at=cs.stopped_at,
            paused_by=self._pause_reason(spec, ticket) if st == "paused" else None,
        )

    def next_checkpoint(self, ticket: Ticket) -> datetime | None:
        """The earliest instant at which a warning, breach or escalation not yet emitted falls due.

        None when nothing can fall due until the ticket changes (every clock
        idle, paused short of its next threshold, or stopped). The instant may be
        in the past when a checkpoint fell due and was not emitted yet. The same
        value is kept on the ticket as ``ticket.next_due_at`` for stores to index.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> p.next_checkpoint(p.start(tk.Ticket(subject="Hi", created_at=t0))).hour
            13
        """
        sla = self._state_of(ticket)
        row = self._targets_by[ticket.priority]
        best: datetime | None = None
        for i, cs in enumerate(sla.clocks):
            due = self._clock_next(self._refresh(cs, row[i]), ticket.priority)
            if due is not None and (best is None or due < best):
                best = due
        return best

    def due_events(self, ticket: Ticket, since: datetime | None, at: datetime) -> list[Event]:
        """The warnings, breaches and escalations that fell due in ``(since, at]``, as events.

        A pure function of the ticket: calls over contiguous windows return each
        checkpoint exactly once, however often or late they come. Checkpoints
        already emitted (their event applied back with [`apply`][ticketkit.SLAPolicy.apply]) are never
        returned again, so a worker that records what it emits may pass
        ``since=None`` (everything not yet emitted up to ``at``). Each event's
        ``data`` holds ``metric``, ``cycle``, ``key``, ``due_at`` (when it fell
        due), ``target``, ``policy``, and for warnings ``threshold``, for
        escalations ``level``, ``notify`` and ``actions``. Event ids are fixed by
        the checkpoint, so a repeated call gives equal events.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0))
            >>> print(*[e.kind for e in p.due_events(t, t0, t0 + timedelta(hours=9))])
            sla.warning sla.breached
            >>> p.due_events(t, t0 + timedelta(hours=9), t0 + timedelta(hours=10))
            []
        """
        require_aware(at, "at")
        if since is not None:
            require_aware(since, "since")
        sla = self._state_of(ticket)
        pr = ticket.priority
        row = self._targets_by[pr]
        clocks = sla.clocks
        # Fast path: each clock keeps its own next checkpoint (stores may move
        # ticket.next_due_at, e.g. for claim leases, so it is not trusted here).
        for i, cs in enumerate(clocks):
            if cs.target != row[i] or (cs.next_at is not None and cs.next_at <= at):
                break
        else:
            return []
        found: list[tuple[datetime, int, int, Event]] = []
        for i, cs in enumerate(clocks):
            spec = self._specs[i]
            for n, (tag, carried_at) in enumerate(cs.carried):
                if carried_at <= at and (since is None or carried_at > since):
                    event = self._carried_event(ticket, spec.metric, tag, carried_at, at)
                    found.append((carried_at, i, -1 - n, event))
            plan = self._plans.get((pr, spec.metric))
            if plan is None or cs.state == "idle":
                continue
            clock = cs if cs.target == plan.target else self._refresh(cs, plan.target)
            for n, cp in enumerate(plan.checkpoints):
                if cp.key in clock.fired:
                    continue
                inst = self._instant(clock, cp.threshold, plan.target)
                if inst is None or inst > at:
                    break
                if since is None or inst > since:
                    event = self._event(
                        ticket, spec.metric, cycle=cs.cycle, cp=cp, inst=inst, at=at, target=plan.target
                    )
                    found.append((inst, i, n, event))
        found.sort(key=lambda x: (x[0], x[1], x[2]))
        return [f[3] for f in found]

    def _event(
        self,
        ticket: Ticket,
        metric: str,
        *,
        cycle: int,
        cp: _Checkpoint,
        inst: datetime,
        at: datetime,
        target: timedelta,
    ) -> Event:
        data: dict[str, Any] = {
            "metric": metric,
            "cycle": cycle,
            "key": cp.key,
            "due_at": inst.isoformat(),
            "target": format_duration(target),
            "policy": self.name,
        }
        if cp.kind == "warning":
            data["threshold"] = cp.fraction
        elif cp.kind == "escalation":
            e = cp.escalation
            assert e is not None
            data["level"] = cp.level
            data["notify"] = tuple(self._expand(r, ticket) for r in e.notify)
            data["actions"] = tuple(
                FrozenDict({k: self._expand(v, ticket) if isinstance(v, str) else v for k, v in a.items()})
                for a in e.actions()
            )
            if e.name:
                data["name"] = e.name
        return _trusted_event(
            ticket_id=ticket.id,
            kind=_KIND_OF[cp.kind],
            actor=ACTOR,
            at=max(at, inst),
            data=FrozenDict(data),
            version=ticket.version,
            tenant=ticket.tenant,
            id=_event_id(inst, ticket.id, metric, cycle, cp.key),
        )

    def _carried_event(self, ticket: Ticket, metric: str, tag: str, inst: datetime, at: datetime) -> Event:
        cycle_text, _, key = tag.partition("/")
        name, _, thr_text = key.partition("@")
        kind, _, arg = name.partition(":")
        cycle = int(cycle_text) if cycle_text.isdigit() else 0
        escalation = None
        fraction = None
        level = None
        if kind == "esc":
            level = int(arg) if arg.isdigit() else None
            ladder = [e for e in self.escalations if e.metric == metric]
            if level is not None and 0 < level <= len(ladder):
                escalation = ladder[level - 1]
            kind_name = "escalation" if escalation is not None else "breach"
        elif kind == "warn":
            fraction = float(arg) if arg else None
            kind_name = "warning"
        else:
            kind_name = "breach"
        thr = parse_duration(thr_text) if thr_text else ZERO
        cp = _Checkpoint(thr, key, kind_name, fraction, level, escalation)
        if kind_name == "warning" and fraction:
            target = thr / fraction
        elif escalation is not None and escalation.after is not None:
            target = thr - escalation.after
        elif escalation is not None and escalation.at:
            target = thr / escalation.at
        else:
            target = thr
        return self._event(ticket, metric, cycle=cycle, cp=cp, inst=inst, at=at, target=target)

    @staticmethod
    def _expand(text: str, ticket: Ticket) -> str:
        if "{" not in text:
            return text
        values = {
            "{team}": ticket.team or "",
            "{assignee}": ticket.assignee or "",
            "{customer}": ticket.customer.id if ticket.customer is not None else "",
            "{tenant}": ticket.tenant,
        }
        for k, v in values.items():
            text = text.replace(k, v)
        return text

    # ------------------------------------------------------------------ replay

    def _replay(self, ticket: Ticket, events: Sequence[Event], until: datetime | None) -> Ticket:
        evs = [e for e in events if until is None or e.at <= until]
        created = any(e.kind == TICKET_CREATED for e in evs)
        base = initial_ticket(ticket, events)
        current = base
        if not created and (until is None or ticket.created_at <= until):
            current = self.start(base, ticket.created_at)
        sla = current.sla
        for state, e in replay_states(base, evs):
            current = self.apply(replace_trusted(state, sla=sla), e)
            sla = current.sla
        return current

    def status_as_of(self, ticket: Ticket, events: Sequence[Event], at: datetime) -> dict[str, SLAStatus]:
        """The status at any instant, past or present, by replaying ``events`` up to ``at``.

        ``events`` is the ticket's history in order (as a store returns it);
        fields that matter (status, priority, category, team, tags, custom
        fields) are rebuilt from it. For the instant of the last event or later
        this equals [`status`][ticketkit.SLAPolicy.status] on a ticket whose clocks saw the same events.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = tk.Ticket(subject="Hi", created_at=t0)
            >>> reply = tk.Comment(ticket_id=t.id, author="li", body="On it", at=t0 + timedelta(hours=1))
            >>> events = [
            ...     tk.Event(
            ...         ticket_id=t.id,
            ...         kind="comment.added",
            ...         actor="li",
            ...         at=reply.at,
            ...         data={"comment": tk.to_dict(reply)},
            ...     )
            ... ]
            >>> p.status_as_of(t, events, at=t0 + timedelta(minutes=30))["first_response"].state
            'running'
            >>> p.status_as_of(t, events, at=t0 + timedelta(hours=3))["first_response"].state
            'met'
        """
        require_aware(at, "at")
        replayed = self._replay(ticket, events, at)
        if replayed.sla is None:
            replayed = self.apply(
                replace_trusted(replayed, sla=None),
                Event(ticket_id=ticket.id, kind="sla.none", actor=ACTOR, at=at, id="none"),
            )
        return self.status(replayed, at)

    def recompute(self, ticket: Ticket, events: Sequence[Event]) -> Ticket:
        """``ticket`` with its clocks rebuilt under this policy by replaying ``events``.

        Use it when the policy changes (another policy applies, or this one was
        edited: calendar, clocks, pause rules). Semantics: the time already spent
        counts, measured on this policy's calendar and pause rules over the whole
        history; this policy's targets apply from the start of each cycle; what
        was already emitted (the ``sla.*`` events in ``events``, and the
        checkpoints fired under the old state) is not emitted again unless its
        threshold moved. A priority change alone needs no recompute:
        [`apply`][ticketkit.SLAPolicy.apply] gives the same result in O(1). Without a recompute, a ticket
        whose policy was edited keeps the clocks the policy still has, and clocks the
        edit added wait idle for their next start event.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> p.recompute(tk.Ticket(subject="Hi", created_at=t0), []).sla.policy
            'std'
        """
        replayed = self._replay(ticket, events, None)
        clocks = list(replayed.sla.clocks) if replayed.sla is not None else []
        old = ticket.sla
        if old is not None:
            for i, cs in enumerate(clocks):
                prev = old.clock(cs.metric)
                if prev is not None and prev.cycle == cs.cycle and prev.fired - cs.fired:
                    clocks[i] = _new_state(cs, fired=cs.fired | prev.fired)
        if not clocks:
            return self.start(ticket, ticket.created_at)
        return self._finish(ticket, clocks)

    # ------------------------------------------------------------------ data form

    @classmethod
    def from_dict(cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = "") -> SLAPolicy:
        """Load a policy from plain data, checking everything and naming every bad path.

        ``calendar`` is a calendar's own data form or the name of one in
        ``calendars``; ``when`` is a condition's data form.

        Examples:
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy.from_dict(
            ...     {
            ...         "name": "vip",
            ...         "calendar": "office",
            ...         "when": {"field": "customer.tier", "op": "eq", "value": "vip"},
            ...         "targets": {"urgent": {"first_response": "30m"}, "default": {"first_response": "2h"}},
            ...         "pause_in": ["pending"],
            ...         "warn_at": [0.75],
            ...         "escalations": [{"metric": "first_response", "at": 1.0, "notify": "role:lead"}],
            ...     },
            ...     calendars={"office": tk.BusinessCalendar.always_open("Asia/Shanghai")},
            ... )
            >>> p.target_for("urgent", "first_response")
            datetime.timedelta(seconds=1800)
            >>> try:
            ...     tk.SLAPolicy.from_dict(
            ...         {"name": "x", "calendar": "nope", "targets": {"asap": {}}, "warn_at": [2]},
            ...         calendars={},
            ...     )
            ... except tk.ValidationError as err:
            ...     print(err)
            invalid input (3 problems):
              calendar: unknown calendar 'nope' (known: none)
              targets.asap: unknown priority 'asap' (expected one of: low, normal, high, urgent, default)
              warn_at[0]: expected a fraction between 0 and 1, got 2
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for an SLA policy, got {data!r}")
        out: list[ErrorDetail] = []
        allowed = ("name", "calendar", "when", "targets", "pause_in", "warn_at", "escalations", "clocks")
        check_keys(data, allowed, path, out)
        out.extend(
            ErrorDetail(join_path(path, key), "required field is missing")
            for key in ("name", "calendar", "targets")
            if key not in data
        )
        calendar = cls._load_calendar(data.get("calendar"), calendars, join_path(path, "calendar"), out)
        when = load_condition(data.get("when"), join_path(path, "when"), calendars, out)
        targets: dict[Priority | str, SLATarget] = {}
        raw_targets = data.get("targets", {})
        if not isinstance(raw_targets, Mapping):
            out.append(ErrorDetail(join_path(path, "targets"), f"expected an object, got {raw_targets!r}"))
        else:
            for key, value in raw_targets.items():
                p = join_path(join_path(path, "targets"), str(key))
                k = _priority_key(key)
                if not isinstance(k, Priority) and k != "default":
                    out.append(
                        ErrorDetail(
                            p,
                            f"unknown priority {key!r} (expected one of: low, normal, high, urgent, default)",
                        )
                    )
                    continue
                try:
                    targets[k] = SLATarget.from_dict(value, path=p)
                except ValidationError as err:
                    out.extend(err.errors)
        pause_in: frozenset[str] = frozenset()
        if data.get("pause_in") is not None:
            raw = data["pause_in"]
            if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
                out.append(
                    ErrorDetail(join_path(path, "pause_in"), f"expected a list of statuses, got {raw!r}")
                )
            else:
                for i, v in enumerate(raw):
                    if not isinstance(v, str):
                        out.append(
                            ErrorDetail(
                                join_path(join_path(path, "pause_in"), i), f"expected a string, got {v!r}"
                            )
                        )
                pause_in = frozenset(v for v in raw if isinstance(v, str))
        warn_at: tuple[Any, ...] = ()
        if data.get("warn_at") is not None:
            raw = data["warn_at"]
            if not isinstance(raw, list | tuple):
                out.append(
                    ErrorDetail(join_path(path, "warn_at"), f"expected a list of fractions, got {raw!r}")
                )
            else:
                for i, f in enumerate(raw):
                    if not isinstance(f, int | float) or isinstance(f, bool) or not 0 < f < 1:
                        out.append(
                            ErrorDetail(
                                join_path(join_path(path, "warn_at"), i),
                                f"expected a fraction between 0 and 1, got {f!r}",
                            )
                        )
                warn_at = tuple(raw)
        escalations: list[Escalation] = []
        for item, p in cls._items(data, "escalations", path, out):
            try:
                escalations.append(Escalation.from_dict(item, path=p))
            except ValidationError as err:
                out.extend(err.errors)
        clocks: list[SLAClock] = []
        for item, p in cls._items(data, "clocks", path, out):
            try:
                clocks.append(SLAClock.from_dict(item, path=p, calendars=calendars))
            except ValidationError as err:
                out.extend(err.errors)
        if out:
            raise ValidationError(out)
        try:
            return cls(
                name=data["name"],
                calendar=calendar,
                when=when,
                targets=targets,
                pause_in=pause_in,
                warn_at=warn_at,
                escalations=tuple(escalations),
                clocks=tuple(clocks),
            )
        except ValidationError as err:
            raise err.prefixed(path) if path else err from None

    @staticmethod
    def _items(data: Mapping[str, Any], key: str, path: str, out: list[ErrorDetail]) -> list[tuple[Any, str]]:
        """The items of the list ``data[key]`` with their paths (not a list: a problem in ``out``)."""
        raw = data.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list | tuple):
            out.append(ErrorDetail(join_path(path, key), f"expected a list, got {raw!r}"))
            return []
        return [(item, join_path(join_path(path, key), i)) for i, item in enumerate(raw)]

    @staticmethod
    def _load_calendar(
        value: Any, calendars: Mapping[str, Any] | None, path: str, out: list[ErrorDetail]
    ) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if calendars is not None and value in calendars:
                return calendars[value]
            known = ", ".join(sorted(calendars)) if calendars else "none"
            out.append(ErrorDetail(path, f"unknown calendar {value!r} (known: {known})"))
            return None
        if isinstance(value, Mapping):
            from ticketkit.calendar._calendar import BusinessCalendar  # noqa: PLC0415 - keep import light

            try:
                return BusinessCalendar.from_dict(value)
            except ValidationError as err:
                out.extend(err.prefixed(path).errors)
                return None
        if _calendar_problem(value) is None:
            return value
        out.append(ErrorDetail(path, f"expected a calendar's data or the name of one, got {value!r}"))
        return None

    def to_dict(self, *, calendar_name: bool = False) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.SLAPolicy.from_dict] reads it back.

        The calendar is embedded as its own data form, or written as its name
        when ``calendar_name`` is true (load it back with ``calendars=``).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open("UTC"),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ...     pause_in={"pending"},
            ... )
            >>> d = p.to_dict()
            >>> d["targets"], d["pause_in"]
            ({'default': {'resolution': 'PT8H'}}, ['pending'])
            >>> tk.SLAPolicy.from_dict(d) == p
            True
        """
        if calendar_name:
            name = getattr(self.calendar, "name", "")
            if not name:
                raise ValidationError.one("calendar", "the calendar has no name; give it one or embed it")
            calendar: Any = name
        else:
            calendar = self.calendar.to_dict() if hasattr(self.calendar, "to_dict") else None
        order = {p: i for i, p in enumerate(Priority)}
        keys = sorted(self.targets, key=lambda k: order.get(k, 99) if isinstance(k, Priority) else 100)
        out: dict[str, Any] = {
            "name": self.name,
            "calendar": calendar,
            "when": None if self.when is None else self.when.to_dict(),
            "targets": {(k.value if isinstance(k, Priority) else k): self.targets[k].to_dict() for k in keys},
            "pause_in": sorted(self.pause_in),
            "warn_at": list(self.warn_at),
            "escalations": [e.to_dict() for e in self.escalations],
        }
        if self.clocks:
            out["clocks"] = [c.to_dict() for c in self.clocks]
        return out


# --------------------------------------------------------------------------- selection


def select_policy(
    policies: Sequence[SLAPolicy], ticket: Ticket, at: datetime | None = None
) -> SLAPolicy | None:
    """The first policy, in the order given, whose ``when`` holds for ``ticket``.

    Order is the only tie-break: never alphabetical, never by specificity. Put
    the narrowest policies first and a catch-all (``when=None``) last;
    [`check_policies`][ticketkit.check_policies] finds policies an earlier one hides.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar.always_open()
        >>> target = {"default": tk.SLATarget(first_response=timedelta(hours=2))}
        >>> vip = tk.SLAPolicy(name="vip", calendar=cal, when=tk.F.customer.tier == "vip", targets=target)
        >>> std = tk.SLAPolicy(name="standard", calendar=cal, targets=target)
        >>> t = tk.Ticket(subject="Hi", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
        >>> select_policy([vip, std], t).name
        'standard'
    """
    for policy in policies:
        if policy.matches(ticket, at):
            return policy
    return None


def reselect_policy(
    policies: Sequence[SLAPolicy], ticket: Ticket, events: Sequence[Event], *, at: datetime
) -> tuple[Ticket, list[Event]]:
    """Select the policy again after a change (category, team, customer, ...) and move the clocks.

    When the selected policy is the one already applied, the ticket comes back
    unchanged with no events. Otherwise the clocks are recomputed from
    ``events`` under the new policy ([`SLAPolicy.recompute`][ticketkit.SLAPolicy.recompute]) and one
    ``sla.policy_applied`` event (data: ``policy``, ``previous``, ``reason``) is
    returned. When no policy matches, the clocks are removed.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar.always_open()
        >>> fast = tk.SLAPolicy(
        ...     name="complaints",
        ...     calendar=cal,
        ...     when=tk.F.category == "complaint",
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
        ... )
        >>> std = tk.SLAPolicy(
        ...     name="standard",
        ...     calendar=cal,
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=8))},
        ... )
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = std.start(tk.Ticket(subject="Hi", created_at=t0))
        >>> t = attrs.evolve(t, category="complaint")
        >>> t, events = reselect_policy([fast, std], t, [], at=t0 + timedelta(minutes=10))
        >>> t.sla.policy, events[0].data["previous"]
        ('complaints', 'standard')
    """
    require_aware(at, "at")
    chosen = select_policy(policies, ticket, at)
    previous = ticket.sla.policy if ticket.sla is not None else None
    new_name = chosen.name if chosen is not None else None
    if new_name == previous:
        return ticket, []
    if chosen is None:
        updated = replace_trusted(ticket, sla=None)
        reason = "no policy matches the ticket any more"
    else:
        updated = chosen.recompute(ticket, events)
        position = list(policies).index(chosen) + 1
        reason = f"policy {chosen.name!r} is the first of {len(policies)} that matches (number {position})"
    event = Event(
        ticket_id=ticket.id,
        kind=SLA_POLICY,
        actor=ACTOR,
        at=at,
        data={"policy": new_name, "previous": previous, "reason": reason},
        version=ticket.version,
        tenant=ticket.tenant,
        id=_event_id(at, ticket.id, "policy", new_name, previous),
    )
    return updated, [event]
