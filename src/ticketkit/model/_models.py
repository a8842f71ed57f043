"""The values ticketkit works with: tickets, customers, agents, teams, comments, events.

All models are frozen ``attrs`` classes with keyword-only fields: slotted, except the
three the engines copy on every change (``Ticket``, ``Event`` and ``ClockState`` keep a
``__dict__``, because copying one dict is about six times cheaper than setting 27
slots). A change makes a new value (``attrs.evolve``) and the [`Event`][ticketkit.Event] that
records it. Every model is validated at construction and reports every problem at once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from ticketkit.errors import ErrorDetail, ValidationError, bounded_repr
from ticketkit.model._attachment import Attachment
from ticketkit.model._ids import new_id
from ticketkit.model._json import EMPTY, freeze, json_problems
from ticketkit.model._limits import Limits, depth_of, guarded_loader
from ticketkit.model._time import aware_problem

__all__ = [
    "AGENT_STATUSES",
    "AUTHOR_KINDS",
    "STATUS_KINDS",
    "Agent",
    "ClockSegment",
    "ClockState",
    "Comment",
    "Customer",
    "Event",
    "Link",
    "Priority",
    "SLAState",
    "Team",
    "Ticket",
    "TimerState",
]

_T = TypeVar("_T")


class Priority(enum.Enum):
    """How urgent a ticket is; ordered ``LOW < NORMAL < HIGH < URGENT``.

    A priority can be given by its name in any case (``"urgent"``) wherever a
    ``Priority`` is expected; it serializes as the lower-case name.

    Examples:
        >>> Priority.LOW < Priority.URGENT
        True
        >>> Priority.parse("High")
        <Priority.HIGH: 'high'>
        >>> max([Priority.NORMAL, Priority.HIGH]).name
        'HIGH'
    """

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """0 for LOW up to 3 for URGENT."""
        return _PRIORITY_RANK[self]

    @classmethod
    @guarded_loader(1)
    def parse(cls, value: Priority | str) -> Priority:
        """The priority for an enum member or a name in any case.

        Raises:
            ValidationError: for anything else, listing the names it accepts.
        """
        if isinstance(value, Priority):
            return value
        if isinstance(value, str):
            member = _PRIORITY_BY_NAME.get(value.strip().lower())
            if member is not None:
                return member
        raise ValidationError.one(
            "priority", f"unknown priority {value!r} (expected one of: low, normal, high, urgent)"
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Priority):
            return NotImplemented
        return self.rank >= other.rank


_PRIORITY_RANK: Final = {p: i for i, p in enumerate(Priority)}
_PRIORITY_BY_NAME: Final = {p.value: p for p in Priority}

AGENT_STATUSES: Final = frozenset({"online", "away", "offline"})
"""The availability an [`Agent`][ticketkit.Agent] can report."""

STATUS_KINDS: Final = ("new", "open", "pending", "resolved", "closed")
"""The kinds a workflow state can have; SLA clocks and reports work on kinds, not names."""

AUTHOR_KINDS: Final = frozenset({"agent", "customer", "bot", "system"})
"""Who wrote a [`Comment`][ticketkit.Comment]: an agent, the customer, a bot or the system."""


# --------------------------------------------------------------------------- converters
# Converters normalise what they understand and pass anything else through unchanged,
# so that ``__attrs_post_init__`` can report every problem at once with its path.


def _to_priority(value: Any) -> Any:
    if isinstance(value, str):
        return _PRIORITY_BY_NAME.get(value.strip().lower(), value)
    return value


def _to_str_set(value: Any) -> Any:
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value  # reported by validation: a single string is almost always a mistake
    try:
        return frozenset(value)
    except TypeError:  # unhashable items: left as given, validation names them
        return value


def _to_tuple(value: Any) -> Any:
    if isinstance(value, tuple):
        return value
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _to_frozen_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        limit = Limits.current().depth
        if depth_of(value, limit) > limit:
            return value  # left as given: validation names the limit
        return freeze(value)
    return value


def _count_values(value: object) -> int:
    n, stack = 0, [value]
    while stack:
        item = stack.pop()
        n += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return n


# --------------------------------------------------------------------------- validation


def level_problems(path: str, value: object) -> list[ErrorDetail]:
    """Problems with a skill -> level mapping (levels are whole numbers from 0 to 100).

    Examples:
        >>> level_problems("skill_levels", {"zh": 3}), len(level_problems("skill_levels", {"zh": "3"}))
        ([], 1)
    """
    if not isinstance(value, Mapping):
        return [ErrorDetail(path, f"expected a mapping of skill -> level, got {bounded_repr(value)}")]
    return [
        ErrorDetail(
            f"{path}.{k}", f"expected a skill name and a whole level from 0 to 100, got {bounded_repr(v)}"
        )
        for k, v in value.items()
        if not isinstance(k, str) or not k or "\x00" in k or v.__class__ is not int or not 0 <= v <= 100
    ]


class _Problems:
    """Collects problems during validation, then raises them all together."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[ErrorDetail] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(ErrorDetail(path, message))

    def text(self, path: str, value: object, *, empty: bool = True) -> None:
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {bounded_repr(value)}")
        elif not empty and not value.strip():
            self.add(path, "must not be empty")

    def name(self, path: str, value: object, *, optional: bool = False) -> None:
        """An id, tenant, tag or name: a string, non-empty, no NUL, within `Limits.name`."""
        if value is None and optional:
            return
        if not isinstance(value, str):
            self.add(path, f"expected a string{' or None' if optional else ''}, got {bounded_repr(value)}")
        elif not value.strip():
            self.add(path, "must not be empty")
        elif "\x00" in value:
            self.add(path, f"must not contain NUL (\\x00), got {bounded_repr(value)}")
        elif len(value) > Limits.current().name:
            self.add(path, f"is {len(value)} characters long (at most {Limits.current().name}, Limits.name)")

    def sized(self, path: str, value: object, limit: int, what: str) -> None:
        """A text within ``limit`` characters (the caller checked it is a string)."""
        if isinstance(value, str) and len(value) > limit:
            self.add(path, f"is {len(value)} characters long (at most {limit}, Limits.{what})")

    def opt_text(self, path: str, value: object) -> None:
        if value is not None and not isinstance(value, str):
            self.add(path, f"expected a string or None, got {bounded_repr(value)}")

    def moment(self, path: str, value: object, *, optional: bool = False) -> None:
        if value is None and optional:
            return
        problem = aware_problem(value)
        if problem:
            self.add(path, problem)

    def str_set(self, path: str, value: object) -> None:
        if not isinstance(value, frozenset):
            self.add(path, f"expected a set of strings, got {bounded_repr(value)}")
            return
        for item in sorted(value, key=repr):
            if not isinstance(item, str):
                self.add(path, f"expected strings only, got {bounded_repr(item)}")

    def json_mapping(self, path: str, value: object) -> None:
        if not isinstance(value, Mapping):
            self.add(path, f"expected a mapping of JSON-safe values, got {bounded_repr(value)}")
            return
        self.items.extend(json_problems(value, path))

    def integer(self, path: str, value: object, *, minimum: int | None = None) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"expected an integer, got {bounded_repr(value)}")
        elif minimum is not None and value < minimum:
            self.add(path, f"must be at least {minimum}, got {bounded_repr(value)}")

    def boolean(self, path: str, value: object) -> None:
        if not isinstance(value, bool):
            self.add(path, f"expected True or False, got {bounded_repr(value)}")

    def instance(self, path: str, value: object, cls: type, *, optional: bool = False) -> None:
        if value is None and optional:
            return
        if not isinstance(value, cls):
            none = " or None" if optional else ""
            self.add(path, f"expected a {cls.__name__}{none}, got {bounded_repr(value)}")

    def instances(self, path: str, value: object, cls: type) -> None:
        if not isinstance(value, tuple):
            self.add(path, f"expected a list of {cls.__name__}, got {bounded_repr(value)}")
            return
        for i, item in enumerate(value):
            if not isinstance(item, cls):
                self.add(f"{path}[{i}]", f"expected a {cls.__name__}, got {bounded_repr(item)}")

    def duration(self, path: str, value: object) -> None:
        if not isinstance(value, timedelta):
            self.add(path, f"expected a timedelta, got {bounded_repr(value)}")
        elif value < timedelta(0):
            self.add(path, f"must not be negative, got {bounded_repr(value)}")

    def score(self, path: str, value: object) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            self.add(path, f"must be an integer from 1 to 5 or None, got {bounded_repr(value)}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def replace_trusted(obj: _T, **changes: Any) -> _T:
    """A copy of a model with ``changes`` applied, skipping validation.

    For engines changing fields to values they built themselves (a workflow moving
    ``status``, ``version`` and ``updated_at``): the hot path must not pay for
    checks that cannot fail. Never use it on user input.
    """
    cls = type(obj)
    new = object.__new__(cls)
    setter = object.__setattr__
    state = getattr(obj, "__dict__", None)
    if state is not None:  # a dict-backed model (Ticket): one C-level dict copy
        state = state.copy()
        state.update(changes)
        setter(new, "__dict__", state)
        return new
    for name in cls.__slots__:  # type: ignore[attr-defined]
        if name == "__weakref__":
            continue
        setter(new, name, changes[name] if name in changes else getattr(obj, name))
    return new


# --------------------------------------------------------------------------- models


_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")


@attrs.frozen(kw_only=True)
class Customer:
    """The person or organisation a ticket is for, as known when the ticket was made.

    ``data`` holds what the CRM or records system knows beyond the named fields
    (the shop where they bought, a patient number); conditions reach it as
    ``customer.<key>``. ``locale`` is the language the customer reads, as a language
    tag (``"zh"``, ``"zh-CN"``, ``"en_GB"``); customer-facing texts use it when no
    language is asked for (None: English).

    Examples:
        >>> c = Customer(
        ...     id="c-1", name="Wang Fang", tier="vip", data={"store": "shanghai-01"}, locale="zh-CN"
        ... )
        >>> c.tier, c.data["store"], c.locale
        ('vip', 'shanghai-01', 'zh-CN')
    """

    id: str
    name: str = ""
    tier: str = "standard"
    email: str | None = None
    phone: str | None = None
    tenant: str = "default"
    data: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_to_frozen_json, hash=False)
    locale: str | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.name("id", self.id)
        p.text("name", self.name)
        p.text("tier", self.tier, empty=False)
        p.opt_text("email", self.email)
        p.opt_text("phone", self.phone)
        p.name("tenant", self.tenant)
        p.json_mapping("data", self.data)
        if self.locale is not None and (
            not isinstance(self.locale, str) or not _LOCALE.fullmatch(self.locale)
        ):
            p.add(
                "locale",
                f"expected a language tag such as 'zh', 'zh-CN' or 'en_GB', or None, got {self.locale!r}",
            )
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class Agent:
    """Someone who works tickets.

    ``capacity`` is how many open tickets they take at once (weighted when the router
    has ``capacity_weights``); ``status`` is their configured availability (the desk's
    presence, `Helpdesk.set_presence`, overrides it); ``shift`` names a business calendar
    the router knows, for agents who work other hours than their team;
    ``skill_levels`` gives a level (0-100) to skills, for rules asking a minimum
    (``Assign.min_levels``): a skill with a level is held, one held without counts 1.

    Examples:
        >>> a = Agent(id="li", teams={"after-sales"}, skills={"returns", "zh"}, capacity=8)
        >>> sorted(a.skills), a.status
        (['returns', 'zh'], 'online')
    """

    id: str
    name: str = ""
    tenant: str = "default"
    teams: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    roles: frozenset[str] = attrs.field(default=frozenset({"agent"}), converter=_to_str_set)
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    capacity: int = 10
    status: str = "online"
    shift: str | None = None
    skill_levels: Mapping[str, int] = attrs.field(default=EMPTY, converter=_to_frozen_json, hash=False)

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.items.extend(level_problems("skill_levels", self.skill_levels))
        p.text("id", self.id, empty=False)
        p.text("name", self.name)
        p.name("tenant", self.tenant)
        p.str_set("teams", self.teams)
        p.str_set("roles", self.roles)
        p.str_set("skills", self.skills)
        p.integer("capacity", self.capacity, minimum=0)
        if self.status not in AGENT_STATUSES:
            p.add("status", f"unknown status {self.status!r} (expected one of: away, offline, online)")
        p.opt_text("shift", self.shift)
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class Team:
    """A group of agents that tickets are routed to.

    ``lead`` is the agent escalations go to; ``parent`` the department above it.

    Examples:
        >>> Team(id="after-sales-sh01", name="After-sales, Shanghai 01", lead="zhao").lead
        'zhao'
    """

    id: str
    name: str = ""
    tenant: str = "default"
    lead: str | None = None
    parent: str | None = None
    calendar: str | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("id", self.id, empty=False)
        p.text("name", self.name)
        p.name("tenant", self.tenant)
        p.opt_text("lead", self.lead)
        p.opt_text("parent", self.parent)
        p.opt_text("calendar", self.calendar)
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class Comment:
    """A message on a ticket: a public reply, a customer message or an internal note.

    ``author_kind`` says who wrote it (agent, customer, bot, system); ``public``
    whether the customer sees it; ``automatic`` marks auto-replies, which never
    count as a response for SLA purposes.

    Examples:
        >>> from datetime import datetime, timezone
        >>> c = Comment(
        ...     ticket_id="T1",
        ...     author="li",
        ...     body="We are on it.",
        ...     at=datetime(2025, 3, 3, 9, 5, tzinfo=timezone.utc),
        ... )
        >>> c.public, c.author_kind
        (True, 'agent')
    """

    ticket_id: str
    author: str
    body: str
    at: datetime
    public: bool = True
    author_kind: str = "agent"
    automatic: bool = False
    id: str = attrs.field(default=attrs.Factory(lambda self: new_id(self.at), takes_self=True))
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_to_tuple)

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("ticket_id", self.ticket_id, empty=False)
        p.text("author", self.author, empty=False)
        p.text("body", self.body)
        p.sized("body", self.body, Limits.current().body, "body")
        p.moment("at", self.at)
        p.boolean("public", self.public)
        if self.author_kind not in AUTHOR_KINDS:
            p.add(
                "author_kind",
                f"unknown author kind {self.author_kind!r} (expected one of: agent, bot, customer, system)",
            )
        p.boolean("automatic", self.automatic)
        p.text("id", self.id, empty=False)
        items: object = self.attachments
        if not isinstance(items, tuple):
            p.add("attachments", f"expected a list of Attachment, got {items!r}")
        else:
            for i, a in enumerate(items):
                if not isinstance(a, Attachment):
                    p.add(f"attachments[{i}]", f"expected an Attachment, got {a!r}")
        p.raise_if_any()


