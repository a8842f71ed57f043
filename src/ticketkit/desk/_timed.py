"""Timed rules on the desk: timers kept on tickets, their checkpoints in the due index, fired by the sweep.

Every change the desk saves steps each ticket's timers (`step_timers`, inside the
change's settling): a rule's timer starts when its condition becomes true (a
``timer.started`` event), keeps its start while the condition holds, restarts on an
event kind the rule names in ``restart_on``, and is cancelled when the condition stops
holding (a ``timer.cancelled`` event saying why). The timers live on the ticket
(`Ticket.timers`) and are saved with it.

Before the commit `fold_timer_due` puts the earliest pending timer into the ticket's
``next_due_at`` beside the SLA checkpoint and the retention instant, so the store's
due index, and `Helpdesk.tick`'s `claim_due`, find the ticket when it falls due.

In the sweep `fire_timers` runs the actions of each timer whose due instant has
passed, once: the timer is marked fired (``fired_at``) in the same version-checked
write that records the ``timer.fired`` event and the actions' changes, and the claim
gives the ticket to one worker, so two workers never both fire it (a second write of
the same version is refused and retried on the fresh ticket, whose timer has fired).

The due instant is never stored: it is computed from the stored start with the rule's
delay on the calendar the desk has now. A desk built with a changed calendar (a new
holiday) moves every running timer's due instant; tickets already in the due index
under the old instant are claimed then, find nothing due, and are put back at the new
one. A rule without a named calendar whose delay counts business time runs on the
desk's default calendar: the one named ``"default"`` in ``calendars``, or the only one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ticketkit.automation._automation import Action
from ticketkit.automation._timed import (
    TIMER_CANCELLED,
    TIMER_FIRED,
    TIMER_STARTED,
    TimedRule,
    TimerCalendar,
    check_timed,
)
from ticketkit.calendar._calendar import BusinessCalendar
from ticketkit.conditions._conditions import Condition
from ticketkit.desk._automations import run_action
from ticketkit.desk._context import DeskContext
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._models import Event, SLAState, Ticket, TimerState, replace_trusted
from ticketkit.privacy._retention import retention_due

DEFAULT_CALENDAR = "default"


def configure(
    desk: DeskContext,
    *,
    timed: object,
    calendars: object,
) -> None:
    """Check the timed rules and calendars (every problem at once) and put them on the desk."""
    problems: list[ErrorDetail] = []
    cals: dict[str, BusinessCalendar] = {}
    if calendars is not None:
        if not isinstance(calendars, Mapping):
            problems.append(
                ErrorDetail("calendars", f"expected a mapping of names to calendars, got {calendars!r}")
            )
        else:
            for name, cal in calendars.items():
                if not isinstance(name, str) or not isinstance(cal, BusinessCalendar):
                    problems.append(
                        ErrorDetail(
                            f"calendars.{name}", f"expected a BusinessCalendar under a name, got {cal!r}"
                        )
                    )
                else:
                    cals[name] = cal
    rules: tuple[TimedRule, ...] = ()
    try:
        rules = check_timed(timed)  # type: ignore[arg-type]  # checked inside
    except ValidationError as err:
        problems.extend(err.errors)
        rules = _loadable(timed)  # the rules that load, so their calendars are checked too
    default = cals.get(DEFAULT_CALENDAR) or (next(iter(cals.values())) if len(cals) == 1 else None)
    for i, rule in enumerate(rules):
        if rule.calendar is not None and rule.calendar not in cals:
            known = ", ".join(sorted(cals)) or "none"
            problems.append(
                ErrorDetail(f"timed[{i}].calendar", f"unknown calendar {rule.calendar!r} (known: {known})")
            )
        elif rule.calendar is None and rule.business and default is None:
            problems.append(
                ErrorDetail(
                    f"timed[{i}].after",
                    f"{rule.after.text()!r} counts business time: name a calendar, or give the desk "
                    "calendars with one named 'default'",
                )
            )
    if problems:
        raise ValidationError(problems)
    desk.timed = rules
    desk.timed_by_name = {r.name: r for r in rules}
    desk.calendars = cals
    desk.default_calendar = default


def _loadable(timed: object) -> tuple[TimedRule, ...]:
    if not isinstance(timed, Iterable) or isinstance(timed, str | bytes | Mapping):
        return ()
    out: list[TimedRule] = []
    for item in timed:
        try:
            out.append(TimedRule.from_dict(item))
        except ValidationError:
            out.append(TimedRule(name="-", when=Condition.always(), after="1 day", actions=[Action.tag("-")]))
    return tuple(out)


def calendar_of(desk: DeskContext, rule: TimedRule) -> TimerCalendar | None:
    """The calendar a rule's timers run on (None for wall time)."""
    if not rule.business:
        return None
    if rule.calendar is not None:
        return desk.calendars[rule.calendar]
    return desk.default_calendar


