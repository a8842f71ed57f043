"""Timed rules, the engine half: when a rule whose condition became true falls due.

A timed rule fires a set time after its condition became true ("auto-close 3 business
days after pending", "survey 1 day after resolution"), in business time on a calendar
or in wall time. This module holds the pure parts: reading the delay (``after``),
computing the instant a timer falls due, and moving a timer's state when the ticket
changes (started when the condition becomes true, kept while it holds, cancelled when it
stops holding, fired once). Storing the timers on tickets and firing them from the
sweep belongs to the desk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

import attrs

from ticketkit.automation._automation import Action, join
from ticketkit.conditions._conditions import Condition
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._limits import guarded_loader
from ticketkit.model._serialization import parse_duration
from ticketkit.model._time import require_aware

__all__ = ["TIMER_CANCELLED", "TIMER_FIRED", "TIMER_STARTED", "TimedRule"]

TIMER_STARTED: Final = "timer.started"  # rule, since, due_at (and restarted: true on a restart)
TIMER_FIRED: Final = "timer.fired"  # rule, since, due_at, after, actions (kinds), reason
TIMER_CANCELLED: Final = "timer.cancelled"  # rule, since, reason

WALL: Final = "wall"
BUSINESS_TIME: Final = "business_time"
BUSINESS_DAYS: Final = "business_days"

_PHRASE: Final = re.compile(
    r"^\s*(\d{1,9})\s+(business\s+)?(day|days|hour|hours|minute|minutes|second|seconds)\s*$", re.IGNORECASE
)
_LONGEST: Final = timedelta(days=3660)  # ten years: beyond that a "delay" is a mistake
_MOST_DAYS: Final = 2600  # business days in about ten years
_UNIT: Final = {
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
    "second": timedelta(seconds=1),
}


class TimerCalendar(Protocol):
    """What a timer needs from a [`BusinessCalendar`][ticketkit.BusinessCalendar]."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant with ``duration`` of business time since ``start``."""

    def add_days(self, start: datetime, n: int, *, opening: bool = False) -> datetime:
        """The same local time on the n-th business day after ``start``'s date."""


class Delay(NamedTuple):
    """How long after its condition became true a timer falls due.

    ``kind`` is ``wall`` (``amount`` of real time), ``business_time`` (``amount`` of
    open hours on the calendar) or ``business_days`` (``days`` business days later, at
    the same local time).
    """

    kind: str
    amount: timedelta
    days: int = 0

    def text(self) -> str:
        """The delay as written in configuration (read back by `parse_after`)."""
        if self.kind == BUSINESS_DAYS:
            return f"{self.days} business day{'s' if self.days != 1 else ''}"
        seconds = int(self.amount.total_seconds())
        n, unit = seconds, "second"
        for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
            if seconds % size == 0:
                n, unit = seconds // size, name
                break
        if unit == "day" and self.kind == BUSINESS_TIME:  # "N business days" means days, not 24h
            n, unit = seconds // 3600, "hour"
        return f"{n} {'business ' if self.kind == BUSINESS_TIME else ''}{unit}{'s' if n != 1 else ''}"


def parse_after(value: object, *, calendar: bool, path: str = "after") -> Delay:
    """A `Delay` from ``"3 business days"``, ``"4 business hours"``, ``"2 days"`` or a duration.

    A plain duration (a ``timedelta``, ``"PT4H"``, ``"90m"``, seconds) is business time
    when the rule has a calendar and wall time when it has none; ``"N days"`` without
    "business" is always wall time. Business units need a calendar.

    Raises:
        ValidationError: naming ``path``, when the value is none of those or is not positive.
    """
    m = _PHRASE.match(value) if isinstance(value, str) else None
    if m is not None:
        n = int(m.group(1))
        unit = m.group(3).lower().rstrip("s")
        business = m.group(2) is not None
        if n <= 0:
            raise ValidationError.one(path, f"expected a positive delay, got {value!r}")
        if business and not calendar:
            raise ValidationError.one(path, f"{value!r} counts business time: give the rule a calendar")
        if business and unit == "day":
            if n > _MOST_DAYS:
                raise ValidationError.one(path, f"expected at most {_MOST_DAYS} business days, got {value!r}")
            return Delay(BUSINESS_DAYS, timedelta(0), n)
        amount = n * _UNIT[unit]
        if amount > _LONGEST:
            raise ValidationError.one(path, f"expected a delay of at most ten years, got {value!r}")
        return Delay(BUSINESS_TIME if business else WALL, amount)
    if isinstance(value, bool):
        raise ValidationError.one(
            path, f"expected a delay such as '3 business days' or 'PT4H', got {value!r}"
        )
    try:
        amount = parse_duration(value, path)
    except ValidationError:
        raise ValidationError.one(
            path, f"expected a delay such as '3 business days', '2 hours' or 'PT4H', got {value!r}"
        ) from None
    if amount <= timedelta(0) or amount > _LONGEST:
        raise ValidationError.one(path, f"expected a positive delay of at most ten years, got {value!r}")
    return Delay(BUSINESS_TIME if calendar else WALL, amount)


