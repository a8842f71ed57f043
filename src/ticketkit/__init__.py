"""ticketkit: the engine under a ticketing product.

Tickets as values, a workflow per ticket type, rules that decide who gets what, SLA
deadlines computed exactly on business calendars, and reports. Everything public is
re-exported here; each name has exactly this one public path (plus the sub-namespaces
``ticketkit.errors``, ``ticketkit.storage``, ``ticketkit.testing`` and
``ticketkit.analytics``).

Examples:
    >>> import ticketkit as tk
    >>> from datetime import datetime, timezone
    >>> t = tk.Ticket(
    ...     subject="Parcel arrived damaged", created_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)
    ... )
    >>> tk.from_json(tk.Ticket, tk.to_json(t)) == t
    True
"""

from __future__ import annotations

from ticketkit._access import AccessPolicy, Actor, DefaultAccess, mask_personal, mask_ticket
from ticketkit._automation import Action, Automation
from ticketkit._calendar import BusinessCalendar, CountryHolidays, country_holidays
from ticketkit._clock import Clock, SystemClock
from ticketkit._conditions import Condition, ConditionFailure, F, FieldRef
from ticketkit._desk import FailedNotification, Helpdesk
from ticketkit._desk_text import Progress
from ticketkit._directory import CustomerDirectory, InMemoryDirectory, InMemoryInventory, Integration
from ticketkit._models import (
    Agent,
    ClockSegment,
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
from ticketkit._routing import (
    Assign,
    Candidate,
    Decision,
    DecisionRecord,
    InMemoryCursor,
    RoundRobinCursor,
    Router,
    RouterFinding,
    Rule,
    RuleChanges,
    RuleTrial,
)
from ticketkit._routing_report import Comparison, RoutingChange, Simulation, compare
from ticketkit._serialization import (
    format_duration,
    from_dict,
    from_json,
    make_converter,
    parse_duration,
    to_dict,
    to_json,
)
from ticketkit._sla import SLAPolicy, SLAStatus, reselect_policy, select_policy
from ticketkit._sla_check import PolicyIssue, check_policies
from ticketkit._sla_config import Escalation, EventMatch, SLAClock, SLATarget
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
    "AccessPolicy",
    "Action",
    "Actor",
    "Agent",
    "Assign",
    "Automation",
    "BusinessCalendar",
    "CallbackNotifier",
    "Candidate",
    "Clock",
    "ClockSegment",
    "ClockState",
    "Comment",
    "Comparison",
    "Condition",
    "ConditionFailure",
    "ConflictError",
    "CountryHolidays",
    "Customer",
    "CustomerDirectory",
    "Decision",
    "DecisionRecord",
    "DefaultAccess",
    "ErrorDetail",
    "Escalation",
    "Event",
    "EventMatch",
    "F",
    "FailedNotification",
    "FieldRef",
    "Helpdesk",
    "InMemoryCursor",
    "InMemoryDirectory",
    "InMemoryInventory",
    "InMemoryStore",
    "Integration",
    "InvalidTransitionError",
    "Link",
    "LoggingNotifier",
    "NotFoundError",
    "Notification",
    "Notifier",
    "PermissionDeniedError",
    "PolicyIssue",
    "Priority",
    "Progress",
    "RecordingNotifier",
    "RoundRobinCursor",
    "Router",
    "RouterFinding",
    "RoutingChange",
    "Rule",
    "RuleChanges",
    "RuleTrial",
    "SLAClock",
    "SLAPolicy",
    "SLAState",
    "SLAStatus",
    "SLATarget",
    "SQLiteStore",
    "Simulation",
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
    "check_policies",
    "compare",
    "country_holidays",
    "default_workflow",
    "format_duration",
    "from_dict",
    "from_json",
    "make_converter",
    "mask_personal",
    "mask_ticket",
    "parse_duration",
    "reselect_policy",
    "select_policy",
    "to_dict",
    "to_json",
]
