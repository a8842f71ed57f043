"""The storage contract as a pytest suite (public as ``ticketkit.testing.StoreContract``).

The suite is one class made of mixins, one per family of promises, each in its own
module: writes and batches, fidelity, queries, tenants, due tickets and claims,
concurrency, second handles, export/import. This module imports pytest;
``ticketkit.testing`` loads it only when ``StoreContract`` is asked for, so
``ManualClock`` works without pytest installed.
"""

from __future__ import annotations

import sys

import pytest

# Plain asserts in the suite report both sides in an integrator's run, as in their own tests.
_FAMILIES = (
    "support",
    "writes",
    "queries",
    "due",
    "concurrency",
    "io",
    "outbox",
    "load",
    "rewrite",
    "message_keys",
    "records",
)
pytest.register_assert_rewrite(
    *(name for f in _FAMILIES if (name := f"ticketkit.storage._contract_{f}") not in sys.modules)
)

from ticketkit.storage._contract_concurrency import ConcurrencyContract, HandleContract  # noqa: E402
from ticketkit.storage._contract_due import DueContract, TenantContract  # noqa: E402
from ticketkit.storage._contract_io import ExportImportContract  # noqa: E402
from ticketkit.storage._contract_load import LoadContract  # noqa: E402
from ticketkit.storage._contract_message_keys import MessageKeysContract  # noqa: E402
from ticketkit.storage._contract_outbox import FeedContract, OutboxContract, OutboxTicketContract  # noqa: E402
from ticketkit.storage._contract_queries import QueryContract  # noqa: E402
from ticketkit.storage._contract_records import QueueContract, RecordsContract  # noqa: E402
from ticketkit.storage._contract_rewrite import PurgeContract, RewriteContract  # noqa: E402
from ticketkit.storage._contract_support import T0  # noqa: E402
from ticketkit.storage._contract_writes import BatchContract, FidelityContract, WriteContract  # noqa: E402

__all__ = ["T0", "StoreContract"]


class StoreContract(
    WriteContract,
    BatchContract,
    FidelityContract,
    QueryContract,
    TenantContract,
    DueContract,
    ConcurrencyContract,
    HandleContract,
    ExportImportContract,
    OutboxContract,
    OutboxTicketContract,
    FeedContract,
    LoadContract,
    RewriteContract,
    PurgeContract,
    MessageKeysContract,
    RecordsContract,
    QueueContract,
):
    """The storage contract as a pytest suite: subclass it to test your store.

    Give the subclass a ``make_store`` fixture returning a function that makes a
    new, empty, independent store each time it is called (the suite closes them).
    Give it an ``open_again`` fixture too, returning a function that opens a
    *second* store object on the backend of a store ``make_store`` made (another
    connection, as another process would): the suite then checks that handles see
    each other's commits at once and that version checks and claims hold between
    handles. Without it those checks are skipped.

    Class attributes tune it: ``thread_safe = False`` skips the thread checks (for
    a store that must not be shared between threads); ``thread_timeout`` bounds
    every wait (seconds, default 30): a store that deadlocks fails, never hangs.

    The families of promises, one mixin each: ``WriteContract`` (create, get,
    save, events), ``BatchContract`` (``save_many``), ``FidelityContract`` (values
    and their types come back as stored), ``QueryContract`` (every filter, text
    search, orders, pagination), ``TenantContract``, ``DueContract`` (``due`` and
    ``claim_due``), ``ConcurrencyContract`` (threads on one handle),
    ``HandleContract`` (two handles), ``ExportImportContract``, ``OutboxContract``
    (``commit`` with messages, ``claim_outbox``, failures and dead letters),
    ``OutboxTicketContract`` (each message's ticket; ``drop_outbox``, and ``purge`` taking
    the ticket's messages with it), ``FeedContract`` (``changes``), ``RewriteContract``
    (``rewrite``/``compact`` for redaction and erasure) and ``PurgeContract`` (each skipped
    for a store keeping the default that raises ``NotImplementedError``), and
    ``MessageKeysContract`` (the keys ``Helpdesk.receive`` threads and dedupes by) and
    ``RecordsContract`` (the versioned records agent presence and queue leases live in) and
    ``QueueContract`` (``queued``, a team's waiting tickets in hand-out order). The storage
    reference page lists each promise beside the test that checks it.

    Examples:
        >>> import pytest, ticketkit as tk
        >>> class TestInMemory(StoreContract):
        ...     @pytest.fixture
        ...     def make_store(self):
        ...         return tk.InMemoryStore
        >>> "test_stale_save_conflicts_and_writes_nothing" in dir(TestInMemory)
        True
    """
