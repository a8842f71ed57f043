"""The command line: ``python -m ticketkit demo`` and friends."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ticketkit._version import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ticketkit",
        description="ticketkit: tickets, workflows, routing rules and exact SLA deadlines.",
    )
    parser.add_argument("--version", action="version", version=f"ticketkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run a realistic after-sales helpdesk on an embedded SQLite file",
        description="Run a shop's after-sales helpdesk on a simulated clock and print what happens.",
    )
    demo.add_argument("--db", default="ticketkit-demo.db", help="SQLite file to use (default: %(default)s)")
    demo.add_argument("--days", type=int, default=5, help="business days to simulate (default: %(default)s)")
    demo.add_argument(
        "--seed", type=int, default=7, help="random seed for the ticket stream (default: %(default)s)"
    )
    return parser


def _demo(args: argparse.Namespace) -> int:
    from ticketkit.cli._demo import run  # noqa: PLC0415 - keep --help and --version fast

    problems = []
    if args.days < 1:
        problems.append(f"--days: expected 1 or more, got {args.days}")
    db = Path(args.db)
    if db.is_dir():
        problems.append(f"--db: {str(db)!r} is a folder; name a file such as {str(db / 'demo.db')!r}")
    elif not db.absolute().parent.is_dir():
        problems.append(f"--db: folder {str(db.absolute().parent)!r} does not exist; create it first")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = run(db=args.db, days=args.days, seed=args.seed, out=sys.stdout)
    elapsed = time.perf_counter() - started
    print(
        f"\n{result.tickets} tickets over {len(result.business_days)} business day(s) in {elapsed:.1f} s; "
        f"the desk is in {args.db} (inspect it with sqlite3 or ticketkit.SQLiteStore)",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    _parser().print_help(sys.stdout)
    return 0