def due_at(delay: Delay, since: datetime, calendar: TimerCalendar | None) -> datetime:
    """When a timer started at ``since`` falls due.

    Raises:
        ValidationError: a naive ``since``, or business time without a calendar.
    """
    require_aware(since, "since")
    if delay.kind == WALL:
        return since + delay.amount
    if calendar is None:
        raise ValidationError.one("calendar", f"a delay of {delay.text()!r} needs a calendar")
    if delay.kind == BUSINESS_DAYS:
        return calendar.add_days(since, delay.days)
    return calendar.add(since, delay.amount)


class Timer(NamedTuple):
    """One timed rule's state on one ticket: when its condition became true, and whether it fired."""

    since: datetime | None = None
    fired: bool = False


def step(timer: Timer, *, holds: bool, at: datetime) -> Timer:
    """The timer after a change at ``at`` where the condition now ``holds`` (or not).

    It starts when the condition becomes true, keeps its start while it holds, and is
    cancelled (forgotten, fired or not) when it stops holding, so the next time the
    condition becomes true is a new start.
    """
    if not holds:
        return Timer()
    if timer.since is None:
        return Timer(since=at, fired=False)
    return timer


def pending_due(timer: Timer, delay: Delay, calendar: TimerCalendar | None) -> datetime | None:
    """When ``timer`` falls due, or None when it is not running or already fired."""
    if timer.since is None or timer.fired:
        return None
    return due_at(delay, timer.since, calendar)


def resolve_calendar(
    name: object, calendars: Mapping[str, Any] | None, out: list[ErrorDetail], path: str = "calendar"
) -> Any:
    """The calendar a rule names (None for none); an unknown name goes to ``out``."""
    if name is None:
        return None
    if isinstance(name, str) and calendars is not None and name in calendars:
        return calendars[name]
    known = ", ".join(sorted(calendars)) if calendars else "none"
    out.append(ErrorDetail(path, f"unknown calendar {name!r} (known: {known})"))
    return None


_RULE_KEYS: Final = ("actions", "after", "calendar", "enabled", "name", "restart_on", "when")


def _parse_rule_after(value: object, calendar: object, path: str) -> Delay:
    """A rule's delay: business units without a calendar run on the desk's default one."""
    if isinstance(value, Delay):
        return value
    try:
        return parse_after(value, calendar=calendar is not None, path=path)
    except ValidationError:
        if (
            calendar is None
            and isinstance(value, str)
            and _PHRASE.match(value)
            and "business" in value.lower()
        ):
            return parse_after(value, calendar=True, path=path)
        raise


def _as_given(value: Delay | str | timedelta | float) -> Any:
    """The delay as given; ``__attrs_post_init__`` reads it with the rule's calendar."""
    return value


def _to_kinds(value: Any) -> Any:
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return frozenset(value)
    return value


