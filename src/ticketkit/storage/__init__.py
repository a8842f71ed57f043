"""Storage: the ``TicketStore`` contract and the two reference stores.

``InMemoryStore`` keeps everything in a dict (tests, demos, simulations);
``SQLiteStore`` keeps it in one SQLite file shared safely by threads and
processes. Write your own store by subclassing [`TicketStore`][ticketkit.TicketStore] and check it
with [`ticketkit.testing.StoreContract`][ticketkit.testing.StoreContract].

May import: ``ticketkit.model`` and ``ticketkit.errors``.
Must not import: the engines (a store never computes an SLA or a route), notification,
the desk or analytics.

Examples:
    >>> from ticketkit.storage import InMemoryStore, TicketStore
    >>> isinstance(InMemoryStore(), TicketStore)
    True
"""

from __future__ import annotations

from ticketkit.storage._base import (
    EXPORT_FORMAT,
    MAX_LIMIT,
    NO_DUE,
    ORDER_KEYS,
    Change,
    Page,
    Query,
    StoreClosedError,
    TicketStore,
    instant_key,
    validate_create,
    validate_save,
)
from ticketkit.storage._memory import InMemoryStore
from ticketkit.storage._message_keys import (
    validate_drop_message_keys,
    validate_message_key,
    validate_message_keys,
)
from ticketkit.storage._outbox import OUTBOX_STATUSES, FeedPage, OutboxMessage
from ticketkit.storage._postgres import POSTGRES_SCHEMA_VERSION, PostgresStore
from ticketkit.storage._records import validate_record_read, validate_record_write
from ticketkit.storage._sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "EXPORT_FORMAT",
    "MAX_LIMIT",
    "NO_DUE",
    "ORDER_KEYS",
    "OUTBOX_STATUSES",
    "POSTGRES_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "Change",
    "FeedPage",
    "InMemoryStore",
    "OutboxMessage",
    "Page",
    "PostgresStore",
    "Query",
    "SQLiteStore",
    "StoreClosedError",
    "TicketStore",
    "instant_key",
    "validate_create",
    "validate_drop_message_keys",
    "validate_message_key",
    "validate_message_keys",
    "validate_record_read",
    "validate_record_write",
    "validate_save",
]
