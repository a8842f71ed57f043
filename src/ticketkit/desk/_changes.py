"""Changes to one ticket: workflow transitions, comments, assignment, fields, rating.

Each operation checks its arguments, then runs as a change (see ``_running``): the
ticket is loaded for the actor (permission asked), changed through events the SLA
clocks follow, and saved. With ``expected_version`` a concurrent write raises
`ConflictError` instead of the change being applied again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from ticketkit.desk._access import Actor
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import is_bool, wrong
from ticketkit.desk._running import run
from ticketkit.desk._work import Work
from ticketkit.errors import ValidationError
from ticketkit.model import _events as ev
from ticketkit.model._json import JSONValue, json_problems
from ticketkit.model._models import Comment, Priority, Ticket, replace_trusted


def fire(
    desk: DeskContext,
    ticket_id: str,
    trigger: str,
    *,
    actor: Actor,
    expected_version: int | None,
    context: Mapping[str, object],
) -> Ticket:
    """Fire a workflow trigger on the ticket."""

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        work.fire(draft, trigger, **cast(Mapping[str, Any], context))  # passed on to guards and hooks
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def comment(
    desk: DeskContext, ticket_id: str, body: str, *, actor: Actor, public: bool, expected_version: int | None
) -> Ticket:
    """Add a public reply or an internal note; the customer writing on a resolved ticket reopens it."""
    if wrong(body, str):
        raise ValidationError.one("body", f"expected a string, got {body!r}")
    if wrong(public, bool):
        raise ValidationError.one("public", f"expected True or False, got {public!r}")

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "comment" if public else "note", expected_version=expected_version)
        kind = {"customer": "customer", "system": "system"}.get(work.actor.kind, "agent")
        work.comment(
            draft,
            Comment(
                ticket_id=draft.ticket.id,
                author=work.actor.id,
                body=body,
                at=work.now,
                public=public,
                author_kind=kind,
            ),
        )
        reopen = work.desk.reopen_trigger
        if (
            kind == "customer"
            and reopen is not None
            and draft.ticket.status_kind == "resolved"
            and work.can_fire(draft, reopen)
        ):
            work.fire(draft, reopen)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def assign(
    desk: DeskContext,
    ticket_id: str,
    *,
    actor: Actor,
    team: str | None,
    agent: str | None,
    expected_version: int | None,
) -> Ticket:
    """Assign to a team and/or agent; with neither, route again (``take`` for oneself, else ``assign``)."""

    def change(work: Work) -> str:
        draft = work.load(ticket_id, None, expected_version=expected_version)
        t = draft.ticket
        new_team = team if team is not None else t.team
        taking = agent == work.actor.id and new_team in (t.team, None)
        work.authorize("take" if taking else "assign", t)
        if team is None and agent is None:
            if not work.route(draft, reason="routed again"):
                raise ValidationError.one("team", "no router placed the ticket; name a team or an agent")
        else:
            work.assign(draft, team=new_team, agent=agent, reason="by hand")
        return t.id

    return run(desk, actor, change, strict=expected_version is not None)


def set_priority(
    desk: DeskContext, ticket_id: str, priority: Priority | str, *, actor: Actor, expected_version: int | None
) -> Ticket:
    """Change the priority; the SLA targets follow."""
    value = Priority.parse(priority)

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        work.set_priority(draft, value)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def set_category(
    desk: DeskContext, ticket_id: str, category: str | None, *, actor: Actor, expected_version: int | None
) -> Ticket:
    """Change the category; the SLA policy is chosen again."""
    if category is not None and (wrong(category, str) or not category):
        raise ValidationError.one("category", f"expected a category name or None, got {category!r}")

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        work.set_category(draft, category)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def tag(
    desk: DeskContext,
    ticket_id: str,
    tags: tuple[str, ...],
    *,
    actor: Actor,
    remove: Iterable[str],
    expected_version: int | None,
) -> Ticket:
    """Add ``tags`` and take away ``remove``."""
    removed = [remove] if isinstance(remove, str) else list(remove)
    bad = [x for x in (*tags, *removed) if not isinstance(x, str) or not x]
    if bad:
        raise ValidationError.one("tags", f"expected non-empty strings, got {bad!r}")

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        work.tag(draft, add=tags, remove=removed)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def set_fields(
    desk: DeskContext,
    ticket_id: str,
    fields: Mapping[str, JSONValue],
    *,
    actor: Actor,
    expected_version: int | None,
) -> Ticket:
    """Set custom fields (None removes one); the SLA policy is chosen again."""
    if wrong(fields, Mapping):
        raise ValidationError.one("fields", f"expected a mapping, got {fields!r}")
    problems = json_problems(fields, "fields")
    if problems:
        raise ValidationError(problems)

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "update", expected_version=expected_version)
        work.set_fields(draft, fields)
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)


def rate(
    desk: DeskContext,
    ticket_id: str,
    score: int,
    remark: str | None,
    *,
    actor: Actor,
    expected_version: int | None,
) -> Ticket:
    """Record the customer's satisfaction (1 to 5) and an optional remark."""
    if wrong(score, int) or is_bool(score) or not 1 <= score <= 5:
        raise ValidationError.one("score", f"expected an integer from 1 to 5, got {score!r}")
    if remark is not None and wrong(remark, str):
        raise ValidationError.one("remark", f"expected a string or None, got {remark!r}")

    def change(work: Work) -> str:
        draft = work.load(ticket_id, "rate", expected_version=expected_version)
        draft.ticket = replace_trusted(draft.ticket, satisfaction=score, satisfaction_remark=remark)
        work.emit(draft, ev.RATED, {"score": score, "remark": remark})
        return draft.ticket.id

    return run(desk, actor, change, strict=expected_version is not None)
