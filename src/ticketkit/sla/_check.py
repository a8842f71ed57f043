"""Static checks of an ordered list of SLA policies: never-matching and shadowed ones.

Conditions are read in their data form and brought to a disjunction of
conjunctions of tests. Tests that pin a field to constants (``eq``, ``in``,
``ne``, ``not_in``, and order tests on ``priority``) are understood: two of
them on one field may contradict each other, and one may imply another. Any other test (``gt``, ``contains``,
``matches``, a ``ref`` to another field, time tests) is opaque: it implies only
an identical test, and never contradicts anything. So every problem reported is
real, but some are missed (see the docs: "Limits of the static check").
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from ticketkit.sla._policy import SLAPolicy

__all__ = ["PolicyIssue", "check_policies"]

_MAX_TERMS: Final = 256
_NEGATE: Final = {"eq": "ne", "ne": "eq", "in": "not_in", "not_in": "in"}


@attrs.frozen(kw_only=True)
class PolicyIssue:
    """One problem [`check_policies`][ticketkit.check_policies] found in a list of SLA policies.

    ``kind`` is ``duplicate_name``, ``never_matches``, ``shadowed`` or
    ``no_fallback``; ``index`` and ``policy`` name the policy; ``by`` the earlier
    policies that hide it (for ``shadowed``).

    Examples:
        >>> print(
        ...     PolicyIssue(
        ...         kind="shadowed",
        ...         index=2,
        ...         policy="vip-urgent",
        ...         by=("vip",),
        ...         message="every ticket it matches is taken by 'vip' first",
        ...     )
        ... )
        policies[2] 'vip-urgent': shadowed: every ticket it matches is taken by 'vip' first
    """

    kind: str
    index: int
    policy: str
    message: str
    by: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"policies[{self.index}] {self.policy!r}" if self.index >= 0 else "policies"
        return f"{where}: {self.kind}: {self.message}"


class _UnknownError(Exception):
    """The condition is too large or strange to reason about; skip it."""


# A term is a conjunction: field -> (allowed values or None for any, forbidden values),
# plus the opaque tests it holds (as canonical JSON).
_Term = tuple[dict[str, tuple[frozenset[Any] | None, frozenset[Any]]], frozenset[str]]

_TRUE_TERM: Final[_Term] = ({}, frozenset())


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return ("bool", value)
    return value


_PRIORITIES: Final = ("low", "normal", "high", "urgent")
_ORDER_OPS: Final[dict[str, Callable[[int, int], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _priority_leaf(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``priority >= "high"`` as ``priority in [high, urgent]`` (priorities are a small ordered set)."""
    value = data.get("value")
    if data.get("field") != "priority" or "ref" in data:
        return data
    if data.get("op") in _ORDER_OPS and isinstance(value, str) and value.lower() in _PRIORITIES:
        rank = _PRIORITIES.index(value.lower())
        test = _ORDER_OPS[data["op"]]
        return {
            "field": "priority",
            "op": "in",
            "value": [p for i, p in enumerate(_PRIORITIES) if test(i, rank)],
        }
    if data.get("op") in _NEGATE:
        if isinstance(value, str):
            return {**data, "value": value.lower()}
        if isinstance(value, list | tuple):
            return {**data, "value": [v.lower() if isinstance(v, str) else v for v in value]}
    return data


def _leaf_term(data: Mapping[str, Any], negate: bool) -> _Term:
    data = _priority_leaf(data)
    field = data.get("field")
    op = data.get("op")
    if negate and op in _NEGATE:
        op = _NEGATE[op]
        negate = False
    if not negate and "ref" not in data and isinstance(field, str) and op in _NEGATE:
        value = data.get("value")
        if op in ("eq", "ne"):
            values = frozenset({_hashable(value)})
        elif isinstance(value, list | tuple):
            values = frozenset(_hashable(v) for v in value)
        else:
            return ({}, frozenset({json.dumps(data, sort_keys=True, default=str)}))
        if op in ("eq", "in"):
            return ({field: (values, frozenset())}, frozenset())
        return ({field: (None, values)}, frozenset())
    text = json.dumps({"not": dict(data)} if negate else dict(data), sort_keys=True, default=str)
    return ({}, frozenset({text}))


def _and(a: _Term, b: _Term) -> _Term:
    fields = dict(a[0])
    for f, (allowed, forbidden) in b[0].items():
        if f in fields:
            a_allowed, a_forbidden = fields[f]
            if a_allowed is None:
                merged = allowed
            elif allowed is None:
                merged = a_allowed
            else:
                merged = a_allowed & allowed
            fields[f] = (merged, a_forbidden | forbidden)
        else:
            fields[f] = (allowed, forbidden)
    return (fields, a[1] | b[1])


def _dnf(data: Any, negate: bool = False) -> list[_Term]:
    """The condition as a list of terms (any of them holding makes it hold)."""
    if not isinstance(data, Mapping):
        raise _UnknownError
    if "not" in data and len(data) == 1:
        return _dnf(data["not"], not negate)
    for key in ("all", "any"):
        if key in data and len(data) == 1:
            children = data[key]
            if not isinstance(children, list | tuple):
                raise _UnknownError
            conj = (key == "all") != negate
            if conj:
                terms: list[_Term] = [_TRUE_TERM]
                for child in children:
                    sub = _dnf(child, negate)
                    terms = [_and(t, s) for t in terms for s in sub]
                    if len(terms) > _MAX_TERMS:
                        raise _UnknownError
                return terms
            out: list[_Term] = []
            for child in children:
                out.extend(_dnf(child, negate))
                if len(out) > _MAX_TERMS:
                    raise _UnknownError
            return out
    if "field" in data:
        return [_leaf_term(data, negate)]
    raise _UnknownError


