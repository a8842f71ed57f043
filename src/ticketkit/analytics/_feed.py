"""Keeping a `Dataset` up to date from a store's change feed, reading only what changed."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from ticketkit.analytics._business import CalendarLike
from ticketkit.analytics._dataset import Dataset
from ticketkit.model._models import Event, Ticket


class FeedDataset:
    """A `Dataset` fed incrementally from ``store.changes(after=cursor)``.

    Each [`update`][ticketkit.analytics.FeedDataset.update] reads only the events
    committed since the last one (and the tickets they touch), then returns a
    fresh `Dataset` over everything read so far. ``cursor`` can be kept and
    passed to a new `FeedDataset` together with the tickets and events already
    loaded elsewhere; by default it starts at the beginning of the feed.

    Examples:
        >>> from datetime import datetime, timezone
        >>> import ticketkit as tk
        >>> store = tk.InMemoryStore()
        >>> desk = tk.Helpdesk(store=store)
        >>> _ = desk.open(subject="Wrong size", customer="c-1", category="size")
        >>> feed = FeedDataset()
        >>> len(feed.update(store))
        1
        >>> _ = desk.open(subject="Late", customer="c-2", category="delivery")
        >>> [(r.key, r.count) for r in feed.update(store).pareto("category")]
        [('delivery', 1), ('size', 1)]
    """

    def __init__(
        self,
        *,
        cursor: str | None = None,
        tz: str | tzinfo = "UTC",
        calendar: CalendarLike | None = None,
    ) -> None:
        self._cursor = cursor
        self._tz = tz
        self._calendar = calendar
        self._tickets: dict[str, Ticket] = {}
        self._events: list[Event] = []

    @property
    def cursor(self) -> str | None:
        """Where the next update starts (None: the beginning of the feed)."""
        return self._cursor

    def update(self, store: Any, *, page_size: int = 10_000) -> Dataset:
        """Read the events committed since the last update and the tickets they touch; the new Dataset."""
        changed: set[str] = set()
        while True:
            page = store.changes(self._cursor, limit=page_size)
            self._events.extend(page.events)
            changed.update(e.ticket_id for e in page.events)
            self._cursor = page.cursor
            if len(page.events) < page_size:
                break
        for ticket_id in sorted(changed):
            self._tickets[ticket_id] = store.get(ticket_id)
        return Dataset(self._tickets.values(), self._events, tz=self._tz, calendar=self._calendar)