# Event, like Ticket, keeps its fields in a __dict__: engines make one per change, and a
# dict-backed object is built with one C-level dict assignment instead of 8 setattr calls.
@attrs.frozen(kw_only=True, slots=False)
class Event:
    """One change to a ticket: what happened, who did it, when, and the details.

    ``kind`` is a dotted name (``ticket.created``, ``status.changed``,
    ``comment.added``, ``sla.breached``, ...); ``data`` holds JSON-safe details;
    ``version`` is the ticket's version after the change.

    Examples:
        >>> from datetime import datetime, timezone
        >>> e = Event(
        ...     ticket_id="T1",
        ...     kind="status.changed",
        ...     actor="agent:li",
        ...     at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc),
        ...     data={"from": "new", "to": "open"},
        ...     version=2,
        ... )
        >>> e.data["to"]
        'open'
    """

    ticket_id: str
    kind: str
    actor: str
    at: datetime
    data: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_to_frozen_json, hash=False)
    version: int = 0
    tenant: str = "default"
    id: str = attrs.field(default=attrs.Factory(lambda self: new_id(self.at), takes_self=True))

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("ticket_id", self.ticket_id, empty=False)
        p.text("kind", self.kind, empty=False)
        p.text("actor", self.actor, empty=False)
        p.moment("at", self.at)
        p.json_mapping("data", self.data)
        p.integer("version", self.version, minimum=0)
        p.name("tenant", self.tenant)
        p.text("id", self.id, empty=False)
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class Link:
    """A typed link from one ticket to another (related, duplicate, merged_into, ...).

    Examples:
        >>> Link(kind="related", ticket_id="01JABC").kind
        'related'
    """

    kind: str
    ticket_id: str

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("kind", self.kind, empty=False)
        p.text("ticket_id", self.ticket_id, empty=False)
        p.raise_if_any()


