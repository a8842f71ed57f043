"""Simulation: what a router does with a list of tickets, counted per rule, team and agent."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ticketkit.model._models import Ticket
from ticketkit.routing._decision import Decision
from ticketkit.routing._tables import html_table, text_table


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


def simulate_routes(
    route: Callable[..., Decision],
    tickets: Iterable[Ticket],
    *,
    agents: Sequence[str],
    rules: Sequence[str],
    at: datetime | None = None,
    load: Mapping[str, int] | None = None,
) -> Simulation:
    """Route every ticket with ``route`` (a router's, on its own cursor), growing load as tickets
    are assigned; ``agents`` start at no load, ``rules`` are the rule names in order."""
    loads: dict[str, int] = dict.fromkeys(agents, 0)
    loads.update(load or {})
    decisions: list[tuple[str, Decision]] = []
    per_rule: Counter[str] = Counter()
    per_team: Counter[str] = Counter()
    per_agent: Counter[str] = Counter()
    unmatched: list[str] = []
    fallbacks: list[str] = []
    unassigned = 0
    for t in tickets:
        d = route(t, at=at or t.created_at, load=loads)
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
    order = {name: i for i, name in enumerate(rules)}
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
