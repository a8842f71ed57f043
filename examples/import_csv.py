"""Migrate from a spreadsheet: import tickets exported as CSV into a ticketkit store.

Each row becomes a :class:`ticketkit.Ticket` plus the events that tell its story
(created, assigned, first reply, resolved, rated), so reports on the imported history
work exactly as on tickets the desk made itself. Spreadsheet times carry no time zone:
the importer reads them in the zone you name. Every bad cell of every row is reported
at once with its place (``rows[5].opened: ...``, rows counted as in the spreadsheet,
the header being row 1), and nothing is written until the whole file is good. Ticket ids
are derived from the spreadsheet's reference, so importing the same file twice skips
what is already there.

Run it: ``python examples/import_csv.py [tickets.csv] [store.db]``
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit import analytics

HERE = Path(__file__).resolve().parent

# The spreadsheet's status words -> (workflow state, kind) of the default support workflow.
STATUSES = {
    "new": ("new", "new"),
    "open": ("open", "open"),
    "waiting": ("pending", "pending"),
    "resolved": ("resolved", "resolved"),
    "closed": ("closed", "closed"),
}
REQUIRED = ("ref", "opened", "subject", "status")
IMPORTER = "system:csv-import"


def _time(
    row: Mapping[str, str], column: str, tz: tzinfo, problems: list[tk.ErrorDetail], path: str
) -> datetime | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append(
            tk.ErrorDetail(f"{path}.{column}", f"expected a time like '2025-02-03 09:12', got {text!r}")
        )
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def ticket_from_row(row: Mapping[str, str], *, tz: tzinfo, path: str) -> tuple[tk.Ticket, list[tk.Event]]:
    """One spreadsheet row as a ticket and its events.

    Raises:
        ValidationError: every problem in the row, each at ``<path>.<column>``.
    """
    problems: list[tk.ErrorDetail] = []
    problems.extend(
        tk.ErrorDetail(f"{path}.{column}", "this column is required")
        for column in REQUIRED
        if not (row.get(column) or "").strip()
    )
    opened = _time(row, "opened", tz, problems, path)
    first_reply = _time(row, "first_reply", tz, problems, path)
    resolved = _time(row, "resolved", tz, problems, path)
    status_word = (row.get("status") or "").strip().lower()
    if status_word and status_word not in STATUSES:
        problems.append(
            tk.ErrorDetail(
                f"{path}.status", f"unknown status {status_word!r} (expected one of: {', '.join(STATUSES)})"
            )
        )
    status, kind = STATUSES.get(status_word, ("new", "new"))
    if kind in ("resolved", "closed") and resolved is None:
        problems.append(
            tk.ErrorDetail(f"{path}.resolved", f"a {status_word} ticket needs the time it was resolved")
        )
    for column, when in (("first_reply", first_reply), ("resolved", resolved)):
        if opened is not None and when is not None and when < opened:
            problems.append(
                tk.ErrorDetail(f"{path}.{column}", f"{when:%Y-%m-%d %H:%M} is before the ticket was opened")
            )
    rating_text = (row.get("rating") or "").strip()
    rating = int(rating_text) if rating_text.isdigit() and 1 <= int(rating_text) <= 5 else None
    if rating_text and rating is None:
        problems.append(
            tk.ErrorDetail(f"{path}.rating", f"expected a score from 1 to 5, got {rating_text!r}")
        )
    priority = (row.get("priority") or "normal").strip().lower() or "normal"
    try:
        tk.Priority.parse(priority)
    except tk.ValidationError as err:
        problems.extend(err.prefixed(f"{path}.priority").errors)
    if problems:
        raise tk.ValidationError(problems)
    assert opened is not None

    def cell(column: str) -> str | None:
        return (row.get(column) or "").strip() or None

    ref = str(cell("ref"))
    customer = None
    if cell("customer_id"):
        customer = tk.Customer(
            id=str(cell("customer_id")),
            name=cell("customer_name") or "",
            phone=cell("phone"),
            data={"store": cell("shop")} if cell("shop") else {},
        )
    last = max(t for t in (opened, first_reply, resolved) if t is not None)
    ticket = tk.Ticket(
        id=f"import-{ref}",
        external_ref=ref,
        subject=str(cell("subject")),
        created_at=opened,
        updated_at=last,
        channel=cell("channel") or "api",
        customer=customer,
        category=cell("category"),
        priority=priority,
        status=status,
        status_kind=kind,
        team=cell("team"),
        assignee=cell("agent"),
        first_response_at=first_reply,
        resolved_at=resolved if kind in ("resolved", "closed") else None,
        closed_at=resolved if kind == "closed" else None,
        satisfaction=rating,
        tags={"imported"},
    )
    tid = ticket.id
    events = [
        tk.Event(
            ticket_id=tid,
            kind="ticket.created",
            actor=IMPORTER,
            at=opened,
            data={
                "channel": ticket.channel,
                "subject": ticket.subject,
                "category": ticket.category,
                "priority": str(ticket.priority),
                "customer": customer.id if customer else None,
            },
        )
    ]
    if ticket.team or ticket.assignee:
        events.append(
            tk.Event(
                ticket_id=tid,
                kind="ticket.assigned",
                actor=IMPORTER,
                at=opened,
                data={"team": ticket.team, "agent": ticket.assignee, "reason": "imported"},
            )
        )
    if kind != "new":
        events.append(
            tk.Event(
                ticket_id=tid,
                kind="status.changed",
                actor=IMPORTER,
                at=first_reply or opened,
                data={"from": "new", "to": "open", "trigger": "open", "from_kind": "new", "to_kind": "open"},
            )
        )
    if kind in ("resolved", "closed") and resolved is not None:
        events.append(
            tk.Event(
                ticket_id=tid,
                kind="status.changed",
                actor=IMPORTER,
                at=resolved,
                data={
                    "from": "open",
                    "to": status,
                    "trigger": "resolve",
                    "from_kind": "open",
                    "to_kind": kind,
                },
            )
        )
    if rating is not None:
        events.append(
            tk.Event(
                ticket_id=tid,
                kind="ticket.rated",
                actor=IMPORTER,
                at=last,
                data={"score": rating, "remark": None},
            )
        )
    return ticket, sorted(events, key=lambda e: e.at)


def read_csv(
    fp: IO[str] | Iterable[str], *, tz: str = "Asia/Shanghai"
) -> list[tuple[tk.Ticket, list[tk.Event]]]:
    """Every row of the CSV as a ticket and its events.

    Raises:
        ValidationError: every problem of every row, each at ``rows[<spreadsheet row>].<column>``.
    """
    zone = ZoneInfo(tz)
    reader = csv.DictReader(fp)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
    if missing:
        raise tk.ValidationError.one("header", f"missing columns: {', '.join(missing)}")
    out: list[tuple[tk.Ticket, list[tk.Event]]] = []
    problems: list[tk.ErrorDetail] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(reader, start=2):
        ref = (row.get("ref") or "").strip()
        if ref in seen:
            problems.append(tk.ErrorDetail(f"rows[{n}].ref", f"{ref!r} is also on row {seen[ref]}"))
        seen.setdefault(ref, n)
        try:
            out.append(ticket_from_row(row, tz=zone, path=f"rows[{n}]"))
        except tk.ValidationError as err:
            problems.extend(err.errors)
    if problems:
        raise tk.ValidationError(problems)
    return out


def import_csv(
    fp: IO[str] | Iterable[str], store: tk.TicketStore, *, tz: str = "Asia/Shanghai"
) -> tuple[int, int]:
    """Import the CSV into ``store``; ``(imported, skipped as already there)``.

    Nothing is written when any row is bad.
    """
    imported = skipped = 0
    for ticket, events in read_csv(fp, tz=tz):
        try:
            store.create(ticket, events)
        except tk.ConflictError:
            skipped += 1
        else:
            imported += 1
    return imported, skipped


def main(csv_path: Path, db_path: Path) -> None:
    broken = [
        "ref,opened,subject,status,rating\n",
        "A-1,2025-02-30 09:00,Wrong size,resolved,5\n",
        "A-2,2025-02-03 09:00,,done,9\n",
    ]
    try:
        read_csv(broken)
    except tk.ValidationError as err:
        print("A broken sheet is refused, every problem listed:")
        for p in err.errors:
            print(f"  {p.path}: {p.message}")

    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)  # a scratch store for the example
    store = tk.SQLiteStore(db_path)
    try:
        with csv_path.open(encoding="utf-8", newline="") as fp:
            imported, skipped = import_csv(fp, store)
        print(f"\nimported {imported} tickets from {csv_path.name} ({skipped} already there)")
        with csv_path.open(encoding="utf-8", newline="") as fp:
            again = import_csv(fp, store)
        print(f"importing the same file again: {again[0]} imported, {again[1]} skipped")

        office = tk.BusinessCalendar(
            tz="Asia/Shanghai",
            hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]},
            holidays=tk.country_holidays("CN"),
        )
        ds = analytics.Dataset.from_store(store, tz="Asia/Shanghai", calendar=office)
        print("\nFrom the old spreadsheet, in business hours:")
        for metric in ("first_response", "resolution"):
            for row in ds.durations(metric):
                if row.median is not None and row.p90 is not None:
                    med, p90 = analytics.human_duration(row.median), analytics.human_duration(row.p90)
                    print(f"  {metric:<15} median {med:>7}  p90 {p90:>7}  ({row.count} tickets)")
        for csat in ds.csat(by="customer.store"):
            if csat.average is not None:
                print(f"  CSAT {csat.key}: average {csat.average:.1f} from {csat.rated} ratings")
        print("  top categories:", ", ".join(f"{r.key} {r.count}" for r in ds.pareto("category", top=3)))

        # The imported tickets carry on in the helpdesk like any other.
        desk = tk.Helpdesk(store=store, workflows=tk.default_workflow())
        wang = tk.Actor(id="wang", teams={"sh-02"})
        done = desk.fire("import-XL-1009", "resolve", actor=wang)
        print(f"\nXL-1009 continues in ticketkit: now {done.status!r}, version {done.version}")
    finally:
        store.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        Path(args[0]) if args else HERE / "legacy-tickets.csv",
        Path(args[1]) if len(args) > 1 else Path("imported-tickets.db"),
    )
