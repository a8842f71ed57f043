"""Automations: rules that act when something happens to a ticket.

An [`Automation`][ticketkit.Automation] listens for event kinds (``ticket.created``, ``status.changed``,
``tags.changed``, ``sla.breached``, ... or ``*`` for any), checks a
[`Condition`][ticketkit.Condition] (the same language as routing and SLA policies; the event
is in the context as ``context.event.kind`` / ``context.event.data.<key>``, and each
integration the helpdesk knows as ``context.<name>``), and runs its [`Action`][ticketkit.Action]s:
set custom fields, tag or untag, change priority or category, add a comment, notify
someone, assign, spawn a sub-ticket, fire a workflow transition.

The [`Helpdesk`][ticketkit.Helpdesk] runs automations inside the same atomic change as the
event that triggered them. Loops are detected and stopped: within one change an
automation runs at most once per ticket, and a chain of spawned sub-tickets is cut
after `MAX_DEPTH` generations; each stop is recorded as an
``automation.stopped`` event.

Texts (subjects, messages, comment bodies) may name ticket fields in braces:
``"Restock {fields.part} for {id}"``. Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, cast

import attrs

from ticketkit.conditions._conditions import Condition, field_type, read_field
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._json import EMPTY, freeze, json_problems, thaw
from ticketkit.model._models import Event, Priority, Ticket

__all__ = [
    "ACTION_KINDS",
    "AUTOMATION_APPLIED",
    "AUTOMATION_STOPPED",
    "MAX_DEPTH",
    "Action",
    "Automation",
]

AUTOMATION_APPLIED: Final = "automation.applied"  # automation, event (kind), actions (kinds)
AUTOMATION_STOPPED: Final = "automation.stopped"  # automation, event (kind), reason
MAX_DEPTH: Final = 8
"""How many generations of sub-tickets automations may spawn from one change."""

ACTION_KINDS: Final = (
    "assign",
    "comment",
    "fire",
    "notify",
    "set_category",
    "set_fields",
    "set_priority",
    "spawn",
    "tag",
    "untag",
)
"""Every kind of [`Action`][ticketkit.Action]."""

_TEMPLATE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_RECIPIENT_KINDS: Final = ("agent", "team", "role", "customer", "assignee", "lead")
_SPAWN_KEYS: Final = frozenset(
    {
        "subject",
        "description",
        "type",
        "team",
        "assignee",
        "category",
        "priority",
        "fields",
        "tags",
        "wait",
        "policy",
    }
)


def render(template: str, ticket: Ticket, *, context: Mapping[str, Any] | None = None) -> str:
    """``template`` with each ``{field.path}`` replaced by that field of ``ticket``.

    Unknown paths stay as written; a missing value becomes an empty string. Only plain
    values are written (text, numbers, true/false, priorities, instants, and lists or sets
    of them); a path reaching an object or a mapping (``{customer}``, ``{fields}``) stays as
    written, so a template never shows a Python object's representation.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(
        ...     subject="Motor fault",
        ...     id="T7",
        ...     fields={"part": "MOTOR-7"},
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> render("Restock {fields.part} for {id} ({nope})", t)
        'Restock MOTOR-7 for T7 ({nope})'
    """

    def one(match: re.Match[str]) -> str:
        path = match.group(1)
        if field_type(path) is None:
            return match.group(0)
        value = read_field(ticket, path, context=context)
        if value is None:
            return ""
        if isinstance(value, frozenset | set):
            items = [_plain_text(v) for v in value]
            return match.group(0) if None in items else ", ".join(sorted(str(v) for v in items))
        if isinstance(value, list | tuple):
            items = [_plain_text(v) for v in value]
            return match.group(0) if None in items else ", ".join(str(v) for v in items)
        text = _plain_text(value)
        return match.group(0) if text is None else text

    return _TEMPLATE.sub(one, template)


def _plain_text(value: object) -> str | None:
    """A plain value as template text; None for anything else (objects, mappings)."""
    if isinstance(value, Priority):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _str_list(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return tuple(value)
    return value


class _ParamCheck:
    """Checks of one action's parameters; every problem goes to ``out``."""

    __slots__ = ("out", "params", "path")

    def __init__(self, params: Mapping[str, Any], path: str) -> None:
        self.params = params
        self.path = path
        self.out: list[ErrorDetail] = []

    def problem(self, key: str, message: str) -> None:
        self.out.append(ErrorDetail(f"{self.path}.{key}", message))

    def text(self, key: str, *, required: bool = True) -> None:
        value = self.params.get(key)
        if value is None and not required:
            return
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f"expected a non-empty string, got {value!r}")

    def strings(self, key: str) -> None:
        value = self.params.get(key)
        if not isinstance(value, tuple) or not value or not all(isinstance(v, str) and v for v in value):
            self.problem(key, f"expected a list of non-empty strings, got {value!r}")

    def flag(self, key: str, *, default: bool) -> None:
        if not isinstance(self.params.get(key, default), bool):
            self.problem(key, f"expected true or false, got {self.params.get(key)!r}")

    def priority(self) -> None:
        _check_priority(self.params.get("priority"), f"{self.path}.priority", self.out)


