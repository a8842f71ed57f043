"""Attachment blobs go with erasure and retention; a blob another ticket holds stays. And commit races.

Real folders: a `FileBlobStore` and an SQLite file under pytest's ``tmp_path``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

import ticketkit as tk
from tests.test_inbound import ADMIN, T0, mail
from ticketkit.channels import Attachment, FileBlobStore
from ticketkit.desk import _inbound as inbound_module
from ticketkit.desk._blobs import REF_TENANT, refer, release
from ticketkit.desk._work import Work
from ticketkit.testing import ManualClock


def attach(blobs: FileBlobStore, data: bytes, name: str = "photo.jpg") -> Attachment:
    """``data`` stored in ``blobs``, as the attachment a channel would hand over."""
    key = blobs.put(data)
    return Attachment(
        name=name,
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
    )


def files(root: Path) -> set[str]:
    """The blob files under ``root`` (their names are the sha256 of their bytes)."""
    return {p.name for p in root.rglob("*") if p.is_file() and len(p.name) == 64}


def make(tmp_path: Path, **kw: object) -> tuple[tk.Helpdesk, FileBlobStore, ManualClock]:
    clock = ManualClock(T0)
    blobs = FileBlobStore(tmp_path / "blobs")
    desk = tk.Helpdesk(
        store=tk.SQLiteStore(tmp_path / "desk.db"),
        clock=clock,
        blobs=blobs,
        inbound=tk.InboundSettings(rate_limit=None, join_open=False),
        **kw,  # type: ignore[arg-type]
    )
    return desk, blobs, clock


class TestErasure:
    def test_erasure_deletes_the_customers_blobs_and_keeps_shared_ones(self, tmp_path: Path) -> None:
        """Erasing a customer deletes the blobs only their tickets hold; one another customer holds stays."""
        desk, blobs, _ = make(tmp_path)
        own = attach(blobs, b"li's invoice")
        reply = attach(blobs, b"li's second photo")
        shared = attach(blobs, b"the shop's logo")
        t = desk.receive(mail("a@x", sender="li@mail.cn", attachments=(own, shared))).ticket_id or ""
        desk.receive(mail("b@x", sender="li@mail.cn", reply_to="a@x", attachments=(reply,)))
        desk.receive(mail("c@x", sender="wang@mail.cn", subject="Other", attachments=(shared,)))
        assert {own.sha256, reply.sha256, shared.sha256} == files(tmp_path / "blobs")
        report = desk.erase_customer(desk.get(t, actor=ADMIN).customer.id, actor=ADMIN)  # type: ignore[union-attr]
        assert (2, {shared.sha256}) == (report.removed["attachment"], files(tmp_path / "blobs"))
        wang = next(x for x in desk.tickets(actor=ADMIN) if x.id != t)
        report = desk.erase_customer(wang.customer.id, actor=ADMIN)  # type: ignore[union-attr]
        assert (1, set()) == (report.removed["attachment"], files(tmp_path / "blobs"))

    @pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not-indexed"])
    def test_imported_holders_count_once_indexed(self, tmp_path: Path, indexed: bool) -> None:
        """A ticket imported from an export keeps a shared blob through another's erasure once indexed."""
        import io

        first, blobs, _ = make(tmp_path)
        shared = attach(blobs, b"the shop's logo")
        first.receive(mail("w@x", sender="wang@mail.cn", subject="Wang", attachments=(shared,)))
        dump = io.StringIO()
        first.store.export(dump)
        store = tk.SQLiteStore(tmp_path / "restored.db")
        store.import_(io.StringIO(dump.getvalue()))
        desk = tk.Helpdesk(
            store=store,
            clock=ManualClock(T0),
            blobs=blobs,
            inbound=tk.InboundSettings(rate_limit=None, join_open=False),
        )
        if indexed:
            assert (1, 0) == (desk.index_blobs(actor=ADMIN), desk.index_blobs(actor=ADMIN))
        li = desk.receive(mail("l@x", sender="li@mail.cn", subject="Li", attachments=(shared,))).ticket_id
        customer = desk.get(li or "", actor=ADMIN).customer.id  # type: ignore[union-attr]
        desk.erase_customer(customer, actor=ADMIN)
        kept = {shared.sha256} == files(tmp_path / "blobs")
        assert indexed == kept  # not indexed: the imported holder is unknown and the blob goes

    def test_only_admins_index_blobs(self, tmp_path: Path) -> None:
        """index_blobs is an admin's maintenance step."""
        desk, _, _ = make(tmp_path)
        with pytest.raises(tk.PermissionDeniedError):
            desk.index_blobs(actor=tk.Actor(id="li", roles={"agent"}))

    def test_erasing_again_deletes_nothing_more(self, tmp_path: Path) -> None:
        """A second erasure of the same customer finds no blob to delete and fails on none."""
        desk, blobs, _ = make(tmp_path)
        a = attach(blobs, b"scan")
        t = desk.receive(mail("a@x", attachments=(a,))).ticket_id or ""
        customer = desk.get(t, actor=ADMIN).customer.id  # type: ignore[union-attr]
        assert 1 == desk.erase_customer(customer, actor=ADMIN).removed["attachment"]
        assert 0 == desk.erase_customer(customer, actor=ADMIN).removed.get("attachment", 0)
        assert set() == files(tmp_path / "blobs")

    def test_without_a_blob_store_erasure_counts_no_attachment(self, tmp_path: Path) -> None:
        """A desk without blobs erases as before (nothing to delete, nothing counted)."""
        desk = tk.Helpdesk(store=tk.SQLiteStore(tmp_path / "d.db"), clock=ManualClock(T0))
        t = desk.receive(mail("a@x")).ticket_id or ""
        report = desk.erase_customer(desk.get(t, actor=ADMIN).customer.id, actor=ADMIN)  # type: ignore[union-attr]
        assert "attachment" not in report.removed