@attrs.frozen(kw_only=True)
class ClockSegment:
    """One stretch of time an SLA clock ran, within its current cycle.

    ``elapsed_before`` is the business time the clock had counted when the stretch
    began at ``start``; ``end`` is when it paused or stopped (None while it runs).
    Kept so that the instant any threshold was reached can be found again without
    replaying events, whatever target applies later.

    Examples:
        >>> from datetime import datetime, timezone
        >>> ClockSegment(start=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)).end is None
        True
    """

    start: datetime
    end: datetime | None = None
    elapsed_before: timedelta = timedelta(0)

    def __attrs_post_init__(self) -> None:
        me: Any = self
        p = _Problems()
        p.moment("start", me.start)
        p.moment("end", me.end, optional=True)
        p.duration("elapsed_before", me.elapsed_before)
        p.raise_if_any()


# Dict-backed like Ticket: the SLA engine makes a new clock state per event, and a
# dict-backed object is copied with one C-level dict copy.
@attrs.frozen(kw_only=True, slots=False)
class ClockState:
    """Where one SLA clock stands, kept on the ticket so status needs no replay.

    ``elapsed`` is the business time counted up to ``running_since`` (or up to the
    pause or stop); while running, the live elapsed time is ``elapsed`` plus the
    business time since ``running_since``. ``cycle`` counts restarts of clocks that
    restart (next response, periodic update). ``segments`` are the stretches the
    clock ran in this cycle. ``fired`` holds the keys of the warnings, breaches and
    escalations already emitted for this cycle; ``carried`` those of earlier cycles
    that fell due but were not emitted yet, as ``("<cycle>/<key>", instant)``.
    ``target``, ``due_at`` and ``breached_at`` cache the deadline for the target
    the clock was last updated with (the SLA engine recomputes them when the
    target changes), and ``next_at`` the clock's earliest checkpoint not yet
    emitted.

    Examples:
        >>> from datetime import datetime, timezone
        >>> ClockState(metric="resolution", running_since=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)).state
        'running'
    """

    metric: str
    elapsed: timedelta = timedelta(0)
    running_since: datetime | None = None
    paused_since: datetime | None = None
    stopped_at: datetime | None = None
    started_at: datetime | None = None
    cycle: int = 0
    breached_at: datetime | None = None
    fired: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    segments: tuple[ClockSegment, ...] = attrs.field(default=(), converter=_to_tuple)
    carried: tuple[tuple[str, datetime], ...] = attrs.field(default=(), converter=_to_tuple)
    target: timedelta | None = None
    due_at: datetime | None = None
    next_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        me: Any = self
        p = _Problems()
        p.text("metric", me.metric, empty=False)
        p.duration("elapsed", me.elapsed)
        p.moment("running_since", me.running_since, optional=True)
        p.moment("paused_since", me.paused_since, optional=True)
        p.moment("stopped_at", me.stopped_at, optional=True)
        p.moment("started_at", me.started_at, optional=True)
        p.moment("breached_at", me.breached_at, optional=True)
        p.moment("due_at", me.due_at, optional=True)
        p.moment("next_at", me.next_at, optional=True)
        p.integer("cycle", me.cycle, minimum=0)
        p.str_set("fired", me.fired)
        p.instances("segments", me.segments, ClockSegment)
        if not isinstance(me.carried, tuple):
            p.add("carried", f"expected a list of [key, instant] pairs, got {me.carried!r}")
        else:
            for i, item in enumerate(me.carried):
                if (
                    not isinstance(item, tuple)
                    or len(item) != 2
                    or not isinstance(item[0], str)
                    or aware_problem(item[1]) is not None
                ):
                    p.add(f"carried[{i}]", f"expected a [key, aware datetime] pair, got {item!r}")
        if me.target is not None and not isinstance(me.target, timedelta):
            p.add("target", f"expected a timedelta or None, got {me.target!r}")
        p.raise_if_any()

    @property
    def state(self) -> str:
        """``running``, ``paused``, ``stopped`` or ``idle`` (not started)."""
        if self.stopped_at is not None:
            return "stopped"
        if self.running_since is not None:
            return "running"
        if self.paused_since is not None:
            return "paused"
        return "idle"


