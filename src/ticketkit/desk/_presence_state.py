"""Agent presence as the store keeps it: one record per agent, shared by every worker.

Presence lives in the store's desk records (kind ``presence``, key the agent id), not in
the router's configuration: several workers and processes on one store must agree on who
is online now, and an ``until`` must revert for all of them at once. A record's value is
JSON (status, since, until, the status it reverts to, who set it); writes are
compare-and-set, so two people setting one agent's presence never lose a write silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import attrs

from ticketkit.desk._context import DeskContext
from ticketkit.model._time import require_aware

PRESENCE_KIND: Final = "presence"
PRESENCE_STATUSES: Final = ("online", "away", "offline")
"""The statuses `Helpdesk.set_presence` takes."""


@attrs.frozen(kw_only=True)
class Presence:
    """An agent's presence as the desk stores it: status, since when, until when.

    Attributes:
        agent: the agent id.
        status: ``online``, ``away`` or ``offline``.
        since: when it was set (or when it reverted).
        until: when it reverts to ``revert_to`` (None: until changed again).
        revert_to: the status it takes at ``until`` (the one it replaced).
        by: who set it (an actor reference such as ``agent:li``).

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)
        >>> p = Presence(agent="li", status="away", since=at, until=at.replace(hour=13), revert_to="online")
        >>> p.at(at).status, p.at(at.replace(hour=13)).status
        ('away', 'online')
    """

    agent: str
    status: str
    since: datetime
    until: datetime | None = None
    revert_to: str | None = None
    by: str = ""

    def at(self, now: datetime) -> Presence:
        """The presence in force at ``now`` (reverted when its ``until`` has passed)."""
        if self.until is not None and now >= self.until:
            return Presence(agent=self.agent, status=self.revert_to or "online", since=self.until, by=self.by)
        return self

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(
            {
                "status": self.status,
                "since": self.since.isoformat(),
                "until": None if self.until is None else self.until.isoformat(),
                "revert_to": self.revert_to,
                "by": self.by,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, agent: str, text: str) -> Presence | None:
        """The stored form read back; None for a record this version cannot read."""
        try:
            data = json.loads(text)
            status = data["status"]
            revert = data.get("revert_to")
            if status not in PRESENCE_STATUSES or (revert is not None and revert not in PRESENCE_STATUSES):
                return None
            since = require_aware(datetime.fromisoformat(data["since"]), "since")
            until_text = data.get("until")
            until = None if until_text is None else require_aware(datetime.fromisoformat(until_text), "until")
            return cls(
                agent=agent, status=status, since=since, until=until, revert_to=revert, by=str(data["by"])
            )
        except (ValueError, KeyError, TypeError):
            return None


def stored_presence(
    desk: DeskContext, tenant: str, agents: list[str] | None = None
) -> dict[str, tuple[Presence, int]]:
    """The stored presence records of ``tenant`` (all, or those of ``agents``) with their versions."""
    out: dict[str, tuple[Presence, int]] = {}
    for agent, (text, version) in desk.store.records(PRESENCE_KIND, tenant=tenant, keys=agents).items():
        presence = Presence.from_json(agent, text)
        if presence is not None:
            out[agent] = (presence, version)
    return out


def presence_now(desk: DeskContext, tenant: str, now: datetime) -> Mapping[str, str]:
    """Each agent's status at ``now`` where the store has one (what routing is given)."""
    return {agent: p.at(now).status for agent, (p, _) in stored_presence(desk, tenant).items()}
