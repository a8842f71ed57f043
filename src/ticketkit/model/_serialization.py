"""One converter for every model and configuration: dicts and JSON in, values out.

Output is stable and diff-able: datetimes as ISO 8601 with their offset, durations as
ISO 8601 (``PT2H30M``), enums by lower-case name, sets as sorted lists. Input is
checked: wrong types, missing fields, unknown keys, naive datetimes and unknown
priorities raise [`ValidationError`][ticketkit.errors.ValidationError] naming every bad path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast, get_origin

import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_unstructure_fn, override

from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._json import FrozenDict, thaw
from ticketkit.model._limits import guarded_loader
from ticketkit.model._models import (
    Agent,
    ClockState,
    Comment,
    Customer,
    Event,
    Link,
    Priority,
    SLAState,
    Team,
    Ticket,
    TimerState,
)

__all__ = [
    "format_duration",
    "from_dict",
    "from_json",
    "make_converter",
    "parse_duration",
    "to_dict",
    "to_json",
]

T = TypeVar("T")

_ISO_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_HUMAN_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>d|h|m|min|s|ms)\b", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "ms": 0.001}


@guarded_loader(0)
def parse_duration(value: object, path: str = "") -> timedelta:
    """A duration from a timedelta, seconds, ISO 8601 (``PT2H30M``) or ``"2h 30m"``.

    A day (``1d`` / ``P1D``) is 24 hours of business time, not a calendar day.

    Raises:
        ValidationError: naming ``path`` when the value is none of those.

    Examples:
        >>> parse_duration("PT2H30M"), parse_duration("90m"), parse_duration(45)
        (datetime.timedelta(seconds=9000), datetime.timedelta(seconds=5400), datetime.timedelta(seconds=45))
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        m = _ISO_DURATION.match(text)
        if m and any(m.group(g) for g in "dhms"):
            seconds = sum(float(m.group(g) or 0) * _UNIT_SECONDS[g] for g in "dhms")
            return timedelta(seconds=-seconds if m.group("sign") else seconds)
        parts = list(_HUMAN_DURATION.finditer(text))
        if parts and _HUMAN_DURATION.sub("", text).strip() == "":
            return timedelta(seconds=sum(float(p["n"]) * _UNIT_SECONDS[p["u"].lower()] for p in parts))
    raise ValidationError.one(
        path, f"expected a duration such as 'PT2H30M', '2h 30m' or a number of seconds, got {value!r}"
    )


def format_duration(value: timedelta) -> str:
    """The ISO 8601 form of a duration, in hours, minutes and seconds (no days).

    Examples:
        >>> format_duration(timedelta(hours=26, minutes=5)), format_duration(timedelta(0))
        ('PT26H5M', 'PT0S')
    """
    micro = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if micro < 0 else ""
    micro = abs(micro)
    seconds, us = divmod(micro, 1_000_000)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    out = f"{sign}PT"
    if h:
        out += f"{h}H"
    if m:
        out += f"{m}M"
    if s or us or not (h or m):
        out += f"{s}.{us:06d}".rstrip("0").rstrip(".") + "S" if us else f"{s}S"
    return out


def _structure_datetime(value: object, _: type) -> datetime:
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError.one(
                "",
                f"expected an ISO 8601 datetime with offset, e.g. '2025-03-03T09:30:00+08:00', got {value!r}",
            ) from None
    else:
        raise ValidationError.one("", f"expected an ISO 8601 datetime string, got {value!r}")
    if result.tzinfo is None or result.utcoffset() is None:
        raise ValidationError.one("", f"naive datetime {value!r}: add an offset such as '+08:00' or 'Z'")
    return result


def _structure_date(value: object, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError.one("", f"expected a date such as '2025-01-26', got {value!r}")


def _structure_priority(value: object, _: type) -> Priority:
    try:
        return Priority.parse(cast("Priority | str", value))
    except ValidationError:
        raise ValidationError.one(
            "", f"unknown priority {value!r} (expected one of: low, normal, high, urgent)"
        ) from None


def _structure_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise ValidationError.one("", f"expected a string, got {value!r}")
    return value


def _structure_int(value: object, _: type) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError.one("", f"expected an integer, got {value!r}")
    return value


def _structure_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.one("", f"expected true or false, got {value!r}")
    return value


def _structure_mapping(value: object, _: type) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError.one("", f"expected an object (mapping), got {value!r}")
    return value


def _structure_str_set(value: object, _: type) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError.one("", f"expected a list of strings, got {value!r}")
    problems = [
        ErrorDetail(f"[{i}]", f"expected a string, got {v!r}")
        for i, v in enumerate(value)
        if not isinstance(v, str)
    ]
    if problems:
        raise ValidationError(problems)
    return frozenset(value)


def _is_frozenset_type(t: Any) -> bool:
    return t is frozenset or get_origin(t) is frozenset


def _sort_key(item: Any) -> tuple[str, Any]:
    return (type(item).__name__, item)


def make_converter() -> cattrs.Converter:
    """A new converter that knows every ticketkit model (never cattrs' global one).

    Examples:
        >>> conv = make_converter()
        >>> conv.unstructure(Priority.HIGH)
        'high'
    """
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    conv.register_structure_hook(date, _structure_date)
    conv.register_unstructure_hook(timedelta, format_duration)
    conv.register_structure_hook(timedelta, lambda v, _: parse_duration(v))
    conv.register_unstructure_hook(Priority, lambda p: p.value)
    conv.register_structure_hook(Priority, _structure_priority)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook_func(_is_frozenset_type, lambda s: sorted(s, key=_sort_key))
    conv.register_structure_hook_func(lambda t: t == frozenset[str], _structure_str_set)
    conv.register_unstructure_hook(FrozenDict, thaw)
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Any], _structure_mapping)
    # A comment without attachments keeps the form it had before comments carried them.
    conv.register_unstructure_hook(
        Comment, make_dict_unstructure_fn(Comment, conv, attachments=override(omit_if_default=True))
    )
    return conv