def _to_actions(value: Any) -> Any:
    if isinstance(value, Action):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class TimedRule:
    """An automation that fires a set time after its condition became true.

    While ``when`` holds on a ticket a timer runs; ``after`` it started (wall time, or
    business time on the calendar named by ``calendar``, or on the desk's default
    calendar when a business unit is given without one) the ``actions`` run once, in
    the sweep ([`Helpdesk.tick`][ticketkit.Helpdesk.tick]). When ``when`` stops holding
    the timer is cancelled; when it holds again a new timer starts. An event of a kind
    in ``restart_on`` (``"*"`` for any) restarts a running timer ("4 business hours
    without an update").

    ``after`` takes ``"3 business days"`` (the same local time on the third business
    day), ``"4 business hours"``, ``"2 days"`` (wall time) or a duration (``"PT4H"``, a
    ``timedelta``): business time when the rule names a calendar, wall time otherwise.

    Examples:
        >>> from ticketkit import F
        >>> rule = TimedRule(
        ...     name="auto-close",
        ...     when=F.status_kind == "pending",
        ...     after="3 business days",
        ...     calendar="office",
        ...     actions=[Action.fire("close")],
        ... )
        >>> rule.to_dict()["after"]
        '3 business days'
        >>> TimedRule.from_dict(rule.to_dict()) == rule
        True
    """

    name: str
    when: Condition
    after: Delay = attrs.field(converter=_as_given)
    actions: tuple[Action, ...] = attrs.field(converter=_to_actions)
    calendar: str | None = None
    restart_on: frozenset[str] = attrs.field(default=frozenset(), converter=_to_kinds)
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(ErrorDetail("name", f"expected a non-empty string, got {self.name!r}"))
        when: object = self.when
        if not isinstance(when, Condition):
            problems.append(ErrorDetail("when", f"expected a Condition, got {when!r}"))
        calendar: str | None = None
        named: object = self.calendar
        if named is not None and (not isinstance(named, str) or not named.strip()):
            problems.append(ErrorDetail("calendar", f"expected a calendar name or None, got {named!r}"))
        elif isinstance(named, str):
            calendar = named
        try:
            after: object = self.after
            object.__setattr__(self, "after", _parse_rule_after(after, calendar, "after"))
        except ValidationError as err:
            problems.extend(err.errors)
        if not isinstance(self.actions, tuple) or not self.actions:
            problems.append(ErrorDetail("actions", f"expected at least one Action, got {self.actions!r}"))
        else:
            problems.extend(
                ErrorDetail(f"actions[{i}]", f"expected an Action, got {a!r}")
                for i, a in enumerate(self.actions)
                if not isinstance(a, Action)
            )
        kinds: object = self.restart_on
        if not isinstance(kinds, frozenset) or not all(isinstance(k, str) and k for k in kinds):
            problems.append(
                ErrorDetail(
                    "restart_on", f"expected event kinds such as ['comment.added'] (or '*'), got {kinds!r}"
                )
            )
        enabled: object = self.enabled
        if not isinstance(enabled, bool):
            problems.append(ErrorDetail("enabled", f"expected True or False, got {enabled!r}"))
        if problems:
            raise ValidationError(problems)

    def due(self, since: datetime, calendar: TimerCalendar | None) -> datetime:
        """When a timer of this rule started at ``since`` falls due (``calendar``: the one it runs on).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import F
            >>> rule = TimedRule(
            ...     name="survey",
            ...     when=F.status_kind == "resolved",
            ...     after="1 day",
            ...     actions=[Action.notify("customer", "How did we do?")],
            ... )
            >>> rule.due(datetime(2025, 3, 3, 9, tzinfo=timezone.utc), None).isoformat()
            '2025-03-04T09:00:00+00:00'
        """
        return due_at(self.after, since, calendar)

    @property
    def business(self) -> bool:
        """True when the delay counts business time (the rule needs a calendar)."""
        return self.after.kind != WALL

    def restarts(self, kinds: Iterable[str]) -> bool:
        """True when one of the event ``kinds`` restarts a running timer of this rule."""
        return bool(self.restart_on) and any(
            "*" in self.restart_on or k in self.restart_on for k in kinds if not k.startswith("timer.")
        )

    def to_dict(self) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.TimedRule.from_dict] reads it back."""
        out: dict[str, Any] = {
            "name": self.name,
            "when": self.when.to_dict(),
            "after": self.after.text(),
            "actions": [a.to_dict() for a in self.actions],
        }
        if self.calendar is not None:
            out["calendar"] = self.calendar
        if self.restart_on:
            out["restart_on"] = sorted(self.restart_on)
        if not self.enabled:
            out["enabled"] = False
        return out

    @classmethod
    @guarded_loader(1)
    def from_dict(cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = "") -> TimedRule:
        """Build a timed rule from its data form (``name``, ``when``, ``after``, ``actions``, ...).

        With ``calendars`` (name to calendar) a ``calendar`` must name one of them.

        Raises:
            ValidationError: every problem with its path.

        Examples:
            >>> r = TimedRule.from_dict(
            ...     {
            ...         "name": "remind",
            ...         "when": {"field": "status_kind", "op": "eq", "value": "open"},
            ...         "after": "4 business hours",
            ...         "actions": [{"notify": {"to": ["assignee"], "message": "{id} waits"}}],
            ...         "restart_on": "*",
            ...     }
            ... )
            >>> r.after.kind, sorted(r.restart_on)
            ('business_time', ['*'])
        """
        if isinstance(data, TimedRule):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for a timed rule, got {data!r}")
        problems: list[ErrorDetail] = [
            ErrorDetail(join(path, str(k)), f"unknown key {k!r} (expected: {', '.join(_RULE_KEYS)})")
            for k in sorted(data, key=str)
            if k not in _RULE_KEYS
        ]
        problems.extend(
            ErrorDetail(join(path, key), "required field is missing")
            for key in ("name", "when", "after", "actions")
            if key not in data
        )
        when = Condition.always()
        if "when" in data:
            try:
                when = Condition.from_dict(data["when"], calendars=calendars, path=join(path, "when"))
            except ValidationError as err:
                problems.extend(err.errors)
        actions: list[Action] = []
        raw_actions = data.get("actions", [])
        if not isinstance(raw_actions, list | tuple):
            problems.append(
                ErrorDetail(join(path, "actions"), f"expected a list of actions, got {raw_actions!r}")
            )
        elif not raw_actions and "actions" in data:
            problems.append(ErrorDetail(join(path, "actions"), "expected at least one action, got none"))
        else:
            for i, raw in enumerate(raw_actions):
                try:
                    actions.append(Action.from_dict(raw, path=f"{join(path, 'actions')}[{i}]"))
                except ValidationError as err:
                    problems.extend(err.errors)
        if "after" in data:
            cal = data.get("calendar")
            try:
                _parse_rule_after(data["after"], cal if isinstance(cal, str) else None, join(path, "after"))
            except ValidationError as err:
                problems.extend(err.errors)
        name = data.get("name", "?")
        if not isinstance(name, str) or not name.strip():
            problems.append(ErrorDetail(join(path, "name"), f"expected a non-empty string, got {name!r}"))
        if calendars is not None and data.get("calendar") is not None:
            resolve_calendar(data["calendar"], calendars, problems, join(path, "calendar"))
        if problems:
            raise ValidationError(problems)
        try:
            return cls(
                name=data["name"],
                when=when,
                after=data["after"],
                actions=actions,
                calendar=data.get("calendar"),
                restart_on=data.get("restart_on", ()),
                enabled=data.get("enabled", True),
            )
        except ValidationError as err:
            raise err.prefixed(path) from None


def check_timed(rules: Iterable[TimedRule | Mapping[str, Any]], path: str = "timed") -> tuple[TimedRule, ...]:
    """Load timed rules (objects or data) and check that their names are unique."""
    out: list[TimedRule] = []
    problems: list[ErrorDetail] = []
    seen: dict[str, int] = {}
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Iterable):
        raise ValidationError.one(path, f"expected a list of timed rules, got {rules!r}")
    for i, item in enumerate(rules):
        try:
            rule = TimedRule.from_dict(item, path=f"{path}[{i}]")
        except ValidationError as err:
            problems.extend(err.errors)
            continue
        if rule.name in seen:
            problems.append(
                ErrorDetail(
                    f"{path}[{i}].name",
                    f"duplicate timed rule {rule.name!r} (also {path}[{seen[rule.name]}])",
                )
            )
        seen[rule.name] = i
        out.append(rule)
    if problems:
        raise ValidationError(problems)
    return tuple(out)
