"""The contract's rewrite family: events rewritten in place for redaction and erasure."""

from __future__ import annotations

import io

import attrs
import pytest

from ticketkit.errors import ConflictError, NotFoundError, ValidationError
from ticketkit.model._models import Customer, Event
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import ContractBase, assert_same, bump, ev, tk

_PHONE = "13812345678"


def _everything(store: TicketStore) -> str:
    """Every value the store hands out, as text: tickets, events, queries and the export."""
    buf = io.StringIO()
    store.export(buf)
    parts = [buf.getvalue()]
    for ticket in store.scan():
        parts.append(repr(store.get(ticket.id)))
        parts.append(repr(store.events(ticket.id)))
    parts.append(repr(list(store.query(customer=_PHONE))))
    return "\n".join(parts)


class RewriteContract(ContractBase):
    """``rewrite``: the ticket and its stored events replaced in place, atomically, version-checked."""

    def _personal(self, store: TicketStore) -> tuple[list[Event], list[Event]]:
        if type(store).rewrite is TicketStore.rewrite:
            pytest.skip("the store keeps the default rewrite (NotImplementedError): erasure is not supported")
        t = tk(1, subject=f"call {_PHONE}", customer=Customer(id=_PHONE, name="王芳"))
        old = [ev(t, note=f"call {_PHONE}"), ev(t, "comment.added", body=f"王芳 {_PHONE}")]
        store.create(t, old)
        new = [attrs.evolve(e, data=dict.fromkeys(e.data, "[phone]")) for e in old]
        return old, new

    def test_rewrite_replaces_the_ticket_and_its_events(self, store: TicketStore) -> None:
        """After a rewrite every read and the export give only the new values; appended events follow."""
        _, new = self._personal(store)
        stored = store.get("T0001")
        clean = bump(stored, subject="call [phone]", customer=Customer(id="p-1"))
        extra = ev(clean, "ticket.anonymized", reason="asked")
        assert clean == store.rewrite(clean, new, append=[extra], expected_version=1)
        assert_same(clean, store.get("T0001"), "the rewritten ticket")
        assert_same([*new, extra], store.events("T0001"), "the rewritten events")
        assert _PHONE not in _everything(store)
        assert "王芳" not in _everything(store)
        assert [] == list(store.query(customer=_PHONE))
        assert ["T0001"] == [t.id for t in store.query(customer="p-1")]

    def test_stale_rewrite_conflicts_and_writes_nothing(self, store: TicketStore) -> None:
        """A rewrite over a stale version is a ConflictError; ticket and events stay as they were."""
        old, new = self._personal(store)
        stored = store.get("T0001")
        store.save(bump(stored, status="open"), [], 1)
        with pytest.raises(ConflictError):
            store.rewrite(bump(stored, subject="x"), new, expected_version=1)
        assert "open" == store.get("T0001").status
        assert_same(old, store.events("T0001"), "events after a refused rewrite")

    @pytest.mark.parametrize("which", ["fewer", "other ids", "reordered"])
    def test_rewrite_of_other_events_is_refused(self, store: TicketStore, which: str) -> None:
        """Events not the stored ones (fewer, other ids, another order) are refused; nothing written."""
        old, new = self._personal(store)
        stored = store.get("T0001")
        given = {
            "fewer": new[:1],
            "other ids": [new[0], ev(stored, "comment.added")],
            "reordered": new[::-1],
        }[which]
        with pytest.raises(ValidationError):
            store.rewrite(bump(stored, subject="x"), given, expected_version=1)
        assert_same(stored, store.get("T0001"), "the ticket after a refused rewrite")
        assert_same(old, store.events("T0001"), "events after a refused rewrite")

    def test_rewrite_leaves_other_tickets_alone(self, store: TicketStore) -> None:
        """Rewriting one ticket changes no other ticket's events."""
        _, new = self._personal(store)
        other = tk(2, subject=f"call {_PHONE}")
        other_events = [ev(other, note=_PHONE)]
        store.create(other, other_events)
        store.rewrite(bump(store.get("T0001")), new, expected_version=1)
        assert_same(other_events, store.events("T0002"), "another ticket's events")
        store.compact()
        assert_same(other_events, store.events("T0002"), "another ticket's events after compact")


class PurgeContract(ContractBase):
    """``purge``: the ticket and its events deleted together, version-checked, in its tenant only."""

    def _two(self, store: TicketStore) -> None:
        if type(store).purge is TicketStore.purge:
            pytest.skip("the store keeps the default purge (NotImplementedError): retention cannot purge")
        for i in (1, 2):
            t = tk(i, subject=f"call {_PHONE}", customer=Customer(id=_PHONE), tags={"x"})
            store.create(t, [ev(t, note=_PHONE)])

    def test_purge_deletes_the_ticket_and_its_events(self, store: TicketStore) -> None:
        """After purge the ticket is not found, its events are gone, and no read or export shows it."""
        self._two(store)
        store.purge("T0001")
        with pytest.raises(NotFoundError):
            store.get("T0001")
        with pytest.raises(NotFoundError):
            store.events("T0001")
        assert ["T0002"] == [t.id for t in store.scan()]
        assert ["T0002"] == [t.id for t in store.query(tags="x")]
        assert 1 == store.count(customer=_PHONE)
        buf = io.StringIO()
        assert 1 == store.export(buf)
        assert "T0001" not in buf.getvalue()
        assert 1 == len(store.events("T0002"))
        again = tk(1, subject="new")
        store.create(again, [ev(again, "ticket.created")])
        assert ["ticket.created"] == [e.kind for e in store.events("T0001")]  # nothing of the purged one
        assert _PHONE not in repr(store.events("T0001"))

    def test_purge_checks_version_and_tenant(self, store: TicketStore) -> None:
        """A stale version is a ConflictError, another tenant or a missing id NotFoundError; nothing goes."""
        self._two(store)
        with pytest.raises(ConflictError):
            store.purge("T0001", expected_version=7)
        with pytest.raises(NotFoundError):
            store.purge("T0001", tenant="elsewhere")
        with pytest.raises(NotFoundError):
            store.purge("T0404")
        assert ["T0001", "T0002"] == sorted(t.id for t in store.scan())
        store.purge("T0001", tenant="default", expected_version=1)
        assert ["T0002"] == [t.id for t in store.scan()]
