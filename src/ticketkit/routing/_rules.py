"""Routing rules and their parts: `Rule`, `Assign` (where a rule sends a ticket) and
`RuleChanges` (what it sets), each with its data form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from ticketkit.conditions._conditions import OBJECT, SET, Condition, field_type
from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._models import Priority, Ticket, level_problems, replace_trusted

STRATEGIES: Final = ("round_robin", "least_loaded", "skills", "sticky", "queue")
"""How an agent is picked inside the chosen team (``queue``: nobody; the team's queue)."""

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


def _to_levels(value: Any) -> Any:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


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
        min_levels: the lowest level of a skill an agent must have (``{"zh": 3}``);
            see ``Agent.skill_levels`` (a skill held without a level counts as 1).
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
    min_levels: Mapping[str, int] = attrs.field(factory=dict, converter=_to_levels, hash=False)

    def __attrs_post_init__(self) -> None:
        out: list[ErrorDetail] = []
        out.extend(level_problems("min_levels", self.min_levels))
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
        known = {"team", "team_ref", "agent", "strategy", "skills", "overflow", "min_levels"}
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
        if self.min_levels:
            out["min_levels"] = dict(sorted(self.min_levels.items()))
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


def _apply_set(ticket: Ticket, s: RuleChanges) -> Ticket:
    changes: dict[str, Any] = {}
    if s.priority is not None:
        changes["priority"] = s.priority
    if s.category is not None:
        changes["category"] = s.category
    if s.tags:
        changes["tags"] = ticket.tags | s.tags
    return replace_trusted(ticket, **changes) if changes else ticket