def timer_due(desk: DeskContext, timer: TimerState) -> datetime | None:
    """When a pending timer falls due on the desk's calendars now; None when fired or its rule is gone."""
    rule = desk.timed_by_name.get(timer.rule)
    if rule is None or not rule.enabled or timer.fired_at is not None:
        return None
    return rule.due(timer.since, calendar_of(desk, rule))


def _changed(draft: Draft) -> bool:
    return draft.created or bool(draft.events) or draft.ticket is not draft.base


def step_timers(work: Work) -> None:
    """Start, keep, restart or cancel the timers of every ticket this change touched."""
    desk = work.desk
    for draft in list(work.drafts.values()):
        if (desk.timed or draft.ticket.timers) and _changed(draft):
            _step(work, draft)


def _step(work: Work, draft: Draft) -> None:
    desk = work.desk
    ticket = draft.ticket
    now = work.now
    current = {t.rule: t for t in ticket.timers}
    kinds = [e.kind for e in draft.events]
    timers: list[TimerState] = []
    for rule in desk.timed:
        timer = current.pop(rule.name, None)
        holds = rule.enabled and rule.when.evaluate(ticket, at=now)
        if not holds:
            if timer is not None and timer.fired_at is None:
                why = "the rule is disabled" if not rule.enabled else "its condition no longer holds"
                _cancel(work, draft, timer, why)
            continue
        restarted = False
        if timer is not None and timer.since < now and rule.restarts(kinds):
            if timer.fired_at is None:
                _cancel(work, draft, timer, "restarted by " + ", ".join(sorted(set(kinds))))
            timer, restarted = None, True
        if timer is None:
            timer = TimerState(rule=rule.name, since=now)
            data: dict[str, Any] = {
                "rule": rule.name,
                "since": now.isoformat(),
                "due_at": rule.due(now, calendar_of(desk, rule)).isoformat(),
            }
            if restarted:
                data["restarted"] = True
            work.emit(draft, TIMER_STARTED, data, actor=f"system:timer/{rule.name}")
        timers.append(timer)
    for gone in current.values():  # a rule no longer configured
        if gone.fired_at is None:
            _cancel(work, draft, gone, "the rule is no longer configured")
    new = tuple(timers)
    if new != draft.ticket.timers:
        draft.ticket = replace_trusted(draft.ticket, timers=new)


def _cancel(work: Work, draft: Draft, timer: TimerState, reason: str) -> None:
    data = {"rule": timer.rule, "since": timer.since.isoformat(), "reason": reason}
    work.emit(draft, TIMER_CANCELLED, data, actor=f"system:timer/{timer.rule}")


def fire_timers(work: Work, draft: Draft) -> list[Event]:
    """In the sweep: run each timer due by now whose condition still holds, once; the events."""
    desk = work.desk
    if not draft.ticket.timers:
        return []
    out: list[Event] = []
    for timer in draft.ticket.timers:
        rule = desk.timed_by_name.get(timer.rule)
        due = timer_due(desk, timer)
        if rule is None or due is None or due > work.now:
            continue
        if not rule.when.evaluate(draft.ticket, at=work.now):
            continue  # the settling step cancels it
        fired = replace_trusted(timer, fired_at=work.now)
        draft.ticket = replace_trusted(
            draft.ticket, timers=tuple(fired if t is timer else t for t in draft.ticket.timers)
        )
        actor = f"system:timer/{rule.name}"
        done = [a.kind for a in rule.actions if run_action(work, draft, a, actor, {})]
        data = {
            "rule": rule.name,
            "since": timer.since.isoformat(),
            "due_at": due.isoformat(),
            "after": rule.after.text(),
            "actions": done,
            "reason": f"its condition held for {rule.after.text()} since {timer.since.isoformat()}",
        }
        out.append(work.emit(draft, TIMER_FIRED, data, actor=actor))
    return out


def next_checkpoint(desk: DeskContext, ticket: Ticket, at: datetime) -> datetime | None:
    """The earliest of the ticket's SLA checkpoint, retention instant and pending timers."""
    policy = desk.policy_of(ticket)
    found: list[datetime] = []
    if policy is not None and ticket.sla is not None:
        sla_due = policy.next_checkpoint(ticket)
        if sla_due is not None:
            found.append(sla_due)
    if desk.retention:
        kept = retention_due(ticket, desk.retention, at=at)
        if kept is not None:
            found.append(kept.due_at)
    for timer in ticket.timers:
        due = timer_due(desk, timer)
        if due is not None:
            found.append(due)
    return min(found) if found else None


def fold_timer_due(work: Work) -> None:
    """Before a commit: put each changed ticket's earliest pending timer into its ``next_due_at``."""
    desk = work.desk
    for draft in work.drafts.values():
        ticket = draft.ticket
        if not ticket.timers and (draft.base is None or not draft.base.timers):
            continue  # no timer before or after: next_due_at is the SLA's and retention's already
        due = next_checkpoint(desk, ticket, work.now)
        if due != ticket.next_due_at:
            sla = ticket.sla if ticket.sla is not None else SLAState()
            draft.ticket = replace_trusted(ticket, sla=replace_trusted(sla, next_due_at=due))
