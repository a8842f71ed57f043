"""The Helpdesk: the one place that ties the engines to storage and notification.

Every change goes the same way: load the tickets it touches (in the actor's tenant,
checking the access policy), apply the change as events (workflow transitions,
comments, assignments, ...), let the SLA clocks follow each event, run the
automations on the new events, tell parents about children that finished, save
everything in one atomic step (optimistic: a concurrent write is detected, and the
change is applied again to the fresh ticket or ``ConflictError`` is raised), and
only then notify. A notifier that fails loses nothing: the notification is kept
and [`Helpdesk.retry_notifications`][ticketkit.Helpdesk.retry_notifications] sends it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, Final, NamedTuple

import attrs

from ticketkit.automation._automation import Automation, check_automations
from ticketkit.desk._access import AccessPolicy, Actor, DefaultAccess, mask_personal, mask_ticket
from ticketkit.desk._text import (
    Progress,
    notification_message,
    pick_language,
    progress_message,
    status_text,
    translations,
)
from ticketkit.desk._work import CHILD_RESOLVED, DEDUPLICATED, DONE_KINDS, OPEN_KINDS, Draft, Work
from ticketkit.directory._directory import CustomerDirectory, Integration
from ticketkit.errors import ConflictError, ErrorDetail, NotFoundError, ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._clock import Clock, as_now
from ticketkit.model._ids import new_id
from ticketkit.model._json import freeze, json_problems, thaw
from ticketkit.model._models import Comment, Customer, Event, Link, Priority, Team, Ticket, replace_trusted
from ticketkit.model._serialization import to_dict
from ticketkit.notify._notify import Notification, Notifier
from ticketkit.routing._router import Router
from ticketkit.sla._policy import SLAPolicy, SLAStatus, reselect_policy, select_policy
from ticketkit.storage import TicketStore
from ticketkit.storage._base import export_header, export_line
from ticketkit.workflow._workflow import Workflow, Workflows

__all__ = ["CHANNELS", "FailedNotification", "Helpdesk"]

log = logging.getLogger("ticketkit.desk")

CHANNELS: Final = ("email", "phone", "web", "app", "wechat", "chatbot", "api")
"""The channels ticketkit names; any other non-empty name works too."""

_SYSTEM_INTAKE: Final = "intake"
_QUERY_FILTERS: Final = frozenset(
    {
        "status",
        "status_kind",
        "team",
        "assignee",
        "customer",
        "category",
        "priority",
        "tags",
        "created_since",
        "created_before",
        "updated_since",
        "updated_before",
        "text",
        "next_due_before",
        "parent_id",
        "order_by",
    }
)


class Routed(NamedTuple):
    """What the router decided, as the desk applies it."""

    team: str | None
    agent: str | None
    rule: str | None
    changes: Mapping[str, Any]
    reason: str
    policy: str | None


@attrs.frozen(kw_only=True)
class FailedNotification:
    """A notification the notifier could not send, kept for `Helpdesk.retry_notifications`.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Notification, Ticket
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> n = Notification(
        ...     kind="sla.breached",
        ...     recipients="team:a",
        ...     message="late",
        ...     at=at,
        ...     ticket=Ticket(subject="s", created_at=at),
        ... )
        >>> FailedNotification(
        ...     notification=n, error="ConnectionError('smtp down')", attempts=1, failed_at=at
        ... ).attempts
        1
    """

    notification: Notification
    error: str
    attempts: int
    failed_at: datetime


def _as_workflows(value: Workflows | Workflow | Mapping[str, Workflow] | None) -> Workflows:
    if value is None:
        return Workflows()
    if isinstance(value, Workflows):
        return value
    if isinstance(value, Workflow):
        return Workflows({"support": value, value.name: value})
    if isinstance(value, Mapping):
        return Workflows(value)
    raise ValidationError.one("workflows", f"expected Workflows, a Workflow or a mapping, got {value!r}")


class Helpdesk:
    """Intake, routing, workflow, SLA clocks, automations, permissions and notifications, in one place.

    Args:
        store: where tickets and their events live ([`InMemoryStore`][ticketkit.InMemoryStore],
            [`SQLiteStore`][ticketkit.SQLiteStore], or your own [`TicketStore`][ticketkit.TicketStore]).
        workflows: the workflow per ticket type ([`Workflows`][ticketkit.Workflows], one
            [`Workflow`][ticketkit.Workflow] for the type named like it, or a mapping);
            default: [`default_workflow`][ticketkit.default_workflow] for ``support``.
        router: decides team and agent at intake and on escalation (a
            [`Router`][ticketkit.Router]); None leaves tickets unassigned.
        policies: SLA policies, first match wins.
        notifier: delivers notifications after each commit (None: nobody is told).
        clock: the time (an object with ``now()`` or a function); None is the system clock.
        customers: a [`CustomerDirectory`][ticketkit.CustomerDirectory] to look customers up at intake.
        access: the [`AccessPolicy`][ticketkit.AccessPolicy] (default
            [`DefaultAccess`][ticketkit.DefaultAccess]).
        automations: [`Automation`][ticketkit.Automation] rules (objects or their data form).
        integrations: named [`Integration`][ticketkit.Integration]s whose answers automations read as
            ``context.<name>``.
        teams: [`Team`][ticketkit.Team]s (names and leads for progress views and notifications);
            default: the router's teams.
        dedupe_window: how far back a new request of the same customer and category
            counts as a duplicate of an open ticket (None turns that check off; an
            equal ``external_ref`` always counts).
        wait_trigger: the trigger that parks a parent waiting on its sub-tickets.
        resume_trigger: the trigger that brings it back when they are done.
        merge_trigger: the trigger that closes a ticket merged into another.
        reopen_trigger: fired when the customer writes on a resolved ticket (None: never).
        labels: display names per language, ``{"zh": {"after-sales": "售后"}}``, for
            [`progress`][ticketkit.Helpdesk.progress].
        worker: this process's name when claiming due tickets.
        lease: how long a claim holds before another worker may take the ticket.
        max_attempts: how often a change is applied again after a concurrent write.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> from ticketkit.testing import ManualClock
        >>> clock = ManualClock(datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
        >>> policy = tk.SLAPolicy(
        ...     name="std",
        ...     calendar=tk.BusinessCalendar.always_open(),
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
        ... )
        >>> desk = tk.Helpdesk(
        ...     store=tk.InMemoryStore(), policies=[policy], clock=clock, notifier=tk.RecordingNotifier()
        ... )
        >>> t = desk.open(subject="Parcel arrived damaged", channel="wechat", customer="c-1")
        >>> li = tk.Actor(id="li", roles={"admin"})
        >>> t = desk.comment(t.id, "Sorry! A replacement is on its way.", actor=li)
        >>> desk.fire(t.id, "open", actor=li).status
        'open'
        >>> desk.sla_status(t.id, actor=li)["first_response"].state
        'met'
    """

    def __init__(
        self,
        *,
        store: TicketStore,
        workflows: Workflows | Workflow | Mapping[str, Workflow] | None = None,
        router: Router | None = None,
        policies: Sequence[SLAPolicy] = (),
        notifier: Notifier | None = None,
        clock: Clock | Callable[[], datetime] | None = None,
        customers: CustomerDirectory | None = None,
        access: AccessPolicy | None = None,
        automations: Iterable[Automation | Mapping[str, Any]] = (),
        integrations: Mapping[str, Integration | Callable[[Ticket], Mapping[str, Any]]] | None = None,
        teams: Iterable[Team] | None = None,
        dedupe_window: timedelta | None = timedelta(days=1),
        wait_trigger: str = "wait",
        resume_trigger: str = "resume",
        merge_trigger: str = "cancel",
        reopen_trigger: str | None = "reopen",
        labels: Mapping[str, Mapping[str, str]] | None = None,
        worker: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 5,
    ) -> None:
        problems: list[ErrorDetail] = []
        if _wrong(store, TicketStore):
            problems.append(ErrorDetail("store", f"expected a TicketStore, got {store!r}"))
        policies = tuple(policies)
        names: set[str] = set()
        for i, p in enumerate(policies):
            if _wrong(p, SLAPolicy):
                problems.append(ErrorDetail(f"policies[{i}]", f"expected an SLAPolicy, got {p!r}"))
            elif p.name in names:
                problems.append(ErrorDetail(f"policies[{i}].name", f"duplicate policy name {p.name!r}"))
            else:
                names.add(p.name)
        if notifier is not None and _wrong(notifier, Notifier):
            problems.append(ErrorDetail("notifier", f"expected a Notifier, got {notifier!r}"))
        if customers is not None and _wrong(customers, CustomerDirectory):
            problems.append(ErrorDetail("customers", f"expected a CustomerDirectory, got {customers!r}"))
        if access is not None and not callable(getattr(access, "check", None)):
            problems.append(ErrorDetail("access", f"expected an AccessPolicy (with check()), got {access!r}"))
        for name, integration in (integrations or {}).items():
            if not callable(_as_object(integration)):
                problems.append(
                    ErrorDetail(f"integrations.{name}", f"expected a callable, got {integration!r}")
                )
        if dedupe_window is not None and (_wrong(dedupe_window, timedelta) or dedupe_window < timedelta(0)):
            problems.append(
                ErrorDetail("dedupe_window", f"expected a timedelta or None, got {dedupe_window!r}")
            )
        if _wrong(lease, timedelta) or lease <= timedelta(0):
            problems.append(ErrorDetail("lease", f"expected a positive timedelta, got {lease!r}"))
        if _wrong(max_attempts, int) or _is_bool(max_attempts) or max_attempts < 1:
            problems.append(
                ErrorDetail("max_attempts", f"expected an integer of at least 1, got {max_attempts!r}")
            )
        try:
            self.workflows = _as_workflows(workflows)
        except ValidationError as err:
            problems.extend(
                err.prefixed("workflows").errors if err.errors[0].path != "workflows" else err.errors
            )
        try:
            self.automations: tuple[Automation, ...] = check_automations(automations)
        except ValidationError as err:
            problems.extend(err.errors)
        try:
            self._now = as_now(clock)
        except ValidationError as err:
            problems.extend(err.errors)
        if problems:
            raise ValidationError(problems)
        self.store = store
        self.router = router
        self._sticky = any(
            getattr(getattr(rule, "assign", None), "strategy", None) == "sticky"
            for rule in getattr(router, "rules", ())
        )
        self.policies: tuple[SLAPolicy, ...] = policies
        self._policy_by_name = {p.name: p for p in policies}
        self.notifier = notifier
        self.customers = customers
        self.access: AccessPolicy = access if access is not None else DefaultAccess()
        self.integrations: Mapping[str, Callable[[Ticket], Mapping[str, Any]]] = dict(integrations or {})
        team_list = list(teams) if teams is not None else list(getattr(router, "teams", None) or ())
        self.teams: Mapping[str, Any] = {getattr(t, "id", str(t)): t for t in team_list}
        self.dedupe_window = dedupe_window
        self.wait_trigger = wait_trigger
        self.resume_trigger = resume_trigger
        self.merge_trigger = merge_trigger
        self.reopen_trigger = reopen_trigger
        self.labels: Mapping[str, Mapping[str, str]] = {k: dict(v) for k, v in (labels or {}).items()}
        self.worker = worker or f"desk-{new_id(self._now())[-8:]}"
        self.lease = lease
        self.max_attempts = max_attempts
        self._outbox: list[FailedNotification] = []
        self._outbox_lock = threading.Lock()

    # ================================================================== running a change

    def now(self) -> datetime:
        """The desk's clock reading.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).now().tzinfo is not None
            True
        """
        return self._now()

    def _run(self, actor: Actor, fn: Callable[[Work], str], *, strict: bool = False) -> Ticket:
        """Apply ``fn`` in a fresh Work, commit, notify; retry on a concurrent write unless strict."""
        if _wrong(actor, Actor):
            raise ValidationError.one("actor", f"expected an Actor (who is acting), got {actor!r}")
        attempt = 0
        while True:
            attempt += 1
            work = Work(self, actor, self._now())
            ticket_id = fn(work)
            self._settle(work)
            try:
                saved = work.commit()
            except ConflictError:
                if strict or attempt >= self.max_attempts:
                    raise
                log.debug(
                    "concurrent write on %s; applying the change again (attempt %d)", ticket_id, attempt
                )
                continue
            self._deliver(work.notes)
            return saved[ticket_id]

    @staticmethod
    def _settle(work: Work) -> None:
        """Run automations and tell parents until nothing new happens."""
        while True:
            before = sum(len(d.events) for d in work.drafts.values())
            work.run_automations()
            work.tell_parents()
            if sum(len(d.events) for d in work.drafts.values()) == before:
                return

    # ================================================================== engines (thin adapters)

    def workflow_for(self, ticket: Ticket) -> Workflow:
        """The workflow of the ticket's type."""
        return self.workflows.for_ticket(ticket)

    def policy_of(self, ticket: Ticket) -> SLAPolicy | None:
        """The SLA policy the ticket runs under (None when none applies or it is unknown)."""
        if ticket.sla is None or ticket.sla.policy is None:
            return None
        return self._policy_by_name.get(ticket.sla.policy)

    def sla_apply(self, ticket: Ticket, event: Event) -> Ticket:
        """The ticket with its SLA clocks moved by ``event``."""
        policy = self.policy_of(ticket)
        return policy.apply(ticket, event) if policy is not None else ticket

    def sla_start(self, work: Work, draft: Draft, policy_name: str | None = None) -> None:
        """Choose the policy for a new ticket (or the one named) and start its clocks."""
        draft.sla_ready = True
        if policy_name is not None:
            policy = self._policy_by_name.get(policy_name)
            if policy is None:
                known = ", ".join(sorted(self._policy_by_name)) or "none"
                raise ValidationError.one("policy", f"unknown SLA policy {policy_name!r} (known: {known})")
            reason = "named when the ticket was opened"
        else:
            policy = select_policy(self.policies, draft.ticket, work.now)
            if policy is None:
                return
            n = self.policies.index(policy) + 1
            reason = f"policy {policy.name!r} is the first of {len(self.policies)} that matches (number {n})"
        draft.ticket = policy.start(draft.ticket, work.now)
        work.emit(draft, ev.SLA_POLICY, {"policy": policy.name, "previous": None, "reason": reason})

    def sla_reselect(self, work: Work, draft: Draft, reason: str) -> None:
        """After a change that may pick another policy, move the clocks to it (recomputed from history)."""
        if not self.policies or not draft.sla_ready:
            return
        t = draft.ticket
        chosen = select_policy(self.policies, t, work.now)
        current = t.sla.policy if t.sla is not None else None
        if (chosen.name if chosen is not None else None) == current:
            return
        stored = self.store.events(t.id, tenant=t.tenant) if not draft.created else []
        history = [*stored, *draft.events]
        updated, events = reselect_policy(self.policies, t, history, at=work.now)
        draft.ticket = updated
        for e in events:
            data = dict(thaw(e.data))
            data["reason"] = f"{reason}: {data.get('reason', '')}"
            work.emit(draft, e.kind, data, actor=e.actor)

    def route(self, ticket: Ticket, at: datetime) -> Routed | None:
        """Ask the router where the ticket goes (None without a router, or when it places it nowhere)."""
        if self.router is None:
            return None
        decision = self.router.route(
            ticket, at=at, load=self._load(ticket.tenant), last_agent=self._last_agent(ticket)
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

    def _last_agent(self, ticket: Ticket) -> str | None:
        """The agent who last worked a ticket of this customer (for sticky routing)."""
        if ticket.customer is None or not self._sticky:
            return None
        page = self.store.query(
            tenant=ticket.tenant, customer=ticket.customer.id, order_by="-updated_at", limit=5
        )
        for other in page:
            if other.assignee and other.id != ticket.id:
                return other.assignee
        return None

    def _load(self, tenant: str) -> dict[str, int]:
        """Open tickets per agent the router knows (for least-loaded strategies)."""
        agents = getattr(self.router, "agents", None) or ()
        out: dict[str, int] = {}
        for agent in agents:
            agent_id = getattr(agent, "id", None)
            if isinstance(agent_id, str):
                out[agent_id] = self.store.count(tenant=tenant, assignee=agent_id, status_kind=OPEN_KINDS)
        return out

    # ================================================================== intake

    def open(
        self,
        *,
        subject: str,
        channel: str = "api",
        customer: Customer | str | None = None,
        actor: Actor | None = None,
        description: str = "",
        category: str | None = None,
        priority: Priority | str | None = None,
        type: str = "support",  # noqa: A002 - the ticket field's name
        fields: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        external_ref: str | None = None,
        transcript: Iterable[Comment | Mapping[str, Any] | tuple[str, str]] = (),
        team: str | None = None,
        assignee: str | None = None,
        policy: str | None = None,
        dedupe: bool = True,
        tenant: str | None = None,
    ) -> Ticket:
        """Take a request from any channel and make it one ticket (or add it to the customer's open one).

        The customer (an id, or a partial [`Customer`][ticketkit.Customer] from the
        channel) is looked up in the directory so the ticket carries their tier,
        shop, orders or visits. A chatbot hand-off passes the conversation as
        ``transcript``: ``(speaker, text)`` pairs (speaker ``"bot"`` or
        ``"customer"``), dicts with ``author``/``body``/``at``/``author_kind``, or
        [`Comment`][ticketkit.Comment]s; each becomes a comment. Unless
        ``team``/``assignee`` are given the router places the ticket; the SLA
        policy is chosen (or the one named by ``policy``) and its clocks start;
        automations run; all of it is saved at once, then notifications go out.

        When ``dedupe`` is on and the customer has an open ticket with the same
        ``external_ref``, or with the same category opened within
        ``dedupe_window``, no new ticket is made: the request is added to that one
        as a customer comment (a ``ticket.deduplicated`` event) and that ticket is
        returned.

        ``actor`` defaults to the system intake of ``tenant`` (or the customer's
        tenant); a customer actor opens tickets for themselves.

        Raises:
            ValidationError: bad arguments, every problem listed.
            PermissionDeniedError: the actor may not open tickets (for this customer).

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> from ticketkit.testing import ManualClock
            >>> desk = tk.Helpdesk(
            ...     store=tk.InMemoryStore(), clock=ManualClock(datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
            ... )
            >>> t = desk.open(
            ...     subject="Where is my refund?",
            ...     channel="chatbot",
            ...     customer="c-7",
            ...     category="refund",
            ...     transcript=[("customer", "refund?"), ("bot", "Let me get a person for you.")],
            ... )
            >>> again = desk.open(
            ...     subject="Refund still missing", channel="phone", customer="c-7", category="refund"
            ... )
            >>> kinds = [e.kind for e in desk.history(t.id, actor=tk.Actor.system())]
            >>> again.id == t.id, kinds[-2:]
            (True, ['ticket.deduplicated', 'comment.added'])
        """
        problems: list[ErrorDetail] = []
        if _wrong(subject, str) or not subject.strip():
            problems.append(ErrorDetail("subject", f"expected a non-empty string, got {subject!r}"))
        if _wrong(channel, str) or not channel.strip():
            problems.append(
                ErrorDetail("channel", f"expected a channel name such as 'wechat', got {channel!r}")
            )
        if actor is not None and _wrong(actor, Actor):
            problems.append(ErrorDetail("actor", f"expected an Actor or None, got {actor!r}"))
        if customer is not None and _wrong(customer, (Customer, str)):
            problems.append(
                ErrorDetail("customer", f"expected a Customer, a customer id or None, got {customer!r}")
            )
        if fields is not None:
            if _wrong(fields, Mapping):
                problems.append(ErrorDetail("fields", f"expected a mapping, got {fields!r}"))
            else:
                problems.extend(json_problems(fields, "fields"))
        tag_list: list[str] = []
        if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
            problems.append(ErrorDetail("tags", f"expected a list of tags, got {tags!r}"))
        else:
            tag_list = list(tags)
            problems.extend(
                ErrorDetail(f"tags[{i}]", f"expected a non-empty string, got {x!r}")
                for i, x in enumerate(tag_list)
                if not isinstance(x, str) or not x
            )
        prio: Priority = Priority.NORMAL
        if priority is not None:
            try:
                prio = Priority.parse(priority)
            except ValidationError as err:
                problems.extend(err.errors)
        messages = self._transcript(transcript, problems)
        if problems:
            raise ValidationError(problems)
        if actor is None:
            ten = tenant or (customer.tenant if isinstance(customer, Customer) else "default")
            actor = Actor(id=_SYSTEM_INTAKE, roles={"system"}, tenant=ten)
        elif tenant is not None and tenant != actor.tenant:
            raise ValidationError.one("tenant", f"the actor works in tenant {actor.tenant!r}, not {tenant!r}")
        if customer is None and actor.kind == "customer":
            customer = actor.id
        record = self._customer(customer, actor.tenant)

        def change(work: Work) -> str:
            now = work.now
            ticket = Ticket(
                subject=subject.strip(),
                created_at=now,
                tenant=actor.tenant,
                type=type,
                description=description,
                channel=channel.strip().lower(),
                customer=record,
                category=category,
                priority=prio,
                team=team,
                assignee=assignee,
                tags=frozenset(tag_list),
                fields=freeze(dict(fields or {})),
                external_ref=external_ref,
            )
            ticket = self.workflow_for(ticket).start(ticket)
            work.authorize("open", ticket)
            if dedupe and record is not None:
                existing = self._duplicate_of(work, ticket)
                if existing is not None:
                    return self._merge_request(work, existing, ticket, messages)
            draft = work.add(ticket)
            work.emit(
                draft,
                ev.TICKET_CREATED,
                {
                    "channel": ticket.channel,
                    "subject": ticket.subject,
                    "category": ticket.category,
                    "priority": ticket.priority.value,
                    "customer": record.id if record is not None else None,
                    "type": ticket.type,
                    "external_ref": external_ref,
                },
            )
            for message in messages:
                work.comment(draft, self._as_comment(message, ticket, record, now))
            if team is None and assignee is None:
                work.route(draft)
            else:
                work.emit(
                    draft,
                    ev.ASSIGNED,
                    {
                        "team": team,
                        "agent": assignee,
                        "from_team": None,
                        "from_agent": None,
                        "rule": None,
                        "reason": "given at intake",
                    },
                )
            self.sla_start(work, draft, policy or draft.policy_hint)
            return ticket.id

        return self._run(actor, change)

    def _customer(self, customer: Customer | str | None, tenant: str) -> Customer | None:
        if customer is None:
            return None
        if self.customers is not None:
            found = self.customers.resolve(customer, tenant=tenant)
        else:
            found = customer if isinstance(customer, Customer) else Customer(id=customer, tenant=tenant)
        if found.tenant != tenant:
            found = attrs.evolve(found, tenant=tenant)
        return found

    @staticmethod
    def _transcript(
        transcript: Iterable[Comment | Mapping[str, Any] | tuple[str, str]], problems: list[ErrorDetail]
    ) -> list[Comment | Mapping[str, Any] | tuple[str, str]]:
        if not _wrong(transcript, (str, bytes)) or _wrong(transcript, Iterable):
            problems.append(ErrorDetail("transcript", f"expected a list of messages, got {transcript!r}"))
            return []
        out = list(transcript)
        for i, m in enumerate(out):
            if isinstance(m, Comment):
                continue
            if isinstance(m, tuple) and len(m) == 2 and all(isinstance(x, str) for x in m):
                continue
            if isinstance(m, Mapping) and isinstance(m.get("body"), str):
                unknown = set(m) - {"author", "body", "at", "author_kind", "public"}
                if unknown:
                    problems.append(ErrorDetail(f"transcript[{i}]", f"unknown keys {sorted(unknown)!r}"))
                continue
            problems.append(
                ErrorDetail(
                    f"transcript[{i}]",
                    f"expected (speaker, text), a dict with 'body', or a Comment, got {m!r}",
                )
            )
        return out

    @staticmethod
    def _as_comment(
        message: Comment | Mapping[str, Any] | tuple[str, str],
        ticket: Ticket,
        customer: Customer | None,
        now: datetime,
    ) -> Comment:
        if isinstance(message, Comment):
            return attrs.evolve(message, ticket_id=ticket.id)
        if isinstance(message, tuple):
            speaker, text = message
            kind = "customer" if speaker == "customer" else "bot" if speaker == "bot" else "agent"
            author = customer.id if kind == "customer" and customer is not None else speaker
            return Comment(
                ticket_id=ticket.id, author=author, body=text, at=now, author_kind=kind, public=True
            )
        speaker = str(message.get("author", "bot"))
        kind = message.get("author_kind") or ("customer" if speaker == "customer" else "bot")
        author = customer.id if speaker == "customer" and customer is not None else speaker
        return Comment(
            ticket_id=ticket.id,
            author=author,
            body=message["body"],
            at=message.get("at") or now,
            author_kind=kind,
            public=bool(message.get("public", True)),
        )

    def _duplicate_of(self, work: Work, ticket: Ticket) -> Ticket | None:
        """An open ticket of the same customer this request repeats, if any."""
        assert ticket.customer is not None
        page = self.store.query(
            tenant=ticket.tenant,
            customer=ticket.customer.id,
            status_kind=OPEN_KINDS,
            order_by="-created_at",
            limit=100,
        )
        since = work.now - self.dedupe_window if self.dedupe_window is not None else None
        # Only into a ticket the actor could comment on themselves (an agent taking a call may
        # not see the customer's ticket of another team; then the request becomes its own ticket).
        visible = [other for other in page if self.access.check(work.actor, "comment", other) is None]
        for other in visible:
            if ticket.external_ref is not None and other.external_ref == ticket.external_ref:
                return other
        if since is None or ticket.category is None:
            return None
        for other in visible:
            if other.category == ticket.category and other.created_at >= since and other.type == ticket.type:
                return other
        return None

    def _merge_request(
        self,
        work: Work,
        existing: Ticket,
        request: Ticket,
        messages: Sequence[Comment | Mapping[str, Any] | tuple[str, str]],
    ) -> str:
        draft = work.load(existing.id, None)
        reason = (
            f"same external reference {request.external_ref!r}"
            if request.external_ref is not None and existing.external_ref == request.external_ref
            else f"same category {request.category!r} within {self.dedupe_window}"
        )
        work.emit(
            draft,
            DEDUPLICATED,
            {
                "channel": request.channel,
                "reason": reason,
                "external_ref": request.external_ref,
                "subject": request.subject,
            },
        )
        assert request.customer is not None
        body = request.subject if not request.description else f"{request.subject}\n\n{request.description}"
        work.comment(
            draft,
            Comment(
                ticket_id=existing.id,
                author=request.customer.id,
                body=body,
                at=work.now,
                author_kind="customer",
                public=True,
            ),
        )
        for message in messages:
            work.comment(draft, self._as_comment(message, existing, request.customer, work.now))
        return existing.id

    # ================================================================== reading

    def get(self, ticket_id: str, *, actor: Actor) -> Ticket:
        """The ticket, if ``actor`` may read it.

        Raises:
            NotFoundError: no such ticket in the actor's tenant.
            PermissionDeniedError: the actor may not read it.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", customer="c-1")
            >>> desk.get(t.id, actor=tk.Actor.customer("c-1")).subject
            'Hello'
        """
        return self._read(ticket_id, actor)

    def _read(self, ticket_id: str, actor: Actor, action: str = "read") -> Ticket:
        if _wrong(actor, Actor):
            raise ValidationError.one("actor", f"expected an Actor (who is asking), got {actor!r}")
        work = Work(self, actor, self._now())
        return work.load(ticket_id, action).ticket

    def tickets(self, *, actor: Actor, **filters: Any) -> Iterator[Ticket]:
        """Every ticket the actor may read that passes ``filters`` (those of `TicketStore.query`).

        Only the actor's tenant is ever searched; ``tenant`` cannot be overridden.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> a = desk.open(subject="A", customer="c-1")
            >>> b = desk.open(subject="B", customer="c-2")
            >>> mine = [t.subject for t in desk.tickets(actor=tk.Actor.customer("c-2"))]
            >>> mine
            ['B']
        """
        if _wrong(actor, Actor):
            raise ValidationError.one("actor", f"expected an Actor, got {actor!r}")
        if "tenant" in filters and filters["tenant"] != actor.tenant:
            raise ValidationError.one("tenant", f"the actor works in tenant {actor.tenant!r}")
        filters.pop("tenant", None)
        filters.pop("cursor", None)
        limit = filters.pop("limit", 200)
        unknown = sorted(set(filters) - _QUERY_FILTERS)
        if unknown:
            raise ValidationError(
                [
                    ErrorDetail(
                        name,
                        f"unknown filter {name!r} (expected one of: {', '.join(sorted(_QUERY_FILTERS))})",
                    )
                    for name in unknown
                ]
            )
        cursor: str | None = None
        while True:
            page = self.store.query(tenant=actor.tenant, limit=limit, cursor=cursor, **filters)
            for ticket in page:
                if ticket.tenant == actor.tenant and self.access.check(actor, "read", ticket) is None:
                    yield ticket
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def history(self, ticket_id: str, *, actor: Actor) -> list[Event]:
        """Every event of the ticket, in order (customers do not see internal notes or automation records).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> kinds = [e.kind for e in desk.history(t.id, actor=tk.Actor.system())]
            >>> kinds
            ['ticket.created']
        """
        ticket = self._read(ticket_id, actor)
        events = self.store.events(ticket.id, tenant=actor.tenant)
        if actor.kind == "customer":
            events = [e for e in events if _customer_visible(e)]
        return events

    def comments(self, ticket_id: str, *, actor: Actor) -> list[Comment]:
        """The ticket's comments in order (customers see public ones only).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", customer="c-1", transcript=[("bot", "Hi!")])
            >>> bodies = [c.body for c in desk.comments(t.id, actor=tk.Actor.customer("c-1"))]
            >>> bodies
            ['Hi!']
        """
        from ticketkit.model._serialization import from_dict  # noqa: PLC0415 - a cold path

        return [
            from_dict(Comment, thaw(e.data["comment"]))
            for e in self.history(ticket_id, actor=actor)
            if e.kind == ev.COMMENT_ADDED and isinstance(e.data.get("comment"), Mapping)
        ]

    def children(self, ticket_id: str, *, actor: Actor) -> list[Ticket]:
        """The sub-tickets of a ticket the actor may read, oldest first.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Machine down")
            >>> admin = tk.Actor(id="a", roles={"admin"})
            >>> _ = desk.fire(t.id, "open", actor=admin)
            >>> c = desk.spawn(t.id, subject="Check stock", actor=admin)
            >>> [x.id for x in desk.children(t.id, actor=admin)] == [c.id]
            True
        """
        parent = self._read(ticket_id, actor)
        return list(self.tickets(actor=actor, parent_id=parent.id))

    def sla_status(self, ticket_id: str, *, actor: Actor) -> dict[str, SLAStatus]:
        """Each SLA clock's [`SLAStatus`][ticketkit.SLAStatus] now (empty when no policy applies).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> policy = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[policy])
            >>> t = desk.open(subject="Hello")
            >>> desk.sla_status(t.id, actor=tk.Actor.system())["resolution"].state
            'running'

        """
        ticket = self._read(ticket_id, actor)
        policy = self.policy_of(ticket)
        return policy.status(ticket, self._now()) if policy is not None else {}

    def progress(self, ticket_id: str, *, actor: Actor, lang: str | None = None) -> Progress:
        """The customer-facing view: status in plain words, which team has it, when to expect it.

        The expected time comes from the SLA and is the next thing the customer is
        waiting for: the first (or next) response while one is due, else the
        resolution. ``lang`` picks the language; by default the customer's
        ``locale`` does (the closest language there is a catalog for), else English.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> from ticketkit.testing import ManualClock
            >>> policy = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=2))},
            ... )
            >>> desk = tk.Helpdesk(
            ...     store=tk.InMemoryStore(),
            ...     policies=[policy],
            ...     clock=ManualClock(datetime(2025, 3, 3, 9, tzinfo=timezone.utc)),
            ...     labels={"zh": {"after-sales": "售后"}},
            ... )
            >>> t = desk.open(subject="Wrong size", customer="c-1", team="after-sales")
            >>> me = tk.Actor.customer("c-1")
            >>> desk.progress(t.id, actor=me).message
            'Assigned to after-sales; expected within 2 hours'
            >>> desk.progress(t.id, actor=me, lang="zh").message
            '已分配给售后，预计 2 小时内处理'
        """
        if lang is not None:
            translations(lang)  # an unknown language is refused before anything is read
        ticket = self._read(ticket_id, actor)
        if lang is None:
            lang = pick_language(ticket.customer.locale if ticket.customer is not None else None)
        now = self._now()
        expected_at: datetime | None = None
        policy = self.policy_of(ticket)
        if policy is not None and ticket.status_kind in OPEN_KINDS:
            status = policy.status(ticket, now)
            for metric in ("first_response", "next_response", "resolution"):
                s = status.get(metric)
                if s is not None and s.due_at is not None and s.state in ("running", "breached"):
                    expected_at = s.due_at
                    break
        within = expected_at - now if expected_at is not None else None
        overdue = within is not None and within <= timedelta(0)
        team_name = self._label(ticket.team, lang) if ticket.team else None
        return Progress(
            ticket_id=ticket.id,
            lang=lang,
            status=ticket.status,
            status_kind=ticket.status_kind,
            status_text=status_text(ticket.status_kind, lang),
            team=ticket.team,
            team_name=team_name,
            expected_at=expected_at,
            expected_within=within if not overdue else None,
            overdue=overdue,
            message=progress_message(
                lang=lang,
                status_kind=ticket.status_kind,
                team_name=team_name,
                expected_within=within if not overdue else None,
                overdue=overdue,
            ),
        )

    def _label(self, key: str, lang: str) -> str:
        label = self.labels.get(lang, {}).get(key)
        if label:
            return label
        team = self.teams.get(key)
        name = getattr(team, "name", "") if team is not None else ""
        return name if lang == "en" and name else key

    # ================================================================== changes

    def fire(
        self,
        ticket_id: str,
        trigger: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        **context: Any,
    ) -> Ticket:
        """Fire a workflow trigger (``open``, ``wait``, ``resolve``, ...) on the ticket.

        ``expected_version``: the version the caller saw; when given, a
        concurrent change raises [`ConflictError`][ticketkit.ConflictError] instead of
        being retried. ``context`` goes to guards and hooks.

        Raises:
            InvalidTransitionError: the trigger cannot fire now (``allowed`` lists what can).
            PermissionDeniedError: the actor may not update the ticket.
            NotFoundError: no such ticket in the actor's tenant.
            ConflictError: ``expected_version`` is stale.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> desk.fire(t.id, "open", actor=tk.Actor(id="boss", roles={"admin"})).status
            'open'
        """

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            work.fire(draft, trigger, **context)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def comment(
        self,
        ticket_id: str,
        body: str,
        *,
        actor: Actor,
        public: bool = True,
        expected_version: int | None = None,
    ) -> Ticket:
        """Add a comment: a public reply (``public=True``) or an internal note.

        Who wrote it follows from the actor (an agent, the customer, the system).
        An agent's first public reply stops the first-response clock. The customer
        writing on a resolved ticket reopens it (``reopen_trigger``), and its
        resolution clock resumes with the time already spent.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", customer="c-1")
            >>> t = desk.comment(t.id, "Any news?", actor=tk.Actor.customer("c-1"))
            >>> desk.comments(t.id, actor=tk.Actor.customer("c-1"))[0].author_kind
            'customer'
        """
        if _wrong(body, str):
            raise ValidationError.one("body", f"expected a string, got {body!r}")
        if _wrong(public, bool):
            raise ValidationError.one("public", f"expected True or False, got {public!r}")

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "comment" if public else "note", expected_version=expected_version)
            kind = {"customer": "customer", "system": "system"}.get(work.actor.kind, "agent")
            work.comment(
                draft,
                Comment(
                    ticket_id=draft.ticket.id,
                    author=work.actor.id,
                    body=body,
                    at=work.now,
                    public=public,
                    author_kind=kind,
                ),
            )
            if (
                kind == "customer"
                and self.reopen_trigger is not None
                and draft.ticket.status_kind == "resolved"
                and work.can_fire(draft, self.reopen_trigger)
            ):
                work.fire(draft, self.reopen_trigger)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def assign(
        self,
        ticket_id: str,
        *,
        actor: Actor,
        team: str | None = None,
        agent: str | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Assign the ticket to a team and/or agent; with neither, route it again with the router.

        An agent may only take a ticket of their team for themselves
        (``agent=<their id>``); leads and admins assign freely.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", team="after-sales")
            >>> li = tk.Actor(id="li", roles={"agent"}, teams={"after-sales"})
            >>> desk.assign(t.id, agent="li", actor=li).assignee
            'li'
        """

        def change(work: Work) -> str:
            draft = work.load(ticket_id, None, expected_version=expected_version)
            t = draft.ticket
            new_team = team if team is not None else t.team
            taking = agent == work.actor.id and new_team in (t.team, None)
            work.authorize("take" if taking else "assign", t)
            if team is None and agent is None:
                if not work.route(draft, reason="routed again"):
                    raise ValidationError.one("team", "no router placed the ticket; name a team or an agent")
            else:
                work.assign(draft, team=new_team, agent=agent, reason="by hand")
            return t.id

        return self._run(actor, change, strict=expected_version is not None)

    def set_priority(
        self, ticket_id: str, priority: Priority | str, *, actor: Actor, expected_version: int | None = None
    ) -> Ticket:
        """Change the priority; the SLA targets follow (the time already spent counts).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> desk.set_priority(t.id, "urgent", actor=tk.Actor.system()).priority
            <Priority.URGENT: 'urgent'>
        """
        value = Priority.parse(priority)

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            work.set_priority(draft, value)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def set_category(
        self, ticket_id: str, category: str | None, *, actor: Actor, expected_version: int | None = None
    ) -> Ticket:
        """Change the category; the SLA policy is chosen again (clocks recomputed when it changes).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> desk.set_category(t.id, "refund", actor=tk.Actor.system()).category
            'refund'
        """
        if category is not None and (_wrong(category, str) or not category):
            raise ValidationError.one("category", f"expected a category name or None, got {category!r}")

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            work.set_category(draft, category)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def tag(
        self,
        ticket_id: str,
        *tags: str,
        actor: Actor,
        remove: Iterable[str] = (),
        expected_version: int | None = None,
    ) -> Ticket:
        """Add ``tags`` (and take away ``remove``).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", tags=["new"])
            >>> sorted(desk.tag(t.id, "size", remove=["new"], actor=tk.Actor.system()).tags)
            ['size']
        """
        removed = [remove] if isinstance(remove, str) else list(remove)
        bad = [x for x in (*tags, *removed) if not isinstance(x, str) or not x]
        if bad:
            raise ValidationError.one("tags", f"expected non-empty strings, got {bad!r}")

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            work.tag(draft, add=tags, remove=removed)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def set_fields(
        self, ticket_id: str, fields: Mapping[str, Any], *, actor: Actor, expected_version: int | None = None
    ) -> Ticket:
        """Set custom fields (None removes one); the SLA policy is chosen again.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> desk.set_fields(t.id, {"order": "A-1"}, actor=tk.Actor.system()).fields["order"]
            'A-1'
        """
        if _wrong(fields, Mapping):
            raise ValidationError.one("fields", f"expected a mapping, got {fields!r}")
        problems = json_problems(fields, "fields")
        if problems:
            raise ValidationError(problems)

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            work.set_fields(draft, fields)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def rate(
        self,
        ticket_id: str,
        score: int,
        remark: str | None = None,
        *,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Ticket:
        """Record the customer's satisfaction: a score from 1 to 5 and an optional remark.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello", customer="c-1")
            >>> desk.rate(t.id, 5, "Quick!", actor=tk.Actor.customer("c-1")).satisfaction
            5
        """
        if _wrong(score, int) or _is_bool(score) or not 1 <= score <= 5:
            raise ValidationError.one("score", f"expected an integer from 1 to 5, got {score!r}")
        if remark is not None and _wrong(remark, str):
            raise ValidationError.one("remark", f"expected a string or None, got {remark!r}")

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "rate", expected_version=expected_version)
            draft.ticket = replace_trusted(draft.ticket, satisfaction=score, satisfaction_remark=remark)
            work.emit(draft, ev.RATED, {"score": score, "remark": remark})
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    def link(
        self,
        ticket_id: str,
        other_id: str,
        *,
        actor: Actor,
        kind: str = "related",
        expected_version: int | None = None,
    ) -> Ticket:
        """Link the ticket to another one the actor can read (``related``, ``duplicate``, ``blocks``, ...).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> a, b = desk.open(subject="A"), desk.open(subject="B")
            >>> desk.link(a.id, b.id, actor=tk.Actor.system()).links[0].ticket_id == b.id
            True
        """
        if _wrong(kind, str) or not kind:
            raise ValidationError.one("kind", f"expected a link kind such as 'related', got {kind!r}")

        def change(work: Work) -> str:
            draft = work.load(ticket_id, "update", expected_version=expected_version)
            other = work.load(other_id, "read")
            if other.ticket.id == draft.ticket.id:
                raise ValidationError.one("other_id", "a ticket cannot be linked to itself")
            work.link(draft, kind, other.ticket.id)
            return draft.ticket.id

        return self._run(actor, change, strict=expected_version is not None)

    # ================================================================== merge, split, spawn

    def merge(self, source_id: str, into_id: str, *, actor: Actor) -> Ticket:
        """Merge ticket ``source_id`` into ``into_id``; both keep their history and SLA clocks.

        The source is closed with ``merge_trigger`` (default ``cancel``), which
        stops its clocks where they stood, and linked ``merged_into``; the target
        is linked ``merged_from`` and gets a ``ticket.merged`` event with the
        source's subject, description and SLA state, plus an internal note. Both
        tickets change in one atomic save. Returns the target.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> a, b = desk.open(subject="Broken zip"), desk.open(subject="Zip broke (again)")
            >>> admin = tk.Actor(id="a", roles={"admin"})
            >>> target = desk.merge(b.id, a.id, actor=admin)
            >>> desk.get(b.id, actor=admin).status, target.links[0].kind
            ('cancelled', 'merged_from')
        """

        def change(work: Work) -> str:
            source = work.load(source_id, "update")
            target = work.load(into_id, "update")
            if source.ticket.id == target.ticket.id:
                raise ValidationError.one("into_id", "a ticket cannot be merged into itself")
            if target.ticket.status_kind in DONE_KINDS:
                raise ValidationError.one(
                    "into_id", f"ticket {into_id!r} is {target.ticket.status}; reopen it first"
                )
            s = source.ticket
            work.fire(source, self.merge_trigger, merged_into=target.ticket.id)
            work.link(source, "merged_into", target.ticket.id, event=False)
            work.emit(source, ev.MERGED, {"into": target.ticket.id})
            work.link(target, "merged_from", s.id, event=False)
            work.emit(
                target,
                ev.MERGED,
                {
                    "from": s.id,
                    "subject": s.subject,
                    "description": s.description,
                    "source_sla": to_dict(s.sla) if s.sla is not None else None,
                },
            )
            note = f"Merged from {s.id}: {s.subject}" + (f"\n\n{s.description}" if s.description else "")
            work.comment(
                target,
                Comment(
                    ticket_id=target.ticket.id,
                    author=work.actor.id,
                    body=note,
                    at=work.now,
                    public=False,
                    author_kind="system",
                    automatic=True,
                ),
            )
            return target.ticket.id

        return self._run(actor, change)

    def split(
        self,
        ticket_id: str,
        *,
        subject: str,
        actor: Actor,
        description: str = "",
        category: str | None = None,
    ) -> Ticket:
        """Split part of a ticket into a new one that keeps the original's SLA history.

        The new ticket has the same customer, channel, type, priority, team,
        assignee, status and SLA clocks (so the time the customer already waited
        counts); both get a ``ticket.split`` event and links (``split_from`` /
        ``split_into``). Returns the new ticket.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Refund and a broken zip", customer="c-1")
            >>> new = desk.split(t.id, subject="Broken zip", actor=tk.Actor.system())
            >>> new.links[0].kind, new.customer.id
            ('split_from', 'c-1')
        """
        if _wrong(subject, str) or not subject.strip():
            raise ValidationError.one("subject", f"expected a non-empty string, got {subject!r}")

        def change(work: Work) -> str:
            source = work.load(ticket_id, "update")
            s = source.ticket
            created = Ticket(subject=subject.strip(), created_at=work.now, tenant=s.tenant)
            new_ticket = replace_trusted(
                s,
                id=created.id,
                subject=subject.strip(),
                description=description,
                category=category if category is not None else s.category,
                created_at=work.now,
                updated_at=work.now,
                links=(Link(kind="split_from", ticket_id=s.id),),
                external_ref=None,
                satisfaction=None,
                satisfaction_remark=None,
                version=1,
            )
            child = work.add(new_ticket)
            work.emit(
                child,
                ev.TICKET_CREATED,
                {
                    "channel": s.channel,
                    "subject": subject,
                    "category": new_ticket.category,
                    "priority": s.priority.value,
                    "customer": s.customer.id if s.customer else None,
                    "type": s.type,
                    "external_ref": None,
                },
            )
            work.emit(child, ev.SPLIT, {"from": s.id})
            work.link(source, "split_into", new_ticket.id, event=False)
            work.emit(source, ev.SPLIT, {"into": new_ticket.id})
            return new_ticket.id

        return self._run(actor, change)

    def spawn(
        self,
        parent_id: str,
        *,
        subject: str,
        actor: Actor,
        type: str | None = None,  # noqa: A002
        team: str | None = None,
        assignee: str | None = None,
        category: str | None = None,
        priority: Priority | str | None = None,
        description: str = "",
        fields: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        policy: str | None = None,
        wait: bool = True,
    ) -> Ticket:
        """Open a sub-ticket for cross-department work; with ``wait`` the parent waits for it.

        The child has ``parent_id`` set, the parent's customer and tenant, its own
        type (workflow), team (routed when not given) and SLA policy (chosen by
        its conditions or named by ``policy``: "restock within 48 business
        hours" is a policy for the restock type). With ``wait`` the parent fires
        ``wait_trigger`` (its clocks pause while it is pending) and, when every
        child it waits on is resolved or closed, ``resume_trigger``. The parent
        is told (a ``ticket.child_resolved`` event and a notification) each time
        a child finishes. Returns the child.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> admin = tk.Actor(id="a", roles={"admin"})
            >>> repair = desk.open(subject="Press 4 leaks oil")
            >>> _ = desk.fire(repair.id, "open", actor=admin)
            >>> part = desk.spawn(repair.id, subject="Restock seal kit", team="production", actor=admin)
            >>> desk.get(repair.id, actor=admin).status
            'pending'
            >>> part = desk.fire(part.id, "open", actor=admin)
            >>> part = desk.fire(part.id, "resolve", actor=admin)
            >>> desk.get(repair.id, actor=admin).status
            'open'
        """
        spec: dict[str, Any] = {
            "subject": subject,
            "type": type,
            "team": team,
            "assignee": assignee,
            "category": category,
            "priority": priority,
            "description": description,
            "fields": dict(fields) if fields is not None else None,
            "tags": tuple(tags),
            "policy": policy,
        }

        def change(work: Work) -> str:
            parent = work.load(parent_id, "update")
            child = self.spawn_into(work, parent, spec, wait=wait, actor=None)
            return child.ticket.id

        return self._run(actor, change)

    def spawn_into(
        self, work: Work, parent: Draft, spec: Mapping[str, Any], *, wait: bool, actor: str | None
    ) -> Draft:
        """Create a sub-ticket of ``parent`` inside ``work`` (for `spawn` and automations)."""
        p = parent.ticket
        subject = spec.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            raise ValidationError.one("subject", f"expected a non-empty string, got {subject!r}")
        fields = spec.get("fields")
        if fields is not None:
            if not isinstance(fields, Mapping):
                raise ValidationError.one("fields", f"expected a mapping, got {fields!r}")
            problems = json_problems(fields, "fields")
            if problems:
                raise ValidationError(problems)
        prio = Priority.parse(spec["priority"]) if spec.get("priority") is not None else p.priority
        ticket = Ticket(
            subject=subject.strip(),
            created_at=work.now,
            tenant=p.tenant,
            type=spec.get("type") or p.type,
            description=spec.get("description") or "",
            channel="internal",
            customer=p.customer,
            category=spec.get("category") or p.category,
            priority=prio,
            team=spec.get("team"),
            assignee=spec.get("assignee"),
            tags=frozenset(spec.get("tags") or ()),
            fields=freeze(dict(fields or {})),
            parent_id=p.id,
            links=(Link(kind="parent", ticket_id=p.id),),
        )
        ticket = self.workflow_for(ticket).start(ticket)
        child = work.add(ticket, depth=parent.depth + 1)
        work.emit(
            child,
            ev.TICKET_CREATED,
            {
                "channel": "internal",
                "subject": ticket.subject,
                "category": ticket.category,
                "priority": ticket.priority.value,
                "customer": p.customer.id if p.customer else None,
                "type": ticket.type,
                "external_ref": None,
            },
            actor=actor,
        )
        work.emit(child, ev.SPAWNED, {"parent": p.id, "wait": wait}, actor=actor)
        if ticket.team is None and ticket.assignee is None:
            work.route(child, actor=actor)
        else:
            work.emit(
                child,
                ev.ASSIGNED,
                {
                    "team": ticket.team,
                    "agent": ticket.assignee,
                    "from_team": None,
                    "from_agent": None,
                    "rule": None,
                    "reason": "given when spawned",
                },
                actor=actor,
            )
        self.sla_start(work, child, spec.get("policy") or child.policy_hint)
        work.link(parent, "waits_on" if wait else "child", ticket.id, event=False)
        work.emit(parent, ev.SPAWNED, {"child": ticket.id, "wait": wait}, actor=actor)
        if (
            wait
            and parent.ticket.status_kind not in ("pending", *DONE_KINDS)
            and work.can_fire(parent, self.wait_trigger)
        ):
            work.fire(parent, self.wait_trigger, actor=actor)
        return child

    def child_finished(self, work: Work, child: Draft) -> None:
        """Tell the parent that ``child`` finished; resume it when nothing it waits on is open."""
        c = child.ticket
        assert c.parent_id is not None
        try:
            parent = work.load(c.parent_id, None, tenant=c.tenant)
        except NotFoundError:
            return
        waits_on = [link.ticket_id for link in parent.ticket.links if link.kind == "waits_on"]
        still_open = []
        for other_id in waits_on:
            if other_id == c.id:
                continue
            other = work.drafts.get(other_id)
            other_ticket = other.ticket if other is not None else self._peek(other_id, c.tenant)
            if other_ticket is not None and other_ticket.status_kind not in DONE_KINDS:
                still_open.append(other_id)
        actor = "system:desk"
        work.emit(
            parent,
            CHILD_RESOLVED,
            {"child": c.id, "status": c.status, "status_kind": c.status_kind, "waiting": still_open},
            actor=actor,
        )
        if (
            c.id in waits_on
            and not still_open
            and parent.ticket.status_kind == "pending"
            and work.can_fire(parent, self.resume_trigger)
        ):
            work.fire(parent, self.resume_trigger, actor=actor)

    def _peek(self, ticket_id: str, tenant: str) -> Ticket | None:
        try:
            return self.store.get(ticket_id, tenant=tenant)
        except NotFoundError:
            return None

    # ================================================================== the SLA sweep

    def tick(self, *, actor: Actor | None = None, limit: int = 100) -> list[Event]:
        """Emit the SLA warnings, breaches and escalations that are due now; the events emitted.

        Only tickets whose ``next_due_at`` has passed are read (the store's due
        index), claimed for this worker so two processes never handle the same
        one, and each checkpoint is emitted exactly once however often, late or
        concurrently ``tick`` runs: the emitted event is saved on the ticket in
        the same atomic write that records it as fired. Escalations notify their
        recipients, reassign (to a team or agent, or through the router with
        ``"team:router"``) and raise priority. Call it from a loop that sleeps
        until [`next_wakeup`][ticketkit.Helpdesk.next_wakeup]. ``actor`` (an admin) limits it to one tenant;
        None sweeps every tenant as the system.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> from ticketkit.testing import ManualClock
            >>> clock = ManualClock(datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
            >>> policy = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
            ... )
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[policy], clock=clock)
            >>> t = desk.open(subject="Hello")
            >>> desk.next_wakeup().hour
            11
            >>> _ = clock.advance(timedelta(hours=3))
            >>> first, second = desk.tick(), desk.tick()
            >>> len(first), first[0].kind, len(second)
            (1, 'sla.breached', 0)
        """
        tenant: str | None = None
        if actor is not None:
            if _wrong(actor, Actor):
                raise ValidationError.one("actor", f"expected an Actor or None, got {actor!r}")
            Work(self, actor, self._now()).authorize("admin", None)
            tenant = actor.tenant
        now = self._now()
        claimed = self.store.claim_due(now, worker=self.worker, lease=self.lease, limit=limit, tenant=tenant)
        out: list[Event] = []
        for ticket in claimed:
            try:
                out.extend(self._sweep_one(ticket, now))
            except Exception:  # one bad ticket must not stop the sweep; its lease brings it back
                log.exception("sweeping ticket %s failed; it falls due again when its lease ends", ticket.id)
        return out

    def _sweep_one(self, claimed: Ticket, now: datetime) -> list[Event]:
        system = Actor.system(claimed.tenant)
        for attempt in range(self.max_attempts):
            work = Work(self, system, now)
            if attempt == 0:
                draft = Draft(claimed, claimed)
                work.drafts[claimed.id] = draft
            else:
                try:
                    draft = work.load(claimed.id, None, tenant=claimed.tenant)
                except NotFoundError:
                    return []
            emitted = self._emit_due(work, draft)
            self._settle(work)
            try:
                work.commit()
            except ConflictError:
                continue
            self._deliver(work.notes)
            return emitted
        log.warning("gave up sweeping ticket %s after %d concurrent writes", claimed.id, self.max_attempts)
        return []

    def _emit_due(self, work: Work, draft: Draft) -> list[Event]:
        policy = self.policy_of(draft.ticket)
        if policy is None:
            if draft.ticket.sla is not None and draft.ticket.sla.next_due_at is not None:
                draft.ticket = replace_trusted(
                    draft.ticket, sla=replace_trusted(draft.ticket.sla, next_due_at=None)
                )
            return []
        emitted: list[Event] = []
        self._restore_due(draft)
        for event in policy.due_events(draft.ticket, None, work.now):
            fresh = replace_trusted(event, at=work.now) if event.at > work.now else event
            work.track(draft, fresh)
            emitted.append(fresh)
            if event.kind == ev.SLA_ESCALATED:
                self._escalate(work, draft, event)
        self._restore_due(draft)
        return emitted

    def _restore_due(self, draft: Draft) -> None:
        # A claim moves next_due_at to the end of its lease; the clocks know the real checkpoint.
        policy = self.policy_of(draft.ticket)
        sla = draft.ticket.sla
        if policy is not None and sla is not None:
            due = policy.next_checkpoint(draft.ticket)
            if due != sla.next_due_at:
                draft.ticket = replace_trusted(draft.ticket, sla=replace_trusted(sla, next_due_at=due))

    def _escalate(self, work: Work, draft: Draft, event: Event) -> None:
        for action in event.data.get("actions") or ():
            if not isinstance(action, Mapping):
                continue
            target = action.get("reassign")
            if isinstance(target, str):
                kind, _, ident = target.partition(":")
                if kind == "team" and ident == "router":
                    work.route(draft, actor="system:sla", reason="escalation")
                elif kind == "team" and ident:
                    work.assign(draft, team=ident, agent=None, reason="escalation", actor="system:sla")
                elif kind == "agent" and ident:
                    work.assign(
                        draft, team=draft.ticket.team, agent=ident, reason="escalation", actor="system:sla"
                    )
            prio = action.get("raise_priority")
            if isinstance(prio, str):
                target_prio = Priority.parse(prio)
                if target_prio > draft.ticket.priority:
                    work.set_priority(draft, target_prio, actor="system:sla")

    def next_wakeup(self, *, actor: Actor | None = None) -> datetime | None:
        """When the next SLA checkpoint falls due (None when nothing is pending).

        It may be in the past: something is due now, so call [`tick`][ticketkit.Helpdesk.tick].

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).next_wakeup() is None
            True
        """
        tenant = actor.tenant if actor is not None else None
        page = self.store.query(tenant=tenant, order_by="next_due_at", limit=1)
        for ticket in page:
            return ticket.next_due_at
        return None

    # ================================================================== notifications

    def resolve_recipients(self, ticket: Ticket, recipients: Iterable[str]) -> list[str]:
        """Recipients with the ticket's own filled in: ``assignee``, ``team``, ``lead``, ``customer``."""
        out: list[str] = []
        for r in recipients:
            value: str | None = r
            if r in ("assignee", "agent"):
                value = f"agent:{ticket.assignee}" if ticket.assignee else None
            elif r == "team":
                value = f"team:{ticket.team}" if ticket.team else None
            elif r == "customer":
                value = f"customer:{ticket.customer.id}" if ticket.customer else None
            elif r == "lead":
                value = self._lead_of(ticket)
            elif "{" in r:
                value = (
                    r.replace("{team}", ticket.team or "")
                    .replace("{assignee}", ticket.assignee or "")
                    .replace("{customer}", ticket.customer.id if ticket.customer else "")
                )
            if value is not None and value.partition(":")[2].strip() and value not in out:
                out.append(value)
        return out

    def _lead_of(self, ticket: Ticket) -> str | None:
        team = self.teams.get(ticket.team) if ticket.team else None
        lead = getattr(team, "lead", None) if team is not None else None
        return f"agent:{lead}" if lead else "role:lead"

    def queue_event_notifications(self, work: Work, ticket: Ticket, events: Sequence[Event]) -> None:
        """Turn committed events into notifications for the people they concern."""
        for event in events:
            recipients = self._recipients_for(event, ticket)
            if recipients:
                work.notes.append(
                    Notification(
                        kind=event.kind,
                        recipients=recipients,
                        ticket=ticket,
                        message=notification_message(event, ticket),
                        at=work.now,
                        data=event.data,
                    )
                )

    def _recipients_for(self, event: Event, ticket: Ticket) -> list[str]:
        kind = event.kind
        d = event.data
        who: list[str] = []
        if kind == ev.TICKET_CREATED:
            who = ["customer"]
        elif kind == ev.ASSIGNED:
            who = (
                [f"agent:{d['agent']}"] if d.get("agent") else [f"team:{d['team']}"] if d.get("team") else []
            )
        elif kind == ev.STATUS_CHANGED:
            who = ["customer"] if d.get("to_kind") != d.get("from_kind") else []
            if not event.actor.endswith(f":{ticket.assignee}"):
                who.append("assignee")
        elif kind == ev.COMMENT_ADDED:
            c = d.get("comment") or {}
            if c.get("author_kind") == "customer":
                who = ["assignee"] if ticket.assignee else ["team"]
            elif c.get("public") and c.get("author_kind") in ("agent", "system"):
                who = ["customer"]
        elif kind == ev.SLA_WARNING:
            who = ["assignee"] if ticket.assignee else ["team"]
        elif kind == ev.SLA_BREACHED:
            who = ["assignee", "team", "lead"]
        elif kind == ev.SLA_ESCALATED:
            who = [str(r) for r in d.get("notify") or ()] or ["lead"]
        elif kind in (ev.PRIORITY_CHANGED, ev.MERGED, DEDUPLICATED, CHILD_RESOLVED):
            who = ["assignee"] if ticket.assignee else ["team"]
        if ticket.channel == "internal":  # sub-tickets are between departments, not for the customer
            who = [w for w in who if w != "customer"]
        return self.resolve_recipients(ticket, who)

    def _deliver(self, notes: Sequence[Notification]) -> None:
        if self.notifier is None:
            return
        for note in notes:
            self._send(note, attempts=0)

    def _send(self, note: Notification, attempts: int) -> bool:
        assert self.notifier is not None
        try:
            self.notifier.send(note)
        except Exception as exc:  # any failure of user code is recorded, never raised
            log.warning("notification %s for ticket %s failed: %r", note.kind, note.ticket.id, exc)
            with self._outbox_lock:
                self._outbox.append(
                    FailedNotification(
                        notification=note, error=repr(exc), attempts=attempts + 1, failed_at=self._now()
                    )
                )
            return False
        return True

    @property
    def failed_notifications(self) -> list[FailedNotification]:
        """Notifications that could not be sent yet (a copy), oldest first.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).failed_notifications
            []
        """
        with self._outbox_lock:
            return list(self._outbox)

    def retry_notifications(self) -> int:
        """Send the failed notifications again; how many went through (the rest stay queued).

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore(), notifier=tk.RecordingNotifier()).retry_notifications()
            0
        """
        if self.notifier is None:
            return 0
        with self._outbox_lock:
            pending, self._outbox = self._outbox, []
        sent = 0
        for item in pending:
            if self._send(item.notification, attempts=item.attempts):
                sent += 1
        return sent

    def log_stop(self, automation: str, ticket_id: str, reason: str) -> None:
        """Record that an automation was stopped (a loop, or too many runs)."""
        log.warning("automation %r stopped on ticket %s: %s", automation, ticket_id, reason)

    # ================================================================== export

    def export(self, fp: IO[str], *, actor: Actor, mask: bool = True) -> int:
        """Write the tickets the actor may read, with their events, as JSON Lines; personal data masked.

        The format is the store's export format ([`TicketStore.export`][ticketkit.TicketStore.export]), so an
        unmasked export of a whole tenant can be imported again. With ``mask``
        (the default) phone numbers, e-mail addresses and ID numbers are masked
        in tickets and in event data. Returns the number of tickets written.

        Examples:
            >>> import io, ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> _ = desk.open(subject="Call me on 13812345678")
            >>> buf = io.StringIO()
            >>> desk.export(buf, actor=tk.Actor(id="boss", roles={"admin"}))
            1
            >>> "138****5678" in buf.getvalue(), "13812345678" in buf.getvalue()
            (True, False)
        """
        if _wrong(actor, Actor):
            raise ValidationError.one("actor", f"expected an Actor, got {actor!r}")
        fp.write(export_header())
        n = 0
        for stored in self.tickets(actor=actor, order_by="id"):
            events = self.history(stored.id, actor=actor)  # customers get no internal notes
            ticket = stored
            if mask:
                ticket = mask_ticket(stored)
                events = [replace_trusted(e, data=freeze(_mask_data(thaw(e.data)))) for e in events]
            fp.write(export_line(ticket, events))
            n += 1
        return n


def _wrong(value: object, cls: type | tuple[type, ...]) -> bool:
    """True when ``value`` is not an instance of ``cls`` (a run-time check on typed arguments)."""
    return not isinstance(value, cls)


def _as_object(value: object) -> object:
    return value


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _mask_data(value: Any) -> Any:
    if isinstance(value, str):
        return mask_personal(value)
    if isinstance(value, dict):
        return {k: _mask_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_data(v) for v in value]
    return value


def _customer_visible(event: Event) -> bool:
    if event.kind == ev.COMMENT_ADDED:
        comment = event.data.get("comment")
        return isinstance(comment, Mapping) and bool(comment.get("public"))
    return not event.kind.startswith("automation.")
