"""JSON-safe values: checking them, and freezing them so tickets stay immutable."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

from ticketkit.errors import ErrorDetail, join_path

JSONValue: TypeAlias = "bool | int | float | str | list[Any] | tuple[Any, ...] | Mapping[str, Any] | None"


def json_problems(value: object, path: str) -> list[ErrorDetail]:
    """Every place in ``value`` that JSON cannot hold, with its path."""
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


def freeze(value: Any) -> Any:
    """A deep read-only copy: dicts become mappingproxies, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
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


EMPTY: Mapping[str, Any] = MappingProxyType({})
