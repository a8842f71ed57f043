"""Where a ticket goes: the router asked with what only the desk knows (load, the last agent)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from ticketkit.desk._context import DeskContext
from ticketkit.desk._kinds import OPEN_KINDS
from ticketkit.model._models import Ticket


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
        ticket, at=at, load=_load(desk, ticket.tenant), last_agent=_last_agent(desk, ticket)
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


def _load(desk: DeskContext, tenant: str) -> dict[str, int]:
    """Open tickets per agent the router knows (for least-loaded strategies)."""
    agents = getattr(desk.router, "agents", None) or ()
    out: dict[str, int] = {}
    for agent in agents:
        agent_id = getattr(agent, "id", None)
        if isinstance(agent_id, str):
            out[agent_id] = desk.store.count(tenant=tenant, assignee=agent_id, status_kind=OPEN_KINDS)
    return out
