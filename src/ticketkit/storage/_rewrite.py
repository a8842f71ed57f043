"""Rewriting a ticket's stored events in place: the one exception to append-only events.

Redaction and erasure of personal data must change what was written, not only add to it.
`validate_rewrite` checks the arguments of [`TicketStore.rewrite`][ticketkit.TicketStore.rewrite]
and `check_same_events` the stored state, so the three stores refuse the same things.
"""

from __future__ import annotations

from collections.abc import Sequence

from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import Event, Ticket
from ticketkit.storage._base import validate_save


def validate_rewrite(
    ticket: Ticket, events: Sequence[Event], append: Sequence[Event], expected_version: int
) -> None:
    """Check the arguments of `TicketStore.rewrite` (not the stored state).

    ``ticket`` and ``append`` as for `TicketStore.save`; ``events`` are events of this ticket.

    Raises:
        ValidationError: listing every problem.

    Examples:
        >>> from datetime import datetime, timezone
        >>> t = Ticket(subject="s", id="T1", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc), version=2)
        >>> validate_rewrite(t, [], [], 1)
    """
    validate_save(ticket, append, expected_version)
    given: object = events
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        raise ValidationError.one("events", f"expected a sequence of Events, got {given!r}")
    validate_save(ticket, list(events), expected_version)


def check_same_events(ticket_id: str, stored_ids: Sequence[str], events: Sequence[Event]) -> None:
    """Refuse a rewrite whose events are not the stored ones (same ids, same order).

    Raises:
        ValidationError: naming the first position that differs.

    Examples:
        >>> check_same_events("T1", [], [])
    """
    given = [e.id for e in events]
    if list(stored_ids) == given:
        return
    if len(stored_ids) != len(given):
        raise ValidationError.one(
            "events",
            f"ticket {ticket_id!r} has {len(stored_ids)} stored events, got {len(given)} to rewrite; "
            "give every stored event, in order",
        )
    i = next(i for i, (a, b) in enumerate(zip(stored_ids, given, strict=True)) if a != b)
    raise ValidationError.one(
        f"events[{i}].id", f"expected the stored event {stored_ids[i]!r} here, got {given[i]!r}"
    )


def check_purge(
    ticket_id: str, stored: tuple[str, int] | None, tenant: str | None, expected_version: int | None
) -> None:
    """Refuse a purge of a missing ticket, of another tenant's, or at a stale version.

    ``stored`` is the stored ticket's ``(tenant, version)``, None when there is none.

    Raises:
        NotFoundError: no such ticket in ``tenant``.
        ConflictError: the stored version is not ``expected_version``.

    Examples:
        >>> check_purge("T1", ("default", 2), "default", 2)
    """
    if stored is None or (tenant is not None and stored[0] != tenant):
        raise NotFoundError("ticket", ticket_id)
    if expected_version is not None and stored[1] != expected_version:
        raise ConflictError(ticket_id, expected_version, stored[1])
