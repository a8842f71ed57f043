"""The SLA policy: configuration values, with the clock engine's entry points as thin delegates.

An [`SLAPolicy`][ticketkit.SLAPolicy] is configuration: targets per priority, the clocks that
measure them, pause rules, warnings and escalations. On construction it is
checked (``_policy_fields``) and compiled once into a
`PolicyPlan`; the engine is the functions over that
plan, each in its own module: applying an event (``_apply``), status
(``_status``), the next checkpoint and due events (``_due``), recompute and
"as of" (``_recompute``). [`select_policy`][ticketkit.select_policy] and
[`reselect_policy`][ticketkit.reselect_policy] choose a policy for a ticket. Everything is pure: time comes in
as ``at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from ticketkit.errors import ValidationError
from ticketkit.model._events import SLA_POLICY
from ticketkit.model._models import Event, Priority, Team, Ticket, replace_trusted
from ticketkit.model._time import require_aware
from ticketkit.sla._apply import apply_event, start_clocks
from ticketkit.sla._calendar_choice import KeyOf, choice_problems, key_of
from ticketkit.sla._config import ConditionLike, Escalation, SLAClock, SLATarget
from ticketkit.sla._due import due_in_window, event_id, next_due
from ticketkit.sla._plan import ACTOR, CalendarLike, PolicyPlan, build_plan
from ticketkit.sla._policy_fields import (
    policy_clocks,
    to_floats,
    to_frozenset,
    to_mapping,
    to_targets,
    to_tuple,
)
from ticketkit.sla._policy_load import policy_fields
from ticketkit.sla._recompute import recompute_clocks, status_from_events
from ticketkit.sla._status import SLAStatus, read_status

__all__ = ["SLAPolicy", "SLAStatus", "reselect_policy", "select_policy"]


@attrs.frozen(kw_only=True)
class SLAPolicy:
    """Service levels for the tickets that match ``when``: targets, pauses, warnings, escalations.

    ``targets`` maps a [`Priority`][ticketkit.Priority] (or its name) or ``"default"``
    to an [`SLATarget`][ticketkit.SLATarget]; a ticket's priority picks its target, else the
    default. Clocks run on ``calendar`` (business time). They pause while the
    ticket's status name or kind is in ``pause_in``. ``warn_at`` are fractions of
    the target (``0.75``) at which a warning falls due; ``escalations`` are the
    ladder. ``clocks`` adds your own [`SLAClock`][ticketkit.SLAClock] definitions or replaces a
    preset of the same metric; every metric with a target needs a clock (the four
    named metrics have presets).

    Policies are tried in the order given and the first whose ``when`` holds
    applies ([`select_policy`][ticketkit.select_policy]); ``when=None`` matches every ticket.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]})
        >>> vip = tk.SLAPolicy(
        ...     name="vip",
        ...     calendar=cal,
        ...     when=tk.F.customer.tier == "vip",
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
        ...     pause_in={"pending"},
        ...     warn_at=(0.75,),
        ... )
        >>> t0 = datetime(2025, 3, 3, 11, 0, tzinfo=cal.tz)
        >>> t = vip.start(
        ...     tk.Ticket(subject="Refund?", created_at=t0, customer=tk.Customer(id="c", tier="vip"))
        ... )
        >>> vip.status(t, at=t0)["first_response"].due_at.isoformat()
        '2025-03-03T14:00:00+08:00'
    """

    name: str
    calendar: CalendarLike
    targets: Mapping[Priority | str, SLATarget] = attrs.field(converter=to_targets, hash=False)
    when: ConditionLike | None = attrs.field(default=None, hash=False)
    pause_in: frozenset[str] = attrs.field(default=frozenset(), converter=to_frozenset)
    warn_at: tuple[float, ...] = attrs.field(default=(), converter=to_floats)
    escalations: tuple[Escalation, ...] = attrs.field(default=(), converter=to_tuple)
    clocks: tuple[SLAClock, ...] = attrs.field(default=(), converter=to_tuple)
    calendar_from: str | None = None
    calendars: Mapping[str, CalendarLike] = attrs.field(factory=dict, converter=to_mapping, hash=False)
    team_calendars: Mapping[str, str] = attrs.field(factory=dict, converter=to_mapping, hash=False)
    _plan: PolicyPlan = attrs.field(init=False, eq=False, repr=False, hash=False)
    _plans: dict[str, PolicyPlan] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _key_of: KeyOf | None = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        problems = choice_problems(self.calendar_from, self.calendars, self.team_calendars)
        try:
            specs = policy_clocks(
                name=self.name,
                calendar=self.calendar,
                when=self.when,
                targets=self.targets,
                pause_in=self.pause_in,
                warn_at=self.warn_at,
                escalations=self.escalations,
                clocks=self.clocks,
            )
        except ValidationError as err:
            raise ValidationError([*err.errors, *problems]) from None
        if problems:
            raise ValidationError(problems)

        def plan_on(calendar: CalendarLike) -> PolicyPlan:
            return build_plan(
                name=self.name,
                calendar=calendar,
                targets=self.targets,
                pause_in=self.pause_in,
                warn_at=self.warn_at,
                escalations=self.escalations,
                specs=specs,
            )

        object.__setattr__(self, "_plan", plan_on(self.calendar))
        object.__setattr__(self, "_plans", {k: plan_on(c) for k, c in self.calendars.items()})
        key = None
        if self.calendar_from is not None:
            key = key_of(self.calendar_from, self.calendars, self.team_calendars)
        object.__setattr__(self, "_key_of", key)

    def _plan_for(self, ticket: Ticket) -> PolicyPlan:
        """The compiled plan on the calendar ``ticket`` runs on."""
        key_of_ticket = self._key_of
        if key_of_ticket is None:
            return self._plan
        key = key_of_ticket(ticket)
        return self._plan if key is None else self._plans[key]

    def calendar_for(self, ticket: Ticket) -> CalendarLike:
        """The calendar ``ticket``'s clocks run on: the one it names (``calendar_from``), else ``calendar``.

        After a change of the field the calendar is read from (the team, the customer's
        region), [`recompute`][ticketkit.SLAPolicy.recompute] the clocks from the ticket's
        events so the time already spent is measured on the new calendar (a `Helpdesk`
        does this itself).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> eu = tk.BusinessCalendar(tz="Europe/Berlin", hours={"mon-fri": ["09:00-17:00"]}, name="eu")
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open("UTC"),
            ...     calendar_from="customer.region",
            ...     calendars={"eu": eu},
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 8, tzinfo=timezone.utc)
            >>> t = tk.Ticket(subject="?", created_at=t0, customer=tk.Customer(id="c", data={"region": "eu"}))
            >>> p.calendar_for(t).name
            'eu'
            >>> p.status(p.start(t), at=t0)["resolution"].due_at.isoformat()
            '2025-03-03T17:00:00+01:00'
        """
        return self._plan_for(ticket).calendar

    # ------------------------------------------------------------------ reading config

    @property
    def metrics(self) -> tuple[str, ...]:
        """The clocks this policy keeps, in order.

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="p",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={
            ...         "default": tk.SLATarget(
            ...             resolution=timedelta(hours=4), first_response=timedelta(hours=1)
            ...         )
            ...     },
            ... )
            >>> p.metrics
            ('first_response', 'resolution')
        """
        return tuple(c.metric for c in self._plan.specs)

    def clock(self, metric: str) -> SLAClock:
        """The clock definition for ``metric`` (a preset or your own)."""
        plan = self._plan
        try:
            return plan.specs[plan.index[metric]]
        except KeyError:
            raise ValidationError.one(
                "metric",
                f"no clock {metric!r} in policy {self.name!r} (its clocks: {', '.join(self.metrics)})",
            ) from None

    def target_for(self, priority: Priority | str, metric: str) -> timedelta | None:
        """The target of ``metric`` for a ticket of ``priority`` (None: not measured).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="p",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={
            ...         "urgent": tk.SLATarget(resolution=timedelta(hours=4)),
            ...         "default": tk.SLATarget(resolution=timedelta(hours=24)),
            ...     },
            ... )
            >>> p.target_for("urgent", "resolution"), p.target_for("low", "resolution")
            (datetime.timedelta(seconds=14400), datetime.timedelta(days=1))
        """
        plan = self._plan.plans.get((Priority.parse(priority), metric))
        return None if plan is None else plan.target

    def matches(self, ticket: Ticket, at: datetime | None = None) -> bool:
        """Whether this policy's ``when`` holds for ``ticket`` (always, when it has none)."""
        if self.when is None:
            return True
        return bool(self.when.evaluate(ticket, at=at))

    # ------------------------------------------------------------------ clock engine (delegates)

    def start(self, ticket: Ticket, at: datetime | None = None) -> Ticket:
        """``ticket`` with this policy's clocks set up and those that start on creation running.

        ``at`` defaults to ``ticket.created_at``. Same as applying a
        ``ticket.created`` event at ``at`` to a ticket without clocks.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0))
            >>> t.sla.policy, t.sla.clocks[0].state, t.next_due_at.hour
            ('std', 'running', 10)
        """
        at = ticket.created_at if at is None else require_aware(at, "at")
        return start_clocks(self._plan_for(ticket), ticket, at)

    def apply(self, ticket: Ticket, event: Event) -> Ticket:
        """``ticket`` with its clocks moved by one ``event``, in O(1) (no history needed).

        Pass the ticket as it is after the event (for ``status.changed`` the new
        status is also read from the event's ``to`` / ``to_kind``). Emitted
        ``sla.warning`` / ``sla.breached`` / ``sla.escalated`` events mark their
        checkpoint as fired. A priority change needs nothing more: the new target
        applies to the time already spent, exactly as a replay would give.

        Raises:
            ValidationError: when the ticket runs under another policy.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     pause_in={"pending"},
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0, status="open", status_kind="open"))
            >>> e = tk.Event(
            ...     ticket_id=t.id,
            ...     kind="status.changed",
            ...     actor="li",
            ...     at=t0 + timedelta(hours=1),
            ...     data={"from": "open", "to": "pending", "from_kind": "open", "to_kind": "pending"},
            ... )
            >>> t = p.apply(attrs.evolve(t, status="pending", status_kind="pending"), e)
            >>> p.status(t, at=t0 + timedelta(hours=5))["resolution"].reason
            'paused: status is pending; 1h of 8h used'
        """
        return apply_event(self._plan_for(ticket), ticket, event)

    def status(self, ticket: Ticket, at: datetime) -> dict[str, SLAStatus]:
        """Each measured clock's [`SLAStatus`][ticketkit.SLAStatus] at ``at``, from the state on the ticket.

        Never replays events. ``at`` should be at or after the ticket's last
        applied event; for earlier instants use [`status_as_of`][ticketkit.SLAPolicy.status_as_of].

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> s = p.status(p.start(tk.Ticket(subject="Hi", created_at=t0)), at=t0 + timedelta(hours=3))
            >>> s["first_response"].state, s["first_response"].warnings, s["first_response"].reason
            ('breached', (0.5,), 'breached at 2025-03-03T11:00:00+00:00, 1h overdue; still running')
        """
        return read_status(self._plan_for(ticket), ticket, at)

    def next_checkpoint(self, ticket: Ticket) -> datetime | None:
        """The earliest instant at which a warning, breach or escalation not yet emitted falls due.

        None when nothing can fall due until the ticket changes (every clock
        idle, paused short of its next threshold, or stopped). The instant may be
        in the past when a checkpoint fell due and was not emitted yet. The same
        value is kept on the ticket as ``ticket.next_due_at`` for stores to index.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> p.next_checkpoint(p.start(tk.Ticket(subject="Hi", created_at=t0))).hour
            13
        """
        return next_due(self._plan_for(ticket), ticket)

    def due_events(self, ticket: Ticket, since: datetime | None, at: datetime) -> list[Event]:
        """The warnings, breaches and escalations that fell due in ``(since, at]``, as events.

        A pure function of the ticket: calls over contiguous windows return each
        checkpoint exactly once, however often or late they come. Checkpoints
        already emitted (their event applied back with [`apply`][ticketkit.SLAPolicy.apply]) are never
        returned again, so a worker that records what it emits may pass
        ``since=None`` (everything not yet emitted up to ``at``). Each event's
        ``data`` holds ``metric``, ``cycle``, ``key``, ``due_at`` (when it fell
        due), ``target``, ``policy``, and for warnings ``threshold``, for
        escalations ``level``, ``notify`` and ``actions``. Event ids are fixed by
        the checkpoint, so a repeated call gives equal events.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     warn_at=0.5,
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = p.start(tk.Ticket(subject="Hi", created_at=t0))
            >>> print(*[e.kind for e in p.due_events(t, t0, t0 + timedelta(hours=9))])
            sla.warning sla.breached
            >>> p.due_events(t, t0 + timedelta(hours=9), t0 + timedelta(hours=10))
            []
        """
        return due_in_window(self._plan_for(ticket), ticket, since, at)

    def status_as_of(self, ticket: Ticket, events: Sequence[Event], at: datetime) -> dict[str, SLAStatus]:
        """The status at any instant, past or present, by replaying ``events`` up to ``at``.

        ``events`` is the ticket's history in order (as a store returns it);
        fields that matter (status, priority, category, team, tags, custom
        fields) are rebuilt from it. For the instant of the last event or later
        this equals [`status`][ticketkit.SLAPolicy.status] on a ticket whose clocks saw the same events.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=2))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = tk.Ticket(subject="Hi", created_at=t0)
            >>> reply = tk.Comment(ticket_id=t.id, author="li", body="On it", at=t0 + timedelta(hours=1))
            >>> events = [
            ...     tk.Event(
            ...         ticket_id=t.id,
            ...         kind="comment.added",
            ...         actor="li",
            ...         at=reply.at,
            ...         data={"comment": tk.to_dict(reply)},
            ...     )
            ... ]
            >>> p.status_as_of(t, events, at=t0 + timedelta(minutes=30))["first_response"].state
            'running'
            >>> p.status_as_of(t, events, at=t0 + timedelta(hours=3))["first_response"].state
            'met'
        """
        return status_from_events(self._plan_for(ticket), ticket, events, at)

    def recompute(self, ticket: Ticket, events: Sequence[Event]) -> Ticket:
        """``ticket`` with its clocks rebuilt under this policy by replaying ``events``.

        Use it when the policy changes (another policy applies, or this one was
        edited: calendar, clocks, pause rules). Semantics: the time already spent
        counts, measured on this policy's calendar and pause rules over the whole
        history; this policy's targets apply from the start of each cycle; what
        was already emitted (the ``sla.*`` events in ``events``, and the
        checkpoints fired under the old state) is not emitted again in the same cycle,
        even when its threshold moved. A priority change alone needs no recompute:
        [`apply`][ticketkit.SLAPolicy.apply] gives the same result in O(1). Without a recompute, a ticket
        whose policy was edited keeps the clocks the policy still has, and clocks the
        edit added wait idle for their next start event.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open(),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> p.recompute(tk.Ticket(subject="Hi", created_at=t0), []).sla.policy
            'std'
        """
        return recompute_clocks(self._plan_for(ticket), ticket, events)

    # ------------------------------------------------------------------ data form

    @classmethod
    def from_dict(cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = "") -> SLAPolicy:
        """Load a policy from plain data, checking everything and naming every bad path.

        ``calendar`` is a calendar's own data form or the name of one in
        ``calendars``; ``when`` is a condition's data form.

        Examples:
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy.from_dict(
            ...     {
            ...         "name": "vip",
            ...         "calendar": "office",
            ...         "when": {"field": "customer.tier", "op": "eq", "value": "vip"},
            ...         "targets": {"urgent": {"first_response": "30m"}, "default": {"first_response": "2h"}},
            ...         "pause_in": ["pending"],
            ...         "warn_at": [0.75],
            ...         "escalations": [{"metric": "first_response", "at": 1.0, "notify": "role:lead"}],
            ...     },
            ...     calendars={"office": tk.BusinessCalendar.always_open("Asia/Shanghai")},
            ... )
            >>> p.target_for("urgent", "first_response")
            datetime.timedelta(seconds=1800)
            >>> try:
            ...     tk.SLAPolicy.from_dict(
            ...         {"name": "x", "calendar": "nope", "targets": {"asap": {}}, "warn_at": [2]},
            ...         calendars={},
            ...     )
            ... except tk.ValidationError as err:
            ...     print(err)
            invalid input (3 problems):
              calendar: unknown calendar 'nope' (known: none)
              targets.asap: unknown priority 'asap' (expected one of: low, normal, high, urgent, default)
              warn_at[0]: expected a fraction between 0 and 1, got 2
        """
        fields = policy_fields(data, calendars, path)
        try:
            return cls(**fields)
        except ValidationError as err:
            raise err.prefixed(path) if path else err from None

    def to_dict(self, *, calendar_name: bool = False) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.SLAPolicy.from_dict] reads it back.

        The calendar is embedded as its own data form, or written as its name
        when ``calendar_name`` is true (load it back with ``calendars=``).

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open("UTC"),
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ...     pause_in={"pending"},
            ... )
            >>> d = p.to_dict()
            >>> d["targets"], d["pause_in"]
            ({'default': {'resolution': 'PT8H'}}, ['pending'])
            >>> tk.SLAPolicy.from_dict(d) == p
            True
        """
        calendar = _calendar_data(self.calendar, calendar_name)
        order = {p: i for i, p in enumerate(Priority)}
        keys = sorted(self.targets, key=lambda k: order.get(k, 99) if isinstance(k, Priority) else 100)
        out: dict[str, Any] = {
            "name": self.name,
            "calendar": calendar,
            "when": None if self.when is None else self.when.to_dict(),
            "targets": {(k.value if isinstance(k, Priority) else k): self.targets[k].to_dict() for k in keys},
            "pause_in": sorted(self.pause_in),
            "warn_at": list(self.warn_at),
            "escalations": [e.to_dict() for e in self.escalations],
        }
        if self.clocks:
            out["clocks"] = [c.to_dict() for c in self.clocks]
        if self.calendar_from is not None:
            out["calendar_from"] = self.calendar_from
            out["calendars"] = {k: _calendar_data(c, calendar_name) for k, c in self.calendars.items()}
            if self.team_calendars:
                out["team_calendars"] = dict(self.team_calendars)
        return out

    def with_team_calendars(self, teams: Iterable[Team]) -> SLAPolicy:
        """This policy reading each team's [`Team.calendar`][ticketkit.Team] (when it reads ``team``).

        Teams whose calendar the policy has under that name are added to
        ``team_calendars`` (entries already there win); a policy that does not read
        its calendar from the team comes back unchanged. `Helpdesk` calls this with its
        teams.

        Examples:
            >>> from datetime import timedelta
            >>> import ticketkit as tk
            >>> sh = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-18:00"]}, name="sh")
            >>> p = tk.SLAPolicy(
            ...     name="std",
            ...     calendar=tk.BusinessCalendar.always_open("UTC"),
            ...     calendar_from="team",
            ...     calendars={"sh": sh},
            ...     targets={"default": tk.SLATarget(resolution=timedelta(hours=8))},
            ... )
            >>> p.with_team_calendars([tk.Team(id="after-sales", calendar="sh")]).team_calendars
            {'after-sales': 'sh'}
        """
        if self.calendar_from != "team":
            return self
        found = {
            t.id: t.calendar
            for t in teams
            if t.calendar is not None and t.calendar in self.calendars and t.id not in self.team_calendars
        }
        if not found:
            return self
        return attrs.evolve(self, team_calendars={**self.team_calendars, **found})


def _calendar_data(calendar: CalendarLike, by_name: bool) -> Any:
    """A calendar as written in a policy's data form: its name, or its own data."""
    if by_name:
        name = getattr(calendar, "name", "")
        if not name:
            raise ValidationError.one("calendar", "the calendar has no name; give it one or embed it")
        return name
    return calendar.to_dict() if hasattr(calendar, "to_dict") else None


