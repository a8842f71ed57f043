"""One ticket per request across processes: a ticket id derived from the request's key.

Two processes taking the same request (same tenant, customer and external reference)
at the same instant both pass the desk's duplicate check before either commits. Giving
the new ticket an id derived from that key makes the store's own unique id the
guard: the second create is a `ConflictError`, the desk applies the change again, and
the second time the duplicate check finds the first ticket (the duplicate outcome).
"""

from __future__ import annotations

import base64
import hashlib

from ticketkit.errors import NotFoundError
from ticketkit.storage import TicketStore


def request_ticket_id(store: TicketStore, tenant: str, customer: str, external_ref: str) -> str | None:
    """The id a new ticket for this request gets, or None when that id is taken already.

    Taken means an earlier ticket of the same request is closed (an open one is found
    by the duplicate check first), and the new request is a ticket of its own.
    """
    raw = "\x1f".join(("ticketkit.request", tenant, customer, external_ref)).encode("utf-8")
    digest = base64.b32encode(hashlib.sha256(raw).digest()).decode("ascii")[:25]
    candidate = "R" + digest
    try:
        store.get(candidate)
    except NotFoundError:
        return candidate
    return None
