"""Retention: how long tickets keep their personal data, as configuration, and pure functions
that say which tickets are due and when.

A `RetentionPolicy` says: tickets matching ``when``, once ``after`` has passed since
``since`` (their closing, by default), are anonymised (`anonymize_ticket`) or purged (deleted
with their events). `retention_due` picks, for one ticket, the applicable policy that
falls due first; `retention_report` is the dry run over a list of tickets. The sweep
(``Helpdesk.tick``) applies them in a later round.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from ticketkit.conditions._conditions import Condition
from ticketkit.errors import ErrorDetail, ValidationError, join_path
from ticketkit.model._limits import guarded_loader
from ticketkit.model._models import Ticket
from ticketkit.model._serialization import parse_duration
from ticketkit.model._time import aware_problem
from ticketkit.privacy._redact import ANONYMIZED_TAG

__all__ = [
    "RETENTION_ACTIONS",
    "RETENTION_ANCHORS",
    "RetentionDue",
    "RetentionPolicy",
    "RetentionReport",
    "parse_period",
    "retention_due",
    "retention_report",
]

RETENTION_ACTIONS: Final = ("anonymize", "purge")
"""What a retention policy does to a ticket that is due."""

RETENTION_ANCHORS: Final = ("closed_at", "resolved_at", "updated_at", "created_at")
"""The ticket timestamps a retention period can count from."""

_ISO_PERIOD: Final = re.compile(
    r"P(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,5})M)?(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,7})D)?"
    r"(?:T(?:(?P<hours>\d{1,8})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,10})S)?)?",
    re.IGNORECASE,
)
_HUMAN_PART: Final = re.compile(
    r"\s*(?P<n>\d{1,7})\s*(?P<unit>years?|y|months?|mo|weeks?|w|days?|d|hours?|h|minutes?|min|m|seconds?|s)\b",
    re.IGNORECASE,
)
_UNITS: Final = {
    "y": "years", "year": "years", "years": "years",
    "mo": "months", "month": "months", "months": "months",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "d": "days", "day": "days", "days": "days",
    "h": "hours", "hour": "hours", "hours": "hours",
    "m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes",
    "s": "seconds", "second": "seconds", "seconds": "seconds",
}  # fmt: skip


def _normal(period: relativedelta) -> relativedelta:
    return relativedelta(
        years=period.years,
        months=period.months,
        days=period.days,
        hours=period.hours,
        minutes=period.minutes,
        seconds=period.seconds,
    )


def parse_period(value: object, path: str = "") -> relativedelta:
    """A calendar period from ISO 8601 (``P1Y6M``, ``P90D``), words (``"6 months"``,
    ``"2y 3mo"``), a ``relativedelta``, or anything `parse_duration` takes.

    Months and years are calendar months and years (``P1M`` from 31 January is the end
    of February); days are calendar days, not business time.

    Raises:
        ValidationError: naming ``path`` for anything else, or a negative or zero period.

    Examples:
        >>> parse_period("P1Y6M")
        relativedelta(years=+1, months=+6)
        >>> parse_period("18 months"), parse_period("90d")
        (relativedelta(years=+1, months=+6), relativedelta(days=+90))
    """
    result: relativedelta | None = None
    if isinstance(value, relativedelta):
        if value.weekday is not None or any(
            getattr(value, a) is not None for a in ("year", "month", "day", "hour", "minute", "second")
        ):
            raise ValidationError.one(
                path, f"expected a relative period (years=, months=, ...), got {value!r}"
            )
        result = _normal(value)
    elif isinstance(value, str):
        text = value.strip()
        iso = _ISO_PERIOD.fullmatch(text)
        if iso is not None and any(iso.groupdict().values()):
            parts = {k: int(v) for k, v in iso.groupdict().items() if v}
            weeks = parts.pop("weeks", 0)
            parts["days"] = parts.get("days", 0) + 7 * weeks
            result = _normal(relativedelta(**parts))  # type: ignore[arg-type]
        else:
            result = _human(text)
    if result is None and not isinstance(value, bool) and isinstance(value, timedelta | int | float | str):
        try:
            delta = parse_duration(value, path)
        except ValidationError:
            delta = None
        if delta is not None:
            result = _normal(relativedelta(seconds=int(delta.total_seconds())))
    if result is None:
        raise ValidationError.one(
            path, f"expected a period such as 'P1Y', 'P6M', '90 days' or '2 years', got {value!r}"
        )
    now = datetime(2000, 1, 1)
    if now + result <= now:
        raise ValidationError.one(path, f"a retention period must be positive, got {value!r}")
    return result


def _human(text: str) -> relativedelta | None:
    parts: dict[str, int] = {}
    pos = 0
    while pos < len(text):
        m = _HUMAN_PART.match(text, pos)
        if m is None:
            return None
        unit = _UNITS[m["unit"].lower()]
        parts[unit] = parts.get(unit, 0) + int(m["n"])
        pos = m.end()
        while pos < len(text) and text[pos] in " ,":
            pos += 1
    if not parts:
        return None
    weeks = parts.pop("weeks", 0)
    parts["days"] = parts.get("days", 0) + 7 * weeks
    return _normal(relativedelta(**parts))  # type: ignore[arg-type]


def format_period(period: relativedelta) -> str:
    """The ISO 8601 form of a period (``P1Y6M``, ``P90D``, ``PT12H``).

    Examples:
        >>> format_period(relativedelta(years=1, months=6)), format_period(relativedelta(hours=12))
        ('P1Y6M', 'PT12H')
    """
    p = _normal(period)
    date = "".join(f"{n}{u}" for n, u in ((p.years, "Y"), (p.months, "M"), (p.days, "D")) if n)
    time = "".join(f"{n}{u}" for n, u in ((p.hours, "H"), (p.minutes, "M"), (p.seconds, "S")) if n)
    return "P" + date + (f"T{time}" if time else "") if date or time else "PT0S"


def _to_period(value: Any) -> Any:
    try:
        return parse_period(value, "after")
    except ValidationError:
        return value  # reported by validation, with the other problems


def _to_condition(value: Any) -> Any:
    if value is None:
        return Condition()
    return value


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """How long matching tickets keep their personal data, and what happens then.

    Tickets for which ``when`` holds are due once ``after`` (a calendar period: ``P1Y``,
    ``"6 months"``, a ``timedelta`` or ``relativedelta``) has passed since their
    ``since`` timestamp (``closed_at`` by default; a ticket without it is never due).
    ``action`` is ``anonymize`` (keep the ticket for reports, without the customer) or
    ``purge`` (delete it and its events). An anonymised ticket is not anonymised again.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import F, Ticket
        >>> p = RetentionPolicy(name="complaints", when=F.category == "complaint", after="P2Y")
        >>> RetentionPolicy.from_dict(p.to_dict()) == p
        True
        >>> closed = datetime(2024, 2, 29, tzinfo=timezone.utc)
        >>> t = Ticket(subject="s", category="complaint", created_at=closed, closed_at=closed)
        >>> p.due_at(t)
        datetime.datetime(2026, 2, 28, 0, 0, tzinfo=datetime.timezone.utc)
    """

    name: str = "retention"
    when: Condition = attrs.field(factory=Condition, converter=_to_condition)
    after: relativedelta = attrs.field(converter=_to_period)
    action: str = "anonymize"
    since: str = "closed_at"

    def __attrs_post_init__(self) -> None:
        problems = _policy_problems(self.name, self.when, self.after, self.action, self.since)
        if problems:
            raise ValidationError(problems)

    @classmethod
    @guarded_loader(1)
    def from_dict(
        cls, data: Any, *, calendars: Mapping[str, Any] | None = None, path: str = ""
    ) -> RetentionPolicy:
        """Build from ``{"name", "when", "after", "action", "since"}``, listing every problem.

        Examples:
            >>> try:
            ...     RetentionPolicy.from_dict({"after": "soon", "action": "delete"})
            ... except ValidationError as err:
            ...     print(err)  # doctest: +ELLIPSIS
            invalid input (2 problems):
              action: unknown action 'delete' (expected one of: anonymize, purge)
              after: expected a period such as 'P1Y', ...
        """
        if not isinstance(data, Mapping):
            raise ValidationError.one(path, f"expected an object for a retention policy, got {data!r}")
        problems: list[ErrorDetail] = []
        known = ("name", "when", "after", "action", "since")
        problems.extend(
            ErrorDetail(join_path(path, str(k)), f"unknown key {k!r}; check its spelling")
            for k in sorted(set(data) - set(known), key=str)
        )
        if "after" not in data:
            problems.append(ErrorDetail(join_path(path, "after"), "required field is missing"))
        kwargs: dict[str, Any] = {k: data[k] for k in ("name", "action", "since", "after") if k in data}
        if "when" in data and data["when"] is not None:
            try:
                kwargs["when"] = Condition.from_dict(data["when"], calendars=calendars)
            except ValidationError as err:
                problems.extend(err.prefixed(join_path(path, "when")).errors)
        defaults = {"name": "retention", "action": "anonymize", "since": "closed_at", "after": "P1D"}
        values = {k: kwargs.get(k, v) for k, v in defaults.items()}
        checks = _policy_problems(
            values["name"], Condition(), values["after"], values["action"], values["since"]
        )
        problems.extend(ValidationError(checks).prefixed(path).errors if checks else ())
        if not problems:
            return cls(**kwargs)
        problems.sort(key=lambda e: e.path)
        raise ValidationError(problems)

    def to_dict(self) -> dict[str, Any]:
        """The data form (``after`` as ISO 8601, ``when`` in the condition language)."""
        return {
            "name": self.name,
            "when": self.when.to_dict(),
            "after": format_period(self.after),
            "action": self.action,
            "since": self.since,
        }

    def due_at(self, ticket: Ticket, *, at: datetime | None = None) -> datetime | None:
        """When ``ticket`` falls due under this policy; None when it never does.

        ``at`` is needed only by conditions that compare with the current time.
        """
        if self.action == "anonymize" and ANONYMIZED_TAG in ticket.tags:
            return None
        anchor: datetime | None = getattr(ticket, self.since)
        if anchor is None or not self.when.evaluate(ticket, at=at):
            return None
        due: datetime = anchor + self.after
        return due

    def is_due(self, ticket: Ticket, *, at: datetime) -> bool:
        """True when ``ticket`` is due under this policy at ``at``."""
        _require_aware(at)
        due = self.due_at(ticket, at=at)
        return due is not None and due <= at


def _policy_problems(
    name: object, when: object, after: object, action: object, since: object
) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []
    if not isinstance(name, str) or not name.strip():
        problems.append(ErrorDetail("name", f"expected a non-empty string, got {name!r}"))
    if not isinstance(when, Condition):
        problems.append(ErrorDetail("when", f"expected a Condition, got {when!r}"))
    if not isinstance(after, relativedelta):
        try:
            parse_period(after, "after")
        except ValidationError as err:
            problems.extend(err.errors)
    if action not in RETENTION_ACTIONS:
        problems.append(
            ErrorDetail("action", f"unknown action {action!r} (expected one of: anonymize, purge)")
        )
    if since not in RETENTION_ANCHORS:
        problems.append(
            ErrorDetail(
                "since", f"unknown timestamp {since!r} (expected one of: {', '.join(RETENTION_ANCHORS)})"
            )
        )
    return problems


def _require_aware(at: object) -> None:
    problem = aware_problem(at)
    if problem:
        raise ValidationError.one("at", problem)


@attrs.frozen(kw_only=True)
class RetentionDue:
    """Which policy applies to a ticket, what it does, and from when.

    Examples:
        >>> RetentionDue.__name__
        'RetentionDue'
    """

    ticket_id: str
    policy: str
    action: str
    due_at: datetime

    def is_due(self, at: datetime) -> bool:
        """True when the action should run at ``at``."""
        return self.due_at <= at


def retention_due(
    ticket: Ticket, policies: Sequence[RetentionPolicy], *, at: datetime | None = None
) -> RetentionDue | None:
    """The applicable policy that falls due first for ``ticket`` (earlier in the list on a tie).

    None when no policy ever applies. The sweep runs the action once ``due_at`` has
    passed; ``due_at`` is also the ticket's next retention checkpoint.

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> closed = datetime(2025, 1, 31, tzinfo=timezone.utc)
        >>> t = Ticket(subject="s", created_at=closed, closed_at=closed)
        >>> policies = [
        ...     RetentionPolicy(name="purge", after="P3Y", action="purge"),
        ...     RetentionPolicy(name="anon", after="P1M"),
        ... ]
        >>> d = retention_due(t, policies)
        >>> d.policy, d.action, d.due_at.date()
        ('anon', 'anonymize', datetime.date(2025, 2, 28))
    """
    if at is not None:
        _require_aware(at)
    best: RetentionDue | None = None
    for policy in policies:
        due = policy.due_at(ticket, at=at)
        if due is not None and (best is None or due < best.due_at):
            best = RetentionDue(ticket_id=ticket.id, policy=policy.name, action=policy.action, due_at=due)
    return best


@attrs.frozen(kw_only=True)
class RetentionReport:
    """The dry run of retention at one instant: what would happen to each ticket.

    ``due`` lists the tickets whose action would run now; ``later`` those that fall due
    later; ``never`` counts tickets no policy applies to.

    Examples:
        >>> RetentionReport.__name__
        'RetentionReport'
    """

    at: datetime
    due: tuple[RetentionDue, ...]
    later: tuple[RetentionDue, ...]
    never: int

    @property
    def counts(self) -> dict[str, int]:
        """How many tickets each action would touch now, by action."""
        counts = Counter(d.action for d in self.due)
        return {a: counts.get(a, 0) for a in RETENTION_ACTIONS}

    def to_dict(self) -> dict[str, Any]:
        """The plain form: counts and the due tickets (ids, policies, actions, instants)."""
        return {
            "at": self.at.isoformat(),
            "counts": self.counts,
            "due": [
                {
                    "ticket_id": d.ticket_id,
                    "policy": d.policy,
                    "action": d.action,
                    "due_at": d.due_at.isoformat(),
                }
                for d in self.due
            ],
            "later": len(self.later),
            "never": self.never,
        }


def retention_report(
    tickets: Iterable[Ticket], policies: Sequence[RetentionPolicy], *, at: datetime
) -> RetentionReport:
    """What retention would do at ``at`` to ``tickets``, without doing it (a dry run).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
        >>> old = Ticket(subject="old", created_at=t0, closed_at=t0)
        >>> fresh = Ticket(subject="new", created_at=t0)
        >>> r = retention_report(
        ...     [old, fresh], [RetentionPolicy(after="P1Y")], at=datetime(2025, 6, 1, tzinfo=timezone.utc)
        ... )
        >>> r.counts, r.never
        ({'anonymize': 1, 'purge': 0}, 1)
    """
    _require_aware(at)
    due: list[RetentionDue] = []
    later: list[RetentionDue] = []
    never = 0
    for ticket in tickets:
        found = retention_due(ticket, policies, at=at)
        if found is None:
            never += 1
        elif found.is_due(at):
            due.append(found)
        else:
            later.append(found)
    due.sort(key=lambda d: (d.due_at, d.ticket_id))
    later.sort(key=lambda d: (d.due_at, d.ticket_id))
    return RetentionReport(at=at, due=tuple(due), later=tuple(later), never=never)
