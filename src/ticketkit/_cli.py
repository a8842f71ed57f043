"""The command line: ``python -m ticketkit demo`` and friends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ticketkit._models import Customer, Ticket
from ticketkit._serialization import to_json
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
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2025, 3, 3, 9, 0, tzinfo=tz)
    samples = [
        ("Jeans arrived one size too small", "wechat", "size", "vip"),
        ("Refund not received after 10 days", "app", "refund", "standard"),
        ("Zip broke on first wear", "phone", "quality", "standard"),
    ]
    for i, (subject, channel, category, tier) in enumerate(samples):
        ticket = Ticket(
            subject=subject,
            channel=channel,
            category=category,
            customer=Customer(id=f"c-{100 + i}", tier=tier, data={"store": "sh-01"}),
            created_at=start + timedelta(minutes=17 * i),
        )
        print(to_json(ticket, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    _parser().print_help(sys.stdout)
    return 0
