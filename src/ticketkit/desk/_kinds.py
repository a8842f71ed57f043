"""The event kinds and status kinds the desk's operation modules share."""

from __future__ import annotations

from typing import Final

__all__ = ["CHILD_RESOLVED", "DEDUPLICATED", "DONE_KINDS", "OPEN_KINDS"]

DEDUPLICATED: Final = "ticket.deduplicated"  # channel, reason, external_ref, subject
CHILD_RESOLVED: Final = "ticket.child_resolved"  # child, status, status_kind, waiting (ids still open)
OPEN_KINDS: Final = ("new", "open", "pending")
DONE_KINDS: Final = frozenset({"resolved", "closed"})
