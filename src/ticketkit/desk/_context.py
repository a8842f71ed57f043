"""What every desk operation shares: the store, engines, policies, clock, notifier and settings.

The `Helpdesk` facade builds one `DeskContext` (checking every setting, all
problems listed at once) and hands it to the operation modules; none of them
imports the facade.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ticketkit.automation._automation import Automation, check_automations
from ticketkit.automation._macro import Macro, check_macros
from ticketkit.automation._timed import TimedRule
from ticketkit.calendar._calendar import BusinessCalendar
from ticketkit.channels._blob import BlobStore
from ticketkit.desk._access import AccessPolicy, DefaultAccess
from ticketkit.desk._guard import is_bool, wrong
from ticketkit.directory._directory import CustomerDirectory, Integration
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._clock import Clock, as_now
from ticketkit.model._ids import new_id
from ticketkit.model._json import JSONValue
from ticketkit.model._models import Event, Team, Ticket
from ticketkit.notify._notify import Notifier
from ticketkit.notify._policy import DeliveryPolicy
from ticketkit.privacy._mask import DEFAULT_PERSONAL
from ticketkit.privacy._retention import RetentionPolicy
from ticketkit.privacy._rights import RevealPolicy
from ticketkit.routing._router import Router
from ticketkit.sla._policy import SLAPolicy
from ticketkit.storage import TicketStore
from ticketkit.workflow._workflow import Workflow, Workflows

IntegrationFn = Callable[[Ticket], Mapping[str, Any]]
T = TypeVar("T")


class DeskContext:
    """The shared state of one helpdesk; operation modules read it, the facade owns it."""

    def __init__(
        self,
        *,
        store: TicketStore,
        workflows: Workflows,
        router: Router | None,
        policies: tuple[SLAPolicy, ...],
        notifier: Notifier | None,
        now: Callable[[], datetime],
        customers: CustomerDirectory | None,
        access: AccessPolicy,
        automations: tuple[Automation, ...],
        integrations: Mapping[str, IntegrationFn],
        teams: Mapping[str, Team],
        dedupe_window: timedelta | None,
        wait_trigger: str,
        resume_trigger: str,
        merge_trigger: str,
        reopen_trigger: str | None,
        labels: Mapping[str, Mapping[str, str]],
        worker: str,
        lease: timedelta,
        max_attempts: int,
        macros: Mapping[str, Macro] | None = None,
    ) -> None:
        self.store = store
        self.workflows = workflows
        self.router = router
        self.sticky = any(
            getattr(getattr(rule, "assign", None), "strategy", None) == "sticky"
            for rule in getattr(router, "rules", ())
        )
        self.policies = policies
        self.policy_by_name = {p.name: p for p in policies}
        self.notifier = notifier
        self.now = now
        self.customers = customers
        self.access = access
        self.automations = automations
        self.integrations = integrations
        self.teams = teams
        self.dedupe_window = dedupe_window
        self.wait_trigger = wait_trigger
        self.resume_trigger = resume_trigger
        self.merge_trigger = merge_trigger
        self.reopen_trigger = reopen_trigger
        self.labels = labels
        self.worker = worker
        self.lease = lease
        self.max_attempts = max_attempts
        self.delivery = DeliveryPolicy()  # the facade sets the desk's own
        self.rng = random.Random(self.delivery.seed)
        # Personal data (checked and set by desk._privacy.configure): who sees it unmasked,
        # what is declared personal, the region numbers are read in, retention policies.
        self.reveal = RevealPolicy()
        self.personal = DEFAULT_PERSONAL
        self.region = "CN"
        self.retention: tuple[RetentionPolicy, ...] = ()
        self.macros: dict[str, Macro] = dict(macros or {})
        # Timed rules and the calendars they run on (checked and set by desk._timed.configure).
        self.timed: tuple[TimedRule, ...] = ()
        self.timed_by_name: dict[str, TimedRule] = {}
        self.calendars: dict[str, BusinessCalendar] = {}
        self.default_calendar: BusinessCalendar | None = None
        # Presence (checked and set by the facade): what going away/offline does to an
        # agent's tickets, and how many queued tickets one drain hands out at most.
        self.presence_policy: dict[str, str] = {"away": "leave", "offline": "leave"}
        self.drain_limit = 10_000
        self.blobs: BlobStore | None = None  # attachment bytes (the facade sets the desk's own)

    def workflow_for(self, ticket: Ticket) -> Workflow:
        """The workflow of the ticket's type."""
        return self.workflows.for_ticket(ticket)

    def policy_of(self, ticket: Ticket) -> SLAPolicy | None:
        """The SLA policy the ticket runs under (None when none applies or it is unknown)."""
        if ticket.sla is None or ticket.sla.policy is None:
            return None
        return self.policy_by_name.get(ticket.sla.policy)

    def sla_apply(self, ticket: Ticket, event: Event) -> Ticket:
        """The ticket with its SLA clocks moved by ``event``."""
        policy = self.policy_of(ticket)
        return policy.apply(ticket, event) if policy is not None else ticket


