"""SLA configuration values: targets, escalation levels, clock definitions and their presets.

These are the data an [`SLAPolicy`][ticketkit.SLAPolicy] is built from. Each loads from
plain data (``from_dict``) and dumps back (``to_dict``); durations use
[`parse_duration`][ticketkit.parse_duration] / [`format_duration`][ticketkit.format_duration].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import attrs

from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._events import COMMENT_ADDED, STATUS_CHANGED, TICKET_CREATED
from ticketkit.model._json import EMPTY, freeze, json_problems, thaw
from ticketkit.model._models import STATUS_KINDS, Event, Priority, Ticket
from ticketkit.model._serialization import format_duration, parse_duration

__all__ = [
    "METRICS",
    "Escalation",
    "EventMatch",
    "SLAClock",
    "SLATarget",
]

METRICS: Final = ("first_response", "next_response", "periodic_update", "resolution")
"""The named clock presets, in the order policies list them."""

RECIPIENT_KINDS: Final = ("agent", "team", "role", "customer")
AFTER_STOP: Final = ("ignore", "resume", "restart")


class ConditionLike(Protocol):
    """What the SLA engine needs from a [`Condition`][ticketkit.Condition]."""

    def evaluate(
        self, ticket: Ticket, *, at: datetime | None = None, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether the condition holds for ``ticket``."""

    def to_dict(self) -> dict[str, Any]:
        """The condition's data form."""


def load_condition(data: Any, path: str, calendars: Mapping[str, Any] | None, out: list[ErrorDetail]) -> Any:
    """A Condition from its data form (or as it is), appending problems to ``out``."""
    if data is None:
        return None
    if hasattr(data, "evaluate") and hasattr(data, "to_dict"):
        return data
    from ticketkit.conditions._conditions import Condition  # noqa: PLC0415 - conditions are optional for policies

    try:
        return Condition.from_dict(data, calendars=calendars)
    except ValidationError as err:
        out.extend(err.prefixed(path).errors)
        return None


def _duration(value: Any, path: str, out: list[ErrorDetail], *, positive: bool = True) -> timedelta | None:
    try:
        d = parse_duration(value, path)
    except ValidationError as err:
        out.extend(err.errors)
        return None
    if positive and d <= timedelta(0):
        out.append(ErrorDetail(path, f"must be a positive duration, got {format_duration(d)!r}"))
        return None
    return d


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str, out: list[ErrorDetail]) -> None:
    known = tuple(allowed)
    expected = ", ".join(known)
    out.extend(
        ErrorDetail(
            join_path(path, str(key)),
            f"unknown key {key!r}; check its spelling (expected one of: {expected})",
        )
        for key in data
        if key not in known
    )


