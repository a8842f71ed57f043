"""Rebuilding the ticket as it stood at each event, for replaying SLA clocks.

A replay needs the fields clocks and policies read (status and its kind,
priority, category, team, assignee, tags, custom fields) as they were when each
event happened. The first change event of each field tells its value before the
change; later events move it forward.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ticketkit.model._events import (
    ASSIGNED,
    CATEGORY_CHANGED,
    FIELDS_CHANGED,
    PRIORITY_CHANGED,
    STATUS_CHANGED,
    TAGS_CHANGED,
)
from ticketkit.model._json import freeze, thaw
from ticketkit.model._models import STATUS_KINDS, Event, Priority, Ticket, replace_trusted

__all__: list[str] = []


def _priority(value: Any, default: Priority) -> Priority:
    if isinstance(value, Priority):
        return value
    if isinstance(value, str):
        try:
            return Priority.parse(value)
        except ValueError:
            return default
    return default


def _str_or_none(value: Any, default: str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return default


def initial_ticket(ticket: Ticket, events: Sequence[Event]) -> Ticket:
    """``ticket`` with its replayable fields rolled back to before ``events``."""
    changes: dict[str, Any] = {}
    tags_seen: set[str] = set()
    tags = set(ticket.tags)
    fields_seen: set[str] = set()
    fields = dict(thaw(ticket.fields))
    for e in events:
        d = e.data
        if e.kind == STATUS_CHANGED and "status" not in changes:
            frm = d.get("from")
            kind = d.get("from_kind")
            if isinstance(frm, str) and frm:
                changes["status"] = frm
                changes["status_kind"] = kind if kind in STATUS_KINDS else ticket.status_kind
        elif e.kind == PRIORITY_CHANGED and "priority" not in changes:
            changes["priority"] = _priority(d.get("from"), ticket.priority)
        elif e.kind == CATEGORY_CHANGED and "category" not in changes:
            changes["category"] = _str_or_none(d.get("from"), ticket.category)
        elif e.kind == ASSIGNED:
            if "team" not in changes and "from_team" in d:
                changes["team"] = _str_or_none(d.get("from_team"), ticket.team)
            if "assignee" not in changes and "from_agent" in d:
                changes["assignee"] = _str_or_none(d.get("from_agent"), ticket.assignee)
        elif e.kind == TAGS_CHANGED:
            for tag in d.get("added") or ():
                if isinstance(tag, str) and tag not in tags_seen:
                    tags_seen.add(tag)
                    tags.discard(tag)
            for tag in d.get("removed") or ():
                if isinstance(tag, str) and tag not in tags_seen:
                    tags_seen.add(tag)
                    tags.add(tag)
        elif e.kind == FIELDS_CHANGED:
            for name, change in (d.get("changes") or {}).items():
                if name in fields_seen or not isinstance(change, Mapping):
                    continue
                fields_seen.add(name)
                if change.get("from") is None:
                    fields.pop(name, None)
                else:
                    fields[name] = thaw(change.get("from"))
    if "status" not in changes:
        # No status change recorded: the ticket began where it is now, unless it
        # is already past "new" (then the first state is unknown; keep it).
        pass
    changes["tags"] = frozenset(tags)
    changes["fields"] = freeze(fields)
    changes["sla"] = None
    return replace_trusted(ticket, **changes)


def advance(ticket: Ticket, event: Event) -> Ticket:
    """``ticket`` with the replayable fields ``event`` changes moved forward."""
    d = event.data
    kind = event.kind
    if kind == STATUS_CHANGED:
        to = d.get("to")
        to_kind = d.get("to_kind")
        if isinstance(to, str) and to:
            return replace_trusted(
                ticket, status=to, status_kind=to_kind if to_kind in STATUS_KINDS else ticket.status_kind
            )
    elif kind == PRIORITY_CHANGED:
        return replace_trusted(ticket, priority=_priority(d.get("to"), ticket.priority))
    elif kind == CATEGORY_CHANGED:
        return replace_trusted(ticket, category=_str_or_none(d.get("to"), ticket.category))
    elif kind == ASSIGNED:
        changes: dict[str, Any] = {}
        if "team" in d:
            changes["team"] = _str_or_none(d.get("team"), ticket.team)
        if "agent" in d:
            changes["assignee"] = _str_or_none(d.get("agent"), ticket.assignee)
        if changes:
            return replace_trusted(ticket, **changes)
    elif kind == TAGS_CHANGED:
        tags = set(ticket.tags)
        tags.update(t for t in d.get("added") or () if isinstance(t, str))
        tags.difference_update(t for t in d.get("removed") or () if isinstance(t, str))
        return replace_trusted(ticket, tags=frozenset(tags))
    elif kind == FIELDS_CHANGED:
        fields = dict(thaw(ticket.fields))
        for name, change in (d.get("changes") or {}).items():
            if not isinstance(change, Mapping):
                continue
            if change.get("to") is None:
                fields.pop(name, None)
            else:
                fields[name] = thaw(change.get("to"))
        return replace_trusted(ticket, fields=freeze(fields))
    return ticket


def replay_states(initial: Ticket, events: Sequence[Event]) -> Iterator[tuple[Ticket, Event]]:
    """Each event with the ticket (from ``initial``, see `initial_ticket`) as it stood just after it."""
    current = initial
    for e in events:
        current = advance(current, e)
        yield current, e
