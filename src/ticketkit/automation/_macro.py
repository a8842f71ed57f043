"""Macros: named bundles of actions with a comment, applied by an agent in one change.

A [`Macro`][ticketkit.Macro] is configuration data: a name, a description, a list of
[`Action`][ticketkit.Action]s and a comment template. Placeholders in the template are
a closed list of dotted paths into the ticket's plain data (`TEMPLATE_PATHS`):
``{ticket.<field>}``, ``{ticket.fields.<key>}``, ``{customer.<attr>}`` and
``{actor.id}``. Anything else in braces (``{ticket.__class__}``, ``{0}``,
``{ticket.id:>9}``) is refused when the macro is loaded, so a macro that loads
renders every placeholder it names. Rendering is one linear pass of a regular
expression over a template of at most `MAX_TEMPLATE` characters; it writes only
plain values (text, numbers, priorities, instants), never a Python object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ticketkit.automation._automation import Action, join, render
from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._models import Event, Ticket

__all__ = ["MAX_TEMPLATE", "TEMPLATE_PATHS", "Macro", "MacroResult"]

MAX_TEMPLATE: Final = 10_000
"""The longest comment template a macro may have, in characters."""

_TICKET_PATHS: Final = (
    "assignee",
    "category",
    "channel",
    "description",
    "id",
    "priority",
    "status",
    "subject",
    "team",
    "type",
)
_CUSTOMER_PATHS: Final = ("email", "id", "name", "phone", "tier")
TEMPLATE_PATHS: Final = (
    *(f"ticket.{p}" for p in _TICKET_PATHS),
    "ticket.fields.<key>",
    *(f"customer.{p}" for p in _CUSTOMER_PATHS),
    "actor.id",
)
"""The placeholders a macro comment may name (``<key>``: a custom field's key)."""

_BRACES: Final = re.compile(r"\{([^{}]*)\}")
_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_KEYS: Final = frozenset({"name", "description", "actions", "comment", "public"})


def _inner_path(path: str) -> str | None:
    """The ticket field path a placeholder names (``actor.id`` is ``"actor"``), or None."""
    head, _, rest = path.partition(".")
    if head == "ticket":
        if rest in _TICKET_PATHS:
            return rest
        group, _, key = rest.partition(".")
        if group == "fields" and _KEY.fullmatch(key):
            return rest
        return None
    if head == "customer" and rest in _CUSTOMER_PATHS:
        return path
    if path == "actor.id":
        return "actor"
    return None


def template_problems(template: object, path: str) -> list[ErrorDetail]:
    """Every problem with a comment template: its type, its length, each unknown placeholder."""
    if not isinstance(template, str):
        return [ErrorDetail(path, f"expected a string, got {template!r}")]
    if len(template) > MAX_TEMPLATE:
        return [ErrorDetail(path, f"expected at most {MAX_TEMPLATE} characters, got {len(template)}")]
    return [
        ErrorDetail(
            path,
            f"unknown placeholder {{{m.group(1)}}} (expected one of: "
            f"{', '.join('{' + p + '}' for p in TEMPLATE_PATHS)})",
        )
        for m in _BRACES.finditer(template)
        if _inner_path(m.group(1)) is None
    ]


def render_macro(template: str, ticket: Ticket, *, actor: str = "") -> str:
    """``template`` with each known placeholder replaced by the ticket's plain value.

    A placeholder that is not in `TEMPLATE_PATHS` stays as written (a loaded
    [`Macro`][ticketkit.Macro] has none); a missing value becomes an empty string.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(subject="Noisy fan", id="T9", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
        >>> render_macro("{ticket.id}: {ticket.subject} {ticket.__class__}", t)
        'T9: Noisy fan {ticket.__class__}'
    """
    if len(template) > MAX_TEMPLATE:
        raise ValidationError.one("comment", f"expected at most {MAX_TEMPLATE} characters")

    def one(match: re.Match[str]) -> str:
        inner = _inner_path(match.group(1))
        if inner is None:
            return match.group(0)
        if inner == "actor":
            return actor
        return render("{" + inner + "}", ticket)

    return _BRACES.sub(one, template)


def _to_actions(value: Any) -> Any:
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return tuple(value)
    return value


@attrs.frozen(kw_only=True)
class Macro:
    """A named bundle of actions and a comment an agent applies to a ticket in one change.

    ``comment`` is a template naming the placeholders in `TEMPLATE_PATHS`
    (``{ticket.id}``, ``{customer.name}``, ``{ticket.fields.order}``, ...); an empty
    comment adds none. ``public`` makes the comment a reply the customer sees
    (otherwise an internal note). Apply it with
    [`Helpdesk.apply_macro`][ticketkit.Helpdesk.apply_macro].

    Examples:
        >>> m = Macro.from_dict(
        ...     {
        ...         "name": "wrong part",
        ...         "actions": [{"tag": ["rma"]}, {"set_priority": "high"}],
        ...         "comment": "Hello {customer.name}, we are sending the right part for {ticket.id}.",
        ...         "public": True,
        ...     }
        ... )
        >>> Macro.from_dict(m.to_dict()) == m
        True
        >>> try:
        ...     Macro.from_dict({"name": "x", "comment": "{ticket.__class__}"})
        ... except ValidationError as err:
        ...     print(err.errors[0].path)
        comment
    """

    name: str
    actions: tuple[Action, ...] = attrs.field(default=(), converter=_to_actions)
    comment: str = ""
    public: bool = False
    description: str = ""

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(ErrorDetail("name", f"expected a non-empty string, got {self.name!r}"))
        description: object = self.description
        if not isinstance(description, str):
            problems.append(ErrorDetail("description", f"expected a string, got {description!r}"))
        actions: object = self.actions
        if not isinstance(actions, tuple):
            problems.append(ErrorDetail("actions", f"expected a list of actions, got {actions!r}"))
        else:
            problems.extend(
                ErrorDetail(f"actions[{i}]", f"expected an Action, got {a!r}")
                for i, a in enumerate(actions)
                if not isinstance(a, Action)
            )
        problems.extend(template_problems(self.comment, "comment"))
        public: object = self.public
        if not isinstance(public, bool):
            problems.append(ErrorDetail("public", f"expected true or false, got {public!r}"))
        if not problems and not self.actions and not self.comment:
            problems.append(ErrorDetail("actions", "expected at least one action or a comment"))
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "") -> Macro:
        """Build a macro from ``{"name", "description", "actions", "comment", "public"}``.

        Raises:
            ValidationError: every problem, with its path under ``path``.

        Examples:
            >>> Macro.from_dict({"name": "close", "actions": [{"fire": "resolve"}]}).actions[0].kind
            'fire'
        """
        if isinstance(data, Macro):
            return data
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for a macro, got {data!r}")
        problems = [
            ErrorDetail(join(path, str(k)), f"unknown key {k!r} (expected: {', '.join(sorted(_KEYS))})")
            for k in sorted(set(data) - _KEYS, key=str)
        ]
        if "name" not in data:
            problems.append(ErrorDetail(join(path, "name"), "required field is missing"))
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
                description=data.get("description", ""),
                actions=actions,
                comment=data.get("comment", ""),
                public=data.get("public", False),
            )
        except ValidationError as err:
            raise err.prefixed(path) from None

    def to_dict(self) -> dict[str, Any]:
        """The data form; [`from_dict`][ticketkit.Macro.from_dict] reads it back.

        Examples:
            >>> Macro(name="note", comment="Seen {ticket.id}").to_dict()
            {'name': 'note', 'description': '', 'actions': [], 'comment': 'Seen {ticket.id}', 'public': False}
        """
        return {
            "name": self.name,
            "description": self.description,
            "actions": [a.to_dict() for a in self.actions],
            "comment": self.comment,
            "public": self.public,
        }


