"""The Helpdesk facade: the one object users call, each method a documented entry point.

Every change goes the same way: load the tickets it touches (in the actor's tenant,
checking the access policy), apply the change as events (workflow transitions,
comments, assignments, ...), let the SLA clocks follow each event, run the
automations on the new events, tell parents about children that finished, save
everything in one atomic step (optimistic: a concurrent write is detected, and the
change is applied again to the fresh ticket or `ConflictError` is raised), and
only then notify. A notifier that fails loses nothing: the notification is kept
and [`Helpdesk.retry_notifications`][ticketkit.Helpdesk.retry_notifications] sends it again.

The work is done by one private module per family of operations, which receive the
shared `DeskContext` and never import this module: ``_intake`` (open), ``_changes``
(fire, comment, assign, fields, rate), ``_links`` (link, merge, split, spawn),
``_sweep`` (tick, next_wakeup), ``_delivery`` (notifications and their outbox),
``_reads`` (reads, progress, export) and ``_guard`` (access checks), on top of
``_running`` (a change, committed) and ``_work`` (its drafts and events).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, Generic, TypeVar, Unpack, cast, overload

from ticketkit.automation._automation import Automation
from ticketkit.automation._macro import Macro, MacroResult
from ticketkit.automation._timed import TimedRule
from ticketkit.calendar._calendar import BusinessCalendar
from ticketkit.channels._blob import BlobStore
from ticketkit.channels._message import InboundMessage, ReceiveOutcome
from ticketkit.desk import (
    _changes,
    _inbound,
    _intake,
    _links,
    _outbox,
    _presence,
    _privacy,
    _queues,
    _reads,
    _retention,
    _sweep,
    _timed,
)
from ticketkit.desk import _macros as _macro_runs
from ticketkit.desk._access import AccessPolicy, Actor
from ticketkit.desk._context import DeskContext, make_context
from ticketkit.desk._inbound import InboundSettings
from ticketkit.desk._intake import CHANNELS, Message
from ticketkit.desk._outbox import DeliveryReport, FailedNotification
from ticketkit.desk._presence_state import Presence
from ticketkit.desk._privacy import ErasureReport
from ticketkit.desk._reads import TicketFilters
from ticketkit.desk._text import Progress
from ticketkit.directory._directory import CustomerDirectory, Integration
from ticketkit.model._clock import Clock
from ticketkit.model._json import JSONValue
from ticketkit.model._models import Comment, Customer, Event, Priority, Team, Ticket
from ticketkit.notify._notify import Notifier
from ticketkit.notify._policy import DeliveryPolicy
from ticketkit.privacy._mask import PersonalFields
from ticketkit.privacy._redact import RedactSpan
from ticketkit.privacy._retention import RetentionPolicy, RetentionReport
from ticketkit.privacy._rights import RevealPolicy
from ticketkit.routing._router import Router
from ticketkit.sla._policy import SLAPolicy, SLAStatus
from ticketkit.storage import OutboxMessage, TicketStore
from ticketkit.workflow._workflow import Workflow, Workflows

__all__ = ["CHANNELS", "DeliveryReport", "FailedNotification", "Helpdesk", "InboundSettings", "TicketFilters"]

_T = TypeVar("_T")


class _Shared(Generic[_T]):
    """A setting of the desk, kept in its shared context: read and set through the facade."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, desk: None, owner: type | None = None) -> _Shared[_T]: ...

    @overload
    def __get__(self, desk: Helpdesk, owner: type | None = None) -> _T: ...

    def __get__(self, desk: Helpdesk | None, owner: type | None = None) -> _T | _Shared[_T]:
        if desk is None:
            return self
        return cast(_T, getattr(desk._desk, self._name))

    def __set__(self, desk: Helpdesk, value: _T) -> None:
        setattr(desk._desk, self._name, value)


