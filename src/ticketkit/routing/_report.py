"""Routing reports: simulation, comparison of two routers, static checks, text and HTML tables."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from ticketkit.conditions._conditions import Condition
from ticketkit.model._models import Ticket

if TYPE_CHECKING:
    from ticketkit.routing._router import Decision, DecisionRecord, Router, RouterFinding

__all__ = ["Comparison", "RoutingChange", "Simulation", "compare"]


# --------------------------------------------------------------------------- tables


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns (numbers right-aligned).

    Examples:
        >>> print(text_table(["team", "tickets"], [["senior", 3], ["lab", 12]]))
        team    tickets
        ------  -------
        senior        3
        lab          12
    """
    body = [[_cell(v) for v in row] for row in rows]
    numeric = [all(_is_num(row[i]) for row in body) and bool(body) for i in range(len(headers))]
    widths = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in body)
    return "\n".join(out)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    """An HTML table, every cell escaped.

    Examples:
        >>> html_table(["a"], [["<b>"]])
        '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _is_num(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def record_html(record: DecisionRecord) -> str:
    """A decision record as HTML: rules tried, candidates, outcome."""
    parts = [f"<p><b>ticket {html.escape(record.ticket_id)}</b> at {html.escape(record.at.isoformat())}</p>"]
    parts.append(
        html_table(
            ["#", "rule", "result", "field", "op", "expected", "actual"],
            [
                [
                    t.index,
                    t.name,
                    "matched" if t.matched else ("no (index)" if t.skipped else "no"),
                    t.failure.field if t.failure else "",
                    t.failure.op if t.failure else "",
                    repr(t.failure.expected) if t.failure else "",
                    repr(t.failure.actual) if t.failure else "",
                ]
                for t in record.rules
            ],
            caption="rules tried",
        )
    )
    if record.candidates:
        parts.append(
            html_table(
                ["agent", "team", "load", "capacity", "excluded"],
                [[c.agent, c.team, c.load, c.capacity, c.excluded or "eligible"] for c in record.candidates],
                caption="candidates",
            )
        )
    outcome: list[list[Any]] = [
        ["team", f"{record.team} ({record.team_source})"],
        ["agent", record.agent],
        ["strategy", record.strategy],
        ["tie-break", record.tie_break],
        ["fallback", record.fallback],
        ["changes", ", ".join(f"{k}={v!r}" for k, v in record.to_dict()["changes"].items())],
    ]
    parts.append(html_table(["", ""], outcome, caption="decision"))
    return "".join(parts)


# --------------------------------------------------------------------------- simulation


def _spread(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "stdev": 0.0}
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return {"min": float(min(values)), "max": float(max(values)), "mean": mean, "stdev": math.sqrt(var)}


@attrs.frozen(kw_only=True)
class Simulation:
    """What a router did with a list of tickets: counts per rule, team and agent, and what fell through.

    Printed it is a set of text tables; in a notebook it renders as HTML.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Assign, Router, Rule, Ticket
        >>> r = Router(rules=[Rule(name="all", assign=Assign(team="t", strategy="queue"))])
        >>> sim = r.simulate([Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))])
        >>> sim.total, dict(sim.per_team)
        (1, {'t': 1})
    """

    total: int
    decisions: tuple[tuple[str, Decision], ...] = attrs.field(repr=False)
    per_rule: Mapping[str, int]
    per_team: Mapping[str, int]
    per_agent: Mapping[str, int]
    unmatched: tuple[str, ...]
    fallbacks: tuple[str, ...]
    unassigned: int
    load: Mapping[str, int]

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per ticket (ticket, rule, team, agent, fallback, tie_break), e.g. for pandas.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Assign, Router, Rule, Ticket
            >>> r = Router(rules=[Rule(name="all", assign=Assign(team="t", strategy="queue"))])
            >>> t = Ticket(subject="s", id="T1", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> r.simulate([t]).rows()[0]["team"]
            't'
        """
        return [
            {
                "ticket": tid,
                "rule": d.rule,
                "team": d.team,
                "agent": d.agent,
                "fallback": d.fallback,
                "tie_break": d.tie_break,
            }
            for tid, d in self.decisions
        ]

    @property
    def load_spread(self) -> dict[str, float]:
        """min, max, mean and standard deviation of the final open load over all agents."""
        return _spread(list(self.load.values()))

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """The report as (title, headers, rows) tables."""
        n = self.total or 1
        spread = self.load_spread
        return [
            (
                "summary",
                ["tickets", "unmatched", "fallbacks", "unassigned", "load min", "load max", "load stdev"],
                [
                    [
                        self.total,
                        len(self.unmatched),
                        len(self.fallbacks),
                        self.unassigned,
                        int(spread["min"]),
                        int(spread["max"]),
                        spread["stdev"],
                    ]
                ],
            ),
            (
                "per rule",
                ["rule", "tickets", "share"],
                [[k, v, f"{v / n:.1%}"] for k, v in self.per_rule.items()],
            ),
            (
                "per team",
                ["team", "tickets", "share"],
                [[k, v, f"{v / n:.1%}"] for k, v in self.per_team.items()],
            ),
            (
                "per agent",
                ["agent", "assigned", "load after"],
                [
                    [a, self.per_agent.get(a, 0), self.load.get(a, 0)]
                    for a in sorted(set(self.per_agent) | set(self.load))
                ],
            ),
        ]

    def __str__(self) -> str:
        return "\n\n".join(f"{title}\n{text_table(h, rows)}" for title, h, rows in self.tables())

    def _repr_html_(self) -> str:
        return "".join(html_table(h, rows, caption=title) for title, h, rows in self.tables())


