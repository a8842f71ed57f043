"""Side by side with django-helpdesk: intake, reply+resolve and the sweep, on SQLite files.

Run: ``pip install 'ticketkit[bench]'`` then ``python benchmarks/bench_desk_django.py``
(``--n`` tickets, default 300).

django-helpdesk is a Django helpdesk used in production. The same N tickets go
through each:

- intake: its staff form path (``TicketForm`` validated and saved by a staff user:
  ticket, follow-up, notification e-mails, backlinks) against ``Helpdesk.open`` with
  the demo's routing rules, SLA policies and dedupe;
- reply+resolve: its ``update_ticket`` with a public comment and the resolved status
  against ``Helpdesk.comment`` and ``Helpdesk.fire(..., "resolve")``;
- the sweep: its ``escalate_tickets`` command (every ticket of a queue past its
  escalation days: priority raised, e-mails, a follow-up) against ``Helpdesk.tick``
  with every ticket's first response due (warning, breach, escalation actions).

Both sides write to an SQLite file in a temporary folder (Django's own settings are
made in this script; e-mail goes to Django's in-memory backend). Printed: time per
ticket of each (the median for intake and reply+resolve, the total over the tickets
for the sweep, which each side runs as one command) and the ratio (targets: intake
>= 10x, reply+resolve >= 3x, sweep >= 10x).
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ticketkit import SQLiteStore

sys.path.insert(0, str(Path(__file__).parent))
from bench_desk import Bench, customer

from ticketkit.cli._demo import START
from ticketkit.testing import ManualClock


def setup_django(folder: Path) -> None:
    try:
        import django
        from django.conf import settings
    except ImportError:
        sys.exit("django-helpdesk is not installed: pip install 'ticketkit[bench]'")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        USE_TZ=True,
        TIME_ZONE="UTC",
        SITE_ID=1,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "django.db")}},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.sites",
            "django.contrib.messages",
            "django.contrib.humanize",
            "rest_framework",
            "helpdesk",
        ],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        HELPDESK_TEAMS_MODE_ENABLED=False,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {"context_processors": []},
            }
        ],
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    from django.db import connection

    with connection.cursor() as cur:  # the same durability as SQLiteStore (WAL, synchronous NORMAL)
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")


def median_time(fn: Callable[[int], object], count: int) -> float:
    """The median seconds of ``fn(i)`` for i in range(count) (robust to a busy machine)."""
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def django_side(n: int) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from helpdesk.forms import TicketForm
    from helpdesk.models import Queue, Ticket
    from helpdesk.update_ticket import update_ticket

    staff = get_user_model().objects.create_user("li", "li@example.cn", "pw", is_staff=True)
    queue = Queue.objects.create(
        title="After-sales", slug="after-sales", escalate_days=1, email_address="desk@example.cn"
    )
    choices = [(queue.id, queue.title)]
    out: dict[str, float] = {}

    def open_one(i: int) -> Any:
        form = TicketForm(
            data={
                "queue": str(queue.id),
                "title": f"Request {i}",
                "body": "The jacket is one size too small; I want an exchange.",
                "priority": "3",
                "submitter_email": f"c{i}@example.cn",
                "assigned_to": str(staff.id),
            },
            queue_choices=choices,
        )
        assert form.is_valid(), form.errors
        return form.save(user=staff)

    open_one(-1)
    t0 = time.perf_counter()
    tickets = [open_one(i) for i in range(2 * n)]
    out["intake"] = (time.perf_counter() - t0) / (2 * n)

    t0 = time.perf_counter()
    for t in tickets[:n]:
        update_ticket(
            staff,
            t,
            comment="A courier picks it up tomorrow.",
            public=True,
            new_status=Ticket.RESOLVED_STATUS,
        )
    out["reply+resolve"] = (time.perf_counter() - t0) / n
    assert Ticket.objects.filter(status=Ticket.RESOLVED_STATUS).count() == n

    # The other half is two days old: all due for escalation.
    Ticket.objects.filter(id__in=[t.id for t in tickets[n:]]).update(
        created=timezone.now() - timedelta(days=3)
    )
    t0 = time.perf_counter()
    call_command("escalate_tickets", stdout=io.StringIO())
    out["sweep"] = (time.perf_counter() - t0) / n
    assert (
        Ticket.objects.filter(id__in=[t.id for t in tickets[n:]], last_escalation__isnull=False).count() == n
    )
    return out


def ticketkit_side(n: int, folder: Path) -> dict[str, float]:
    store = SQLiteStore(folder / "ticketkit.db")
    clock = ManualClock(START + timedelta(hours=2))
    b = Bench(store, clock)
    desk = b.desk
    out: dict[str, float] = {}

    def open_one(i: int) -> Any:
        clock.advance(timedelta(seconds=1))
        return desk.open(
            subject=f"Request {i}",
            channel="web",
            customer=customer(i + 10),
            category=("size", "quality", "delivery", "refund")[i % 4],
            description="The jacket is one size too small; I want an exchange.",
        )

    open_one(-5)
    tickets: list[Any] = []
    out["intake"] = median_time(lambda i: tickets.append(open_one(i)), 2 * n)
    assert len({t.id for t in tickets}) == 2 * n
    for t in tickets[:n]:  # django-helpdesk's tickets are open on arrival; ours are taken up first
        desk.fire(t.id, "open", actor=b.agent)

    def reply(i: int) -> None:
        desk.comment(tickets[i].id, "A courier picks it up tomorrow.", actor=b.agent)
        desk.fire(tickets[i].id, "resolve", actor=b.agent)

    out["reply+resolve"] = median_time(reply, n)
    clock.set(b.cal.add(clock.now(), timedelta(hours=5)))
    swept: set[str] = set()
    t0 = time.perf_counter()
    while events := desk.tick(limit=100):
        swept.update(e.ticket_id for e in events)
    out["sweep"] = (time.perf_counter() - t0) / len(swept)
    assert {t.id for t in tickets[n:]} <= swept
    store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="tickets per operation")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup_django(folder)
        # Each side starts with the garbage of what came before collected and frozen, so
        # neither pays the cyclic GC for the other's objects.
        gc.collect()
        gc.freeze()
        theirs = django_side(args.n)
        gc.collect()
        gc.freeze()
        ours = ticketkit_side(args.n, folder)
    targets = {"intake": 10, "reply+resolve": 3, "sweep": 10}
    print(f"{args.n} tickets per operation, SQLite files; ms per ticket")
    print(f"  {'operation':<15}{'django-helpdesk':>17}{'ticketkit':>12}{'ratio':>9}{'target':>9}")
    for op, target in targets.items():
        ratio = theirs[op] / ours[op]
        print(f"  {op:<15}{theirs[op] * 1000:>17.3f}{ours[op] * 1000:>12.3f}{ratio:>8.1f}x{target:>8}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