# One piece on purpose, although over 600 lines: it is the one page users read. About 460 of its
# lines are the docstrings with runnable examples the reference is generated from; the rest
# (under 300) are signatures handing each call to its family's module, which does the work.
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
        integrations: named [`Integration`][ticketkit.Integration]s whose answers automations
            read as ``context.<name>``.
        teams: [`Team`][ticketkit.Team]s (names and leads for progress views and notifications);
            default: the router's teams.
        dedupe_window: how far back a new request of the same customer and category
            counts as a duplicate of an open ticket (None turns that check off; an
            equal ``external_ref`` always counts).
        wait_trigger: the trigger that parks a parent waiting on its sub-tickets.
        resume_trigger: the trigger that brings it back when they are done.
        merge_trigger: the trigger that closes a ticket merged into another.
        macros: [`Macro`][ticketkit.Macro]s agents apply by name (objects or their data form).
        reopen_trigger: fired when the customer writes on a resolved ticket (None: never).
        labels: display names per language, ``{"zh": {"after-sales": "售后"}}``, for
            [`progress`][ticketkit.Helpdesk.progress].
        worker: this process's name when claiming due tickets.
        lease: how long a claim holds before another worker may take the ticket.
        max_attempts: how often a change is applied again after a concurrent write.
        delivery: how notifications go out from the store's outbox (a
            [`DeliveryPolicy`][ticketkit.DeliveryPolicy]; default: sent right after each
            commit, failures retried with backoff, 8 tries).
        reveal: who sees personal data unmasked on reads, notifications and exports (the
            ``reveal_personal`` right; default [`RevealPolicy`][ticketkit.RevealPolicy]():
            admins and the system everywhere, leads on their teams' tickets, agents on
            tickets assigned to them, customers on their own).
        personal: what no pattern finds and must be treated as personal
            ([`PersonalFields`][ticketkit.PersonalFields]: customer data and custom fields).
        retention: [`RetentionPolicy`][ticketkit.RetentionPolicy]s the sweep applies.
        region: the region numbers without a country code are read in (``"CN"``).
        inbound: how [`receive`][ticketkit.Helpdesk.receive] threads, limits and keeps
            messages ([`InboundSettings`][ticketkit.InboundSettings]; default: its defaults).
        blobs: where attachment bytes live (a `ticketkit.channels.BlobStore`); given, an
            attachment whose bytes are not in it is not attached.
        timed: [`TimedRule`][ticketkit.TimedRule]s (objects or their data form) the sweep
            fires a set time after their condition became true.
        calendars: named [`BusinessCalendar`][ticketkit.BusinessCalendar]s timed rules run
            on; the one named ``"default"`` (or the only one) serves a rule that counts
            business time without naming a calendar.
        presence_policy: what an agent going ``away`` or ``offline`` does to their open
            tickets: ``leave`` (default), ``requeue`` or ``reroute``; one name for both
            or ``{"away": "leave", "offline": "requeue"}`` (see
            [`set_presence`][ticketkit.Helpdesk.set_presence]).

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

    # The settings, as given (and checked) at construction; they live in the shared context.
    store: _Shared[TicketStore] = _Shared()
    workflows: _Shared[Workflows] = _Shared()
    router: _Shared[Router | None] = _Shared()
    policies: _Shared[tuple[SLAPolicy, ...]] = _Shared()
    notifier: _Shared[Notifier | None] = _Shared()
    customers: _Shared[CustomerDirectory | None] = _Shared()
    access: _Shared[AccessPolicy] = _Shared()
    automations: _Shared[tuple[Automation, ...]] = _Shared()
    integrations: _Shared[Mapping[str, Callable[[Ticket], Mapping[str, Any]]]] = _Shared()
    teams: _Shared[Mapping[str, Team]] = _Shared()
    dedupe_window: _Shared[timedelta | None] = _Shared()
    wait_trigger: _Shared[str] = _Shared()
    resume_trigger: _Shared[str] = _Shared()
    merge_trigger: _Shared[str] = _Shared()
    reopen_trigger: _Shared[str | None] = _Shared()
    labels: _Shared[Mapping[str, Mapping[str, str]]] = _Shared()
    worker: _Shared[str] = _Shared()
    lease: _Shared[timedelta] = _Shared()
    max_attempts: _Shared[int] = _Shared()
    reveal: _Shared[RevealPolicy] = _Shared()
    personal: _Shared[PersonalFields] = _Shared()
    retention: _Shared[tuple[RetentionPolicy, ...]] = _Shared()
    region: _Shared[str] = _Shared()

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
        automations: Iterable[Automation | Mapping[str, JSONValue]] = (),
        integrations: Mapping[str, Integration | Callable[[Ticket], Mapping[str, JSONValue]]] | None = None,
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
        delivery: DeliveryPolicy | None = None,
        reveal: RevealPolicy | None = None,
        personal: PersonalFields | None = None,
        retention: Iterable[RetentionPolicy] = (),
        region: str = "CN",
        macros: Iterable[Macro | Mapping[str, Any]] = (),
        inbound: InboundSettings | None = None,
        blobs: BlobStore | None = None,
        timed: Iterable[TimedRule | Mapping[str, Any]] = (),
        calendars: Mapping[str, BusinessCalendar] | None = None,
        presence_policy: str | Mapping[str, str] = "leave",
    ) -> None:
        self._desk: DeskContext = make_context(
            store=store,
            workflows=workflows,
            router=router,
            policies=policies,
            notifier=notifier,
            clock=clock,
            customers=customers,
            access=access,
            automations=automations,
            integrations=integrations,
            teams=teams,
            dedupe_window=dedupe_window,
            wait_trigger=wait_trigger,
            resume_trigger=resume_trigger,
            merge_trigger=merge_trigger,
            reopen_trigger=reopen_trigger,
            labels=labels,
            worker=worker,
            lease=lease,
            max_attempts=max_attempts,
            macros=macros,
        )
        self._desk.delivery = _outbox.check_policy(delivery)
        self._desk.rng = random.Random(self._desk.delivery.seed)
        _privacy.configure(self._desk, reveal=reveal, personal=personal, retention=retention, region=region)
        self._inbound = _inbound.Inbound(inbound, blobs)
        _timed.configure(self._desk, timed=timed, calendars=calendars)
        self._desk.presence_policy = _presence.check_policy(presence_policy)
        self._desk.blobs = self._inbound.blobs

    def now(self) -> datetime:
        """The desk's clock reading.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).now().tzinfo is not None
            True
        """
        return self._desk.now()

    # ================================================================== intake

    # One piece: over 80 lines only by its docstring and one keyword per ticket field; _intake
    # does the work.
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
        fields: Mapping[str, JSONValue] | None = None,
        tags: Iterable[str] = (),
        external_ref: str | None = None,
        transcript: Iterable[Message] = (),
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
        return _intake.open_ticket(
            self._desk,
            subject=subject,
            channel=channel,
            customer=customer,
            actor=actor,
            description=description,
            category=category,
            priority=priority,
            type=type,
            fields=fields,
            tags=tags,
            external_ref=external_ref,
            transcript=transcript,
            team=team,
            assignee=assignee,
            policy=policy,
            dedupe=dedupe,
            tenant=tenant,
        )

    # ================================================================== reading

    def get(self, ticket_id: str, *, actor: Actor) -> Ticket:
        """The ticket, if ``actor`` may read it.

        Like every read (`tickets`, `children`, `history`, `comments`), it comes with
        personal data masked unless the actor holds the ``reveal_personal`` right on it
        (the desk's ``reveal`` policy).

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
        return _reads.read(self._desk, ticket_id, actor)

    def tickets(self, *, actor: Actor, **filters: Unpack[TicketFilters]) -> Iterator[Ticket]:
        """Every ticket the actor may read that passes ``filters``.

        The filters are those of [`TicketFilters`][ticketkit.TicketFilters]. Only
        the actor's tenant is ever searched; ``tenant`` cannot be overridden. An
        unknown filter is a `ValidationError` (and a type checker rejects it).

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> a = desk.open(subject="A", customer="c-1")
            >>> b = desk.open(subject="B", customer="c-2")
            >>> mine = [t.subject for t in desk.tickets(actor=tk.Actor.customer("c-2"))]
            >>> mine
            ['B']
        """
        return _reads.tickets(self._desk, actor, filters)

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
        return _reads.history(self._desk, ticket_id, actor)

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
        return _reads.comments(self._desk, ticket_id, actor)

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
        return _reads.children(self._desk, ticket_id, actor)

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
        return _reads.sla_status(self._desk, ticket_id, actor)

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
        return _reads.progress(self._desk, ticket_id, actor, lang)

    def policy_of(self, ticket: Ticket) -> SLAPolicy | None:
        """The SLA policy the ticket runs under (None when none applies or it is not one of this desk's).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> policy = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), policies=[policy])
            >>> desk.policy_of(desk.open(subject="Hello")) is policy
            True
        """
        return self._desk.policy_of(ticket)

    # ================================================================== changes

    def fire(
        self,
        ticket_id: str,
        trigger: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        **context: object,
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
        return _changes.fire(
            self._desk, ticket_id, trigger, actor=actor, expected_version=expected_version, context=context
        )

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
        return _changes.comment(
            self._desk, ticket_id, body, actor=actor, public=public, expected_version=expected_version
        )

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
        return _changes.assign(
            self._desk, ticket_id, actor=actor, team=team, agent=agent, expected_version=expected_version
        )

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
        return _changes.set_priority(
            self._desk, ticket_id, priority, actor=actor, expected_version=expected_version
        )

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
        return _changes.set_category(
            self._desk, ticket_id, category, actor=actor, expected_version=expected_version
        )

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
        return _changes.tag(
            self._desk, ticket_id, tags, actor=actor, remove=remove, expected_version=expected_version
        )

    def set_fields(
        self,
        ticket_id: str,
        fields: Mapping[str, JSONValue],
        *,
        actor: Actor,
        expected_version: int | None = None,
    ) -> Ticket:
        """Set custom fields (None removes one); the SLA policy is chosen again.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Hello")
            >>> desk.set_fields(t.id, {"order": "A-1"}, actor=tk.Actor.system()).fields["order"]
            'A-1'
        """
        return _changes.set_fields(
            self._desk, ticket_id, fields, actor=actor, expected_version=expected_version
        )

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
        return _changes.rate(
            self._desk, ticket_id, score, remark, actor=actor, expected_version=expected_version
        )

    # ================================================================== links, merge, split, spawn

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
        return _links.link(
            self._desk, ticket_id, other_id, actor=actor, kind=kind, expected_version=expected_version
        )

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
        return _links.merge(self._desk, source_id, into_id, actor=actor)

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
        return _links.split(
            self._desk, ticket_id, subject=subject, actor=actor, description=description, category=category
        )

    def spawn(
        self,
        parent_id: str,
        *,
        subject: str,
        actor: Actor,
        type: str | None = None,  # noqa: A002 - the ticket field's name
        team: str | None = None,
        assignee: str | None = None,
        category: str | None = None,
        priority: Priority | str | None = None,
        description: str = "",
        fields: Mapping[str, JSONValue] | None = None,
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
        return _links.spawn(
            self._desk,
            parent_id,
            subject=subject,
            actor=actor,
            type=type,
            team=team,
            assignee=assignee,
            category=category,
            priority=priority,
            description=description,
            fields=fields,
            tags=tags,
            policy=policy,
            wait=wait,
        )

    # ================================================================== the SLA sweep

    def tick(self, *, actor: Actor | None = None, limit: int = 100) -> list[Event]:
        """Emit the SLA warnings, breaches and escalations that are due now; the events emitted.

        Only tickets whose ``next_due_at`` has passed are read (the store's due
        index), claimed for this worker so two processes never handle the same
        one, and each checkpoint is emitted exactly once however often, late or
        concurrently ``tick`` runs: the emitted event is saved on the ticket in
        the same atomic write that records it as fired. Escalations notify their
        recipients, reassign (to a team or agent, or through the router with
        ``"team:router"``) and raise priority. Timed rules due now run their actions,
        once (a ``timer.fired`` event; see [`TimedRule`][ticketkit.TimedRule]). Call it
        from a loop that sleeps until [`next_wakeup`][ticketkit.Helpdesk.next_wakeup]. ``actor`` (an admin)
        limits it to one tenant; None sweeps every tenant as the system.

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
        swept = _sweep.tick(self._desk, actor=actor, limit=limit)
        return swept + _queues.drain(
            self._desk, tenant=None if actor is None else actor.tenant, limit=self._desk.drain_limit
        )

    def set_presence(
        self,
        agent_id: str,
        status: str,
        *,
        actor: Actor,
        at: datetime | None = None,
        until: datetime | None = None,
    ) -> Presence:
        """Set an agent's presence (``online``, ``away`` or ``offline``), for every worker on the store.

        An agent sets their own; leads and admins anyone's (the ``presence`` right).
        The presence is stored in the store (a desk record), so routing in every
        process on it sees it at once. With ``until`` it reverts to the status it
        replaced at that instant (the next [`tick`][ticketkit.Helpdesk.tick] applies
        what that means). Going ``away`` or ``offline`` applies the desk's
        ``presence_policy`` to the agent's open tickets (``leave``, ``requeue`` to the
        team's queue, ``reroute`` to another available agent), each moved ticket with
        an event saying why; coming ``online`` hands out waiting tickets at once.

        Raises:
            ValidationError: an unknown status, a naive ``at``/``until``, an ``until``
                not after ``at``.
            NotFoundError: an agent the router does not know.
            PermissionDeniedError: an agent setting someone else's presence.

        Examples:
            >>> import ticketkit as tk
            >>> router = tk.Router(
            ...     rules=[tk.Rule(name="all", assign=tk.Assign(team="t"))],
            ...     agents=[tk.Agent(id="li", teams={"t"}), tk.Agent(id="wang", teams={"t"})],
            ... )
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router, presence_policy="reroute")
            >>> t = desk.open(subject="Refund")
            >>> owner = t.assignee
            >>> desk.set_presence(owner, "away", actor=tk.Actor(id=owner)).status
            'away'
            >>> desk.get(t.id, actor=tk.Actor.system()).assignee != owner
            True
        """
        new = _presence.set_presence(self._desk, agent_id, status, actor=actor, at=at, until=until)
        if _presence.available(self._desk, new.status):
            _queues.drain(self._desk, tenant=actor.tenant, limit=self._desk.drain_limit)
        return new

    def presence(self, *, actor: Actor, at: datetime | None = None) -> dict[str, str]:
        """Every agent's status now (stored presence over the configured ``Agent.status``).

        Examples:
            >>> import ticketkit as tk
            >>> router = tk.Router(rules=[], agents=[tk.Agent(id="li"), tk.Agent(id="wu", status="offline")])
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router)
            >>> _ = desk.set_presence("li", "away", actor=tk.Actor(id="li"))
            >>> desk.presence(actor=tk.Actor(id="li"))
            {'li': 'away', 'wu': 'offline'}
        """
        return _presence.presence(self._desk, actor=actor, at=at)

    def drain_queues(self, *, actor: Actor | None = None) -> list[Event]:
        """Hand out tickets waiting in the teams' queues now; the assignment events.

        Highest priority then oldest first, to the least loaded agent with room, under
        a lease so of several workers on one store exactly one drains a tenant at a
        time. [`tick`][ticketkit.Helpdesk.tick] does this too (for agents who came
        online, freed capacity or whose shift started); call this after a change you
        want acted on now. ``actor`` (an admin) limits it to one tenant.

        Examples:
            >>> import ticketkit as tk
            >>> router = tk.Router(
            ...     rules=[tk.Rule(name="all", assign=tk.Assign(team="t", strategy="least_loaded"))],
            ...     agents=[tk.Agent(id="li", teams={"t"}, capacity=1)],
            ... )
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), router=router)
            >>> a, b = desk.open(subject="A"), desk.open(subject="B")
            >>> a.assignee, b.assignee
            ('li', None)
            >>> _ = desk.fire(a.id, "cancel", actor=tk.Actor.system())
            >>> [e.data["agent"] for e in desk.drain_queues()]
            ['li']
        """
        return _queues.drain_for(self._desk, actor=actor)

    def next_wakeup(self, *, actor: Actor | None = None) -> datetime | None:
        """When [`tick`][ticketkit.Helpdesk.tick] next has work (None when nothing is pending).

        The earliest of: the next SLA checkpoint, timed rule or retention instant of any
        ticket, an agent's presence reverting (``until``) and an agent's shift opening
        (waiting tickets are then handed out). It may be in the past: something is due
        now, so call [`tick`][ticketkit.Helpdesk.tick].

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).next_wakeup() is None
            True
        """
        swept = _sweep.next_wakeup(self._desk, actor=actor)
        queues = _queues.next_change(self._desk, tenant=None if actor is None else actor.tenant)
        return min((w for w in (swept, queues) if w is not None), default=None)

    # ================================================================== notifications

    @property
    def failed_notifications(self) -> list[FailedNotification]:
        """Notifications that could not be sent yet (a copy), oldest first.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).failed_notifications
            []
        """
        return _outbox.failed_notifications(self._desk)

    def retry_notifications(self) -> int:
        """Send the failed notifications again; how many went through (the rest stay queued).

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore(), notifier=tk.RecordingNotifier()).retry_notifications()
            0
        """
        return _outbox.retry_failed(self._desk)

    def deliver(self, *, limit: int = 100) -> DeliveryReport:
        """One delivery step: claim pending notifications from the outbox, send them, mark them sent.

        Each claimed notification is leased to this desk's ``worker`` for the
        policy's lease, so several workers never send the same one at once; a
        failed send is tried again later (backoff with jitter) or, after
        ``max_tries``, becomes a dead letter. Delivery is at least once: a worker
        that dies after sending and before marking leaves the notification to be
        sent again, with the same [`Notification.id`][ticketkit.Notification].

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> writer = tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False))
            >>> _ = writer.open(subject="Broken lid", customer="c-1")
            >>> worker = tk.Helpdesk(store=store, notifier=tk.RecordingNotifier())
            >>> worker.deliver().sent
            1
        """
        return _outbox.deliver(self._desk, limit=limit)

    def dead_letters(self, *, limit: int = 100) -> list[OutboxMessage]:
        """Notifications that failed ``max_tries`` times and wait for an admin, oldest first.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).dead_letters()
            []
        """
        return self._desk.store.outbox(status="dead", limit=limit)

    def requeue_notifications(self, ids: Iterable[str]) -> int:
        """Put dead letters back in the outbox, due now with their tries reset; how many moved.

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).requeue_notifications(["T1/000000001/000"])
            0
        """
        return self._desk.store.requeue(list(ids), at=self._desk.now())

    def next_delivery(self) -> datetime | None:
        """When the next pending notification may be sent (None: none pending).

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).next_delivery() is None
            True
        """
        return self._desk.store.next_outbox_at()

    # ================================================================== export

    def export(self, fp: IO[str], *, actor: Actor, mask: bool = True) -> int:
        """Write the tickets the actor may read, with their events, as JSON Lines; personal data masked.

        The format is the store's export format ([`TicketStore.export`][ticketkit.TicketStore.export]),
        so an unmasked export of a whole tenant can be imported again. With ``mask``
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
        return _reads.export(self._desk, fp, actor=actor, mask=mask)

    # ================================================================== personal data

    def redact(
        self,
        ticket_id: str,
        paths_or_spans: Iterable[RedactSpan | str] | RedactSpan | str,
        *,
        reason: str,
        actor: Actor,
    ) -> Ticket:
        """Remove chosen values from a ticket and from every copy of them in its events.

        ``paths_or_spans`` are paths (``"subject"``, ``"fields.imei"``,
        ``"comment.<id>"``, ...) or [`RedactSpan`][ticketkit.RedactSpan]s (a path and a
        character range). The ticket and its stored events are rewritten in place
        ([`TicketStore.rewrite`][ticketkit.TicketStore.rewrite]) and a
        ``ticket.redacted`` event records each removal's path, kind and length and
        the reason, never the value. The actor needs the ``update`` access and the
        ``reveal_personal`` right on the ticket. Returns the rewritten ticket.

        Raises:
            ValidationError: a path that names nothing, a span outside its text, no reason.
            PermissionDeniedError: the actor may not update the ticket or see its personal data.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="Call 13812345678")
            >>> boss = tk.Actor(id="boss", roles={"admin"})
            >>> span = tk.RedactSpan(path="subject", start=5, end=16)
            >>> desk.redact(t.id, [span], reason="asked by the customer", actor=boss).subject
            'Call [redacted]'
            >>> [e.kind for e in desk.history(t.id, actor=boss)][-1]
            'ticket.redacted'
        """
        return _privacy.redact(self._desk, ticket_id, paths_or_spans, reason=reason, actor=actor)

    def erase_customer(
        self, customer_id: str, *, actor: Actor, reason: str = "erasure requested"
    ) -> ErasureReport:
        """Remove a customer's personal data from every ticket and event of the actor's tenant.

        Each of the customer's tickets (found through the store's customer index) is
        anonymised ([`anonymize_ticket`][ticketkit.anonymize_ticket]): the customer
        record becomes one pseudonym for the whole erasure, their name, e-mail, phone,
        id and declared data go from every text, detected personal data becomes
        ``[phone]``, ``[email]``, ...; counts, timestamps, statuses and durations stay,
        so reports do not change. Ticket and events are rewritten in place and a
        ``ticket.anonymized`` event is added; then the store compacts its files
        ([`TicketStore.compact`][ticketkit.TicketStore.compact]). Admins only (the
        ``admin`` access and the reveal right on the whole tenant).

        Raises:
            PermissionDeniedError: the actor is not an admin of the tenant.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> t = desk.open(subject="王芳 13812345678", customer=tk.Customer(id="c-1", name="王芳"))
            >>> boss = tk.Actor(id="boss", roles={"admin"})
            >>> report = desk.erase_customer("c-1", actor=boss)
            >>> report.tickets == (t.id,), desk.get(t.id, actor=boss).subject
            (True, '[name] [phone]')
        """
        return _privacy.erase_customer(self._desk, customer_id, actor=actor, reason=reason)

    def index_blobs(self, *, actor: Actor) -> int:
        """Record which tickets of the actor's tenant hold which attachment blobs; how many were new.

        ``receive`` records this as it attaches a file, and erasure deletes a blob only
        when no recorded ticket still holds it. Tickets brought in another way (a
        store's ``import_`` of an export, a restore from a backup) are not recorded:
        call this once after such an import into a desk with a blob store, or an
        erasure could delete a blob an imported ticket shares. Idempotent; reads every
        ticket of the tenant. Admins only.

        Raises:
            PermissionDeniedError: the actor is not an admin of the tenant.

        Examples:
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> desk.index_blobs(actor=tk.Actor(id="boss", roles={"admin"}))
            0
        """
        return _privacy.index_blobs(self._desk, actor=actor)

    def retention_report(self, *, actor: Actor, at: datetime | None = None) -> RetentionReport:
        """The dry run of the desk's retention policies over the actor's tenant, at ``at`` (default: now).

        Nothing is changed; the sweep ([`tick`][ticketkit.Helpdesk.tick]) applies them. Admins only.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), retention=[tk.RetentionPolicy(after="P1Y")])
            >>> _ = desk.open(subject="Hello")
            >>> desk.retention_report(actor=tk.Actor(id="boss", roles={"admin"})).never
            1
        """
        return _retention.report(self._desk, actor=actor, at=at)

    # ================================================================== macros

    def apply_macro(self, ticket_id: str, name: str, *, actor: Actor, preview: bool = False) -> MacroResult:
        """Apply the macro called ``name``: its actions and its comment, saved in one change.

        Each action asks the actor's right for it (a macro does nothing its user could
        not do by hand); automations run on the new events as usual. With ``preview``
        the same change is computed and nothing is saved or sent.

        Raises:
            ValidationError: no macro has that name (the message lists the known ones).
            PermissionDeniedError: the actor may not do one of the macro's actions.

        Examples:
            >>> import ticketkit as tk
            >>> macro = {"name": "vip", "actions": [{"tag": ["vip"]}], "comment": "VIP: {ticket.id}"}
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore(), macros=[macro])
            >>> t = desk.open(subject="Hello")
            >>> result = desk.apply_macro(t.id, "vip", actor=tk.Actor.system(), preview=True)
            >>> sorted(result.ticket.tags), result.comment == f"VIP: {t.id}"
            (['vip'], True)
            >>> desk.get(t.id, actor=tk.Actor.system()).tags
            frozenset()
        """
        return _macro_runs.apply_macro(self._desk, ticket_id, name, actor=actor, preview=preview)

    # ================================================================== receiving messages

    def receive(self, message: InboundMessage, *, actor: Actor | None = None) -> ReceiveOutcome:
        """Take one message from any channel: thread it, open a ticket, or leave it, and say which.

        Idempotent on (channel, message id): the same message again changes nothing
        (``duplicate``), also from another process on the same store, at the same
        instant or after a crash (the message's keys are bound in the commit that
        applies it). A message
        threads onto a ticket by, in order, the channel's conversation id, its
        references and in-reply-to, the subject token (only for the ticket's customer
        or someone who wrote on it), then the customer's open ticket within
        ``dedupe_window`` and the intake's dedupe rules; else it opens a ticket for the
        sender, resolved to one customer across channels by the directory's
        ``find_identity``. A reply to a resolved ticket reopens it within
        ``InboundSettings.reopen_within`` business days, else (and for a closed one)
        opens a follow-up linked to it. Automatic messages never open, reopen or follow
        up a ticket, move no SLA clock and trigger no reply; bounces mark the failed
        addresses in the directory; a sender over the rate limit is ignored.
        ``actor`` defaults to the system intake (its tenant is the message's).

        Raises:
            ValidationError: ``message`` is not an `InboundMessage`.
            MessageKeyConflictError: other writers kept binding this message's keys
                first, attempt after attempt (take the message again later).

        Examples:
            >>> import ticketkit as tk
            >>> from ticketkit.channels import parse_email
            >>> desk = tk.Helpdesk(store=tk.InMemoryStore())
            >>> first = parse_email(
            ...     b"Message-ID: <a1@mail.cn>\\r\\nFrom: li@mail.cn\\r\\n"
            ...     b"Subject: Fridge\\r\\n\\r\\nBroken.\\r\\n"
            ... )
            >>> desk.receive(first).action, desk.receive(first).action
            ('opened', 'duplicate')
            >>> reply = parse_email(
            ...     b"Message-ID: <a2@mail.cn>\\r\\nIn-Reply-To: <a1@mail.cn>\\r\\nFrom: li@mail.cn\\r\\n"
            ...     b"Subject: Re: Fridge\\r\\n\\r\\nStill broken.\\r\\n"
            ... )
            >>> outcome = desk.receive(reply)
            >>> outcome.action, outcome.rule
            ('threaded', 'in-reply-to')
        """
        return _inbound.receive(self._desk, self._inbound, message, actor)

    @property
    def inbound(self) -> InboundSettings:
        """The settings of [`receive`][ticketkit.Helpdesk.receive].

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).inbound.rate_limit
            20
        """
        return self._inbound.settings

    @property
    def blobs(self) -> BlobStore | None:
        """Where attachment bytes live (None when the desk was given no blob store).

        Examples:
            >>> import ticketkit as tk
            >>> tk.Helpdesk(store=tk.InMemoryStore()).blobs is None
            True
        """
        return self._inbound.blobs
