"""Desk factories and receivers for the outbox tests (importable by worker subprocesses)."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import timedelta
from pathlib import Path

import ticketkit as tk


class FileReceiver(tk.Notifier):
    """Appends each notification as a JSON line to a file (shared by processes, one write per line)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, notification: tk.Notification) -> None:
        line = json.dumps({"id": notification.id, "kind": notification.kind, "pid": os.getpid()}) + "\n"
        with self.path.open("a", encoding="utf-8") as fp:
            fcntl.flock(fp, fcntl.LOCK_EX)
            fp.write(line)


def received(path: str | Path) -> list[str]:
    """The ids a `FileReceiver` wrote, in order (repeats kept)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line)["id"] for line in p.read_text(encoding="utf-8").splitlines() if line]


def worker_desk(store: tk.TicketStore) -> tk.Helpdesk:
    """The desk a worker subprocess runs: sends to the file named by TICKETKIT_TEST_RECEIVER."""
    return tk.Helpdesk(
        store=store,
        notifier=FileReceiver(os.environ["TICKETKIT_TEST_RECEIVER"]),
        delivery=tk.DeliveryPolicy(lease=timedelta(seconds=1), first_retry=timedelta(seconds=1)),
    )


def not_a_desk(store: tk.TicketStore) -> tk.TicketStore:
    """A broken factory: returns the store, not a desk."""
    return store


def writer_desk(store: tk.TicketStore) -> tk.Helpdesk:
    """A desk that only writes the outbox (a web process): the worker delivers."""
    return tk.Helpdesk(store=store, delivery=tk.DeliveryPolicy(inline=False))


def recording_notifier() -> tk.Notifier:
    """A notifier factory for the JSON desk's ``notifier.factory``."""
    return tk.RecordingNotifier()


def bad_desk(store: tk.TicketStore) -> tk.Helpdesk:
    """A factory whose desk settings are wrong (a zero lease)."""
    return tk.Helpdesk(store=store, lease=timedelta(0))
