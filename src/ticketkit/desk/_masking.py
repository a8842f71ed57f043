"""What a notification may carry: its message and data masked unless only the customer reads it.

A notification keeps the real ticket (a notifier needs the customer's address to reach
them), but its message and data are read by staff in chat groups and e-mail: they are
masked unless every recipient is the ticket's own customer. Kept apart from
``_privacy`` so delivery can use it without importing the desk's context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ticketkit.model._models import Ticket
from ticketkit.privacy._mask import DEFAULT_PERSONAL, Masker, PersonalFields


def notification_view(
    ticket: Ticket,
    recipients: Sequence[str],
    message: str,
    data: Mapping[str, Any],
    *,
    personal: PersonalFields = DEFAULT_PERSONAL,
    region: str = "CN",
) -> tuple[str, Mapping[str, Any]]:
    """The message and data a notification to ``recipients`` about ``ticket`` may carry.

    ``personal`` and ``region`` are the desk's own (`Helpdesk(personal=..., region=...)`):
    what it declares personal is masked in notifications as on reads.
    """
    own = f"customer:{ticket.customer.id}" if ticket.customer is not None else None
    if recipients and all(r == own for r in recipients):
        return message, data
    hide = Masker.for_customer(ticket.customer, personal=personal, region=region)
    masked = hide.json(data)
    return hide.text(message), masked if isinstance(masked, Mapping) else data
