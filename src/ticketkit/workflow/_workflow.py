"""Workflows: the life cycle of a ticket as a state machine, one per ticket type.

A [`Workflow`][ticketkit.Workflow] is a value: named [`State`][ticketkit.State]s (each with a *kind* -- new,
open, pending, resolved or closed -- that SLA clocks and reports read) and
[`Transition`][ticketkit.Transition]s between them. It is checked once, when it is built (every
problem listed with its path), and compiled into one table ``(state, trigger) ->
transition``; [`Workflow.fire`][ticketkit.Workflow.fire] then makes the new ticket and its events with one
lookup and one dict copy. Nothing is attached to tickets: one workflow serves any number
of tickets, with no per-ticket setup.

Guards decide whether a transition may fire: a [`Condition`][ticketkit.Condition] (the same
language as routing rules) or a callable ``guard(ticket, context) -> bool`` registered by
name. Hooks are callables ``hook(ticket, transition, context) -> Mapping | None``
registered by name; what they return are field changes made together with the
transition (see `HOOK_FIELDS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, TypeAlias, cast

import attrs

from ticketkit.conditions._conditions import Condition
from ticketkit.errors import ErrorDetail, InvalidTransitionError, ValidationError, join_path
from ticketkit.model import _events
from ticketkit.model._ids import new_id
from ticketkit.model._json import FrozenDict, freeze, thaw
from ticketkit.model._models import STATUS_KINDS, Event, Ticket, replace_trusted
from ticketkit.model._time import require_aware

__all__ = [
    "ANY_STATE",
    "HOOK_FIELDS",
    "State",
    "Transition",
    "Workflow",
    "Workflows",
    "default_workflow",
]

GuardFn: TypeAlias = Callable[[Ticket, Mapping[str, Any]], bool]
"""A guard callable: ``guard(ticket, context) -> bool``; True lets the transition fire."""

HookFn: TypeAlias = Callable[[Ticket, "Transition", Mapping[str, Any]], "Mapping[str, Any] | None"]
"""A hook callable: ``hook(ticket, transition, context) -> field changes or None``."""


ANY_STATE: Final = "*"
"""A transition ``source`` meaning every non-final state other than its ``dest``."""

HOOK_FIELDS: Final = frozenset({"assignee", "category", "fields", "priority", "tags", "team"})
"""The ticket fields a hook may change; each change is recorded as its own event."""

RESERVED_CONTEXT: Final = frozenset({"actor", "at", "trigger", "workflow"})
"""Context keys the workflow sets itself for guards and hooks."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MERMAID_WORDS = frozenset({"end", "state", "note", "direction", "class", "classDef", "as", "style"})
_KINDS_TEXT = ", ".join(STATUS_KINDS)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _known(names: Iterable[str]) -> str:
    items = sorted(names)
    return ", ".join(repr(n) for n in items) if items else "none"


# --------------------------------------------------------------------------- states and transitions


@attrs.frozen
class State:
    """One state of a workflow: its name, its kind, and whether it is final.

    ``kind`` is one of ``new``, ``open``, ``pending``, ``resolved``, ``closed``: SLA
    clocks pause in ``pending`` and stop in ``resolved``/``closed``, and reports group
    by kind, so a hospital's ``awaiting_lab`` and a workshop's ``waiting_for_parts``
    both count as ``pending``. A final state has no way out.

    Examples:
        >>> State("waiting_for_parts", "pending")
        State(name='waiting_for_parts', kind='pending', final=False)
        >>> State("closed", "closed", final=True).final
        True
    """

    name: str
    kind: str
    final: bool = False

    def __attrs_post_init__(self) -> None:
        problems = _state_problems(self, "")
        if problems:
            raise ValidationError(problems)


def _state_problems(state: State, path: str) -> list[ErrorDetail]:
    out: list[ErrorDetail] = []
    if not _is_text(state.name):
        out.append(ErrorDetail(join_path(path, "name"), f"expected a non-empty string, got {state.name!r}"))
    elif state.name == ANY_STATE:
        out.append(
            ErrorDetail(join_path(path, "name"), "'*' means 'any state' in transitions; name the state")
        )
    if state.kind not in STATUS_KINDS:
        out.append(
            ErrorDetail(
                join_path(path, "kind"), f"unknown kind {state.kind!r} (expected one of: {_KINDS_TEXT})"
            )
        )
    final: object = state.final
    if not isinstance(final, bool):
        out.append(ErrorDetail(join_path(path, "final"), f"expected true or false, got {final!r}"))
    return out