def _check_fields(c: _ParamCheck) -> None:
    fields = c.params.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        c.problem("fields", f"expected a non-empty mapping, got {fields!r}")


def _check_comment(c: _ParamCheck) -> None:
    c.text("body")
    c.flag("public", default=False)


def _check_notify(c: _ParamCheck) -> None:
    c.strings("to")
    for i, r in enumerate(c.params.get("to") or ()):
        if isinstance(r, str) and r.partition(":")[0] not in _RECIPIENT_KINDS:
            c.problem(
                f"to[{i}]",
                f"unknown recipient {r!r} (expected 'agent:<id>', 'team:<id>', 'role:<name>', "
                "'customer:<id>', or 'assignee', 'lead', 'customer' for the ticket's own)",
            )
    c.text("message")


def _check_assign(c: _ParamCheck) -> None:
    c.text("team", required=False)
    c.text("agent", required=False)


def _check_spawn(c: _ParamCheck) -> None:
    params = c.params
    c.text("subject")
    for key in ("description", "type", "team", "assignee", "category", "policy"):
        c.text(key, required=False)
    if "priority" in params:
        c.priority()
    if "tags" in params:
        c.strings("tags")
    if "fields" in params and not isinstance(params["fields"], Mapping):
        c.problem("fields", f"expected a mapping, got {params['fields']!r}")
    c.flag("wait", default=True)


# Per action kind: the parameters it takes, and the check of their values.
_PARAMS: Final[Mapping[str, tuple[frozenset[str], Callable[[_ParamCheck], None]]]] = {
    "tag": (frozenset({"tags"}), lambda c: c.strings("tags")),
    "untag": (frozenset({"tags"}), lambda c: c.strings("tags")),
    "set_fields": (frozenset({"fields"}), _check_fields),
    "set_priority": (frozenset({"priority"}), _ParamCheck.priority),
    "set_category": (frozenset({"category"}), lambda c: c.text("category")),
    "fire": (frozenset({"trigger"}), lambda c: c.text("trigger")),
    "comment": (frozenset({"body", "public"}), _check_comment),
    "notify": (frozenset({"to", "message"}), _check_notify),
    "assign": (frozenset({"team", "agent"}), _check_assign),
    "spawn": (_SPAWN_KEYS, _check_spawn),
}


def _check_params(kind: str, params: Mapping[str, Any], path: str) -> list[ErrorDetail]:
    """Every problem with the parameters of one action."""
    spec = _PARAMS.get(kind)
    if spec is None:
        return [
            ErrorDetail(f"{path}", f"unknown action {kind!r} (expected one of: {', '.join(ACTION_KINDS)})")
        ]
    allowed, check = spec
    c = _ParamCheck(params, path)
    check(c)
    c.out.extend(
        ErrorDetail(
            f"{path}.{key}",
            f"unknown parameter {key!r} for {kind!r} (expected: {', '.join(sorted(allowed))})",
        )
        for key in sorted(set(params) - allowed)
    )
    c.out.extend(json_problems(params, path))
    return c.out


