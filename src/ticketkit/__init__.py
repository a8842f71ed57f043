"""ticketkit: the engine under a ticketing product.

Tickets as values, a workflow per ticket type, rules that decide who gets what, SLA
deadlines computed exactly on business calendars, and reports. Everything public is
re-exported here; each name has exactly this one public path (plus the sub-namespaces
``ticketkit.errors``, ``ticketkit.storage``, ``ticketkit.testing`` and
``ticketkit.analytics``).

Example:
    >>> import ticketkit as tk
    >>> from datetime import datetime, timezone
    >>> t = tk.Ticket(
    ...     subject="Parcel arrived damaged", created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    ... )
    >>> tk.from_json(tk.Ticket, tk.to_json(t)) == t
    True
"""

from __future__ import annotations

from ticketkit._calendar import BusinessCalendar, CountryHolidays, country_holidays
from ticketkit._clock import Clock, SystemClock
from ticketkit._conditions import Condition, ConditionFailure, F, FieldRef
from ticketkit._models import (
    Agent,
    ClockState,
    Comment,
    Customer,
    Event,
    Link,
    Priority,
    SLAState,
    Team,
    Ticket,
)
from ticketkit._notify import (
    CallbackNotifier,
    LoggingNotifier,
    Notification,
    Notifier,
    RecordingNotifier,
)
from ticketkit._serialization import (
    format_duration,
    from_dict,
    from_json,
    make_converter,
    parse_duration,
    to_dict,
    to_json,
)
from ticketkit._version import __version__
from ticketkit._workflow import State, Transition, Workflow, Workflows, default_workflow
from ticketkit.errors import (
    ConflictError,
    ErrorDetail,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    TicketkitError,
    ValidationError,
)
from ticketkit.storage import InMemoryStore, SQLiteStore, TicketStore

__all__ = [
    "Agent",
    "BusinessCalendar",
    "CallbackNotifier",
    "Clock",
    "ClockState",
    "Comment",
    "Condition",
    "ConditionFailure",
    "ConflictError",
    "CountryHolidays",
    "Customer",
    "ErrorDetail",
    "Event",
    "F",
    "FieldRef",
    "InMemoryStore",
    "InvalidTransitionError",
    "Link",
    "LoggingNotifier",
    "NotFoundError",
    "Notification",
    "Notifier",
    "PermissionDeniedError",
    "Priority",
    "RecordingNotifier",
    "SLAState",
    "SQLiteStore",
    "State",
    "SystemClock",
    "Team",
    "Ticket",
    "TicketStore",
    "TicketkitError",
    "Transition",
    "ValidationError",
    "Workflow",
    "Workflows",
    "__version__",
    "country_holidays",
    "default_workflow",
    "format_duration",
    "from_dict",
    "from_json",
    "make_converter",
    "parse_duration",
    "to_dict",
    "to_json",
]
