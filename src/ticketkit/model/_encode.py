"""A fast writer for the hot models: the plain form of `to_dict`, without the converter.

Every write of a store turns a ticket and its events into JSON. The converter does
that correctly for any model but dispatches on every field of every value;
`plain` does the same for the models a write carries (tickets, events and the
values inside them) with encoders derived once per class from its attrs fields and
type hints. The output is equal to ``to_dict(obj)`` (a property test keeps it so);
a type it has no encoder for is handed to the converter, so it is never wrong, only
slower.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final

import attrs

from ticketkit.model._json import thaw
from ticketkit.model._serialization import converter, format_duration

__all__: list[str] = []  # internal: the desk and stores use it, users never do

_Encoder = Callable[[Any], Any]
_cache: dict[Any, _Encoder] = {}
_classes: dict[type, _Encoder] = {}
_SCALARS: Final = (str, int, bool, float, type(None))


def _identity(value: Any) -> Any:
    return value


_ISO_CACHE: dict[tuple[Any, Any, int], str] = {}
_DURATION_CACHE: dict[timedelta, str] = {}
_CACHE_SIZE: Final = 4096


def _iso(value: datetime | date) -> str:
    # isoformat asks a zoneinfo zone for its offset every time, and a ticket repeats
    # the same instants (a clock's start is its first segment's start). Equal aware
    # datetimes with the same zone and fold have the same wall time and offset, so
    # the same text.
    if not isinstance(value, datetime):
        return value.isoformat()
    key = (value, value.tzinfo, value.fold)
    text = _ISO_CACHE.get(key)
    if text is None:
        if len(_ISO_CACHE) >= _CACHE_SIZE:
            _ISO_CACHE.clear()
        text = _ISO_CACHE[key] = value.isoformat()
    return text


def _duration(value: timedelta) -> str:
    text = _DURATION_CACHE.get(value)
    if text is None:
        if len(_DURATION_CACHE) >= _CACHE_SIZE:
            _DURATION_CACHE.clear()
        text = _DURATION_CACHE[value] = format_duration(value)
    return text


def _sort_key(item: Any) -> tuple[str, Any]:
    return (type(item).__name__, item)


def _sorted_set(value: Any) -> list[Any]:
    return sorted(value, key=_sort_key)


def _encoder(tp: Any) -> _Encoder:
    found = _cache.get(tp)
    if found is None:
        found = _make_encoder(tp)
        _cache[tp] = found
    return found


def _optional(inner: _Encoder) -> _Encoder:
    if inner is _identity:
        return _identity

    def encode(value: Any) -> Any:
        return None if value is None else inner(value)

    return encode


def _sequence(inner: _Encoder) -> _Encoder:
    if inner is _identity:
        return list

    def encode(value: Any) -> list[Any]:
        return [inner(v) for v in value]

    return encode


def _fallback(tp: Any) -> _Encoder:
    conv = converter()

    def encode(value: Any) -> Any:
        return conv.unstructure(value, unstructure_as=tp)

    return encode


def _make_encoder(tp: Any) -> _Encoder:
    if tp in _SCALARS or tp is Any:
        return _identity if tp is not Any else _any
    if tp is datetime or tp is date:
        return _iso
    if tp is timedelta:
        return _duration
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_value
    if isinstance(tp, type) and attrs.has(tp):
        return _class_encoder(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _optional(_encoder(rest[0]))
        return _fallback(tp)
    if origin is frozenset:
        return _sorted_set
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(_encoder(args[0]))
        parts = [_encoder(a) for a in args]
        return lambda value: tuple(enc(v) for enc, v in zip(parts, value, strict=True))  # as cattrs
    if origin is Mapping and args and args[1] is Any:
        return thaw
    return _fallback(tp)


def _any(value: Any) -> Any:
    # A value typed Any: what the converter does with it at run time.
    if isinstance(value, _SCALARS):
        return value
    return converter().unstructure(value)


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _expression(tp: Any, value: str, env: dict[str, Any]) -> str:
    """Python source that encodes ``value`` (an expression) of type ``tp``; helpers go into ``env``."""
    if tp in _SCALARS:
        return value
    if tp is datetime:
        env["_iso"] = _iso
        return f"_iso({value})"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f"{value}.value"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        if inner in _SCALARS:
            return value
        return f"(None if {value} is None else {_expression(inner, value, env)})"
    if origin is frozenset and args and args[0] is str:
        return f"sorted({value})"  # all strings: the converter's (type name, item) order is plain order
    name = f"_e{len(env)}"
    env[name] = _encoder(tp)
    return f"{name}({value})"


def _class_encoder(cls: type) -> _Encoder:
    found = _classes.get(cls)
    if found is not None:
        return found
    hints = typing.get_type_hints(cls)
    env: dict[str, Any] = {}
    items: list[tuple[str, str, str | None, str | None]] = []
    for field in attrs.fields(cls):
        expr = _expression(hints[field.name], f"o.{field.name}", env)
        if expr.startswith("(None if"):
            # Read the attribute once: a local per optional field.
            env_name = f"_v{len(items)}"
            items.append((field.name, expr.replace(f"o.{field.name}", env_name), env_name, field.name))
        else:
            items.append((field.name, expr, None, None))
    lines = ["def encode(o):"]
    lines.extend(f"    {local} = o.{attr}" for _, _, local, attr in items if local is not None)
    body = ", ".join(f"{name!r}: {expr}" for name, expr, _, _ in items)
    lines.append(f"    return {{{body}}}")
    namespace: dict[str, Any] = dict(env)
    # Source built only from our own models' field names and the helpers above (as attrs
    # and cattrs generate theirs); nothing from input is compiled.
    exec(compile("\n".join(lines), f"<ticketkit encoder {cls.__name__}>", "exec"), namespace)
    encode: _Encoder = namespace["encode"]
    _classes[cls] = encode
    return encode


def plain(obj: Any) -> Any:
    """The plain, JSON-ready form of a model: equal to ``to_dict(obj)``, made faster.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit.model._models import Ticket
        >>> from ticketkit.model._serialization import to_dict
        >>> t = Ticket(subject="Refund", id="T1", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))
        >>> plain(t) == to_dict(t)
        True
    """
    cls = type(obj)
    enc = _classes.get(cls)
    if enc is None:
        if not attrs.has(cls) or callable(getattr(obj, "to_dict", None)):
            return converter().unstructure(obj)
        enc = _class_encoder(cls)
    return enc(obj)
