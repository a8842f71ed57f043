"""The rule index: rules bucketed by the values of the fields they pin, so a ticket is tested
only against the rules that can match it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from ticketkit.conditions._conditions import Condition, Predicate, _ticket_getter
from ticketkit.model._models import Ticket

_IndexLeaf = tuple[tuple[int, Predicate], ...]


class _IndexNode:
    """Rules bucketed by the value of one pinned field; buckets may be indexed further."""

    __slots__ = ("children", "default", "field", "getter")

    def __init__(
        self,
        field: str,
        getter: Callable[[Ticket], Any],
        children: dict[Any, _IndexNode | _IndexLeaf],
        default: _IndexNode | _IndexLeaf,
    ) -> None:
        self.field = field
        self.getter = getter
        self.children = children
        self.default = default


_MIN_BUCKET: Final = 6
_MAX_DEPTH: Final = 3


def _specialize(cond: Condition, field: str, value: Any) -> Condition:
    """``cond`` for tickets whose ``field`` is known to be ``value``: the tests that must hold are dropped."""
    if cond.kind == "test":
        if cond.field == field and cond.ref is None and cond.op in ("eq", "in"):
            values = cond.value if cond.op == "in" else (cond.value,)
            if value in values:
                return Condition.always()
        return cond
    if cond.kind == "all":
        kids = [_specialize(k, field, value) for k in cond.children]
        kept = [k for k in kids if not (k.kind == "all" and not k.children)]
        if len(kept) == 1:
            return kept[0]
        if len(kept) == len(cond.children) and all(a is b for a, b in zip(kept, cond.children, strict=True)):
            return cond
        return Condition(kind="all", children=kept)
    return cond


_Item = tuple[int, Condition, Mapping[str, frozenset[Any]]]


def _leaf(items: list[_Item]) -> _IndexLeaf:
    return tuple((i, c.predicate) for i, c, _ in items)


def _build_index(items: list[_Item], depth: int) -> _IndexNode | _IndexLeaf:
    """Bucket rules by the field most of them pin; within a bucket the pinning tests are dropped."""
    if len(items) < _MIN_BUCKET or depth >= _MAX_DEPTH:
        return _leaf(items)
    counts: dict[str, int] = {}
    for _, _, pins in items:
        for f in pins:
            counts[f] = counts.get(f, 0) + 1
    if not counts:
        return _leaf(items)
    field = max(sorted(counts), key=lambda f: counts[f])
    getter = _ticket_getter(field)
    if counts[field] < 2 or getter is None:
        return _leaf(items)
    values: set[Any] = set()
    for _, _, pins in items:
        if field in pins:
            values |= pins[field]
    unpinned = [it for it in items if field not in it[2]]
    children: dict[Any, _IndexNode | _IndexLeaf] = {}
    for v in values:
        bucket: list[_Item] = []
        for i, cond, pins in items:
            if field not in pins:
                bucket.append((i, cond, pins))
            elif v in pins[field]:
                rest = {f: vals for f, vals in pins.items() if f != field}
                bucket.append((i, _specialize(cond, field, v), rest))
        children[v] = _build_index(bucket, depth + 1)
    default = _build_index(unpinned, depth + 1)
    return _IndexNode(field, getter, children, default)


def _lookup(node: _IndexNode | _IndexLeaf, ticket: Ticket) -> _IndexLeaf:
    while isinstance(node, _IndexNode):
        n = node
        try:
            node = n.children.get(n.getter(ticket), n.default)
        except TypeError:  # an unhashable custom value: only unpinned rules can match
            node = n.default
    return node
