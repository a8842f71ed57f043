"""Channels benchmark: messages parsed per second, against the bare stdlib parse.

Run: ``python benchmarks/bench_channels.py [--rounds N] [--repeats R]``

Parses the test corpus (``tests/fixtures/mail/*.eml``: Gmail, Outlook, QQ Mail,
Foxmail, Apple Mail, bounces, lists, GBK and Big5 mail; and the WeChat/WeCom callbacks
in ``tests/fixtures/wechat/``) N times over (20 by default), in this one process:

- **ticketkit parse_email**: everything an ``InboundMessage`` holds: charset repair,
  encoded-word repair, HTML to text, quote stripping, attachment hashing, automatic and
  bounce detection, a validated value (the stdlib parser with ``policy.compat32``; the
  headers are decoded from their raw values by ticketkit).
- **stdlib email, minimal**: ``email.message_from_bytes(raw, policy=policy.default)``,
  then ``From``, ``Subject`` and ``get_body(("plain", "html")).get_content()``: what an
  integrator writes by hand, without any of the above (and raising on some of the
  corpus's broken charsets, which are counted and skipped).
- **stdlib compat32 parse (floor)**: ``email.message_from_bytes(raw, policy=policy.compat32)``
  and every part's payload decoded: the parse ``parse_email`` builds on, doing nothing else.
- **ticketkit parse_wechat** against **ElementTree.fromstring** on the same XML.

Then the desk side, on a fresh SQLite file per repeat (``--receive-rounds`` passes over
the corpus, each pass with new message ids so nothing is a duplicate):

- **receive (parse + thread + save)**: ``parse_email`` then ``Helpdesk.receive``: the
  idempotence lookup, threading (conversation, references, token), the rate limit, the
  customer, the ticket change saved, the message keys bound.
- **open() alone**: ``Helpdesk.open`` with the same subject, text and customer, on
  already-parsed messages: the floor ``receive`` adds its work to.

Ratios are medians of several repeats, measured side by side.
"""

from __future__ import annotations

import argparse
import email
import statistics
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import attrs

import ticketkit as tk
from ticketkit.channels import InboundMessage, parse_email, parse_wechat
from ticketkit.testing import ManualClock

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def load() -> tuple[list[bytes], list[bytes]]:
    mails = [p.read_bytes() for p in sorted((FIXTURES / "mail").glob("*.eml"))]
    xmls = [p.read_bytes() for p in sorted((FIXTURES / "wechat").glob("*.xml"))]
    return mails, xmls


def run_ticketkit(mails: list[bytes], rounds: int) -> int:
    for _ in range(rounds):
        for raw in mails:
            parse_email(raw)
    return rounds * len(mails)