_converter = make_converter()

MODELS: tuple[type, ...] = (
    Agent,
    ClockState,
    Comment,
    Customer,
    Event,
    Link,
    SLAState,
    Team,
    Ticket,
    TimerState,
)


def _details(exc: BaseException, path: str) -> list[ErrorDetail]:
    """Flatten cattrs' error groups into path-addressed problems."""
    if isinstance(exc, ValidationError):
        return exc.prefixed(path).errors
    if isinstance(exc, ForbiddenExtraKeysError):
        return [
            ErrorDetail(join_path(path, key), f"unknown key {key!r}; check its spelling")
            for key in sorted(exc.extra_fields)
        ]
    if isinstance(exc, BaseValidationError):
        out: list[ErrorDetail] = []
        for sub in exc.exceptions:
            notes = getattr(sub, "__notes__", [])
            sub_path = path
            for note in notes:
                if isinstance(note, AttributeValidationNote):
                    sub_path = join_path(path, note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    sub_path = join_path(path, note.index if isinstance(note.index, int) else str(note.index))
                    break
            if isinstance(sub, KeyError) and sub_path != path:
                out.append(ErrorDetail(sub_path, "required field is missing"))
            else:
                out.extend(_details(sub, sub_path))
        return out
    if isinstance(exc, TypeError | ValueError | KeyError | AttributeError):
        return [ErrorDetail(path, f"invalid value: {exc}")]
    raise exc


def to_dict(obj: Any) -> Any:
    """The plain, JSON-ready form of a model or a configuration object.

    Configuration objects (calendars, workflows, policies, routers) serialize
    through their own ``to_dict()``; models through the converter.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(subject="Refund", id="T1", created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc))
        >>> d = to_dict(t)
        >>> d["created_at"], d["priority"], d["tags"]
        ('2025-03-03T09:00:00+00:00', 'normal', [])
    """
    method = getattr(obj, "to_dict", None)
    if callable(method):
        return method()
    return _converter.unstructure(obj)


@guarded_loader(1)
def from_dict(cls: type[T], data: Any, *, path: str = "") -> T:
    """Build ``cls`` from its plain form, checking everything.

    Raises:
        ValidationError: listing every bad path (wrong type, missing field,
            unknown key, naive datetime, unknown priority, ...).

    Examples:
        >>> from_dict(Customer, {"id": "c-1", "tier": "vip"}).tier
        'vip'
        >>> try:
        ...     from_dict(Customer, {"id": 7, "tier": "vip", "teir": "x"})
        ... except ValidationError as err:
        ...     print(err)
        invalid input (2 problems):
          id: expected a string, got 7
          teir: unknown key 'teir'; check its spelling
    """
    method = getattr(cls, "from_dict", None)
    if callable(method):
        try:
            return cast("T", method(data))
        except ValidationError as err:
            if not path:
                raise
            raise err.prefixed(path) from None
    if not isinstance(data, Mapping):
        raise ValidationError.one(path, f"expected an object for {cls.__name__}, got {data!r}")
    try:
        return _converter.structure(data, cls)
    except ValidationError as exc:
        raise exc.prefixed(path) from None
    except (BaseValidationError, ForbiddenExtraKeysError) as exc:
        # cattrs reports in an order that varies between runs; sort for stable messages.
        details = _details(exc, path)
        details.sort(key=lambda e: e.path)
        raise ValidationError(details) from None


def to_json(obj: Any, *, indent: int | None = None) -> str:
    """``to_dict`` as JSON text, keys in a stable order, non-ASCII kept readable.

    Examples:
        >>> to_json(Customer(id="c-1", name="王芳"))[:30]
        '{"data": {}, "email": null, "i'
    """
    return json.dumps(to_dict(obj), sort_keys=True, ensure_ascii=False, indent=indent)


@guarded_loader(1)
def from_json(cls: type[T], text: str | bytes) -> T:
    """Build ``cls`` from JSON text; bad JSON is a ``ValidationError`` too.

    Examples:
        >>> from_json(Customer, '{"id": "c-1"}').id
        'c-1'
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError.one("", f"not valid JSON: {exc}") from None
    return from_dict(cls, data)


def converter() -> cattrs.Converter:
    """The shared converter instance (for engines registering their own hooks)."""
    return _converter


def register_structure(cls: type[T], func: Callable[[Any, type], T]) -> None:
    """Teach the shared converter to build ``cls`` (used by the engines' configs)."""
    _converter.register_structure_hook(cls, func)
