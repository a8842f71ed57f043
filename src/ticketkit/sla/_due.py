"""Due checkpoints: the next one of a ticket, and the warnings, breaches and escalations due in a window.

The functions behind [`next_checkpoint`][ticketkit.SLAPolicy.next_checkpoint] and
[`due_events`][ticketkit.SLAPolicy.due_events]. The events they make have ids fixed by
the checkpoint, so asking twice gives equal events.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Final

from ticketkit.model._events import SLA_BREACHED, SLA_ESCALATED, SLA_WARNING
from ticketkit.model._json import FrozenDict
from ticketkit.model._models import Event, Ticket
from ticketkit.model._serialization import format_duration, parse_duration
from ticketkit.model._time import require_aware
from ticketkit.sla._apply import trusted_event
from ticketkit.sla._clock import clock_next, instant, refresh, state_of
from ticketkit.sla._plan import ACTOR, ZERO, Checkpoint, PolicyPlan, is_fired

__all__: list[str] = []

_KIND_OF: Final = {"warning": SLA_WARNING, "breach": SLA_BREACHED, "escalation": SLA_ESCALATED}
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS: Final = tuple(a + b for a in _ALPHABET for b in _ALPHABET)  # 10 bits -> two characters


def event_id(when: datetime, *parts: object) -> str:
    """A ULID-shaped id fixed by its parts, so the same due event always has the same id."""
    ms = max(0, int(when.timestamp() * 1000))
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=10).digest()
    value = (ms << 80) | int.from_bytes(digest, "big")
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def next_due(plan: PolicyPlan, ticket: Ticket) -> datetime | None:
    """The earliest unemitted checkpoint (see [`next_checkpoint`][ticketkit.SLAPolicy.next_checkpoint])."""
    sla = state_of(plan, ticket)
    row = plan.targets_by[ticket.priority]
    cal = plan.calendar
    best: datetime | None = None
    for i, cs in enumerate(sla.clocks):
        due = clock_next(plan, refresh(cal, cs, row[i]), ticket.priority)
        if due is not None and (best is None or due < best):
            best = due
    return best


def due_in_window(plan: PolicyPlan, ticket: Ticket, since: datetime | None, at: datetime) -> list[Event]:
    """The checkpoints due in ``(since, at]`` as events (see `due_events`)."""
    require_aware(at, "at")
    if since is not None:
        require_aware(since, "since")
    sla = state_of(plan, ticket)
    pr = ticket.priority
    row = plan.targets_by[pr]
    clocks = sla.clocks
    # Fast path: each clock keeps its own next checkpoint (stores may move
    # ticket.next_due_at, e.g. for claim leases, so it is not trusted here).
    for i, cs in enumerate(clocks):
        if cs.target != row[i] or (cs.next_at is not None and cs.next_at <= at):
            break
    else:
        return []
    found: list[tuple[datetime, int, int, Event]] = []
    cal = plan.calendar
    specs = plan.specs
    plans = plan.plans
    for i, cs in enumerate(clocks):
        metric = specs[i].metric
        for n, (tag, carried_at) in enumerate(cs.carried):
            if carried_at <= at and (since is None or carried_at > since):
                event = carried_event(plan, ticket, metric, tag, carried_at, at=at)
                found.append((carried_at, i, -1 - n, event))
        clock_plan = plans.get((pr, metric))
        if clock_plan is None or cs.state == "idle":
            continue
        target = clock_plan.target
        clock = cs if cs.target == target else refresh(cal, cs, target)
        for n, cp in enumerate(clock_plan.checkpoints):
            if is_fired(cp, clock.fired):
                continue
            inst = instant(cal, clock, cp.threshold, target)
            if inst is None or inst > at:
                break
            if since is None or inst > since:
                event = checkpoint_event(
                    plan, ticket, metric, cycle=cs.cycle, cp=cp, inst=inst, at=at, target=target
                )
                found.append((inst, i, n, event))
    found.sort(key=lambda x: (x[0], x[1], x[2]))
    return [f[3] for f in found]


def checkpoint_event(
    plan: PolicyPlan,
    ticket: Ticket,
    metric: str,
    *,
    cycle: int,
    cp: Checkpoint,
    inst: datetime,
    at: datetime,
    target: timedelta,
) -> Event:
    """The ``sla.*`` event of checkpoint ``cp`` of clock ``metric`` in ``cycle``, due at ``inst``."""
    data: dict[str, Any] = {
        "metric": metric,
        "cycle": cycle,
        "key": cp.key,
        "due_at": inst.isoformat(),
        "target": format_duration(target),
        "policy": plan.name,
    }
    if cp.kind == "warning":
        data["threshold"] = cp.fraction
    elif cp.kind == "escalation":
        e = cp.escalation
        assert e is not None
        data["level"] = cp.level
        data["notify"] = tuple(expand(r, ticket) for r in e.notify)
        data["actions"] = tuple(
            FrozenDict({k: expand(v, ticket) if isinstance(v, str) else v for k, v in a.items()})
            for a in e.actions()
        )
        if e.name:
            data["name"] = e.name
    return trusted_event(
        ticket_id=ticket.id,
        kind=_KIND_OF[cp.kind],
        actor=ACTOR,
        at=max(at, inst),
        data=FrozenDict(data),
        version=ticket.version,
        tenant=ticket.tenant,
        id=event_id(inst, ticket.id, metric, cycle, cp.key),
    )


def carried_event(
    plan: PolicyPlan, ticket: Ticket, metric: str, tag: str, inst: datetime, *, at: datetime
) -> Event:
    """The event of a checkpoint carried from an earlier cycle (``tag`` is ``cycle/key``)."""
    cycle_text, _, key = tag.partition("/")
    name, _, thr_text = key.partition("@")
    kind, _, arg = name.partition(":")
    cycle = int(cycle_text) if cycle_text.isdigit() else 0
    escalation = None
    fraction = None
    level = None
    if kind == "esc":
        level = int(arg) if arg.isdigit() else None
        ladder = [e for e in plan.escalations if e.metric == metric]
        if level is not None and 0 < level <= len(ladder):
            escalation = ladder[level - 1]
        kind_name = "escalation" if escalation is not None else "breach"
    elif kind == "warn":
        fraction = float(arg) if arg else None
        kind_name = "warning"
    else:
        kind_name = "breach"
    thr = parse_duration(thr_text) if thr_text else ZERO
    cp = Checkpoint(thr, key, kind_name, fraction, level, escalation)
    if kind_name == "warning" and fraction:
        target = thr / fraction
    elif escalation is not None and escalation.after is not None:
        target = thr - escalation.after
    elif escalation is not None and escalation.at:
        target = thr / escalation.at
    else:
        target = thr
    return checkpoint_event(plan, ticket, metric, cycle=cycle, cp=cp, inst=inst, at=at, target=target)


def expand(text: str, ticket: Ticket) -> str:
    """``text`` with ``{team}``, ``{assignee}``, ``{customer}`` and ``{tenant}`` filled from ``ticket``."""
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