def _to_source(value: Any) -> Any:
    if isinstance(value, str):
        return value if value == ANY_STATE else (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(value, frozenset | set):
        return tuple(sorted(value, key=str))  # a stable order for to_dict and diagrams
    return value


def _to_tuple(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _to_hooks(value: Any) -> Any:
    if isinstance(value, str) or callable(value):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


@attrs.frozen
class Transition:
    """A way from one or more states to another, fired by a named trigger.

    ``source`` is a state name, a list of names, or ``"*"`` (every non-final state
    other than ``dest``). ``guard`` is a [`Condition`][ticketkit.Condition], the name of a
    registered guard callable, or a callable ``guard(ticket, context) -> bool``;
    the transition fires only when it holds. ``hooks`` are names of registered hook
    callables (or the callables themselves), run in order when the transition fires;
    see [`Workflow`][ticketkit.Workflow] for what they receive and may return.

    Examples:
        >>> from ticketkit import F
        >>> t = Transition("resolve", ["open", "pending"], "resolved", guard=F.category.exists())
        >>> t.source, t.dest
        (('open', 'pending'), 'resolved')
        >>> Transition("cancel", "*", "cancelled").source
        '*'
    """

    trigger: str
    source: tuple[str, ...] | str = attrs.field(converter=_to_source)
    dest: str
    guard: Condition | str | GuardFn | None = None
    hooks: tuple[str | HookFn, ...] = attrs.field(default=(), converter=_to_hooks)

    def __attrs_post_init__(self) -> None:
        problems = _transition_problems(self, "")
        if problems:
            raise ValidationError(problems)

    @property
    def guard_name(self) -> str | None:
        """A short name for the guard (for diagrams and messages); None without one.

        Examples:
            >>> Transition("close", "resolved", "closed", guard="survey_done").guard_name
            'survey_done'
        """
        guard = self.guard
        if guard is None:
            return None
        if isinstance(guard, str):
            return guard
        if isinstance(guard, Condition):
            return str(guard)
        return getattr(guard, "__name__", None) or type(guard).__name__


def _transition_problems(tr: Transition, path: str) -> list[ErrorDetail]:
    out: list[ErrorDetail] = []
    if not _is_text(tr.trigger):
        out.append(
            ErrorDetail(join_path(path, "trigger"), f"expected a non-empty string, got {tr.trigger!r}")
        )
    src = tr.source
    if isinstance(src, tuple):
        if not src:
            out.append(ErrorDetail(join_path(path, "source"), "expected at least one source state"))
        for i, name in enumerate(src):
            if not _is_text(name) or name == ANY_STATE:
                out.append(
                    ErrorDetail(
                        join_path(join_path(path, "source"), i),
                        f"expected a state name, got {name!r} ('*' stands alone: source='*')",
                    )
                )
    elif src != ANY_STATE:
        out.append(
            ErrorDetail(
                join_path(path, "source"), f"expected a state name, a list of names or '*', got {src!r}"
            )
        )
    if not _is_text(tr.dest):
        out.append(ErrorDetail(join_path(path, "dest"), f"expected a state name, got {tr.dest!r}"))
    guard: object = tr.guard
    if guard is not None and not isinstance(guard, Condition | str) and not callable(guard):
        out.append(
            ErrorDetail(
                join_path(path, "guard"),
                f"expected a Condition, the name of a registered guard or a callable, got {guard!r}",
            )
        )
    hooks: object = tr.hooks
    if not isinstance(hooks, tuple):
        out.append(ErrorDetail(join_path(path, "hooks"), f"expected a list of hook names, got {hooks!r}"))
    else:
        for i, hook in enumerate(hooks):
            if not (isinstance(hook, str) and hook.strip()) and not callable(hook):
                out.append(
                    ErrorDetail(
                        join_path(join_path(path, "hooks"), i),
                        f"expected the name of a registered hook or a callable, got {hook!r}",
                    )
                )
    return out


# --------------------------------------------------------------------------- the compiled table


class _Step:
    """One compiled ``(state, trigger)`` entry: everything ``fire`` needs, precomputed."""

    __slots__ = (
        "clear",
        "data",
        "dest",
        "dest_kind",
        "guard",
        "hooks",
        "plain",
        "stamp",
        "touches",
        "transition",
    )

    def __init__(
        self,
        transition: Transition,
        source: State,
        dest: State,
        guard: Condition | GuardFn | None,
        hooks: tuple[tuple[str, HookFn], ...],
    ) -> None:
        self.transition = transition
        self.dest = dest.name
        self.dest_kind = dest.kind
        self.guard = guard
        self.hooks = hooks
        self.plain = guard is None and not hooks
        # Shared by every event of this step: it is read-only, so sharing is safe.
        self.data: Mapping[str, Any] = FrozenDict(
            {
                "from": source.name,
                "to": dest.name,
                "trigger": transition.trigger,
                "from_kind": source.kind,
                "to_kind": dest.kind,
            }
        )
        stamp: list[str] = []
        clear: list[str] = []
        if dest.kind == "resolved":
            if source.kind != "resolved":
                stamp.append("resolved_at")
            if source.kind == "closed":
                clear.append("closed_at")
        elif dest.kind == "closed":
            if source.kind != "closed":
                stamp.append("closed_at")
        elif source.kind in ("resolved", "closed"):
            clear.extend(("resolved_at", "closed_at"))
        self.stamp = tuple(stamp)
        self.clear = tuple(clear)
        self.touches = bool(stamp or clear)


_new = object.__new__
_set = object.__setattr__
_STATUS_CHANGED: Final = _events.STATUS_CHANGED
# Ticket and Event keep their fields in a __dict__ so the hot path can build them with
# one dict each; if either went back to slots, fire falls back to the generic copy.
_FAST: Final = "__dict__" in Ticket.__dict__ and "__dict__" in Event.__dict__


def _event(  # noqa: PLR0917 - the hot path: positional calls are the cheapest
    ticket: Ticket, kind: str, actor: str, at: datetime, data: Mapping[str, Any], version: int
) -> Event:
    """An Event built without validation, for values the workflow made or checked itself."""
    event = _new(Event)
    _set(event, "ticket_id", ticket.id)
    _set(event, "kind", kind)
    _set(event, "actor", actor)
    _set(event, "at", at)
    _set(event, "data", data)
    _set(event, "version", version)
    _set(event, "tenant", ticket.tenant)
    _set(event, "id", new_id(at))
    return event


def _engine_changes(step: _Step, at: datetime, version: int) -> dict[str, Any]:
    """The fields a transition changes on the ticket."""
    changes: dict[str, Any] = {
        "status": step.dest,
        "status_kind": step.dest_kind,
        "version": version,
        "updated_at": at,
    }
    for name in step.stamp:
        changes[name] = at
    for name in step.clear:
        changes[name] = None
    return changes


def _fire_generic(  # pragma: no cover - only if the models go back to slots
    step: _Step, ticket: Ticket, at: datetime, actor: str
) -> tuple[Ticket, list[Event]]:
    """A plain transition through the generic copy (for models kept in slots)."""
    version = ticket.version + 1
    new = replace_trusted(ticket, **_engine_changes(step, at, version))
    return new, [_event(ticket, _events.STATUS_CHANGED, actor, at, step.data, version)]


def _backwards(at: datetime, ticket: Ticket) -> ValidationError:
    """The error for a change dated before the ticket's last one."""
    return ValidationError.one(
        "at",
        f"{at.isoformat()} is before the ticket's updated_at {ticket.updated_at.isoformat()}; "
        "changes must move forward in time",
    )


def _fire_plain(step: _Step, ticket: Ticket, at: datetime, actor: str) -> tuple[Ticket, list[Event]]:
    """The hot path of `Workflow.fire` (no guard, no hooks; values already checked): one dict
    copy for the ticket, one dict for the event, no validation."""
    old = ticket.__dict__
    version = old["version"] + 1
    state = old.copy()
    state["status"] = step.dest
    state["status_kind"] = step.dest_kind
    state["version"] = version
    state["updated_at"] = at
    if step.touches:
        for name in step.stamp:
            state[name] = at
        for name in step.clear:
            state[name] = None
    new = _new(ticket.__class__)
    _set(new, "__dict__", state)
    event = _new(Event)
    _set(
        event,
        "__dict__",
        {
            "ticket_id": old["id"],
            "kind": _STATUS_CHANGED,
            "actor": actor,
            "at": at,
            "data": step.data,
            "version": version,
            "tenant": old["tenant"],
            "id": new_id(at),
        },
    )
    return new, [event]


# --------------------------------------------------------------------------- the workflow


def _freeze_registry(value: Any) -> Any:
    if value is None:
        return MappingProxyType({})
    if isinstance(value, Mapping):
        return MappingProxyType(dict(value))
    return value


@attrs.frozen
class Workflow:
    """A ticket life cycle: states, transitions between them, and where tickets start.

    The definition is checked when it is built, and every problem is listed with its
    path: unknown states, a trigger defined twice from one state, states that cannot
    be reached from ``initial``, states with no way to a final state, final states
    with exits, unknown guard or hook names.

    Guards and hooks named by a string are looked up in ``guards`` and ``hooks``:

    - ``guard(ticket, context) -> bool``.
    - ``hook(ticket, transition, context) -> Mapping | None``: runs after the guard
      holds, before the change is made; ``ticket`` is the ticket as it stands (with
      earlier hooks' changes), ``transition`` the [`Transition`][ticketkit.Transition] firing. It
      returns the fields to change (only `HOOK_FIELDS`: assignee, category,
      fields, priority, tags, team) or None. Its changes are validated like user
      input, applied in the same version as the status change, and recorded as
      their own events (``priority.changed``, ``ticket.assigned``, ...). A hook
      that raises stops the transition: nothing changes.

    ``context`` is a read-only mapping of the keyword arguments given to
    [`fire`][ticketkit.Workflow.fire] plus ``actor``, ``at``, ``trigger`` and ``workflow`` (the name);
    conditions read it as ``context.<key>``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> wf = Workflow(
        ...     "enquiry",
        ...     states=[State("new", "new"), State("answered", "resolved", final=True)],
        ...     transitions=[Transition("answer", "new", "answered")],
        ...     initial="new",
        ... )
        >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> t = Ticket(subject="Is my result ready?", created_at=at)
        >>> t2, events = wf.fire(t, "answer", at=at, actor="agent:li")
        >>> t2.status, t2.status_kind, t2.version, events[0].data["to"]
        ('answered', 'resolved', 2, 'answered')
    """

    name: str
    states: tuple[State, ...] = attrs.field(converter=_to_tuple)
    transitions: tuple[Transition, ...] = attrs.field(converter=_to_tuple)
    initial: str
    guards: Mapping[str, GuardFn] = attrs.field(
        factory=dict, converter=_freeze_registry, kw_only=True, eq=False, repr=False
    )
    hooks: Mapping[str, HookFn] = attrs.field(
        factory=dict, converter=_freeze_registry, kw_only=True, eq=False, repr=False
    )
    _by_name: Mapping[str, State] = attrs.field(init=False, eq=False, repr=False)
    _table: dict[tuple[str, str], _Step] = attrs.field(init=False, eq=False, repr=False)
    _triggers: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_name, table, triggers = _compile(self)
        _set(self, "_by_name", by_name)
        _set(self, "_table", table)
        _set(self, "_triggers", triggers)

    # ------------------------------------------------------------------ loading and dumping

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        guards: Mapping[str, GuardFn] | None = None,
        hooks: Mapping[str, HookFn] | None = None,
        calendars: Mapping[str, Any] | None = None,
        path: str = "",
    ) -> Workflow:
        """Build a workflow from its data form, checking everything first.

        ``guard`` in a transition is a condition in data form or the name of a callable
        in ``guards``; ``hooks`` lists names in ``hooks``. ``calendars`` is passed to
        conditions (for ``in_business_hours``).

        Raises:
            ValidationError: listing every problem with its path.

        Examples:
            >>> wf = Workflow.from_dict(
            ...     {
            ...         "name": "enquiry",
            ...         "initial": "new",
            ...         "states": [
            ...             {"name": "new", "kind": "new"},
            ...             {"name": "answered", "kind": "resolved", "final": True},
            ...         ],
            ...         "transitions": [{"trigger": "answer", "source": "new", "dest": "answered"}],
            ...     }
            ... )
            >>> wf.allowed_from("new")
            ['answer']
            >>> try:
            ...     Workflow.from_dict({"name": "x", "initial": "new", "states": [], "transitions": [{}]})
            ... except ValidationError as err:
            ...     print(err)
            invalid input (4 problems):
              states: a workflow needs at least one state
              transitions[0].trigger: required field is missing
              transitions[0].source: required field is missing
              transitions[0].dest: required field is missing
        """
        problems: list[ErrorDetail] = []
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for a workflow, got {data!r}")
        _unknown_keys(data, {"name", "initial", "states", "transitions"}, path, problems)
        name = _required(data, "name", path, problems)
        initial = _required(data, "initial", path, problems)
        states: list[State] = []
        raw_states = _required(data, "states", path, problems, default=[])
        if not isinstance(raw_states, list | tuple):
            problems.append(ErrorDetail(join_path(path, "states"), f"expected a list, got {raw_states!r}"))
        else:
            for i, item in enumerate(raw_states):
                state = _state_from_dict(item, join_path(join_path(path, "states"), i), problems)
                if state is not None:
                    states.append(state)
            if not raw_states:
                problems.append(ErrorDetail(join_path(path, "states"), "a workflow needs at least one state"))
        transitions: list[Transition] = []
        raw_trans = _required(data, "transitions", path, problems, default=[])
        if not isinstance(raw_trans, list | tuple):
            problems.append(
                ErrorDetail(join_path(path, "transitions"), f"expected a list, got {raw_trans!r}")
            )
        else:
            for i, item in enumerate(raw_trans):
                tr = _transition_from_dict(
                    item, join_path(join_path(path, "transitions"), i), calendars, problems
                )
                if tr is not None:
                    transitions.append(tr)
        if problems:
            raise ValidationError(problems)
        try:
            return cls(name, states, transitions, initial, guards=guards or {}, hooks=hooks or {})
        except ValidationError as err:
            raise (err.prefixed(path) if path else err) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form, JSON-safe; `from_dict` reads it back (given the same registries).

        Raises:
            ValidationError: a guard or hook given as a callable that is not registered
                by name (a callable has no data form).

        Examples:
            >>> data = default_workflow().to_dict()
            >>> data["initial"], len(data["states"]), data["transitions"].pop(0)
            ('new', 6, {'trigger': 'open', 'source': 'new', 'dest': 'open'})
        """
        problems: list[ErrorDetail] = []
        transitions = []
        for i, tr in enumerate(self.transitions):
            p = f"transitions[{i}]"
            item: dict[str, Any] = {
                "trigger": tr.trigger,
                "source": tr.source if isinstance(tr.source, str) else _one_or_list(tr.source),
                "dest": tr.dest,
            }
            if tr.guard is not None:
                if isinstance(tr.guard, Condition):
                    item["guard"] = tr.guard.to_dict()
                else:
                    item["guard"] = self._name_of(tr.guard, self.guards, f"{p}.guard", problems)
            if tr.hooks:
                item["hooks"] = [
                    self._name_of(h, self.hooks, f"{p}.hooks[{j}]", problems) for j, h in enumerate(tr.hooks)
                ]
            transitions.append(item)
        if problems:
            raise ValidationError(problems)
        return {
            "name": self.name,
            "initial": self.initial,
            "states": [
                {"name": s.name, "kind": s.kind, **({"final": True} if s.final else {})} for s in self.states
            ],
            "transitions": transitions,
        }

    @staticmethod
    def _name_of(item: Any, registry: Mapping[str, Any], path: str, problems: list[ErrorDetail]) -> str:
        if isinstance(item, str):
            return item
        for name, fn in registry.items():
            if fn is item:
                return name
        problems.append(
            ErrorDetail(
                path, f"the callable {item!r} has no name to write; register it by name and refer to it"
            )
        )
        return ""

    # ------------------------------------------------------------------ reading the definition

    def state(self, name: str) -> State:
        """The state called ``name``.

        Raises:
            ValidationError: no such state (the message lists the known ones).

        Examples:
            >>> default_workflow().state("pending").kind
            'pending'
        """
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise ValidationError.one(
                "status", f"unknown state {name!r} in workflow {self.name!r} (known: {_known(self._by_name)})"
            ) from None

    def kind_of(self, status: str) -> str:
        """The kind (new/open/pending/resolved/closed) of the state called ``status``.

        Examples:
            >>> default_workflow().kind_of("cancelled")
            'closed'
        """
        return self.state(status).kind

    @property
    def initial_state(self) -> State:
        """The state new tickets start in.

        Examples:
            >>> default_workflow().initial_state.name
            'new'
        """
        return self._by_name[self.initial]

    def allowed_from(self, status: str) -> list[str]:
        """Every trigger defined from ``status``, guards not considered, in definition order.

        Examples:
            >>> default_workflow().allowed_from("open")
            ['wait', 'resolve', 'cancel']
        """
        self.state(status)
        return list(self._triggers.get(status, ()))

    def transition_for(self, status: str, trigger: str) -> Transition | None:
        """The transition ``trigger`` fires from ``status``, or None.

        Examples:
            >>> default_workflow().transition_for("resolved", "reopen").dest
            'open'
        """
        step = self._table.get((status, trigger))
        return step.transition if step is not None else None

    # ------------------------------------------------------------------ using it

    def start(self, ticket: Ticket) -> Ticket:
        """``ticket`` placed in this workflow's initial state (for new tickets, before saving).

        Examples:
            >>> from datetime import datetime, timezone
            >>> wf = Workflow(
            ...     "lab",
            ...     [State("received", "new"), State("done", "closed", final=True)],
            ...     [Transition("finish", "received", "done")],
            ...     "received",
            ... )
            >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> wf.start(t).status, wf.start(t).status_kind
            ('received', 'new')
        """
        state = self.initial_state
        return attrs.evolve(ticket, status=state.name, status_kind=state.kind)

    def allowed(
        self, ticket: Ticket, *, at: datetime | None = None, actor: str | None = None, **context: Any
    ) -> list[str]:
        """The triggers that can fire for ``ticket`` now: defined from its state, guards holding.

        ``at``, ``actor`` and ``context`` are what guards see (as in [`fire`][ticketkit.Workflow.fire]).

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket(subject="s", status="open", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> default_workflow().allowed(t)
            ['wait', 'resolve', 'cancel']
        """
        status = self._status(ticket)
        out = []
        for trigger in self._triggers.get(status, ()):
            step = self._table[(status, trigger)]
            if step.guard is None or self._check_guard(step, ticket, at, actor, context) is None:
                out.append(trigger)
        return out

    def can(
        self,
        ticket: Ticket,
        trigger: str,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        **context: Any,
    ) -> bool:
        """Whether ``trigger`` can fire for ``ticket`` now (defined from its state, guard holding).

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> default_workflow().can(t, "open"), default_workflow().can(t, "close")
            (True, False)
        """
        return self.why_not(ticket, trigger, at=at, actor=actor, **context) is None

    def why_not(
        self,
        ticket: Ticket,
        trigger: str,
        *,
        at: datetime | None = None,
        actor: str | None = None,
        **context: Any,
    ) -> str | None:
        """Why ``trigger`` cannot fire for ``ticket`` now, or None when it can.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> default_workflow().why_not(t, "close")
            "no transition 'close' from state 'new'"
        """
        status = self._status(ticket)
        step = self._table.get((status, trigger))
        if step is None:
            return self._missing_reason(status, trigger)
        if step.guard is None:
            return None
        return self._check_guard(step, ticket, at, actor, context)

    def fire(
        self, ticket: Ticket, trigger: str, /, *, at: datetime, actor: str, **context: Any
    ) -> tuple[Ticket, list[Event]]:
        """Fire ``trigger``: the new ticket and the events that record the change.

        The new ticket has the destination ``status`` and ``status_kind``, ``version``
        one higher and ``updated_at = at``; entering a resolved-kind state sets
        ``resolved_at``, entering a closed-kind state sets ``closed_at``, and going back
        to new/open/pending from either clears both. The first event is
        ``status.changed`` with data ``from``, ``to``, ``trigger``, ``from_kind``,
        ``to_kind``; hooks' changes follow as their own events. ``context`` is passed
        to guards and hooks.

        Raises:
            InvalidTransitionError: the trigger is not defined from the ticket's state,
                or its guard does not hold (``reason`` says which condition failed and
                with what value); ``allowed`` lists what can fire.
            ValidationError: ``at`` naive or before ``ticket.updated_at``, ``actor``
                empty, a reserved context key, or a hook returned bad changes.

        Examples:
            >>> from datetime import datetime, timezone
            >>> wf = default_workflow()
            >>> at = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> t = Ticket(subject="Refund", created_at=at)
            >>> t, events = wf.fire(t, "open", at=at, actor="agent:li")
            >>> t.status, t.version, events[0].kind, dict(events[0].data)["from"]
            ('open', 2, 'status.changed', 'new')
            >>> try:
            ...     wf.fire(t, "close", at=at, actor="agent:li")
            ... except InvalidTransitionError as err:
            ...     print(err.state, err.trigger, err.allowed)
            open close ['wait', 'resolve', 'cancel']
        """
        if ticket.__class__ is not Ticket and not isinstance(ticket, Ticket):
            raise ValidationError.one("ticket", f"expected a Ticket, got {ticket!r}")
        try:
            step = self._table.get((ticket.status, trigger))
        except TypeError:  # an unhashable trigger
            raise ValidationError.one("trigger", f"expected a trigger name, got {trigger!r}") from None
        if step is None:
            raise self._refusal(ticket, trigger, at, actor, context)
        # The checks on the caller's values, cheapest first; full messages on the slow path.
        if type(at) is not datetime or at.tzinfo is None:
            require_aware(at, "at")
        if type(actor) is not str or not actor:
            raise ValidationError.one("actor", f"expected a non-empty string naming who acts, got {actor!r}")
        if at < ticket.updated_at:
            raise _backwards(at, ticket)
        if not step.plain:
            return self._fire_slow(step, ticket, at, actor, context)
        if not _FAST:  # pragma: no cover - only if the models go back to slots
            return _fire_generic(step, ticket, at, actor)
        return _fire_plain(step, ticket, at, actor)

    # ------------------------------------------------------------------ the slow path

    def _context(
        self, trigger: str, at: datetime | None, actor: str | None, context: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        reserved = RESERVED_CONTEXT.intersection(context)
        if reserved:
            raise ValidationError(
                [
                    ErrorDetail(
                        f"context.{key}",
                        f"{key!r} is set by the workflow; pass your value under another name",
                    )
                    for key in sorted(reserved)
                ]
            )
        return MappingProxyType(
            {**context, "actor": actor, "at": at, "trigger": trigger, "workflow": self.name}
        )

    def _check_guard(
        self, step: _Step, ticket: Ticket, at: datetime | None, actor: str | None, context: Mapping[str, Any]
    ) -> str | None:
        if at is not None:
            require_aware(at, "at")
        ctx = self._context(step.transition.trigger, at, actor, context)
        return self._guard_failure(step, ticket, at, ctx)

    @staticmethod
    def _guard_failure(
        step: _Step, ticket: Ticket, at: datetime | None, ctx: Mapping[str, Any]
    ) -> str | None:
        guard = step.guard
        if isinstance(guard, Condition):
            if at is None and guard.needs_at:
                raise ValidationError.one(
                    "at",
                    f"the guard of {step.transition.trigger!r} compares with the current time; "
                    "pass at=<aware datetime>",
                )
            failure = guard.explain(ticket, at=at, context=ctx)
            return None if failure is None else f"guard failed: {failure}"
        assert guard is not None
        result = guard(ticket, ctx)
        if result is True:
            return None
        if result is False:
            return f"guard {step.transition.guard_name!r} returned False"
        raise ValidationError.one(
            f"guards.{step.transition.guard_name}", f"a guard must return True or False, got {result!r}"
        )

    def _fire_slow(
        self, step: _Step, ticket: Ticket, at: datetime, actor: str, context: Mapping[str, Any]
    ) -> tuple[Ticket, list[Event]]:
        trigger = step.transition.trigger
        version = ticket.version + 1
        ctx = self._context(trigger, at, actor, context)
        if step.guard is not None:
            reason = self._guard_failure(step, ticket, at, ctx)
            if reason is not None:
                allowed = self.allowed(ticket, at=at, actor=actor, **context)
                raise InvalidTransitionError(ticket.status, trigger, allowed, reason)
        current = ticket
        extra: list[tuple[str, Mapping[str, Any]]] = []
        for name, hook in step.hooks:
            changes = hook(current, step.transition, ctx)
            if changes is None:
                continue
            before = current
            current = _apply_hook(current, name, changes)
            extra.extend(_hook_events(name, before, current))
        new = replace_trusted(current, **_engine_changes(step, at, version))
        events = [_event(ticket, _events.STATUS_CHANGED, actor, at, step.data, version)]
        events.extend(_event(ticket, kind, actor, at, data, version) for kind, data in extra)
        return new, events

    # ------------------------------------------------------------------ errors

    def _status(self, ticket: Ticket) -> str:
        if not isinstance(ticket, Ticket):
            raise ValidationError.one("ticket", f"expected a Ticket, got {ticket!r}")
        return ticket.status

    def _missing_reason(self, status: str, trigger: str) -> str:
        if status not in self._by_name:
            return f"state {status!r} is not in workflow {self.name!r} (known: {_known(self._by_name)})"
        if self._by_name[status].final:
            return f"{status!r} is a final state"
        return f"no transition {trigger!r} from state {status!r}"

    def _refusal(
        self, ticket: Ticket, trigger: object, at: datetime, actor: str, context: Mapping[str, Any]
    ) -> Exception:
        if not isinstance(trigger, str):
            return ValidationError.one("trigger", f"expected a trigger name, got {trigger!r}")
        status = ticket.status
        allowed = self.allowed(ticket, at=at, actor=actor, **context)
        return InvalidTransitionError(status, trigger, allowed, self._missing_reason(status, trigger))

    # ------------------------------------------------------------------ drawing

    def to_mermaid(self) -> str:
        """A Mermaid ``stateDiagram-v2`` of the workflow (mkdocs-material draws it).

        States are coloured by kind; guarded transitions show the guard in brackets.

        Examples:
            >>> print(default_workflow().to_mermaid().splitlines()[:4])
            ['stateDiagram-v2', '    direction LR', '    [*] --> new', '    new --> open: open']
        """
        used = {s.name for s in self.states if _NAME.match(s.name) and s.name not in _MERMAID_WORDS}
        ids: dict[str, str] = {}
        for i, s in enumerate(self.states):
            if s.name in used:
                ids[s.name] = s.name
                continue
            made = f"s{i}"
            while made in used:  # a state may be named like a generated id
                made += "_"
            used.add(made)
            ids[s.name] = made
        lines = ["stateDiagram-v2", "    direction LR", f"    [*] --> {ids[self.initial]}"]
        lines.extend(
            f'    state "{_mermaid_text(s.name)}" as {ids[s.name]}'
            for s in self.states
            if ids[s.name] != s.name
        )
        lines.extend(
            f"    {ids[src]} --> {ids[dest]}: {_mermaid_text(label)}" for src, dest, label in self._edges()
        )
        lines.extend(f"    {ids[s.name]} --> [*]" for s in self.states if s.final)
        for kind, style in _KIND_STYLES.items():
            members = [ids[s.name] for s in self.states if s.kind == kind]
            if members:
                lines.append(f"    classDef kind_{kind} {style}")
                lines.append(f"    class {','.join(members)} kind_{kind}")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """A Graphviz DOT digraph of the workflow (final states drawn with a double border).

        Examples:
            >>> print(default_workflow().to_dot().splitlines()[0])
            digraph "support" {
        """
        lines = [
            f"digraph {_dot_quote(self.name)} {{",
            "    rankdir=LR;",
            '    node [shape=box, style="rounded,filled", fontname="Helvetica"];',
            '    "__start__" [shape=point, label=""];',
        ]
        for s in self.states:
            fill = _KIND_COLOURS[s.kind]
            extra = ", peripheries=2" if s.final else ""
            label = '"' + _dot_escape(s.name) + "\\n(" + s.kind + ')"'
            lines.append(f'    {_dot_quote(s.name)} [label={label}, fillcolor="{fill}"{extra}];')
        lines.append(f'    "__start__" -> {_dot_quote(self.initial)};')
        for src, dest, label in self._edges():
            lines.append(f"    {_dot_quote(src)} -> {_dot_quote(dest)} [label={_dot_quote(label)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _edges(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for src in self.states:
            for trigger in self._triggers.get(src.name, ()):
                tr = self._table[(src.name, trigger)].transition
                guard = tr.guard_name
                out.append((src.name, tr.dest, f"{trigger} [{guard}]" if guard else trigger))
        return out


_KIND_COLOURS: Final = {
    "new": "#e3f2fd",
    "open": "#fff8e1",
    "pending": "#f3e5f5",
    "resolved": "#e8f5e9",
    "closed": "#eeeeee",
}
_KIND_STYLES: Final = {kind: f"fill:{colour}" for kind, colour in _KIND_COLOURS.items()}


def _mermaid_text(text: str) -> str:
    # Mermaid ends a label at a newline and reads ':', ';' and '#' specially.
    return re.sub(r"[\r\n:;#\"]", " ", text)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _dot_quote(text: str) -> str:
    return '"' + _dot_escape(text) + '"'


def _one_or_list(names: tuple[str, ...]) -> str | list[str]:
    return names[0] if len(names) == 1 else list(names)


# --------------------------------------------------------------------------- compiling and checking


def _compile(
    wf: Workflow,
) -> tuple[Mapping[str, State], dict[tuple[str, str], _Step], Mapping[str, tuple[str, ...]]]:
    """Check the whole definition (every problem listed) and build the lookup table."""
    problems = _registry_problems(wf)
    if problems:
        raise ValidationError(problems)
    by_name, index_of = _states_by_name(wf, problems)
    transitions: object = wf.transitions
    if not isinstance(transitions, tuple):
        problems.append(ErrorDetail("transitions", f"expected a list of transitions, got {transitions!r}"))
        raise ValidationError(problems)
    table: dict[tuple[str, str], _Step] = {}
    defined_at: dict[tuple[str, str], int] = {}
    edges: list[tuple[str, str]] = []
    triggers: dict[str, list[str]] = {}
    for i, tr in enumerate(transitions):
        p = f"transitions[{i}]"
        if not isinstance(tr, Transition):
            problems.append(ErrorDetail(p, f"expected a Transition, got {tr!r}"))
            continue
        dest = by_name.get(tr.dest)
        if dest is None:
            problems.append(ErrorDetail(f"{p}.dest", f"unknown state {tr.dest!r} (known: {_known(by_name)})"))
        sources, ok = _sources(tr, by_name, p, problems)
        guard = _resolve_guard(tr.guard, wf.guards, f"{p}.guard", problems)
        hooks = _resolve_hooks(tr.hooks, wf.hooks, f"{p}.hooks", problems)
        ok = ok and dest is not None and guard is not False and hooks is not None
        for src in sources:
            if dest is not None:
                edges.append((src.name, dest.name))
            pair = (src.name, tr.trigger)
            if pair in defined_at:
                problems.append(
                    ErrorDetail(
                        p,
                        f"trigger {tr.trigger!r} from state {src.name!r} is already defined by "
                        f"transitions[{defined_at[pair]}]; a trigger leads to one place from each state",
                    )
                )
                ok = False
                continue
            defined_at[pair] = i
            if ok and dest is not None and not isinstance(guard, bool) and hooks is not None:
                table[pair] = _Step(tr, src, dest, guard, hooks)
                triggers.setdefault(src.name, []).append(tr.trigger)

    # The graph is checked even when other problems were found (every problem is listed),
    # over every transition whose states exist.
    if wf.initial in by_name:
        _graph_problems(wf, by_name, index_of, edges, problems)
    if problems:
        raise ValidationError(problems)
    return (
        MappingProxyType(by_name),
        table,
        MappingProxyType({k: tuple(v) for k, v in triggers.items()}),
    )


def _registry_problems(wf: Workflow) -> list[ErrorDetail]:
    """Problems with the name and the guard and hook registries (checked before anything else)."""
    problems: list[ErrorDetail] = []
    if not _is_text(wf.name):
        problems.append(ErrorDetail("name", f"expected a non-empty string, got {wf.name!r}"))
    for label, registry in (("guards", cast("object", wf.guards)), ("hooks", cast("object", wf.hooks))):
        if not isinstance(registry, Mapping):
            problems.append(ErrorDetail(label, f"expected a mapping of names to callables, got {registry!r}"))
            continue
        for reg_name, fn in registry.items():
            if not callable(fn):
                problems.append(ErrorDetail(f"{label}.{reg_name}", f"expected a callable, got {fn!r}"))
    return problems


def _states_by_name(wf: Workflow, problems: list[ErrorDetail]) -> tuple[dict[str, State], dict[str, int]]:
    """The states by name and their positions; problems reported (raised when there are no states)."""
    by_name: dict[str, State] = {}
    index_of: dict[str, int] = {}
    states: object = wf.states
    if not isinstance(states, tuple) or not states:
        problems.append(ErrorDetail("states", f"a workflow needs at least one state, got {states!r}"))
        raise ValidationError(problems)
    for i, s in enumerate(states):
        if not isinstance(s, State):
            problems.append(ErrorDetail(f"states[{i}]", f"expected a State, got {s!r}"))
            continue
        if s.name in by_name:
            problems.append(
                ErrorDetail(
                    f"states[{i}].name", f"duplicate state {s.name!r} (also states[{index_of[s.name]}])"
                )
            )
            continue
        by_name[s.name] = s
        index_of[s.name] = i
    if wf.initial not in by_name:
        problems.append(ErrorDetail("initial", f"unknown state {wf.initial!r} (known: {_known(by_name)})"))
    if by_name and not any(s.final for s in by_name.values()):
        problems.append(ErrorDetail("states", "no final state: mark at least one state final=True"))
    return by_name, index_of


def _sources(
    tr: Transition, by_name: Mapping[str, State], path: str, problems: list[ErrorDetail]
) -> tuple[list[State], bool]:
    """The states a transition leaves from, and whether all of them are valid."""
    if tr.source == ANY_STATE:
        return [s for s in by_name.values() if not s.final and s.name != tr.dest], True
    sources: list[State] = []
    ok = True
    for j, name in enumerate(tr.source):
        src = by_name.get(name)
        if src is None:
            problems.append(
                ErrorDetail(f"{path}.source[{j}]", f"unknown state {name!r} (known: {_known(by_name)})")
            )
            ok = False
        elif src.final:
            problems.append(
                ErrorDetail(
                    f"{path}.source[{j}]",
                    f"{name!r} is a final state and cannot have exits "
                    "(make it not final, or drop this transition)",
                )
            )
            ok = False
        else:
            sources.append(src)
    return sources, ok


def _resolve_guard(
    guard: Any, registry: Mapping[str, GuardFn], path: str, problems: list[ErrorDetail]
) -> Condition | GuardFn | bool | None:
    """The guard to call, or False after reporting why there is none."""
    if guard is None or isinstance(guard, Condition):
        return guard
    if isinstance(guard, str):
        fn = registry.get(guard)
        if fn is None:
            problems.append(ErrorDetail(path, f"unknown guard {guard!r} (registered: {_known(registry)})"))
            return False
        return fn
    return guard  # type: ignore[no-any-return]


def _resolve_hooks(
    hooks: tuple[Any, ...], registry: Mapping[str, HookFn], path: str, problems: list[ErrorDetail]
) -> tuple[tuple[str, HookFn], ...] | None:
    out: list[tuple[str, HookFn]] = []
    ok = True
    for j, hook in enumerate(hooks):
        if isinstance(hook, str):
            fn = registry.get(hook)
            if fn is None:
                problems.append(
                    ErrorDetail(f"{path}[{j}]", f"unknown hook {hook!r} (registered: {_known(registry)})")
                )
                ok = False
                continue
            out.append((hook, fn))
        else:
            out.append((getattr(hook, "__name__", None) or type(hook).__name__, hook))
    return tuple(out) if ok else None


def _graph_problems(
    wf: Workflow,
    by_name: Mapping[str, State],
    index_of: Mapping[str, int],
    edges: Iterable[tuple[str, str]],
    problems: list[ErrorDetail],
) -> None:
    forward: dict[str, set[str]] = {name: set() for name in by_name}
    backward: dict[str, set[str]] = {name: set() for name in by_name}
    for src, dest in edges:
        forward[src].add(dest)
        backward[dest].add(src)
    reachable = _closure([wf.initial], forward)
    finishing = _closure([n for n, s in by_name.items() if s.final], backward)
    for name in by_name:
        i = index_of[name]
        if name not in reachable:
            problems.append(
                ErrorDetail(
                    f"states[{i}]", f"state {name!r} cannot be reached from the initial state {wf.initial!r}"
                )
            )
        elif name not in finishing:
            problems.append(
                ErrorDetail(
                    f"states[{i}]",
                    f"no way from state {name!r} to a final state; tickets there could never be closed",
                )
            )


def _closure(start: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# --------------------------------------------------------------------------- hooks


def _apply_hook(ticket: Ticket, name: str, changes: object) -> Ticket:
    """``ticket`` with one hook's changes, validated like user input."""
    path = f"hooks.{name}"
    if not isinstance(changes, Mapping):
        raise ValidationError.one(path, f"a hook returns a mapping of field changes or None, got {changes!r}")
    problems = [
        ErrorDetail(
            join_path(path, str(key)),
            f"a hook may not change {key!r} (hooks may change: {', '.join(sorted(HOOK_FIELDS))})",
        )
        for key in changes
        if key not in HOOK_FIELDS
    ]
    if problems:
        raise ValidationError(problems)
    try:
        return attrs.evolve(ticket, **changes)
    except ValidationError as err:
        raise err.prefixed(path) from None


def _hook_events(name: str, before: Ticket, after: Ticket) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The events that record a hook's changes, one per kind of change."""
    reason = f"workflow hook {name!r}"
    if before.priority != after.priority:
        yield (
            _events.PRIORITY_CHANGED,
            _data({"from": before.priority.value, "to": after.priority.value, "hook": name}),
        )
    if before.category != after.category:
        yield _events.CATEGORY_CHANGED, _data({"from": before.category, "to": after.category, "hook": name})
    if before.tags != after.tags:
        yield (
            _events.TAGS_CHANGED,
            _data(
                {
                    "added": sorted(after.tags - before.tags),
                    "removed": sorted(before.tags - after.tags),
                    "hook": name,
                }
            ),
        )
    if before.fields != after.fields:
        keys = sorted(set(before.fields) | set(after.fields))
        changes = {
            k: {"from": thaw(before.fields.get(k)), "to": thaw(after.fields.get(k))}
            for k in keys
            if before.fields.get(k) != after.fields.get(k)
        }
        yield _events.FIELDS_CHANGED, _data({"changes": changes, "hook": name})
    if before.team != after.team or before.assignee != after.assignee:
        yield (
            _events.ASSIGNED,
            _data(
                {
                    "team": after.team,
                    "agent": after.assignee,
                    "from_team": before.team,
                    "from_agent": before.assignee,
                    "rule": None,
                    "reason": reason,
                    "hook": name,
                }
            ),
        )


def _data(value: dict[str, Any]) -> Mapping[str, Any]:
    frozen: Mapping[str, Any] = freeze(value)
    return frozen


# --------------------------------------------------------------------------- data form helpers


def _unknown_keys(data: Mapping[str, Any], allowed: set[str], path: str, problems: list[ErrorDetail]) -> None:
    expected = ", ".join(sorted(allowed))
    problems.extend(
        ErrorDetail(join_path(path, str(key)), f"unknown key {key!r} (expected: {expected})")
        for key in data
        if key not in allowed
    )


_MISSING: Final = object()


def _required(
    data: Mapping[str, Any], key: str, path: str, problems: list[ErrorDetail], default: Any = None
) -> Any:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        problems.append(ErrorDetail(join_path(path, key), "required field is missing"))
        return default
    return value


def _state_from_dict(item: Any, path: str, problems: list[ErrorDetail]) -> State | None:
    if not isinstance(item, Mapping):
        problems.append(ErrorDetail(path, f"expected an object with name and kind, got {item!r}"))
        return None
    _unknown_keys(item, {"name", "kind", "final"}, path, problems)
    name = _required(item, "name", path, problems)
    kind = _required(item, "kind", path, problems)
    final = item.get("final", False)
    if name is None or kind is None:
        return None
    state = _new(State)
    _set(state, "name", name)
    _set(state, "kind", kind)
    _set(state, "final", final)
    found = _state_problems(state, path)
    if found:
        problems.extend(found)
        return None
    return State(name, kind, final)


def _transition_from_dict(
    item: Any, path: str, calendars: Mapping[str, Any] | None, problems: list[ErrorDetail]
) -> Transition | None:
    if not isinstance(item, Mapping):
        problems.append(ErrorDetail(path, f"expected an object with trigger, source and dest, got {item!r}"))
        return None
    _unknown_keys(item, {"trigger", "source", "dest", "guard", "hooks"}, path, problems)
    trigger = _required(item, "trigger", path, problems)
    source = _required(item, "source", path, problems)
    dest = _required(item, "dest", path, problems)
    guard: Any = item.get("guard")
    if isinstance(guard, Mapping):
        try:
            guard = Condition.from_dict(guard, calendars=calendars, path=join_path(path, "guard"))
        except ValidationError as err:
            problems.extend(err.errors)
            return None
    elif guard is not None and not isinstance(guard, str):
        problems.append(
            ErrorDetail(join_path(path, "guard"), f"expected a condition or a guard name, got {guard!r}")
        )
        return None
    hooks = item.get("hooks", ())
    if isinstance(hooks, str):
        hooks = [hooks]
    if not isinstance(hooks, list | tuple) or not all(isinstance(h, str) for h in hooks):
        problems.append(
            ErrorDetail(join_path(path, "hooks"), f"expected a list of hook names, got {hooks!r}")
        )
        return None
    if trigger is None or source is None or dest is None:
        return None
    tr = _new(Transition)
    for key, value in (
        ("trigger", trigger),
        ("source", _to_source(source)),
        ("dest", dest),
        ("guard", guard),
        ("hooks", tuple(hooks)),
    ):
        _set(tr, key, value)
    found = _transition_problems(tr, path)
    if found:
        problems.extend(found)
        return None
    return tr


# --------------------------------------------------------------------------- the default and the registry


_DEFAULT: Workflow | None = None


def default_workflow() -> Workflow:
    """The support workflow ticketkit ships (name ``support``).

    ``new -> open`` (open), ``open <-> pending`` (wait / resume), ``open`` or
    ``pending -> resolved`` (resolve), ``resolved -> closed`` (close),
    ``resolved -> open`` (reopen), and ``cancel`` from any non-final state to
    ``cancelled`` (kind closed). ``closed`` and ``cancelled`` are final.

    Examples:
        >>> wf = default_workflow()
        >>> print(", ".join(s.name for s in wf.states))
        new, open, pending, resolved, closed, cancelled
        >>> wf.allowed_from("resolved")
        ['close', 'reopen', 'cancel']
    """
    global _DEFAULT  # noqa: PLW0603 - built once, then shared: a workflow is an immutable value
    if _DEFAULT is None:
        _DEFAULT = Workflow(
            "support",
            states=[
                State("new", "new"),
                State("open", "open"),
                State("pending", "pending"),
                State("resolved", "resolved"),
                State("closed", "closed", final=True),
                State("cancelled", "closed", final=True),
            ],
            transitions=[
                Transition("open", "new", "open"),
                Transition("wait", "open", "pending"),
                Transition("resume", "pending", "open"),
                Transition("resolve", ["open", "pending"], "resolved"),
                Transition("close", "resolved", "closed"),
                Transition("reopen", "resolved", "open"),
                Transition("cancel", ANY_STATE, "cancelled"),
            ],
            initial="new",
        )
    return _DEFAULT


class Workflows(Mapping[str, Workflow]):
    """The workflow for each ticket type, chosen by ``ticket.type``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> wfs = Workflows({"support": default_workflow()})
        >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
        >>> wfs.for_ticket(t).name
        'support'
        >>> sorted(wfs)
        ['support']
    """

    __slots__ = ("_by_type",)

    def __init__(self, workflows: Mapping[str, Workflow] | None = None) -> None:
        items = dict(workflows) if workflows is not None else {"support": default_workflow()}
        problems = []
        for key, wf in cast("dict[object, object]", items).items():
            if not _is_text(key):
                problems.append(ErrorDetail("", f"a ticket type must be a non-empty string, got {key!r}"))
            if not isinstance(wf, Workflow):
                problems.append(ErrorDetail(str(key), f"expected a Workflow, got {wf!r}"))
        if problems:
            raise ValidationError(problems)
        self._by_type: Mapping[str, Workflow] = MappingProxyType(items)

    def __getitem__(self, ticket_type: str) -> Workflow:
        return self._by_type[ticket_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_type)

    def __len__(self) -> int:
        return len(self._by_type)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {v.name!r}" for k, v in self._by_type.items())
        return f"Workflows({{{inner}}})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Workflows):
            return dict(self._by_type) == dict(other._by_type)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._by_type)))

    def for_type(self, ticket_type: str) -> Workflow:
        """The workflow for tickets of ``ticket_type``.

        Raises:
            ValidationError: no workflow for that type (the message lists the known ones).

        Examples:
            >>> Workflows().for_type("support").name
            'support'
        """
        wf = self._by_type.get(ticket_type)
        if wf is None:
            raise ValidationError.one(
                "type", f"no workflow for ticket type {ticket_type!r} (known types: {_known(self._by_type)})"
            )
        return wf

    def for_ticket(self, ticket: Ticket) -> Workflow:
        """The workflow for ``ticket``, by its ``type``.

        Raises:
            ValidationError: no workflow for the ticket's type.

        Examples:
            >>> from datetime import datetime, timezone
            >>> t = Ticket(subject="s", type="repair", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
            >>> Workflows().for_ticket(t)
            Traceback (most recent call last):
            ...
            ticketkit.errors.ValidationError: invalid input (1 problem):
              type: no workflow for ticket type 'repair' (known types: 'support')
        """
        return self.for_type(ticket.type)

    def fire(
        self, ticket: Ticket, trigger: str, /, *, at: datetime, actor: str, **context: Any
    ) -> tuple[Ticket, list[Event]]:
        """Fire ``trigger`` through the ticket's own workflow (see `Workflow.fire`).

        Examples:
            >>> from datetime import datetime, timezone
            >>> at = datetime(2025, 1, 1, tzinfo=timezone.utc)
            >>> t, _ = Workflows().fire(Ticket(subject="s", created_at=at), "open", at=at, actor="li")
            >>> t.status
            'open'
        """
        return self.for_ticket(ticket).fire(ticket, trigger, at=at, actor=actor, **context)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        guards: Mapping[str, GuardFn] | None = None,
        hooks: Mapping[str, HookFn] | None = None,
        calendars: Mapping[str, Any] | None = None,
    ) -> Workflows:
        """Workflows from ``{ticket_type: workflow data}``, every problem listed.

        Examples:
            >>> wfs = Workflows.from_dict({"support": default_workflow().to_dict()})
            >>> wfs["support"] == default_workflow()
            True
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one(
                "", f"expected an object mapping ticket types to workflows, got {data!r}"
            )
        problems: list[ErrorDetail] = []
        out: dict[str, Workflow] = {}
        for key, item in data.items():
            try:
                out[key] = Workflow.from_dict(
                    item, guards=guards, hooks=hooks, calendars=calendars, path=str(key)
                )
            except ValidationError as err:
                problems.extend(err.errors)
        if problems:
            raise ValidationError(problems)
        return cls(out)

    def to_dict(self) -> dict[str, Any]:
        """``{ticket_type: workflow data}``.

        Examples:
            >>> list(Workflows().to_dict())
            ['support']
        """
        return {key: wf.to_dict() for key, wf in self._by_type.items()}
