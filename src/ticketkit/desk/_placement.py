"""Where a ticket goes: the router asked with what only the desk knows (load, the last agent)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ticketkit.desk._context import DeskContext
from ticketkit.desk._kinds import OPEN_KINDS
from ticketkit.desk._presence_state import presence_now
from ticketkit.model._models import Ticket
from ticketkit.storage._base import TicketStore


class Routed(NamedTuple):
    """What the router decided, as the desk applies it."""

    team: str | None
    agent: str | None
    rule: str | None
    changes: Mapping[str, Any]
    reason: str
    policy: str | None


def place(desk: DeskContext, ticket: Ticket, at: datetime) -> Routed | None:
    """Ask the router where the ticket goes (None without a router, or when it places it nowhere)."""
    if desk.router is None:
        return None
    decision = desk.router.route(
        ticket,
        at=at,
        load=_load(desk, ticket.tenant),
        last_agent=_last_agent(desk, ticket),
        presence=presence_now(desk, ticket.tenant, at),
    )
    changes = dict(getattr(decision, "changes", None) or {})
    team = getattr(decision, "team", None)
    agent = getattr(decision, "agent", None)
    if team is None and agent is None:
        return None
    rule = getattr(decision, "rule", None)
    fallback = getattr(decision, "fallback", None)
    tie_break = getattr(decision, "tie_break", "")
    reason = fallback or (f"rule {rule!r}" if rule else "routed")
    if tie_break:
        reason = f"{reason}; {tie_break}"
    policy = changes.pop("sla_policy", None)
    extra = {k: v for k, v in changes.items() if k not in ("team", "assignee")}
    return Routed(team, agent, rule, extra, reason, policy if isinstance(policy, str) else None)


def _last_agent(desk: DeskContext, ticket: Ticket) -> str | None:
    """The agent who last worked a ticket of this customer (for sticky routing)."""
    if ticket.customer is None or not desk.sticky:
        return None
    page = desk.store.query(
        tenant=ticket.tenant, customer=ticket.customer.id, order_by="-updated_at", limit=5
    )
    for other in page:
        if other.assignee and other.id != ticket.id:
            return other.assignee
    return None


class AgentLoad(Mapping[str, int]):
    """Open tickets per agent the router knows, read only for the teams the router looks at.

    The router asks the load of the agents on the roster of the team it chose; the
    first question about an agent reads the counts of every agent sharing a team
    with it in one `TicketStore.assigned_counts` call, so an intake costs what the
    candidate team's open backlog costs, whatever the store holds.

    With ``weight`` (the router's ``capacity_weights``) the load is weighted: the
    agents' open tickets are read (by the assignee index, so the cost is still their
    open backlog) and each counts its weight (a call 3, an e-mail 1).
    """

    def __init__(
        self,
        store: TicketStore,
        tenant: str,
        agents: Iterable[object],
        weight: Callable[[Ticket], int] | None = None,
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._weight = weight
        self._teams: dict[str, frozenset[str]] = {}
        members: dict[str, list[str]] = {}
        for agent in agents:
            agent_id = getattr(agent, "id", None)
            if isinstance(agent_id, str):
                teams = frozenset(t for t in getattr(agent, "teams", ()) if isinstance(t, str))
                self._teams[agent_id] = teams
                for team in teams:
                    members.setdefault(team, []).append(agent_id)
        self._members = members
        self._known: dict[str, int] = {}

    def __getitem__(self, agent_id: str) -> int:
        found = self._known.get(agent_id)
        if found is not None:
            return found
        teams = self._teams.get(agent_id)
        if teams is None:
            raise KeyError(agent_id)
        wanted = {agent_id}
        for team in teams:
            wanted.update(self._members[team])
        self._fetch(sorted(wanted - set(self._known)))
        return self._known[agent_id]

    def _fetch(self, agent_ids: list[str]) -> None:
        if not agent_ids:
            return
        if self._weight is None:
            self._known.update(
                self._store.assigned_counts(agent_ids, tenant=self._tenant, status_kind=OPEN_KINDS)
            )
            return
        loads = dict.fromkeys(agent_ids, 0)
        cursor: str | None = None
        while True:
            page = self._store.query(
                tenant=self._tenant, assignee=agent_ids, status_kind=OPEN_KINDS, limit=500, cursor=cursor
            )
            for ticket in page:
                if ticket.assignee in loads:
                    loads[ticket.assignee] += self._weight(ticket)
            cursor = page.next_cursor
            if cursor is None:
                break
        self._known.update(loads)

    def __iter__(self) -> Iterator[str]:
        return iter(self._teams)

    def __len__(self) -> int:
        return len(self._teams)

    def snapshot(self) -> dict[str, int]:
        """Every agent's load (reads the ones not asked yet)."""
        self._fetch(sorted(set(self._teams) - set(self._known)))
        return {a: self._known[a] for a in self._teams}


def _load(desk: DeskContext, tenant: str) -> AgentLoad:
    """Open tickets per agent the router knows (for capacity and least-loaded strategies)."""
    router = desk.router
    weighted = router is not None and bool(router.capacity_weights)
    return AgentLoad(
        desk.store,
        tenant,
        getattr(router, "agents", None) or (),
        router.weight if weighted and router else None,
    )
