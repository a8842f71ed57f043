"""Applying a macro: its actions and its comment in one change, each action's right checked.

The actions run through the same `Work` operations as the desk's own methods and
automations, as the acting agent. The actor's right for each is
asked (``update`` for tags, fields, priority, category, transitions, spawning and
notifications, ``assign`` for assignment, ``comment`` / ``note`` for comments) on
the ticket as it was loaded, all before anything changes, so a macro never lets
anyone do what they could not do by hand. Automations then run on
the new events as usual and everything is saved at once. A preview runs the same
change on a fresh `Work` and saves nothing.
"""

from __future__ import annotations

from typing import Final

from ticketkit.automation._macro import Macro, MacroResult, render_macro
from ticketkit.desk._access import Actor
from ticketkit.desk._automations import run_action
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import require_actor
from ticketkit.desk._running import run, settle
from ticketkit.desk._work import Work
from ticketkit.errors import ValidationError
from ticketkit.model._models import Comment, Ticket, replace_trusted

_RIGHT: Final = {"assign": "assign"}


def _right(kind: str, public: bool) -> str:
    """The access action a macro action of ``kind`` needs."""
    if kind == "comment":
        return "comment" if public else "note"
    return _RIGHT.get(kind, "update")


def find_macro(desk: DeskContext, name: str) -> Macro:
    """The macro called ``name``; a `ValidationError` naming the known ones otherwise."""
    macros = desk.macros
    macro = macros.get(name) if isinstance(name, str) else None
    if macro is None:
        known = ", ".join(sorted(macros)) or "none"
        raise ValidationError.one("name", f"unknown macro {name!r} (known: {known})")
    return macro


def apply_macro(desk: DeskContext, ticket_id: str, name: str, *, actor: Actor, preview: bool) -> MacroResult:
    """Run the macro's actions and add its comment in one change; with ``preview`` save nothing."""
    require_actor(actor, "an Actor (who is acting)")
    if not isinstance(preview, bool):
        raise ValidationError.one("preview", f"expected True or False, got {preview!r}")
    macro = find_macro(desk, name)
    rights = {_right(a.kind, bool(a.params.get("public", False))) for a in macro.actions}
    if macro.comment:
        rights.add(_right("comment", macro.public))
    rendered: list[str] = []
    works: list[Work] = []

    def change(work: Work) -> str:
        works.append(work)
        draft = work.load(ticket_id, None)
        ref = work.actor.ref
        for right in sorted(rights):
            work.authorize(right, draft.ticket)  # all of them, on the ticket as it was, before any change
        for action in macro.actions:
            run_action(work, draft, action, ref, {})
        body = render_macro(macro.comment, draft.ticket, actor=ref) if macro.comment else ""
        rendered[:] = [body]
        if body:
            kind = {"customer": "customer", "system": "system"}.get(work.actor.kind, "agent")
            work.comment(
                draft,
                Comment(
                    ticket_id=draft.ticket.id,
                    author=work.actor.id,
                    body=body,
                    at=work.now,
                    public=macro.public,
                    author_kind=kind,
                ),
            )
        return draft.ticket.id

    if preview:
        work = Work(desk, actor, desk.now())
        tid = change(work)
        settle(work)
        pending = {ticket.id: (ticket, events) for ticket, events, _ in work.pending()}
        ticket, events = pending.get(tid, (work.drafts[tid].ticket, []))
        return MacroResult(ticket=ticket, events=tuple(events), comment=rendered[0], preview=True)
    saved: Ticket = run(desk, actor, change)
    events = works[-1].drafts[saved.id].events
    return MacroResult(
        ticket=saved,
        events=tuple(replace_trusted(e, version=saved.version) for e in events),
        comment=rendered[0],
        preview=False,
    )
