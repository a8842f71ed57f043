"""The message-key and desk-record primitives of `TicketStore`, with in-process defaults.

`TicketStore` derives from `SideDefaults`, which keeps the class under the size limit.
The defaults keep keys and records in the store object's memory (right for one
process); the shipped SQLite and PostgreSQL stores override every one with a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ticketkit.storage._message_keys import (
    MessageKeys,
    validate_drop_message_keys,
    validate_message_key,
    validate_message_keys,
)
from ticketkit.storage._records import MemoryRecords, validate_record_read, validate_record_write

__all__: list[str] = []  # internal: TicketStore derives from it, users never do


class SideDefaults:
    """Message keys (``Helpdesk.receive``) and desk records (presence, leases): `TicketStore`'s base."""

    # ------------------------------------------------------------------ message keys (receive)

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        """Bind each key not bound yet to ``ticket_id``; return the ticket of every key.

        The first binding of a (tenant, key) wins for ever: binding it again, from
        this store object or another one on the same backend, changes nothing and
        returns the ticket it was first bound to. ``Helpdesk.receive`` keys received
        messages, message ids and conversations this way (``ticket_id`` ``""``
        records a message that went to no ticket). The default keeps the keys in this
        object's memory (right for one process); the shipped stores keep them in a
        table keyed by (tenant, key).

        Raises:
            ValidationError: a key is empty or too long, a bad ticket id or tenant.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> store.bind_message_keys(["msg:email:a@b"], "T1", tenant="default")
            {'msg:email:a@b': 'T1'}
            >>> store.bind_message_keys(["msg:email:a@b", "mid:c@d"], "T2", tenant="default")
            {'msg:email:a@b': 'T1', 'mid:c@d': 'T2'}
        """
        checked = validate_message_keys(keys, ticket_id, tenant)
        return default_keys(self).bind(checked, ticket_id, tenant)

    def message_key(self, key: str, *, tenant: str) -> str | None:
        """The ticket ``key`` is bound to in ``tenant`` (see `bind_message_keys`), or None.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> _ = store.bind_message_keys(["conv:wechat:o1"], "T9", tenant="default")
            >>> (
            ...     store.message_key("conv:wechat:o1", tenant="default"),
            ...     store.message_key("x", tenant="default"),
            ... )
            ('T9', None)
        """
        validate_message_key(key, tenant)
        return default_keys(self).get(key, tenant)

    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        """Unbind every key bound to ``ticket_id`` in ``tenant``; how many there were.

        The desk calls it when a ticket is erased, anonymised or purged: keys such as
        ``conv:wechat:<openid>`` and ``from:<ticket>:<customer>`` name the customer,
        and a key left bound to a purged ticket would thread the customer's next
        message onto nothing. A message received again after that is taken as new.
        Keys of other tickets and of other tenants stay; the empty ticket id (messages
        that went to no ticket) is refused. The cost follows the ticket's own keys,
        never the table's size.

        Raises:
            ValidationError: an empty or bad ticket id, an empty tenant.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> _ = store.bind_message_keys(["conv:wechat:o1", "mid:a@b"], "T1", tenant="default")
            >>> store.drop_message_keys("T1", tenant="default")
            2
            >>> store.message_key("mid:a@b", tenant="default") is None
            True
        """
        validate_drop_message_keys(ticket_id, tenant)
        return default_keys(self).drop(ticket_id, tenant)

    # ------------------------------------------------------------------ desk records (presence, leases)

    def records(
        self, kind: str, *, tenant: str, keys: Iterable[str] | None = None
    ) -> dict[str, tuple[str, int]]:
        """The records of ``kind`` in ``tenant`` (all, or those of ``keys``): key -> (value, version).

        Records are small versioned values the desk shares between workers: agent
        presence, the lease of the worker draining the queues. The default keeps them
        in this object's memory (right for one process); the shipped SQLite and
        PostgreSQL stores keep them in a table keyed by (tenant, kind, key), so every
        handle on the backend reads what another wrote.

        Raises:
            ValidationError: an empty kind, tenant or key.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> store.put_record("presence", "li", "away", tenant="default", expected_version=None)
            1
            >>> store.records("presence", tenant="default")
            {'li': ('away', 1)}
        """
        wanted = validate_record_read(kind, tenant, keys)
        return _default_records(self).read(kind, tenant, wanted)

    def put_record(
        self, kind: str, key: str, value: str, *, tenant: str, expected_version: int | None
    ) -> int:
        """Write one record if it is at ``expected_version`` (None: only if absent); its new version.

        A compare-and-set: of several writers racing from one version, on one handle
        or several, exactly one succeeds; the others get `ConflictError` and write
        nothing.

        Raises:
            ConflictError: the record is not at ``expected_version`` (nothing written).
            ValidationError: a bad kind, key, value, tenant or version.

        Examples:
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> v = store.put_record("lease", "queues", "w1", tenant="default", expected_version=None)
            >>> store.put_record("lease", "queues", "w2", tenant="default", expected_version=v)
            2
        """
        validate_record_write(kind, key, value, tenant, expected_version)
        return _default_records(self).write(kind, key, value, tenant, expected_version)


def _default_records(store: object) -> MemoryRecords:
    records: MemoryRecords | None = vars(store).get("_ticketkit_records")
    if records is None:
        records = vars(store).setdefault("_ticketkit_records", MemoryRecords())
    return records


def default_keys(store: object) -> MessageKeys:
    keys: MessageKeys | None = vars(store).get("_ticketkit_message_keys")
    if keys is None:
        keys = vars(store).setdefault("_ticketkit_message_keys", MessageKeys())
    return keys
