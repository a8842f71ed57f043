"""Size limits on what the library accepts: text lengths, tag counts, nesting depth.

Input from the public internet and configuration from admins can be of any size; the
limits turn a hostile size into a clear `ValidationError` instead of a slow store, a
huge index or a `RecursionError`. They are process-wide and changed with `Limits.set`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs

from ticketkit.errors import ValidationError

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
