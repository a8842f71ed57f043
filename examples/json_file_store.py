"""A ticket store that keeps one JSON file per ticket: the example store of the how-to.

Each ticket lives in ``<folder>/<key>.json`` holding ``{"ticket": ..., "events": [...]}``
in the forms of ``ticketkit.to_dict``. A write goes to a temporary file first and is
moved over the old one with ``os.replace``, so a reader (or a crash) never sees half a
file: the ticket and its events change together or not at all. One lock per folder,
shared by every store object opened on it, makes it safe for several threads and
several store objects of one process (not for several processes).

Only the five primitives (and ``commit``, to take the folder's lock) are written here;
queries, counts, due tickets, claims, batches and export/import come from
``TicketStore``'s defaults, which scan.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from ticketkit import ConflictError, Event, NotFoundError, Ticket, ValidationError, from_dict, to_dict
from ticketkit.storage import (
    Change,
    OutboxMessage,
    TicketStore,
    validate_create,
    validate_drop_message_keys,
    validate_message_key,
    validate_message_keys,
    validate_record_read,
    validate_record_write,
    validate_save,
)

# One lock per folder, not per store object: two objects opened on the same folder must
# not both pass the version check and then both write.
_FOLDER_LOCKS: dict[Path, threading.RLock] = {}
_FOLDER_LOCKS_GUARD = threading.Lock()


def _folder_lock(folder: Path) -> threading.RLock:
    with _FOLDER_LOCKS_GUARD:
        return _FOLDER_LOCKS.setdefault(folder.resolve(), threading.RLock())


class JsonFileStore(TicketStore):
    """Tickets as JSON files in one folder (created if missing)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = _folder_lock(self.folder)

    # -- files ------------------------------------------------------------------------

    def _file(self, ticket_id: str) -> Path:
        # Ticket ids may hold any character; a file name may not.
        key = base64.urlsafe_b64encode(ticket_id.encode()).decode("ascii")
        return self.folder / f"{key}.json"

    def _read(self, ticket_id: str) -> dict[str, Any] | None:
        try:
            text = self._file(ticket_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        data: dict[str, Any] = json.loads(text)
        return data

    def _write(self, ticket: Ticket, events: list[dict[str, Any]]) -> None:
        record = {"ticket": to_dict(ticket), "events": events}
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file(ticket.id))  # atomic: old file or new file, never half

    # -- the five primitives ----------------------------------------------------------

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        validate_create(ticket, events)
        with self._lock:
            stored = self._read(ticket.id)
            if stored is not None:
                version = stored["ticket"]["version"]
                raise ConflictError(ticket.id, None, version, detail="a ticket with this id exists already")
            self._write(ticket, [to_dict(e) for e in events])
        return ticket

    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        stored = self._read(ticket_id)
        if stored is None:
            raise NotFoundError("ticket", ticket_id)
        ticket = from_dict(Ticket, stored["ticket"])
        if tenant is not None and ticket.tenant != tenant:
            raise NotFoundError("ticket", ticket_id)  # never reveal another tenant's ticket
        return ticket

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        validate_save(ticket, events, expected_version)
        with self._lock:
            stored = self._read(ticket.id)
            if stored is None:
                raise ConflictError(ticket.id, expected_version, None)
            if stored["ticket"]["version"] != expected_version:
                raise ConflictError(ticket.id, expected_version, stored["ticket"]["version"])
            if stored["ticket"]["tenant"] != ticket.tenant:
                raise ValidationError.one("ticket.tenant", "a ticket cannot move to another tenant")
            self._write(ticket, stored["events"] + [to_dict(e) for e in events])
        return ticket

    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        stored = self._read(ticket_id)
        if stored is None or (tenant is not None and stored["ticket"]["tenant"] != tenant):
            raise NotFoundError("ticket", ticket_id)
        return [from_dict(Event, e) for e in stored["events"]]

    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        for path in sorted(self.folder.glob("*.json")):
            ticket = from_dict(Ticket, json.loads(path.read_text(encoding="utf-8"))["ticket"])
            if tenant is None or ticket.tenant == tenant:
                yield ticket

    # -- message keys (Helpdesk.receive): one file per key, created exclusively ----------

    def _key_file(self, key: str, tenant: str) -> Path:
        name = hashlib.sha256(f"{tenant}\0{key}".encode()).hexdigest()
        return self.folder / "message-keys" / name

    def _ticket_keys_file(self, ticket_id: str, tenant: str) -> Path:
        # The names of a ticket's key files, a line each: what drop_message_keys reads.
        name = hashlib.sha256(f"{tenant}\0{ticket_id}".encode()).hexdigest()
        return self.folder / "message-keys" / f"{name}.ticket"

    def bind_message_keys(self, keys: Sequence[str], ticket_id: str, *, tenant: str) -> dict[str, str]:
        checked = validate_message_keys(keys, ticket_id, tenant)
        (self.folder / "message-keys").mkdir(exist_ok=True)
        out: dict[str, str] = {}
        for key in checked:
            path = self._key_file(key, tenant)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".key")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(ticket_id)
            try:  # link() refuses an existing name: the first binding wins, also between processes
                os.link(tmp, path)
            except FileExistsError:
                found = self.message_key(key, tenant=tenant)
                out[key] = found if found is not None else ticket_id
                continue
            finally:
                os.unlink(tmp)
            out[key] = ticket_id
            if ticket_id:
                with self._lock, self._ticket_keys_file(ticket_id, tenant).open("a", encoding="utf-8") as fh:
                    fh.write(path.name + "\n")
        return out

    def drop_message_keys(self, ticket_id: str, *, tenant: str) -> int:
        validate_drop_message_keys(ticket_id, tenant)
        listing = self._ticket_keys_file(ticket_id, tenant)
        dropped = 0
        with self._lock:
            try:
                names = listing.read_text(encoding="utf-8").split()
            except FileNotFoundError:
                return 0
            for name in names:
                path = self.folder / "message-keys" / name
                try:
                    if path.read_text(encoding="utf-8") == ticket_id:
                        path.unlink()
                        dropped += 1
                except FileNotFoundError:
                    continue
            listing.unlink()
        return dropped

    def message_key(self, key: str, *, tenant: str) -> str | None:
        validate_message_key(key, tenant)
        try:
            return self._key_file(key, tenant).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    # -- desk records (agent presence, queue leases): one JSON file, compare-and-set -----

    def _records_file(self) -> Path:
        return self.folder / "desk-records.json"

    def _all_records(self) -> dict[str, list[Any]]:
        try:
            data: dict[str, list[Any]] = json.loads(self._records_file().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def records(
        self, kind: str, *, tenant: str, keys: Iterable[str] | None = None
    ) -> dict[str, tuple[str, int]]:
        wanted = validate_record_read(kind, tenant, keys)
        with self._lock:
            rows = self._all_records()
        out: dict[str, tuple[str, int]] = {}
        for name, (value, version) in rows.items():
            row_tenant, row_kind, key = json.loads(name)
            if (row_tenant, row_kind) == (tenant, kind) and (wanted is None or key in wanted):
                out[key] = (value, version)
        return out

    def put_record(
        self, kind: str, key: str, value: str, *, tenant: str, expected_version: int | None
    ) -> int:
        validate_record_write(kind, key, value, tenant, expected_version)
        name = json.dumps([tenant, kind, key])
        with self._lock:
            rows = self._all_records()
            actual = rows[name][1] if name in rows else None
            if actual != expected_version:
                raise ConflictError(name, expected_version, actual, detail=f"record is at version {actual}")
            version = 1 if actual is None else actual + 1
            rows[name] = [value, version]
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".records")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(rows, fh)
            os.replace(tmp, self._records_file())
            return version

    def commit(
        self,
        changes: Iterable[Change],
        outbox: Iterable[OutboxMessage] = (),
        *,
        message_keys: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> list[Ticket]:
        # The default checks the keys, writes, then binds them under a lock of one store
        # object; the folder's lock makes that one step for every object on the folder.
        with self._lock:
            return super().commit(changes, outbox, message_keys=message_keys, tenant=tenant)


if __name__ == "__main__":
    # A short run: a desk on a folder of JSON files, one ticket through its life, read back.
    from datetime import datetime

    import ticketkit as tk
    from ticketkit.testing import ManualClock

    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
        desk = tk.Helpdesk(store=JsonFileStore(folder), clock=clock)
        agent = tk.Actor(id="li", roles={"admin"})
        t = desk.open(subject="Zip broke on day one", channel="email", customer="c-1")
        desk.comment(t.id, "Sorry! A new one is on its way.", actor=agent)
        desk.fire(t.id, "open", actor=agent)
        desk.fire(t.id, "resolve", actor=agent)
        files = sorted(p.name for p in Path(folder).glob("*.json"))
        again = JsonFileStore(folder).get(t.id)  # a second store on the same folder reads it back
        print(f"{len(files)} ticket file in the folder, one JSON document per ticket with its events")
        print(f"read back: {again.subject!r} is {again.status!r}, version {again.version}")
        print("events:", ", ".join(e.kind for e in desk.store.events(t.id)))
