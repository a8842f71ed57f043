"""Static checks of a rule set: shadowed and unsatisfiable rules, teams nobody staffs, no fallback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ticketkit.conditions._conditions import Condition
from ticketkit.model._models import Agent, Team
from ticketkit.routing._rules import Rule


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


def implies(a: Condition, b: Condition) -> bool:
    """True when every ticket that satisfies ``a`` satisfies ``b`` (sound, not complete).

    Examples:
        >>> from ticketkit import F
        >>> implies((F.category == "a") & (F.team == "t"), F.category.in_(["a", "b"]))
        True
        >>> implies(F.category == "a", F.team == "t")
        False
    """
    if b.kind == "all":
        return all(implies(a, x) for x in b.children)
    if a.kind == "any":
        return all(implies(x, b) for x in a.children)
    if a.kind == "all" and any(implies(x, b) for x in a.children):
        return True
    if b.kind == "any" and any(implies(a, x) for x in b.children):
        return True
    if a.kind != "test" or b.kind != "test":
        return _same(a, b)
    if _same(a, b):
        return True
    if a.field != b.field or a.ref is not None or b.ref is not None:
        return False
    av = _values(a)
    bv = _values(b)
    if av is None or bv is None:
        return False
    if b.op in ("eq", "in"):
        return a.op in ("eq", "in") and av <= bv
    if b.op in ("ne", "not_in"):
        return a.op in ("eq", "in") and not (av & bv) and (None, None) not in av
    return False


def _typed(value: Any) -> Any:
    """A value keyed as conditions compare it: ``True`` is not ``1``, ``False`` is not ``0``."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, list | tuple):
        return (list, tuple(_typed(v) for v in value))
    if isinstance(value, Mapping):
        return (dict, tuple(sorted(((k, _typed(v)) for k, v in value.items()), key=repr)))
    return (None, value)


def _same(a: Condition, b: Condition) -> bool:
    """Structural equality that, unlike ``==``, tells booleans from numbers."""
    return a == b and _typed(a.to_dict()) == _typed(b.to_dict())


def _values(c: Condition) -> frozenset[Any] | None:
    if c.op in ("eq", "ne"):
        return frozenset({_typed(c.value)})
    if c.op in ("in", "not_in"):
        try:
            return frozenset(_typed(v) for v in c.value)
        except TypeError:  # pragma: no cover - values are scalars
            return None
    return None


def _never(c: Condition) -> bool:
    if c.kind == "any" and not c.children:
        return True
    return any(not vals for vals in c.pinned().values())


def check_rules(
    rules: Sequence[Rule], *, agents: Sequence[Agent], teams: Sequence[Team], fallback: str | None
) -> list[RouterFinding]:
    """Static checks of a router's rules, agents, teams and fallback (see `Router.check`)."""
    out: list[RouterFinding] = []
    for j, rj in enumerate(rules):
        if _never(rj.when):
            out.append(
                RouterFinding(level="warning", path=f"rules[{j}]", message=f"{rj.name!r} can never match")
            )
            continue
        for i in range(j - 1, -1, -1):
            ri = rules[i]
            if not ri.stop:
                if ri.set:
                    break  # an earlier rule changes the ticket: later rules may see other values
                continue
            if implies(rj.when, ri.when):
                out.append(
                    RouterFinding(
                        level="warning",
                        path=f"rules[{j}]",
                        message=f"{rj.name!r} is never reached: every ticket it matches is taken by "
                        f"rules[{i}] {ri.name!r}",
                    )
                )
                break
    staffed = {team for a in agents for team in a.teams}
    agent_by_id = {a.id: a for a in agents}
    for i, r in enumerate(rules):
        a = r.assign
        if a is None:
            continue
        for name, team in (("team", a.team), ("overflow", a.overflow)):
            if team is None:
                continue
            if team not in staffed and a.strategy != "queue":
                out.append(
                    RouterFinding(
                        level="warning",
                        path=f"rules[{i}].assign.{name}",
                        message=f"team {team!r} has no agents: tickets wait in its queue",
                    )
                )
        if a.agent is not None and a.team is not None and a.team not in agent_by_id[a.agent].teams:
            out.append(
                RouterFinding(
                    level="error",
                    path=f"rules[{i}].assign.agent",
                    message=f"agent {a.agent!r} is not in team {a.team!r}: the rule can never assign them",
                )
            )
    team_ids = {t.id for t in teams}
    if team_ids:
        for k, agent in enumerate(agents):
            unknown = sorted(agent.teams - team_ids)
            if unknown:
                out.append(
                    RouterFinding(
                        level="warning",
                        path=f"agents[{k}].teams",
                        message=f"unknown teams: {', '.join(unknown)}",
                    )
                )
    if fallback is None:
        out.append(
            RouterFinding(
                level="warning",
                path="fallback",
                message="no fallback team: tickets no rule assigns keep their current team",
            )
        )
    return out
