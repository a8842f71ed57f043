"""Reading an SLA policy's data form: every field checked, every problem named with its path.

`policy_fields` turns the plain data of [`from_dict`][ticketkit.SLAPolicy.from_dict]
into the keyword arguments of ``SLAPolicy``; it raises one
[`ValidationError`][ticketkit.ValidationError] listing everything wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._models import Priority
from ticketkit.sla._config import Escalation, SLAClock, SLATarget, check_keys, load_condition
from ticketkit.sla._policy_fields import PRIORITY_KEYS, calendar_problem, fraction_problem, priority_key

__all__: list[str] = []

FIELDS = (
    "name",
    "calendar",
    "when",
    "targets",
    "pause_in",
    "warn_at",
    "escalations",
    "clocks",
    "calendar_from",
    "calendars",
    "team_calendars",
)


def policy_fields(data: Any, calendars: Mapping[str, Any] | None, path: str) -> dict[str, Any]:
    """The ``SLAPolicy`` keyword arguments that ``data`` describes.

    Raises:
        ValidationError: listing every problem, each with its path under ``path``.
    """
    if not isinstance(data, Mapping):
        raise ValidationError.one(path, f"expected an object for an SLA policy, got {data!r}")
    out: list[ErrorDetail] = []
    check_keys(data, FIELDS, path, out)
    out.extend(
        ErrorDetail(join_path(path, key), "required field is missing")
        for key in ("name", "calendar", "targets")
        if key not in data
    )
    fields = {
        "name": data.get("name"),
        "calendar": _calendar(data.get("calendar"), calendars, join_path(path, "calendar"), out),
        "when": load_condition(data.get("when"), join_path(path, "when"), calendars, out),
        "targets": _targets(data.get("targets", {}), join_path(path, "targets"), out),
        "pause_in": _pause_in(data.get("pause_in"), join_path(path, "pause_in"), out),
        "warn_at": _warn_at(data.get("warn_at"), join_path(path, "warn_at"), out),
        "escalations": tuple(
            _each(data, "escalations", path, out, lambda item, p: Escalation.from_dict(item, path=p))
        ),
        "clocks": tuple(
            _each(
                data,
                "clocks",
                path,
                out,
                lambda item, p: SLAClock.from_dict(item, path=p, calendars=calendars),
            )
        ),
    }
    _calendar_choice(data, calendars, path, fields, out)
    if out:
        raise ValidationError(out)
    return fields


def _calendar_choice(
    data: Mapping[str, Any],
    calendars: Mapping[str, Any] | None,
    path: str,
    fields: dict[str, Any],
    out: list[ErrorDetail],
) -> None:
    """``calendar_from``, ``calendars`` and ``team_calendars`` into ``fields`` (checked by the policy)."""
    if "calendar_from" in data:
        fields["calendar_from"] = data["calendar_from"]
    if "team_calendars" in data:
        fields["team_calendars"] = data["team_calendars"]
    named = data.get("calendars")
    if named is None:
        return
    if not isinstance(named, Mapping):
        out.append(
            ErrorDetail(join_path(path, "calendars"), f"expected an object of named calendars, got {named!r}")
        )
        return
    fields["calendars"] = {
        k: _calendar(v, calendars, join_path(path, f"calendars.{k}"), out) for k, v in named.items()
    }


def _targets(raw: Any, path: str, out: list[ErrorDetail]) -> dict[Priority | str, SLATarget]:
    targets: dict[Priority | str, SLATarget] = {}
    if not isinstance(raw, Mapping):
        out.append(ErrorDetail(path, f"expected an object, got {raw!r}"))
        return targets
    for key, value in raw.items():
        p = join_path(path, str(key))
        k = priority_key(key)
        if not isinstance(k, Priority) and k != "default":
            out.append(ErrorDetail(p, f"unknown priority {key!r} (expected one of: {PRIORITY_KEYS})"))
            continue
        try:
            targets[k] = SLATarget.from_dict(value, path=p)
        except ValidationError as err:
            out.extend(err.errors)
    return targets


def _pause_in(raw: Any, path: str, out: list[ErrorDetail]) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if isinstance(raw, str) or not isinstance(raw, list | tuple | set | frozenset):
        out.append(ErrorDetail(path, f"expected a list of statuses, got {raw!r}"))
        return frozenset()
    out.extend(
        ErrorDetail(join_path(path, i), f"expected a string, got {v!r}")
        for i, v in enumerate(raw)
        if not isinstance(v, str)
    )
    return frozenset(v for v in raw if isinstance(v, str))


def _warn_at(raw: Any, path: str, out: list[ErrorDetail]) -> tuple[Any, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        out.append(ErrorDetail(path, f"expected a list of fractions, got {raw!r}"))
        return ()
    out.extend(
        ErrorDetail(join_path(path, i), f"expected a fraction between 0 and 1, got {f!r}")
        for i, f in enumerate(raw)
        if fraction_problem(f)
    )
    return tuple(raw)


def _each(
    data: Mapping[str, Any], key: str, path: str, out: list[ErrorDetail], load: Callable[[Any, str], Any]
) -> list[Any]:
    """``load(item, path)`` of each item of the list ``data[key]``; problems go to ``out``."""
    raw = data.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        out.append(ErrorDetail(join_path(path, key), f"expected a list, got {raw!r}"))
        return []
    loaded: list[Any] = []
    for i, item in enumerate(raw):
        try:
            loaded.append(load(item, join_path(join_path(path, key), i)))
        except ValidationError as err:
            out.extend(err.errors)
    return loaded


def _calendar(value: Any, calendars: Mapping[str, Any] | None, path: str, out: list[ErrorDetail]) -> Any:
    """The calendar ``value`` names or describes; problems go to ``out``."""
    if value is None:
        return None
    if isinstance(value, str):
        if calendars is not None and value in calendars:
            return calendars[value]
        known = ", ".join(sorted(calendars)) if calendars else "none"
        out.append(ErrorDetail(path, f"unknown calendar {value!r} (known: {known})"))
        return None
    if isinstance(value, Mapping):
        from ticketkit.calendar._calendar import BusinessCalendar  # noqa: PLC0415 - keep import light

        try:
            return BusinessCalendar.from_dict(value)
        except ValidationError as err:
            out.extend(err.prefixed(path).errors)
            return None
    if calendar_problem(value) is None:
        return value
    out.append(ErrorDetail(path, f"expected a calendar's data or the name of one, got {value!r}"))
    return None
