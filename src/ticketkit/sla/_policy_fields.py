"""The fields of an [`SLAPolicy`][ticketkit.SLAPolicy]: converters, checks, and the clocks they define.

``SLAPolicy`` converts what it is given (a single target, a set of statuses, one
fraction) with the converters here, then `policy_clocks` checks every field
at once and returns the policy's clock definitions in order: the presets its
targets need plus its own ``clocks``. Every problem is reported with its path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._models import Priority
from ticketkit.sla._config import METRICS, Escalation, SLAClock, SLATarget

__all__: list[str] = []

PRIORITY_KEYS = "low, normal, high, urgent, default"


# --------------------------------------------------------------------------- converters


def priority_key(key: Any) -> Any:
    """A target key as a [`Priority`][ticketkit.Priority] or ``"default"`` (anything else as given)."""
    if isinstance(key, Priority):
        return key
    if isinstance(key, str):
        if key.strip().lower() == "default":
            return "default"
        try:
            return Priority.parse(key)
        except ValidationError:
            return key
    return key


def to_targets(value: Any) -> Any:
    """``targets=``: one SLATarget is the default; keys become priorities."""
    if isinstance(value, SLATarget):
        return {"default": value}
    if isinstance(value, Mapping):
        return {priority_key(k): v for k, v in value.items()}
    return value


def to_frozenset(value: Any) -> Any:
    """``pause_in=``: one name or any iterable of names, as a frozenset."""
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


def to_floats(value: Any) -> Any:
    """``warn_at=``: one fraction or a list of them, as a tuple."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return tuple(value)
    return value


def to_tuple(value: Any) -> Any:
    """``escalations=`` / ``clocks=``: one item or a list of them, as a tuple."""
    if isinstance(value, Escalation | SLAClock):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return tuple(value)
    return value


def calendar_problem(cal: object) -> str | None:
    """What is wrong with ``cal`` as a policy's calendar (None: nothing)."""
    if not callable(getattr(cal, "add", None)) or not callable(getattr(cal, "between", None)):
        return f"expected a BusinessCalendar (with add and between), got {cal!r}"
    return None


def fraction_problem(f: object) -> bool:
    """Whether ``f`` is not a warning fraction (a number strictly between 0 and 1)."""
    return not isinstance(f, int | float) or isinstance(f, bool) or not 0 < f < 1


# --------------------------------------------------------------------------- checks


def policy_clocks(
    *,
    name: Any,
    calendar: Any,
    when: Any,
    targets: Any,
    pause_in: Any,
    warn_at: Any,
    escalations: Any,
    clocks: Any,
) -> tuple[SLAClock, ...]:
    """The policy's clock definitions in order, after checking every field.

    Raises:
        ValidationError: listing every problem with its path.
    """
    out: list[ErrorDetail] = []
    if not isinstance(name, str) or not name.strip():
        out.append(ErrorDetail("name", f"expected a non-empty name, got {name!r}"))
    problem = calendar_problem(calendar)
    if problem:
        out.append(ErrorDetail("calendar", problem))
    if when is not None and not callable(getattr(when, "evaluate", None)):
        out.append(ErrorDetail("when", f"expected a Condition or None, got {when!r}"))
    metrics = _target_metrics(targets, out)
    if not isinstance(pause_in, frozenset) or not all(isinstance(s, str) for s in pause_in):
        out.append(ErrorDetail("pause_in", f"expected a set of status names or kinds, got {pause_in!r}"))
    _check_warn_at(warn_at, out)
    specs = _clock_specs(metrics, _custom_clocks(clocks, out), out)
    _check_escalations(escalations, {c.metric for c in specs}, out)
    if out:
        raise ValidationError(out)
    return specs


def _target_metrics(targets: Any, out: list[ErrorDetail]) -> list[str]:
    """The metrics the targets measure, in order of appearance; problems go to ``out``."""
    metrics: list[str] = []
    if not isinstance(targets, Mapping):
        out.append(ErrorDetail("targets", f"expected a mapping of priority to SLATarget, got {targets!r}"))
        return metrics
    if not targets:
        out.append(ErrorDetail("targets", "give at least one target (per priority or 'default')"))
    for key, target in targets.items():
        p = join_path("targets", key.value if isinstance(key, Priority) else str(key))
        if not isinstance(key, Priority) and key != "default":
            out.append(ErrorDetail(p, f"unknown priority {key!r} (expected one of: {PRIORITY_KEYS})"))
        if not isinstance(target, SLATarget):
            out.append(ErrorDetail(p, f"expected an SLATarget, got {target!r}"))
            continue
        metrics.extend(m for m in target.metrics() if m not in metrics)
    return metrics


def _check_warn_at(warn_at: Any, out: list[ErrorDetail]) -> None:
    if not isinstance(warn_at, tuple):
        out.append(ErrorDetail("warn_at", f"expected a list of fractions, got {warn_at!r}"))
        return
    out.extend(
        ErrorDetail(f"warn_at[{i}]", f"expected a fraction between 0 and 1, got {f!r}")
        for i, f in enumerate(warn_at)
        if fraction_problem(f)
    )


def _custom_clocks(clocks: Any, out: list[ErrorDetail]) -> dict[str, SLAClock]:
    """The policy's own clock definitions by metric; problems go to ``out``."""
    custom: dict[str, SLAClock] = {}
    if not isinstance(clocks, tuple):
        out.append(ErrorDetail("clocks", f"expected a list of SLAClock, got {clocks!r}"))
        return custom
    for i, c in enumerate(clocks):
        if not isinstance(c, SLAClock):
            out.append(ErrorDetail(f"clocks[{i}]", f"expected an SLAClock, got {c!r}"))
        elif c.metric in custom:
            out.append(ErrorDetail(f"clocks[{i}].metric", f"clock {c.metric!r} is defined twice"))
        else:
            custom[c.metric] = c
    return custom


def _clock_specs(
    metrics: list[str], custom: dict[str, SLAClock], out: list[ErrorDetail]
) -> tuple[SLAClock, ...]:
    """The clocks in order: the named metrics first (preset order), then the others as given."""
    specs: list[SLAClock] = []
    order: list[str] = [m for m in METRICS if m in metrics or m in custom]
    order += [m for m in metrics if m not in METRICS]
    order += [m for m in custom if m not in order]
    for m in order:
        if m in custom:
            specs.append(custom[m])
        elif m in METRICS:
            specs.append(SLAClock.preset(m))
        else:
            out.append(
                ErrorDetail(
                    "targets",
                    f"no clock for metric {m!r}: define it in clocks= "
                    f"(or use a preset: {', '.join(METRICS)})",
                )
            )
    return tuple(specs)


def _check_escalations(escalations: Any, known: set[str], out: list[ErrorDetail]) -> None:
    if not isinstance(escalations, tuple):
        out.append(ErrorDetail("escalations", f"expected a list of Escalation, got {escalations!r}"))
        return
    for i, e in enumerate(escalations):
        if not isinstance(e, Escalation):
            out.append(ErrorDetail(f"escalations[{i}]", f"expected an Escalation, got {e!r}"))
        elif e.metric not in known:
            out.append(
                ErrorDetail(
                    f"escalations[{i}].metric",
                    f"no clock {e.metric!r} in this policy "
                    f"(its clocks: {', '.join(sorted(known)) or 'none'})",
                )
            )


def to_mapping(value: Any) -> Any:
    """A mapping as a plain dict (anything else is left for the checks to report)."""
    return dict(value) if isinstance(value, Mapping) else value
