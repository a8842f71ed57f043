"""A fast reader for ticket JSON that a store wrote itself.

``from_dict`` checks everything, as it must for input from outside; a store's own
rows were written by ``to_dict`` from valid tickets, so reading them back needs no
checks. `trusted_ticket` builds the same value as ``from_dict(Ticket, data)``
without re-validating, from decoders derived once from the models' type hints. It
falls back to ``from_dict`` (which checks and reports) on anything it does not
expect: a missing or unknown key, a type it has no decoder for, any error.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from ticketkit.model._models import Ticket
from ticketkit.model._serialization import from_dict, make_converter, parse_duration

T = TypeVar("T")
_Decoder = Callable[[Any], Any]

_converter: Final = make_converter()
_cache: dict[Any, _Decoder] = {}


def _identity(value: Any) -> Any:
    return value


class _Fallback(Exception):  # noqa: N818 - internal signal, never escapes
    """The data is not in the shape the fast path expects."""


@functools.lru_cache(maxsize=4096)
def _duration(value: Any) -> timedelta:
    return parse_duration(value)  # the same few durations recur in every ticket ("PT0S")


def _aware(value: Any) -> datetime:
    result = datetime.fromisoformat(value)
    if result.tzinfo is None:
        raise _Fallback
    return result


def _decoder(tp: Any) -> _Decoder:
    found = _cache.get(tp)
    if found is None:
        found = _make_decoder(tp)
        _cache[tp] = found
    return found


def _make_decoder(tp: Any) -> _Decoder:
    if tp is Any or tp in (str, int, bool, float):
        return _identity
    if tp is datetime:
        return _aware
    if tp is date:
        return date.fromisoformat
    if tp is timedelta:
        return _duration
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if isinstance(tp, type) and attrs.has(tp):
        return _attrs_decoder(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = _decoder(args[0] if args[1] is type(None) else args[1])
        return lambda v: None if v is None else inner(v)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        if item is _identity:
            return tuple
        return lambda v: tuple(item(x) for x in v)
    if origin is frozenset and args and _decoder(args[0]) is _identity:
        return frozenset
    if origin in (Mapping, typing.Mapping, dict) and args and args[0] is str and args[1] is Any:
        return _identity  # the field's converter freezes it
    return lambda v: _converter.structure(v, tp)


def _attrs_decoder(cls: type[Any]) -> _Decoder:
    hints = typing.get_type_hints(cls)
    plain: list[str] = []  # taken as they are
    decoded: list[tuple[str, _Decoder]] = []
    converted: list[tuple[str, _Decoder, _Decoder]] = []  # decoded, then the field's converter
    for f in attrs.fields(cls):
        dec = _decoder(hints[f.name])
        if callable(f.converter):
            converted.append((f.name, dec, f.converter))
        elif dec is _identity:
            plain.append(f.name)
        else:
            decoded.append((f.name, dec))
    names = frozenset(f.name for f in attrs.fields(cls))
    setter = object.__setattr__
    new = object.__new__

    def decode(data: Any) -> Any:
        if not isinstance(data, dict) or len(data) != len(names) or not names.issuperset(data):
            raise _Fallback
        obj = new(cls)
        for name in plain:
            setter(obj, name, data[name])
        for name, dec in decoded:
            setter(obj, name, dec(data[name]))
        for name, dec, conv in converted:
            setter(obj, name, conv(dec(data[name])))
        return obj

    return decode


def trusted_ticket(data: Any) -> Ticket:
    """The ticket for ``data`` (a ``to_dict`` form a store wrote), without re-checking it.

    Equal to ``from_dict(Ticket, data)``; anything unexpected goes through
    ``from_dict`` instead, which validates and reports.
    """
    try:
        ticket: Ticket = _decoder(Ticket)(data)
    except Exception:
        return from_dict(Ticket, data)
    return ticket