_NO_RULE = "(no rule)"


def simulate(
    router: Router,
    tickets: Iterable[Ticket],
    *,
    at: datetime | None = None,
    load: Mapping[str, int] | None = None,
) -> Simulation:
    """Route every ticket on a copy of the router's cursor, growing load as tickets are assigned."""
    from ticketkit.routing._router import InMemoryCursor  # noqa: PLC0415 - import cycle

    cursor = router.cursor.copy() if isinstance(router.cursor, InMemoryCursor) else InMemoryCursor()
    sim_router = attrs.evolve(router, cursor=cursor)
    loads: dict[str, int] = {a.id: 0 for a in router.agents}
    loads.update(load or {})
    decisions: list[tuple[str, Decision]] = []
    per_rule: Counter[str] = Counter()
    per_team: Counter[str] = Counter()
    per_agent: Counter[str] = Counter()
    unmatched: list[str] = []
    fallbacks: list[str] = []
    unassigned = 0
    for t in tickets:
        d = sim_router.route(t, at=at or t.created_at, load=loads)
        decisions.append((t.id, d))
        per_rule[d.rule or _NO_RULE] += 1
        per_team[d.team or "-"] += 1
        if not d.matched:
            unmatched.append(t.id)
        if d.fallback:
            fallbacks.append(t.id)
        if d.agent is None:
            unassigned += 1
        else:
            per_agent[d.agent] += 1
            loads[d.agent] = loads.get(d.agent, 0) + 1
    order = {r.name: i for i, r in enumerate(router.rules)}
    return Simulation(
        total=len(decisions),
        decisions=tuple(decisions),
        per_rule=dict(sorted(per_rule.items(), key=lambda kv: order.get(kv[0], len(order)))),
        per_team=dict(sorted(per_team.items(), key=lambda kv: (-kv[1], kv[0]))),
        per_agent=dict(sorted(per_agent.items())),
        unmatched=tuple(unmatched),
        fallbacks=tuple(fallbacks),
        unassigned=unassigned,
        load=dict(sorted(loads.items())),
    )


# --------------------------------------------------------------------------- comparison


@attrs.frozen(kw_only=True)
class RoutingChange:
    """One ticket that two routers send to different places: (team, agent, rule) before and after.

    Examples:
        >>> RoutingChange(ticket_id="T1", before=("desk", None, "all"), after=("lab", None, "lab")).row()
        ['T1', 'desk', None, 'all', 'lab', None, 'lab']
    """

    ticket_id: str
    before: tuple[str | None, str | None, str | None]
    after: tuple[str | None, str | None, str | None]

    def row(self) -> list[Any]:
        """(ticket, team/agent/rule before, after) as table cells."""
        return [self.ticket_id, *self.before, *self.after]


@attrs.frozen(kw_only=True)
class Comparison:
    """How routing changes from router ``a`` to router ``b`` on the same tickets.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Assign, Router, Rule, Ticket
        >>> a = Router(rules=[Rule(name="all", assign=Assign(team="x", strategy="queue"))])
        >>> b = Router(rules=[Rule(name="all", assign=Assign(team="y", strategy="queue"))])
        >>> c = compare(a, b, [Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))])
        >>> len(c.changes), c.team_moved
        (1, 1)
    """

    a: Simulation
    b: Simulation
    changes: tuple[RoutingChange, ...]
    team_moved: int
    agent_moved: int

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """The report as (title, headers, rows) tables."""
        teams = sorted(set(self.a.per_team) | set(self.b.per_team))
        agents = sorted(set(self.a.per_agent) | set(self.b.per_agent))
        sa, sb = self.a.load_spread, self.b.load_spread
        return [
            (
                "summary",
                ["", "a", "b"],
                [
                    ["tickets", self.a.total, self.b.total],
                    ["unmatched", len(self.a.unmatched), len(self.b.unmatched)],
                    ["fallbacks", len(self.a.fallbacks), len(self.b.fallbacks)],
                    ["unassigned", self.a.unassigned, self.b.unassigned],
                    ["load stdev", sa["stdev"], sb["stdev"]],
                    ["team changed", "", self.team_moved],
                    ["agent changed", "", self.agent_moved],
                ],
            ),
            (
                "per team",
                ["team", "a", "b", "change"],
                [
                    [
                        t,
                        self.a.per_team.get(t, 0),
                        self.b.per_team.get(t, 0),
                        self.b.per_team.get(t, 0) - self.a.per_team.get(t, 0),
                    ]
                    for t in teams
                ],
            ),
            (
                "per agent",
                ["agent", "a", "b", "change"],
                [
                    [
                        x,
                        self.a.per_agent.get(x, 0),
                        self.b.per_agent.get(x, 0),
                        self.b.per_agent.get(x, 0) - self.a.per_agent.get(x, 0),
                    ]
                    for x in agents
                ],
            ),
            (
                "changed tickets",
                ["ticket", "team a", "agent a", "rule a", "team b", "agent b", "rule b"],
                [c.row() for c in self.changes[:50]],
            ),
        ]

    def __str__(self) -> str:
        return "\n\n".join(f"{title}\n{text_table(h, rows)}" for title, h, rows in self.tables())

    def _repr_html_(self) -> str:
        return "".join(html_table(h, rows, caption=title) for title, h, rows in self.tables())