def make_context(
    *,
    store: TicketStore,
    workflows: Workflows | Workflow | Mapping[str, Workflow] | None,
    router: Router | None,
    policies: Sequence[SLAPolicy],
    notifier: Notifier | None,
    clock: Clock | Callable[[], datetime] | None,
    customers: CustomerDirectory | None,
    access: AccessPolicy | None,
    automations: Iterable[Automation | Mapping[str, JSONValue]],
    integrations: Mapping[str, Integration | Callable[[Ticket], Mapping[str, JSONValue]]] | None,
    teams: Iterable[Team] | None,
    dedupe_window: timedelta | None,
    wait_trigger: str,
    resume_trigger: str,
    merge_trigger: str,
    reopen_trigger: str | None,
    labels: Mapping[str, Mapping[str, str]] | None,
    worker: str | None,
    lease: timedelta,
    max_attempts: int,
    macros: Iterable[Macro | Mapping[str, Any]] = (),
) -> DeskContext:
    """Check every setting (all problems in one `ValidationError`) and build the context."""
    policies = tuple(policies)
    problems = _part_problems(
        store=store,
        policies=policies,
        notifier=notifier,
        customers=customers,
        access=access,
        integrations=integrations,
    )
    problems += _limit_problems(dedupe_window, lease, max_attempts)
    flows = _converted(problems, "workflows", lambda: _as_workflows(workflows))
    rules = _converted(problems, "automations", lambda: check_automations(automations))
    now = _converted(problems, "clock", lambda: as_now(clock))
    named = _converted(problems, "macros", lambda: check_macros(macros))
    if problems:
        raise ValidationError(problems)
    assert flows is not None
    assert rules is not None
    assert now is not None
    team_list = list(teams) if teams is not None else list(getattr(router, "teams", None) or ())
    policies = tuple(p.with_team_calendars(t for t in team_list if isinstance(t, Team)) for p in policies)
    return DeskContext(
        store=store,
        workflows=flows,
        router=router,
        policies=policies,
        notifier=notifier,
        now=now,
        customers=customers,
        access=access if access is not None else DefaultAccess(),
        automations=rules,
        integrations=dict(integrations or {}),
        teams={getattr(t, "id", str(t)): t for t in team_list},
        dedupe_window=dedupe_window,
        wait_trigger=wait_trigger,
        resume_trigger=resume_trigger,
        merge_trigger=merge_trigger,
        reopen_trigger=reopen_trigger,
        labels={k: dict(v) for k, v in (labels or {}).items()},
        worker=worker or f"desk-{new_id(now())[-8:]}",
        lease=lease,
        max_attempts=max_attempts,
        macros=named,
    )


def _part_problems(
    *,
    store: object,
    policies: tuple[SLAPolicy, ...],
    notifier: object,
    customers: object,
    access: object,
    integrations: Mapping[str, object] | None,
) -> list[ErrorDetail]:
    """What is wrong with the parts the desk is built from."""
    problems: list[ErrorDetail] = []
    if wrong(store, TicketStore):
        problems.append(ErrorDetail("store", f"expected a TicketStore, got {store!r}"))
    names: set[str] = set()
    for i, p in enumerate(policies):
        if wrong(p, SLAPolicy):
            problems.append(ErrorDetail(f"policies[{i}]", f"expected an SLAPolicy, got {p!r}"))
        elif p.name in names:
            problems.append(ErrorDetail(f"policies[{i}].name", f"duplicate policy name {p.name!r}"))
        else:
            names.add(p.name)
    if notifier is not None and wrong(notifier, Notifier):
        problems.append(ErrorDetail("notifier", f"expected a Notifier, got {notifier!r}"))
    if customers is not None and wrong(customers, CustomerDirectory):
        problems.append(ErrorDetail("customers", f"expected a CustomerDirectory, got {customers!r}"))
    if access is not None and not callable(getattr(access, "check", None)):
        problems.append(ErrorDetail("access", f"expected an AccessPolicy (with check()), got {access!r}"))
    for name, integration in (integrations or {}).items():
        if not callable(integration):
            problems.append(ErrorDetail(f"integrations.{name}", f"expected a callable, got {integration!r}"))
    return problems


def _limit_problems(dedupe_window: object, lease: object, max_attempts: object) -> list[ErrorDetail]:
    """What is wrong with the durations and counts."""
    problems: list[ErrorDetail] = []
    if dedupe_window is not None and (
        not isinstance(dedupe_window, timedelta) or dedupe_window < timedelta(0)
    ):
        problems.append(ErrorDetail("dedupe_window", f"expected a timedelta or None, got {dedupe_window!r}"))
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        problems.append(ErrorDetail("lease", f"expected a positive timedelta, got {lease!r}"))
    if not isinstance(max_attempts, int) or is_bool(max_attempts) or max_attempts < 1:
        problems.append(
            ErrorDetail("max_attempts", f"expected an integer of at least 1, got {max_attempts!r}")
        )
    return problems


def _converted(problems: list[ErrorDetail], path: str, convert: Callable[[], T]) -> T | None:
    """``convert()``, or None with its problems (under ``path`` unless already there) added."""
    try:
        return convert()
    except ValidationError as err:
        if path == "workflows" and err.errors[0].path != "workflows":
            problems.extend(err.prefixed("workflows").errors)
        else:
            problems.extend(err.errors)
        return None


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
