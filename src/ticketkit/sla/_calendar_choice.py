"""Which calendar a ticket's clocks run on: the policy's own, or one the ticket names.

A policy may read its calendar from the ticket (``calendar_from``): from the ticket's
team (``"team"``: the team's [`Team.calendar`][ticketkit.Team] name, through
``team_calendars``, else the team id itself) or from any ticket or customer field
(``"customer.region"``, ``"fields.site"``). The value picks one of the policy's named
``calendars``; a value that names none (or no value) keeps the policy's ``calendar``.
Each named calendar gets its own compiled plan, so a ticket on a regional calendar is
measured exactly as a policy built on that calendar would measure it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ticketkit.conditions._conditions import _full_getter, field_type
from ticketkit.errors import ErrorDetail
from ticketkit.model._models import Ticket
from ticketkit.sla._policy_fields import calendar_problem

__all__: list[str] = []

TEAM = "team"

KeyOf = Callable[[Ticket], "str | None"]


def choice_problems(calendar_from: object, calendars: object, team_calendars: object) -> list[ErrorDetail]:
    """What is wrong with a policy's calendar choice (all problems, with paths)."""
    out: list[ErrorDetail] = []
    if calendar_from is not None and (
        not isinstance(calendar_from, str)
        or field_type(calendar_from) is None
        or calendar_from.partition(".")[0] in ("context", "at")
    ):
        out.append(
            ErrorDetail(
                "calendar_from",
                "expected 'team' or a ticket or customer field such as 'customer.region', "
                f"got {calendar_from!r}",
            )
        )
    if not isinstance(calendars, Mapping):
        out.append(ErrorDetail("calendars", f"expected a mapping of names to calendars, got {calendars!r}"))
    else:
        for name, cal in calendars.items():
            if not isinstance(name, str) or not name:
                out.append(ErrorDetail("calendars", f"expected calendar names as keys, got {name!r}"))
                continue
            problem = calendar_problem(cal)
            if problem:
                out.append(ErrorDetail(f"calendars.{name}", problem))
        if calendars and calendar_from is None:
            out.append(
                ErrorDetail("calendar_from", "calendars are given but calendar_from says nothing reads them")
            )
    if not isinstance(team_calendars, Mapping):
        out.append(
            ErrorDetail(
                "team_calendars", f"expected team ids mapped to calendar names, got {team_calendars!r}"
            )
        )
    else:
        known = calendars if isinstance(calendars, Mapping) else {}
        for team, name in team_calendars.items():
            if not isinstance(team, str) or not isinstance(name, str) or name not in known:
                names = ", ".join(sorted(map(str, known))) or "none"
                out.append(
                    ErrorDetail(
                        f"team_calendars.{team}",
                        f"names calendar {name!r}, which the policy lacks (known: {names})",
                    )
                )
    return out


def key_of(calendar_from: str, calendars: Mapping[str, Any], team_calendars: Mapping[str, str]) -> KeyOf:
    """A function giving the name of the calendar a ticket runs on (None: the policy's own)."""
    if calendar_from == TEAM:
        teams = dict(team_calendars)

        def by_team(ticket: Ticket) -> str | None:
            team = ticket.team
            if team is None:
                return None
            name = teams.get(team, team)
            return name if name in calendars else None

        return by_team
    get = _full_getter(calendar_from)

    def by_field(ticket: Ticket) -> str | None:
        value = get(ticket, None, None)
        return value if isinstance(value, str) and value in calendars else None

    return by_field