def compare(
    router_a: Router,
    router_b: Router,
    tickets: Iterable[Ticket],
    *,
    at: datetime | None = None,
    load: Mapping[str, int] | None = None,
) -> Comparison:
    """Route the same tickets through two routers and show what changes.

    Both run as [`Router.simulate`][ticketkit.Router.simulate] does (their own cursor copies, load growing).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Assign, F, Router, Rule, Ticket
        >>> old = Router(rules=[Rule(name="all", assign=Assign(team="desk", strategy="queue"))])
        >>> new = Router(
        ...     rules=[
        ...         Rule(
        ...             name="lab",
        ...             when=F.category == "exam-result",
        ...             assign=Assign(team="lab", strategy="queue"),
        ...         ),
        ...         Rule(name="all", assign=Assign(team="desk", strategy="queue")),
        ...     ]
        ... )
        >>> ts = [
        ...     Ticket(subject="s", category=c, created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        ...     for c in ("exam-result", "billing")
        ... ]
        >>> c = compare(old, new, ts)
        >>> len(c.changes), c.changes[0].before[0], c.changes[0].after[0]
        (1, 'desk', 'lab')
    """
    items = list(tickets)
    a = simulate(router_a, items, at=at, load=load)
    b = simulate(router_b, items, at=at, load=load)
    changes: list[RoutingChange] = []
    team_moved = agent_moved = 0
    for (tid, da), (_, db) in zip(a.decisions, b.decisions, strict=True):
        if da.team != db.team:
            team_moved += 1
        if da.agent != db.agent:
            agent_moved += 1
        if (da.team, da.agent, da.rule) != (db.team, db.agent, db.rule):
            changes.append(
                RoutingChange(
                    ticket_id=tid, before=(da.team, da.agent, da.rule), after=(db.team, db.agent, db.rule)
                )
            )
    return Comparison(a=a, b=b, changes=tuple(changes), team_moved=team_moved, agent_moved=agent_moved)


# --------------------------------------------------------------------------- static checks


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
        return a == b
    if a == b:
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
        return a.op in ("eq", "in") and not (av & bv) and None not in av
    return False


def _values(c: Condition) -> frozenset[Any] | None:
    if c.op in ("eq", "ne"):
        return frozenset({c.value})
    if c.op in ("in", "not_in"):
        try:
            return frozenset(c.value)
        except TypeError:  # pragma: no cover - values are scalars
            return None
    return None


def _never(c: Condition) -> bool:
    if c.kind == "any" and not c.children:
        return True
    return any(not vals for vals in c.pinned().values())


def check_router(router: Router) -> list[RouterFinding]:
    """Static checks of a router's rules (see [`Router.check`][ticketkit.Router.check])."""
    from ticketkit.routing._router import RouterFinding  # noqa: PLC0415 - import cycle

    out: list[RouterFinding] = []
    rules = router.rules
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
    staffed = set(router._rosters)
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
        if a.agent is not None and a.team is not None and a.team not in router._agent_by_id[a.agent].teams:
            out.append(
                RouterFinding(
                    level="error",
                    path=f"rules[{i}].assign.agent",
                    message=f"agent {a.agent!r} is not in team {a.team!r}: the rule can never assign them",
                )
            )
    team_ids = {t.id for t in router.teams}
    if team_ids:
        for k, agent in enumerate(router.agents):
            unknown = sorted(agent.teams - team_ids)
            if unknown:
                out.append(
                    RouterFinding(
                        level="warning",
                        path=f"agents[{k}].teams",
                        message=f"unknown teams: {', '.join(unknown)}",
                    )
                )
    if router.fallback is None:
        out.append(
            RouterFinding(
                level="warning",
                path="fallback",
                message="no fallback team: tickets no rule assigns keep their current team",
            )
        )
    return out
