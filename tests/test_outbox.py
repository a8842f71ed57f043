"""The transactional outbox, delivery with backoff and dead letters, crashes, the worker and the feed."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import http.server
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit as tk
from tests.outbox_helpers import FileReceiver, received, writer_desk
from ticketkit import analytics
from ticketkit.cli._worker import ConfigError, Worker, build_desk, desk_from_config
from ticketkit.desk._outbox import from_payload, to_payload
from ticketkit.storage import OutboxMessage
from ticketkit.testing import ManualClock

pytest_plugins = ("tests.postgres_fixture",)

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
ADMIN = tk.Actor(id="li", roles={"admin"})
ROOT = Path(__file__).resolve().parents[1]


class Dedupe(tk.Notifier):
    """A receiver that honours the idempotency key: a repeated id is counted, not handled."""

    def __init__(self, fail: int = 0) -> None:
        self.handled: dict[str, tk.Notification] = {}
        self.repeats = 0
        self.fail = fail
        self.calls = 0

    def send(self, notification: tk.Notification) -> None:
        self.calls += 1
        if self.fail:
            self.fail -= 1
            raise ConnectionError("receiver down")
        if notification.id in self.handled:
            self.repeats += 1
        self.handled[notification.id] = notification


def stores(tmp_path: Path) -> list[tk.TicketStore]:
    return [tk.InMemoryStore(), tk.SQLiteStore(tmp_path / "desk.db")]


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tk.TicketStore]:
    s: tk.TicketStore = tk.InMemoryStore() if request.param == "memory" else tk.SQLiteStore(tmp_path / "d.db")
    yield s
    s.close()


class TestDeliveryPolicy:
    def test_backoff_doubles_and_caps(self) -> None:
        """Without jitter each delay is factor times the last, never above max_delay."""
        p = tk.DeliveryPolicy(
            first_retry=timedelta(seconds=1), factor=3, max_delay=timedelta(seconds=20), jitter=0
        )
        rng = random.Random(0)
        assert [1.0, 3.0, 9.0, 20.0, 20.0] == [p.delay(n, rng).total_seconds() for n in range(1, 6)]
        assert timedelta(seconds=20) == p.delay(10_000, rng)

    @given(seed=st.integers(0, 2**32), tries=st.integers(1, 50), jitter=st.floats(0, 1))
    def test_jitter_stays_in_range_and_replays_from_the_seed(
        self, seed: int, tries: int, jitter: float
    ) -> None:
        """A jittered delay lies in [(1 - jitter) * d, d] and the same seed gives the same schedule."""
        p = tk.DeliveryPolicy(jitter=jitter, seed=seed)
        plain = tk.DeliveryPolicy(jitter=0).delay(tries, random.Random(seed))
        a = [p.delay(tries, r) for r in (random.Random(seed),)]
        b = [p.delay(tries, r) for r in (random.Random(seed),)]
        assert a == b
        assert plain * (1 - jitter) - timedelta(microseconds=1) <= a[0] <= plain

    def test_bad_settings_are_named(self) -> None:
        """Each bad setting is a ValidationError naming it."""
        for kwargs, path in (
            ({"max_tries": 0}, "max_tries"),
            ({"first_retry": timedelta(0)}, "first_retry"),
            ({"factor": 0.5}, "factor"),
            ({"jitter": 2}, "jitter"),
            ({"inline": "yes"}, "inline"),
            ({"seed": "x"}, "seed"),
        ):
            with pytest.raises(tk.ValidationError) as err:
                tk.DeliveryPolicy(**kwargs)  # type: ignore[arg-type]
            assert path == err.value.errors[0].path
        with pytest.raises(tk.ValidationError) as err2:
            tk.Helpdesk(store=tk.InMemoryStore(), delivery="fast")  # type: ignore[arg-type]
        assert "delivery" == err2.value.errors[0].path


class TestTransactionalOutbox:
    def test_writer_desk_leaves_every_notification_in_the_outbox(self, store: tk.TicketStore) -> None:
        """A desk with inline=False writes each notification with the change; a worker sends each once."""
        writer = tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False))
        t = writer.open(subject="Broken lid", customer="c-1")
        writer.comment(t.id, "We are on it", actor=ADMIN, public=True)
        pending = store.outbox(status="pending")
        assert 2 == len(pending)
        assert [t.id, t.id] == [from_payload(m.payload).ticket.id for m in pending]
        receiver = Dedupe()
        worker = tk.Helpdesk(store=store, notifier=receiver)
        assert tk.DeliveryReport(claimed=2, sent=2) == worker.deliver()
        assert sorted(m.id for m in pending) == sorted(receiver.handled)
        assert tk.DeliveryReport() == worker.deliver()
        assert ["sent", "sent"] == [m.status for m in store.outbox()]

    def test_inline_sends_after_commit_and_marks_sent(self, store: tk.TicketStore) -> None:
        """The default policy sends right after the commit and marks the outbox rows sent."""
        receiver = Dedupe()
        desk = tk.Helpdesk(store=store, notifier=receiver)
        desk.open(subject="Late parcel", customer="c-1")
        assert 1 == len(receiver.handled)
        (row,) = store.outbox()
        assert ("sent", next(iter(receiver.handled))) == (row.status, row.id)
        assert desk.next_delivery() is None

    def test_desk_without_notifier_writes_nothing_inline(self, store: tk.TicketStore) -> None:
        """With nobody to tell and inline delivery, nothing accumulates in the outbox."""
        tk.Helpdesk(store=store).open(subject="x", customer="c-1")
        assert [] == store.outbox()

    def test_failures_back_off_then_die_then_requeue(self, store: tk.TicketStore) -> None:
        """A failing receiver is retried after growing delays, then is a dead letter an admin requeues."""
        clock = ManualClock(T0)
        receiver = Dedupe(fail=3)
        policy = tk.DeliveryPolicy(max_tries=3, first_retry=timedelta(minutes=1), jitter=0)
        desk = tk.Helpdesk(store=store, notifier=receiver, clock=clock, delivery=policy)
        desk.open(subject="x", customer="c-1")
        (failed,) = desk.failed_notifications
        assert (1, T0 + timedelta(minutes=1), False) == (failed.attempts, failed.failed_at, failed.dead)
        assert T0 + timedelta(minutes=1) == desk.next_delivery()
        assert 0 == desk.deliver().claimed  # not before its time
        clock.advance(timedelta(minutes=1))
        assert tk.DeliveryReport(claimed=1, failed=1) == desk.deliver()
        assert T0 + timedelta(minutes=3) == desk.next_delivery()
        clock.advance(timedelta(minutes=2))
        assert tk.DeliveryReport(claimed=1, dead=1) == desk.deliver()
        (dead,) = desk.dead_letters()
        assert (3, "ConnectionError('receiver down')") == (dead.attempts, dead.error)
        assert desk.failed_notifications[0].dead
        assert desk.next_delivery() is None
        assert 1 == desk.requeue_notifications([dead.id])
        assert tk.DeliveryReport(claimed=1, sent=1) == desk.deliver()
        assert ([dead.id], 0) == (list(receiver.handled), receiver.repeats)

    def test_retry_notifications_sends_dead_letters_too(self, store: tk.TicketStore) -> None:
        """retry_notifications sends every failed notification now, dead or waiting."""
        receiver = Dedupe(fail=2)
        desk = tk.Helpdesk(store=store, notifier=receiver, delivery=tk.DeliveryPolicy(max_tries=1))
        desk.open(subject="x", customer="c-1")
        assert [True] == [f.dead for f in desk.failed_notifications]
        assert 0 == desk.retry_notifications()
        assert 1 == desk.retry_notifications()
        assert [] == desk.failed_notifications

    def test_unreadable_payload_is_a_dead_letter(self, store: tk.TicketStore) -> None:
        """A payload that is not a notification goes straight to the dead letters, naming why."""
        store.commit([], [OutboxMessage(id="bad", payload="{", created_at=T0, available_at=T0)])
        desk = tk.Helpdesk(store=store, notifier=Dedupe(), clock=ManualClock(T0))
        assert 1 == desk.deliver().dead
        assert "unreadable payload" in (desk.dead_letters()[0].error or "")

    def test_ids_are_unique_and_payloads_round_trip(self, store: tk.TicketStore) -> None:
        """Every notification of many changes has its own id, and its payload reads back equal."""
        writer = tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False))
        for i in range(5):
            t = writer.open(subject=f"s{i}", customer=f"c-{i}")
            for j in range(3):
                writer.comment(t.id, f"note {j}", actor=ADMIN, public=True)
        rows = store.outbox(limit=1000)
        assert len(rows) == len({m.id for m in rows}) == 20
        for m in rows:
            note = from_payload(m.payload)
            assert m.id == note.id
            assert m.payload == to_payload(note)

    def test_commit_that_conflicts_leaves_no_notification(self, tmp_path: Path) -> None:
        """A change lost to a concurrent write leaves no notification of it behind."""
        store = tk.SQLiteStore(tmp_path / "c.db")
        writer = tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False))
        t = writer.open(subject="x", customer="c-1")
        before = len(store.outbox())
        with pytest.raises(tk.ConflictError):
            writer.comment(t.id, "late", actor=ADMIN, public=True, expected_version=t.version - 1)
        assert before == len(store.outbox())
        store.close()


# --------------------------------------------------------------------------- crashes


def _fork(child: Callable[[], None]) -> int:
    """Run ``child`` in a forked process; its wait status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            child()
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


