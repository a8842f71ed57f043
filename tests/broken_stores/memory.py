"""Broken stores built on InMemoryStore: one realistic bug each."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import attrs

from tests.broken_stores.registry import broken
from ticketkit import ConflictError, Event, InMemoryStore, Ticket, to_dict
from ticketkit.model._models import replace_trusted
from ticketkit.storage import Page, Query, validate_save
from ticketkit.storage._base import (
    Change,
    _check_claim_args,
    _encode_cursor,
    check_due_args,
    instant_key,
    leased,
    read_export,
    validate_changes,
)

# --------------------------------------------------------------------------- writes


@broken("save() does not compare the stored version: the last writer wins", "test_stale_save_conflicts")
class LastWriterWins(InMemoryStore):
    def _check_stored(self, ticket: Ticket, expected: int | None) -> Ticket | None:
        old = self._tickets.get(ticket.id)
        if old is not None and expected is not None:
            expected = old.version
        return super()._check_stored(ticket, expected)


@broken("create() of an existing id replaces the stored ticket", "test_create_existing_id_conflicts")
class CreateOverwrites(InMemoryStore):
    def _check_stored(self, ticket: Ticket, expected: int | None) -> Ticket | None:
        if expected is None:
            return None
        return super()._check_stored(ticket, expected)


@broken("save() of an unknown id creates it (an upsert)", "test_save_of_missing_ticket_conflicts")
class SaveUpserts(InMemoryStore):
    def _check_stored(self, ticket: Ticket, expected: int | None) -> Ticket | None:
        if expected is not None and ticket.id not in self._tickets:
            return None
        return super()._check_stored(ticket, expected)


@broken(
    "save() accepts a ticket whose version is not expected_version + 1", "test_save_needs_the_next_version"
)
class AnyNewVersion(InMemoryStore):
    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        validate_save(attrs.evolve(ticket, version=expected_version + 1), events, expected_version)
        with self._lock:
            old = self._check_stored(ticket, expected_version)
            self._put(ticket, events, old)
        return ticket


@broken(
    "create() skips its argument checks: another ticket's or tenant's event is stored", "test_create_checks"
)
class CreateSkipsChecks(InMemoryStore):
    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        with self._lock:
            self._check_stored(ticket, None)
            self._put(ticket, events, None)
        return ticket


@broken("save() lets a ticket move to another tenant", "test_a_ticket_cannot_change_tenant")
class TenantMoves(InMemoryStore):
    def _check_stored(self, ticket: Ticket, expected: int | None) -> Ticket | None:
        old = self._tickets.get(ticket.id)
        if old is not None and expected == old.version:
            return old
        return super()._check_stored(ticket, expected)


@broken(
    "save_many() checks versions but not tenants: a batch can move a ticket", "test_save_many_cannot_change"
)
class BatchMovesTenant(InMemoryStore):
    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        checked = validate_changes(changes)
        with self._lock:
            olds = []
            for ticket, _, expected in checked:
                old = self._tickets.get(ticket.id)
                if (expected is None) != (old is None) or (old is not None and old.version != expected):
                    raise ConflictError(ticket.id, expected, None if old is None else old.version)
                olds.append(old)
            for (ticket, events, _), old in zip(checked, olds, strict=True):
                self._put(ticket, events, old)
        return [c[0] for c in checked]


@broken(
    "save_many() writes change by change: a conflict late in the batch leaves the earlier ones",
    "all_or_nothing",
)
class BatchOneByOne(InMemoryStore):
    def save_many(self, changes: Iterable[Change]) -> list[Ticket]:
        out = []
        for ticket, events, expected in validate_changes(changes):
            out.append(
                self.create(ticket, events) if expected is None else self.save(ticket, events, expected)
            )
        return out


@broken("import_() creates the file's tickets one by one", "test_import_over_existing_tickets_writes_nothing")
class ImportOneByOne(InMemoryStore):
    def import_(self, fp: IO[str]) -> int:
        changes = read_export(fp)
        for ticket, events, _ in changes:
            self.create(ticket, events)
        return len(changes)


@broken(
    "import_() stops at the first bad line instead of listing them all", "test_import_reports_every_bad_line"
)
class ImportFirstProblemOnly(InMemoryStore):
    def import_(self, fp: IO[str]) -> int:
        lines = [line for line in fp if line.strip()]
        for line in lines[1:]:
            read_export(io.StringIO(lines[0] + line))  # raises on the first bad line alone
        return super().import_(io.StringIO("".join(lines)))


@broken("events() returns events sorted by their time, not in save order", "in_save_order")
class EventsByTime(InMemoryStore):
    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        return sorted(super().events(ticket_id, tenant=tenant), key=lambda e: e.at)


@broken("save() replaces the ticket's events instead of appending to them", "in_save_order", "each_version")
class EventsReplaced(InMemoryStore):
    def _put(self, ticket: Ticket, events: Sequence[Event], old: Ticket | None) -> None:
        super()._put(ticket, events, None if events else old)


# --------------------------------------------------------------------------- tenants


@broken("get() ignores tenant=", "test_reads_never_cross_tenants")
class GetIgnoresTenant(InMemoryStore):
    def get(self, ticket_id: str, *, tenant: str | None = None) -> Ticket:
        return super().get(ticket_id)


@broken("events() ignores tenant=", "test_reads_never_cross_tenants")
class EventsIgnoreTenant(InMemoryStore):
    def events(self, ticket_id: str, *, tenant: str | None = None) -> list[Event]:
        return super().events(ticket_id)


@broken("count() forgets the tenant (a fast COUNT written apart from query)", "tenant")
class CountIgnoresTenant(InMemoryStore):
    def run_count(self, query: Query) -> int:
        return sum(1 for t in self.scan() if attrs.evolve(query, tenant=None).matches(t))


@broken("export(tenant=) exports every tenant", "test_claims_and_exports_never_cross_tenants")
class ExportIgnoresTenant(InMemoryStore):
    def export(self, fp: IO[str], *, tenant: str | None = None) -> int:
        return super().export(fp)


@broken("due(tenant=) returns every tenant's due tickets", "test_reads_never_cross_tenants")
class DueIgnoresTenant(InMemoryStore):
    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        return super().due(at, limit=limit)


# --------------------------------------------------------------------------- due and claims


@broken(
    "due() keeps next_due_at < at, missing the tickets due at that very instant", "test_due_returns_oldest"
)
class DueExclusive(InMemoryStore):
    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        return super().due(at - timedelta(microseconds=1), limit=limit, tenant=tenant)


@broken("due() orders by the checkpoint's wall-clock text, not its instant", "test_due_returns_oldest")
class DueByWallClock(InMemoryStore):
    def due(self, at: datetime, *, limit: int = 100, tenant: str | None = None) -> list[Ticket]:
        check_due_args(at, limit)
        found = [t for t in self.scan(tenant=tenant) if t.next_due_at is not None and t.next_due_at <= at]
        found.sort(key=lambda t: (str(t.next_due_at), t.id))
        return found[:limit]


@broken("claim_due() accepts a zero lease (checks only that it is not negative)", "test_claim_due_checks")
class ZeroLease(InMemoryStore):
    def claim_due(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100, tenant: str | None = None
    ) -> list[Ticket]:
        if isinstance(lease, timedelta) and lease == timedelta(0):
            with self._lock:
                claimed = [leased(t, at) for t in self._due_locked(instant_key(at), limit, tenant)]
                for t in claimed:
                    self._put(t, (), self._tickets[t.id])
            return claimed
        return super().claim_due(at, worker=worker, lease=lease, limit=limit, tenant=tenant)


@broken("claim_due() records the claim but forgets to move next_due_at", "test_claiming_until_nothing_is_due")
class IgnoresLease(InMemoryStore):
    def claim_due(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100, tenant: str | None = None
    ) -> list[Ticket]:
        _check_claim_args(at, worker, lease, limit)
        with self._lock:
            claimed = []
            for t in self._due_locked(instant_key(at), limit, tenant):
                new = replace_trusted(t, version=t.version + 1)
                self._put(new, (), t)
                claimed.append(new)
            return claimed


@broken("claim_due() moves the checkpoint without a new version", "test_claim_due_is_exclusive")
class ClaimKeepsVersion(InMemoryStore):
    def claim_due(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100, tenant: str | None = None
    ) -> list[Ticket]:
        claimed = super().claim_due(at, worker=worker, lease=lease, limit=limit, tenant=tenant)
        with self._lock:
            out = [replace_trusted(t, version=t.version - 1) for t in claimed]
            for t in out:
                self._tickets[t.id] = t
        return out


@broken(
    "claim_due() reads the due tickets, then writes them without a version check",
    "concurrent_workers",
    "claims_race",
)
class RacyClaim(InMemoryStore):
    def claim_due(
        self, at: datetime, *, worker: str, lease: timedelta, limit: int = 100, tenant: str | None = None
    ) -> list[Ticket]:
        _check_claim_args(at, worker, lease, limit)
        claimed = []
        for t in self.due(at, limit=limit, tenant=tenant):
            new = leased(t, at + lease)
            with self._lock:
                self._put(new, (), self._tickets[t.id])
            claimed.append(new)
        return claimed


@broken(
    "save() checks the version under the lock, then writes in a second locked step", "one_winner_per_version"
)
class RacySave(InMemoryStore):
    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        validate_save(ticket, events, expected_version)
        with self._lock:
            old = self._check_stored(ticket, expected_version)
        with self._lock:
            self._put(ticket, events, old)
        return ticket


# --------------------------------------------------------------------------- queries and pages


class _Filtering(InMemoryStore):
    """A store answering queries through its own ``_matches`` (the bug lives there)."""

    def _matches(self, query: Query, ticket: Ticket) -> bool:
        return query.matches(ticket)

    def run_query(self, query: Query) -> Page:
        keyed = [
            (query.sort_key(t), t)
            for t in self.scan(tenant=query.tenant)
            if self._matches(query, t) and query.is_after_cursor(query.sort_key(t))
        ]
        keyed.sort(key=lambda kt: kt[0], reverse=query.descending)
        return query.make_page([t for _, t in keyed[: query.limit + 1]])

    def run_count(self, query: Query) -> int:
        return sum(1 for t in self.scan(tenant=query.tenant) if self._matches(query, t))


@broken("an empty list of values matches every ticket instead of none", "test_filter_boundaries")
class EmptyListMatchesAll(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        if query.status == frozenset():  # "IN ()" is not valid SQL, so the clause was dropped
            query = attrs.evolve(query, status=None)
        return query.matches(ticket)


@broken("tags= matches tickets having any of the tags, not all", "filter")
class TagsAnyOf(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        if query.tags and not query.tags & ticket.tags:
            return False
        return attrs.evolve(query, tags=frozenset()).matches(ticket)


@broken("updated_since excludes its own instant", "filter")
class UpdatedSinceExclusive(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        return query.matches(ticket) and ticket.updated_at != query.updated_since


@broken("created_before includes its own instant", "filter")
class CreatedBeforeInclusive(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        if query.created_before is not None and ticket.created_at == query.created_before:
            return attrs.evolve(query, created_before=None).matches(ticket)
        return query.matches(ticket)


@broken("next_due_before excludes its own instant", "filter")
class NextDueBeforeExclusive(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        return query.matches(ticket) and not (
            query.next_due_before is not None and ticket.next_due_at == query.next_due_before
        )


@broken("text= folds case with str.lower(), not str.casefold()", "text")
class LowerNotCasefold(_Filtering):
    def _matches(self, query: Query, ticket: Ticket) -> bool:
        if query.text is not None and query.text.lower() not in ticket.subject.lower():
            return False
        return attrs.evolve(query, text=None).matches(ticket)


@broken("priority is ordered by its name, not its rank", "test_query_orders")
class PriorityByName(InMemoryStore):
    def run_query(self, query: Query) -> Page:
        if query.order_by != "priority":
            return super().run_query(query)
        rows = [t for t in self.scan(tenant=query.tenant) if query.matches(t)]
        rows.sort(key=lambda t: (t.priority.value, t.id), reverse=query.descending)
        return Page(items=tuple(rows[: query.limit]), next_cursor=None)


@broken("tickets without a next checkpoint sort first (NULLS FIRST)", "next_due")
class NoDueFirst(_Filtering):
    def run_query(self, query: Query) -> Page:
        page = super().run_query(query)
        if query.order_by != "next_due_at" or query.descending:
            return page
        items = sorted(page.items, key=lambda t: t.next_due_at is not None)
        return Page(items=tuple(items), next_cursor=page.next_cursor)


@broken("a full last page still gets a next_cursor", "test_a_full_last_page_has_no_cursor")
class FullLastPageCursor(_Filtering):
    def run_query(self, query: Query) -> Page:
        page = super().run_query(query)
        if page.next_cursor is None and len(page) == query.limit:
            key, tid = query.sort_key(page.items[-1])
            return Page(items=page.items, next_cursor=_encode_cursor(query.order_token, key, tid))
        return page


@broken(
    "the cursor compares the order key only, so tickets tied with the last one are skipped",
    "pagination",
    "orders",
)
class CursorOnKeyOnly(_Filtering):
    def run_query(self, query: Query) -> Page:
        if query.after is not None and query.order_by != "id":
            bound = query.after[0]
            query = attrs.evolve(query, after=(bound, "\U0010ffff") if not query.descending else (bound, ""))
        return super().run_query(query)


@broken("descending order sorts the key down but the ids up", "test_query_orders")
class DescendingTiesUp(InMemoryStore):
    def run_query(self, query: Query) -> Page:
        rows = [t for t in self.scan(tenant=query.tenant) if query.matches(t)]
        if not query.descending:
            return super().run_query(query)
        rows.sort(key=lambda t: t.id)
        rows.sort(key=lambda t: query.sort_key(t)[0], reverse=True)
        after = [t for t in rows if query.is_after_cursor(query.sort_key(t))]
        return query.make_page(after[: query.limit + 1])


@broken("a page holds limit + 1 tickets (the look-ahead row is not cut)", "limit", "pagination", "orders")
class LookAheadShown(_Filtering):
    def run_query(self, query: Query) -> Page:
        page = super().run_query(attrs.evolve(query, limit=query.limit + 1))
        if page.next_cursor is None:
            return page
        return Page(items=page.items, next_cursor=query.make_page(page.items).next_cursor)


@broken("scan(tenant=) ignores the tenant, so the default query() and count() leak", "tenant")
class ScanIgnoresTenant(InMemoryStore):
    def scan(self, *, tenant: str | None = None) -> Iterator[Ticket]:
        return super().scan()


# --------------------------------------------------------------------------- values


class _Transforming(InMemoryStore):
    """A store whose storage changes values on the way in (the bug is ``_stored``)."""

    def _stored(self, ticket: Ticket) -> Ticket:
        return ticket

    def _put(self, ticket: Ticket, events: Sequence[Event], old: Ticket | None) -> None:
        super()._put(self._stored(ticket), events, old)

    def create(self, ticket: Ticket, events: Sequence[Event] = ()) -> Ticket:
        super().create(ticket, events)
        return self.get(ticket.id)

    def save(self, ticket: Ticket, events: Sequence[Event], expected_version: int) -> Ticket:
        super().save(ticket, events, expected_version)
        return self.get(ticket.id)


def _map_json(value: Any, fn: Any) -> Any:
    if isinstance(value, dict):
        return {k: _map_json(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_json(v, fn) for v in value]
    return fn(value)


@broken(
    "custom-field true/false come back as 1/0 (a column with no boolean type)",
    "keep_their_types",
    "round_trips",
)
class BooleansAsIntegers(_Transforming):
    def _stored(self, ticket: Ticket) -> Ticket:
        fields = _map_json(to_dict(ticket)["fields"], lambda v: int(v) if isinstance(v, bool) else v)
        return attrs.evolve(ticket, fields=fields)


@broken("integral floats come back as integers (1.0 becomes 1)", "keep_their_types", "round_trips")
class IntegralFloatsAsIntegers(_Transforming):
    def _stored(self, ticket: Ticket) -> Ticket:
        def fix(v: Any) -> Any:
            return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v

        return attrs.evolve(ticket, fields=_map_json(to_dict(ticket)["fields"], fix))


@broken("datetimes come back converted to UTC: the offset is lost", "offset", "round_trips")
class OffsetsToUtc(_Transforming):
    def _stored(self, ticket: Ticket) -> Ticket:
        return attrs.evolve(
            ticket, created_at=ticket.created_at.astimezone(UTC), updated_at=ticket.updated_at.astimezone(UTC)
        )


@broken("timestamps are kept to the millisecond", "offset", "round_trips")
class Milliseconds(_Transforming):
    def _stored(self, ticket: Ticket) -> Ticket:
        def ms(d: datetime) -> datetime:
            return d.replace(microsecond=d.microsecond // 1000 * 1000)

        return attrs.evolve(ticket, created_at=ms(ticket.created_at), updated_at=ms(ticket.updated_at))


@broken("first_response_at comes back naive (read from a column without time zone)", "offset", "round_trips")
class NaiveTimestamps(_Transforming):
    def _stored(self, ticket: Ticket) -> Ticket:
        moment = ticket.first_response_at
        if moment is None:
            return ticket
        return replace_trusted(ticket, first_response_at=moment.astimezone(UTC).replace(tzinfo=None))


@broken("event data keeps only JSON it recognises: -0.0 becomes 0.0", "keep_their_types", "round_trips")
class NegativeZeroLost(InMemoryStore):
    def _put(self, ticket: Ticket, events: Sequence[Event], old: Ticket | None) -> None:
        def fix(v: Any) -> Any:
            return 0.0 if isinstance(v, float) and v == 0 else v

        events = [attrs.evolve(e, data=_map_json(to_dict(e)["data"], fix)) for e in events]
        super()._put(ticket, events, old)