@attrs.frozen(kw_only=True)
class SLAState:
    """The SLA clocks of one ticket: which policy applies and where each clock stands.

    ``next_due_at`` is the earliest instant at which a warning, breach or
    escalation not yet emitted falls due; stores index it so a worker wakes
    exactly then.

    Examples:
        >>> SLAState(policy="standard").clocks
        ()
    """

    policy: str | None = None
    clocks: tuple[ClockState, ...] = attrs.field(default=(), converter=_to_tuple)
    next_due_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.opt_text("policy", self.policy)
        p.instances("clocks", self.clocks, ClockState)
        p.moment("next_due_at", self.next_due_at, optional=True)
        p.raise_if_any()

    def clock(self, metric: str) -> ClockState | None:
        """The clock for ``metric``, or None when the policy has no such clock."""
        for c in self.clocks:
            if c.metric == metric:
                return c
        return None


@attrs.frozen(kw_only=True)
class TimerState:
    """One timed rule's timer on one ticket: the rule, when its condition became true, when it fired.

    The due instant is not stored: the desk computes it from ``since`` with the rule's
    delay and calendar each time it is needed, so a changed calendar (a new holiday)
    moves it. ``fired_at`` is set once the rule's actions ran; a fired timer never fires
    again until its condition stops holding and a new one starts.

    Examples:
        >>> from datetime import datetime, timezone
        >>> TimerState(rule="auto-close", since=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)).fired_at is None
        True
    """

    rule: str
    since: datetime
    fired_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        p.text("rule", self.rule, empty=False)
        p.moment("since", self.since)
        p.moment("fired_at", self.fired_at, optional=True)
        p.raise_if_any()


