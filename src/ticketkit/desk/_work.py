"""One change through the helpdesk: drafts of the tickets it touches, their events, one commit.

A `Work` loads tickets (checking tenancy and permissions), applies operations to
drafts (each operation is an event; the SLA clocks follow every event, and a
change that may pick another SLA policy recomputes the clocks under it), and
commits everything in one atomic ``commit`` (with its outbox rows), turning the committed events into
notifications. It holds no engine logic: workflows, SLA policies and the router do
the thinking. Automations and parents told about their children run on a `Work`
from their own modules (``_automations``, ``_subtickets``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeAlias

import attrs

from ticketkit.desk._access import Actor
from ticketkit.desk._calendars import recalendar
from ticketkit.desk._context import DeskContext
from ticketkit.desk._delivery import event_notifications, resolve_recipients
from ticketkit.desk._guard import authorize
from ticketkit.desk._masking import notification_view
from ticketkit.desk._outbox import notification_id, outbox_messages
from ticketkit.desk._placement import place
from ticketkit.errors import ConflictError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._encode import plain
from ticketkit.model._ids import new_id
from ticketkit.model._json import freeze, thaw
from ticketkit.model._models import Comment, Event, Link, Priority, Ticket, replace_trusted
from ticketkit.notify._notify import Notification
from ticketkit.sla._policy import reselect_policy, select_policy
from ticketkit.storage import OutboxMessage

Change: TypeAlias = "Callable[[Work], str]"
"""One operation as a function of a fresh `Work`: it applies itself and names the ticket to return."""


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


class Work:
    """The drafts, notifications and commit of one helpdesk change."""

    def __init__(self, desk: DeskContext, actor: Actor, now: datetime) -> None:
        self.desk = desk
        self.actor = actor
        self.now = now
        self.drafts: dict[str, Draft] = {}
        self.fired: set[tuple[str, str]] = set()  # (automation, ticket) that ran in this change
        self.stopped: set[tuple[str, str]] = set()  # (automation, ticket) recorded as stopped
        self.notes: list[Notification] = []  # sent only after the commit
        self.automation_runs = 0
        # Message keys (key -> ticket id) bound in the same commit (``Helpdesk.receive``).
        self.message_keys: dict[str, str] = {}

    # ------------------------------------------------------------------ loading and checking

    def authorize(self, action: str, ticket: Ticket | None) -> None:
        """Raise `PermissionDeniedError` unless the actor may ``action`` the ticket."""
        authorize(self.desk.access, self.actor, action, ticket)

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
        event = trusted_event(draft.ticket, kind, actor or self.actor.ref, self.now, data)
        self.track(draft, event)
        return event

    def track(self, draft: Draft, event: Event) -> None:
        draft.events.append(event)
        draft.ticket = self.desk.sla_apply(draft.ticket, event)

    # ------------------------------------------------------------------ SLA clocks

    def start_clocks(self, draft: Draft, policy_name: str | None = None) -> None:
        """Choose the policy for a new ticket (or the one named) and start its clocks."""
        draft.sla_ready = True
        desk = self.desk
        if policy_name is not None:
            policy = desk.policy_by_name.get(policy_name)
            if policy is None:
                known = ", ".join(sorted(desk.policy_by_name)) or "none"
                raise ValidationError.one("policy", f"unknown SLA policy {policy_name!r} (known: {known})")
            reason = "named when the ticket was opened"
        else:
            policy = select_policy(desk.policies, draft.ticket, self.now)
            if policy is None:
                return
            n = desk.policies.index(policy) + 1
            reason = f"policy {policy.name!r} is the first of {len(desk.policies)} that matches (number {n})"
        draft.ticket = policy.start(draft.ticket, self.now)
        self.emit(draft, ev.SLA_POLICY, {"policy": policy.name, "previous": None, "reason": reason})

    def reselect_policy(self, draft: Draft, reason: str) -> None:
        """After a change that may pick another policy, move the clocks to it (recomputed from history)."""
        policies = self.desk.policies
        if not policies or not draft.sla_ready:
            return
        t = draft.ticket
        chosen = select_policy(policies, t, self.now)
        current = t.sla.policy if t.sla is not None else None
        if (chosen.name if chosen is not None else None) == current:
            moved = None
            if chosen is not None:
                moved = recalendar(
                    self.desk, base=draft.base, ticket=t, events=draft.events, policy=chosen, reason=reason
                )
            if moved is not None:
                draft.ticket = moved[0]
                self.emit(draft, ev.SLA_POLICY, moved[1])
            return
        stored = self.desk.store.events(t.id, tenant=t.tenant) if not draft.created else []
        history = [*stored, *draft.events]
        updated, events = reselect_policy(policies, t, history, at=self.now)
        draft.ticket = updated
        for e in events:
            data = dict(thaw(e.data))
            data["reason"] = f"{reason}: {data.get('reason', '')}"
            self.emit(draft, e.kind, data, actor=e.actor)

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
            self.reselect_policy(draft, "changed by a workflow hook")

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
            self.reselect_policy(draft, "team changed")
        return True

    def route(self, draft: Draft, *, actor: str | None = None, reason: str = "routed") -> bool:
        """Ask the router where the ticket goes and assign it there."""
        routed = place(self.desk, draft.ticket, self.now)
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
        self.reselect_policy(draft, "priority changed")
        return True

    def set_category(self, draft: Draft, category: str | None, *, actor: str | None = None) -> bool:
        t = draft.ticket
        if t.category == category:
            return False
        draft.ticket = replace_trusted(t, category=category)
        self.emit(draft, ev.CATEGORY_CHANGED, {"from": t.category, "to": category}, actor=actor)
        self.reselect_policy(draft, "category changed")
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
        self.reselect_policy(draft, "tags changed")
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
        self.reselect_policy(draft, "fields changed")
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
        resolved = resolve_recipients(self.desk.teams, draft.ticket, recipients)
        if resolved:
            # masked unless only the ticket's own customer reads it (desk._masking)
            message, data = notification_view(
                draft.ticket,
                resolved,
                message,
                data or {},
                personal=self.desk.personal,
                region=self.desk.region,
            )
            self.notes.append(
                Notification(
                    kind=kind,
                    recipients=resolved,
                    ticket=draft.ticket,
                    message=message,
                    at=self.now,
                    data=data,
                )
            )

    # ------------------------------------------------------------------ commit

    def pending(self) -> list[tuple[Ticket, list[Event], int | None]]:
        """The writes this change makes: ``(ticket, events, expected version)`` per changed draft."""
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
        return changes

    def outbox(self, changes: list[tuple[Ticket, list[Event], int | None]]) -> list[OutboxMessage]:
        """Before ``changes`` are saved: their notifications (kept in ``notes``) as outbox rows.

        The notifications are made before the save and written in its transaction
        (the transactional outbox): a crash after the commit cannot lose them.
        """
        final = {t.id: t for t, _, _ in changes}
        notes = list(self.notes)
        for ticket, events, _ in changes:
            notes.extend(
                event_notifications(
                    self.desk.teams,
                    ticket,
                    events,
                    self.now,
                    personal=self.desk.personal,
                    region=self.desk.region,
                )
            )
        self.notes = [
            attrs.evolve(n, id=notification_id(final.get(n.ticket.id, n.ticket), i))
            for i, n in enumerate(notes)
        ]
        return outbox_messages(self.desk, self.notes)

    def committed(self, saved: Iterable[Ticket]) -> dict[str, Ticket]:
        """After the save: the tickets by id (the saved ones over the drafts)."""
        out = {d.ticket.id: d.ticket for d in self.drafts.values()}
        for ticket in saved:
            out[ticket.id] = ticket
        return out

    def commit(self) -> dict[str, Ticket]:
        """Save every changed draft and its notifications in one atomic write; the saved tickets by id."""
        changes = self.pending()
        if not changes:
            self.notes = [attrs.evolve(n, id=f"{n.ticket.id}/{new_id(self.now)}") for n in self.notes]
            if self.message_keys:
                self.desk.store.commit([], message_keys=self.message_keys, tenant=self.actor.tenant)
            return {d.ticket.id: d.ticket for d in self.drafts.values()}
        outbox = self.outbox(changes)
        if not self.message_keys:
            return self.committed(self.desk.store.commit(changes, outbox))
        saved = self.desk.store.commit(
            changes, outbox, message_keys=self.message_keys, tenant=self.actor.tenant
        )
        return self.committed(saved)


_EVENT_NEW = object.__new__


def trusted_event(ticket: Ticket, kind: str, actor: str, at: datetime, data: Mapping[str, Any]) -> Event:
    """An event the desk built from checked values, made without re-checking them.

    Equal to ``Event(ticket_id=ticket.id, kind=kind, actor=actor, at=at, data=data,
    tenant=ticket.tenant)``; the ticket, actor and time were checked when they came
    in, and ``data`` is frozen here as the constructor would.
    """
    event = _EVENT_NEW(Event)
    object.__setattr__(
        event,
        "__dict__",
        {
            "ticket_id": ticket.id,
            "kind": kind,
            "actor": actor,
            "at": at,
            "data": freeze(data),
            "version": 0,
            "tenant": ticket.tenant,
            "id": new_id(at),
        },
    )
    return event


def _comment_data(comment: Comment) -> dict[str, Any]:
    data = plain(comment)
    assert isinstance(data, dict)
    return data
