"""JSON-safe values: checking them, and freezing them so tickets stay immutable."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn, TypeAlias

from ticketkit.errors import ErrorDetail, join_path
from ticketkit.model._limits import Limits, depth_of

JSONValue: TypeAlias = "bool | int | float | str | list[Any] | tuple[Any, ...] | Mapping[str, Any] | None"


def json_problems(value: object, path: str) -> list[ErrorDetail]:
    """Every place in ``value`` that JSON cannot hold, with its path."""
    limit = Limits.current().depth
    if depth_of(value, limit) > limit:
        return [ErrorDetail(path, f"nested deeper than {limit} levels (Limits.depth)")]
    problems: list[ErrorDetail] = []
    _walk(value, path, problems)
    return problems


def _walk(value: object, path: str, out: list[ErrorDetail]) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            out.append(ErrorDetail(path, f"{value!r} is not a finite number; JSON cannot hold it"))
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                out.append(ErrorDetail(path, f"key {k!r} is not a string; JSON object keys are strings"))
                continue
            _walk(v, join_path(path, k), out)
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _walk(v, join_path(path, i), out)
        return
    out.append(
        ErrorDetail(
            path,
            f"{type(value).__name__} value {value!r} is not JSON-safe "
            "(use None, bool, int, float, str, lists and dicts with string keys)",
        )
    )


class FrozenDict(dict[str, Any]):
    """A read-only dict for the JSON-safe data on frozen models (custom fields, event data).

    It is a real ``dict`` underneath, so ``json.dumps`` and fast type checks work, it
    pickles and copies, and every method that would change it raises ``TypeError``.

    Examples:
        >>> d = FrozenDict({"order": "A-1009"})
        >>> d["order"], isinstance(d, dict)
        ('A-1009', True)
        >>> d["order"] = "B"
        Traceback (most recent call last):
        TypeError: this mapping is read-only; make a new value (attrs.evolve) instead
    """

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("this mapping is read-only; make a new value (attrs.evolve) instead")

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


def freeze(value: Any) -> Any:
    """A deep read-only copy: dicts become ``FrozenDict``, lists tuples."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The plain JSON form of a frozen value: dicts and lists again."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


EMPTY: Mapping[str, Any] = FrozenDict()
