"""Analytics over tickets and events: the numbers a service manager decides with.

A [`Dataset`][ticketkit.analytics.Dataset] reads tickets (and, optionally, their events) once into flat
columns: timestamps in ``array('d')`` (NaN for "not yet"), keys in plain lists, and the few facts
events add (reopens, merges, SLA breaches, assignments) in sparse dicts keyed by ticket
position. Every report then runs over those columns with plain loops and ``Counter``s:
no per-ticket objects are made, so a million tickets fit in a few hundred megabytes and
a monthly report takes seconds.

Conventions, the same for every report:

- **Cohorts.** A report over ``[start, end)`` counts the tickets *created* in that
  window (volume, durations, SLA, reopens, links, Pareto, CSAT), except agent
  throughput, which counts tickets *resolved* in the window, and the backlog, which is
  taken at an instant.
- **Keys.** ``by`` names a field like the condition language does: a ticket attribute
  (``channel``, ``category``, ``team``, ``priority``, ``assignee``, ``status_kind``,
  ...), ``customer`` (its id), ``customer.<attr>`` (a Customer attribute, else
  ``customer.data[<attr>]``, e.g. ``customer.store``), ``fields.<key>`` (custom
  fields), a tuple of those for a compound key, or a function of the ticket. A ticket
  without the value is counted under ``None``, so counts always add up. Without
  ``by`` the single row has the key ``"all"``.
- **Time.** Periods (days, ISO weeks, months) are cut at midnight in the dataset's
  time zone. Durations are business time on the dataset's calendar (any object with
  ``between(a, b)``; with ``open_intervals(a, b)`` too, a prefix-sum index makes each
  duration two binary searches), or wall time without a calendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ticketkit.analytics._agents import agents_report
from ticketkit.analytics._backlog import DEFAULT_AGE_BUCKETS, ageing_report, backlog_report
from ticketkit.analytics._business import CalendarLike
from ticketkit.analytics._columns import Columns
from ticketkit.analytics._csat import csat_report
from ticketkit.analytics._durations import durations_report
from ticketkit.analytics._keys import KeySpec
from ticketkit.analytics._links import links_report
from ticketkit.analytics._pareto import pareto_report, top_values_report
from ticketkit.analytics._reopens import reopens_report
from ticketkit.analytics._sla import sla_report
from ticketkit.analytics._table import (
    AgeingRow,
    AgentRow,
    BacklogRow,
    CSATRow,
    DurationRow,
    LinkRow,
    ParetoRow,
    ReopenRow,
    Report,
    SLARow,
    VolumeRow,
)
from ticketkit.analytics._volume import volume_report
from ticketkit.errors import ValidationError
from ticketkit.model._models import Event, Ticket

# No __all__: the public names are re-exported from ticketkit.analytics (a sub-namespace,
# deliberately not from ticketkit itself).


class Dataset(Columns):
    """Tickets and their events read once into columns, ready for every report.

    Args:
        tickets: any iterable of [`Ticket`][ticketkit.Ticket] (read once).
        events: their [`Event`][ticketkit.Event]s in any order (optional; reopen
            rates, merges, spawns, SLA breach events and handling times need them).
            Events of tickets not in ``tickets`` are counted in ``orphan_events``.
        tz: the report time zone (IANA name or tzinfo) periods are cut in.
        calendar: the business calendar durations are measured on (any object with
            ``between(a, b)``); None measures wall-clock time.

    Raises:
        ValidationError: an unknown time zone, a calendar without ``between``, or a
            ticket that is not a Ticket.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> from ticketkit import Ticket
        >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
        >>> ds = Dataset(
        ...     [
        ...         Ticket(subject="a", created_at=t0, channel="wechat", resolved_at=t0 + timedelta(hours=2)),
        ...         Ticket(subject="b", created_at=t0, channel="phone"),
        ...     ]
        ... )
        >>> rows = [(r.key, r.count) for r in ds.volume(period="month", by="channel")]
        >>> rows
        [('phone', 1), ('wechat', 1)]
        >>> ds.durations("resolution")[0].median
        datetime.timedelta(seconds=7200)
    """

    # The loading (reading tickets and events into columns) is `Columns`; each report
    # family lives in its own module, and the methods below are its documented entry points.

    __slots__ = ()

    @classmethod
    def from_store(
        cls,
        store: Any,
        *,
        tz: str | tzinfo = "UTC",
        calendar: CalendarLike | None = None,
        events: bool = True,
        page_size: int = 10_000,
        **filters: Any,
    ) -> Dataset:
        """Read every ticket a store's ``query`` returns (page by page) and their events.

        ``filters`` go to ``store.query`` (``tenant``, ``team``, ``created_since``,
        ``created_before``, ...). With ``events=False`` no ``store.events`` call is made.

        Examples:
            >>> from datetime import datetime, timezone
            >>> import ticketkit as tk
            >>> store = tk.InMemoryStore()
            >>> _ = store.create(tk.Ticket(subject="a", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc)))
            >>> len(Dataset.from_store(store))
            1
        """
        tickets: list[Ticket] = []
        cursor: str | None = None
        while True:
            page = store.query(limit=page_size, cursor=cursor, order_by="created_at", **filters)
            tickets.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break

        def all_events() -> Iterable[Event]:
            for t in tickets:
                yield from store.events(t.id)

        return cls(tickets, all_events() if events else None, tz=tz, calendar=calendar)

    def volume(
        self,
        period: str = "month",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[VolumeRow]:
        """Tickets created per day, ISO week or month (and per key), with the change.

        Every key seen gets a row in every period from the one holding ``start`` (or
        the first ticket) to the one holding ``end`` (or the last ticket), with the
        count of the period before for the same key, so trends can be read directly.

        Raises:
            ValidationError: an unknown period or field, or naive ``start``/``end``.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> ts = [
            ...     Ticket(subject="x", created_at=datetime(2025, m, 2, tzinfo=timezone.utc))
            ...     for m in (2, 3, 3)
            ... ]
            >>> rows = [(r.period, r.count, r.change) for r in Dataset(ts).volume("month")]
            >>> rows
            [('2025-02', 1, 1), ('2025-03', 2, 1)]
        """
        return volume_report(self, period, by=by, start=start, end=end)

    def durations(
        self,
        metric: str = "resolution",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[DurationRow]:
        """Mean, median and p90 business time to first response, resolution or handling.

        ``first_response`` runs from creation to ``first_response_at``; ``resolution``
        from creation to ``resolved_at``; ``handling`` from the last assignment to the
        current assignee (a ``ticket.assigned`` event) or creation, to ``resolved_at``.
        Tickets without the end instant are not measured. Percentiles interpolate
        linearly between ranks (as pandas' ``quantile`` does).

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, first_response_at=t0 + timedelta(minutes=m))
            ...     for m in (10, 20, 60)
            ... ]
            >>> r = Dataset(ts).durations("first_response")[0]
            >>> r.count, r.median, r.p90
            (3, datetime.timedelta(seconds=1200), datetime.timedelta(seconds=3120))
        """
        return durations_report(self, metric, by=by, start=start, end=end)

    def sla(
        self,
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[SLARow]:
        """SLA compliance per metric (and key): tickets measured, met, breached, still running.

        A ticket is measured on a metric when its SLA state has that clock started or
        an ``sla.*`` event names the metric; it breached when the clock has a
        ``breached_at`` or an ``sla.breached`` event exists; it met the target when its
        clock stopped without a breach; otherwise it is still running. Compliance is
        ``met / (met + breached)``: a clock still running within its target has not met
        it yet, so it counts on neither side.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import ClockState, SLAState, Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> def t(breached):
            ...     clock = ClockState(
            ...         metric="resolution", started_at=t0, stopped_at=t0, breached_at=breached
            ...     )
            ...     return Ticket(subject="x", created_at=t0, sla=SLAState(policy="p", clocks=[clock]))
            >>> r = Dataset([t(None), t(t0)]).sla()[0]
            >>> r.metric, r.tickets, r.breached, r.compliance
            ('resolution', 2, 1, 0.5)
        """
        return sla_report(self, by=by, start=start, end=end)

    def backlog(self, at: datetime, *, by: KeySpec = None, business: bool = False) -> Report[BacklogRow]:
        """Tickets open at ``at`` (created by then, not yet resolved or closed), per key.

        A ticket counts as open from its creation until its ``resolved_at`` (or its
        ``closed_at`` when it was closed without a resolution, e.g. cancelled); a
        ticket reopened and resolved again counts as open in between. Ages are wall
        time, or business time with ``business=True``.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [Ticket(subject="a", created_at=t0), Ticket(subject="b", created_at=t0, resolved_at=t0)]
            >>> r = Dataset(ts).backlog(t0 + timedelta(days=2))[0]
            >>> r.count, r.oldest_age
            (1, datetime.timedelta(days=2))
        """
        return backlog_report(self, at, by=by, business=business)

    def ageing(
        self,
        at: datetime,
        *,
        by: KeySpec = None,
        buckets: Sequence[timedelta] = DEFAULT_AGE_BUCKETS,
        business: bool = False,
    ) -> Report[AgeingRow]:
        """Open tickets at ``at`` by age bucket (and key); every bucket gets a row.

        ``buckets`` are increasing upper bounds; the last bucket is open-ended.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> r = Dataset([Ticket(subject="a", created_at=t0)]).ageing(t0 + timedelta(days=2))
            >>> buckets = [(row.bucket, row.count) for row in r]
            >>> buckets
            [('<1d', 0), ('1-3d', 1), ('3-7d', 0), ('7-14d', 0), ('14-30d', 0), ('30d+', 0)]
        """
        return ageing_report(self, at, by=by, buckets=buckets, business=business)

    def reopens(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[ReopenRow]:
        """Reopen rate: of the tickets ever resolved, how many went back to an open kind.

        A reopen is a ``status.changed`` event from a resolved or closed kind to a new,
        open or pending kind (so it needs events).

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Event, Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="a", id="A", created_at=t0, resolved_at=t0),
            ...     Ticket(subject="b", id="B", created_at=t0, resolved_at=t0),
            ... ]
            >>> ev = [
            ...     Event(
            ...         ticket_id="A",
            ...         kind="status.changed",
            ...         actor="c",
            ...         at=t0,
            ...         data={"from_kind": "resolved", "to_kind": "open"},
            ...     )
            ... ]
            >>> r = Dataset(ts, ev).reopens()[0]
            >>> r.resolved, r.reopened, r.rate
            (2, 1, 0.5)
        """
        return reopens_report(self, by=by, start=start, end=end)

    def links(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[LinkRow]:
        """Merges, splits and spawned children among the tickets of each key.

        Counted from ``ticket.merged`` (on the merged ticket, ``into``), ``ticket.split``
        (``into``) and ``ticket.spawned`` (on the parent, ``child``) events, and
        ``parent_id`` for children.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Event, Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [Ticket(subject="a", id="A", created_at=t0), Ticket(subject="b", id="B", created_at=t0)]
            >>> ev = [Event(ticket_id="A", kind="ticket.merged", actor="li", at=t0, data={"into": "B"})]
            >>> r = Dataset(ts, ev).links()[0]
            >>> r.tickets, r.merged, r.spawned
            (2, 1, 0)
        """
        return links_report(self, by=by, start=start, end=end)

    def pareto(
        self,
        field: KeySpec = "category",
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
        threshold: float = 0.8,
        top: int | None = None,
        skip_none: bool = False,
    ) -> Report[ParetoRow]:
        """Values of ``field`` by count, with shares and cumulative shares (per ``by`` group).

        The rows up to and including the one where the cumulative share reaches
        ``threshold`` are the "vital few" (``vital=True``). A field holding a list
        (``tags``, a list in ``fields``) counts each element. ``top`` keeps the first
        rows of each group; ``skip_none`` leaves out tickets without a value.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> cats = ["size", "size", "size", "late", "broken"]
            >>> rows = Dataset([Ticket(subject="x", created_at=t0, category=c) for c in cats]).pareto(
            ...     "category"
            ... )
            >>> table = [(r.key, r.count, r.vital) for r in rows]
            >>> table
            [('size', 3, True), ('broken', 1, True), ('late', 1, False)]
        """
        return pareto_report(
            self, field, by=by, start=start, end=end, threshold=threshold, top=top, skip_none=skip_none
        )

    def top_values(
        self,
        field: KeySpec = "fields.fault",
        n: int = 10,
        *,
        by: KeySpec = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Report[ParetoRow]:
        """The ``n`` most frequent values of ``field`` (e.g. fault types), tickets without one left out.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> faults = ["zip", "zip", None, "seam"]
            >>> ts = [Ticket(subject="x", created_at=t0, fields={"fault": f} if f else {}) for f in faults]
            >>> top = [(r.key, r.count) for r in Dataset(ts).top_values("fields.fault", 1)]
            >>> top
            [('zip', 2)]
        """
        return top_values_report(self, field, n, by=by, start=start, end=end)

    def csat(
        self, *, by: KeySpec = None, start: datetime | None = None, end: datetime | None = None
    ) -> Report[CSATRow]:
        """Customer satisfaction: ratings, average score, share of 4-5 and the distribution.

        Examples:
            >>> from datetime import datetime, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, resolved_at=t0, satisfaction=s)
            ...     for s in (5, 4, 2, None)
            ... ]
            >>> r = Dataset(ts).csat()[0]
            >>> r.rated, r.average, round(r.csat, 3), r.score_2
            (3, 3.6666666666666665, 0.667, 1)
        """
        return csat_report(self, by=by, start=start, end=end)

    def agents(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        agent: KeySpec = "assignee",
        by: KeySpec = None,
    ) -> Report[AgentRow]:
        """Per agent: tickets assigned (created in the window), resolved in the window,
        resolutions per day, handling time, CSAT of what they resolved and reopens.

        With ``by``, the agent column holds ``(by value, agent)`` pairs.

        Examples:
            >>> from datetime import datetime, timedelta, timezone
            >>> from ticketkit import Ticket
            >>> t0 = datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
            >>> ts = [
            ...     Ticket(subject="x", created_at=t0, assignee="li", resolved_at=t0 + timedelta(hours=h))
            ...     for h in (1, 3)
            ... ]
            >>> r = Dataset(ts).agents(start=t0, end=t0 + timedelta(days=1))[0]
            >>> r.agent, r.resolved, r.per_day, r.handling_median
            ('li', 2, 2.0, datetime.timedelta(seconds=7200))
        """
        return agents_report(self, start=start, end=end, agent=agent, by=by)


def load(
    source: Any,
    events: Iterable[Event] | None = None,
    *,
    tz: str | tzinfo = "UTC",
    calendar: CalendarLike | None = None,
) -> Dataset:
    """A `Dataset` from a Dataset (returned as is), a store, or an iterable of tickets.

    A store is anything with ``query`` and ``events`` methods; its tickets are read page
    by page and ``events`` is ignored (the store's own events are read).

    Examples:
        >>> from datetime import datetime, timezone
        >>> from ticketkit import Ticket
        >>> len(load([Ticket(subject="a", created_at=datetime(2025, 3, 3, tzinfo=timezone.utc))]))
        1
    """
    if isinstance(source, Dataset):
        return source
    if callable(getattr(source, "query", None)) and callable(getattr(source, "events", None)):
        return Dataset.from_store(source, tz=tz, calendar=calendar)
    if isinstance(source, Iterable):
        return Dataset(source, events, tz=tz, calendar=calendar)
    raise ValidationError.one(
        "source", f"expected tickets, a TicketStore or a Dataset, got {type(source).__name__}"
    )
