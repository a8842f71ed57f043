"""Attachment blobs and the tickets holding them: references kept, blobs released on erasure.

A `BlobStore` files bytes by their sha256, so two tickets attaching the same file
share one blob. When a ticket is erased or purged its blobs are deleted unless
another ticket still holds them. To answer that without scanning every ticket,
``Helpdesk.receive`` records each holder as a message key in one reserved key tenant
(`REF_TENANT`, so the tickets of every tenant sharing one blob store are counted):
``ref:<blob key>:<i>`` -> ``<tenant>\\x1f<ticket id>``, numbered from 0 without gaps.
A holder that let go of a blob (an erased ticket keeps the attachment's name, size
and hash on its comment) is marked ``gone:<blob key>:<tenant>\\x1f<ticket id>``.

A reference is recorded before the commit that attaches the blob: a crash in
between leaves a reference to a ticket that does not hold the blob, which only
costs a look (the holder is checked against its events) and never deletes a blob
in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from ticketkit.channels._blob import BlobStore
from ticketkit.errors import NotFoundError
from ticketkit.model import _events as ev
from ticketkit.model._models import Event
from ticketkit.storage._base import TicketStore

REF_TENANT: Final = "ticketkit:blob-refs"
"""The key tenant holding blob references (a name no ticket tenant uses)."""

_SEP: Final = "\x1f"


def blob_keys_of(events: Iterable[Event]) -> set[str]:
    """The `BlobStore` keys of every attachment on the comments in ``events``.

    Examples:
        >>> blob_keys_of([])
        set()
    """
    keys: set[str] = set()
    for event in events:
        if event.kind != ev.COMMENT_ADDED:
            continue
        comment = event.data.get("comment") or {}
        for a in comment.get("attachments") or ():
            key = a.get("storage_key") if isinstance(a, Mapping) else None
            if isinstance(key, str):
                keys.add(key)
    return keys


def _slot(key: str, i: int) -> str:
    return f"ref:{key}:{i}"


def _free_slot(store: TicketStore, key: str) -> int:
    """The first unbound slot of ``key`` (slots fill from 0 without gaps): a gallop, then a bisection."""
    if store.message_key(_slot(key, 0), tenant=REF_TENANT) is None:
        return 0
    low, high = 0, 1  # slot low is bound; find a high that is not
    while store.message_key(_slot(key, high), tenant=REF_TENANT) is not None:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if store.message_key(_slot(key, mid), tenant=REF_TENANT) is None:
            high = mid
        else:
            low = mid
    return high


def refer(store: TicketStore, tenant: str, ticket_id: str, keys: Iterable[str]) -> None:
    """Record that ``ticket_id`` of ``tenant`` holds the blobs ``keys`` (O(log holders) lookups each)."""
    holder = f"{tenant}{_SEP}{ticket_id}"
    for key in sorted(set(keys)):
        i = _free_slot(store, key)
        while store.bind_message_keys([_slot(key, i)], holder, tenant=REF_TENANT)[_slot(key, i)] != holder:
            i += 1  # another writer took it first: the next one


def _holders(store: TicketStore, key: str) -> Iterable[tuple[str, str]]:
    i = 0
    while (found := store.message_key(_slot(key, i), tenant=REF_TENANT)) is not None:
        tenant, _, ticket_id = found.partition(_SEP)
        yield tenant, ticket_id
        i += 1


def _holds(store: TicketStore, key: str, tenant: str, ticket_id: str) -> bool:
    if store.message_key(f"gone:{key}:{tenant}{_SEP}{ticket_id}", tenant=REF_TENANT) is not None:
        return False
    try:
        return key in blob_keys_of(store.events(ticket_id, tenant=tenant))
    except NotFoundError:  # purged, or a reference left by a crash before its commit
        return False


def release(store: TicketStore, blobs: BlobStore, tenant: str, held: Mapping[str, Iterable[str]]) -> int:
    """``held`` (ticket id -> blob keys) no longer hold their blobs: delete those nobody else holds.

    Returns the number of blobs deleted.
    """
    released: dict[str, set[str]] = {}
    for ticket_id, keys in held.items():
        for key in keys:
            released.setdefault(key, set()).add(ticket_id)
            store.bind_message_keys([f"gone:{key}:{tenant}{_SEP}{ticket_id}"], "", tenant=REF_TENANT)
    deleted = 0
    for key, tickets in sorted(released.items()):
        shared = any(
            _holds(store, key, t, tid)
            for t, tid in _holders(store, key)
            if not (t == tenant and tid in tickets)
        )
        if not shared and blobs.delete(key):
            deleted += 1
    return deleted


def index(store: TicketStore, tenant: str) -> int:
    """Record every ticket of ``tenant`` as a holder of the blobs its comments attach; how many were new.

    For tickets that came in without ``receive`` (``import_`` of an export, a restore):
    until their holders are recorded, erasing another ticket that shares a blob would
    delete it. Idempotent: a holder already recorded is not recorded again.
    """
    added = 0
    for ticket in store.scan(tenant=tenant):
        for key in sorted(blob_keys_of(store.events(ticket.id, tenant=tenant))):
            if (tenant, ticket.id) not in set(_holders(store, key)):
                refer(store, tenant, ticket.id, [key])
                added += 1
    return added
