"""Broken stores for the export trailer: one realistic bug each."""

from __future__ import annotations

import io
import json
from typing import IO

from tests.broken_stores.registry import broken
from ticketkit import InMemoryStore
from ticketkit.storage._base import export_header, export_line


@broken("export() writes no trailer (count and checksum)", "test_export_import_round_trip")
class ExportWithoutTrailer(InMemoryStore):
    def export(self, fp: IO[str], *, tenant: str | None = None) -> int:
        fp.write(export_header())
        n = 0
        for ticket in sorted(self.scan(tenant=tenant), key=lambda t: t.id):
            fp.write(export_line(ticket, self.events(ticket.id)))
            n += 1
        return n


@broken(
    "import_() ignores the trailer, so a file cut short imports", "test_import_refuses_an_export_cut_short"
)
class ImportIgnoresTrailer(InMemoryStore):
    def import_(self, fp: IO[str]) -> int:
        lines = [line for line in fp if line.strip() and not line.startswith('{"trailer"')]
        if lines:
            lines[0] = json.dumps({"format": "ticketkit-export", "version": 1}) + "\n"
        return super().import_(io.StringIO("".join(lines)))
