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

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import attrs

from ticketkit.conditions._conditions import CalendarLike, Predicate, _full_getter
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._limits import guarded_loader
from ticketkit.model._models import AGENT_STATUSES, Agent, Team, Ticket
from ticketkit.model._serialization import from_dict as structure
from ticketkit.model._serialization import to_dict as unstructure
from ticketkit.model._time import require_aware
from ticketkit.routing._check import RouterFinding, check_rules
from ticketkit.routing._cursor import UNREADABLE, InMemoryCursor, RoundRobinCursor, _PeekCursor
from ticketkit.routing._decision import Candidate, Decision, DecisionRecord, RuleTrial
from ticketkit.routing._index import _build_index, _IndexNode, _Item
from ticketkit.routing._rules import STRATEGIES, Assign, Rule, RuleChanges, _apply_set, _to_str_set
from ticketkit.routing._simulation import Simulation, simulate_routes

# Names defined in the modules beside this one are listed too: the package root, the
# desk and the demo import them from here, with the router.
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


def _to_tuple(value: Any) -> Any:
    if isinstance(value, tuple | str | Mapping) or not isinstance(value, Iterable):
        return value
    return tuple(value)


def _to_frozenset(value: Any) -> Any:
    return _to_str_set(value)


def _to_weights(value: Any) -> Any:
    """``capacity_weights`` checked: ``{"channel"|"type": {name: positive int}}``, read-only."""
    if not isinstance(value, Mapping):
        raise ValidationError.one("capacity_weights", f"expected a mapping, got {value!r}")
    out: list[ErrorDetail] = []
    kept: dict[str, Mapping[str, int]] = {}
    for kind, table in value.items():
        path = f"capacity_weights.{kind}"
        if kind not in ("channel", "type"):
            out.append(ErrorDetail(path, f"unknown key {kind!r} (expected one of: channel, type)"))
            continue
        if not isinstance(table, Mapping):
            out.append(ErrorDetail(path, f"expected a mapping of {kind} -> weight, got {table!r}"))
            continue
        for name, w in table.items():
            if not isinstance(name, str) or not name or w.__class__ is not int or not 1 <= w <= 1000:
                out.append(
                    ErrorDetail(f"{path}.{name}", f"expected a whole weight from 1 to 1000, got {w!r}")
                )
        kept[kind] = MappingProxyType(dict(table))
    if out:
        raise ValidationError(out)
    return MappingProxyType(kept)


