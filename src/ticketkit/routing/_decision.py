"""What routing decided and why: `Decision`, its `DecisionRecord` (rules tried, candidates,
tie-break, fallback) and the record's parts, as text and as HTML."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ticketkit.conditions._conditions import ConditionFailure
from ticketkit.model._models import Priority, Ticket
from ticketkit.routing._tables import html_table


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
        >>> from ticketkit import Assign, Router, Rule
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
        >>> from ticketkit import Assign, Router, Rule
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
    # What the record is built from, kept cheap on the routing path: the function that
    # builds it (the router's), then that function's inputs.
    _trace: Any = attrs.field(default=None, eq=False, repr=False)
    _cache: DecisionRecord | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def record(self) -> DecisionRecord:
        """The full decision record (computed once, on first access)."""
        if self._cache is None:
            object.__setattr__(self, "_cache", self._trace[0](self))
        assert self._cache is not None
        return self._cache

    def apply(self, ticket: Ticket) -> Ticket:
        """The ticket with the decision's changes made (SLA policy is left to the caller).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Assign, Router, Rule
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
