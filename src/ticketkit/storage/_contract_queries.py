"""The contract's query family: every filter, text search, orders and pagination.

Expected results come from `expected_ids`, a slow reference written apart from
``Query.matches`` (so a mistake there cannot hide a store's), itself pinned by the
hand-written boundary cases.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ticketkit.errors import ValidationError
from ticketkit.model._models import Customer, Priority, Ticket
from ticketkit.storage._base import ORDER_KEYS, TicketStore
from ticketkit.storage._contract_support import SH, T0, ContractBase, due, ids, tk

_H = timedelta(hours=1)


def _customer(cid: str, tenant: str = "default") -> Customer:
    return Customer(id=cid, tenant=tenant)


# The tickets the query checks run on: two tenants whose values overlap, so a filter
# that forgets the tenant (or its parentheses) returns the other tenant's tickets.
DATASET: tuple[tuple[int, dict[str, Any]], ...] = (
    (1, {"status": "new", "status_kind": "new", "priority": "low", "tags": {"a"}, "category": "billing",
         "customer": _customer("c1"), "subject": "Refund for ORDER 17"}),
    (2, {"status": "open", "status_kind": "open", "team": "t1", "assignee": "li", "tags": {"a", "b"},
         "customer": _customer("c1"), "subject": "Stra\u00dfe gesperrt"}),
    (3, {"status": "open", "status_kind": "open", "team": "t2", "assignee": "wang", "priority": "high",
         "customer": _customer("c2"), "category": "billing", "subject": "\u00d6lwechsel n\u00f6tig",
         "tags": {"vip-old"}}),
    (4, {"status": "waiting", "status_kind": "pending", "team": "t1", "priority": "urgent",
         "tags": {"b", "vip"}, "parent_id": "T0002", "sla": due(T0 + 5 * _H),
         "subject": "\u51b0\u7bb1\u4e0d\u5236\u51b7"}),
    (5, {"status": "resolved", "status_kind": "resolved", "team": "t1", "assignee": "li",
         "customer": _customer("c1"), "sla": due(T0 + _H), "subject": "100% refund_now",
         "updated_at": T0 + 3 * _H}),
    (6, {"status": "closed", "status_kind": "closed", "priority": "high", "tags": {"a", "b", "c"},
         "subject": "refund again", "parent_id": "T0002", "category": "shipping"}),
    (7, {"status": "open", "status_kind": "open", "team": "t2", "category": "shipping",
         "sla": due(datetime(2025, 3, 3, 18, tzinfo=SH)), "updated_at": T0 + timedelta(days=2),
         "subject": "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2"}),
    (8, {"tenant": "other", "status": "new", "status_kind": "new", "team": "t1", "assignee": "li",
         "customer": _customer("c1", "other"), "category": "billing", "priority": "high", "tags": {"a"},
         "sla": due(T0), "subject": "refund for the other tenant"}),
    (9, {"tenant": "other", "status": "closed", "status_kind": "closed", "team": "t2", "assignee": "wang",
         "customer": _customer("c2", "other"), "category": "shipping", "priority": "low",
         "tags": {"vip", "b"}, "parent_id": "T0002", "subject": "ORDER 99 Stra\u00dfe",
         "sla": due(T0 + 5 * _H)}),
    (10, {"status": "open", "status_kind": "open", "team": "t3", "assignee": "zhao", "tags": {"c"},
          "subject": "a_b*c?[d]\\e", "sla": due(T0 + 5 * _H),
          "created_at": datetime(2025, 3, 3, 17, 9, tzinfo=SH)}),
)  # fmt: skip

# Values each filter is tried with: one value, several (some matching nothing), edges.
FILTER_VALUES: Mapping[str, tuple[Any, ...]] = {
    "status": ("open", ["new", "closed"], ["waiting", "missing"]),
    "status_kind": ("open", ["open", "pending"], ["new", "closed"]),
    "team": ("t1", ["t2", "t3"]),
    "assignee": ("li", ["li", "wang"]),
    "customer": ("c1", ["c2", "c9"]),
    "category": ("billing", ["billing", "shipping"]),
    "priority": ("high", ["urgent", Priority.LOW], "normal"),
    "tags": ("a", ["a", "b"], "vip", ["b", "vip"]),
    "created_since": (T0 + timedelta(minutes=3), datetime(2025, 3, 3, 17, 5, tzinfo=SH)),
    "created_before": (T0 + timedelta(minutes=3), T0 + timedelta(minutes=9)),
    "updated_since": (T0 + 3 * _H, T0 + timedelta(days=2)),
    "updated_before": (T0 + 3 * _H, T0 + timedelta(minutes=2)),
    "text": ("refund", "ORDER", "STRASSE", "\u51b7", "%", "_"),
    "next_due_before": (T0, T0 + _H, datetime(2025, 3, 3, 22, tzinfo=SH)),
    "parent_id": ("T0002", "T0009"),
}

# Edges every store must get right: (filters, the numbers of the tickets expected).
BOUNDARY_CASES: tuple[tuple[dict[str, Any], list[int]], ...] = (
    ({"created_since": T0 + timedelta(minutes=5)}, [5, 6, 7, 8, 9, 10]),
    ({"created_before": T0 + timedelta(minutes=5)}, [1, 2, 3, 4]),
    ({"created_before": datetime(2025, 3, 3, 17, 9, tzinfo=SH)}, [1, 2, 3, 4, 5, 6, 7, 8]),
    ({"created_since": datetime(2025, 3, 3, 4, 9, tzinfo=timezone(timedelta(hours=-5)))}, [9, 10]),
    ({"updated_since": T0 + 3 * _H}, [5, 7]),
    ({"updated_before": T0 + 3 * _H, "updated_since": T0 + timedelta(minutes=10)}, []),
    ({"updated_before": T0 + 3 * _H + timedelta(microseconds=1)}, [1, 2, 3, 4, 5, 6, 8, 9, 10]),
    ({"next_due_before": T0 + _H}, [5, 7, 8]),
    ({"next_due_before": T0 + _H - timedelta(microseconds=1)}, [8]),
    ({"next_due_before": datetime(2025, 3, 3, 17, tzinfo=SH)}, [8]),
    ({"next_due_before": datetime(2025, 3, 3, 16, 59, tzinfo=SH)}, []),
    ({"tags": "vip"}, [4, 9]),
    ({"tags": "vip-old"}, [3]),
    ({"tags": ["b", "vip"], "tenant": "default"}, [4]),
    ({"tags": "vi"}, []),
    ({"customer": "c1", "tenant": "other"}, [8]),
    ({"status": ["new", "closed"], "tenant": "default"}, [1, 6]),
    ({"team": ["t1", "t2"], "tenant": "other"}, [8, 9]),
    ({"priority": ["urgent", "low"], "tenant": "default"}, [1, 4]),
    ({"parent_id": "T0002", "tenant": "default"}, [4, 6]),
    ({"status": [], "tenant": "default"}, []),
    ({"tags": []}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
)

# Text search: casefold (not lower, not ASCII-only), every character literal, CJK substrings.
TEXT_CASES: tuple[tuple[str, list[int]], ...] = (
    ("refund", [1, 5, 6, 8]),
    ("REFUND FOR", [1, 8]),
    ("ORDER", [1, 9]),
    ("\u00d6LWECHSEL", [3]),
    ("STRASSE", [2, 9]),
    ("stra\u00dfe", [2, 9]),
    ("\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c3", [7]),
    ("\u51b7", [4]),
    ("\u4e0d\u5236", [4]),
    ("\u51b0\u7bb1\u51b7", []),
    ("%", [5]),
    ("100%", [5]),
    ("%refund", []),
    ("_", [5, 10]),
    ("r_f", []),
    ("d_n", [5]),
    ("*", [10]),
    ("?", [10]),
    ("[d]", [10]),
    ("\\", [10]),
    ("a%b", []),
    ("", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
)

_TENANTS = (None, "default", "other")


def _many(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | Priority) else list(value)


def _prio(value: Any) -> Priority:
    return value if isinstance(value, Priority) else Priority(value)


def _passes(t: Ticket, name: str, value: Any) -> bool:
    """Whether ticket ``t`` passes filter ``name=value`` (the reference, written plainly)."""
    plain = {"tenant": t.tenant, "status": t.status, "status_kind": t.status_kind, "team": t.team,
             "assignee": t.assignee, "category": t.category, "parent_id": t.parent_id}  # fmt: skip
    if name in ("tenant", "parent_id"):
        return bool(plain[name] == value)
    if name in plain:
        return plain[name] in _many(value)
    if name == "customer":
        return t.customer is not None and t.customer.id in _many(value)
    if name == "priority":
        return t.priority in {_prio(v) for v in _many(value)}
    if name == "tags":
        return all(tag in t.tags for tag in _many(value))
    if name == "text":
        return str(value).casefold() in t.subject.casefold()
    if name == "next_due_before":
        return t.next_due_at is not None and t.next_due_at <= value
    moment = {"created": t.created_at, "updated": t.updated_at}[name.split("_", maxsplit=1)[0]]
    return bool(moment >= value if name.endswith("_since") else moment < value)


def _order_key(t: Ticket, key: str) -> tuple[Any, ...]:
    if key == "next_due_at":
        return (t.next_due_at is None, t.next_due_at or T0)
    if key == "priority":
        return (list(Priority).index(t.priority),)
    if key == "id":
        return ()
    return (getattr(t, key),)


def expected_ids(
    tickets: Mapping[int, Ticket], filters: Mapping[str, Any], order_by: str = "created_at"
) -> list[str]:
    """The ids a query must return: the reference filter and order (ties by id)."""
    key = order_by.lstrip("-")
    found = [t for t in tickets.values() if all(_passes(t, n, v) for n, v in filters.items())]
    found.sort(key=lambda t: (*_order_key(t, key), t.id), reverse=order_by.startswith("-"))
    return ids(found)


def _show(filters: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items())


def walk(
    store: TicketStore, *, limit: int, order_by: str = "created_at", **filters: Any
) -> tuple[list[str], str | None]:
    """Every page of a query, in order, and the first problem with the cursors (bounded)."""
    seen: list[str] = []
    cursor = None
    for number in range(1, 100):
        page = store.query(**filters, order_by=order_by, limit=limit, cursor=cursor)
        if len(page) > limit:
            return seen, f"page {number} held {len(page)} tickets with limit={limit}"
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            return seen, None
        if len(page) < limit:
            return seen, f"page {number} held {len(page)} < limit={limit} tickets but still had a next_cursor"
    return seen, "the pages never ended: next_cursor kept coming after every ticket was returned"


def check_query(store: TicketStore, tickets: Mapping[int, Ticket], filters: Mapping[str, Any]) -> list[str]:
    """Compare query, count and the paged walk with the reference; the problems found."""
    want = expected_ids(tickets, filters)
    problems = []
    got = ids(store.query(**filters, limit=100))
    if got != want:
        problems.append(f"query({_show(filters)}) returned {got}, expected {want}")
    n = store.count(**filters)
    if n != len(want):
        problems.append(f"count({_show(filters)}) = {n}, expected {len(want)}")
    paged, trouble = walk(store, limit=2, **filters)
    if trouble or paged != want:
        problems.append(
            f"paging query({_show(filters)}, limit=2) gave {paged}, expected {want}"
            + (f": {trouble}" if trouble else "")
        )
    return problems


def _report(problems: list[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:12])
        more = f"\n  ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        pytest.fail(f"{len(problems)} wrong answers:\n  {shown}{more}", pytrace=False)


class QueryContract(ContractBase):
    """Queries: each filter alone, with several values, per tenant, combined, at its edges, paged.

    Also the text search semantics (Unicode case folding, no wildcards, Chinese
    substrings), the orders with ties by id, and keyset pagination.
    """

    @pytest.fixture
    def dataset(self, store: TicketStore) -> dict[int, Ticket]:
        """The store filled with the suite's varied tickets (two tenants)."""
        out = {}
        for i, changes in DATASET:
            ticket = tk(i, **changes)
            out[i] = store.create(ticket)
        return out

    @pytest.mark.parametrize("name", sorted(FILTER_VALUES))
    def test_each_filter_alone_with_several_values_and_tenants(
        self, store: TicketStore, dataset: dict[int, Ticket], name: str
    ) -> None:
        """One filter, one value or several, with and without each tenant: query, count and pages agree."""
        problems = []
        for value in FILTER_VALUES[name]:
            for tenant in _TENANTS:
                filters = {name: value} if tenant is None else {"tenant": tenant, name: value}
                problems += check_query(store, dataset, filters)
        _report(problems)

    def test_filters_combined_with_each_other_and_tenant(
        self, store: TicketStore, dataset: dict[int, Ticket]
    ) -> None:
        """Every pair of filters (several values each where they can), within a tenant and not."""
        problems = []
        for (a, va), (b, vb) in itertools.combinations(sorted(FILTER_VALUES.items()), 2):
            for tenant in ("default", None):
                filters: dict[str, Any] = {a: va[-1], b: vb[1 if len(vb) > 1 else 0]}
                if tenant:
                    filters["tenant"] = tenant
                problems += check_query(store, dataset, filters)
        _report(problems)

    def test_filter_boundaries(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """Ranges are half-open, next_due_before inclusive, instants compare across offsets, tags whole."""
        problems = []
        for filters, expected in BOUNDARY_CASES:
            want = [f"T{i:04d}" for i in expected]
            assert want == expected_ids(dataset, filters), (
                f"the suite's reference disagrees with itself: {filters}"
            )
            problems += check_query(store, dataset, filters)
        _report(problems)

    def test_text_search_semantics(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """text= is a substring of the subject after str.casefold(); no character is a wildcard."""
        problems = []
        for text, expected in TEXT_CASES:
            want = [f"T{i:04d}" for i in expected]
            assert want == expected_ids(dataset, {"text": text}), f"the suite's reference disagrees: {text!r}"
            problems += check_query(store, dataset, {"text": text})
            problems += check_query(store, dataset, {"text": text, "tenant": "other"})
        _report(problems)

    @pytest.mark.parametrize("order_by", [*ORDER_KEYS, *(f"-{k}" for k in ORDER_KEYS)])
    def test_query_orders(self, store: TicketStore, dataset: dict[int, Ticket], order_by: str) -> None:
        """Results come in the asked order, ties broken by id (both reversed when descending); pages agree."""
        want = expected_ids(dataset, {}, order_by)
        assert want == ids(store.query(order_by=order_by, limit=100)), f"order_by={order_by!r}"
        for limit in (3, 5, 10):
            paged, trouble = walk(store, limit=limit, order_by=order_by)
            assert (want, None) == (paged, trouble), f"paging order_by={order_by!r} with limit={limit}"
        in_tenant = expected_ids(dataset, {"tenant": "default"}, order_by)
        assert (in_tenant, None) == walk(store, limit=4, order_by=order_by, tenant="default")

    def test_next_due_order_puts_tickets_without_checkpoint_last(
        self, store: TicketStore, dataset: dict[int, Ticket]
    ) -> None:
        """Ordering by next_due_at compares instants across offsets; tickets without one come last."""
        assert [
            "T0008",
            "T0005",
            "T0007",
            "T0004",
            "T0009",
            "T0010",
            "T0001",
            "T0002",
            "T0003",
            "T0006",
        ] == ids(store.query(order_by="next_due_at", limit=100))

    def test_a_full_last_page_has_no_cursor(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """When the last page is exactly full, its next_cursor is None (no empty page follows)."""
        first = store.query(limit=5)
        assert 5 == len(first)
        assert first.next_cursor is not None, "a page with more tickets after it must have a next_cursor"
        last = store.query(limit=5, cursor=first.next_cursor)
        assert 5 == len(last)
        assert last.next_cursor is None, "the last page is full but still has a next_cursor"
        assert store.query(limit=10).next_cursor is None
        assert store.query(limit=1, text="\u51b7").next_cursor is None

    def test_limit_caps_every_page(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """A page holds at most limit tickets, the first ones in order."""
        for limit in (1, 2, 9):
            page = store.query(limit=limit)
            assert expected_ids(dataset, {})[:limit] == ids(page), f"limit={limit}"

    def test_pagination_is_stable_under_concurrent_inserts(self, store: TicketStore) -> None:
        """Tickets inserted between pages never make a page repeat or skip an earlier ticket."""
        originals = [store.create(tk(i * 10)) for i in range(1, 21)]
        seen: list[str] = []
        cursor = None
        extra = itertools.count(1)
        for _ in range(50):
            page = store.query(order_by="created_at", limit=4, cursor=cursor)
            seen += ids(page)
            for _ in range(3):  # before, inside and after the pages already read
                n = next(extra)
                store.create(tk(n * 7 + 1, id=f"X{n:04d}"))
            cursor = page.next_cursor
            if cursor is None:
                break
        else:
            pytest.fail("paging never ended: 50 pages of 4 for 20 tickets and 150 inserts", pytrace=False)
        assert len(seen) == len(set(seen)), "a ticket came twice while paging"
        assert set(ids(originals)) <= set(seen), "a ticket that was there before paging started was skipped"

    def test_bad_query_arguments_are_all_reported(self, store: TicketStore) -> None:
        """Unknown order, naive datetime, bad limit and a foreign cursor are listed together."""
        with pytest.raises(ValidationError) as info:
            store.query(order_by="age", created_since=datetime(2025, 1, 1), limit=0, cursor="nonsense")
        assert {"order_by", "created_since", "limit", "cursor"} == {e.path for e in info.value.errors}
        with pytest.raises(ValidationError):
            store.count(updated_before=datetime(2025, 1, 1))
        with pytest.raises(ValidationError):
            store.query(limit=True)

    def test_a_cursor_only_fits_its_order(self, store: TicketStore, dataset: dict[int, Ticket]) -> None:
        """A cursor made for one order is refused for another."""
        page = store.query(order_by="created_at", limit=2)
        assert page.next_cursor is not None
        with pytest.raises(ValidationError) as info:
            store.query(order_by="-created_at", cursor=page.next_cursor)
        assert ["cursor"] == [e.path for e in info.value.errors]