def _items(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data.get(key)
    return value if isinstance(value, list | tuple) else ()


_RosterEntry = tuple[str, int, frozenset[str], "str | None", "str | None", "Mapping[str, int]"]
"""An agent as routing reads it: id, capacity, skills, shift, status ruling them out (or None), levels."""

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


def _parts_from_dict(
    data: Any, calendars: Mapping[str, CalendarLike] | None
) -> tuple[list[Rule], list[Agent], list[Team]]:
    """The rules, agents and teams of a router's data form; every problem raised at once."""
    if not isinstance(data, Mapping):
        raise ValidationError.one("", f"expected a mapping for a router, got {data!r}")
    known = ("rules", "agents", "teams", "fallback", "available_statuses", "capacity_weights")
    out = [
        ErrorDetail(str(k), f"unknown key {k!r} (expected one of: {', '.join(known)})")
        for k in data
        if k not in known
    ]
    if "rules" not in data:
        out.append(ErrorDetail("rules", "missing"))
    out.extend(
        ErrorDetail(name, f"expected a list, got {data[name]!r}")
        for name in ("rules", "agents", "teams")
        if name in data and not isinstance(data[name], list | tuple)
    )
    rules: list[tuple[int, Rule]] = []
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
    if out:
        if len(teams) == len(_items(data, "teams")) and len(agents) == len(_items(data, "agents")):
            out.extend(_cross_problems(rules, agents, teams, data.get("fallback"), calendars or {}))
        raise ValidationError(out)
    return [r for _, r in rules], [a for _, a in agents], teams


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
        capacity_weights: how much of an agent's capacity a ticket takes, by ``channel``
            and by ticket ``type`` (``{"channel": {"phone": 3}}``: a call counts three
            e-mails); a ticket not listed counts 1. ``load`` is then weighted too.
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
    capacity_weights: Mapping[str, Mapping[str, int]] = attrs.field(
        factory=dict, converter=_to_weights, hash=False
    )
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
    _queue_assigns: dict[tuple[str, str | None], Assign] = attrs.field(
        init=False, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        out = _problems(self)
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
                    (
                        a.id,
                        a.capacity,
                        a.skills | frozenset(a.skill_levels),
                        a.shift,
                        None if a.status in statuses else a.status,
                        a.skill_levels,
                    )
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
        setter(self, "_queue_assigns", {})

    # ------------------------------------------------------------------ data form

    @classmethod
    @guarded_loader(1)
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
        rules, agents, teams = _parts_from_dict(data, calendars)
        return cls(
            rules=rules,
            agents=agents,
            teams=teams,
            fallback=data.get("fallback"),
            calendars=dict(calendars or {}),
            available_statuses=data.get("available_statuses", ["online"]),
            capacity_weights=data.get("capacity_weights", {}),
            cursor=cursor if cursor is not None else InMemoryCursor(),
        )

    def to_dict(self) -> dict[str, Any]:
        """The data form, JSON-safe (calendars are referred to by name)."""
        out: dict[str, Any] = {
            "rules": [r.to_dict() for r in self.rules],
            "agents": [unstructure(a) for a in self.agents],
            "teams": [unstructure(t) for t in self.teams],
        }
        if self.fallback is not None:
            out["fallback"] = self.fallback
        if self.available_statuses != frozenset({"online"}):
            out["available_statuses"] = sorted(self.available_statuses)
        if self.capacity_weights:
            out["capacity_weights"] = {k: dict(v) for k, v in self.capacity_weights.items()}
        return out

    def weight(self, ticket: Ticket) -> int:
        """How much of an agent's capacity ``ticket`` takes (``capacity_weights``; 1 by default).

        The ticket's ``type`` weight when one is given, else its ``channel`` weight, else 1.

        Examples:
            >>> from datetime import datetime, timezone
            >>> r = Router(rules=[], capacity_weights={"channel": {"phone": 3}, "type": {"incident": 5}})
            >>> at = datetime(2025, 1, 1, tzinfo=timezone.utc)
            >>> [r.weight(Ticket(subject="s", created_at=at, channel=c)) for c in ("phone", "email")]
            [3, 1]
            >>> r.weight(Ticket(subject="s", created_at=at, channel="phone", type="incident"))
            5
        """
        w = self.capacity_weights
        found = w.get("type", _NO_LOAD).get(ticket.type) or w.get("channel", _NO_LOAD).get(ticket.channel)
        return int(found) if found else 1

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
        presence: Mapping[str, str] | None = None,
    ) -> Decision:
        """Decide the team and agent for ``ticket`` at ``at``.

        Args:
            ticket: the ticket to route.
            at: when (agents' shifts and time conditions are read at this instant).
            load: open tickets per agent id, for capacity and ``least_loaded``.
            context: values conditions read as ``context.<key>``.
            last_agent: the agent who last served this customer, for ``sticky``.
            presence: agents' statuses now (online, away, offline) where they differ
                from the configured ``Agent.status`` (the desk passes what
                `Helpdesk.set_presence` stored).

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
        return self._route(ticket, at, load, context, last_agent, self.cursor, presence)

    def _route(  # noqa: PLR0917 - the hot path: positional arguments are cheaper
        self,
        ticket: Ticket,
        at: datetime,
        load: Mapping[str, int] | None,
        context: Mapping[str, Any] | None,
        last_agent: str | None,
        cursor: RoundRobinCursor,
        presence: Mapping[str, str] | None = None,
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
            work,
            assign_at=assign_at,
            at=at,
            ctx=context,
            load=load,
            last_agent=last_agent,
            cursor=cursor,
            presence=presence,
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
            trace=(_build_record, self, ticket, at, context, tuple(matched), cands, assign_at),
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
        presence: Mapping[str, str] | None,
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
            team,
            assign=assign,
            at=at,
            load=load,
            last_agent=last_agent,
            cands=cands,
            cursor=cursor,
            presence=presence,
            weight=self.weight(ticket),
        )
        if agent is not None:
            return team, agent, None, tie, tuple(cands)
        if assign.strategy == "queue":  # the named agent cannot take it: it waits, nobody else gets it
            why = f"strategy queue: {assign.agent} unavailable, the team's queue"
            return team, None, None, why, tuple(cands)
        if assign.overflow is not None:
            agent, tie = self._pick(
                assign.overflow,
                assign=assign,
                at=at,
                load=load,
                last_agent=last_agent,
                cands=cands,
                cursor=cursor,
                presence=presence,
                weight=self.weight(ticket),
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
        presence: Mapping[str, str] | None,
        weight: int,
    ) -> tuple[str | None, str]:
        required = assign.skills
        min_levels = assign.min_levels
        statuses = self.available_statuses
        shifts: dict[str, bool] = {}
        # (id, share of capacity in use, skills) of each agent who can take the ticket now
        eligible: list[tuple[str, float, frozenset[str]]] = []
        loads = load or _NO_LOAD
        for aid, capacity, skills, shift, status, levels in self._rosters.get(team, ()):
            n = loads.get(aid, 0)
            why = status
            if presence is not None and aid in presence:
                now_status = presence[aid]
                why = None if now_status in statuses else now_status
            if why is None:
                if shift is not None:
                    open_now = shifts.get(shift)
                    if open_now is None:
                        open_now = shifts[shift] = bool(self.calendars[shift].is_open(at))
                    if not open_now:
                        why = _OFF_SHIFT
                if why is None:
                    if n + weight > capacity:
                        why = _AT_CAPACITY
                    elif required and not required <= skills:
                        why = _MISSING_SKILL
                    elif min_levels and any(
                        levels.get(k, 1 if k in skills else 0) < v for k, v in min_levels.items()
                    ):
                        why = _LOW_LEVEL
                    else:
                        eligible.append((aid, n / capacity, skills))
            cands.append((aid, team, n, capacity, why))
        return _choose(team, eligible, assign=assign, last_agent=last_agent, cursor=cursor)

    def pick(
        self,
        ticket: Ticket,
        team: str,
        *,
        at: datetime,
        load: Mapping[str, int] | None = None,
        presence: Mapping[str, str] | None = None,
    ) -> str | None:
        """The agent of ``team`` who takes ``ticket`` from the team's queue now; None when nobody can.

        The least loaded agent who is available (``presence`` over the configured
        status), on shift, has room for the ticket's [`weight`][ticketkit.Router.weight]
        and holds the skills and levels the ticket's rule asks; ties by round-robin.
        This is how queued tickets are handed out (`Helpdesk.drain_queues`).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Agent
            >>> r = Router(
            ...     rules=[Rule(name="all", assign=Assign(team="t", strategy="queue"))],
            ...     agents=[Agent(id="a", teams={"t"}, capacity=2), Agent(id="b", teams={"t"}, capacity=2)],
            ... )
            >>> t = Ticket(subject="s", team="t", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> r.pick(t, "t", at=t.created_at, load={"a": 1, "b": 0})
            'b'
            >>> r.pick(t, "t", at=t.created_at, load={"a": 2, "b": 0}, presence={"b": "away"}) is None
            True
        """
        rule = self.match(ticket, at=at)
        asked = rule.assign if rule is not None else None
        key = (team, rule.name if rule is not None and asked is not None else None)
        assign = self._queue_assigns.get(key)
        if assign is None:
            assign = Assign(
                team=team,
                strategy="least_loaded",
                skills=asked.skills if asked is not None else frozenset(),
                min_levels=asked.min_levels if asked is not None else {},
            )
            self._queue_assigns[key] = assign
        agent, _ = self._pick(
            team,
            assign=assign,
            at=at,
            load=load,
            last_agent=None,
            cands=[],
            cursor=self.cursor,
            presence=presence,
            weight=self.weight(ticket),
        )
        return agent

    # ------------------------------------------------------------------ explaining

    def explain(
        self,
        ticket: Ticket,
        *,
        at: datetime,
        load: Mapping[str, int] | None = None,
        context: Mapping[str, Any] | None = None,
        last_agent: str | None = None,
        presence: Mapping[str, str] | None = None,
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
        decision = self._route(ticket, at, load, context, last_agent, _PeekCursor(self.cursor), presence)
        if decision.agent is UNREADABLE:  # say so rather than name an agent route may not pick
            changes = {k: v for k, v in decision.changes.items() if k != "assignee"}
            decision = attrs.evolve(
                decision,
                agent=None,
                changes=changes,
                tie_break="round-robin: the cursor has no peek_agent, so whose turn it is is unknown",
            )
        return decision.record

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
        return check_rules(self.rules, agents=self.agents, teams=self.teams, fallback=self.fallback)

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
        cursor = self.cursor.copy() if isinstance(self.cursor, InMemoryCursor) else InMemoryCursor()
        return simulate_routes(
            attrs.evolve(self, cursor=cursor).route,
            tickets,
            agents=[a.id for a in self.agents],
            rules=[r.name for r in self.rules],
            at=at,
            load=load,
        )


def _choose(
    team: str,
    eligible: list[tuple[str, float, frozenset[str]]],
    *,
    assign: Assign,
    last_agent: str | None,
    cursor: RoundRobinCursor,
) -> tuple[str | None, str]:
    """The strategy's pick among the eligible agents, and the tie-break it used."""
    required = assign.skills
    if not eligible:
        return None, ""
    if assign.agent is not None:
        for e in eligible:
            if e[0] == assign.agent:
                return e[0], "named by the rule"
    strategy = assign.strategy
    if strategy == "queue":
        return None, ""
    note = ""
    if strategy == "sticky":
        if last_agent is not None:
            for e in eligible:
                if e[0] == last_agent:
                    return e[0], "sticky: last served this customer"
        strategy = "least_loaded"
        note = "sticky: last agent not available; " if last_agent is not None else "sticky: no last agent; "
    if strategy == "round_robin":
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


def _problems(router: Router) -> list[ErrorDetail]:
    """Every problem with a router's parts, or between them."""
    out: list[ErrorDetail] = []
    given: object = router.rules
    if not isinstance(given, tuple):
        return [ErrorDetail("rules", f"expected a list of rules, got {given!r}")]
    groups: tuple[tuple[str, object, type], ...] = (
        ("rules", router.rules, Rule),
        ("agents", router.agents, Agent),
        ("teams", router.teams, Team),
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
    statuses: object = router.available_statuses
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
        list(enumerate(router.rules)),
        list(enumerate(router.agents)),
        router.teams,
        router.fallback,
        router.calendars,
    )


_OFF_SHIFT: Final = "\x00off shift"
_AT_CAPACITY: Final = "\x00at capacity"
_MISSING_SKILL: Final = "\x00missing skill"
_LOW_LEVEL: Final = "\x00skill level too low"


def _reason(
    router: Router,
    agent: str,
    load: int,
    capacity: int,
    why: str | None,
    *,
    skills: frozenset[str],
    levels: Mapping[str, int],
) -> str | None:
    """The readable reason for an exclusion code recorded on the hot path."""
    if why == _OFF_SHIFT:
        return f"off shift ({router._agent_by_id[agent].shift})"
    if why == _AT_CAPACITY:
        return f"at capacity ({load}/{capacity})"
    if why == _MISSING_SKILL:
        held = router._agent_by_id[agent].skills | frozenset(router._agent_by_id[agent].skill_levels)
        return "missing skill: " + ", ".join(sorted(skills - held))
    if why == _LOW_LEVEL:
        a = router._agent_by_id[agent]
        low = [
            f"{k} {a.skill_levels.get(k, 1 if k in a.skills else 0)} < {v}"
            for k, v in sorted(levels.items())
            if a.skill_levels.get(k, 1 if k in a.skills else 0) < v
        ]
        return "skill level too low: " + ", ".join(low)
    return why


def _build_record(decision: Decision) -> DecisionRecord:
    _, router, ticket, at, ctx, matched, cands, assign_at = decision._trace
    trials: list[RuleTrial] = []
    work = ticket
    last = matched[-1] if matched else len(router.rules) - 1
    matched_set = set(matched)
    for i, rule in enumerate(router.rules[: last + 1]):
        if i in matched_set:
            trials.append(RuleTrial(index=i, name=rule.name, matched=True))
            if rule.set and not rule.stop:  # as routing does: a stopping rule's set comes after
                work = _apply_set(work, rule.set)
            continue
        failure = rule.when.explain(work, at=at, context=ctx)
        pins = rule.when.pinned()
        skipped = any(_full_getter(f)(work, at, ctx) not in vals for f, vals in pins.items())
        trials.append(RuleTrial(index=i, name=rule.name, matched=False, failure=failure, skipped=skipped))
    resolved: object = None
    if assign_at >= 0:
        rule = router.rules[assign_at]
        assert rule.assign is not None
        resolved = rule.assign.team
        if rule.assign.team is not None:
            source = f"rule {rule.name!r}"
        else:
            resolved = _full_getter(rule.assign.team_ref or "")(work, at, ctx)
            source = f"rule {rule.name!r}: {rule.assign.team_ref} = {resolved!r}"
        strategy: str | None = rule.assign.strategy
    else:
        source = "fallback" if router.fallback is not None else "unchanged"
        strategy = None
    assign = router.rules[assign_at].assign if assign_at >= 0 else None
    skills = assign.skills if assign is not None else frozenset()
    levels: Mapping[str, int] = assign.min_levels if assign is not None else {}
    if decision.fallback and assign_at >= 0 and decision.team != resolved:
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
                agent=a,
                team=t,
                load=n,
                capacity=c,
                excluded=_reason(router, a, n, c, w, skills=skills, levels=levels),
            )
            for a, t, n, c, w in cands
        ),
        tie_break=decision.tie_break,
        fallback=decision.fallback,
        changes=dict(decision.changes),
    )
