"""Real processes on one SQLite file: a message is applied once whatever kills or races them.

Each test runs ``tests/inbound_child.py`` in child processes (see its docstring for
how they stop and race) and then checks the file: every message's text is on its
tickets exactly once, and there is one ticket per thread.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

import ticketkit as tk
from tests import inbound_child
from ticketkit.channels import parse_email

ROOT = Path(__file__).resolve().parents[1]
_TIMEOUT = 60.0
_TEXT = re.compile(r"\bt\d+m\d+\b")
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


_CHILDREN: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    """A test that fails midway kills its children and closes their pipes (no leak into later tests)."""
    yield
    while _CHILDREN:
        proc = _CHILDREN.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


def spawn(db: Path, first: int = 0, **env: str) -> subprocess.Popen[str]:
    """A child receiving the messages from ``first`` on into ``db``."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.inbound_child", str(db), str(first)],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        text=True,
    )
    _CHILDREN.append(proc)
    return proc


def wait_for(proc: subprocess.Popen[str], line: str) -> list[str]:
    """The lines ``proc`` printed up to and including ``line`` (fails if it ends first)."""
    out: list[str] = []
    stream: IO[str] | None = proc.stdout
    assert stream is not None
    deadline = time.monotonic() + _TIMEOUT
    while time.monotonic() < deadline:
        got = stream.readline()
        if not got:
            pytest.fail(f"the child ended before printing {line!r}; it printed {out!r}")
        out.append(got.strip())
        if out[-1] == line:
            return out
    pytest.fail(f"no {line!r} from the child within {_TIMEOUT}s")


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL: no cleanup, no rollback hook, as a power cut or the OOM killer."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(_TIMEOUT)
    assert proc.stdout is not None
    proc.stdout.close()


def finish(proc: subprocess.Popen[str]) -> list[str]:
    """Every line a child printed, once it ended on its own."""
    out, _ = proc.communicate(timeout=_TIMEOUT)
    assert 0 == proc.returncode
    return out.split()


def receive_all(db: Path) -> list[str]:
    """Receive every message once more in this process (a redelivery after a crash)."""
    desk = inbound_child.desk(str(db))
    try:
        return [desk.receive(parse_email(m)).action for m in inbound_child.messages()]
    finally:
        desk.store.close()


def applied(db: Path) -> tuple[int, Counter[str]]:
    """The tickets in ``db`` and how often each message's text is on them."""
    store = tk.SQLiteStore(db)
    texts: Counter[str] = Counter()
    tickets = list(store.scan())
    for ticket in tickets:
        texts.update(_TEXT.findall(ticket.description))
        for event in store.events(ticket.id):
            body = (event.data.get("comment") or {}).get("body", "")
            texts.update(_TEXT.findall(body))
    store.close()
    return len(tickets), texts


def once_each() -> tuple[int, Counter[str]]:
    """What ``applied`` finds when every message was applied exactly once."""
    return inbound_child.THREADS, Counter(f"t{t}m{n}" for t in range(inbound_child.THREADS) for n in range(3))


class TestKilled:
    @pytest.mark.parametrize("n", [1, 8, 14])
    def test_killed_between_parse_and_commit(self, tmp_path: Path, n: int) -> None:
        """Killed after parsing, before its commit: the message was not applied; redelivered, it is, once."""
        db = tmp_path / "desk.db"
        proc = spawn(db, TK_STOP_BEFORE_COMMIT=str(n))
        printed = wait_for(proc, "committing")
        kill(proc)
        assert n - 1 == len(printed) - 2  # "ready", the actions of the n - 1 committed, "committing"
        actions = receive_all(db)
        assert ["duplicate"] * (n - 1) == actions[: n - 1]
        assert "duplicate" != actions[n - 1]
        assert once_each() == applied(db)

    @pytest.mark.parametrize("n", [1, 8, 14])
    def test_killed_right_after_the_commit(self, tmp_path: Path, n: int) -> None:
        """Killed the instant its commit returned: redelivered, the message is a duplicate."""
        db = tmp_path / "desk.db"
        proc = spawn(db, TK_STOP_AFTER_COMMIT=str(n))
        wait_for(proc, "committed")
        kill(proc)
        actions = receive_all(db)
        assert ["duplicate"] * n == actions[:n]
        assert once_each() == applied(db)

    @pytest.mark.slow
    def test_killed_at_random_moments_again_and_again(self, tmp_path: Path) -> None:
        """Killed at random moments, restarted from the first message each time: each is applied once."""
        db = tmp_path / "desk.db"
        rng = random.Random(21)
        for _ in range(6):
            proc = spawn(db, TK_COMMIT_DELAY="0.002")
            wait_for(proc, "ready")
            time.sleep(rng.uniform(0.0, 0.15))
            kill(proc)
        receive_all(db)
        assert once_each() == applied(db)


class TestRacing:
    def test_two_processes_receive_the_same_messages_at_once(self, tmp_path: Path) -> None:
        """Two processes taking the same messages at once: one applies each, the other finds a duplicate."""
        conflicts = 0
        for attempt in range(3):  # a loaded machine may start one child late: then try again
            db = tmp_path / f"desk-{attempt}.db"
            go = tmp_path / f"go-{attempt}"
            procs = [spawn(db, TK_GO_FILE=str(go), TK_COMMIT_DELAY="0.02") for _ in range(2)]
            for p in procs:
                wait_for(p, "ready")
            go.touch()
            outs = [finish(p) for p in procs]
            actions = [[a for a in out if a != "conflict"] for out in outs]
            conflicts += sum(out.count("conflict") for out in outs)
            assert [len(inbound_child.messages())] * 2 == [len(a) for a in actions]
            for mine, theirs in zip(*actions, strict=True):
                assert 1 == [mine, theirs].count("duplicate")
            assert once_each() == applied(db)
            if conflicts:
                break
        assert conflicts > 0  # the processes really raced: a commit was refused and taken again
