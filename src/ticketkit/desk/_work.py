"""One change through the helpdesk: drafts of the tickets it touches, their events, one commit.

A `Work` loads tickets (checking tenancy and permissions), applies operations
to drafts (each operation is an event; the SLA clocks follow every event), runs
automations on the new events, tells parents about children that finished, and
commits everything in one atomic ``save_many``. It holds no engine logic: workflows,
SLA policies and the router do the thinking.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from ticketkit.automation._automation import AUTOMATION_APPLIED, AUTOMATION_STOPPED, MAX_DEPTH, Action, render
from ticketkit.desk._access import Actor
from ticketkit.errors import ConflictError, InvalidTransitionError, PermissionDeniedError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import freeze, thaw
from ticketkit.model._models import Comment, Event, Link, Priority, Ticket, replace_trusted
from ticketkit.model._serialization import to_dict
from ticketkit.notify._notify import Notification

if TYPE_CHECKING:
    from ticketkit.desk._helpdesk import Helpdesk

__all__ = ["CHILD_RESOLVED", "DEDUPLICATED", "OPEN_KINDS"]

log = logging.getLogger("ticketkit.desk")

DEDUPLICATED: Final = "ticket.deduplicated"  # channel, reason, external_ref, subject
CHILD_RESOLVED: Final = "ticket.child_resolved"  # child, status, status_kind, waiting (ids still open)
OPEN_KINDS: Final = ("new", "open", "pending")
DONE_KINDS: Final = frozenset({"resolved", "closed"})
MAX_AUTOMATION_RUNS: Final = 200


class Draft:
    """A ticket being changed: as loaded (``base``), as it stands now, and its new events."""

    __slots__ = ("base", "depth", "events", "policy_hint", "seen", "sla_ready", "ticket", "told")

    def __init__(self, base: Ticket | None, ticket: Ticket, *, depth: int = 0) -> None:
        self.base = base
        self.ticket = ticket
        self.events: list[Event] = []
        self.seen = 0  # events already offered to automations
        self.depth = depth  # generations of spawning from the change's first ticket
        self.told = 0  # events already checked for "a child finished"
        self.policy_hint: str | None = None  # an SLA policy a routing rule named
        self.sla_ready = base is not None  # a new ticket's policy is chosen once intake has placed it

    @property
    def created(self) -> bool:
        return self.base is None


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


class Work:
    """The drafts, notifications and commit of one helpdesk change."""

    def __init__(self, desk: Helpdesk, actor: Actor, now: datetime) -> None:
        self.desk = desk
        self.actor = actor
        self.now = now
        self.drafts: dict[str, Draft] = {}
        self.fired: set[tuple[str, str]] = set()
        self.stopped: set[tuple[str, str]] = set()
        self.notes: list[Notification] = []
        self.automation_runs = 0

    # ------------------------------------------------------------------ loading and checking

    def authorize(self, action: str, ticket: Ticket | None, actor: Actor | None = None) -> None:
        """Raise PermissionDeniedError unless the actor may ``action`` the ticket."""
        who = actor or self.actor
        reason = self.desk.access.check(who, action, ticket)
        if reason is not None:
            target = f"ticket {ticket.id}" if ticket is not None else f"tenant {who.tenant}"
            raise PermissionDeniedError(who.ref, action, target, reason)

    def load(
        self,
        ticket_id: str,
        action: str | None,
        *,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> Draft:
        """The draft of a stored ticket of the actor's tenant, after checking ``action``."""
        draft = self.drafts.get(ticket_id)
        if draft is None:
            if not isinstance(ticket_id, str) or not ticket_id:
                raise ValidationError.one("ticket_id", f"expected a ticket id, got {ticket_id!r}")
            ticket = self.desk.store.get(ticket_id, tenant=tenant or self.actor.tenant)
            if expected_version is not None and ticket.version != expected_version:
                raise ConflictError(ticket_id, expected_version, ticket.version)
            draft = Draft(ticket, ticket)
            self.drafts[ticket_id] = draft
        if action is not None:
            self.authorize(action, draft.ticket)
        return draft

    def add(self, ticket: Ticket, *, depth: int = 0) -> Draft:
        """A draft for a ticket that does not exist yet."""
        draft = Draft(None, ticket, depth=depth)
        self.drafts[ticket.id] = draft
        return draft

    # ------------------------------------------------------------------ events

    def emit(self, draft: Draft, kind: str, data: Mapping[str, Any], *, actor: str | None = None) -> Event:
        """Record one event on ``draft`` and let its SLA clocks follow it."""
        event = Event(
            ticket_id=draft.ticket.id,
            kind=kind,
            actor=actor or self.actor.ref,
            at=self.now,
            data=data,
            tenant=draft.ticket.tenant,
        )
        self.track(draft, event)
        return event

    def track(self, draft: Draft, event: Event) -> None:
        draft.events.append(event)
        draft.ticket = self.desk.sla_apply(draft.ticket, event)

    # ------------------------------------------------------------------ operations

    def fire(self, draft: Draft, trigger: str, *, actor: str | None = None, **context: Any) -> None:
        """Fire a workflow trigger on the draft."""
        wf = self.desk.workflow_for(draft.ticket)
        before = draft.ticket
        ticket = before if before.updated_at <= self.now else replace_trusted(before, updated_at=self.now)
        new, events = wf.fire(ticket, trigger, at=self.now, actor=actor or self.actor.ref, **context)
        draft.ticket = new
        for event in events:
            self.track(draft, event)
        if len(events) > 1:  # hooks changed fields that may choose another SLA policy
            self.desk.sla_reselect(self, draft, "changed by a workflow hook")

    def can_fire(self, draft: Draft, trigger: str) -> bool:
        wf = self.desk.workflow_for(draft.ticket)
        return wf.can(draft.ticket, trigger, at=self.now, actor=self.actor.ref)

    def comment(self, draft: Draft, comment: Comment, *, actor: str | None = None) -> None:
        """Add a comment (an event); a public agent reply sets ``first_response_at``."""
        t = draft.ticket
        if (
            comment.public
            and comment.author_kind == "agent"
            and not comment.automatic
            and t.first_response_at is None
            and not draft.created
        ):
            draft.ticket = replace_trusted(t, first_response_at=comment.at)
        self.emit(draft, ev.COMMENT_ADDED, {"comment": _comment_data(comment)}, actor=actor)

    def assign(
        self,
        draft: Draft,
        *,
        team: str | None,
        agent: str | None,
        rule: str | None = None,
        reason: str = "",
        actor: str | None = None,
    ) -> bool:
        """Set team and assignee; False (no event) when nothing changes."""
        t = draft.ticket
        if t.team == team and t.assignee == agent:
            return False
        draft.ticket = replace_trusted(t, team=team, assignee=agent)
        self.emit(
            draft,
            ev.ASSIGNED,
            {
                "team": team,
                "agent": agent,
                "from_team": t.team,
                "from_agent": t.assignee,
                "rule": rule,
                "reason": reason,
            },
            actor=actor,
        )
        if team != t.team:
            self.desk.sla_reselect(self, draft, "team changed")
        return True

    def route(self, draft: Draft, *, actor: str | None = None, reason: str = "routed") -> bool:
        """Ask the router where the ticket goes and assign it there."""
        routed = self.desk.route(draft.ticket, self.now)
        if routed is None:
            return False
        for key, value in routed.changes.items():
            if key == "priority" and value is not None:
                self.set_priority(draft, Priority.parse(value), actor=actor)
            elif key == "tags" and value:
                self.tag(draft, add=value, actor=actor)
            elif key == "category" and value:
                self.set_category(draft, str(value), actor=actor)
        draft.policy_hint = routed.policy
        return self.assign(
            draft,
            team=routed.team,
            agent=routed.agent,
            rule=routed.rule,
            reason=f"{reason}: {routed.reason}",
            actor=actor,
        )

    def set_priority(self, draft: Draft, priority: Priority, *, actor: str | None = None) -> bool:
        t = draft.ticket
        if t.priority == priority:
            return False
        draft.ticket = replace_trusted(t, priority=priority)
        self.emit(draft, ev.PRIORITY_CHANGED, {"from": t.priority.value, "to": priority.value}, actor=actor)
        self.desk.sla_reselect(self, draft, "priority changed")
        return True

    def set_category(self, draft: Draft, category: str | None, *, actor: str | None = None) -> bool:
        t = draft.ticket
        if t.category == category:
            return False
        draft.ticket = replace_trusted(t, category=category)
        self.emit(draft, ev.CATEGORY_CHANGED, {"from": t.category, "to": category}, actor=actor)
        self.desk.sla_reselect(self, draft, "category changed")
        return True

    def tag(
        self, draft: Draft, *, add: Iterable[str] = (), remove: Iterable[str] = (), actor: str | None = None
    ) -> bool:
        t = draft.ticket
        add_set = frozenset(add) - t.tags
        remove_set = frozenset(remove) & t.tags
        if not add_set and not remove_set:
            return False
        draft.ticket = replace_trusted(t, tags=(t.tags | add_set) - remove_set)
        self.emit(
            draft, ev.TAGS_CHANGED, {"added": sorted(add_set), "removed": sorted(remove_set)}, actor=actor
        )
        self.desk.sla_reselect(self, draft, "tags changed")
        return True

    def set_fields(self, draft: Draft, values: Mapping[str, Any], *, actor: str | None = None) -> bool:
        t = draft.ticket
        current = thaw(t.fields)
        changes: dict[str, Any] = {}
        for key, value in values.items():
            plain = thaw(value)
            old = current.get(key)
            if plain is None:
                if key in current:
                    del current[key]
                    changes[key] = {"from": old, "to": None}
            elif old != plain or key not in current:
                current[key] = plain
                changes[key] = {"from": old, "to": plain}
        if not changes:
            return False
        draft.ticket = replace_trusted(t, fields=freeze(current))
        self.emit(draft, ev.FIELDS_CHANGED, {"changes": changes}, actor=actor)
        self.desk.sla_reselect(self, draft, "fields changed")
        return True

    def link(
        self, draft: Draft, kind: str, other: str, *, actor: str | None = None, event: bool = True
    ) -> None:
        t = draft.ticket
        link = Link(kind=kind, ticket_id=other)
        if link in t.links:
            return
        draft.ticket = replace_trusted(t, links=(*t.links, link))
        if event:
            self.emit(draft, ev.LINKED, {"kind": kind, "ticket_id": other}, actor=actor)

    def notify(
        self,
        draft: Draft,
        kind: str,
        recipients: Iterable[str],
        message: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue a notification, sent only after the commit."""
        resolved = self.desk.resolve_recipients(draft.ticket, recipients)
        if resolved:
            self.notes.append(
                Notification(
                    kind=kind,
                    recipients=resolved,
                    ticket=draft.ticket,
                    message=message,
                    at=self.now,
                    data=data or {},
                )
            )

    # ------------------------------------------------------------------ automations

    def run_automations(self) -> None:
        """Offer every new event to the automations until nothing new happens."""
        automations = self.desk.automations
        if not automations:
            return
        progress = True
        while progress:
            progress = False
            for draft in list(self.drafts.values()):
                while draft.seen < len(draft.events):
                    event = draft.events[draft.seen]
                    draft.seen += 1
                    if event.kind in (AUTOMATION_APPLIED, AUTOMATION_STOPPED):
                        continue
                    progress = True
                    for automation in automations:
                        if not automation.listens_to(event.kind):
                            continue
                        context = _LazyContext(self.desk.integrations, draft.ticket)
                        matched = automation.matches(draft.ticket, event, at=self.now, context=context)
                        if context.failures:
                            self._stop(draft, automation.name, event, "; ".join(context.failures))
                            continue
                        if matched:
                            self._apply_automation(draft, automation.name, automation.actions, event, context)

    def _stop(self, draft: Draft, name: str, event: Event, reason: str) -> None:
        key = (name, draft.ticket.id)
        if key in self.stopped:
            return
        self.stopped.add(key)
        self.emit(
            draft,
            AUTOMATION_STOPPED,
            {"automation": name, "event": event.kind, "reason": reason},
            actor=f"system:automation/{name}",
        )
        self.desk.log_stop(name, draft.ticket.id, reason)

    def _apply_automation(
        self, draft: Draft, name: str, actions: tuple[Action, ...], event: Event, context: Mapping[str, Any]
    ) -> None:
        key = (name, draft.ticket.id)
        actor = f"system:automation/{name}"
        if key in self.fired or self.automation_runs >= MAX_AUTOMATION_RUNS:
            reason = (
                "already ran in this change (a loop)" if key in self.fired else "too many automation runs"
            )
            self._stop(draft, name, event, reason)
            return
        self.fired.add(key)
        self.automation_runs += 1
        done = [action.kind for action in actions if self._action(draft, action, actor, context)]
        self.emit(
            draft, AUTOMATION_APPLIED, {"automation": name, "event": event.kind, "actions": done}, actor=actor
        )

    def _action(self, draft: Draft, action: Action, actor: str, context: Mapping[str, Any]) -> bool:
        p = action.params
        kind = action.kind
        if kind == "tag":
            return self.tag(draft, add=p["tags"], actor=actor)
        if kind == "untag":
            return self.tag(draft, remove=p["tags"], actor=actor)
        if kind == "set_fields":
            return self.set_fields(draft, p["fields"], actor=actor)
        if kind == "set_priority":
            return self.set_priority(draft, raise_priority(draft.ticket.priority, p["priority"]), actor=actor)
        if kind == "set_category":
            return self.set_category(draft, p["category"], actor=actor)
        if kind == "comment":
            body = render(p["body"], draft.ticket, context=context)
            self.comment(
                draft,
                Comment(
                    ticket_id=draft.ticket.id,
                    author=actor,
                    body=body,
                    at=self.now,
                    public=bool(p.get("public", False)),
                    author_kind="system",
                    automatic=True,
                ),
                actor=actor,
            )
            return True
        if kind == "notify":
            message = render(p["message"], draft.ticket, context=context)
            self.notify(draft, "automation", p["to"], message, {"automation": actor})
            return True
        if kind == "fire":
            if not self.can_fire(draft, p["trigger"]):
                return False
            try:
                self.fire(draft, p["trigger"], actor=actor)
            except InvalidTransitionError:
                return False
            return True
        if kind == "assign":
            if "team" in p or "agent" in p:
                return self.assign(
                    draft, team=p.get("team", draft.ticket.team), agent=p.get("agent"), actor=actor
                )
            return self.route(draft, actor=actor, reason="automation")
        if kind == "spawn":
            if draft.depth + 1 > MAX_DEPTH:
                self.emit(
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
            self.desk.spawn_into(self, draft, dict(spec), wait=bool(p.get("wait", True)), actor=actor)
            return True
        return False  # pragma: no cover - Action validates its kind

    # ------------------------------------------------------------------ parents and children

    def tell_parents(self) -> None:
        """A child that reached a resolved or closed kind tells its parent (which may resume)."""
        for draft in list(self.drafts.values()):
            t = draft.ticket
            if t.parent_id is None or draft.created:
                continue
            finished = any(
                e.kind == ev.STATUS_CHANGED
                and e.data.get("to_kind") in DONE_KINDS
                and e.data.get("from_kind") not in DONE_KINDS
                for e in draft.events[draft.told :]
            )
            draft.told = len(draft.events)
            if finished:
                self.desk.child_finished(self, draft)

    # ------------------------------------------------------------------ commit

    def commit(self) -> dict[str, Ticket]:
        """Save every changed draft in one atomic batch; the saved tickets by id."""
        changes: list[tuple[Ticket, list[Event], int | None]] = []
        for draft in self.drafts.values():
            if draft.created:
                version = 1  # however many transitions an automation fired on the new ticket
                ticket = replace_trusted(draft.ticket, version=version, updated_at=draft.ticket.created_at)
                events = [replace_trusted(e, version=version) for e in draft.events]
                changes.append((ticket, events, None))
            elif draft.events or draft.ticket is not draft.base:
                assert draft.base is not None
                version = draft.base.version + 1
                ticket = replace_trusted(draft.ticket, version=version, updated_at=self.now)
                events = [replace_trusted(e, version=version) for e in draft.events]
                changes.append((ticket, events, draft.base.version))
        if not changes:
            return {d.ticket.id: d.ticket for d in self.drafts.values()}
        store = self.desk.store
        if len(changes) == 1:
            ticket, events, expected = changes[0]
            saved = [
                store.create(ticket, events) if expected is None else store.save(ticket, events, expected)
            ]
        else:
            saved = store.save_many(changes)
        out = {d.ticket.id: d.ticket for d in self.drafts.values()}
        for ticket in saved:
            out[ticket.id] = ticket
        for ticket, events, _ in changes:
            self.desk.queue_event_notifications(self, out[ticket.id], events)
        return out


def _comment_data(comment: Comment) -> dict[str, Any]:
    data = to_dict(comment)
    assert isinstance(data, dict)
    return data


def raise_priority(current: Priority, target: Any) -> Priority:
    """``target`` as a priority; ``"+1"`` means one step above ``current`` (at most urgent)."""
    if target == "+1":
        order = list(Priority)
        return order[min(order.index(current) + 1, len(order) - 1)]
    return Priority.parse(target)
