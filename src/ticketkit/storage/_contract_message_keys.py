"""The contract's message-key family: `bind_message_keys`, `message_key` and ``commit(message_keys=)``.

The promises: the first binding of a (tenant, key) wins for ever, on one handle, on
two handles and under racing threads; keys keep to their tenant; any text a message id
can hold comes back as bound; bad input is a `ValidationError`. ``commit`` binds its
keys with its writes, all or nothing: a key bound to another ticket refuses the whole
commit (`MessageKeyConflictError` naming that ticket), a commit refused for any other
reason binds nothing, and of racing commits binding one key exactly one is written.
``drop_message_keys`` unbinds exactly one ticket's keys in one tenant, on every handle,
and a dropped key binds afresh.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from ticketkit.errors import ConflictError, MessageKeyConflictError, ValidationError
from ticketkit.storage._base import TicketStore
from ticketkit.storage._contract_support import T0, ContractBase, bump, ev, tk
from ticketkit.storage._outbox import OutboxMessage

_RACERS = 6


class MessageKeysContract(ContractBase):
    """Message keys: a unique (tenant, key) whose first binding wins, across handles too."""

    def test_message_keys_first_binding_wins(self, store: TicketStore) -> None:
        """A key bound again (to any ticket) keeps its first ticket; new keys in the same call bind."""
        assert None is store.message_key("msg:email:a@b", tenant="default")
        assert {"msg:email:a@b": "T1", "mid:a@b": "T1"} == store.bind_message_keys(
            ["msg:email:a@b", "mid:a@b", "msg:email:a@b"], "T1", tenant="default"
        )
        assert {"mid:a@b": "T1", "conv:wechat:o1": "T2"} == store.bind_message_keys(
            ["mid:a@b", "conv:wechat:o1"], "T2", tenant="default"
        )
        assert ("T1", "T2") == (
            store.message_key("mid:a@b", tenant="default"),
            store.message_key("conv:wechat:o1", tenant="default"),
        )
        assert {"msg:x:none": ""} == store.bind_message_keys(["msg:x:none"], "", tenant="default")
        assert "" == store.message_key("msg:x:none", tenant="default")
        assert {"msg:x:none": ""} == store.bind_message_keys(["msg:x:none"], "T3", tenant="default")

    def test_message_keys_keep_to_their_tenant(self, store: TicketStore) -> None:
        """The same key in two tenants is two keys; a lookup never answers from another tenant."""
        store.bind_message_keys(["mid:same@x"], "T1", tenant="default")
        assert None is store.message_key("mid:same@x", tenant="other")
        assert {"mid:same@x": "T9"} == store.bind_message_keys(["mid:same@x"], "T9", tenant="other")
        assert ("T1", "T9") == (
            store.message_key("mid:same@x", tenant="default"),
            store.message_key("mid:same@x", tenant="other"),
        )

    def test_message_keys_keep_their_text(self, store: TicketStore) -> None:
        """Keys differing only in case, space or non-ASCII text are distinct and come back exactly."""
        keys = ["mid:A@x", "mid:a@x", "mid:a@x ", "conv:wechat:gh_店:o✓", "mid:" + "x" * 994]
        for i, key in enumerate(keys):
            store.bind_message_keys([key], f"T{i}", tenant="default")
        assert [f"T{i}" for i in range(len(keys))] == [store.message_key(k, tenant="default") for k in keys]

    @pytest.mark.parametrize(
        ("keys", "ticket_id", "tenant"),
        [("mid:a", "T1", "default"), ([""], "T1", "default"), ([7], "T1", "default"),
         (["k"], None, "default"), (["k"], "T1", ""), (["k" * 2001], "T1", "default")],
    )  # fmt: skip
    def test_message_keys_refuse_bad_input(
        self, store: TicketStore, keys: object, ticket_id: object, tenant: object
    ) -> None:
        """A bare string, an empty, non-string or too long key, a bad ticket id or tenant: ValidationError."""
        with pytest.raises(ValidationError):
            store.bind_message_keys(keys, ticket_id, tenant=tenant)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.message_key("", tenant="default")

    def test_message_keys_hold_between_handles(self, store: TicketStore) -> None:
        """A key bound through one handle is seen, and cannot be rebound, through another."""
        other = self.other_handle(store)
        store.bind_message_keys(["msg:email:1@x"], "T1", tenant="default")
        assert "T1" == other.message_key("msg:email:1@x", tenant="default")
        assert {"msg:email:1@x": "T1"} == other.bind_message_keys(["msg:email:1@x"], "T2", tenant="default")
        other.bind_message_keys(["mid:2@x"], "T2", tenant="default")
        assert "T2" == store.message_key("mid:2@x", tenant="default")

    def test_message_keys_race(self, store: TicketStore) -> None:
        """Threads binding the same keys to different tickets at once all get the one winner."""
        self.need_threads()
        handles = [store]
        if getattr(self, "_again", None) is not None:
            handles.append(self.other_handle(store))
        barrier = threading.Barrier(_RACERS)
        answers: list[dict[str, str]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def racer(n: int, handle: TicketStore) -> None:
            try:
                barrier.wait(timeout=self.thread_timeout)
                got = handle.bind_message_keys([f"k{i}" for i in range(5)], f"T{n}", tenant="default")
                with lock:
                    answers.append(got)
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        threads = [
            threading.Thread(target=racer, args=(n, h), daemon=True)
            for n, h in zip(range(_RACERS), itertools.cycle(handles), strict=False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.thread_timeout)
        assert [] == errors
        stored = {f"k{i}": store.message_key(f"k{i}", tenant="default") for i in range(5)}
        assert [stored] * _RACERS == answers

    def test_drop_message_keys_drops_one_tickets_keys(self, store: TicketStore) -> None:
        """Every key of the ticket goes (bound by either call); other tickets, tenants and "" stay."""
        store.bind_message_keys(["conv:wechat:o1", "from:T1:wechat:o1"], "T1", tenant="default")
        store.commit([], message_keys={"mid:a@b": "T1", "msg:x:none": ""}, tenant="default")
        store.bind_message_keys(["mid:c@d"], "T2", tenant="default")
        store.bind_message_keys(["conv:wechat:o1", "mid:e@f"], "T1", tenant="other")
        assert 3 == store.drop_message_keys("T1", tenant="default")
        assert [None, None, None] == [
            store.message_key(k, tenant="default") for k in ("conv:wechat:o1", "from:T1:wechat:o1", "mid:a@b")
        ]
        assert ("T2", "") == (
            store.message_key("mid:c@d", tenant="default"),
            store.message_key("msg:x:none", tenant="default"),
        )
        assert ("T1", "T1") == (
            store.message_key("conv:wechat:o1", tenant="other"),
            store.message_key("mid:e@f", tenant="other"),
        )
        assert 0 == store.drop_message_keys("T1", tenant="default")
        assert {"conv:wechat:o1": "T7"} == store.bind_message_keys(["conv:wechat:o1"], "T7", tenant="default")

    def test_drop_message_keys_on_every_handle(self, store: TicketStore) -> None:
        """Keys dropped through one handle are gone for another, and bind afresh there."""
        other = self.other_handle(store)
        store.bind_message_keys(["conv:wechat:o2", "mid:g@h"], "T1", tenant="default")
        assert 2 == other.drop_message_keys("T1", tenant="default")
        assert None is store.message_key("conv:wechat:o2", tenant="default")
        assert {"mid:g@h": "T3"} == store.bind_message_keys(["mid:g@h"], "T3", tenant="default")
        assert "T3" == other.message_key("mid:g@h", tenant="default")

    @pytest.mark.parametrize(("ticket_id", "tenant"), [("", "default"), (None, "default"), ("T1", "")])
    def test_drop_message_keys_refuses_bad_input(
        self, store: TicketStore, ticket_id: object, tenant: object
    ) -> None:
        """The empty ticket id (messages that went to no ticket), a non-string, an empty tenant."""
        store.commit([], message_keys={"msg:x:kept": ""}, tenant="default")
        with pytest.raises(ValidationError):
            store.drop_message_keys(ticket_id, tenant=tenant)  # type: ignore[arg-type]
        assert "" == store.message_key("msg:x:kept", tenant="default")

    def test_commit_binds_message_keys(self, store: TicketStore) -> None:
        """commit binds its keys with its writes; a key bound already, even to the same ticket, refuses."""
        t = tk(1)
        assert [t] == store.commit(
            [(t, [ev(t)], None)], message_keys={"msg:email:1@x": t.id, "mid:1@x": t.id}, tenant="default"
        )
        assert (t.id, t.id, None) == (
            store.message_key("msg:email:1@x", tenant="default"),
            store.message_key("mid:1@x", tenant="default"),
            store.message_key("msg:email:1@x", tenant="other"),
        )
        t2 = bump(t, status="open")
        with pytest.raises(MessageKeyConflictError) as err:
            store.commit([(t2, [ev(t2)], 1)], message_keys={"mid:1@x": t.id, "mid:2@x": t.id})
        assert (t.id, 1, None) == (
            err.value.bound_to,
            store.get(t.id).version,
            store.message_key("mid:2@x", tenant="default"),
        )
        store.commit([(t2, [ev(t2)], 1)], message_keys={"mid:2@x": t.id})
        assert (2, t.id) == (store.get(t.id).version, store.message_key("mid:2@x", tenant="default"))
        assert [] == store.commit([], message_keys={"msg:email:3@x": ""}, tenant="other")
        assert ("", None) == (
            store.message_key("msg:email:3@x", tenant="other"),
            store.message_key("msg:email:3@x", tenant="default"),
        )

    def test_commit_refuses_a_key_bound_elsewhere(self, store: TicketStore) -> None:
        """A key bound to another ticket refuses the whole commit, naming that ticket; nothing is written."""
        store.bind_message_keys(["msg:email:1@x"], "T0009", tenant="default")
        t = tk(1)
        box = OutboxMessage(id="n-1", payload="{}", created_at=T0, available_at=T0)
        with pytest.raises(MessageKeyConflictError) as err:
            store.commit(
                [(t, [ev(t)], None)],
                [box],
                message_keys={"mid:1@x": t.id, "msg:email:1@x": t.id},
                tenant="default",
            )
        assert ("msg:email:1@x", "default", t.id, "T0009") == (
            err.value.key,
            err.value.tenant,
            err.value.ticket_id,
            err.value.bound_to,
        )
        assert (0, None, []) == (
            store.count(),
            store.message_key("mid:1@x", tenant="default"),
            store.outbox(),
        )
        with pytest.raises(MessageKeyConflictError):
            store.commit([], message_keys={"msg:email:1@x": ""})
        assert "T0009" == store.message_key("msg:email:1@x", tenant="default")

    def test_commit_keys_go_with_a_refused_write(self, store: TicketStore) -> None:
        """A commit refused for a stale version or bad input binds none of its keys."""
        t = store.create(tk(1))
        t2 = store.save(bump(t), [], 1)
        with pytest.raises(ConflictError):
            store.commit([(tk(2), [], None), (bump(t), [], 1)], message_keys={"mid:9@x": t.id})
        with pytest.raises(ValidationError):
            store.commit([], message_keys={"": "T1", "mid:8@x": 7})  # type: ignore[dict-item]
        with pytest.raises(ValidationError):
            store.commit([], message_keys=["mid:8@x"], tenant="")  # type: ignore[arg-type]
        assert (1, None, None) == (
            store.count(),
            store.message_key("mid:9@x", tenant="default"),
            store.message_key("mid:8@x", tenant="default"),
        )
        store.commit([(bump(t2), [], 2)], message_keys={"mid:9@x": t.id})
        assert t.id == store.message_key("mid:9@x", tenant="default")

    def test_commit_message_keys_race(self, store: TicketStore) -> None:
        """Racing commits of new tickets binding one message key: one is written, the rest name it."""
        self.need_threads()
        handles = [store]
        if getattr(self, "_again", None) is not None:
            handles.append(self.other_handle(store))
        barrier = threading.Barrier(_RACERS)
        won: list[str] = []
        lost: list[MessageKeyConflictError] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def racer(n: int, handle: TicketStore) -> None:
            t = tk(n + 1)
            try:
                barrier.wait(timeout=self.thread_timeout)
                handle.commit([(t, [ev(t)], None)], message_keys={"msg:email:same@x": t.id, f"mid:{n}": t.id})
                with lock:
                    won.append(t.id)
            except MessageKeyConflictError as exc:
                with lock:
                    lost.append(exc)
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        threads = [
            threading.Thread(target=racer, args=(n, h), daemon=True)
            for n, h in zip(range(_RACERS), itertools.cycle(handles), strict=False)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.thread_timeout)
        assert ([], 1, _RACERS - 1) == (errors, len(won), len(lost))
        assert won == [t.id for t in store.scan()]
        assert {won[0]} == {e.bound_to for e in lost}
        assert won[0] == store.message_key("msg:email:same@x", tenant="default")
        assert 1 == sum(store.message_key(f"mid:{n}", tenant="default") is not None for n in range(_RACERS))