def _check_priority(value: object, path: str, out: list[ErrorDetail]) -> None:
    if isinstance(value, Priority):
        return
    if value == "+1":
        return
    try:
        Priority.parse(value)  # type: ignore[arg-type]
    except ValidationError:
        out.append(
            ErrorDetail(
                path, f"unknown priority {value!r} (expected one of: low, normal, high, urgent, '+1')"
            )
        )


def _params_in(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out = {}
    for k, v in value.items():
        if isinstance(v, Priority):
            v = v.value  # noqa: PLW2901
        elif k in ("tags", "to") and isinstance(v, str | list | tuple | frozenset | set):
            v = tuple(sorted(v)) if isinstance(v, frozenset | set) else _str_list(v)  # noqa: PLW2901
        out[k] = v
    return freeze(out)


@attrs.frozen(kw_only=True)
class Action:
    """One thing an [`Automation`][ticketkit.Automation] does; build it with the class methods.

    The data form is one key, the kind, with its parameters:
    ``{"tag": ["vip"]}``, ``{"set_fields": {"rma": true}}``, ``{"set_priority": "+1"}``,
    ``{"fire": "wait"}``, ``{"notify": {"to": ["role:lead"], "message": "..."}}``,
    ``{"spawn": {"subject": "...", "type": "restock", "team": "production"}}``.

    Examples:
        >>> Action.tag("vip").to_dict()
        {'tag': ['vip']}
        >>> Action.from_dict({"notify": {"to": "lead", "message": "Breached: {id}"}}).params["to"]
        ('lead',)
        >>> try:
        ...     Action.from_dict({"frobnicate": 1})
        ... except ValidationError as err:
        ...     print(err.errors[0].message[:30])
        unknown action 'frobnicate' (e
    """

    kind: str
    params: Mapping[str, Any] = attrs.field(default=EMPTY, converter=_params_in, hash=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.params, Mapping):
            raise ValidationError.one("params", f"expected a mapping, got {self.params!r}")
        problems = _check_params(self.kind, self.params, self.kind if isinstance(self.kind, str) else "kind")
        if problems:
            raise ValidationError(problems)

    # ------------------------------------------------------------------ builders

    @classmethod
    def tag(cls, *tags: str) -> Action:
        """Add tags.

        Examples:
            >>> Action.tag("waiting-parts").params["tags"]
            ('waiting-parts',)
        """
        return cls(kind="tag", params={"tags": tags})

    @classmethod
    def untag(cls, *tags: str) -> Action:
        """Remove tags.

        Examples:
            >>> Action.untag("new").kind
            'untag'
        """
        return cls(kind="untag", params={"tags": tags})

    @classmethod
    def set_fields(cls, **fields: Any) -> Action:
        """Set custom fields (JSON-safe values; None removes a field).

        Examples:
            >>> fields = Action.set_fields(rma=True).params["fields"]
            >>> fields["rma"]
            True
        """
        return cls(kind="set_fields", params={"fields": fields})

    @classmethod
    def set_priority(cls, priority: Priority | str) -> Action:
        """Set the priority, or raise it one step with ``"+1"``.

        Examples:
            >>> Action.set_priority("+1").params["priority"]
            '+1'
        """
        return cls(kind="set_priority", params={"priority": priority})

    @classmethod
    def set_category(cls, category: str) -> Action:
        """Set the category (the SLA policy is chosen again).

        Examples:
            >>> Action.set_category("repair").params["category"]
            'repair'
        """
        return cls(kind="set_category", params={"category": category})

    @classmethod
    def fire(cls, trigger: str) -> Action:
        """Fire a workflow trigger; skipped (and recorded) when the workflow does not allow it now.

        Examples:
            >>> Action.fire("wait").params["trigger"]
            'wait'
        """
        return cls(kind="fire", params={"trigger": trigger})

    @classmethod
    def comment(cls, body: str, *, public: bool = False) -> Action:
        """Add a comment by the system (internal unless ``public``); ``body`` may name fields.

        Examples:
            >>> Action.comment("Part {fields.part} ordered").params["public"]
            False
        """
        return cls(kind="comment", params={"body": body, "public": public})

    @classmethod
    def notify(cls, to: str | Iterable[str], message: str) -> Action:
        """Notify recipients: ``agent:<id>``, ``team:<id>``, ``role:<name>``,
        ``customer:<id>``, or the ticket's own ``assignee``, ``lead`` (its team) and ``customer``.

        Examples:
            >>> Action.notify(["role:lead", "assignee"], "VIP ticket {id}").params["to"]
            ('role:lead', 'assignee')
        """
        return cls(kind="notify", params={"to": _str_list(to), "message": message})

    @classmethod
    def assign(cls, *, team: str | None = None, agent: str | None = None) -> Action:
        """Assign to a team and/or agent; with neither, route the ticket again with the router.

        Examples:
            >>> Action.assign(team="production").params["team"]
            'production'
        """
        params = {k: v for k, v in (("team", team), ("agent", agent)) if v is not None}
        return cls(kind="assign", params=params)

    @classmethod
    def spawn(
        cls,
        subject: str,
        *,
        type: str | None = None,  # noqa: A002
        team: str | None = None,
        assignee: str | None = None,
        category: str | None = None,
        priority: Priority | str | None = None,
        description: str | None = None,
        fields: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        policy: str | None = None,
        wait: bool = True,
    ) -> Action:
        """Open a sub-ticket (``parent_id`` set); with ``wait`` the parent waits for it.

        The child gets its own SLA policy (by its conditions, or the one named by
        ``policy``), so "due in 48 business hours" is a policy for the child's type.

        Examples:
            >>> a = Action.spawn("Restock {fields.part}", type="restock", team="production")
            >>> a.params["type"], a.params["wait"]
            ('restock', True)
        """
        params: dict[str, Any] = {"subject": subject, "wait": wait}
        optional = (
            ("type", type),
            ("team", team),
            ("assignee", assignee),
            ("category", category),
            ("priority", priority),
            ("description", description),
            ("fields", dict(fields) if fields is not None else None),
            ("tags", tuple(tags) if tags is not None else None),
            ("policy", policy),
        )
        params.update({key: value for key, value in optional if value is not None})
        return cls(kind="spawn", params=params)

    # ------------------------------------------------------------------ data form

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Action:
        """Build an action from its data form (one key: the kind).

        Raises:
            ValidationError: every problem, with its path under ``path``.

        Examples:
            >>> Action.from_dict({"set_priority": "urgent"}).params["priority"]
            'urgent'
        """
        if isinstance(data, Action):
            return data
        if not isinstance(data, Mapping) or len(data) != 1:
            raise ValidationError.one(
                path,
                f"expected an object with one key, the action kind (e.g. {{'tag': ['vip']}}), got {data!r}",
            )
        ((kind, raw),) = data.items()
        params: Any
        if kind not in ACTION_KINDS:
            raise ValidationError.one(
                join(path, str(kind)), f"unknown action {kind!r} (expected one of: {', '.join(ACTION_KINDS)})"
            )
        if kind in ("tag", "untag"):
            params = {"tags": raw}
        elif kind == "set_fields":
            params = {"fields": raw}
        elif kind == "set_priority":
            params = {"priority": raw}
        elif kind == "set_category":
            params = {"category": raw}
        elif kind == "fire":
            params = {"trigger": raw}
        elif kind == "comment" and isinstance(raw, str):
            params = {"body": raw}
        elif kind == "assign" and raw is None:
            params = {}
        else:
            params = raw
        if not isinstance(params, Mapping):
            raise ValidationError.one(join(path, str(kind)), f"expected an object of parameters, got {raw!r}")
        try:
            return cls(kind=kind, params=params)
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.Action.from_dict] reads it back.

        Examples:
            >>> Action.fire("resolve").to_dict()
            {'fire': 'resolve'}
        """
        params = thaw(self.params)
        single = {
            "tag": "tags",
            "untag": "tags",
            "set_fields": "fields",
            "set_priority": "priority",
            "set_category": "category",
            "fire": "trigger",
        }
        if self.kind in single:
            return {self.kind: params[single[self.kind]]}
        return {self.kind: params}


def join(prefix: str, key: str) -> str:
    """``prefix.key`` (just ``key`` when there is no prefix)."""
    return f"{prefix}.{key}" if prefix else key


def _to_kinds(value: Any) -> Any:
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return frozenset(value)
    return value


def _to_actions(value: Any) -> Any:
    if isinstance(value, Action):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class Automation:
    """A rule on events: when one of ``on`` happens and ``when`` holds, run ``actions``.

    ``on`` holds event kinds (``"*"`` for any). ``when`` is a
    [`Condition`][ticketkit.Condition] on the ticket after the event, with the event in
    the context (``context.event.kind``, ``context.event.data.<key>``,
    ``context.event.actor``) and the helpdesk's integrations (``context.<name>``).

    Examples:
        >>> from ticketkit import F
        >>> rule = Automation(
        ...     name="restock when out of stock",
        ...     on={"ticket.created"},
        ...     when=(F.type == "repair") & (F.context.stock.in_stock == False),
        ...     actions=[
        ...         Action.spawn("Restock {fields.part}", type="restock", team="production"),
        ...         Action.tag("waiting-parts"),
        ...     ],
        ... )
        >>> Automation.from_dict(rule.to_dict()) == rule
        True
    """

    name: str
    on: frozenset[str] = attrs.field(converter=_to_kinds)
    actions: tuple[Action, ...] = attrs.field(converter=_to_actions)
    when: Condition = attrs.field(factory=Condition.always)
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(ErrorDetail("name", f"expected a non-empty string, got {self.name!r}"))
        if (
            not isinstance(self.on, frozenset)
            or not self.on
            or not all(isinstance(k, str) and k for k in self.on)
        ):
            problems.append(
                ErrorDetail(
                    "on", f"expected event kinds such as ['ticket.created'] (or '*'), got {self.on!r}"
                )
            )
        if not isinstance(self.actions, tuple) or not self.actions:
            problems.append(ErrorDetail("actions", f"expected at least one Action, got {self.actions!r}"))
        else:
            problems.extend(
                ErrorDetail(f"actions[{i}]", f"expected an Action, got {a!r}")
                for i, a in enumerate(self.actions)
                if not isinstance(a, Action)
            )
        when: object = self.when
        enabled: object = self.enabled
        if not isinstance(when, Condition):
            problems.append(ErrorDetail("when", f"expected a Condition, got {when!r}"))
        if not isinstance(enabled, bool):
            problems.append(ErrorDetail("enabled", f"expected True or False, got {enabled!r}"))
        if problems:
            raise ValidationError(problems)

    def listens_to(self, kind: str) -> bool:
        """True when an event of ``kind`` can trigger this automation.

        Examples:
            >>> Automation(name="a", on="*", actions=[Action.tag("x")]).listens_to("sla.breached")
            True
        """
        return self.enabled and ("*" in self.on or kind in self.on)

    def matches(
        self, ticket: Ticket, event: Event, *, at: datetime, context: Mapping[str, Any] | None = None
    ) -> bool:
        """True when ``event`` triggers this automation on ``ticket`` (the ticket after the event).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import F
            >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> t = Ticket(subject="s", id="T1", category="complaint", created_at=at)
            >>> e = Event(ticket_id="T1", kind="ticket.created", actor="system:x", at=at)
            >>> Automation(
            ...     name="a", on="ticket.created", when=F.category == "complaint", actions=[Action.tag("c")]
            ... ).matches(t, e, at=at)
            True
        """
        if not self.listens_to(event.kind):
            return False
        own = {"event": {"kind": event.kind, "data": event.data, "actor": event.actor}}
        # A ChainMap reads the caller's context lazily: integrations are asked only when read.
        ctx: Mapping[str, Any] = own if context is None else ChainMap(own, cast("dict[str, Any]", context))
        return self.when.evaluate(ticket, at=at, context=ctx)

    @classmethod
    def from_dict(
        cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = ""
    ) -> Automation:
        """Build an automation from ``{"name", "on", "when", "actions", "enabled"}``.

        Raises:
            ValidationError: every problem with its path.

        Examples:
            >>> a = Automation.from_dict(
            ...     {
            ...         "name": "vip tag",
            ...         "on": ["ticket.created"],
            ...         "when": {"field": "customer.tier", "op": "eq", "value": "vip"},
            ...         "actions": [{"tag": ["vip"]}, {"set_priority": "+1"}],
            ...     }
            ... )
            >>> kinds = [x.kind for x in a.actions]
            >>> kinds
            ['tag', 'set_priority']
        """
        if isinstance(data, Automation):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for an automation, got {data!r}")
        problems: list[ErrorDetail] = []
        unknown = sorted(set(data) - {"name", "on", "when", "actions", "enabled"})
        problems.extend(
            ErrorDetail(join(path, k), f"unknown key {k!r} (expected: actions, enabled, name, on, when)")
            for k in unknown
        )
        problems.extend(
            ErrorDetail(join(path, key), "required field is missing")
            for key in ("name", "on", "actions")
            if key not in data
        )
        when: Condition = Condition.always()
        if data.get("when") is not None:
            try:
                when = Condition.from_dict(data["when"], calendars=calendars, path=join(path, "when"))
            except ValidationError as err:
                problems.extend(err.errors)
        actions: list[Action] = []
        raw_actions = data.get("actions", [])
        if not isinstance(raw_actions, list | tuple):
            problems.append(
                ErrorDetail(join(path, "actions"), f"expected a list of actions, got {raw_actions!r}")
            )
        else:
            for i, raw in enumerate(raw_actions):
                try:
                    actions.append(Action.from_dict(raw, path=f"{join(path, 'actions')}[{i}]"))
                except ValidationError as err:
                    problems.extend(err.errors)
        if problems:
            raise ValidationError(problems)
        try:
            return cls(
                name=data["name"],
                on=data["on"],
                when=when,
                actions=actions,
                enabled=data.get("enabled", True),
            )
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.Automation.from_dict] reads it back.

        Examples:
            >>> Automation(name="a", on="status.changed", actions=[Action.fire("close")]).to_dict()
            {'name': 'a', 'on': ['status.changed'], 'when': {'all': []},
             'actions': [{'fire': 'close'}], 'enabled': True}
        """
        return {
            "name": self.name,
            "on": sorted(self.on),
            "when": self.when.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "enabled": self.enabled,
        }


def check_automations(
    automations: Iterable[Automation | Mapping[str, Any]], path: str = "automations"
) -> tuple[Automation, ...]:
    """Load automations (objects or data) and check that their names are unique."""
    out: list[Automation] = []
    problems: list[ErrorDetail] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(automations):
        try:
            a = Automation.from_dict(item, path=f"{path}[{i}]")
        except ValidationError as err:
            problems.extend(err.errors)
            continue
        if a.name in seen:
            problems.append(
                ErrorDetail(
                    f"{path}[{i}].name", f"duplicate automation name {a.name!r} (also {path}[{seen[a.name]}])"
                )
            )
        seen[a.name] = i
        out.append(a)
    if problems:
        raise ValidationError(problems)
    return tuple(out)
