"""Comparing two routers: route the same tickets through both and show what changes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from ticketkit.model._models import Ticket
from ticketkit.routing._router import Router
from ticketkit.routing._simulation import Simulation
from ticketkit.routing._tables import html_table, text_table

# Simulation is defined beside the router; listed here because the package root imports it
# with the comparison.
__all__ = ["Comparison", "RoutingChange", "Simulation", "compare"]


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
    a = router_a.simulate(items, at=at, load=load)
    b = router_b.simulate(items, at=at, load=load)
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
