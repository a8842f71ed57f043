"""Running a change: a fresh `Work`, automations and parents settled, one commit, then delivery.

A concurrent write (`ConflictError` from the store) makes the change run again on
the fresh tickets, up to ``max_attempts``, unless the caller passed the version it
saw (``strict``): then the conflict is raised. Notifications go out only after
the commit, so a failing notifier never rolls back or loses the change.
"""

from __future__ import annotations

import logging

from ticketkit.desk._access import Actor
from ticketkit.desk._automations import run_automations
from ticketkit.desk._context import DeskContext
from ticketkit.desk._guard import require_actor
from ticketkit.desk._outbox import send_inline
from ticketkit.desk._retention import fold_retention
from ticketkit.desk._subtickets import tell_parents
from ticketkit.desk._timed import fold_timer_due, step_timers
from ticketkit.desk._work import Change, Work
from ticketkit.errors import ConflictError, MessageKeyConflictError
from ticketkit.model._models import Ticket

log = logging.getLogger("ticketkit.desk")


def run(desk: DeskContext, actor: Actor, change: Change, *, strict: bool = False) -> Ticket:
    """Apply ``change`` in a fresh `Work`, commit, notify; retry on a concurrent write unless strict."""
    require_actor(actor, "an Actor (who is acting)")
    attempt = 0
    while True:
        attempt += 1
        work = Work(desk, actor, desk.now())
        ticket_id = change(work)
        settle(work)
        try:
            saved = work.commit()
        except MessageKeyConflictError:
            raise  # the caller decided by the keys' old state: it decides again (receive does)
        except ConflictError:
            if strict or attempt >= desk.max_attempts:
                raise
            log.debug("concurrent write on %s; applying the change again (attempt %d)", ticket_id, attempt)
            continue
        send_inline(desk, work.notes)
        return saved[ticket_id]


def settle(work: Work) -> None:
    """Run automations and tell parents until nothing new happens."""
    while True:
        before = sum(len(d.events) for d in work.drafts.values())
        run_automations(work)
        tell_parents(work)
        step_timers(work)  # timed rules: timers started, kept or cancelled by this change
        if sum(len(d.events) for d in work.drafts.values()) == before:
            fold_retention(work)  # the retention checkpoint joins the SLA's in next_due_at
            fold_timer_due(work)  # and so does the earliest pending timer
            return
