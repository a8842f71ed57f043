"""Rule-based routing: which team and which agent get a ticket, and a record of why.

A [`Router`][ticketkit.Router] holds ordered [`Rule`][ticketkit.Rule]s. Each rule has a
[`Condition`][ticketkit.Condition] (``when``), an optional [`Assign`][ticketkit.Assign] (a team, or a field
naming the team, and a strategy for picking an agent inside it) and optional changes (``set``: priority,
category, tags, SLA policy). [`Router.route`][ticketkit.Router.route] returns a
[`Decision`][ticketkit.Decision] whose ``record`` says which rules were tried and the value that failed each,
which agents were considered and why each was excluded, the tie-break and any fallback.

Rules that pin a field to constants (``category == "complaint"``) are indexed, so a
ticket is tested only against the rules that can match it.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, runtime_checkable

import attrs

from ticketkit.conditions._conditions import (
    OBJECT,
    SET,
    CalendarLike,
    Condition,
    ConditionFailure,
    Predicate,
    _full_getter,
    _ticket_getter,
    field_type,
)
from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._models import AGENT_STATUSES, Agent, Priority, Team, Ticket, replace_trusted
from ticketkit.model._time import require_aware

if TYPE_CHECKING:
    from ticketkit.routing._report import Simulation

__all__ = [
    "STRATEGIES",
    "Assign",
    "Candidate",
    "Decision",
    "DecisionRecord",
    "InMemoryCursor",
    "RoundRobinCursor",
    "Router",
    "RouterFinding",
    "Rule",
    "RuleChanges",
    "RuleTrial",
]

STRATEGIES: Final = ("round_robin", "least_loaded", "skills", "sticky", "queue")
"""How an agent is picked inside the chosen team (``queue``: nobody; the team's queue)."""


# --------------------------------------------------------------------------- round-robin cursor


@runtime_checkable
class RoundRobinCursor(Protocol):
    """Where round-robin stands for each team; implement it on a shared store for many processes.

    ``next_agent(key, eligible)`` gets the eligible agent ids sorted ascending and returns
    the one to assign, remembering it: the first id after the last one given for ``key``,
    wrapping around. Implementations must be safe for their own concurrency model (a
    database row lock, a Redis script); the router calls it once per assignment.

    Examples:
        >>> class FirstAlways:
        ...     def next_agent(self, key, eligible):
        ...         return eligible[0]
        >>> isinstance(FirstAlways(), RoundRobinCursor), isinstance(InMemoryCursor(), RoundRobinCursor)
        (True, True)
    """

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        """Pick one of ``eligible`` (sorted ascending) for ``key`` and remember it."""


class InMemoryCursor:
    """A round-robin cursor in a dict: for one process (thread-safe), and for simulations.

    Examples:
        >>> c = InMemoryCursor()
        >>> " ".join(c.next_agent("t", ["a", "b", "c"]) for _ in range(4))
        'a b c a'
        >>> c.next_agent("t", ["a", "c"])  # b is away: after 'a' comes 'c'
        'c'
    """

    __slots__ = ("_last", "_lock")

    def __init__(self, last: Mapping[str, str] | None = None) -> None:
        self._last: dict[str, str] = dict(last or {})
        self._lock = threading.Lock()

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        """The first eligible id after the last one chosen for ``key`` (wrapping)."""
        with self._lock:  # read and move in one step, so two threads never get the same turn
            last = self._last.get(key)
            if last is None:
                chosen = eligible[0]
            else:
                i = bisect.bisect_right(eligible, last)
                chosen = eligible[i] if i < len(eligible) else eligible[0]
            self._last[key] = chosen
            return chosen

    def state(self) -> dict[str, str]:
        """The last agent chosen per key (a copy)."""
        with self._lock:
            return dict(self._last)

    def copy(self) -> InMemoryCursor:
        """An independent cursor at the same position."""
        return InMemoryCursor(self.state())


# --------------------------------------------------------------------------- rule parts

_P = TypeVar("_P")


def _problems_from(exc: ValidationError, prefix: str) -> list[ErrorDetail]:
    return exc.prefixed(prefix).errors if prefix else list(exc.errors)


def _str_set(value: Any, path: str, out: list[ErrorDetail]) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        out.append(ErrorDetail(path, f"expected a list of strings, got {value!r}"))
        return frozenset()
    items = list(value)
    for i, v in enumerate(items):
        if not isinstance(v, str):
            out.append(ErrorDetail(f"{path}[{i}]", f"expected a string, got {v!r}"))
    return frozenset(v for v in items if isinstance(v, str))


def _build_part(cls: type[_P], data: Mapping[str, Any], path: str, known: set[str], set_field: str) -> _P:
    """Build a rule part from its data form: unknown keys and a bad ``set_field`` all reported."""
    out = [
        ErrorDetail(
            join_path(path, str(k)), f"unknown key {k!r} (expected one of: {', '.join(sorted(known))})"
        )
        for k in data
        if k not in known
    ]
    args = {k: v for k, v in data.items() if k in known}
    if set_field in args:
        args[set_field] = _str_set(args[set_field], join_path(path, set_field), out)
    if out:
        raise ValidationError(out)
    try:
        return cls(**args)
    except ValidationError as exc:
        raise ValidationError(_problems_from(exc, path)) from None


def _to_str_set(value: Any) -> Any:
    if isinstance(value, frozenset | str) or not isinstance(value, Iterable):
        return value
    return frozenset(value)


@attrs.frozen(kw_only=True)
class Assign:
    """Where a matching rule sends a ticket: a team (or the field naming it) and how to pick an agent.

    Attributes:
        team: the team id.
        team_ref: a field path whose value is the team id (``customer.store``), so one
            rule sends each shop's tickets to that shop's team.
        agent: a specific agent, when available; else the strategy picks.
        strategy: ``round_robin``, ``least_loaded`` (open tickets against capacity),
            ``skills`` (required skills held, most specialised first), ``sticky`` (the
            agent who last served the customer, else least loaded) or ``queue`` (nobody:
            the team's queue).
        skills: skills an agent must hold to take the ticket.
        overflow: a team to try when nobody in ``team`` can take it; without one the
            ticket waits unassigned in ``team``'s queue.

    Examples:
        >>> Assign(team="senior", strategy="least_loaded").to_dict()
        {'team': 'senior', 'strategy': 'least_loaded'}
    """

    team: str | None = None
    team_ref: str | None = None
    agent: str | None = None
    strategy: str = "round_robin"
    skills: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    overflow: str | None = None

    def __attrs_post_init__(self) -> None:
        out: list[ErrorDetail] = []
        for name in ("team", "team_ref", "agent", "overflow"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, str) or not v.strip()):
                out.append(ErrorDetail(name, f"expected a non-empty string or None, got {v!r}"))
        if self.team is None and self.team_ref is None:
            out.append(ErrorDetail("team", "give a 'team' or a 'team_ref' (a field naming the team)"))
        if self.team is not None and self.team_ref is not None:
            out.append(ErrorDetail("team_ref", "give either 'team' or 'team_ref', not both"))
        if isinstance(self.team_ref, str) and self.team_ref.strip():
            ftype = field_type(self.team_ref)
            if ftype is None:
                out.append(ErrorDetail("team_ref", f"unknown field {self.team_ref!r}"))
            elif ftype in (OBJECT, SET):
                out.append(ErrorDetail("team_ref", f"field {self.team_ref!r} cannot name a team"))
        if self.strategy not in STRATEGIES:
            out.append(
                ErrorDetail(
                    "strategy",
                    f"unknown strategy {self.strategy!r} (expected one of: {', '.join(STRATEGIES)})",
                )
            )
        if not isinstance(self.skills, frozenset) or not all(isinstance(s, str) for s in self.skills):
            out.append(ErrorDetail("skills", f"expected a list of strings, got {self.skills!r}"))
        if out:
            raise ValidationError(out)

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Assign:
        """An assignment from its data form.

        Examples:
            >>> Assign.from_dict(
            ...     {"team_ref": "customer.store", "strategy": "skills", "skills": ["returns"]}
            ... ).skills
            frozenset({'returns'})
        """
        if isinstance(data, Assign):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected a mapping for an assignment, got {data!r}")
        known = {"team", "team_ref", "agent", "strategy", "skills", "overflow"}
        return _build_part(cls, data, path, known, "skills")

    def to_dict(self) -> dict[str, Any]:
        """The data form (defaults left out)."""
        out: dict[str, Any] = {}
        for name in ("team", "team_ref", "agent"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["strategy"] = self.strategy
        if self.skills:
            out["skills"] = sorted(self.skills)
        if self.overflow is not None:
            out["overflow"] = self.overflow
        return out


def _to_priority_or_none(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Priority.parse(value)
        except ValidationError:
            return value
    return value


@attrs.frozen(kw_only=True)
class RuleChanges:
    """What a matching rule sets on the ticket: priority, category, tags added, SLA policy.

    Examples:
        >>> RuleChanges(priority="high", tags=["vip"]).to_dict()
        {'priority': 'high', 'tags': ['vip']}
    """

    priority: Priority | None = attrs.field(default=None, converter=_to_priority_or_none)
    category: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_to_str_set)
    sla_policy: str | None = None

    def __attrs_post_init__(self) -> None:
        out: list[ErrorDetail] = []
        priority: object = self.priority
        if priority is not None and not isinstance(priority, Priority):
            out.append(
                ErrorDetail(
                    "priority",
                    f"unknown priority {self.priority!r} (expected one of: low, normal, high, urgent)",
                )
            )
        for name in ("category", "sla_policy"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                out.append(ErrorDetail(name, f"expected a string or None, got {v!r}"))
        if not isinstance(self.tags, frozenset) or not all(isinstance(s, str) for s in self.tags):
            out.append(ErrorDetail("tags", f"expected a list of strings, got {self.tags!r}"))
        if out:
            raise ValidationError(out)

    def __bool__(self) -> bool:
        return bool(self.priority or self.category or self.tags or self.sla_policy)

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> RuleChanges:
        """RuleChanges from their data form.

        Examples:
            >>> RuleChanges.from_dict({"category": "returns"}).category
            'returns'
        """
        if isinstance(data, RuleChanges):
            return data
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected a mapping of changes, got {data!r}")
        known = {"priority", "category", "tags", "sla_policy"}
        return _build_part(cls, data, path, known, "tags")

    def to_dict(self) -> dict[str, Any]:
        """The data form (only what is set)."""
        out: dict[str, Any] = {}
        if self.priority is not None:
            out["priority"] = self.priority.value
        if self.category is not None:
            out["category"] = self.category
        if self.tags:
            out["tags"] = sorted(self.tags)
        if self.sla_policy is not None:
            out["sla_policy"] = self.sla_policy
        return out


def _to_condition(value: Any) -> Any:
    if value is None:
        return Condition.always()
    if isinstance(value, Condition):
        return value
    return Condition.from_dict(value, path="when")


def _to_assign(value: Any) -> Any:
    if value is None or isinstance(value, Assign):
        return value
    return Assign.from_dict(value, path="assign")


def _to_changes(value: Any) -> Any:
    if isinstance(value, RuleChanges):
        return value
    return RuleChanges.from_dict(value, path="set")


@attrs.frozen(kw_only=True)
class Rule:
    """One routing rule: when its condition holds, assign and/or set fields.

    Rules are tried in order; the first match with ``stop=True`` (the default) ends
    routing. A matching rule with ``stop=False`` applies its changes (later rules see
    them) and its assignment, and routing goes on; a later match overrides the
    assignment.

    Examples:
        >>> from ticketkit import F
        >>> r = Rule(
        ...     name="vip complaints",
        ...     when=(F.category == "complaint") & (F.customer.tier == "vip"),
        ...     assign=Assign(team="senior", strategy="least_loaded"),
        ... )
        >>> Rule.from_dict(r.to_dict()) == r
        True
    """

    name: str
    when: Condition = attrs.field(factory=Condition.always, converter=_to_condition)
    assign: Assign | None = attrs.field(default=None, converter=_to_assign)
    set: RuleChanges = attrs.field(factory=RuleChanges, converter=_to_changes)
    stop: bool = True

    def __attrs_post_init__(self) -> None:
        out: list[ErrorDetail] = []
        if not isinstance(self.name, str) or not self.name.strip():
            out.append(ErrorDetail("name", f"expected a non-empty string, got {self.name!r}"))
        stop: object = self.stop
        if not isinstance(stop, bool):
            out.append(ErrorDetail("stop", f"expected true or false, got {self.stop!r}"))
        if self.assign is None and not self.set:
            out.append(ErrorDetail("assign", "a rule must assign or set something"))
        if out:
            raise ValidationError(out)

    @classmethod
    def from_dict(cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = "") -> Rule:
        """A rule from its data form; every problem is reported with its path.

        Examples:
            >>> Rule.from_dict(
            ...     {
            ...         "name": "lab",
            ...         "when": {"field": "category", "op": "eq", "value": "exam-result"},
            ...         "assign": {"team": "laboratory"},
            ...     }
            ... ).assign.team
            'laboratory'
        """
        if isinstance(data, Rule):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected a mapping for a rule, got {data!r}")
        known = ("name", "when", "assign", "set", "stop")
        out = [
            ErrorDetail(join_path(path, str(k)), f"unknown key {k!r} (expected one of: {', '.join(known)})")
            for k in data
            if k not in known
        ]
        if "name" not in data:
            out.append(ErrorDetail(join_path(path, "name"), "missing"))
        when: Condition | None = None
        assign: Assign | None = None
        changes: RuleChanges | None = None
        try:
            when = (
                Condition.always()
                if data.get("when") is None
                else Condition.from_dict(data["when"], calendars=calendars, path=join_path(path, "when"))
            )
        except ValidationError as exc:
            out.extend(exc.errors)
        try:
            assign = (
                None
                if data.get("assign") is None
                else Assign.from_dict(data["assign"], path=join_path(path, "assign"))
            )
        except ValidationError as exc:
            out.extend(exc.errors)
        try:
            changes = RuleChanges.from_dict(data.get("set"), path=join_path(path, "set"))
        except ValidationError as exc:
            out.extend(exc.errors)
        if out:
            raise ValidationError(out)
        try:
            return cls(name=data["name"], when=when, assign=assign, set=changes, stop=data.get("stop", True))
        except ValidationError as exc:
            raise ValidationError(_problems_from(exc, path)) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form."""
        out: dict[str, Any] = {"name": self.name, "when": self.when.to_dict()}
        if self.assign is not None:
            out["assign"] = self.assign.to_dict()
        if self.set:
            out["set"] = self.set.to_dict()
        if not self.stop:
            out["stop"] = False
        return out


# --------------------------------------------------------------------------- decisions


@attrs.frozen(kw_only=True)
class RuleTrial:
    """One rule as routing met it: whether it matched, else the first condition that failed.

    ``skipped`` is True when the index ruled it out without testing it (its pinned field
    has another value); ``failure`` is then still the failing test, for the record.

    Examples:
        >>> print(RuleTrial(index=0, name="lab", matched=True))
        rules[0] 'lab': matched
    """

    index: int
    name: str
    matched: bool
    failure: ConditionFailure | None = None
    skipped: bool = False

    def __str__(self) -> str:
        if self.matched:
            return f"rules[{self.index}] {self.name!r}: matched"
        return f"rules[{self.index}] {self.name!r}: no: {self.failure}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data."""
        return {
            "index": self.index,
            "name": self.name,
            "matched": self.matched,
            "failure": None if self.failure is None else self.failure.to_dict(),
            "skipped": self.skipped,
        }


@attrs.frozen(kw_only=True)
class Candidate:
    """An agent considered for a ticket, and why they were excluded (None when eligible).

    Examples:
        >>> print(Candidate(agent="li", team="sh-01", load=3, capacity=3, excluded="at capacity (3/3)"))
        li (3/3) excluded: at capacity (3/3)
    """

    agent: str
    team: str
    load: int
    capacity: int
    excluded: str | None = None

    def __str__(self) -> str:
        state = "eligible" if self.excluded is None else f"excluded: {self.excluded}"
        return f"{self.agent} ({self.load}/{self.capacity}) {state}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data."""
        return {
            "agent": self.agent,
            "team": self.team,
            "load": self.load,
            "capacity": self.capacity,
            "excluded": self.excluded,
        }


@attrs.frozen(kw_only=True)
class DecisionRecord:
    """Everything routing did for one ticket, in order, for people to read.

    Printed, it reads as a report; in a notebook it renders as HTML.

    Examples:
        >>> from datetime import datetime, timezone
        >>> r = Router(rules=[Rule(name="all", assign=Assign(team="t", strategy="queue"))])
        >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        >>> rec = r.explain(t, at=t.created_at)
        >>> rec.team, rec.team_source, [str(x) for x in rec.rules]
        ('t', "rule 'all'", ["rules[0] 'all': matched"])
    """

    ticket_id: str
    at: datetime
    rules: tuple[RuleTrial, ...]
    team: str | None
    team_source: str
    agent: str | None
    strategy: str | None
    candidates: tuple[Candidate, ...]
    tie_break: str
    fallback: str | None
    changes: Mapping[str, Any]

    def lines(self) -> list[str]:
        """The record as lines of text."""
        out = [f"ticket {self.ticket_id} at {self.at.isoformat()}"]
        out.append("rules:")
        out.extend(f"  {t}" for t in self.rules)
        if not self.rules:
            out.append("  (none)")
        out.append(f"team: {self.team} ({self.team_source})")
        if self.strategy is not None:
            out.append(f"strategy: {self.strategy}")
        if self.candidates:
            out.append("candidates:")
            out.extend(f"  {c}" for c in self.candidates)
        out.append(f"agent: {self.agent}" + (f" ({self.tie_break})" if self.tie_break else ""))
        if self.fallback:
            out.append(f"fallback: {self.fallback}")
        if self.changes:
            shown = ", ".join(f"{k}={_show(v)}" for k, v in self.changes.items())
            out.append(f"changes: {shown}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        from ticketkit.routing._report import record_html  # noqa: PLC0415 - HTML only in notebooks

        return record_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (to store beside the ticket's ``ticket.assigned`` event)."""
        return {
            "ticket_id": self.ticket_id,
            "at": self.at.isoformat(),
            "rules": [r.to_dict() for r in self.rules],
            "team": self.team,
            "team_source": self.team_source,
            "agent": self.agent,
            "strategy": self.strategy,
            "candidates": [c.to_dict() for c in self.candidates],
            "tie_break": self.tie_break,
            "fallback": self.fallback,
            "changes": {k: _plain(v) for k, v in self.changes.items()},
        }


def _plain(v: Any) -> Any:
    if isinstance(v, Priority):
        return v.value
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def _show(v: Any) -> str:
    return repr(_plain(v))


@attrs.frozen(kw_only=True)
class Decision:
    """Where a ticket goes: team, agent, the rule that decided, the field changes, and the record.

    ``changes`` maps field names to new values (``team``, ``assignee``, ``priority``,
    ``category``, ``tags``, ``sla_policy``), only those that differ from the ticket.
    ``record`` (built on first access) says why. ``apply(ticket)`` makes the routed ticket.

    Examples:
        >>> from datetime import datetime, timezone
        >>> router = Router(rules=[Rule(name="all", assign=Assign(team="t", strategy="queue"))])
        >>> t = Ticket(subject="s", created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
        >>> d = router.route(t, at=t.created_at)
        >>> d.team, d.agent, d.rule, dict(d.changes)
        ('t', None, 'all', {'team': 't'})
    """

    team: str | None
    agent: str | None
    rule: str | None
    changes: Mapping[str, Any]
    matched: tuple[str, ...] = ()
    fallback: str | None = None
    tie_break: str = ""
    _trace: Any = attrs.field(default=None, eq=False, repr=False)
    _cache: DecisionRecord | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def record(self) -> DecisionRecord:
        """The full decision record (computed once, on first access)."""
        if self._cache is None:
            object.__setattr__(self, "_cache", _build_record(self))
        assert self._cache is not None
        return self._cache

    def apply(self, ticket: Ticket) -> Ticket:
        """The ticket with the decision's changes made (SLA policy is left to the caller).

        Examples:
            >>> from datetime import datetime, timezone
            >>> r = Router(
            ...     rules=[
            ...         Rule(name="x", assign=Assign(team="t", strategy="queue"), set={"priority": "high"})
            ...     ]
            ... )
            >>> t = Ticket(subject="s", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
            >>> routed = r.route(t, at=t.created_at).apply(t)
            >>> routed.team, routed.priority.value
            ('t', 'high')
        """
        fields = {k: v for k, v in self.changes.items() if k != "sla_policy"}
        return attrs.evolve(ticket, **fields) if fields else ticket

    def __str__(self) -> str:
        return str(self.record)

    def _repr_html_(self) -> str:
        return self.record._repr_html_()


# --------------------------------------------------------------------------- the index

_IndexLeaf = tuple[tuple[int, Predicate], ...]


class _IndexNode:
    """Rules bucketed by the value of one pinned field; buckets may be indexed further."""

    __slots__ = ("children", "default", "field", "getter")

    def __init__(
        self,
        field: str,
        getter: Callable[[Ticket], Any],
        children: dict[Any, _IndexNode | _IndexLeaf],
        default: _IndexNode | _IndexLeaf,
    ) -> None:
        self.field = field
        self.getter = getter
        self.children = children
        self.default = default


_MIN_BUCKET: Final = 6
_MAX_DEPTH: Final = 3


def _specialize(cond: Condition, field: str, value: Any) -> Condition:
    """``cond`` for tickets whose ``field`` is known to be ``value``: the tests that must hold are dropped."""
    if cond.kind == "test":
        if cond.field == field and cond.ref is None and cond.op in ("eq", "in"):
            values = cond.value if cond.op == "in" else (cond.value,)
            if value in values:
                return Condition.always()
        return cond
    if cond.kind == "all":
        kids = [_specialize(k, field, value) for k in cond.children]
        kept = [k for k in kids if not (k.kind == "all" and not k.children)]
        if len(kept) == 1:
            return kept[0]
        if len(kept) == len(cond.children) and all(a is b for a, b in zip(kept, cond.children, strict=True)):
            return cond
        return Condition(kind="all", children=kept)
    return cond


_Item = tuple[int, Condition, Mapping[str, frozenset[Any]]]


def _leaf(items: list[_Item]) -> _IndexLeaf:
    return tuple((i, c.predicate) for i, c, _ in items)


def _build_index(items: list[_Item], depth: int) -> _IndexNode | _IndexLeaf:
    """Bucket rules by the field most of them pin; within a bucket the pinning tests are dropped."""
    if len(items) < _MIN_BUCKET or depth >= _MAX_DEPTH:
        return _leaf(items)
    counts: dict[str, int] = {}
    for _, _, pins in items:
        for f in pins:
            counts[f] = counts.get(f, 0) + 1
    if not counts:
        return _leaf(items)
    field = max(sorted(counts), key=lambda f: counts[f])
    getter = _ticket_getter(field)
    if counts[field] < 2 or getter is None:
        return _leaf(items)
    values: set[Any] = set()
    for _, _, pins in items:
        if field in pins:
            values |= pins[field]
    unpinned = [it for it in items if field not in it[2]]
    children: dict[Any, _IndexNode | _IndexLeaf] = {}
    for v in values:
        bucket: list[_Item] = []
        for i, cond, pins in items:
            if field not in pins:
                bucket.append((i, cond, pins))
            elif v in pins[field]:
                rest = {f: vals for f, vals in pins.items() if f != field}
                bucket.append((i, _specialize(cond, field, v), rest))
        children[v] = _build_index(bucket, depth + 1)
    default = _build_index(unpinned, depth + 1)
    return _IndexNode(field, getter, children, default)


def _lookup(node: _IndexNode | _IndexLeaf, ticket: Ticket) -> _IndexLeaf:
    while isinstance(node, _IndexNode):
        n = node
        try:
            node = n.children.get(n.getter(ticket), n.default)
        except TypeError:  # an unhashable custom value: only unpinned rules can match
            node = n.default
    return node


# --------------------------------------------------------------------------- router


@attrs.frozen(kw_only=True)
class RouterFinding:
    """One problem `Router.check` found: ``error`` (routing is wrong) or ``warning``.

    Examples:
        >>> print(RouterFinding(level="warning", path="fallback", message="no fallback team"))
        warning: fallback: no fallback team
    """

    level: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}" if self.path else f"{self.level}: {self.message}"


def _to_tuple(value: Any) -> Any:
    if isinstance(value, tuple | str | Mapping) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _to_frozenset(value: Any) -> Any:
    return _to_str_set(value)


def _items(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data.get(key)
    return value if isinstance(value, list | tuple) else ()


_RosterEntry = tuple[str, int, frozenset[str], "str | None", "str | None"]
"""An agent as routing reads it: id, capacity, skills, shift, and the status that rules them out (or None)."""

_NO_LOAD: Final[Mapping[str, int]] = MappingProxyType({})


def _cross_problems(
    rules: Sequence[tuple[int, Rule]],
    agents: Sequence[tuple[int, Agent]],
    teams: Sequence[Team],
    fallback: str | None,
    calendars: Mapping[str, Any],
) -> list[ErrorDetail]:
    """Problems between rules, agents, teams and calendars (each may be fine on its own)."""
    out: list[ErrorDetail] = []
    seen: dict[str, int] = {}
    for i, r in rules:
        if r.name in seen:
            out.append(
                ErrorDetail(
                    f"rules[{i}].name", f"duplicate rule name {r.name!r} (also rules[{seen[r.name]}])"
                )
            )
        seen.setdefault(r.name, i)
    agent_ids: dict[str, int] = {}
    for i, a in agents:
        if a.id in agent_ids:
            out.append(ErrorDetail(f"agents[{i}].id", f"duplicate agent {a.id!r}"))
        agent_ids.setdefault(a.id, i)
        if a.shift is not None and a.shift not in calendars:
            known = ", ".join(sorted(calendars)) or "none given"
            out.append(
                ErrorDetail(
                    f"agents[{i}].shift",
                    f"unknown calendar {a.shift!r} (known: {known}); "
                    "pass calendars={name: BusinessCalendar}",
                )
            )
    team_ids = {t.id for t in teams}
    if len(team_ids) != len(teams):
        out.append(ErrorDetail("teams", "team ids must be unique"))
    known_teams = ", ".join(sorted(team_ids))

    def check_team(path: str, team: str | None) -> None:
        if team is not None and team_ids and team not in team_ids:
            out.append(ErrorDetail(path, f"unknown team {team!r} (known: {known_teams})"))

    check_team("fallback", fallback)
    for i, r in rules:
        if r.assign is None:
            continue
        check_team(f"rules[{i}].assign.team", r.assign.team)
        check_team(f"rules[{i}].assign.overflow", r.assign.overflow)
        if r.assign.agent is not None and r.assign.agent not in agent_ids:
            out.append(ErrorDetail(f"rules[{i}].assign.agent", f"unknown agent {r.assign.agent!r}"))
    return out


@attrs.frozen(kw_only=True)
class Router:
    """Ordered rules, the agents and teams they route to, and a fallback team.

    Attributes:
        rules: tried in order; see [`Rule`][ticketkit.Rule].
        agents: who can take tickets (their ``teams``, ``skills``, ``capacity``,
            ``status``, ``shift``).
        teams: the teams; when given, rules naming other teams fail at load.
        fallback: the team for tickets no rule assigns (never dropped: without a
            fallback they keep their current team).
        calendars: business calendars by name, for agents' ``shift`` and conditions.
        available_statuses: agent statuses that can take tickets (default ``online``).
        cursor: where round-robin stands (default: in memory); share one across
            processes by implementing [`RoundRobinCursor`][ticketkit.RoundRobinCursor] on a shared store.

    Raises:
        ValidationError: every problem with its path (``rules[2].assign.team``).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Agent, Customer, F, Team
        >>> router = Router(
        ...     rules=[
        ...         Rule(
        ...             name="vip complaints",
        ...             when=(F.category == "complaint") & (F.customer.tier == "vip"),
        ...             assign=Assign(team="senior", strategy="least_loaded"),
        ...         )
        ...     ],
        ...     agents=[Agent(id="li", teams={"senior"}), Agent(id="wang", teams={"senior"})],
        ...     teams=[Team(id="senior"), Team(id="triage")],
        ...     fallback="triage",
        ... )
        >>> t = Ticket(
        ...     subject="Broken zip",
        ...     category="complaint",
        ...     customer=Customer(id="c1", tier="vip"),
        ...     created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc),
        ... )
        >>> d = router.route(t, at=t.created_at, load={"li": 4, "wang": 1})
        >>> d.team, d.agent, d.rule
        ('senior', 'wang', 'vip complaints')
    """

    rules: tuple[Rule, ...] = attrs.field(converter=_to_tuple)
    agents: tuple[Agent, ...] = attrs.field(default=(), converter=_to_tuple)
    teams: tuple[Team, ...] = attrs.field(default=(), converter=_to_tuple)
    fallback: str | None = None
    calendars: Mapping[str, CalendarLike] = attrs.field(factory=dict, eq=False, hash=False)
    available_statuses: frozenset[str] = attrs.field(default=frozenset({"online"}), converter=_to_frozenset)
    cursor: RoundRobinCursor = attrs.field(factory=InMemoryCursor, eq=False, hash=False, repr=False)
    _index: Any = attrs.field(init=False, eq=False, hash=False, repr=False)
    _fns: tuple[Predicate, ...] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _rosters: dict[str, tuple[_RosterEntry, ...]] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _agent_by_id: dict[str, Agent] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _team_ids: frozenset[str] = attrs.field(init=False, eq=False, hash=False, repr=False)
    _team_ref_getters: dict[int, Callable[[Ticket, Any, Any], Any]] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )
    _simple: bool = attrs.field(init=False, eq=False, hash=False, repr=False)
    _sets: tuple[RuleChanges | None, ...] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        out = self._problems()
        if out:
            raise ValidationError(out)
        setter = object.__setattr__
        fns = tuple(r.when.predicate for r in self.rules)
        setter(self, "_fns", fns)
        items: list[_Item] = [(i, r.when, r.when.pinned()) for i, r in enumerate(self.rules)]
        setter(self, "_index", _build_index(items, 0))
        rosters: dict[str, list[Agent]] = {}
        for a in self.agents:
            for t in a.teams:
                rosters.setdefault(t, []).append(a)
        statuses = self.available_statuses
        setter(
            self,
            "_rosters",
            {
                t: tuple(
                    (a.id, a.capacity, a.skills, a.shift, None if a.status in statuses else a.status)
                    for a in sorted(v, key=lambda a: a.id)
                )
                for t, v in rosters.items()
            },
        )
        setter(self, "_agent_by_id", {a.id: a for a in self.agents})
        setter(self, "_team_ids", frozenset(t.id for t in self.teams))
        setter(
            self,
            "_team_ref_getters",
            {
                i: _full_getter(r.assign.team_ref)
                for i, r in enumerate(self.rules)
                if r.assign is not None and r.assign.team_ref is not None
            },
        )
        setter(self, "_simple", all(r.stop for r in self.rules))
        setter(self, "_sets", tuple(r.set if r.set else None for r in self.rules))

    def _problems(self) -> list[ErrorDetail]:
        out: list[ErrorDetail] = []
        given: object = self.rules
        if not isinstance(given, tuple):
            return [ErrorDetail("rules", f"expected a list of rules, got {given!r}")]
        groups: tuple[tuple[str, object, type], ...] = (
            ("rules", self.rules, Rule),
            ("agents", self.agents, Agent),
            ("teams", self.teams, Team),
        )
        for name, items, cls in groups:
            if not isinstance(items, tuple):
                out.append(ErrorDetail(name, f"expected a list, got {items!r}"))
                continue
            out.extend(
                ErrorDetail(f"{name}[{i}]", f"expected a {cls.__name__}, got {x!r}")
                for i, x in enumerate(items)
                if not isinstance(x, cls)
            )
        statuses: object = self.available_statuses
        if not isinstance(statuses, frozenset) or not statuses or not statuses <= AGENT_STATUSES:
            out.append(
                ErrorDetail(
                    "available_statuses",
                    f"expected a non-empty list of agent statuses (online, away, offline), got {statuses!r}",
                )
            )
        if out:
            return out
        return _cross_problems(
            list(enumerate(self.rules)),
            list(enumerate(self.agents)),
            self.teams,
            self.fallback,
            self.calendars,
        )

    # ------------------------------------------------------------------ data form

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        calendars: Mapping[str, CalendarLike] | None = None,
        cursor: RoundRobinCursor | None = None,
    ) -> Router:
        """A router from its data form: ``{"rules": [...], "agents": [...], "teams": [...]}``.

        Calendars are passed by name (they are configured on their own).

        Raises:
            ValidationError: every problem in every rule, agent and team, with its path.

        Examples:
            >>> r = Router.from_dict(
            ...     {
            ...         "rules": [
            ...             {
            ...                 "name": "lab",
            ...                 "when": {"field": "category", "op": "eq", "value": "exam-result"},
            ...                 "assign": {"team": "lab", "strategy": "queue"},
            ...             }
            ...         ],
            ...         "teams": [{"id": "lab"}, {"id": "triage"}],
            ...         "fallback": "triage",
            ...     }
            ... )
            >>> Router.from_dict(r.to_dict()) == r
            True
        """
        from ticketkit.model._serialization import from_dict as structure  # noqa: PLC0415 - avoid an import cycle

        if not isinstance(data, Mapping):
            raise ValidationError.one("", f"expected a mapping for a router, got {data!r}")
        known = ("rules", "agents", "teams", "fallback", "available_statuses")
        out = [
            ErrorDetail(str(k), f"unknown key {k!r} (expected one of: {', '.join(known)})")
            for k in data
            if k not in known
        ]
        if "rules" not in data:
            out.append(ErrorDetail("rules", "missing"))
        rules: list[tuple[int, Rule]] = []
        out.extend(
            ErrorDetail(name, f"expected a list, got {data[name]!r}")
            for name in ("rules", "agents", "teams")
            if name in data and not isinstance(data[name], list | tuple)
        )
        for i, item in enumerate(_items(data, "rules")):
            try:
                rules.append((i, Rule.from_dict(item, calendars=calendars, path=f"rules[{i}]")))
            except ValidationError as exc:
                out.extend(exc.errors)
        agents: list[tuple[int, Agent]] = []
        for i, item in enumerate(_items(data, "agents")):
            try:
                agents.append((i, structure(Agent, item, path=f"agents[{i}]")))
            except ValidationError as exc:
                out.extend(exc.errors)
        teams: list[Team] = []
        for i, item in enumerate(_items(data, "teams")):
            try:
                teams.append(structure(Team, item, path=f"teams[{i}]"))
            except ValidationError as exc:
                out.extend(exc.errors)
        statuses = data.get("available_statuses", ["online"])
        if out:
            if len(teams) == len(_items(data, "teams")) and len(agents) == len(_items(data, "agents")):
                out.extend(_cross_problems(rules, agents, teams, data.get("fallback"), calendars or {}))
            raise ValidationError(out)
        return cls(
            rules=[r for _, r in rules],
            agents=[a for _, a in agents],
            teams=teams,
            fallback=data.get("fallback"),
            calendars=dict(calendars or {}),
            available_statuses=statuses,
            cursor=cursor if cursor is not None else InMemoryCursor(),
        )

    def to_dict(self) -> dict[str, Any]:
        """The data form, JSON-safe (calendars are referred to by name)."""
        from ticketkit.model._serialization import to_dict as unstructure  # noqa: PLC0415 - avoid an import cycle

        out: dict[str, Any] = {
            "rules": [r.to_dict() for r in self.rules],
            "agents": [unstructure(a) for a in self.agents],
            "teams": [unstructure(t) for t in self.teams],
        }
        if self.fallback is not None:
            out["fallback"] = self.fallback
        if self.available_statuses != frozenset({"online"}):
            out["available_statuses"] = sorted(self.available_statuses)
        return out

    # ------------------------------------------------------------------ matching

    def match(
        self, ticket: Ticket, *, at: datetime | None = None, context: Mapping[str, Any] | None = None
    ) -> Rule | None:
        """The first rule whose condition holds (indexed; no agent selection, no changes).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import F
            >>> r = Router(
            ...     rules=[Rule(name="lab", when=F.category == "exam-result", assign=Assign(team="lab"))]
            ... )
            >>> t = Ticket(
            ...     subject="s", category="exam-result", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc)
            ... )
            >>> r.match(t).name
            'lab'
        """
        node = self._index
        while node.__class__ is _IndexNode:
            try:
                node = node.children.get(node.getter(ticket), node.default)
            except TypeError:  # an unhashable custom value: only unpinned rules can match
                node = node.default
        for i, fn in node:
            if fn(ticket, at, context):
                rule: Rule = self.rules[i]
                return rule
        return None

    def _first(self, ticket: Ticket, at: datetime, ctx: Mapping[str, Any] | None, start: int) -> int:
        node = self._index
        while node.__class__ is _IndexNode:
            try:
                node = node.children.get(node.getter(ticket), node.default)
            except TypeError:  # an unhashable custom value: only unpinned rules can match
                node = node.default
        if start:
            for i, fn in node:
                if i >= start and fn(ticket, at, ctx):
                    return int(i)
            return -1
        for i, fn in node:
            if fn(ticket, at, ctx):
                return int(i)
        return -1

    # ------------------------------------------------------------------ routing

    def route(
        self,
        ticket: Ticket,
        *,
        at: datetime,
        load: Mapping[str, int] | None = None,
        context: Mapping[str, Any] | None = None,
        last_agent: str | None = None,
    ) -> Decision:
        """Decide the team and agent for ``ticket`` at ``at``.

        Args:
            ticket: the ticket to route.
            at: when (agents' shifts and time conditions are read at this instant).
            load: open tickets per agent id, for capacity and ``least_loaded``.
            context: values conditions read as ``context.<key>``.
            last_agent: the agent who last served this customer, for ``sticky``.

        Raises:
            ValidationError: ``at`` is not a timezone-aware datetime.

        Examples:
            >>> from datetime import datetime, timezone
            >>> r = Router(rules=[], teams=[Team(id="triage")], fallback="triage")
            >>> t = Ticket(subject="?", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> d = r.route(t, at=t.created_at)
            >>> d.team, d.fallback
            ('triage', 'no rule assigned it: fallback team')
        """
        return self._route(ticket, at, load, context, last_agent, self.cursor)

    def _route(  # noqa: PLR0917 - the hot path: positional arguments are cheaper
        self,
        ticket: Ticket,
        at: datetime,
        load: Mapping[str, int] | None,
        context: Mapping[str, Any] | None,
        last_agent: str | None,
        cursor: RoundRobinCursor,
    ) -> Decision:
        if at.__class__ is not datetime or at.tzinfo is None:
            require_aware(at, "at")
        work = ticket
        matched: list[int] = []
        assign_at = -1
        if self._simple:
            i = self._first(work, at, context, 0)
            if i >= 0:
                matched.append(i)
                if self.rules[i].assign is not None:
                    assign_at = i
        else:
            start = 0
            while True:
                i = self._first(work, at, context, start)
                if i < 0:
                    break
                matched.append(i)
                rule = self.rules[i]
                if rule.assign is not None:
                    assign_at = i
                if rule.stop:
                    break
                if rule.set:
                    work = _apply_set(work, rule.set)
                start = i + 1
        changes: dict[str, Any] = {}
        sets = self._sets
        for i in matched:
            s = sets[i]
            if s is not None:
                if s.priority is not None:
                    changes["priority"] = s.priority
                if s.category is not None:
                    changes["category"] = s.category
                if s.tags:
                    changes["tags"] = changes.get("tags", ticket.tags) | s.tags
                if s.sla_policy is not None:
                    changes["sla_policy"] = s.sla_policy
        if changes:
            for k in ("priority", "category", "tags"):
                if k in changes and changes[k] == getattr(ticket, k):
                    del changes[k]
        team, agent, fallback, tie, cands = self._assign(
            work, assign_at=assign_at, at=at, ctx=context, load=load, last_agent=last_agent, cursor=cursor
        )
        if team != ticket.team:
            changes["team"] = team
        if agent != ticket.assignee:
            changes["assignee"] = agent
        rules = self.rules
        names = (rules[matched[0]].name,) if len(matched) == 1 else tuple(rules[i].name for i in matched)
        return Decision(
            team=team,
            agent=agent,
            rule=self.rules[assign_at].name if assign_at >= 0 else (names[-1] if names else None),
            changes=changes,
            matched=names,
            fallback=fallback,
            tie_break=tie,
            trace=(self, ticket, at, context, tuple(matched), cands, assign_at),
        )

    def _assign(
        self,
        ticket: Ticket,
        *,
        assign_at: int,
        at: datetime,
        ctx: Mapping[str, Any] | None,
        load: Mapping[str, int] | None,
        last_agent: str | None,
        cursor: RoundRobinCursor,
    ) -> tuple[str | None, str | None, str | None, str, tuple[tuple[str, str, int, int, str | None], ...]]:
        """(team, agent, fallback reason, tie-break, candidates as tuples)."""
        if assign_at < 0:
            if self.fallback is not None:
                return self.fallback, None, "no rule assigned it: fallback team", "", ()
            return (
                ticket.team,
                ticket.assignee,
                "no rule assigned it and there is no fallback team: left as it was",
                "",
                (),
            )
        assign = self.rules[assign_at].assign
        assert assign is not None
        team = assign.team
        if team is None:
            value = self._team_ref_getters[assign_at](ticket, at, ctx)
            if not isinstance(value, str) or not value:
                return self._no_team(ticket, f"{assign.team_ref} is {value!r}, which names no team")
            team = value
        if self._team_ids and team not in self._team_ids:
            return self._no_team(ticket, f"{assign.team_ref} names unknown team {team!r}")
        if assign.strategy == "queue" and assign.agent is None:
            return team, None, None, "strategy queue: the team's queue", ()
        cands: list[tuple[str, str, int, int, str | None]] = []
        agent, tie = self._pick(
            team, assign=assign, at=at, load=load, last_agent=last_agent, cands=cands, cursor=cursor
        )
        if agent is not None:
            return team, agent, None, tie, tuple(cands)
        if assign.overflow is not None:
            agent, tie = self._pick(
                assign.overflow,
                assign=assign,
                at=at,
                load=load,
                last_agent=last_agent,
                cands=cands,
                cursor=cursor,
            )
            reason = f"nobody in {team!r} can take it: overflow team {assign.overflow!r}"
            if agent is None:
                reason += ", queued unassigned there too"
            return assign.overflow, agent, reason, tie, tuple(cands)
        return team, None, f"nobody in {team!r} can take it: queued to the team unassigned", "", tuple(cands)

    def _no_team(
        self, ticket: Ticket, why: str
    ) -> tuple[str | None, str | None, str | None, str, tuple[tuple[str, str, int, int, str | None], ...]]:
        if self.fallback is not None:
            return self.fallback, None, f"{why}: fallback team", "", ()
        return ticket.team, ticket.assignee, f"{why} and there is no fallback team: left as it was", "", ()

    def _pick(
        self,
        team: str,
        *,
        assign: Assign,
        at: datetime,
        load: Mapping[str, int] | None,
        last_agent: str | None,
        cands: list[tuple[str, str, int, int, str | None]],
        cursor: RoundRobinCursor,
    ) -> tuple[str | None, str]:
        required = assign.skills
        shifts: dict[str, bool] = {}
        # (id, share of capacity in use, skills) of each agent who can take the ticket now
        eligible: list[tuple[str, float, frozenset[str]]] = []
        loads = load or _NO_LOAD
        for aid, capacity, skills, shift, status in self._rosters.get(team, ()):
            n = loads.get(aid, 0)
            why = status
            if why is None:
                if shift is not None:
                    open_now = shifts.get(shift)
                    if open_now is None:
                        open_now = shifts[shift] = bool(self.calendars[shift].is_open(at))
                    if not open_now:
                        why = _OFF_SHIFT
                if why is None:
                    if n >= capacity:
                        why = _AT_CAPACITY
                    elif required and not required <= skills:
                        why = _MISSING_SKILL
                    else:
                        eligible.append((aid, n / capacity, skills))
            cands.append((aid, team, n, capacity, why))
        if not eligible:
            return None, ""
        if assign.agent is not None:
            for e in eligible:
                if e[0] == assign.agent:
                    return e[0], "named by the rule"
        strategy = assign.strategy
        note = ""
        if strategy == "sticky":
            if last_agent is not None:
                for e in eligible:
                    if e[0] == last_agent:
                        return e[0], "sticky: last served this customer"
            strategy = "least_loaded"
            note = (
                "sticky: last agent not available; " if last_agent is not None else "sticky: no last agent; "
            )
        if strategy in ("round_robin", "queue"):
            return cursor.next_agent(team, [e[0] for e in eligible]), note + "round-robin"
        if strategy == "skills":  # the most specialised agents first, then the least loaded
            extra = min(len(e[2] - required) for e in eligible)
            eligible = [e for e in eligible if len(e[2] - required) == extra]
            note += f"best skill match ({extra} extra skill{'s' if extra != 1 else ''}); "
        best = 2.0
        tied: list[str] = []
        for aid, share, _ in eligible:
            if share < best:
                best = share
                tied = [aid]
            elif share == best:
                tied.append(aid)
        if len(tied) == 1:
            return tied[0], note + f"least loaded ({best:.0%} of capacity)"
        chosen = cursor.next_agent(team, tied)
        return (
            chosen,
            note + f"least loaded ({best:.0%}); tie between {', '.join(tied)} broken by round-robin",
        )

    # ------------------------------------------------------------------ explaining

    def explain(
        self,
        ticket: Ticket,
        *,
        at: datetime,
        load: Mapping[str, int] | None = None,
        context: Mapping[str, Any] | None = None,
        last_agent: str | None = None,
    ) -> DecisionRecord:
        """The decision record for ``ticket``: every rule tried and why, candidates, tie-break, fallback.

        It does not move the round-robin cursor.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import F
            >>> r = Router(
            ...     rules=[Rule(name="lab", when=F.category == "exam-result", assign=Assign(team="lab"))],
            ...     teams=[Team(id="lab"), Team(id="desk")],
            ...     fallback="desk",
            ... )
            >>> t = Ticket(
            ...     subject="s", category="billing", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc)
            ... )
            >>> print(r.explain(t, at=t.created_at))  # doctest: +NORMALIZE_WHITESPACE
            ticket ... at 2025-01-01T00:00:00+00:00
            rules:
              rules[0] 'lab': no: category eq 'exam-result': got 'billing'
            team: desk (fallback)
            agent: None
            fallback: no rule assigned it: fallback team
            changes: team='desk'
        """
        return self._route(ticket, at, load, context, last_agent, _PeekCursor(self.cursor)).record

    def check(self) -> list[RouterFinding]:
        """Static checks: shadowed and unsatisfiable rules, teams nobody staffs, no fallback.

        Examples:
            >>> from ticketkit import F
            >>> r = Router(
            ...     rules=[
            ...         Rule(name="complaints", when=F.category == "complaint", assign=Assign(team="a")),
            ...         Rule(
            ...             name="vip complaints",
            ...             when=(F.category == "complaint") & (F.customer.tier == "vip"),
            ...             assign=Assign(team="b"),
            ...         ),
            ...     ]
            ... )
            >>> for f in r.check():
            ...     print(f)
            warning: rules[1]: 'vip complaints' is never reached: every ticket it matches is taken by ...
            warning: rules[0].assign.team: team 'a' has no agents: tickets wait in its queue
            warning: rules[1].assign.team: team 'b' has no agents: tickets wait in its queue
            warning: fallback: no fallback team: tickets no rule assigns keep their current team
        """
        from ticketkit.routing._report import check_router  # noqa: PLC0415 - the static checks live apart

        return check_router(self)

    def simulate(
        self,
        tickets: Iterable[Ticket],
        *,
        at: datetime | None = None,
        load: Mapping[str, int] | None = None,
    ) -> Simulation:
        """Route many tickets without touching the live cursor; counts per rule, team and agent.

        Each ticket is routed at ``at`` (default: its own ``created_at``); load starts at
        ``load`` and grows by one for each assignment, so ``least_loaded`` and capacity
        behave as they would have. Returns a [`Simulation`][ticketkit.Simulation].

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Agent
            >>> r = Router(
            ...     rules=[Rule(name="all", assign=Assign(team="t", strategy="least_loaded"))],
            ...     agents=[Agent(id="a", teams={"t"}), Agent(id="b", teams={"t"})],
            ... )
            >>> ts = [
            ...     Ticket(subject=f"s{i}", created_at=datetime(2025, 1, 1, i, tzinfo=timezone.utc))
            ...     for i in range(4)
            ... ]
            >>> sim = r.simulate(ts)
            >>> dict(sim.per_agent)
            {'a': 2, 'b': 2}
        """
        from ticketkit.routing._report import simulate  # noqa: PLC0415 - reports live apart

        return simulate(self, tickets, at=at, load=load)


class _PeekCursor:
    """Round-robin that reads a cursor without moving it (for explain)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: RoundRobinCursor) -> None:
        self._inner = inner

    def next_agent(self, key: str, eligible: Sequence[str]) -> str:
        inner = self._inner
        if isinstance(inner, InMemoryCursor):
            return inner.copy().next_agent(key, eligible)
        return eligible[0]


def _apply_set(ticket: Ticket, s: RuleChanges) -> Ticket:
    changes: dict[str, Any] = {}
    if s.priority is not None:
        changes["priority"] = s.priority
    if s.category is not None:
        changes["category"] = s.category
    if s.tags:
        changes["tags"] = ticket.tags | s.tags
    return replace_trusted(ticket, **changes) if changes else ticket


_OFF_SHIFT: Final = "\x00off shift"
_AT_CAPACITY: Final = "\x00at capacity"
_MISSING_SKILL: Final = "\x00missing skill"


def _reason(
    router: Router, agent: str, load: int, capacity: int, why: str | None, *, skills: frozenset[str]
) -> str | None:
    """The readable reason for an exclusion code recorded on the hot path."""
    if why == _OFF_SHIFT:
        return f"off shift ({router._agent_by_id[agent].shift})"
    if why == _AT_CAPACITY:
        return f"at capacity ({load}/{capacity})"
    if why == _MISSING_SKILL:
        return "missing skill: " + ", ".join(sorted(skills - router._agent_by_id[agent].skills))
    return why


def _build_record(decision: Decision) -> DecisionRecord:
    router, ticket, at, ctx, matched, cands, assign_at = decision._trace
    trials: list[RuleTrial] = []
    work = ticket
    last = matched[-1] if matched else len(router.rules) - 1
    matched_set = set(matched)
    for i, rule in enumerate(router.rules[: last + 1]):
        if i in matched_set:
            trials.append(RuleTrial(index=i, name=rule.name, matched=True))
            if rule.set:
                work = _apply_set(work, rule.set)
            continue
        failure = rule.when.explain(work, at=at, context=ctx)
        pins = rule.when.pinned()
        skipped = any(_full_getter(f)(work, at, ctx) not in vals for f, vals in pins.items())
        trials.append(RuleTrial(index=i, name=rule.name, matched=False, failure=failure, skipped=skipped))
    if assign_at >= 0:
        rule = router.rules[assign_at]
        assert rule.assign is not None
        if rule.assign.team is not None:
            source = f"rule {rule.name!r}"
        else:
            value = _full_getter(rule.assign.team_ref or "")(work, at, ctx)
            source = f"rule {rule.name!r}: {rule.assign.team_ref} = {value!r}"
        strategy: str | None = rule.assign.strategy
    else:
        source = "fallback" if router.fallback is not None else "unchanged"
        strategy = None
    assign = router.rules[assign_at].assign if assign_at >= 0 else None
    skills = assign.skills if assign is not None else frozenset()
    if decision.fallback and assign_at >= 0 and decision.team != (rule.assign.team if rule.assign else None):
        source += " -> fallback"
    return DecisionRecord(
        ticket_id=ticket.id,
        at=at,
        rules=tuple(trials),
        team=decision.team,
        team_source=source,
        agent=decision.agent,
        strategy=strategy,
        candidates=tuple(
            Candidate(
                agent=a, team=t, load=n, capacity=c, excluded=_reason(router, a, n, c, w, skills=skills)
            )
            for a, t, n, c, w in cands
        ),
        tie_break=decision.tie_break,
        fallback=decision.fallback,
        changes=dict(decision.changes),
    )