# --------------------------------------------------------------------------- selection


def select_policy(
    policies: Sequence[SLAPolicy], ticket: Ticket, at: datetime | None = None
) -> SLAPolicy | None:
    """The first policy, in the order given, whose ``when`` holds for ``ticket``.

    Order is the only tie-break: never alphabetical, never by specificity. Put
    the narrowest policies first and a catch-all (``when=None``) last;
    [`check_policies`][ticketkit.check_policies] finds policies an earlier one hides.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar.always_open()
        >>> target = {"default": tk.SLATarget(first_response=timedelta(hours=2))}
        >>> vip = tk.SLAPolicy(name="vip", calendar=cal, when=tk.F.customer.tier == "vip", targets=target)
        >>> std = tk.SLAPolicy(name="standard", calendar=cal, targets=target)
        >>> t = tk.Ticket(subject="Hi", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
        >>> select_policy([vip, std], t).name
        'standard'
    """
    for policy in policies:
        if policy.matches(ticket, at):
            return policy
    return None


def reselect_policy(
    policies: Sequence[SLAPolicy], ticket: Ticket, events: Sequence[Event], *, at: datetime
) -> tuple[Ticket, list[Event]]:
    """Select the policy again after a change (category, team, customer, ...) and move the clocks.

    When the selected policy is the one already applied, the ticket comes back
    unchanged with no events. Otherwise the clocks are recomputed from
    ``events`` under the new policy ([`SLAPolicy.recompute`][ticketkit.SLAPolicy.recompute]) and one
    ``sla.policy_applied`` event (data: ``policy``, ``previous``, ``reason``) is
    returned. When no policy matches, the clocks are removed.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar.always_open()
        >>> fast = tk.SLAPolicy(
        ...     name="complaints",
        ...     calendar=cal,
        ...     when=tk.F.category == "complaint",
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=1))},
        ... )
        >>> std = tk.SLAPolicy(
        ...     name="standard",
        ...     calendar=cal,
        ...     targets={"default": tk.SLATarget(first_response=timedelta(hours=8))},
        ... )
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = std.start(tk.Ticket(subject="Hi", created_at=t0))
        >>> t = attrs.evolve(t, category="complaint")
        >>> t, events = reselect_policy([fast, std], t, [], at=t0 + timedelta(minutes=10))
        >>> t.sla.policy, events[0].data["previous"]
        ('complaints', 'standard')
    """
    require_aware(at, "at")
    chosen = select_policy(policies, ticket, at)
    previous = ticket.sla.policy if ticket.sla is not None else None
    new_name = chosen.name if chosen is not None else None
    if new_name == previous:
        return ticket, []
    if chosen is None:
        updated = replace_trusted(ticket, sla=None)
        reason = "no policy matches the ticket any more"
    else:
        updated = chosen.recompute(ticket, events)
        position = list(policies).index(chosen) + 1
        reason = f"policy {chosen.name!r} is the first of {len(policies)} that matches (number {position})"
    event = Event(
        ticket_id=ticket.id,
        kind=SLA_POLICY,
        actor=ACTOR,
        at=at,
        data={"policy": new_name, "previous": previous, "reason": reason},
        version=ticket.version,
        tenant=ticket.tenant,
        id=event_id(at, ticket.id, "policy", new_name, previous),
    )
    return updated, [event]