class KillOnSend(tk.Notifier):
    """Kills its own process (SIGKILL) on the ``after``-th send, after passing the earlier ones on."""

    def __init__(self, after: int, inner: tk.Notifier) -> None:
        self.after = after
        self.inner = inner
        self.n = 0

    def send(self, notification: tk.Notification) -> None:
        self.n += 1
        if self.n >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.send(notification)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
class TestCrashes:
    def test_killed_after_commit_before_send_loses_nothing(self, tmp_path: Path) -> None:
        """SIGKILL between the commit and the send, 20 times: a worker later delivers every one, once."""
        db = tmp_path / "crash.db"
        sink = tmp_path / "received.jsonl"
        for _ in range(20):

            def child() -> None:  # pragma: no cover - runs in the fork
                s = tk.SQLiteStore(db)
                tk.Helpdesk(store=s, notifier=KillOnSend(1, FileReceiver(sink))).open(
                    subject="x", customer="c"
                )

            status = _fork(child)
            assert os.WIFSIGNALED(status)
            assert signal.SIGKILL == os.WTERMSIG(status)
        store = tk.SQLiteStore(db)
        assert 20 == store.count()
        assert [] == received(sink)
        later = ManualClock(datetime.now(UTC) + timedelta(hours=1))  # past the inline lease
        receiver = Dedupe()
        report = tk.Helpdesk(store=store, notifier=receiver, clock=later).deliver()
        assert (20, 20, 0) == (report.sent, len(receiver.handled), receiver.repeats)
        assert sorted(m.id for m in store.outbox(status="sent", limit=100)) == sorted(receiver.handled)
        store.close()

    def test_worker_killed_mid_delivery_loses_nothing(self, tmp_path: Path) -> None:
        """A worker SIGKILLed mid-batch, 20 times: restarts deliver all, repeats only under the same id."""
        db = tmp_path / "w.db"
        sink = tmp_path / "received.jsonl"
        store = tk.SQLiteStore(db)
        writer = writer_desk(store)
        for i in range(60):
            writer.open(subject=f"s{i}", customer=f"c{i}")
        expected = {m.id for m in store.outbox(status="pending", limit=1000)}
        clock = datetime.now(UTC)
        rng = random.Random(5)
        for round_ in range(20):
            after = rng.randint(1, 4)
            at = clock + timedelta(minutes=10 * round_)  # each restart comes after the last lease

            def child(after: int = after, at: datetime = at) -> None:  # pragma: no cover - in the fork
                s = tk.SQLiteStore(db)
                desk = tk.Helpdesk(
                    store=s, notifier=KillOnSend(after, FileReceiver(sink)), clock=ManualClock(at)
                )
                desk.deliver(limit=5)

            status = _fork(child)
            assert os.WIFSIGNALED(status)
        final = tk.Helpdesk(
            store=store, notifier=FileReceiver(sink), clock=ManualClock(clock + timedelta(days=1))
        )
        while final.deliver(limit=50).claimed:
            pass
        got = received(sink)
        assert expected == set(got)
        assert 0 == len(store.outbox(status="pending", limit=1000))
        assert len(got) - len(set(got)) <= 20 * 3  # repeats only of leases a killed worker held unmarked
        store.close()


