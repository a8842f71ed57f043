"""Report keys: what ``by`` names (a field path, a tuple of them, a function of the ticket)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Final, TypeAlias

from ticketkit.errors import ErrorDetail, ValidationError
from ticketkit.model._models import Customer, Ticket

KeySpec: TypeAlias = "str | tuple[str, ...] | Callable[[Ticket], Hashable] | None"
"""What ``by`` accepts: a field path, a tuple of them, a function of the ticket, or None."""

_TICKET_FIELDS: Final = (
    "id",
    "tenant",
    "type",
    "channel",
    "category",
    "priority",
    "status",
    "status_kind",
    "team",
    "assignee",
    "parent_id",
    "external_ref",
    "satisfaction",
    "subject",
)
_CUSTOMER_FIELDS: Final = frozenset(a.name for a in Customer.__attrs_attrs__ if a.name != "data")

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _freeze_value(value: Any) -> Hashable:
    if type(value) in _SCALARS:  # the common case first: no ABC checks
        return value  # type: ignore[no-any-return]
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze_value(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze_value(v) for v in value)
    if isinstance(value, Hashable):
        return value
    return repr(value)  # pragma: no cover - frozen JSON is always hashable


def _getter(path: str) -> Callable[[Ticket], Hashable]:
    """A function reading the field ``path`` of a ticket; ValidationError for unknown paths."""
    head, _, rest = path.partition(".")
    if head == "fields" and rest:
        keys = rest.split(".")
        if len(keys) == 1:
            key = keys[0]

            def get_one_field(t: Ticket) -> Hashable:
                value = t.fields.get(key)
                return value if type(value) in _SCALARS else _freeze_value(value)

            return get_one_field

        def get_field(t: Ticket) -> Hashable:
            value: Any = t.fields
            for k in keys:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(k)
            return _freeze_value(value)

        return get_field
    if head == "customer":
        if not rest:
            return lambda t: None if t.customer is None else t.customer.id
        if rest in _CUSTOMER_FIELDS:
            attr = operator.attrgetter(rest)
            return lambda t: None if t.customer is None else attr(t.customer)
        name = rest.removeprefix("data.")

        def get_customer_data(t: Ticket) -> Hashable:
            c = t.customer
            if c is None:
                return None
            value = c.data.get(name)
            return value if type(value) in _SCALARS else _freeze_value(value)

        return get_customer_data
    if path == "priority":
        return lambda t: t.priority.value
    if path == "tags":
        return lambda t: tuple(sorted(t.tags))
    if path in _TICKET_FIELDS:
        return operator.attrgetter(path)
    known = ", ".join((*_TICKET_FIELDS, "tags", "customer", "customer.<attr>", "fields.<key>"))
    raise ValidationError.one("by", f"unknown field {path!r} (expected one of: {known})")


def _check_key(by: object, path: str = "by") -> list[ErrorDetail]:
    if by is None or callable(by):
        return []
    if isinstance(by, str):
        try:
            _getter(by)
        except ValidationError as exc:
            return [ErrorDetail(path, e.message) for e in exc.errors]
        return []
    if isinstance(by, tuple) and by and all(isinstance(p, str) for p in by):
        problems: list[ErrorDetail] = []
        for i, p in enumerate(by):
            problems.extend(ErrorDetail(f"{path}[{i}]", e.message) for e in _check_key(p, path))
        return problems
    return [ErrorDetail(path, f"expected a field path, a tuple of them or a function, got {by!r}")]


def _sort_key(value: Any) -> tuple[int, str]:
    if value is None:
        return (1, "")
    if isinstance(value, tuple):
        return (0, "\x00".join(str(v) for v in value))
    return (0, str(value))


def _sorted_keys(keys: Iterable[Any]) -> list[Any]:
    return sorted(set(keys), key=_sort_key)


def _by_title(by: KeySpec) -> str:
    if by is None:
        return ""
    if isinstance(by, str):
        return f" by {by}"
    if isinstance(by, tuple):
        return " by " + ", ".join(by)
    return " by " + getattr(by, "__name__", "key")
