"""The command line: ``python -m ticketkit demo``, ``worker`` and friends."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ticketkit._version import __version__


def _prog() -> str:
    """The name the user typed: ``ticketkit`` for the script, ``python -m ticketkit`` for the module."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if name in ("", "__main__.py", "-c") or name.startswith("python"):
        return "python -m ticketkit"
    return name


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog=_prog(),
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
    worker = commands.add_parser(
        "worker",
        help="run the SLA sweep and deliver notifications from the outbox, until SIGTERM",
        description="Sweep due SLA checkpoints and deliver the outbox of a desk's store; "
        "several workers may share one PostgreSQL database.",
    )
    where = worker.add_mutually_exclusive_group()
    where.add_argument("--db", help="SQLite file of the desk")
    where.add_argument("--dsn", help="PostgreSQL connection string of the desk")
    worker.add_argument("--schema", default="ticketkit", help="PostgreSQL schema (default: %(default)s)")
    how = worker.add_mutually_exclusive_group()
    how.add_argument("--config", help="the desk as a JSON file (calendars, workflows, router, policies, ...)")
    how.add_argument("--desk", help="an importable factory module:function called with store=")
    worker.add_argument("--batch", type=int, default=100, help="tickets or notifications per batch")
    worker.add_argument(
        "--max-sleep", type=float, default=10.0, help="longest sleep in seconds (default: %(default)s)"
    )
    worker.add_argument("--once", action="store_true", help="run one round and exit")
    return parser, {"demo": demo, "worker": worker}


def _demo(args: argparse.Namespace) -> int:
    from ticketkit.cli._demo import DemoFileError, plural, run  # noqa: PLC0415 - keep --help and --version fast

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
    try:
        result = run(db=args.db, days=args.days, seed=args.seed, out=sys.stdout)
    except DemoFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(
        f"\n{plural(result.tickets, 'ticket')} over {plural(len(result.business_days), 'business day')} "
        f"in {elapsed:.1f} s; "
        f"the desk is in {args.db} (inspect it with sqlite3 or ticketkit.SQLiteStore)",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    A reader that stops early (``python -m ticketkit demo | head``) ends the run quietly
    with the status a shell gives a program killed by SIGPIPE (141), not a traceback.
    """
    parser, commands = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # the usage of the command the user ran, not the top-level one
        commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "worker":
            from ticketkit.cli._worker import run_worker  # noqa: PLC0415 - keep --help and --version fast

            return run_worker(
                db=args.db,
                dsn=args.dsn,
                schema=args.schema,
                config=args.config,
                factory=args.desk,
                batch=args.batch,
                max_sleep=args.max_sleep,
                once=args.once,
            )
        parser.print_help(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 128 + 13  # as if killed by SIGPIPE
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (a test's buffer): nothing to flush
        pass
