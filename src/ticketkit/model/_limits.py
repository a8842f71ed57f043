"""Size limits on what the library accepts: text lengths, tag counts, nesting depth.

Input from the public internet and configuration from admins can be of any size; the
limits turn a hostile size into a clear `ValidationError` instead of a slow store, a
huge index or a `RecursionError`. They are process-wide and changed with `Limits.set`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import ClassVar, Final, ParamSpec, TypeVar

import attrs

from ticketkit.errors import ErrorDetail, TicketkitError, ValidationError, bounded_repr, join_path

__all__ = ["Limits"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError.one(attribute.name, f"expected a positive integer, got {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """The sizes ticketkit accepts; a larger value is a `ValidationError` naming the limit.

    Attributes:
        subject: characters in a ticket's subject.
        body: characters in a description or a comment body.
        name: characters in an id, tenant, tag, team, assignee, category, channel or status.
        tags: tags on one ticket.
        fields: values (counted through nested lists and objects) in a ticket's custom
            fields or a customer's data.
        depth: nesting of lists and objects in custom fields, event data and configuration
            (conditions, workflows, rules).
        values: values (strings, numbers, lists, objects and keys, counted through every
            level) in one document given to a loader: a configuration, a model's plain
            form. It bounds the time and memory one ``from_dict`` may take.

    Examples:
        >>> Limits.current().depth
        32
        >>> previous = Limits.set(Limits(tags=500))
        >>> Limits.current().tags
        500
        >>> _ = Limits.set(previous)
    """

    subject: int = attrs.field(default=1_000, validator=_positive)
    body: int = attrs.field(default=1_000_000, validator=_positive)
    name: int = attrs.field(default=256, validator=_positive)
    tags: int = attrs.field(default=200, validator=_positive)
    fields: int = attrs.field(default=10_000, validator=_positive)
    depth: int = attrs.field(default=32, validator=_positive)
    values: int = attrs.field(default=1_000_000, validator=_positive)

    _current: ClassVar[list[Limits]] = []

    @classmethod
    def current(cls) -> Limits:
        """The limits in force (the defaults unless `set` was called)."""
        if not cls._current:
            cls._current.append(cls())
        return cls._current[0]

    @classmethod
    def set(cls, limits: Limits) -> Limits:
        """Put ``limits`` in force for the whole process; the limits they replace."""
        if not isinstance(limits, Limits):
            raise ValidationError.one("limits", f"expected a Limits, got {limits!r}")
        previous = cls.current()
        cls._current[0] = limits
        return previous


def depth_of(value: object, stop: int) -> int:
    """How deeply lists, tuples and mappings nest in ``value``, counted up to ``stop + 1``.

    Iterative, so a value nested far deeper than the interpreter's recursion limit is
    measured without a `RecursionError`.
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            level += 1
            if level > deepest:
                deepest = level
                if deepest > stop:
                    return deepest
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, level) for child in children)
    return deepest


_P = ParamSpec("_P")
_R = TypeVar("_R")

_INT_BOUND: Final = 2**63
_BUILTIN_ERRORS: Final = (
    RecursionError,
    ValueError,
    TypeError,
    OverflowError,
    AttributeError,
    KeyError,
    IndexError,
    UnicodeError,
)


def input_problems(data: object, path: str = "") -> list[ErrorDetail]:
    """What no configuration or input may hold, found without recursion.

    Nesting deeper than `Limits.depth`, more values than `Limits.values`, mapping keys
    that are not strings, integers outside the 64-bit range, non-finite floats and
    strings that are not valid text (lone surrogates; NUL is refused where names are
    checked). One problem per place, at most a bounded number.
    """
    limits = Limits.current()
    limit, most = limits.depth, limits.values
    problems: list[ErrorDetail] = []
    stack: list[tuple[object, str, int]] = [(data, path, 0)]
    seen = 0
    while stack and len(problems) < 20:
        item, where, level = stack.pop()
        seen += 1
        if seen > most:
            return [ErrorDetail(path, f"holds more than {most:,} values (Limits.values)")]
        if isinstance(item, Mapping | list | tuple):
            if level >= limit:
                problems.append(ErrorDetail(where, f"nested deeper than {limit} levels (Limits.depth)"))
                continue
            if isinstance(item, Mapping):
                for key, value in item.items():
                    if not isinstance(key, str):
                        problems.append(ErrorDetail(where, f"key {bounded_repr(key)} is not a string"))
                        continue
                    stack.append((key, where, level + 1))
                    stack.append((value, join_path(where, key), level + 1))
            else:
                stack.extend((v, join_path(where, i), level + 1) for i, v in enumerate(item))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and not -_INT_BOUND <= item < _INT_BOUND:
            problems.append(ErrorDetail(where, f"{bounded_repr(item)} is outside the 64-bit integer range"))
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(ErrorDetail(where, f"{item!r} is not a finite number"))
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(
                    ErrorDetail(where, f"{bounded_repr(item)} is not valid text (lone surrogate)")
                )
    return problems


def guarded_loader(data_arg: int) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Make a public loader refuse hostile input with a `ValidationError` only.

    The argument at position ``data_arg`` is checked first (`input_problems`); any
    builtin error that still escapes the loader becomes a `ValidationError` naming it.
    """

    def wrap(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def load(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            path = kwargs.get("path", "")
            where = path if isinstance(path, str) else ""
            if len(args) > data_arg:
                problems = input_problems(args[data_arg], where)
                if problems:
                    raise ValidationError(problems)
            try:
                return func(*args, **kwargs)
            except TicketkitError:
                raise
            except _BUILTIN_ERRORS as exc:
                raise ValidationError.one(
                    where, f"cannot be loaded ({type(exc).__name__}: {bounded_repr(str(exc), limit=200)})"
                ) from None

        return load

    return wrap