def run_stdlib(mails: list[bytes], rounds: int) -> int:
    failures = 0
    for _ in range(rounds):
        for raw in mails:
            msg = email.message_from_bytes(raw, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            _ = (str(msg["From"]), str(msg["Subject"]))
            try:
                body = msg.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
            except (LookupError, ValueError, KeyError):
                failures += 1
    return failures


def run_floor(mails: list[bytes], rounds: int) -> int:
    for _ in range(rounds):
        for raw in mails:
            msg = email.message_from_bytes(raw, policy=policy.compat32)
            for part in msg.walk():
                part.get_payload(decode=True)
    return rounds * len(mails)


def run_wechat(xmls: list[bytes], rounds: int) -> int:
    for _ in range(rounds):
        for raw in xmls:
            parse_wechat(raw)
    return rounds * len(xmls)


def run_etree(xmls: list[bytes], rounds: int) -> int:
    for _ in range(rounds):
        for raw in xmls:
            root = ET.fromstring(raw)
            _ = {child.tag: child.text for child in root}
    return rounds * len(xmls)


def _desk(folder: str, name: str) -> tk.Helpdesk:
    return tk.Helpdesk(
        store=tk.SQLiteStore(Path(folder) / f"{name}.db"),
        clock=ManualClock(datetime(2025, 3, 3, 9, tzinfo=UTC)),
        inbound=tk.InboundSettings(rate_limit=None),
    )


def run_receive(mails: list[bytes], rounds: int, folder: str) -> int:
    """Parse, thread and save every corpus mail ``rounds`` times (new ids each round)."""
    desk = _desk(folder, "receive")
    for r in range(rounds):
        for raw in mails:
            m = parse_email(raw)
            desk.receive(attrs.evolve(m, message_id=f"{r}.{m.message_id}") if r else m)
    desk.store.close()
    return rounds * len(mails)


def run_open(messages: list[InboundMessage], rounds: int, folder: str) -> int:
    """``open()`` for the same messages, already parsed: the floor receive builds on."""
    desk = _desk(folder, "open")
    for _ in range(rounds):
        for m in messages:
            desk.open(
                subject=m.subject.strip() or "(no subject)",
                channel=m.channel,
                customer=f"{m.sender.kind}:{m.sender.value}",
                description=m.new_text,
            )
    desk.store.close()
    return rounds * len(messages)


def receive_ratio(mails: list[bytes], rounds: int, repeats: int) -> dict[str, float]:
    """Seconds per message of receive and of open(), medians of ``repeats`` side-by-side runs."""
    parsed = [parse_email(raw) for raw in mails]
    samples: dict[str, list[float]] = {"receive (parse + thread + save)": [], "open() alone": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            samples["receive (parse + thread + save)"].append(
                timed(lambda: run_receive(mails, rounds, folder)) / (rounds * len(mails))
            )
            samples["open() alone"].append(
                timed(lambda: run_open(parsed, rounds, folder)) / (rounds * len(mails))
            )
    return {name: statistics.median(s) for name, s in samples.items()}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--receive-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("error")
    mails, xmls = load()
    stdlib_failures = run_stdlib(mails, 1)
    runs: dict[str, tuple[Callable[[], object], int]] = {
        "ticketkit parse_email": (lambda: run_ticketkit(mails, args.rounds), len(mails)),
        "stdlib email, minimal": (lambda: run_stdlib(mails, args.rounds), len(mails)),
        "stdlib compat32 parse (floor)": (lambda: run_floor(mails, args.rounds), len(mails)),
        "ticketkit parse_wechat": (lambda: run_wechat(xmls, args.rounds * 10), len(xmls) * 10),
        "ElementTree.fromstring": (lambda: run_etree(xmls, args.rounds * 10), len(xmls) * 10),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (fn, per_round) in runs.items():
            samples[name].append(timed(fn) / (per_round * args.rounds))
    per = {name: statistics.median(s) for name, s in samples.items()}
    print(f"corpus: {len(mails)} e-mails, {len(xmls)} WeChat/WeCom callbacks;", end=" ")
    print(f"{args.rounds} rounds, median of {args.repeats}")
    print(f"{'':32} {'per message':>12} {'messages/s':>12}")
    for name, seconds in per.items():
        print(f"{name:32} {seconds * 1e6:10.1f} µs {1 / seconds:12,.0f}")
    mail_ratio = per["ticketkit parse_email"] / per["stdlib email, minimal"]
    floor_ratio = per["ticketkit parse_email"] / per["stdlib compat32 parse (floor)"]
    xml_ratio = per["ticketkit parse_wechat"] / per["ElementTree.fromstring"]
    print(f"parse_email / stdlib minimal: {mail_ratio:.2f}x the time", end=" ")
    print(f"(the stdlib path failed on {stdlib_failures} of {len(mails)} corpus messages)")
    print(f"parse_email / stdlib compat32 parse (floor): {floor_ratio:.2f}x the time")
    print(f"parse_wechat / ElementTree: {xml_ratio:.2f}x the time")
    desk = receive_ratio(mails, args.receive_rounds, args.repeats)
    print(f"SQLite desk, {args.receive_rounds} passes over the e-mail corpus, median of {args.repeats}")
    for name, seconds in desk.items():
        print(f"{name:32} {seconds * 1e6:10.1f} µs {1 / seconds:12,.0f}")
    ratio = desk["receive (parse + thread + save)"] / desk["open() alone"]
    print(f"receive / open() alone: {ratio:.2f}x the time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