# --------------------------------------------------------------------------- the worker


def _worker_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ticketkit", "worker", *args]


def _env(sink: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["TICKETKIT_TEST_RECEIVER"] = str(sink)
    return env


def _wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting")
        time.sleep(0.05)


def _run_worker_twice(store: tk.TicketStore, where: list[str], sink: Path) -> None:
    """Write, run a worker subprocess, SIGTERM it mid-run, write more, restart: every id exactly once."""
    writer = writer_desk(store)
    cmd = _worker_cmd(
        *where, "--desk", "tests.outbox_helpers:worker_desk", "--max-sleep", "0.2", "--batch", "3"
    )
    proc = subprocess.Popen(cmd, env=_env(sink), stderr=subprocess.PIPE, text=True)
    try:
        for i in range(15):
            writer.open(subject=f"a{i}", customer=f"c{i}")
        _wait_for(lambda: len(received(sink)) >= 5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 0 == proc.returncode, err
    assert ["worker.started", "worker.stopping", "worker.stopped"] == [
        e for e in (json.loads(line)["event"] for line in err.splitlines()) if e != "worker.round"
    ]
    for i in range(10):
        writer.open(subject=f"b{i}", customer=f"d{i}")
    expected = {m.id for m in store.outbox(limit=1000)}
    proc = subprocess.Popen(cmd, env=_env(sink), stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: set(received(sink)) == expected)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = received(sink)
    assert (25, sorted(expected)) == (len(expected), sorted(got))  # nothing lost, nothing repeated


class TestWorkerProcess:
    def test_sqlite_worker_stopped_and_restarted(self, tmp_path: Path) -> None:
        """A real worker process on SQLite: SIGTERM mid-run, restart; every notification once."""
        store = tk.SQLiteStore(tmp_path / "desk.db")
        _run_worker_twice(store, ["--db", str(tmp_path / "desk.db")], tmp_path / "got.jsonl")
        store.close()

    @pytest.mark.slow
    def test_postgres_worker_stopped_and_restarted(
        self, tmp_path: Path, postgres_dsn: str, make_postgres_store: Callable[..., tk.TicketStore]
    ) -> None:
        """The same on PostgreSQL."""
        store = make_postgres_store()
        schema = store.schema  # type: ignore[attr-defined]
        _run_worker_twice(store, ["--dsn", postgres_dsn, "--schema", schema], tmp_path / "got.jsonl")

    def test_configuration_errors_exit_2_naming_the_path(self, tmp_path: Path) -> None:
        """A bad JSON desk exits 2 and names the file and the path of each problem."""
        bad = tmp_path / "desk.json"
        bad.write_text(json.dumps({"notifier": {"kind": "pager"}, "delivery": {"max_tries": 0}}))
        proc = subprocess.run(
            _worker_cmd("--db", str(tmp_path / "d.db"), "--config", str(bad), "--once"),
            env=_env(tmp_path / "x"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 2 == proc.returncode
        assert "desk.json: notifier:" in proc.stderr
        assert "delivery.max_tries:" in proc.stderr

    def test_config_and_factory_problems(self, tmp_path: Path) -> None:
        """Missing files, bad JSON, bad factories and bad settings are ConfigErrors saying where."""
        store = tk.InMemoryStore()
        cases = {
            "--config": (str(tmp_path / "missing.json"), None),
            "not JSON": (str(tmp_path / "bad.json"), None),
            "module:function": (None, "nocolon"),
            "expected it to return a Helpdesk": (None, "tests.outbox_helpers:not_a_desk"),
            "unexpected keyword": (None, "tests.outbox_helpers:received"),
            "give exactly one": (None, None),
        }
        (tmp_path / "bad.json").write_text("{")
        for words, (config, factory) in cases.items():
            with pytest.raises(ConfigError, match=words):
                build_desk(config, factory, store)
        with pytest.raises(tk.ValidationError) as err:
            desk_from_config(
                {"delivery": {"lease": "1m", "colour": 1}, "notifier": {"factory": "x:y"}}, store
            )
        assert {"delivery.lease", "delivery.colour", "notifier.factory"} == {e.path for e in err.value.errors}

    def test_json_desk_builds_a_logging_worker(self) -> None:
        """The JSON form with a logging notifier and delivery settings builds a working desk."""
        desk = desk_from_config(
            {"notifier": {"kind": "logging"}, "delivery": {"lease": 30, "max_tries": 2}}, tk.InMemoryStore()
        )
        assert isinstance(desk.notifier, tk.LoggingNotifier)

    def test_sleeps_until_the_next_thing(self) -> None:
        """The worker sleeps until the earliest of the next checkpoint and the next pending notification."""
        clock = ManualClock(T0)
        store = tk.InMemoryStore()
        desk = tk.Helpdesk(store=store, notifier=Dedupe(fail=1), clock=clock)
        w = Worker(desk, batch=10, max_sleep=3600, out=io.StringIO())
        assert 3600 == w.sleep_for()
        desk.open(subject="x", customer="c-1")
        due = desk.next_delivery()
        assert due is not None
        assert (due - T0).total_seconds() == w.sleep_for()
        assert 0 < w.sleep_for() <= 30
        clock.advance(timedelta(hours=1))
        assert 0.01 == w.sleep_for()

    def test_run_stops_on_request_after_the_round(self) -> None:
        """run() does a round, logs it, and returns once stop is set."""
        store = tk.InMemoryStore()
        writer_desk(store).open(subject="x", customer="c")
        receiver = Dedupe()
        desk = tk.Helpdesk(store=store, notifier=receiver)
        lines: list[str] = []

        class Out:
            def write(self, s: str) -> None:
                lines.append(s)

            def flush(self) -> None:
                pass

        w = Worker(desk, batch=10, max_sleep=0.05, out=Out())  # type: ignore[arg-type]
        th = threading.Thread(target=w.run)
        th.start()
        _wait_for(lambda: len(receiver.handled) == 1)
        w.stop.set()
        th.join(10)
        events = [json.loads(line)["event"] for line in lines]
        assert ["worker.started", "worker.round", "worker.stopped"] == events


# --------------------------------------------------------------------------- the change feed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
class TestFeed:
    def test_four_writer_processes_and_a_follower(self, tmp_path: Path) -> None:
        """4 processes write while a reader follows the feed: every event exactly once, in log order."""
        db = tmp_path / "feed.db"
        store = tk.SQLiteStore(db)
        seen: list[str] = []
        cursor: str | None = None
        pids = []
        for w in range(4):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the writer
                try:
                    desk = tk.Helpdesk(store=tk.SQLiteStore(db))
                    for i in range(15):
                        t = desk.open(subject=f"w{w} {i}", customer=f"c{w}-{i}")
                        desk.comment(t.id, "hi", actor=ADMIN, public=True)
                finally:
                    os._exit(0)
            pids.append(pid)
        running = set(pids)
        while running:
            page = store.changes(cursor, limit=7)
            seen.extend(e.id for e in page.events)
            cursor = page.cursor
            for pid in list(running):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    running.discard(pid)
        while len(page := store.changes(cursor, limit=7)):
            seen.extend(e.id for e in page.events)
            cursor = page.cursor
        every = [e.id for t in store.scan() for e in store.events(t.id)]
        assert len(seen) == len(set(seen))
        assert sorted(every) == sorted(seen)
        assert [e.id for e in store.changes(limit=10_000).events] == seen
        assert 120 <= len(seen)
        store.close()

    @pytest.mark.slow
    def test_postgres_out_of_order_commits(self, make_postgres_store: Callable[..., tk.TicketStore]) -> None:
        """A transaction that began first but commits last is still seen, once, by a follower."""
        store = make_postgres_store()
        early = tk.Ticket(subject="early", id="E", created_at=T0)
        late = tk.Ticket(subject="late", id="L", created_at=T0)
        ev = lambda t: tk.Event(ticket_id=t.id, kind="ticket.created", actor="system", at=T0, version=1)  # noqa: E731
        holding = threading.Event()
        release = threading.Event()
        original = store._failures  # type: ignore[attr-defined]

        def slow(conn: object, sql: str, params: list[object]) -> list[int]:
            out: list[int] = original(conn, sql, params)
            if threading.current_thread().name == "slow":
                holding.set()
                release.wait(10)
            return out

        store._failures = slow  # type: ignore[attr-defined]
        th = threading.Thread(target=lambda: store.commit([(early, [ev(early)], None)]), name="slow")
        th.start()
        assert holding.wait(10)
        store.commit([(late, [ev(late)], None)])
        first = store.changes()
        release.set()
        th.join(10)
        rest = store.changes(first.cursor)
        assert ["L"] == [e.ticket_id for e in first.events]
        assert ["E"] == [e.ticket_id for e in rest.events]
        assert [] == list(store.changes(rest.cursor).events)


class TestFeedDataset:
    def test_incremental_load_matches_a_full_load(self, store: tk.TicketStore) -> None:
        """Updating from the feed after each batch of changes gives the reports a full load gives."""
        desk = tk.Helpdesk(store=store, clock=ManualClock(T0))
        feed = analytics.FeedDataset()
        for batch in range(3):
            for i in range(4):
                t = desk.open(subject=f"b{batch} {i}", customer=f"c{i}", category=f"cat{i % 2}")
                if i % 2:
                    desk.fire(t.id, "open", actor=ADMIN)
                    desk.fire(t.id, "resolve", actor=ADMIN)
            got = feed.update(store, page_size=3)
            full = analytics.Dataset.from_store(store)
            assert len(full) == len(got)
            assert [(r.key, r.count) for r in full.pareto("category")] == [
                (r.key, r.count) for r in got.pareto("category")
            ]
            assert [(r.key, r.resolved) for r in full.reopens(by="category")] == [
                (r.key, r.resolved) for r in got.reopens(by="category")
            ]
        cursor = feed.cursor
        assert cursor is not None
        assert 0 == len(store.changes(cursor))


# --------------------------------------------------------------------------- the webhook notifier


class _Hook(http.server.BaseHTTPRequestHandler):
    """Verifies each delivery's signature on its own (not with ticketkit's code) and keeps the ids."""

    secret = b"hook-secret"
    seen: ClassVar[list[str]] = []
    bad: ClassVar[list[str]] = []
    fail_next: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        msg_id, stamp = self.headers["webhook-id"], self.headers["webhook-timestamp"]
        mac = hmac.new(self.secret, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        if self.headers["webhook-signature"] != "v1," + base64.b64encode(mac).decode():
            self.bad.append(msg_id)
            self.send_response(401)
        elif self.fail_next:
            self.fail_next.pop()
            self.send_response(503)
        else:
            if msg_id not in self.seen:
                self.seen.append(msg_id)
            assert json.loads(body)["data"]["id"] == msg_id
            self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def hook_server() -> Iterator[str]:
    _Hook.seen, _Hook.bad, _Hook.fail_next = [], [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


class TestWebhookNotifier:
    def test_signed_deliveries_retried_through_the_outbox(
        self, hook_server: str, store: tk.TicketStore
    ) -> None:
        """A real server verifies every signature; a 503 is retried by the outbox until it goes through."""
        clock = ManualClock(datetime.now(UTC))
        hook = tk.WebhookNotifier(hook_server, b"hook-secret", clock=clock, timeout=5)
        desk = tk.Helpdesk(store=store, notifier=hook, clock=clock, delivery=tk.DeliveryPolicy(jitter=0))
        _Hook.fail_next.append(1)
        desk.open(subject="Refund", customer="c-1")
        desk.open(subject="Zip", customer="c-2")
        assert 1 == len(desk.failed_notifications)
        assert "HTTP 503" in desk.failed_notifications[0].error
        clock.advance(timedelta(minutes=1))
        assert 1 == desk.deliver().sent
        assert [] == _Hook.bad
        assert sorted(m.id for m in store.outbox()) == sorted(_Hook.seen)

    def test_wrong_secret_and_dead_server_fail(self, hook_server: str) -> None:
        """A receiver refusing the signature, or nobody listening, raises WebhookError."""
        at = datetime.now(UTC)
        note = tk.Notification(
            kind="k",
            recipients="team:a",
            message="m",
            at=at,
            ticket=tk.Ticket(subject="s", created_at=at),
            id="n1",
        )
        with pytest.raises(tk.WebhookError, match="HTTP 401"):
            tk.WebhookNotifier(hook_server, "whsec_" + base64.b64encode(b"other").decode()).send(note)
        with pytest.raises(tk.WebhookError, match="failed"):
            tk.WebhookNotifier("http://127.0.0.1:9/none", "s", timeout=2).send(note)

    def test_verify_and_bad_settings(self) -> None:
        """verify accepts only a fresh, matching signature; bad settings are ValidationErrors."""
        at = datetime(2025, 3, 3, tzinfo=UTC)
        hook = tk.WebhookNotifier("https://example.invalid/", "whsec_" + base64.b64encode(b"k").decode())
        stamp = int(at.timestamp())
        headers = {
            "webhook-id": "n",
            "webhook-timestamp": str(stamp),
            "webhook-signature": hook.signature("n", stamp, b"{}"),
        }
        secret = "whsec_" + base64.b64encode(b"k").decode()
        assert tk.WebhookNotifier.verify(b"{}", headers, secret, at=at)
        assert not tk.WebhookNotifier.verify(b"{ }", headers, secret, at=at)
        assert not tk.WebhookNotifier.verify(b"{}", headers, secret, at=at + timedelta(hours=1))
        assert not tk.WebhookNotifier.verify(b"{}", {**headers, "webhook-timestamp": "x"}, secret, at=at)
        for kwargs in ({"url": "ftp://x"}, {"timeout": 0}, {"secret": "whsec_%%%"}):
            with pytest.raises(tk.ValidationError):
                tk.WebhookNotifier(**{"url": "https://x/", "secret": "s", **kwargs})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the SMTP notifier


class TestSMTPNotifier:
    def test_threaded_templated_mail_through_a_real_server(self, store: tk.TicketStore) -> None:
        """A local SMTP server receives one templated mail per notification, threaded and marked automatic."""
        aiosmtpd = pytest.importorskip("aiosmtpd.controller")
        got: list[bytes] = []

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                got.append(envelope.content)
                return "250 OK"

        with socket.socket() as probe:  # a free port on the loopback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            mailer = tk.SMTPNotifier(
                "127.0.0.1",
                port,
                sender="desk@shop.example",
                domain="shop.example",
                addresses=lambda r: [] if r.startswith("role:") else [r.replace(":", ".") + "@shop.example"],
                templates={"ticket.created": ("We got it: $subject", "Hello, ticket $ticket_id is $status.")},
                security="none",
            )
            desk = tk.Helpdesk(store=store, notifier=mailer)
            t = desk.open(subject="Broken zip", customer="c-1")
            desk.comment(t.id, "A new one is on its way", actor=ADMIN, public=True)
        finally:
            controller.stop()
        mails = [email.message_from_bytes(m) for m in got]
        assert 2 == len(mails)
        first, second = mails
        assert f"[#{t.id}] We got it: Broken zip" == first["Subject"]
        assert "customer.c-1@shop.example" == first["To"]
        assert f"ticket {t.id} is new" in first.get_payload()
        assert ["auto-generated", "auto-generated"] == [m["Auto-Submitted"] for m in mails]
        assert first["References"] == second["References"] == f"<tk.{t.id}@shop.example>"
        again = [mailer.message(from_payload(m.payload)) for m in store.outbox()]  # a resend: same ids
        assert [m["Message-ID"] for m in again if m is not None] == [m["Message-ID"] for m in mails]
        assert 2 == len({m["Message-ID"] for m in mails})
        assert ["sent", "sent"] == [m.status for m in store.outbox()]

    def test_refused_server_is_retried_and_bad_settings_named(self, store: tk.TicketStore) -> None:
        """No server: the send fails into the outbox; an unknown security mode is a ValidationError."""
        mailer = tk.SMTPNotifier(
            "127.0.0.1", 9, sender="d@x", domain="x", addresses=lambda r: ["a@x"], security="none", timeout=2
        )
        desk = tk.Helpdesk(store=store, notifier=mailer)
        desk.open(subject="x", customer="c-1")
        assert 1 == len(desk.failed_notifications)
        with pytest.raises(tk.ValidationError):
            tk.SMTPNotifier("h", sender="d@x", domain="x", addresses=lambda r: [], security="ssl")
        assert (
            465 == tk.SMTPNotifier("h", sender="d", domain="x", addresses=lambda r: [], security="tls").port
        )


# --------------------------------------------------------------------------- one ticket per request


class TestRequestAcrossProcesses:
    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
    def test_two_processes_same_request_make_one_ticket(self, tmp_path: Path) -> None:
        """Processes opening one request at the same instant make one ticket; the others get the duplicate."""
        db = tmp_path / "req.db"
        tk.SQLiteStore(db).close()
        for round_ in range(5):
            go = time.time() + 0.3
            pids = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the racing process
                    try:
                        desk = tk.Helpdesk(store=tk.SQLiteStore(db))
                        time.sleep(max(0.0, go - time.time()))
                        desk.open(subject="Refund", customer=f"c-{round_}", external_ref=f"order-{round_}")
                    finally:
                        os._exit(0)
                pids.append(pid)
            for pid in pids:
                assert 0 == os.waitpid(pid, 0)[1]
        store = tk.SQLiteStore(db)
        assert 5 == store.count()
        for t in store.scan():
            kinds = [e.kind for e in store.events(t.id)]
            assert 1 == kinds.count("ticket.created")
        store.close()

    def test_a_closed_request_reopened_gets_its_own_ticket(self) -> None:
        """The same external reference after the first ticket is closed makes a second ticket."""
        desk = tk.Helpdesk(store=tk.InMemoryStore())
        first = desk.open(subject="Refund", customer="c-1", external_ref="o-1")
        again = desk.open(subject="Refund", customer="c-1", external_ref="o-1")
        assert first.id == again.id
        desk.fire(first.id, "cancel", actor=ADMIN)
        later = desk.open(subject="Refund", customer="c-1", external_ref="o-1")
        assert first.id != later.id
        assert 2 == desk.store.count()

    @pytest.mark.slow
    def test_threads_on_postgres_make_one_ticket(
        self, make_postgres_store: Callable[..., tk.TicketStore]
    ) -> None:
        """Threads on separate PostgreSQL stores racing on one request make one ticket."""
        first = make_postgres_store()
        schema = first.schema  # type: ignore[attr-defined]
        stores = [first, *(make_postgres_store(schema) for _ in range(3))]
        barrier = threading.Barrier(4)

        def open_(s: tk.TicketStore) -> None:
            desk = tk.Helpdesk(store=s)
            barrier.wait(10)
            desk.open(subject="Refund", customer="c-1", external_ref="o-9")

        threads = [threading.Thread(target=open_, args=(s,)) for s in stores]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert 1 == first.count()


class TestWorkerInProcess:
    def test_main_runs_a_round_and_refuses_bad_options(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`main(["worker", ...])` runs one round with --once, and exits 2 on bad options."""
        from ticketkit.cli._main import main

        config = tmp_path / "desk.json"
        config.write_text(json.dumps({"notifier": {"kind": "logging"}}))
        db = str(tmp_path / "d.db")
        assert 0 == main(["worker", "--db", db, "--config", str(config), "--once"])
        assert 2 == main(["worker", "--config", str(config), "--once"])
        assert 2 == main(["worker", "--db", db, "--config", str(config), "--batch", "0"])
        assert 2 == main(["worker", "--db", str(tmp_path / "missing" / "d.db"), "--config", str(config)])
        err = capsys.readouterr().err
        assert "give exactly one" in err
        assert "--batch" in err
        assert "--db:" in err

    def test_sigterm_finishes_the_round_and_exits_0(self, tmp_path: Path) -> None:
        """SIGTERM to a running worker stops it after the current round, with status 0."""
        from ticketkit.cli._worker import run_worker

        config = tmp_path / "desk.json"
        config.write_text(json.dumps({"notifier": {"kind": "logging"}}))
        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
        timer.start()
        started = time.monotonic()
        status = run_worker(
            db=str(tmp_path / "d.db"),
            dsn=None,
            schema="ticketkit",
            config=str(config),
            factory=None,
            batch=10,
            max_sleep=30,
            once=False,
        )
        timer.join()
        assert 0 == status
        assert time.monotonic() - started < 10


class TestArgumentChecks:
    def test_outbox_values_and_arguments_are_checked(self) -> None:
        """Bad outbox messages, claims, times, statuses and cursors are ValidationErrors naming the field."""
        from ticketkit.storage import _outbox as ob

        for kwargs, path in (
            ({"id": " "}, "id"),
            ({"payload": 3}, "payload"),
            ({"created_at": datetime(2025, 1, 1)}, "created_at"),
            ({"status": "lost"}, "status"),
        ):
            with pytest.raises(tk.ValidationError) as err:
                OutboxMessage(**{"id": "n", "payload": "{}", "created_at": T0, "available_at": T0, **kwargs})  # type: ignore[arg-type]
            assert path == err.value.errors[0].path
        store = tk.InMemoryStore()
        for call in (
            lambda: store.commit([], "nope"),  # type: ignore[arg-type]
            lambda: store.commit([], [1]),  # type: ignore[list-item]
            lambda: store.claim_outbox(datetime(2025, 1, 1), worker="w", lease=timedelta(1)),
            lambda: store.mark_failed("x", error="e", retry_at=datetime(2025, 1, 1)),
            lambda: store.requeue([], at=datetime(2025, 1, 1)),
            lambda: store.outbox(status="lost"),
            lambda: ob.count_cursor(ob.encode_cursor("counts", {"T": -1})),
            lambda: ob.int_cursor(ob.encode_cursor("sqlite", "x"), "sqlite"),
            lambda: ob.int_cursor(ob.encode_cursor("memory", 1), "sqlite"),
            lambda: tk.SQLiteStore(":memory:").changes(tk.InMemoryStore().changes(limit=1).cursor),
        ):
            with pytest.raises(tk.ValidationError):
                call()


class TestWorkerConfiguration:
    def test_notifier_and_delivery_sections(self) -> None:
        """A notifier factory builds the notifier; every malformed section is named."""
        store = tk.InMemoryStore()
        desk = desk_from_config({"notifier": {"factory": "tests.outbox_helpers:recording_notifier"}}, store)
        assert isinstance(desk.notifier, tk.RecordingNotifier)
        for config, path in (
            ({"notifier": {"factory": "tests.outbox_helpers:not_there"}}, "notifier.factory"),
            ({"notifier": {"factory": "tests.outbox_helpers:worker_desk"}}, "notifier.factory"),
            ({"notifier": "smtp"}, "notifier"),
            ({"delivery": [1]}, "delivery"),
        ):
            with pytest.raises(tk.ValidationError) as err:
                desk_from_config(config, store)
            assert path == err.value.errors[0].path
        with pytest.raises(tk.ValidationError):
            desk_from_config([], store)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("config", "paths"),
        [
            ({"policies": 3}, ["policies"]),
            ({"calendars": [1]}, ["calendars"]),
            ({"timed": {"a": 1}}, ["timed"]),
            ({"macros": "x"}, ["macros"]),
            ({"worker": 5}, ["worker"]),
            ({"polices": []}, ["polices"]),
            ({"presence_policy": "vanish"}, ["presence_policy.away", "presence_policy.offline"]),
            ({"policies": 3, "workflows": [], "delivery": [1]}, ["policies", "workflows", "delivery"]),
        ],
    )
    def test_every_malformed_section_is_named(self, config: dict[str, Any], paths: list[str]) -> None:
        """A section of the wrong shape, a misspelt one or a bad value is a ValidationError at its path."""
        with pytest.raises(tk.ValidationError) as err:
            desk_from_config(config, tk.InMemoryStore())
        assert sorted(paths) == sorted(e.path for e in err.value.errors)

    def test_timed_macros_and_presence_sections_reach_the_desk(self) -> None:
        """The worker's desk file takes timed rules, macros and the presence policy."""
        config = {
            "timed": [{"name": "close", "when": {"field": "status", "op": "eq", "value": "pending"},
                       "after": "1 day", "actions": [{"fire": "resolve"}]}],
            "macros": [{"name": "thanks", "comment": "Thank you"}],
            "presence_policy": {"offline": "requeue"},
        }  # fmt: skip
        desk = desk_from_config(config, tk.InMemoryStore())
        assert ["close"] == [r.name for r in desk._desk.timed]
        assert ["thanks"] == sorted(desk._desk.macros)
        assert "requeue" == desk._desk.presence_policy["offline"]

    def test_bad_dsn_and_factory_errors(self) -> None:
        """A DSN that cannot connect, or a factory raising ValidationError, is a ConfigError."""
        from ticketkit.cli._worker import open_store

        with pytest.raises(ConfigError, match="--dsn"):
            open_store(None, "host=127.0.0.1 port=9 connect_timeout=1", "x")
        with pytest.raises(ConfigError, match="lease"):
            build_desk(None, "tests.outbox_helpers:bad_desk", tk.InMemoryStore())
        with pytest.raises(ConfigError, match="has no"):
            build_desk(None, "tests.outbox_helpers:nothing_here", tk.InMemoryStore())

    def test_rounds_loop_over_full_batches(self) -> None:
        """A round sweeps and delivers batch after batch until one comes back short."""
        clock = ManualClock(T0)
        store = tk.InMemoryStore()
        writer = tk.Helpdesk(store=store, clock=clock, delivery=tk.DeliveryPolicy(inline=False))
        for i in range(7):
            writer.open(subject=f"s{i}", customer=f"c{i}")
        receiver = Dedupe()
        desk = tk.Helpdesk(store=store, notifier=receiver, clock=clock)
        w = Worker(desk, batch=3, max_sleep=60, out=io.StringIO())
        totals = w.run_once()
        assert (7, 7) == (totals["claimed"], totals["sent"])
        assert 60 == w.sleep_for()


class TestSMTPModes:
    def test_starttls_tls_and_login_are_used_as_configured(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """STARTTLS upgrades before login, implicit TLS connects with SMTP_SSL; no address sends nothing."""
        calls: list[str] = []

        class FakeSMTP:
            def __init__(self, host: str, port: int, **kwargs: Any) -> None:
                calls.append(f"{type(self).__name__}:{host}:{port}")

            def __enter__(self) -> FakeSMTP:
                return self

            def __exit__(self, *exc: object) -> None:
                calls.append("quit")

            def starttls(self, context: Any) -> None:
                calls.append("starttls")

            def login(self, user: str, password: str) -> None:
                calls.append(f"login:{user}")

            def send_message(self, msg: Any) -> None:
                calls.append(f"send:{msg['To']}")

        class FakeSSL(FakeSMTP):
            pass

        monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
        monkeypatch.setattr("smtplib.SMTP_SSL", FakeSSL)
        at = datetime(2025, 3, 3, tzinfo=UTC)
        note = tk.Notification(
            kind="k",
            recipients="agent:li",
            message="m",
            at=at,
            ticket=tk.Ticket(subject="s", created_at=at),
            id="n",
        )
        common: dict[str, Any] = {"sender": "d@x", "domain": "x", "addresses": lambda r: ["li@x"]}
        tk.SMTPNotifier("mail", username="u", password="p", **common).send(note)
        tk.SMTPNotifier("mail", security="tls", **common).send(note)
        tk.SMTPNotifier("mail", sender="d@x", domain="x", addresses=lambda r: []).send(note)
        assert [
            "FakeSMTP:mail:587",
            "starttls",
            "login:u",
            "send:li@x",
            "quit",
            "FakeSSL:mail:465",
            "send:li@x",
            "quit",
        ] == calls
        with pytest.raises(tk.ValidationError):
            tk.SMTPNotifier("mail", sender="d", domain="x", addresses="li@x")  # type: ignore[arg-type]