@attrs.frozen(kw_only=True)
class MacroResult:
    """What [`Helpdesk.apply_macro`][ticketkit.Helpdesk.apply_macro] did (or, in a preview, would do).

    ``ticket`` is the ticket after the macro (as saved, or as it would be saved),
    ``events`` the events of the change on it, ``comment`` the rendered comment
    (empty when the macro has none) and ``preview`` whether nothing was saved.

    Examples:
        >>> MacroResult.__name__
        'MacroResult'
    """

    ticket: Ticket
    events: tuple[Event, ...]
    comment: str
    preview: bool


def check_macros(macros: Iterable[Macro | Mapping[str, Any]], path: str = "macros") -> dict[str, Macro]:
    """Load macros (objects or data) by name, checking that names are unique."""
    out: dict[str, Macro] = {}
    problems: list[ErrorDetail] = []
    if isinstance(macros, str | bytes | Mapping) or not isinstance(macros, Iterable):
        raise ValidationError.one(path, f"expected a list of macros, got {macros!r}")
    for i, item in enumerate(macros):
        try:
            m = Macro.from_dict(item, path=f"{path}[{i}]")
        except ValidationError as err:
            problems.extend(err.errors)
            continue
        if m.name in out:
            problems.append(ErrorDetail(f"{path}[{i}].name", f"duplicate macro name {m.name!r}"))
        out[m.name] = m
    if problems:
        raise ValidationError(problems)
    return out
