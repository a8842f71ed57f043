"""Automations inside a change: every new event offered to the rules, their actions applied.

Integrations are asked lazily, only when a condition reads ``context.<name>``; one
that fails stops the automation (recorded as ``automation.stopped``) and never
loses the change. Within one change an automation runs at most once per ticket,
and spawning is cut after `MAX_DEPTH` generations.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, Final

from ticketkit.automation._automation import (
    AUTOMATION_APPLIED,
    AUTOMATION_STOPPED,
    MAX_DEPTH,
    Action,
    Automation,
    render,
)
from ticketkit.desk._subtickets import spawn_into
from ticketkit.desk._work import Draft, Work
from ticketkit.errors import InvalidTransitionError
from ticketkit.model._models import Comment, Event, Priority, Ticket

log = logging.getLogger("ticketkit.desk")

MAX_AUTOMATION_RUNS: Final = 200


class _LazyContext(Mapping[str, Any]):
    """Integration answers for conditions, fetched only when a condition reads them."""

    def __init__(self, integrations: Mapping[str, Any], ticket: Ticket) -> None:
        self._integrations = integrations
        self._ticket = ticket
        self._cache: dict[str, Any] = {}
        self.failures: list[str] = []

    def __getitem__(self, key: str) -> Any:
        if key not in self._integrations:
            raise KeyError(key)
        if key not in self._cache:
            try:
                self._cache[key] = self._integrations[key](self._ticket)
            except Exception as exc:  # another system being down must not lose the change
                log.warning("integration %r failed for ticket %s: %r", key, self._ticket.id, exc)
                self.failures.append(f"integration {key!r} failed: {exc!r}")
                self._cache[key] = None
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._integrations)

    def __len__(self) -> int:
        return len(self._integrations)


def run_automations(work: Work) -> None:
    """Offer every new event to the automations until nothing new happens."""
    automations = work.desk.automations
    if not automations:
        return
    progress = True
    while progress:
        progress = False
        for draft in list(work.drafts.values()):
            while draft.seen < len(draft.events):
                event = draft.events[draft.seen]
                draft.seen += 1
                if event.kind in (AUTOMATION_APPLIED, AUTOMATION_STOPPED):
                    continue
                progress = True
                for automation in automations:
                    if not automation.listens_to(event.kind):
                        continue
                    context = _LazyContext(work.desk.integrations, draft.ticket)
                    matched = automation.matches(draft.ticket, event, at=work.now, context=context)
                    if context.failures:
                        _stop(work, draft, automation.name, event, "; ".join(context.failures))
                        continue
                    if matched:
                        _apply_automation(work, draft, automation, event, context)


def _stop(work: Work, draft: Draft, name: str, event: Event, reason: str) -> None:
    key = (name, draft.ticket.id)
    if key in work.stopped:
        return
    work.stopped.add(key)
    work.emit(
        draft,
        AUTOMATION_STOPPED,
        {"automation": name, "event": event.kind, "reason": reason},
        actor=f"system:automation/{name}",
    )
    log.warning("automation %r stopped on ticket %s: %s", name, draft.ticket.id, reason)


def _apply_automation(
    work: Work, draft: Draft, automation: Automation, event: Event, context: Mapping[str, Any]
) -> None:
    name, actions = automation.name, automation.actions
    key = (name, draft.ticket.id)
    actor = f"system:automation/{name}"
    if key in work.fired or work.automation_runs >= MAX_AUTOMATION_RUNS:
        reason = "already ran in this change (a loop)" if key in work.fired else "too many automation runs"
        _stop(work, draft, name, event, reason)
        return
    work.fired.add(key)
    work.automation_runs += 1
    done = [action.kind for action in actions if run_action(work, draft, action, actor, context)]
    work.emit(
        draft, AUTOMATION_APPLIED, {"automation": name, "event": event.kind, "actions": done}, actor=actor
    )


def run_action(work: Work, draft: Draft, action: Action, actor: str, context: Mapping[str, Any]) -> bool:
    """Apply one action to ``draft`` (automations, macros, timed rules); whether it changed anything."""
    p = action.params
    kind = action.kind
    if kind == "tag":
        return work.tag(draft, add=p["tags"], actor=actor)
    if kind == "untag":
        return work.tag(draft, remove=p["tags"], actor=actor)
    if kind == "set_fields":
        return work.set_fields(draft, p["fields"], actor=actor)
    if kind == "set_priority":
        return work.set_priority(draft, raise_priority(draft.ticket.priority, p["priority"]), actor=actor)
    if kind == "set_category":
        return work.set_category(draft, p["category"], actor=actor)
    if kind == "comment":
        body = render(p["body"], draft.ticket, context=context)
        work.comment(
            draft,
            Comment(
                ticket_id=draft.ticket.id,
                author=actor,
                body=body,
                at=work.now,
                public=bool(p.get("public", False)),
                author_kind="system",
                automatic=True,
            ),
            actor=actor,
        )
        return True
    if kind == "notify":
        message = render(p["message"], draft.ticket, context=context)
        work.notify(draft, "automation", p["to"], message, {"automation": actor})
        return True
    if kind == "fire":
        if not work.can_fire(draft, p["trigger"]):
            return False
        try:
            work.fire(draft, p["trigger"], actor=actor)
        except InvalidTransitionError:
            return False
        return True
    if kind == "assign":
        if "team" in p or "agent" in p:
            return work.assign(
                draft, team=p.get("team", draft.ticket.team), agent=p.get("agent"), actor=actor
            )
        return work.route(draft, actor=actor, reason="automation")
    if kind == "spawn":
        if draft.depth + 1 > MAX_DEPTH:
            work.emit(
                draft,
                AUTOMATION_STOPPED,
                {"automation": actor, "event": "spawn", "reason": f"more than {MAX_DEPTH} generations"},
                actor=actor,
            )
            return False
        spec = {k: v for k, v in p.items() if k != "wait"}
        spec["subject"] = render(p["subject"], draft.ticket, context=context)
        if "description" in spec:
            spec["description"] = render(p["description"], draft.ticket, context=context)
        spawn_into(work, draft, dict(spec), wait=bool(p.get("wait", True)), actor=actor)
        return True
    return False  # pragma: no cover - Action validates its kind


def raise_priority(current: Priority, target: Any) -> Priority:
    """``target`` as a priority; ``"+1"`` means one step above ``current`` (at most urgent)."""
    if target == "+1":
        order = list(Priority)
        return order[min(order.index(current) + 1, len(order) - 1)]
    return Priority.parse(target)