def _default_updated_at(self: Ticket) -> datetime:
    return self.created_at


def _default_id(self: Ticket) -> str:
    return new_id(self.created_at) if isinstance(self.created_at, datetime) else ""


# Ticket keeps its fields in a __dict__, not slots: engines copy a ticket on every change
# (replace_trusted), and copying a 27-entry dict is one C call (~0.3 µs) where copying 27
# slots costs 27 setattr calls (~1.9 µs) -- the largest cost of a workflow transition.
@attrs.frozen(kw_only=True, slots=False)
class Ticket:
    """A request from a customer, as a value: every change makes a new ``Ticket``.

    The ``id`` is generated from ``created_at`` when not given, so ids sort by
    creation time. ``type`` picks the workflow; ``status`` is a state of that
    workflow and ``status_kind`` its kind (new, open, pending, resolved, closed),
    kept beside it so stores, SLA clocks and reports need no workflow to read it.
    ``fields`` holds custom, JSON-safe data (read-only); ``timers`` the timed rules'
    timers running on the ticket ([`TimerState`][ticketkit.TimerState]). ``version``
    counts saved changes; stores refuse a write based on an older version.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(
        ...     subject="Wrong size delivered",
        ...     channel="wechat",
        ...     created_at=datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc),
        ...     priority="high",
        ...     tags=["size"],
        ...     fields={"order": "A-1009"},
        ... )
        >>> t.priority, t.status, sorted(t.tags), t.fields["order"]
        (<Priority.HIGH: 'high'>, 'new', ['size'], 'A-1009')
        >>> import attrs
        >>> attrs.evolve(t, status="open").status
        'open'
    """

    subject: str
    created_at: datetime
    id: str = attrs.field(default=attrs.Factory(_default_id, takes_self=True))
    tenant: str = "default"
    type: str = "support"
    description: str = ""
    channel: str = "api"
    customer: Customer | None = None
    category: str | None = None
    priority: Priority = attrs.field(default=Priority.NORMAL, converter=_to_priority)
    status: str = "new"
    status_kind: str = "new"
    team: str | None = None
    assignee: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    fields: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_to_frozen_json, hash=False)
    updated_at: datetime = attrs.field(default=attrs.Factory(_default_updated_at, takes_self=True))
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    parent_id: str | None = None
    links: tuple[Link, ...] = attrs.field(default=(), converter=_to_tuple)
    external_ref: str | None = None
    satisfaction: int | None = None
    satisfaction_remark: str | None = None
    timers: tuple[TimerState, ...] = attrs.field(default=(), converter=_to_tuple)
    sla: SLAState | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        p = _Problems()
        limits = Limits.current()
        p.text("subject", self.subject, empty=False)
        p.sized("subject", self.subject, limits.subject, "subject")
        p.moment("created_at", self.created_at)
        p.name("id", self.id)
        p.name("tenant", self.tenant)
        p.name("type", self.type)
        p.text("description", self.description)
        p.sized("description", self.description, limits.body, "body")
        p.name("channel", self.channel)
        p.instance("customer", self.customer, Customer, optional=True)
        p.opt_text("category", self.category)
        if self.priority not in _PRIORITY_RANK:
            p.add(
                "priority", f"unknown priority {self.priority!r} (expected one of: low, normal, high, urgent)"
            )
        p.text("status", self.status, empty=False)
        if self.status_kind not in STATUS_KINDS:
            p.add(
                "status_kind",
                f"unknown status kind {self.status_kind!r} "
                "(expected one of: new, open, pending, resolved, closed)",
            )
        p.name("team", self.team, optional=True)
        p.name("assignee", self.assignee, optional=True)
        p.str_set("tags", self.tags)
        if isinstance(self.tags, frozenset):
            if len(self.tags) > limits.tags:
                p.add("tags", f"{len(self.tags)} tags (at most {limits.tags}, Limits.tags)")
            for tag in sorted(t for t in self.tags if isinstance(t, str)):
                p.name("tags", tag)
        p.json_mapping("fields", self.fields)
        if isinstance(self.fields, Mapping) and _count_values(self.fields) > limits.fields:
            p.add("fields", f"more than {limits.fields} values (Limits.fields)")
        if self.updated_at is not self.created_at:
            p.moment("updated_at", self.updated_at)
        p.moment("first_response_at", self.first_response_at, optional=True)
        p.moment("resolved_at", self.resolved_at, optional=True)
        p.moment("closed_at", self.closed_at, optional=True)
        p.opt_text("parent_id", self.parent_id)
        p.instances("links", self.links, Link)
        p.opt_text("external_ref", self.external_ref)
        p.score("satisfaction", self.satisfaction)
        p.opt_text("satisfaction_remark", self.satisfaction_remark)
        p.instances("timers", self.timers, TimerState)
        p.instance("sla", self.sla, SLAState, optional=True)
        p.integer("version", self.version, minimum=0)
        p.raise_if_any()

    @property
    def next_due_at(self) -> datetime | None:
        """When this ticket's next checkpoint (SLA, retention, timed rule) falls due, or None."""
        return self.sla.next_due_at if self.sla is not None else None