def _mapping(data: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError.one(path, f"expected an object for {what}, got {data!r}")
    return data


def _str_list(value: Any, path: str, out: list[ErrorDetail]) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        out.append(ErrorDetail(path, f"expected a list of strings, got {value!r}"))
        return frozenset()
    items = list(value)
    for i, v in enumerate(items):
        if not isinstance(v, str):
            out.append(ErrorDetail(join_path(path, i), f"expected a string, got {v!r}"))
    return frozenset(v for v in items if isinstance(v, str))


# --------------------------------------------------------------------------- targets


def _to_custom(value: Any) -> Any:
    if isinstance(value, Mapping):
        return freeze(dict(value))
    return value


@attrs.frozen(kw_only=True)
class SLATarget:
    """How much business time each clock may use, for one priority.

    A metric left as None has no target (its clock is not measured for that
    priority). ``custom`` holds targets for clocks you define yourself
    ([`SLAClock`][ticketkit.SLAClock]), by metric name.

    Examples:
        >>> from datetime import timedelta
        >>> t = SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=24))
        >>> t.get("resolution"), t.get("next_response")
        (datetime.timedelta(days=1), None)
        >>> SLATarget.from_dict({"first_response": "2h", "resolution": "PT24H"}) == t
        True
    """

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    periodic_update: timedelta | None = None
    resolution: timedelta | None = None
    custom: Mapping[str, timedelta] = attrs.field(default=EMPTY, converter=_to_custom, hash=False)

    def __attrs_post_init__(self) -> None:
        me: Any = self
        out: list[ErrorDetail] = []
        for name in METRICS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
                out.append(ErrorDetail(name, f"expected a positive timedelta or None, got {value!r}"))
        if not isinstance(me.custom, Mapping):
            out.append(ErrorDetail("custom", f"expected a mapping of metric to timedelta, got {me.custom!r}"))
        else:
            for key, value in me.custom.items():
                if key in METRICS:
                    out.append(ErrorDetail(f"custom.{key}", f"{key!r} is a named metric; set it directly"))
                elif not isinstance(value, timedelta) or value <= timedelta(0):
                    out.append(ErrorDetail(f"custom.{key}", f"expected a positive timedelta, got {value!r}"))
        if out:
            raise ValidationError(out)

    def get(self, metric: str) -> timedelta | None:
        """The target for ``metric`` (a preset name or a custom clock), or None.

        Examples:
            >>> SLATarget(custom={"callback": timedelta(minutes=15)}).get("callback")
            datetime.timedelta(seconds=900)
        """
        if metric in METRICS:
            value: timedelta | None = getattr(self, metric)
            return value
        return self.custom.get(metric)

    def metrics(self) -> tuple[str, ...]:
        """The metrics that have a target, presets first.

        Examples:
            >>> SLATarget(resolution=timedelta(hours=8)).metrics()
            ('resolution',)
        """
        return tuple(m for m in METRICS if getattr(self, m) is not None) + tuple(sorted(self.custom))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> SLATarget:
        """Load from ``{"first_response": "2h", "resolution": "PT24H", "callback": "15m"}``.

        Keys other than the four presets are targets of custom clocks.

        Examples:
            >>> SLATarget.from_dict({"resolution": "1d"}).resolution
            datetime.timedelta(days=1)
        """
        data = _mapping(data, path, "an SLA target")
        out: list[ErrorDetail] = []
        named: dict[str, timedelta | None] = {}
        custom: dict[str, timedelta] = {}
        for key, value in data.items():
            p = join_path(path, str(key))
            if not isinstance(key, str) or not key:
                out.append(ErrorDetail(p, f"expected a metric name, got {key!r}"))
                continue
            if value is None and key in METRICS:
                named[key] = None
                continue
            d = _duration(value, p, out)
            if d is None:
                continue
            if key in METRICS:
                named[key] = d
            else:
                custom[key] = d
        if out:
            raise ValidationError(out)
        return cls(custom=custom, **named)

    def to_dict(self) -> dict[str, Any]:
        """The data form: metric name to ISO 8601 duration, unset metrics left out.

        Examples:
            >>> SLATarget(first_response=timedelta(minutes=30)).to_dict()
            {'first_response': 'PT30M'}
        """
        out = {m: format_duration(getattr(self, m)) for m in METRICS if getattr(self, m) is not None}
        out.update({k: format_duration(v) for k, v in sorted(self.custom.items())})
        return out


# --------------------------------------------------------------------------- escalations


def _to_notify(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple | frozenset | set):
        return tuple(value)
    return value


def _to_opt_priority(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Priority.parse(value)
        except ValidationError:
            return value
    return value


def recipient_problem(value: object) -> str | None:
    """Why ``value`` is not a recipient such as ``"role:lead"``, or None."""
    if not isinstance(value, str) or ":" not in value:
        return f"expected a recipient such as 'role:lead' or 'team:{{team}}', got {value!r}"
    kind, _, ident = value.partition(":")
    if kind not in RECIPIENT_KINDS:
        return f"unknown recipient kind {kind!r} in {value!r} (expected one of: {', '.join(RECIPIENT_KINDS)})"
    if not ident:
        return f"recipient {value!r} names nobody after {kind + ':'!r}"
    return None


@attrs.frozen(kw_only=True)
class Escalation:
    """One level of an escalation ladder on one clock.

    It falls due at a fraction of the target (``at=1.0`` is the breach; ``0.9``
    before it) or at a business-time duration after the breach (``after``); with
    neither, at the breach. Time after a breach is counted by the clock itself, so
    it stops while the clock is paused and never falls due once the clock has
    stopped. When it falls due the engine emits an ``sla.escalated`` event whose
    data the [`Helpdesk`][ticketkit.Helpdesk] acts on: ``notify`` (recipients such as
    ``"role:lead"``, ``"team:{team}"``, ``"agent:{assignee}"``; ``{team}``,
    ``{assignee}``, ``{customer}`` are filled from the ticket), ``reassign``
    (``"team:..."`` or ``"agent:..."``) and ``raise_priority`` (raise to at least
    this priority).

    Examples:
        >>> from datetime import timedelta
        >>> e = Escalation(metric="resolution", after=timedelta(hours=4), notify="role:department-head")
        >>> e.notify, e.threshold(timedelta(hours=24))
        (('role:department-head',), datetime.timedelta(days=1, seconds=14400))
        >>> Escalation(metric="first_response", at=0.5).threshold(timedelta(hours=2))
        datetime.timedelta(seconds=3600)
    """

    metric: str
    at: float | None = None
    after: timedelta | None = None
    notify: tuple[str, ...] = attrs.field(default=(), converter=_to_notify)
    reassign: str | None = None
    raise_priority: Priority | None = attrs.field(default=None, converter=_to_opt_priority)
    name: str = ""

    def __attrs_post_init__(self) -> None:
        me: Any = self
        out: list[ErrorDetail] = []
        if not isinstance(me.metric, str) or not me.metric:
            out.append(ErrorDetail("metric", f"expected a metric name, got {me.metric!r}"))
        if me.at is not None and me.after is not None:
            out.append(ErrorDetail("at", "give either 'at' (a fraction of the target) or 'after', not both"))
        if me.at is not None and (
            not isinstance(me.at, int | float) or isinstance(me.at, bool) or not 0 < me.at
        ):
            out.append(
                ErrorDetail("at", f"expected a fraction of the target above 0 (1.0 = breach), got {me.at!r}")
            )
        if me.after is not None and (not isinstance(me.after, timedelta) or me.after < timedelta(0)):
            out.append(
                ErrorDetail("after", f"expected a duration of 0 or more after the breach, got {me.after!r}")
            )
        if not isinstance(me.notify, tuple):
            out.append(ErrorDetail("notify", f"expected a recipient or a list of them, got {me.notify!r}"))
        else:
            for i, r in enumerate(me.notify):
                problem = recipient_problem(r)
                if problem:
                    out.append(ErrorDetail(f"notify[{i}]", problem))
        if me.reassign is not None:
            problem = recipient_problem(me.reassign)
            if problem is None and not me.reassign.startswith(("team:", "agent:")):
                problem = f"reassign to a 'team:...' or an 'agent:...', got {me.reassign!r}"
            if problem:
                out.append(ErrorDetail("reassign", problem))
        if me.raise_priority is not None and not isinstance(me.raise_priority, Priority):
            out.append(
                ErrorDetail(
                    "raise_priority",
                    f"unknown priority {me.raise_priority!r} (expected one of: low, normal, high, urgent)",
                )
            )
        if not isinstance(me.name, str):
            out.append(ErrorDetail("name", f"expected a string, got {me.name!r}"))
        if out:
            raise ValidationError(out)

    def threshold(self, target: timedelta) -> timedelta:
        """The clock's elapsed business time at which this level falls due, for ``target``."""
        if self.after is not None:
            return target + self.after
        return target * (1.0 if self.at is None else float(self.at))

    def actions(self) -> list[dict[str, Any]]:
        """What the Helpdesk should do besides notifying, as data.

        Examples:
            >>> Escalation(metric="resolution", reassign="team:seniors", raise_priority="urgent").actions()
            [{'reassign': 'team:seniors'}, {'raise_priority': 'urgent'}]
        """
        out: list[dict[str, Any]] = []
        if self.reassign is not None:
            out.append({"reassign": self.reassign})
        if self.raise_priority is not None:
            out.append({"raise_priority": self.raise_priority.value})
        return out

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Escalation:
        """Load from ``{"metric": "resolution", "after": "4h", "notify": ["role:head"]}``.

        Examples:
            >>> Escalation.from_dict({"metric": "resolution", "at": 1.0, "notify": "role:lead"}).at
            1.0
        """
        data = _mapping(data, path, "an escalation")
        out: list[ErrorDetail] = []
        check_keys(data, ("metric", "at", "after", "notify", "reassign", "raise_priority", "name"), path, out)
        if "metric" not in data:
            out.append(ErrorDetail(join_path(path, "metric"), "required field is missing"))
        after = None
        if data.get("after") is not None:
            after = _duration(data["after"], join_path(path, "after"), out, positive=False)
        if out:
            raise ValidationError(out)
        try:
            return cls(
                metric=data["metric"],
                at=data.get("at"),
                after=after,
                notify=data.get("notify", ()),
                reassign=data.get("reassign"),
                raise_priority=data.get("raise_priority"),
                name=data.get("name", ""),
            )
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form.

        Examples:
            >>> Escalation(metric="resolution", after=timedelta(hours=4), notify="role:head").to_dict()
            {'metric': 'resolution', 'after': 'PT4H', 'notify': ['role:head']}
        """
        out: dict[str, Any] = {"metric": self.metric}
        if self.at is not None:
            out["at"] = self.at
        if self.after is not None:
            out["after"] = format_duration(self.after)
        if self.notify:
            out["notify"] = list(self.notify)
        if self.reassign is not None:
            out["reassign"] = self.reassign
        if self.raise_priority is not None:
            out["raise_priority"] = self.raise_priority.value
        if self.name:
            out["name"] = self.name
        return out


# --------------------------------------------------------------------------- clocks


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _to_match_data(value: Any) -> Any:
    if isinstance(value, Mapping):
        return freeze({k: (list(v) if isinstance(v, frozenset | set) else v) for k, v in value.items()})
    return value


def _to_kinds(value: Any) -> Any:
    if value is None or isinstance(value, frozenset):
        return value
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


@attrs.frozen(kw_only=True)
class EventMatch:
    """Which ticket events start, stop or restart a clock.

    ``kind`` is the event kind (``comment.added``, ``status.changed``, ...);
    ``data`` maps dotted paths inside the event data to a value or a list of
    accepted values (``{"comment.author_kind": "agent", "comment.public": True}``);
    ``status_kinds`` limits it to tickets whose status kind is one of these when
    the event happens; ``when`` is an optional [`Condition`][ticketkit.Condition] on
    the ticket (evaluated with ``context={"event": {"kind": ..., "data": ...}}``).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Event, Ticket
        >>> m = EventMatch(kind="status.changed", data={"to_kind": ["resolved", "closed"]})
        >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> e = Event(ticket_id="T1", kind="status.changed", actor="li", at=at, data={"to_kind": "resolved"})
        >>> m.matches(e, Ticket(subject="x", created_at=at))
        True
    """

    kind: str
    data: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_to_match_data, hash=False)
    status_kinds: frozenset[str] | None = attrs.field(default=None, converter=_to_kinds)
    when: ConditionLike | None = attrs.field(default=None, hash=False)
    _tests: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        me: Any = self
        out: list[ErrorDetail] = []
        if not isinstance(me.kind, str) or not me.kind:
            out.append(
                ErrorDetail("kind", f"expected an event kind such as 'comment.added', got {me.kind!r}")
            )
        tests: list[tuple[tuple[str, ...], tuple[Any, ...]]] = []
        if not isinstance(me.data, Mapping):
            out.append(ErrorDetail("data", f"expected a mapping of path to value(s), got {me.data!r}"))
        else:
            out.extend(json_problems(me.data, "data"))
            for key, value in me.data.items():
                if not isinstance(key, str) or not key:
                    out.append(ErrorDetail("data", f"expected a dotted path, got {key!r}"))
                    continue
                accepted = tuple(value) if isinstance(value, tuple | list) else (value,)
                tests.append((tuple(key.split(".")), accepted))
        if me.status_kinds is not None:
            if not isinstance(me.status_kinds, frozenset):
                out.append(
                    ErrorDetail("status_kinds", f"expected a list of status kinds, got {me.status_kinds!r}")
                )
            else:
                out.extend(
                    ErrorDetail(
                        "status_kinds",
                        f"unknown status kind {k!r} (expected one of: {', '.join(STATUS_KINDS)})",
                    )
                    for k in sorted(me.status_kinds, key=repr)
                    if k not in STATUS_KINDS
                )
        if me.when is not None and not hasattr(me.when, "evaluate"):
            out.append(ErrorDetail("when", f"expected a Condition, got {me.when!r}"))
        if out:
            raise ValidationError(out)
        object.__setattr__(self, "_tests", tuple(tests))

    def matches(self, event: Event, ticket: Ticket) -> bool:
        """Whether ``event``, happening to ``ticket``, is one of these."""
        if event.kind != self.kind:
            return False
        for keys, accepted in self._tests:
            value: Any = event.data
            for k in keys:
                get = getattr(value, "get", None)  # a mapping (plain, frozen); cheaper than an ABC check
                if get is None:
                    return False
                value = get(k)
            for a in accepted:
                if _same(value, a):
                    break
            else:
                return False
        if self.status_kinds is not None:
            kind = ticket.status_kind
            if event.kind == STATUS_CHANGED:
                kind = event.data.get("from_kind", kind)
            if kind not in self.status_kinds:
                return False
        if self.when is not None:
            context = {"event": {"kind": event.kind, "data": event.data}}
            return bool(self.when.evaluate(ticket, at=event.at, context=context))
        return True

    @classmethod
    def from_dict(
        cls, data: Any, *, path: str = "", calendars: Mapping[str, Any] | None = None
    ) -> EventMatch:
        """Load from ``{"event": "comment.added", "data": {...}, "status_kinds": [...], "when": {...}}``.

        A bare string is an event kind with no further test.

        Examples:
            >>> EventMatch.from_dict("ticket.created").kind
            'ticket.created'
        """
        if isinstance(data, str):
            data = {"event": data}
        data = _mapping(data, path, "an event match")
        out: list[ErrorDetail] = []
        check_keys(data, ("event", "data", "status_kinds", "when"), path, out)
        if "event" not in data:
            out.append(ErrorDetail(join_path(path, "event"), "required field is missing"))
        kinds = None
        if data.get("status_kinds") is not None:
            kinds = _str_list(data["status_kinds"], join_path(path, "status_kinds"), out)
        when = load_condition(data.get("when"), join_path(path, "when"), calendars, out)
        if out:
            raise ValidationError(out)
        try:
            return cls(kind=data["event"], data=data.get("data", {}), status_kinds=kinds, when=when)
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any] | str:
        """The data form (a bare event kind when there is nothing else to test).

        Examples:
            >>> EventMatch(kind="comment.added", data={"comment.author_kind": "customer"}).to_dict()
            {'event': 'comment.added', 'data': {'comment.author_kind': 'customer'}}
        """
        if not self.data and self.status_kinds is None and self.when is None:
            return self.kind
        out: dict[str, Any] = {"event": self.kind}
        if self.data:
            out["data"] = thaw(self.data)
        if self.status_kinds is not None:
            out["status_kinds"] = sorted(self.status_kinds)
        if self.when is not None:
            out["when"] = self.when.to_dict()
        return out


def _to_matches(value: Any) -> Any:
    if isinstance(value, EventMatch):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


AGENT_REPLY: Final = EventMatch(
    kind=COMMENT_ADDED,
    data={"comment.author_kind": "agent", "comment.public": True, "comment.automatic": False},
)
"""A public, non-automatic comment by an agent: what counts as a response."""

CUSTOMER_MESSAGE: Final = EventMatch(
    kind=COMMENT_ADDED,
    data={"comment.author_kind": "customer"},
    status_kinds=frozenset({"new", "open", "pending"}),
)
"""A comment by the customer on a ticket that is not resolved or closed."""

RESOLVED: Final = EventMatch(kind=STATUS_CHANGED, data={"to_kind": ["resolved", "closed"]})
"""A move into a resolved- or closed-kind status."""

REOPENED: Final = EventMatch(
    kind=STATUS_CHANGED, data={"from_kind": ["resolved", "closed"], "to_kind": ["new", "open", "pending"]}
)
"""A move out of a resolved- or closed-kind status back to work."""

CREATED: Final = EventMatch(kind=TICKET_CREATED)


@attrs.frozen(kw_only=True)
class SLAClock:
    """A clock as a model: what starts, stops and restarts it, and when it pauses.

    ``start`` events start an idle clock; what they do to a stopped one is
    ``after_stop``: ``"ignore"`` (it stays stopped), ``"resume"`` (it runs on with
    the time already spent, as resolution does on a reopen) or ``"restart"`` (a
    new cycle from zero). A start event while the clock runs changes nothing, so a
    next-response clock counts from the oldest unanswered message. ``stop`` events
    stop it (met, or breached if its target was reached). ``restart`` events end
    the running cycle and begin a new one at once (periodic updates). The clock
    pauses while the ticket's status name or kind is in ``pause_in`` (None: the
    policy's ``pause_in``; an empty set: never) or while ``pause_when`` (a
    [`Condition`][ticketkit.Condition] on the ticket) holds.

    The four presets are [`preset`][ticketkit.SLAClock.preset] ``("first_response")``,
    ``("next_response")``, ``("periodic_update")`` and ``("resolution")``.

    Examples:
        >>> c = SLAClock.preset("resolution")
        >>> c.after_stop, [m.kind for m in c.stop]
        ('resume', ['status.changed'])
        >>> SLAClock.from_dict(c.to_dict()) == c
        True
    """

    metric: str
    start: tuple[EventMatch, ...] = attrs.field(default=(), converter=_to_matches)
    stop: tuple[EventMatch, ...] = attrs.field(default=(), converter=_to_matches)
    restart: tuple[EventMatch, ...] = attrs.field(default=(), converter=_to_matches)
    after_stop: str = "ignore"
    pause_in: frozenset[str] | None = attrs.field(default=None, converter=_to_kinds)
    pause_when: ConditionLike | None = attrs.field(default=None, hash=False)

    def __attrs_post_init__(self) -> None:
        me: Any = self
        out: list[ErrorDetail] = []
        if not isinstance(me.metric, str) or not me.metric:
            out.append(ErrorDetail("metric", f"expected a metric name, got {me.metric!r}"))
        for name in ("start", "stop", "restart"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(m, EventMatch) for m in value):
                out.append(ErrorDetail(name, f"expected a list of EventMatch, got {value!r}"))
        if me.after_stop not in AFTER_STOP:
            out.append(
                ErrorDetail(
                    "after_stop",
                    f"unknown value {me.after_stop!r} (expected one of: {', '.join(AFTER_STOP)})",
                )
            )
        if me.pause_in is not None and (
            not isinstance(me.pause_in, frozenset) or not all(isinstance(s, str) for s in me.pause_in)
        ):
            out.append(
                ErrorDetail("pause_in", f"expected a list of status names or kinds, got {me.pause_in!r}")
            )
        if me.pause_when is not None and not hasattr(me.pause_when, "evaluate"):
            out.append(ErrorDetail("pause_when", f"expected a Condition, got {me.pause_when!r}"))
        if out:
            raise ValidationError(out)

    @classmethod
    def preset(cls, name: str) -> SLAClock:
        """One of the named clocks.

        - ``first_response``: runs from creation until the first public,
          non-automatic comment by an agent (an internal note, a bot's or an
          automatic reply does not count), or until the ticket is resolved.
        - ``next_response``: starts on a customer message (on a ticket that is not
          resolved or closed) or on a reopen, stops on the next agent reply or a
          resolution; the next customer message starts a new cycle.
        - ``periodic_update``: runs from creation; each agent reply starts a new
          cycle; stops when resolved, starts a new cycle on a reopen.
        - ``resolution``: runs from creation until a resolved- or closed-kind
          status; a reopen resumes it with the time already spent.

        Examples:
            >>> SLAClock.preset("next_response").after_stop
            'restart'
        """
        try:
            return _PRESETS[name]
        except KeyError:
            raise ValidationError.one(
                "metric", f"no preset clock {name!r} (expected one of: {', '.join(METRICS)})"
            ) from None

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "", calendars: Mapping[str, Any] | None = None) -> SLAClock:
        """Load a clock; ``{"preset": "resolution", "pause_in": []}`` changes a preset.

        Examples:
            >>> c = SLAClock.from_dict(
            ...     {"metric": "callback", "start": ["ticket.created"], "stop": [{"event": "call.made"}]}
            ... )
            >>> c.metric, c.stop[0].kind
            ('callback', 'call.made')
        """
        data = _mapping(data, path, "a clock")
        out: list[ErrorDetail] = []
        check_keys(
            data,
            ("metric", "preset", "start", "stop", "restart", "after_stop", "pause_in", "pause_when"),
            path,
            out,
        )
        base: SLAClock | None = None
        if data.get("preset") is not None:
            try:
                base = cls.preset(data["preset"])
            except ValidationError:
                out.append(
                    ErrorDetail(
                        join_path(path, "preset"),
                        f"no preset clock {data['preset']!r} (expected one of: {', '.join(METRICS)})",
                    )
                )
        elif "metric" not in data:
            out.append(
                ErrorDetail(join_path(path, "metric"), "required field is missing (or give a 'preset')")
            )
        fields: dict[str, Any] = {}
        for name in ("start", "stop", "restart"):
            if name not in data:
                continue
            items = data[name]
            if not isinstance(items, list | tuple):
                out.append(
                    ErrorDetail(join_path(path, name), f"expected a list of event matches, got {items!r}")
                )
                continue
            matches = []
            for i, item in enumerate(items):
                try:
                    matches.append(
                        EventMatch.from_dict(
                            item, path=join_path(join_path(path, name), i), calendars=calendars
                        )
                    )
                except ValidationError as err:
                    out.extend(err.errors)
            fields[name] = tuple(matches)
        if "pause_in" in data:
            fields["pause_in"] = (
                None
                if data["pause_in"] is None
                else _str_list(data["pause_in"], join_path(path, "pause_in"), out)
            )
        if "pause_when" in data:
            fields["pause_when"] = load_condition(
                data["pause_when"], join_path(path, "pause_when"), calendars, out
            )
        for name in ("metric", "after_stop"):
            if name in data:
                fields[name] = data[name]
        if out:
            raise ValidationError(out)
        try:
            if base is not None:
                return attrs.evolve(base, **fields)
            return cls(**fields)
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form (a preset left unchanged dumps as ``{"preset": name}``).

        Examples:
            >>> SLAClock.preset("first_response").to_dict()
            {'preset': 'first_response'}
        """
        preset = _PRESETS.get(self.metric)
        if preset is not None and preset == self:
            return {"preset": self.metric}
        out: dict[str, Any] = {"metric": self.metric}
        for name in ("start", "stop", "restart"):
            items = getattr(self, name)
            if items:
                out[name] = [m.to_dict() for m in items]
        out["after_stop"] = self.after_stop
        if self.pause_in is not None:
            out["pause_in"] = sorted(self.pause_in)
        if self.pause_when is not None:
            out["pause_when"] = self.pause_when.to_dict()
        return out


_PRESETS: Final = {
    "first_response": SLAClock(metric="first_response", start=CREATED, stop=(AGENT_REPLY, RESOLVED)),
    "next_response": SLAClock(
        metric="next_response",
        start=(CUSTOMER_MESSAGE, REOPENED),
        stop=(AGENT_REPLY, RESOLVED),
        after_stop="restart",
    ),
    "periodic_update": SLAClock(
        metric="periodic_update",
        start=(CREATED, REOPENED),
        stop=RESOLVED,
        restart=AGENT_REPLY,
        after_stop="restart",
    ),
    "resolution": SLAClock(
        metric="resolution", start=(CREATED, REOPENED), stop=RESOLVED, after_stop="resume"
    ),
}
