"""Integration points: who the customer is, and what other systems know about a ticket.

A [`CustomerDirectory`][ticketkit.CustomerDirectory] is where the [`Helpdesk`][ticketkit.Helpdesk] looks a
customer up when a request comes in (the CRM, the hospital's patient records), so nobody asks
the customer twice: their tier, the shop where they bought, their orders or visits
arrive on the ticket as `Customer.data`.

An [`Integration`][ticketkit.Integration] is any other system a ticket needs an answer from (stock in a
warehouse, an order's delivery state). The helpdesk calls it when automations run and
puts the answer in the condition context as ``context.<name>``, so a rule can say
"when ``context.stock.in_stock`` is false, spawn a restock request".
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from ticketkit.errors import ValidationError
from ticketkit.model._models import Customer, Ticket

__all__ = ["CustomerDirectory", "InMemoryDirectory", "InMemoryInventory", "Integration"]


class CustomerDirectory(abc.ABC):
    """Looks customers up by id, e-mail or phone: the CRM / records integration point.

    Implement [`get`][ticketkit.CustomerDirectory.get]; override [`find`][ticketkit.CustomerDirectory.find]
    when your system can search by e-mail or phone (the default finds nothing). Return None for an unknown
    customer: the helpdesk then keeps what the request itself said.

    Examples:
        >>> class Crm(CustomerDirectory):
        ...     def get(self, customer_id, *, tenant="default"):
        ...         return Customer(id=customer_id, tier="vip") if customer_id == "c-1" else None
        >>> Crm().get("c-1").tier, Crm().get("c-2")
        ('vip', None)
    """

    @abc.abstractmethod
    def get(self, customer_id: str, *, tenant: str = "default") -> Customer | None:
        """The customer with ``customer_id`` in ``tenant``, or None when unknown."""

    def find(
        self, *, email: str | None = None, phone: str | None = None, tenant: str = "default"
    ) -> Customer | None:
        """The customer with this e-mail address or phone number, or None.

        Examples:
            >>> InMemoryDirectory([Customer(id="c-1", email="a@example.com")]).find(email="A@example.com").id
            'c-1'
        """
        del email, phone, tenant
        return None

    def resolve(self, customer: Customer | str, *, tenant: str = "default") -> Customer:
        """The directory's record for ``customer`` (an id or a partial record).

        A partial [`Customer`][ticketkit.Customer] from the channel (say, just an id
        and a phone number) is looked up by id, then by e-mail and phone; when the
        directory knows nobody, the record given is returned as it is (a bare id
        becomes ``Customer(id=...)``).

        Examples:
            >>> d = InMemoryDirectory([Customer(id="c-1", tier="vip", phone="13812345678")])
            >>> d.resolve("c-1").tier, d.resolve(Customer(id="wx-77", phone="13812345678")).id
            ('vip', 'c-1')
            >>> d.resolve("c-404").tier
            'standard'
        """
        if isinstance(customer, str):
            found = self.get(customer, tenant=tenant)
            return found if found is not None else Customer(id=customer, tenant=tenant)
        found = self.get(customer.id, tenant=tenant)
        if found is None and (customer.email or customer.phone):
            found = self.find(email=customer.email, phone=customer.phone, tenant=tenant)
        return found if found is not None else customer

    def find_identity(self, kind: str, value: str, *, tenant: str = "default") -> Customer | None:
        """The customer behind one channel identity (``email``, ``phone``, ``wechat_openid``, ...), or None.

        ``Helpdesk.receive`` asks this for every message's sender, so one person
        writing by e-mail and by WeChat is one customer (and lands on one ticket). The
        default answers e-mail and phone through [`find`][ticketkit.CustomerDirectory.find]
        and knows no other kind; override it when your system keeps WeChat openids,
        WeCom user ids or app user ids.

        Examples:
            >>> d = InMemoryDirectory([Customer(id="c-1", email="li@example.cn")])
            >>> d.find_identity("email", "li@example.cn").id, d.find_identity("wechat_openid", "o1") is None
            ('c-1', True)
        """
        if kind == "email":
            return self.find(email=value, tenant=tenant)
        if kind == "phone":
            return self.find(phone=value, tenant=tenant)
        return None

    def mark_failing(self, address: str, *, reason: str, tenant: str = "default") -> None:  # noqa: B027
        """Record that mail to ``address`` bounced (``reason``: the delivery report's words).

        ``Helpdesk.receive`` calls this for every address a bounce names, so the CRM
        (which owns contact data) can stop mailing it or ask the customer for another
        address. The default does nothing; [`InMemoryDirectory`][ticketkit.InMemoryDirectory]
        remembers it in [`failing`][ticketkit.InMemoryDirectory.failing].

        Examples:
            >>> d = InMemoryDirectory()
            >>> d.mark_failing("gone@example.cn", reason="550 no such user")
            >>> d.failing("gone@example.cn")
            '550 no such user'
        """


def _norm_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return digits[-11:]


class InMemoryDirectory(CustomerDirectory):
    """A directory held in memory: for tests, demos and small deployments.

    Customers are kept per tenant (their `tenant`);
    e-mail addresses match case-insensitively, phone numbers by their last 11
    digits (so ``+86 138 1234 5678`` finds ``13812345678``).

    Examples:
        >>> d = InMemoryDirectory([Customer(id="p-1", name="Li Lei", data={"visits": ["2025-02-27 lab"]})])
        >>> d.get("p-1").data["visits"]
        ('2025-02-27 lab',)
        >>> d.put(Customer(id="p-2"))
        >>> len(d)
        2
    """

    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[tuple[str, str], Customer] = {}
        self._identities: dict[tuple[str, str, str], str] = {}
        self._failing: dict[tuple[str, str], str] = {}
        for i, c in enumerate(customers):
            if not isinstance(c, Customer):
                raise ValidationError.one(f"customers[{i}]", f"expected a Customer, got {c!r}")
            self._by_id[(c.tenant, c.id)] = c

    def __len__(self) -> int:
        return len(self._by_id)

    def put(self, customer: Customer) -> None:
        """Add or replace a customer record."""
        with self._lock:
            self._by_id[(customer.tenant, customer.id)] = customer

    def get(self, customer_id: str, *, tenant: str = "default") -> Customer | None:
        """The customer with ``customer_id`` in ``tenant``, or None."""
        return self._by_id.get((tenant, customer_id))

    def find(
        self, *, email: str | None = None, phone: str | None = None, tenant: str = "default"
    ) -> Customer | None:
        """The first customer in ``tenant`` with this e-mail or phone, or None."""
        mail = email.strip().lower() if email else None
        tel = _norm_phone(phone) if phone else None
        for (t, _), c in self._by_id.items():
            if t != tenant:
                continue
            if mail and c.email and c.email.strip().lower() == mail:
                return c
            if tel and c.phone and _norm_phone(c.phone) == tel:
                return c
        return None

    def link_identity(self, customer_id: str, kind: str, value: str, *, tenant: str = "default") -> None:
        """Say that the channel identity (``kind``, ``value``) is the customer ``customer_id``.

        Examples:
            >>> d = InMemoryDirectory([Customer(id="c-1", phone="13812345678")])
            >>> d.link_identity("c-1", "wechat_openid", "oAbc")
            >>> d.find_identity("wechat_openid", "oAbc").id == d.find_identity(
            ...     "phone", "+86 138 1234 5678"
            ... ).id
            True
        """
        for path, text in (("customer_id", customer_id), ("kind", kind), ("value", value)):
            if not isinstance(text, str) or not text:
                raise ValidationError.one(path, f"expected a non-empty string, got {text!r}")
        with self._lock:
            self._identities[(tenant, kind, _identity(kind, value))] = customer_id

    def find_identity(self, kind: str, value: str, *, tenant: str = "default") -> Customer | None:
        """The customer linked to this identity, else by e-mail or phone (see `CustomerDirectory`)."""
        linked = self._identities.get((tenant, kind, _identity(kind, value)))
        if linked is not None:
            return self.get(linked, tenant=tenant)
        return super().find_identity(kind, value, tenant=tenant)

    def mark_failing(self, address: str, *, reason: str, tenant: str = "default") -> None:
        """Remember that mail to ``address`` bounced, with the report's ``reason``."""
        with self._lock:
            self._failing[(tenant, address.strip().lower())] = reason

    def failing(self, address: str, *, tenant: str = "default") -> str | None:
        """Why mail to ``address`` failed (the last bounce's reason), or None when it did not.

        Examples:
            >>> InMemoryDirectory().failing("li@example.cn") is None
            True
        """
        return self._failing.get((tenant, address.strip().lower()))


def _identity(kind: str, value: str) -> str:
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return _norm_phone(value)
    return value


@runtime_checkable
class Integration(Protocol):
    """Another system a ticket needs an answer from: called with the ticket, returns JSON-safe data.

    Register integrations by name on the helpdesk (``Helpdesk(...,
    integrations={"stock": inventory})``); automations see the answer as
    ``context.<name>``. A plain function works too.

    Examples:
        >>> def order_state(ticket):
        ...     return {"delivered": ticket.fields.get("order") == "A-1"}
        >>> isinstance(InMemoryInventory({}), Integration)
        True
    """

    def __call__(self, ticket: Ticket) -> Mapping[str, Any]:
        """What this system knows about ``ticket``, as JSON-safe data."""
        ...


class InMemoryInventory:
    """Stock levels held in memory, as an [`Integration`][ticketkit.Integration] keyed by a ticket field.

    Called with a ticket, it reads the part number from ``ticket.fields[field]``
    and answers ``{"part": ..., "available": n, "in_stock": n >= 1}`` (``part`` is
    None and ``in_stock`` False when the ticket names no part).

    Examples:
        >>> from datetime import datetime, timezone
        >>> stock = InMemoryInventory({"MOTOR-7": 0, "BELT-2": 12})
        >>> t = Ticket(
        ...     subject="Belt noise",
        ...     fields={"part": "MOTOR-7"},
        ...     created_at=datetime(2025, 3, 3, tzinfo=timezone.utc),
        ... )
        >>> stock(t)
        {'part': 'MOTOR-7', 'available': 0, 'in_stock': False}
        >>> stock.adjust("MOTOR-7", +5)
        >>> stock(t)["in_stock"]
        True
    """

    def __init__(self, stock: Mapping[str, int], *, field: str = "part") -> None:
        self._lock = threading.Lock()
        self._stock = dict(stock)
        self.field = field

    def available(self, part: str) -> int:
        """How many of ``part`` are in stock (0 for an unknown part)."""
        return self._stock.get(part, 0)

    def adjust(self, part: str, delta: int) -> None:
        """Add (or with a negative ``delta`` take) stock of ``part``."""
        with self._lock:
            self._stock[part] = self._stock.get(part, 0) + delta

    def __call__(self, ticket: Ticket) -> Mapping[str, Any]:
        part = ticket.fields.get(self.field)
        if not isinstance(part, str):
            return {"part": None, "available": 0, "in_stock": False}
        n = self.available(part)
        return {"part": part, "available": n, "in_stock": n >= 1}
