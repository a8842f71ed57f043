"""A process that receives e-mails into one SQLite file, for tests/test_inbound_processes.py.

``python -m tests.inbound_child DB FIRST`` receives `messages()` from index FIRST on,
printing each outcome's action. The test kills it with SIGKILL (between parsing a
message and committing it, right after a commit, or at a random moment) or starts
two of them on the same message at the same instant. Environment variables
(``TK_*``) choose where it stops or how it races:

- ``TK_STOP_BEFORE_COMMIT=N``: print ``committing`` and wait (to be killed) before the N-th commit;
- ``TK_STOP_AFTER_COMMIT=N``: print ``committed`` and wait after the N-th commit returns;
- ``TK_GO_FILE=<path>``: start receiving the instant that file exists;
- ``TK_COMMIT_DELAY=<seconds>``: sleep that long inside every commit, before writing.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import ticketkit as tk
from ticketkit.channels import parse_email
from ticketkit.testing import ManualClock

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
THREADS = 6


def raw(t: int, n: int) -> bytes:
    """The n-th message of thread t: the first opens a ticket, the others reply to it."""
    mid = f"<t{t}m{n}@mail.example>"
    head = [f"From: c{t}@mail.example", "To: help@desk.example", f"Message-ID: {mid}", f"Subject: case {t}"]
    if n:
        head.append(f"In-Reply-To: <t{t}m{n - 1}@mail.example>")
        head.append("References: " + " ".join(f"<t{t}m{i}@mail.example>" for i in range(n)))
    return ("\r\n".join(head) + f"\r\n\r\ntext t{t}m{n}\r\n").encode()


def messages() -> list[bytes]:
    """Every message, replies after the message they answer."""
    return [raw(t, n) for n in range(3) for t in range(THREADS)]


def desk(path: str) -> tk.Helpdesk:
    """The desk every process runs (a fixed clock: the outcome depends on the messages only)."""
    return tk.Helpdesk(
        store=tk.SQLiteStore(path),
        clock=ManualClock(T0),
        inbound=tk.InboundSettings(rate_limit=None, join_open=False),
    )


def _hook() -> None:
    stop_before = int(os.environ.get("TK_STOP_BEFORE_COMMIT", "0"))
    stop_after = int(os.environ.get("TK_STOP_AFTER_COMMIT", "0"))
    delay = float(os.environ.get("TK_COMMIT_DELAY", "0"))
    real = tk.SQLiteStore.commit
    count = [0]

    def commit(self: tk.SQLiteStore, *args: Any, **kwargs: Any) -> list[tk.Ticket]:
        count[0] += 1
        if count[0] == stop_before:
            print("committing", flush=True)
            time.sleep(60)
        time.sleep(delay)
        try:
            saved = real(self, *args, **kwargs)
        except tk.MessageKeyConflictError:
            print("conflict", flush=True)
            raise
        if count[0] == stop_after:
            print("committed", flush=True)
            time.sleep(60)
        return saved

    tk.SQLiteStore.commit = commit  # type: ignore[method-assign]


def main(path: str, first: int) -> None:
    """Receive the messages from ``first`` on, printing each action."""
    _hook()
    d = desk(path)
    todo = [parse_email(m) for m in messages()[first:]]
    print("ready", flush=True)
    go = os.environ.get("TK_GO_FILE")
    while go and not os.path.exists(go):
        time.sleep(0.0005)
    for message in todo:
        print(d.receive(message).action, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
