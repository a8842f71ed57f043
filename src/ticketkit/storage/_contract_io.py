"""The contract's export/import family: JSON Lines out, all-or-nothing in."""

from __future__ import annotations

import io
import json

import pytest

from ticketkit.errors import ConflictError, ValidationError
from ticketkit.model._serialization import to_dict
from ticketkit.storage._base import EXPORT_FORMAT, TicketStore
from ticketkit.storage._contract_support import ContractBase, assert_same, ev, full_ticket, ids, tk


class ExportImportContract(ContractBase):
    """Export and import: a faithful round trip; a bad or clashing file imports nothing."""

    def test_export_import_round_trip(self, store: TicketStore) -> None:
        """Everything exported reads back into an empty store the same, events included."""
        for i in range(1, 6):
            t = tk(i, tenant="other" if i % 2 else "default", tags={f"g{i}"})
            store.create(t, [ev(t), ev(t, "x.y", n=i)])
        full = full_ticket()
        store.create(full, [ev(full)])
        buf = io.StringIO()
        assert 6 == store.export(buf)
        lines = buf.getvalue().splitlines()
        assert {"format": EXPORT_FORMAT, "version": 2} == json.loads(lines[0])
        assert sorted(ids(store.scan())) == [json.loads(line)["ticket"]["id"] for line in lines[1:-1]]
        assert 6 == json.loads(lines[-1])["trailer"]["count"]
        buf.seek(0)
        other = self.fresh_store()
        assert 6 == other.import_(buf)
        for ticket in store.scan():
            assert_same(ticket, other.get(ticket.id), f"imported ticket {ticket.id!r}")
            assert_same(store.events(ticket.id), other.events(ticket.id), f"imported events of {ticket.id!r}")
        assert (3, 2) == (other.count(tenant="other"), other.count(tenant="default"))

    def test_import_refuses_an_export_cut_short(self, store: TicketStore) -> None:
        """An export cut at a line boundary (its trailer lost) is refused and imports nothing."""
        for i in range(1, 4):
            store.create(tk(i), [])
        buf = io.StringIO()
        store.export(buf)
        cut = "".join(buf.getvalue().splitlines(keepends=True)[:-2])
        other = self.fresh_store()
        with pytest.raises(ValidationError):
            other.import_(io.StringIO(cut))
        assert 0 == other.count()

    def test_export_of_an_empty_store_is_just_the_header(self, store: TicketStore) -> None:
        """An empty store exports the header line only, and it imports as nothing."""
        buf = io.StringIO()
        assert 0 == store.export(buf)
        lines = [json.loads(x) for x in buf.getvalue().splitlines()]
        assert ({"format": EXPORT_FORMAT, "version": 2}, 0) == (lines[0], lines[1]["trailer"]["count"])
        buf.seek(0)
        assert 0 == self.fresh_store().import_(buf)

    @pytest.mark.parametrize("clash", [1, 5, 9])
    def test_import_over_existing_tickets_writes_nothing(self, store: TicketStore, clash: int) -> None:
        """A ticket of the file that exists (first, middle or last) is a ConflictError; nothing imported."""
        existing = store.create(tk(clash), [ev(tk(clash))])
        source = self.fresh_store()
        for i in (1, 3, 5, 7, 9):
            t = tk(i, subject="imported")
            source.create(t, [ev(t, "imported")])
        buf = io.StringIO()
        source.export(buf)
        buf.seek(0)
        with pytest.raises(ConflictError):
            store.import_(buf)
        assert [existing.id] == ids(store.query())
        assert_same(existing, store.get(existing.id), "the ticket an import clashed with")
        assert ["ticket.created"] == [e.kind for e in store.events(existing.id)]

    def test_import_reports_every_bad_line(self, store: TicketStore) -> None:
        """A malformed export is refused with every bad line named; nothing is imported."""
        good = json.dumps({"ticket": to_dict(tk(1)), "events": []})
        bad_ticket = to_dict(tk(2))
        bad_ticket["created_at"] = "2025-03-03T09:00:00"
        foreign = json.dumps({"ticket": to_dict(tk(3)), "events": [to_dict(ev(tk(4)))]})
        text = "\n".join(
            [
                '{"format": "ticketkit-export", "version": 1}',
                good,
                "{not json",
                json.dumps({"ticket": bad_ticket, "events": []}),
                json.dumps({"something": "else"}),
                foreign,
            ]
        )
        with pytest.raises(ValidationError) as info:
            store.import_(io.StringIO(text))
        paths = [e.path for e in info.value.errors]
        assert ["line 3", "line 4.ticket.created_at", "line 5", "line 6.events[0].ticket_id"] == paths
        assert 0 == store.count()
        with pytest.raises(ValidationError):
            store.import_(io.StringIO('{"format": "something-else"}\n'))
        with pytest.raises(ValidationError):
            store.import_(
                io.StringIO("\n".join(['{"format": "ticketkit-export", "version": 1}', good, good]))
            )
        assert 0 == store.count()
