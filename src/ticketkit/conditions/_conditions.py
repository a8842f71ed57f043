"""One condition language for routing rules, SLA policies, workflow guards and automations.

A [`Condition`][ticketkit.Condition] is a tree: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": ...}``
and leaves ``{"field": "customer.tier", "op": "eq", "value": "vip"}`` (or ``"ref":
"customer.store"`` to compare with another field of the same ticket). It is checked
once when it is built (unknown fields and operators, regexes that do not compile,
``gt`` on a text field ...) and compiled once into plain Python closures; evaluating it
parses nothing and ``eval``-s nothing.

The builder [`F`][ticketkit.F] writes the same trees in Python: ``(F.category == "complaint") &
F.customer.tier.in_(["vip", "svip"])``.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeAlias

import attrs

from ticketkit.calendar._calendar import BusinessCalendar
from ticketkit.conditions._regex import compile_search, pattern_problem
from ticketkit.errors import ErrorDetail, ValidationError, bounded_repr, join_path
from ticketkit.model._json import FrozenDict
from ticketkit.model._limits import Limits, depth_of, guarded_loader
from ticketkit.model._models import Priority, Ticket
from ticketkit.model._serialization import format_duration, parse_duration
from ticketkit.model._time import aware_problem, require_aware

__all__ = ["OPERATORS", "Condition", "ConditionFailure", "F", "FieldRef"]

Predicate: TypeAlias = Callable[[Ticket, "datetime | None", "Mapping[str, Any] | None"], bool]
"""A compiled condition: ``fn(ticket, at, context) -> bool``."""

_Getter: TypeAlias = Callable[[Ticket, "datetime | None", "Mapping[str, Any] | None"], Any]


class CalendarLike(Protocol):
    """What a condition needs from a business calendar: whether it is open at an instant."""

    @property
    def name(self) -> str:
        """The calendar's name, used when a condition is written back to data."""

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` falls inside business hours."""


# --------------------------------------------------------------------------- field types

TEXT: Final = "text"
NUMBER: Final = "number"
PRIORITY: Final = "priority"
MOMENT: Final = "datetime"
SET: Final = "set"
OBJECT: Final = "object"
ANY: Final = "any"

_TICKET_FIELDS: Final[Mapping[str, str]] = {
    "id": TEXT,
    "subject": TEXT,
    "description": TEXT,
    "tenant": TEXT,
    "type": TEXT,
    "channel": TEXT,
    "category": TEXT,
    "priority": PRIORITY,
    "status": TEXT,
    "status_kind": TEXT,
    "team": TEXT,
    "assignee": TEXT,
    "tags": SET,
    "created_at": MOMENT,
    "updated_at": MOMENT,
    "first_response_at": MOMENT,
    "resolved_at": MOMENT,
    "closed_at": MOMENT,
    "next_due_at": MOMENT,
    "parent_id": TEXT,
    "external_ref": TEXT,
    "satisfaction": NUMBER,
    "satisfaction_remark": TEXT,
    "version": NUMBER,
    "customer": OBJECT,
}
_CUSTOMER_FIELDS: Final[Mapping[str, str]] = {
    "id": TEXT,
    "name": TEXT,
    "tier": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "tenant": TEXT,
}
AT_FIELD: Final = "at"
"""The pseudo-field holding the evaluation instant (``at``), for time-aware operators."""

OPERATORS: Final = (
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "startswith",
    "matches",
    "gt",
    "ge",
    "lt",
    "le",
    "between",
    "exists",
    "age_over",
    "age_under",
    "in_business_hours",
)
"""Every operator a condition leaf may use."""

_ORDER_OPS: Final = frozenset({"gt", "ge", "lt", "le", "between"})
_OPS_BY_TYPE: Final[Mapping[str, frozenset[str]]] = {
    TEXT: frozenset({"eq", "ne", "in", "not_in", "contains", "startswith", "matches", "exists"}),
    NUMBER: frozenset({"eq", "ne", "in", "not_in", "exists"}) | _ORDER_OPS,
    PRIORITY: frozenset({"eq", "ne", "in", "not_in", "exists"}) | _ORDER_OPS,
    MOMENT: frozenset({"eq", "ne", "exists", "age_over", "age_under", "in_business_hours"}) | _ORDER_OPS,
    SET: frozenset({"contains", "exists"}),
    OBJECT: frozenset({"exists"}),
    ANY: frozenset(OPERATORS),
}
_REF_OPS: Final = frozenset({"eq", "ne", "in", "not_in", "contains", "startswith", "gt", "ge", "lt", "le"})
_TIME_OPS: Final = frozenset({"age_over", "age_under", "in_business_hours"})
_PY_ORDER: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}

_KNOWN_ROOTS: Final = ", ".join(sorted(_TICKET_FIELDS))


def field_type(path: str) -> str | None:
    """The type of the value a field path reaches, or None when the path is unknown.

    Examples:
        >>> field_type("priority"), field_type("customer.store"), field_type("colour")
        ('priority', 'any', None)
    """
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        return None
    head, _, rest = path.partition(".")
    if head == AT_FIELD and not rest:
        return MOMENT
    if head in ("fields", "context"):
        return ANY
    if head == "customer":
        if not rest:
            return OBJECT
        first, _, more = rest.partition(".")
        if first in _CUSTOMER_FIELDS and not more:
            return _CUSTOMER_FIELDS[first]
        return ANY if first not in _CUSTOMER_FIELDS else None
    if rest:
        return None
    return _TICKET_FIELDS.get(head)


def _unknown_field_message(path: object) -> str:
    return (
        f"unknown field {path!r} (expected a ticket field: {_KNOWN_ROOTS}; "
        "or fields.<key>, customer.<attr>, context.<key>, at)"
    )


# --------------------------------------------------------------------------- getters


_PLAIN_MAPPINGS: Final[frozenset[Any]] = frozenset({dict, FrozenDict, MappingProxyType})


def _step(obj: Any, key: str) -> Any:
    """One step down a path inside JSON-like data or an attrs value (events in context)."""
    if obj is None:
        return None
    if obj.__class__ in _PLAIN_MAPPINGS:
        return obj.get(key)
    if isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, list | tuple):
        if key.isdigit() and int(key) < len(obj):
            return obj[int(key)]
        return None
    if not key.startswith("_") and attrs.has(type(obj)):
        return getattr(obj, key, None)
    return None


def _walker(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(keys) == 1:
        (k,) = keys

        def walk1(obj: Any) -> Any:
            if obj.__class__ in _PLAIN_MAPPINGS:  # skips the slow ABC check for the usual case
                return obj.get(k)
            return _step(obj, k)

        return walk1

    def walk(obj: Any) -> Any:
        for k in keys:
            obj = _step(obj, k)
            if obj is None:
                return None
        return obj

    return walk


def _ticket_getter(path: str) -> Callable[[Ticket], Any] | None:
    """A getter that needs only the ticket, or None when the path needs ``at``/context."""
    head, _, rest = path.partition(".")
    if head in (AT_FIELD, "context") and (head == "context" or not rest):
        return None
    if head == "next_due_at":
        return lambda t: t.next_due_at
    if not rest:
        return operator.attrgetter(head)
    keys = tuple(rest.split("."))
    if head == "fields":
        walk = _walker(keys)
        return lambda t: walk(t.fields)
    # customer.<attr> or customer.<key in data>...
    first = keys[0]
    if first in _CUSTOMER_FIELDS:
        attr = operator.attrgetter(first)

        def customer_attr(t: Ticket) -> Any:
            c = t.customer
            return None if c is None else attr(c)

        return customer_attr
    data_keys = keys[1:] if first == "data" else keys
    if not data_keys:
        return lambda t: None if t.customer is None else t.customer.data
    walk = _walker(data_keys)

    def customer_data(t: Ticket) -> Any:
        c = t.customer
        return None if c is None else walk(c.data)

    return customer_data


def _full_getter(path: str) -> _Getter:
    tg = _ticket_getter(path)
    if tg is not None:
        return lambda t, at, ctx: tg(t)
    head, _, rest = path.partition(".")
    if head == AT_FIELD:
        return lambda t, at, ctx: at
    if not rest:
        return lambda t, at, ctx: ctx
    walk = _walker(tuple(rest.split(".")))
    return lambda t, at, ctx: walk(ctx)


def read_field(
    ticket: Ticket, path: str, *, at: datetime | None = None, context: Mapping[str, Any] | None = None
) -> Any:
    """The value a field path reaches on a ticket (None when absent).

    Raises:
        ValidationError: when the path is not a field.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Customer
        >>> t = Ticket(
        ...     subject="s",
        ...     created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
        ...     customer=Customer(id="c1", data={"store": "sh-01"}),
        ... )
        >>> read_field(t, "customer.store"), read_field(t, "fields.order")
        ('sh-01', None)
    """
    if field_type(path) is None:
        raise ValidationError.one("field", _unknown_field_message(path))
    return _full_getter(path)(ticket, at, context)


# --------------------------------------------------------------------------- values


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exists(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return len(value) > 0
    return True


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, Mapping | list | tuple | set | frozenset):
        try:
            return item in container
        except TypeError:
            return False
    return False


def _member(item: Any, container: Any) -> bool:
    if isinstance(container, list | tuple | set | frozenset | Mapping):
        try:
            return item in container
        except TypeError:
            return False
    return False


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    """Make a priority comparable with a priority name on the other side."""
    if isinstance(a, Priority) and isinstance(b, str):
        with contextlib.suppress(ValidationError):
            b = Priority.parse(b)
    elif isinstance(b, Priority) and isinstance(a, str):
        with contextlib.suppress(ValidationError):
            a = Priority.parse(a)
    return a, b


def _order(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    a, b = _coerce(a, b)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    try:
        return bool(_PY_ORDER[op](a, b))
    except TypeError:
        return False


def _equal(a: Any, b: Any) -> bool:
    a, b = _coerce(a, b)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except TypeError:  # pragma: no cover - == on JSON values does not raise
        return False


def _value_to_data(value: Any) -> Any:
    if isinstance(value, Priority):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple | list):
        return [_value_to_data(v) for v in value]
    if isinstance(value, set | frozenset):  # tags: a sorted list, never a Python repr
        return sorted((_value_to_data(v) for v in value), key=lambda v: (type(v).__name__, repr(v)))
    if isinstance(value, Mapping):
        return {k: _value_to_data(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # a calendar: by name when it has one, else its full data
    name = getattr(value, "name", "")
    if isinstance(name, str) and name:
        return name
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return repr(value)  # pragma: no cover - values are validated at construction


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


# --------------------------------------------------------------------------- leaf checks


class _Leaf:
    """The checked, normalized parts of a leaf, or the problems found."""

    __slots__ = ("ftype", "value")

    def __init__(self, ftype: str, value: Any) -> None:
        self.ftype = ftype
        self.value = value


def _parse_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if aware_problem(value) is None else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if aware_problem(parsed) is None else None
    return None


def _scalar_for(ftype: str, value: object, path: str, out: list[ErrorDetail], field: str) -> Any:
    """Normalize one comparison value for a field of type ``ftype``; record problems."""
    if ftype == TEXT:
        if not isinstance(value, str):
            out.append(ErrorDetail(path, f"expected a string for text field {field!r}, got {value!r}"))
        return value
    if ftype == NUMBER:
        if not _is_number(value):
            out.append(ErrorDetail(path, f"expected a number for number field {field!r}, got {value!r}"))
        return value
    if ftype == PRIORITY:
        if isinstance(value, Priority):
            return value
        if isinstance(value, str):
            try:
                return Priority.parse(value)
            except ValidationError:
                pass
        out.append(
            ErrorDetail(path, f"unknown priority {value!r} (expected one of: low, normal, high, urgent)")
        )
        return value
    if ftype == MOMENT:
        parsed = _parse_datetime(value)
        if parsed is None:
            out.append(
                ErrorDetail(
                    path,
                    f"expected a timezone-aware datetime or ISO 8601 string with an offset "
                    f"for {field!r}, got {value!r}",
                )
            )
            return value
        return parsed
    if ftype == ANY:
        if isinstance(value, list | tuple | Mapping):
            out.append(
                ErrorDetail(path, f"expected a single value (string, number, true/false), got {value!r}")
            )
        return value
    out.append(ErrorDetail(path, f"field {field!r} cannot be compared with a value"))  # pragma: no cover
    return value


def _check_leaf(
    field: object,
    op: object,
    *,
    value: object,
    ref: object,
    has_value: bool,
    calendars: Mapping[str, Any] | None,
) -> tuple[_Leaf | None, list[ErrorDetail]]:
    out: list[ErrorDetail] = []
    ftype = field_type(field) if isinstance(field, str) else None
    if ftype is None:
        out.append(ErrorDetail("field", _unknown_field_message(field)))
    if not isinstance(op, str) or op not in OPERATORS:
        out.append(ErrorDetail("op", f"unknown operator {op!r} (expected one of: {', '.join(OPERATORS)})"))
        return None, out
    if ftype is None:
        return None, out
    assert isinstance(field, str)
    allowed = _OPS_BY_TYPE[ftype]
    if op not in allowed:
        out.append(
            ErrorDetail(
                "op",
                f"operator {op!r} does not apply to {ftype} field {field!r} "
                f"(expected one of: {', '.join(o for o in OPERATORS if o in allowed)})",
            )
        )
        return None, out
    if ref is not None:
        out.extend(_ref_problems(op, ref, has_value=has_value))
        return (None if out else _Leaf(ftype, None)), out
    if op == "exists":
        if has_value and not isinstance(value, bool):
            out.append(ErrorDetail("value", f"expected true or false for 'exists', got {value!r}"))
        return (None if out else _Leaf(ftype, True if not has_value else value)), out
    if not has_value:
        out.append(ErrorDetail("value", f"operator {op!r} needs a 'value' (or a 'ref' to another field)"))
        return None, out
    norm = _leaf_value(field, op, ftype, value, calendars=calendars, out=out)
    return (None if out else _Leaf(ftype, norm)), out


def _ref_problems(op: str, ref: object, *, has_value: bool) -> list[ErrorDetail]:
    """Problems with a test that compares a field with another field (``ref``)."""
    out: list[ErrorDetail] = []
    if has_value:
        out.append(ErrorDetail("ref", "give either 'value' or 'ref', not both"))
    if op not in _REF_OPS:
        out.append(ErrorDetail("ref", f"operator {op!r} cannot compare with another field; give a 'value'"))
    rtype = field_type(ref) if isinstance(ref, str) else None
    if rtype is None:
        out.append(ErrorDetail("ref", _unknown_field_message(ref)))
    elif rtype == OBJECT:
        out.append(ErrorDetail("ref", f"field {ref!r} cannot be compared; name one of its attributes"))
    elif op in _ORDER_OPS and rtype in (TEXT, SET):
        out.append(ErrorDetail("ref", f"operator {op!r} does not apply to {rtype} field {ref!r}"))
    return out


def _leaf_value(
    field: str,
    op: str,
    ftype: str,
    value: object,
    *,
    calendars: Mapping[str, Any] | None,
    out: list[ErrorDetail],
) -> Any:
    """A test's value normalized for its operator and field type (as given when it is bad);
    problems go to ``out``."""
    if op in ("eq", "ne"):
        return None if value is None else _scalar_for(ftype, value, "value", out, field)
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple | set | frozenset):
            out.append(ErrorDetail("value", f"operator {op!r} needs a list of values, got {value!r}"))
            return value
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        return tuple(
            None if v is None else _scalar_for(ftype, v, f"value[{i}]", out, field)
            for i, v in enumerate(items)
        )
    if op in ("contains", "startswith"):
        if ftype in (SET, TEXT) or op == "startswith":
            if not isinstance(value, str):
                out.append(ErrorDetail("value", f"operator {op!r} needs a string, got {value!r}"))
            return value
        return _scalar_for(ANY, value, "value", out, field)
    if op == "matches":
        _check_pattern(value, out)
        return value
    if op in ("gt", "ge", "lt", "le"):
        before = len(out)
        norm = _scalar_for(ftype, value, "value", out, field)
        if ftype == ANY and len(out) == before and not (_is_number(value) or isinstance(value, str)):
            out.append(ErrorDetail("value", f"operator {op!r} needs a number or a string, got {value!r}"))
        return norm
    if op == "between":
        return _between_value(field, ftype, value, out)
    if op in ("age_over", "age_under"):
        return _age_value(value, out)
    if op == "in_business_hours":
        return _calendar_value(value, calendars, out)
    return value


def _check_pattern(value: object, out: list[ErrorDetail]) -> None:
    if not isinstance(value, str):
        out.append(
            ErrorDetail("value", f"operator 'matches' needs a regular expression string, got {value!r}")
        )
        return
    problem = pattern_problem(value)
    if problem is not None:
        out.append(ErrorDetail("value", f"regular expression {bounded_repr(value)} {problem}"))


def _between_value(field: str, ftype: str, value: object, out: list[ErrorDetail]) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        out.append(ErrorDetail("value", f"operator 'between' needs [low, high], got {value!r}"))
        return value
    lo = _scalar_for(ftype, value[0], "value[0]", out, field)
    hi = _scalar_for(ftype, value[1], "value[1]", out, field)
    if not out:
        try:
            if lo > hi:
                out.append(ErrorDetail("value", f"low {value[0]!r} is above high {value[1]!r}"))
        except TypeError:
            out.append(ErrorDetail("value", f"low {value[0]!r} and high {value[1]!r} cannot be compared"))
    return (lo, hi)


def _age_value(value: object, out: list[ErrorDetail]) -> Any:
    try:
        norm = parse_duration(value, "value")
    except ValidationError as exc:
        out.extend(exc.errors)
        return value
    if norm < timedelta(0):
        out.append(ErrorDetail("value", f"duration must not be negative, got {value!r}"))
    return norm


def _calendar_value(value: object, calendars: Mapping[str, Any] | None, out: list[ErrorDetail]) -> Any:
    if isinstance(value, str):
        known = calendars or {}
        if value not in known:
            names = ", ".join(sorted(known)) or "none given"
            out.append(
                ErrorDetail(
                    "value",
                    f"unknown calendar {value!r} (known: {names}); pass calendars={{name: BusinessCalendar}}",
                )
            )
            return value
        return known[value]
    if isinstance(value, Mapping):
        try:
            return BusinessCalendar.from_dict(value)
        except ValidationError as exc:
            out.extend(exc.prefixed("value").errors)
            return value
    if callable(getattr(value, "is_open", None)):
        return value
    out.append(ErrorDetail("value", f"expected a calendar name or a BusinessCalendar, got {value!r}"))
    return value


# --------------------------------------------------------------------------- compiling


def _leaf_predicate(field: str, op: str, value: Any, ref: str | None, ftype: str) -> Predicate:
    tg = _ticket_getter(field)
    if ref is not None:
        return _ref_predicate(field, op, ref)
    if op in _TIME_OPS:
        return _time_predicate(field, op, value)
    test = _value_test(op, value, ftype)
    if tg is not None:
        g = tg
        if ftype == PRIORITY and op != "exists" and value is not None:
            # enum hashing runs Python code; identities of the accepted members do not
            accepted = _priorities(op, value)
            ids = frozenset(id(p) for p in accepted)
            return lambda t, at, ctx: id(g(t)) in ids
        if ftype == SET and op == "contains":
            item = value
            return lambda t, at, ctx: item in g(t)
        if op == "eq" and ftype != ANY:
            v = value
            return lambda t, at, ctx: g(t) == v
        if op == "in" and ftype != ANY:
            vs = frozenset(value)
            return lambda t, at, ctx: g(t) in vs
        return lambda t, at, ctx: test(g(t))
    fg = _full_getter(field)
    return lambda t, at, ctx: test(fg(t, at, ctx))


def _priorities(op: str, value: Any) -> frozenset[Priority]:
    """The priorities a priority test accepts."""
    if op == "eq":
        return frozenset({value})
    if op == "ne":
        return frozenset(Priority) - {value}
    if op == "in":
        return frozenset(v for v in value if v is not None)
    if op == "not_in":
        return frozenset(Priority) - set(value)
    if op == "between":
        lo, hi = value[0].rank, value[1].rank
        return frozenset(p for p in Priority if lo <= p.rank <= hi)
    cmp = _PY_ORDER[op]
    return frozenset(p for p in Priority if cmp(p.rank, value.rank))


def _value_test(op: str, value: Any, ftype: str) -> Callable[[Any], bool]:
    if op == "exists":
        want = bool(value)
        return lambda a: _exists(a) is want
    if ftype == PRIORITY and op in ("gt", "ge", "lt", "le", "between"):
        return _priorities(op, value).__contains__
    if ftype == ANY:
        if op == "eq":
            return lambda a: _equal(a, value)
        if op == "ne":
            return lambda a: not _equal(a, value)
        if op in ("in", "not_in"):
            vs = tuple(value)
            want_in = op == "in"
            return lambda a: any(_equal(a, v) for v in vs) is want_in
    if op == "eq":
        return lambda a: a == value
    if op == "ne":
        return lambda a: a != value
    if op == "in":
        members = frozenset(value)
        return lambda a: a in members
    if op == "not_in":
        others = frozenset(value)
        return lambda a: a not in others
    if op == "contains":
        return lambda a: _contains(a, value)
    if op == "startswith":
        return lambda a: isinstance(a, str) and a.startswith(value)
    if op == "matches":
        found = compile_search(value)
        return lambda a: isinstance(a, str) and found(a)
    if op in _PY_ORDER:
        cmp = _PY_ORDER[op]
        same = (int, float) if _is_number(value) else (value.__class__,)

        def order(a: Any) -> bool:
            if a.__class__ in same:  # the common case, without the general checks
                return bool(cmp(a, value))
            return _order(op, a, value)

        return order
    if op == "between":
        lo, hi = value
        return lambda a: _order("ge", a, lo) and _order("le", a, hi)
    raise AssertionError(op)  # pragma: no cover - operators are checked before compiling


def _time_predicate(field: str, op: str, value: Any) -> Predicate:
    g = _full_getter(field)
    if op == "in_business_hours":
        is_open = value.is_open

        def in_hours(t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
            moment = g(t, at, ctx)
            return isinstance(moment, datetime) and bool(is_open(moment))

        return in_hours
    limit: timedelta = value
    over = op == "age_over"

    def age(t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
        moment = g(t, at, ctx)
        if not isinstance(moment, datetime) or at is None:
            return False
        return (at - moment >= limit) is over

    return age


def _ref_predicate(field: str, op: str, ref: str) -> Predicate:
    g = _full_getter(field)
    r = _full_getter(ref)
    if op == "eq":
        return lambda t, at, ctx: (a := g(t, at, ctx)) is not None and _equal(a, r(t, at, ctx))
    if op == "ne":
        return lambda t, at, ctx: not ((a := g(t, at, ctx)) is not None and _equal(a, r(t, at, ctx)))
    if op == "in":
        return lambda t, at, ctx: _member(g(t, at, ctx), r(t, at, ctx))
    if op == "not_in":
        return lambda t, at, ctx: not _member(g(t, at, ctx), r(t, at, ctx))
    if op == "contains":
        return lambda t, at, ctx: _contains(g(t, at, ctx), r(t, at, ctx))
    if op == "startswith":
        return lambda t, at, ctx: (
            isinstance(a := g(t, at, ctx), str) and isinstance(b := r(t, at, ctx), str) and a.startswith(b)
        )
    return lambda t, at, ctx: _order(op, g(t, at, ctx), r(t, at, ctx))


def _all(fns: tuple[Predicate, ...]) -> Predicate:
    if not fns:
        return lambda t, at, ctx: True
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda t, at, ctx: a(t, at, ctx) and b(t, at, ctx)

    def all_(t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
        for f in fns:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not f(t, at, ctx):
                return False
        return True

    return all_


def _any(fns: tuple[Predicate, ...]) -> Predicate:
    if not fns:
        return lambda t, at, ctx: False
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        a, b = fns
        return lambda t, at, ctx: a(t, at, ctx) or b(t, at, ctx)

    def any_(t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
        for f in fns:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if f(t, at, ctx):
                return True
        return False

    return any_


# --------------------------------------------------------------------------- Condition

_KINDS: Final = ("all", "any", "not", "test")


def _to_conditions(items: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class ConditionFailure:
    """Why a condition did not hold: the first leaf that failed and the value it saw.

    ``path`` addresses the leaf inside the condition's data form (``all[1]``);
    ``alternatives`` holds each branch's failure when an ``any`` had none that held.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(subject="s", created_at=datetime(2025, 1, 1, tzinfo=timezone.utc), category="billing")
        >>> print((F.category == "complaint").explain(t))
        category eq 'complaint': got 'billing'
    """

    path: str
    field: str
    op: str
    expected: Any
    actual: Any
    alternatives: tuple[ConditionFailure, ...] = ()

    def __str__(self) -> str:
        if self.alternatives:
            inner = "; ".join(str(a) for a in self.alternatives)
            return f"none of {len(self.alternatives)} alternatives held: {inner}"
        expected = _value_to_data(self.expected)
        shown = "" if expected is None and self.op in ("exists", "not exists") else f" {expected!r}"
        where = f"{self.field} " if self.field else ""
        return f"{where}{self.op}{shown}: got {_value_to_data(self.actual)!r}"

    def to_dict(self) -> dict[str, Any]:
        """The failure as JSON-safe data (for decision records)."""
        out: dict[str, Any] = {
            "path": self.path,
            "field": self.field,
            "op": self.op,
            "expected": _value_to_data(self.expected),
            "actual": _value_to_data(self.actual),
        }
        if self.alternatives:
            out["alternatives"] = [a.to_dict() for a in self.alternatives]
        return out


@attrs.frozen(kw_only=True)
class Condition:
    """A check on a ticket, built once and compiled to a closure.

    Build one from data with [`from_dict`][ticketkit.Condition.from_dict], with the builder
    [`F`][ticketkit.F], or combine conditions with ``&``, ``|`` and ``~``. Field paths reach ticket fields
    (``category``, ``priority`` compared by rank, ``tags``, ``created_at``, ...),
    ``customer.<attr>`` (else ``customer.data[<attr>]``), ``fields.<key>`` and
    ``context.<key>``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Customer
        >>> c = Condition.from_dict(
        ...     {
        ...         "all": [
        ...             {"field": "category", "op": "eq", "value": "complaint"},
        ...             {"field": "customer.tier", "op": "in", "value": ["vip", "svip"]},
        ...         ]
        ...     }
        ... )
        >>> t = Ticket(
        ...     subject="Late parcel",
        ...     category="complaint",
        ...     created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc),
        ...     customer=Customer(id="c1", tier="vip"),
        ... )
        >>> c.evaluate(t)
        True
        >>> c == (F.category == "complaint") & F.customer.tier.in_(["vip", "svip"])
        True
    """

    kind: str = "all"
    children: tuple[Condition, ...] = attrs.field(default=(), converter=_to_conditions)
    field: str | None = None
    op: str | None = None
    value: Any = attrs.field(default=None, converter=_hashable)
    ref: str | None = None
    _ftype: str = attrs.field(default="", init=False, eq=False, repr=False)
    _fn: Predicate = attrs.field(init=False, eq=False, repr=False, hash=False)
    _needs_at: bool = attrs.field(default=False, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems: list[ErrorDetail] = []
        if self.kind not in _KINDS:
            raise ValidationError.one(
                "kind", f"unknown kind {self.kind!r} (expected one of: {', '.join(_KINDS)})"
            )
        items: tuple[object, ...] = self.children
        for i, child in enumerate(items):
            if not isinstance(child, Condition):
                problems.append(ErrorDetail(f"{self.kind}[{i}]", f"expected a Condition, got {child!r}"))
        if problems:
            raise ValidationError(problems)
        setter = object.__setattr__
        fns = tuple(c._fn for c in self.children)
        needs_at = any(c._needs_at for c in self.children)
        if self.kind == "all":
            fn = _all(fns)
        elif self.kind == "any":
            fn = _any(fns)
        elif self.kind == "not":
            if len(fns) != 1:
                raise ValidationError.one("not", f"'not' takes exactly one condition, got {len(fns)}")
            inner = fns[0]

            def fn(t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
                return not inner(t, at, ctx)

        else:
            has_value = self.ref is None and (self.value is not None or self.op in ("eq", "ne"))
            leaf, problems = _check_leaf(
                self.field, self.op, value=self.value, ref=self.ref, has_value=has_value, calendars=None
            )
            if problems or leaf is None:
                raise ValidationError(problems)
            assert isinstance(self.field, str)
            assert isinstance(self.op, str)
            setter(self, "_ftype", leaf.ftype)
            setter(self, "value", leaf.value if self.ref is None else None)
            fn = _leaf_predicate(self.field, self.op, self.value, self.ref, leaf.ftype)
            needs_at = self.op in ("age_over", "age_under") or AT_FIELD in (self.field, self.ref)
        setter(self, "_fn", fn)
        setter(self, "_needs_at", needs_at)

    # ------------------------------------------------------------------ building

    @classmethod
    def always(cls) -> Condition:
        """The condition that always holds (``{"all": []}``).

        Examples:
            >>> Condition.always().to_dict()
            {'all': []}
        """
        return _ALWAYS

    @classmethod
    def never(cls) -> Condition:
        """The condition that never holds (``{"any": []}``).

        Examples:
            >>> Condition.never().to_dict()
            {'any': []}
        """
        return _NEVER

    @classmethod
    def leaf(cls, field: str, op: str, value: Any = None, *, ref: str | None = None) -> Condition:
        """One test on one field.

        Examples:
            >>> Condition.leaf("category", "eq", "complaint").to_dict()
            {'field': 'category', 'op': 'eq', 'value': 'complaint'}
        """
        return cls(kind="test", field=field, op=op, value=value, ref=ref)

    @classmethod
    @guarded_loader(1)
    def from_dict(cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = "") -> Condition:
        """Build a condition from its data form, checking everything first.

        ``calendars`` maps names to business calendars for ``in_business_hours``.
        A [`Condition`][ticketkit.Condition] is returned as it is.

        Raises:
            ValidationError: listing every problem with its path under ``path``.

        Examples:
            >>> Condition.from_dict(
            ...     {
            ...         "any": [
            ...             {"field": "priority", "op": "ge", "value": "high"},
            ...             {"field": "tags", "op": "contains", "value": "vip"},
            ...         ]
            ...     }
            ... ).kind
            'any'
            >>> try:
            ...     Condition.from_dict(
            ...         {
            ...             "all": [
            ...                 {"field": "subject", "op": "gt", "value": "a"},
            ...                 {"field": "colour", "op": "equals", "value": 1},
            ...             ]
            ...         }
            ...     )
            ... except ValidationError as err:
            ...     print([e.path for e in err.errors])
            ['all[0].op', 'all[1].field', 'all[1].op']
        """
        if isinstance(data, Condition):
            return data
        limit = Limits.current().depth
        if depth_of(data, limit) > limit:
            raise ValidationError.one(path, f"nested deeper than {limit} levels (Limits.depth)")
        problems: list[ErrorDetail] = []
        result = _parse(data, path, calendars, problems)
        if problems or result is None:
            raise ValidationError(problems or [ErrorDetail(path, "not a condition")])
        return result

    def to_dict(self) -> dict[str, Any]:
        """The data form, JSON-safe; [`from_dict`][ticketkit.Condition.from_dict] reads it back.

        Examples:
            >>> (~(F.tags.contains("spam"))).to_dict()
            {'not': {'field': 'tags', 'op': 'contains', 'value': 'spam'}}
        """
        if self.kind in ("all", "any"):
            return {self.kind: [c.to_dict() for c in self.children]}
        if self.kind == "not":
            return {"not": self.children[0].to_dict()}
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.ref is not None:
            out["ref"] = self.ref
        elif self.op == "exists":
            if self.value is False:
                out["value"] = False
        else:
            out["value"] = _value_to_data(self.value)
        return out

    # ------------------------------------------------------------------ combining

    def __and__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        left = self.children if self.kind == "all" else (self,)
        right = other.children if other.kind == "all" else (other,)
        return Condition(kind="all", children=left + right)

    def __or__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        left = self.children if self.kind == "any" else (self,)
        right = other.children if other.kind == "any" else (other,)
        return Condition(kind="any", children=left + right)

    def __invert__(self) -> Condition:
        return Condition(kind="not", children=(self,))

    # ------------------------------------------------------------------ using

    @property
    def predicate(self) -> Predicate:
        """The compiled closure ``fn(ticket, at, context) -> bool`` (no checks on its arguments).

        Examples:
            >>> callable((F.category == "x").predicate)
            True
        """
        return self._fn

    @property
    def needs_at(self) -> bool:
        """True when evaluating needs the instant ``at`` (ages, the ``at`` field)."""
        return self._needs_at

    def evaluate(
        self, ticket: Ticket, *, at: datetime | None = None, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether the condition holds for ``ticket`` at ``at``.

        Raises:
            ValidationError: ``at`` is naive, or missing while the condition needs it.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> old = F.created_at.age_over(timedelta(hours=4))
            >>> old.evaluate(Ticket(subject="s", created_at=t0), at=t0 + timedelta(hours=5))
            True
        """
        if at is not None:
            require_aware(at, "at")
        elif self._needs_at:
            raise ValidationError.one(
                "at", "this condition compares with the current time; pass at=<aware datetime>"
            )
        return self._fn(ticket, at, context)

    def explain(
        self, ticket: Ticket, *, at: datetime | None = None, context: Mapping[str, Any] | None = None
    ) -> ConditionFailure | None:
        """The first leaf that failed, with the value it saw; None when the condition holds.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Customer
            >>> t = Ticket(
            ...     subject="s",
            ...     created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
            ...     category="complaint",
            ...     customer=Customer(id="c", tier="standard"),
            ... )
            >>> cond = (F.category == "complaint") & (F.customer.tier == "vip")
            >>> failure = cond.explain(t)
            >>> failure.path, failure.field, failure.actual
            ('all[1]', 'customer.tier', 'standard')
        """
        if at is not None:
            require_aware(at, "at")
        return self._explain(ticket, at, context, "")

    def _explain(
        self, ticket: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None, path: str
    ) -> ConditionFailure | None:
        if self._fn(ticket, at, ctx):
            return None
        if self.kind == "all":
            for i, c in enumerate(self.children):
                failure = c._explain(ticket, at, ctx, join_path(path, "all") + f"[{i}]")
                if failure is not None:
                    return failure
            return None  # pragma: no cover - an all that fails has a failing child
        if self.kind == "any":
            alts = tuple(
                f
                for i, c in enumerate(self.children)
                if (f := c._explain(ticket, at, ctx, join_path(path, "any") + f"[{i}]")) is not None
            )
            return ConditionFailure(
                path=path, field="", op="any", expected=None, actual=None, alternatives=alts
            )
        if self.kind == "not":
            inner = self.children[0]
            sub = join_path(path, "not")
            if inner.kind == "test":
                assert inner.field is not None
                return ConditionFailure(
                    path=sub,
                    field=inner.field,
                    op=f"not {inner.op}",
                    expected=inner._expected(ticket, at, ctx),
                    actual=_full_getter(inner.field)(ticket, at, ctx),
                )
            return ConditionFailure(path=sub, field="", op="not", expected=inner.to_dict(), actual=True)
        assert self.field is not None
        assert self.op is not None
        actual = _full_getter(self.field)(ticket, at, ctx)
        return ConditionFailure(
            path=path, field=self.field, op=self.op, expected=self._expected(ticket, at, ctx), actual=actual
        )

    def _expected(self, ticket: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> Any:
        if self.ref is not None:
            return f"{self.ref} = {_full_getter(self.ref)(ticket, at, ctx)!r}"
        if self.op == "in_business_hours":
            return _value_to_data(self.value)
        if self.op == "exists":
            return None if self.value is True else False
        return self.value

    def fields(self) -> frozenset[str]:
        """Every field path the condition reads (including ``ref`` targets).

        Examples:
            >>> sorted(((F.category == "a") | (F.team == F.customer.store)).fields())
            ['category', 'customer.store', 'team']
        """
        if self.kind != "test":
            out: frozenset[str] = frozenset()
            for c in self.children:
                out |= c.fields()
            return out
        assert self.field is not None
        return frozenset({self.field} | ({self.ref} if self.ref else set()))

    def pinned(self) -> dict[str, frozenset[Any]]:
        """Fields this condition pins to constants: it can only hold when the field has one of them.

        Routers use it to index rules (``category == "complaint"`` -> ``{"category":
        {"complaint"}}``); a field not listed may hold anything.

        Examples:
            >>> ((F.category == "a") & F.channel.in_(["web", "app"])).pinned()["channel"] == {"web", "app"}
            True
        """
        if self.kind == "test":
            if self.ref is None and self._ftype in (TEXT, PRIORITY, NUMBER) and self.field is not None:
                if self.op == "eq" and self.value is not None:
                    return {self.field: frozenset({self.value})}
                if self.op == "in":
                    return {self.field: frozenset(self.value)}
            return {}
        if self.kind == "all":
            out: dict[str, frozenset[Any]] = {}
            for c in self.children:
                for f, vals in c.pinned().items():
                    out[f] = out[f] & vals if f in out else vals
            return out
        if self.kind == "any" and self.children:
            parts = [c.pinned() for c in self.children]
            common = set(parts[0])
            for p in parts[1:]:
                common &= set(p)
            return {f: frozenset().union(*(p[f] for p in parts)) for f in common}
        return {}

    def __str__(self) -> str:
        if self.kind == "test":
            if self.ref is not None:
                return f"{self.field} {self.op} {self.ref}"
            if self.op == "exists":
                return f"{self.field} exists" if self.value is not False else f"{self.field} missing"
            return f"{self.field} {self.op} {_value_to_data(self.value)!r}"
        if self.kind == "not":
            return f"not ({self.children[0]})"
        if not self.children:
            return "always" if self.kind == "all" else "never"
        joiner = " and " if self.kind == "all" else " or "
        return joiner.join(
            f"({c})" if c.kind in ("all", "any") and len(c.children) > 1 else str(c) for c in self.children
        )


_ALWAYS: Final = Condition(kind="all")
_NEVER: Final = Condition(kind="any")

_LEAF_KEYS: Final = frozenset({"field", "op", "value", "ref"})


def _parse(
    data: Any, path: str, calendars: Mapping[str, Any] | None, out: list[ErrorDetail]
) -> Condition | None:
    if isinstance(data, Condition):
        return data
    if not isinstance(data, Mapping):
        out.append(
            ErrorDetail(
                path,
                f"expected a condition mapping ({{'all': [...]}}, {{'any': [...]}}, {{'not': ...}} "
                f"or {{'field': ..., 'op': ..., 'value': ...}}), got {data!r}",
            )
        )
        return None
    keys = set(data)
    if not keys:
        out.append(ErrorDetail(path, "empty condition (use {'all': []} for one that always holds)"))
        return None
    groups = keys & {"all", "any", "not"}
    if groups:
        if len(keys) != 1:
            out.append(
                ErrorDetail(
                    path,
                    "a condition has exactly one of 'all', 'any', 'not' or a field test; "
                    f"got keys {sorted(keys)!r}",
                )
            )
            return None
        (kind,) = groups
        sub = join_path(path, kind)
        if kind == "not":
            inner = _parse(data["not"], sub, calendars, out)
            return None if inner is None else Condition(kind="not", children=(inner,))
        items = data[kind]
        if not isinstance(items, list | tuple):
            out.append(ErrorDetail(sub, f"expected a list of conditions, got {items!r}"))
            return None
        children = [_parse(item, join_path(sub, i), calendars, out) for i, item in enumerate(items)]
        if any(c is None for c in children):
            return None
        return Condition(kind=kind, children=tuple(c for c in children if c is not None))
    unknown = keys - _LEAF_KEYS
    if unknown:
        out.extend(
            ErrorDetail(
                join_path(path, str(k)),
                f"unknown key {k!r} (expected 'field', 'op', 'value', 'ref', or 'all', 'any', 'not')",
            )
            for k in sorted(unknown, key=repr)
        )
        return None
    if "field" not in data or "op" not in data:
        missing = [k for k in ("field", "op") if k not in data]
        out.extend(ErrorDetail(join_path(path, k), "missing") for k in missing)
        return None
    field, op, ref = data["field"], data["op"], data.get("ref")
    has_value = "value" in data
    value = data.get("value")
    leaf, problems = _check_leaf(field, op, value=value, ref=ref, has_value=has_value, calendars=calendars)
    if problems or leaf is None:
        out.extend(ErrorDetail(join_path(path, p.path), p.message) for p in problems)
        return None
    try:
        return Condition(kind="test", field=field, op=op, value=leaf.value if ref is None else None, ref=ref)
    except ValidationError as exc:  # pragma: no cover - checked above
        out.extend(exc.prefixed(path).errors)
        return None


# --------------------------------------------------------------------------- builder F


class FieldRef:
    """A field path in the condition builder; comparisons on it make conditions.

    Get one from [`F`][ticketkit.F]: ``F.category``, ``F.customer.tier``, ``F.fields.order_total``,
    ``F["fields"]["contains"]`` for keys that clash with method names. Comparing with
    another ``FieldRef`` makes a ``ref`` test.

    Examples:
        >>> (F.fields.order_total > 100).to_dict()
        {'field': 'fields.order_total', 'op': 'gt', 'value': 100}
        >>> (F.team == F.customer.store).to_dict()
        {'field': 'team', 'op': 'eq', 'ref': 'customer.store'}
    """

    __slots__ = ("_path",)
    _path: str

    def __init__(self, path: str = "") -> None:
        object.__setattr__(self, "_path", path)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("field references are read-only")

    @property
    def path(self) -> str:
        """The dotted field path."""
        return self._path

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return FieldRef(join_path(self._path, name) if self._path else name)

    def __getitem__(self, name: str) -> FieldRef:
        return FieldRef(f"{self._path}.{name}" if self._path else name)

    def __repr__(self) -> str:
        return f"F.{self._path}" if self._path else "F"

    def _test(self, op: str, value: Any) -> Condition:
        if isinstance(value, FieldRef):
            return Condition(kind="test", field=self._path, op=op, ref=value._path)
        if value is None and op not in ("eq", "ne"):
            raise ValidationError.one("value", f"operator {op!r} needs a value, got None")
        return Condition(kind="test", field=self._path, op=op, value=value)

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._test("eq", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._test("ne", value)

    def __gt__(self, value: object) -> Condition:
        return self._test("gt", value)

    def __ge__(self, value: object) -> Condition:
        return self._test("ge", value)

    def __lt__(self, value: object) -> Condition:
        return self._test("lt", value)

    def __le__(self, value: object) -> Condition:
        return self._test("le", value)

    __hash__ = None  # type: ignore[assignment]

    def in_(self, values: Iterable[Any] | FieldRef) -> Condition:
        """The field's value is one of ``values`` (or of the list another field holds)."""
        return self._test("in", values if isinstance(values, FieldRef) else _ordered(values))

    def not_in(self, values: Iterable[Any] | FieldRef) -> Condition:
        """The field's value is none of ``values``."""
        return self._test("not_in", values if isinstance(values, FieldRef) else _ordered(values))

    def contains(self, value: Any) -> Condition:
        """A text field contains the substring, or a list/tag set contains the item."""
        return self._test("contains", value)

    def startswith(self, value: str | FieldRef) -> Condition:
        """A text field starts with ``value``."""
        return self._test("startswith", value)

    def matches(self, pattern: str) -> Condition:
        """A text field matches the regular expression (like ``re.search``, on RE2), compiled once."""
        return self._test("matches", pattern)

    def between(self, low: Any, high: Any) -> Condition:
        """``low <= value <= high``."""
        return self._test("between", (low, high))

    def exists(self, present: bool = True) -> Condition:
        """The field has a value (not None, not empty); ``exists(False)`` for the opposite."""
        return Condition(kind="test", field=self._path, op="exists", value=present)

    def age_over(self, duration: timedelta | str) -> Condition:
        """At least ``duration`` has passed since this datetime field, at evaluation time ``at``."""
        return self._test("age_over", parse_duration(duration, "value"))

    def age_under(self, duration: timedelta | str) -> Condition:
        """Less than ``duration`` has passed since this datetime field, at evaluation time ``at``."""
        return self._test("age_under", parse_duration(duration, "value"))

    def in_business_hours(self, calendar: CalendarLike) -> Condition:
        """This datetime field (``F.at`` for the evaluation instant) falls in the calendar's open hours."""
        return self._test("in_business_hours", calendar)


def _ordered(values: Iterable[Any]) -> tuple[Any, ...]:
    """Values as a tuple; a set is sorted so equal sets make equal conditions."""
    if isinstance(values, set | frozenset):
        return tuple(sorted(values, key=repr))
    return tuple(values)


F: Final = FieldRef()
"""The condition builder: ``F.category == "complaint"``, ``F.customer.tier.in_(["vip"])``."""