class TestRetention:
    def _closed(self, desk: tk.Helpdesk, mid: str, sender: str, *attachments: Attachment) -> str:
        t = desk.receive(mail(mid, sender=sender, subject=mid, attachments=attachments)).ticket_id or ""
        for trigger in ("open", "resolve", "close"):
            desk.fire(t, trigger, actor=ADMIN)
        return t

    def test_purge_deletes_blobs_nobody_else_holds(self, tmp_path: Path) -> None:
        """A purged ticket's blobs go, except one an open ticket still holds."""
        desk, blobs, clock = make(tmp_path, retention=[tk.RetentionPolicy(after="P1Y", action="purge")])
        own, shared = attach(blobs, b"receipt"), attach(blobs, b"logo")
        self._closed(desk, "a@x", "li@mail.cn", own, shared)
        desk.receive(mail("b@x", sender="wang@mail.cn", subject="open one", attachments=(shared,)))
        clock.advance(timedelta(days=366))
        assert ["ticket.purged"] == [e.kind for e in desk.tick()]
        assert {shared.sha256} == files(tmp_path / "blobs")

    def test_anonymizing_retention_deletes_blobs(self, tmp_path: Path) -> None:
        """An anonymising retention policy deletes the ticket's blobs (the comment keeps name and hash)."""
        desk, blobs, clock = make(tmp_path, retention=[tk.RetentionPolicy(after="P30D")])
        a = attach(blobs, b"passport scan")
        t = self._closed(desk, "a@x", "li@mail.cn", a)
        clock.advance(timedelta(days=31))
        assert ["ticket.anonymized"] == [e.kind for e in desk.tick()]
        assert set() == files(tmp_path / "blobs")
        kept = [c.attachments for c in desk.comments(t, actor=ADMIN) if c.attachments]
        assert [(a,)] == kept


class TestReferences:
    def test_holders_in_another_tenant_keep_a_blob(self, tmp_path: Path) -> None:
        """References span tenants: a blob held by another tenant's ticket is not deleted."""
        store = tk.SQLiteStore(tmp_path / "d.db")
        blobs = FileBlobStore(tmp_path / "blobs")
        key = blobs.put(b"same bytes")
        desk = tk.Helpdesk(store=store, clock=ManualClock(T0), blobs=blobs)
        other = tk.Actor(id="b", roles={"admin"}, tenant="shop-b")
        t = desk.receive(mail("a@x", attachments=(attach(blobs, b"same bytes"),)), actor=other).ticket_id
        refer(store, "shop-a", "T-gone", [key])  # a crash before its commit: no such ticket
        assert 0 == release(store, blobs, "shop-a", {"T-a": [key]})
        assert blobs.exists(key)
        assert 1 == release(store, blobs, "shop-b", {t or "": [key]})
        assert not blobs.exists(key)

    def test_references_fill_slots_without_gaps(self, tmp_path: Path) -> None:
        """Each holder takes the next free slot, found by galloping then bisecting."""
        store = tk.SQLiteStore(tmp_path / "d.db")
        key = "a" * 64
        for i in range(11):
            refer(store, "default", f"T{i}", [key])
        slots = [store.message_key(f"ref:{key}:{i}", tenant=REF_TENANT) for i in range(12)]
        assert [f"default\x1fT{i}" for i in range(11)] + [None] == slots


class _AlwaysTaken(tk.InMemoryStore):
    """A store where some other writer always binds the message's key first."""

    def commit(self, changes: object, outbox: object = (), **kw: object) -> list[tk.Ticket]:  # type: ignore[override]
        if kw.get("message_keys"):
            raise tk.MessageKeyConflictError("msg:email:x", "default", "T1", "T2")
        return super().commit(changes, outbox)  # type: ignore[arg-type]


class TestCommitRaces:
    def test_receive_gives_up_after_its_attempts(self) -> None:
        """A message whose keys are taken on every attempt ends in the conflict, not a loop."""
        desk = tk.Helpdesk(store=_AlwaysTaken(), clock=ManualClock(T0))
        with pytest.raises(tk.MessageKeyConflictError):
            desk.receive(mail("a@x"))

    def test_a_change_with_keys_and_no_write_still_binds(self) -> None:
        """A change that writes no ticket still commits its message keys."""
        desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
        work = Work(desk._desk, ADMIN, T0)
        work.message_keys = {"msg:email:none@x": ""}
        assert {} == work.commit()
        assert "" == desk._desk.store.message_key("msg:email:none@x", tenant="default")

    def test_rate_hints_are_forgotten_when_too_many(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past its bound the per-process hint table is cleared; the count in the store holds."""
        monkeypatch.setattr(inbound_module, "_MAX_HINTS", 0)
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            clock=ManualClock(T0),
            inbound=tk.InboundSettings(rate_limit=2, join_open=False),
        )
        actions = [desk.receive(mail(f"h{i}@x", subject=f"s{i}")).action for i in range(4)]
        assert ["ignored", "ignored"] == actions[2:]
        assert "ignored" not in actions[:2]