def _empty(term: _Term) -> bool:
    """Whether the term can never hold (contradictory tests on one field)."""
    return any(allowed is not None and not (allowed - forbidden) for allowed, forbidden in term[0].values())


def _implies(a: _Term, b: _Term) -> bool:
    """Whether every ticket ``a`` accepts is accepted by ``b`` (sound, not complete)."""
    if _empty(a):
        return True
    if not b[1] <= a[1]:
        return False
    for f, (b_allowed, b_forbidden) in b[0].items():
        if f not in a[0]:
            return False
        a_allowed, a_forbidden = a[0][f]
        if b_allowed is not None and (a_allowed is None or not (a_allowed - a_forbidden) <= b_allowed):
            return False
        if b_forbidden:
            possible = None if a_allowed is None else a_allowed - a_forbidden
            for v in b_forbidden:
                if possible is not None:
                    if v in possible:
                        return False
                elif v not in a_forbidden:
                    return False
    return True


def _terms_of(policy: SLAPolicy) -> list[_Term] | None:
    when = policy.when
    if when is None:
        return [_TRUE_TERM]
    try:
        return _dnf(when.to_dict())
    except _UnknownError:
        return None


def check_policies(policies: Sequence[SLAPolicy]) -> list[PolicyIssue]:
    """Problems in an ordered list of policies: duplicates, never-matching, shadowed, no fallback.

    A policy is ``shadowed`` when every ticket it matches is matched by earlier
    ones (first match wins, so it never applies): a catch-all earlier in the
    list, or an earlier condition implied by its own (``category == "complaint"``
    before ``category == "complaint" and tier == "vip"``). A policy
    ``never_matches`` when its condition contradicts itself (``tier == "vip"``
    and ``tier == "svip"``; ``in []``). ``no_fallback`` says the last policy has
    a condition, so some tickets may get no SLA. Tests other than
    eq / in / ne / not_in are only compared for identity, so some shadowing goes
    unreported; whatever is reported is certain.

    Examples:
        >>> from datetime import timedelta
        >>> import ticketkit as tk
        >>> cal = tk.BusinessCalendar.always_open()
        >>> t = {"default": tk.SLATarget(first_response=timedelta(hours=2))}
        >>> ps = [
        ...     tk.SLAPolicy(name="complaints", calendar=cal, when=tk.F.category == "complaint", targets=t),
        ...     tk.SLAPolicy(
        ...         name="vip complaints",
        ...         calendar=cal,
        ...         when=(tk.F.category == "complaint") & (tk.F.customer.tier == "vip"),
        ...         targets=t,
        ...     ),
        ...     tk.SLAPolicy(name="standard", calendar=cal, targets=t),
        ... ]
        >>> for issue in check_policies(ps):
        ...     print(issue)
        policies[1] 'vip complaints': shadowed: every ticket it matches is taken first by 'complaints'
    """
    issues: list[PolicyIssue] = []
    seen: dict[str, int] = {}
    earlier: list[tuple[str, list[_Term]]] = []
    for i, policy in enumerate(policies):
        if policy.name in seen:
            issues.append(
                PolicyIssue(
                    kind="duplicate_name",
                    index=i,
                    policy=policy.name,
                    message=f"the name is already used by policies[{seen[policy.name]}]",
                )
            )
        else:
            seen[policy.name] = i
        terms = _terms_of(policy)
        if terms is None:
            continue
        live = [t for t in terms if not _empty(t)]
        issue = _match_issue(i, policy.name, live, earlier)
        if issue is not None:
            issues.append(issue)
        if live:
            earlier.append((policy.name, live))
    if policies and policies[-1].when is not None:
        last_terms = _terms_of(policies[-1])
        if last_terms is None or last_terms != [_TRUE_TERM]:
            issues.append(
                PolicyIssue(
                    kind="no_fallback",
                    index=len(policies) - 1,
                    policy=policies[-1].name,
                    message="the last policy has a condition, so tickets matching none get no SLA; "
                    "end with a policy without 'when'",
                )
            )
    return issues


def _match_issue(
    index: int, name: str, live: list[_Term], earlier: list[tuple[str, list[_Term]]]
) -> PolicyIssue | None:
    """``never_matches`` when no term of the policy can hold, ``shadowed`` when earlier ones take them all."""
    if not live:
        return PolicyIssue(
            kind="never_matches",
            index=index,
            policy=name,
            message="its condition contradicts itself, so no ticket can match it",
        )
    if not earlier:
        return None
    covering: list[str] = []
    for term in live:
        hit = next((n for n, ts in earlier if any(_implies(term, e) for e in ts)), None)
        if hit is None:
            return None
        if hit not in covering:
            covering.append(hit)
    names = " and ".join(repr(n) for n in covering)
    return PolicyIssue(
        kind="shadowed",
        index=index,
        policy=name,
        message=f"every ticket it matches is taken first by {names}",
        by=tuple(covering),
    )
