"""Rate-limit windows: the slots of a window that has passed are dropped, a window at a time.

``Helpdesk.receive`` counts a sender's messages in fixed windows with one message key
per message taken (``rate:<sender hash>:<window>:<i>``). Those keys matter only while
their window is current, and they hold a hash of the sender's address, so they must
not stay for ever. Each one is bound to its window's owner, ``ticketkit:rate:<window>``
(a name no ticket id takes), so `TicketStore.drop_message_keys` drops a whole window
through the store's (tenant, ticket) index.

Which windows may still hold slots is a desk record (kind ``rate-windows``, key
``open``): a JSON list of window numbers, written by compare-and-set, shared by every
process on the store. A window is listed before its first slot is bound. When a
process enters a new window it drops the slots of every listed window older than two
windows before it (a margin for clocks that disagree by up to a window), then
removes those windows from the list. A crash in between only drops them again later.
Each process reads the record once per window, not per message.
"""

from __future__ import annotations

import json
import threading
from typing import Final

from ticketkit.errors import ConflictError
from ticketkit.storage._base import TicketStore

KIND: Final = "rate-windows"
KEY: Final = "open"
_KEEP: Final = 2
"""Windows before the current one whose slots are kept (clocks may disagree by a window)."""
_ATTEMPTS: Final = 10


def owner(window: int) -> str:
    """What the slot keys of ``window`` are bound to (dropped together).

    Examples:
        >>> owner(2897712)
        'ticketkit:rate:2897712'
    """
    return f"ticketkit:rate:{window}"


def _windows(value: str) -> list[int]:
    """The listed windows; a value this module did not write lists none (its slots stay)."""
    try:
        found = json.loads(value)
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return sorted({w for w in found if isinstance(w, int) and not isinstance(w, bool)})


class RateWindows:
    """One desk's view of the listed windows: which window each tenant entered last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entered: dict[str, int] = {}  # tenant -> the window this process listed last

    def enter(self, store: TicketStore, tenant: str, window: int) -> None:
        """List ``window`` (before any of its slots is bound) and drop the slots of windows long past.

        Raises:
            ConflictError: the record kept changing under this process for every attempt.
        """
        with self._lock:
            if self._entered.get(tenant) == window:
                return
        for attempt in range(1, _ATTEMPTS + 1):
            found = store.records(KIND, tenant=tenant, keys=[KEY]).get(KEY)
            listed, version = (_windows(found[0]), found[1]) if found is not None else ([], None)
            stale = [w for w in listed if w < window - _KEEP]
            for w in stale:
                store.drop_message_keys(owner(w), tenant=tenant)
            wanted = sorted({*(w for w in listed if w >= window - _KEEP), window})
            if wanted == listed:
                break
            try:
                store.put_record(KIND, KEY, json.dumps(wanted), tenant=tenant, expected_version=version)
                break
            except ConflictError:
                if attempt == _ATTEMPTS:
                    raise
        with self._lock:
            self._entered[tenant] = window
