"""ticketkit: the engine under a ticketing product.

Tickets as values, a workflow per ticket type, rules that decide who gets what, SLA
deadlines computed exactly on business calendars, and reports. Everything public is
re-exported here; each name has exactly this one public path (plus the sub-namespaces
``ticketkit.errors``, ``ticketkit.storage``, ``ticketkit.testing``,
``ticketkit.analytics`` and ``ticketkit.channels``).

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

from ticketkit._version import __version__
from ticketkit.automation._automation import Action, Automation
from ticketkit.automation._macro import Macro, MacroResult
from ticketkit.automation._timed import TimedRule
from ticketkit.calendar._calendar import BusinessCalendar, CountryHolidays, country_holidays
from ticketkit.calendar._known import UnpublishedHolidaysError, UnpublishedHolidaysWarning
from ticketkit.conditions._conditions import Condition, ConditionFailure, F, FieldRef
from ticketkit.desk._access import AccessPolicy, Actor, DefaultAccess
from ticketkit.desk._helpdesk import (
    DeliveryReport,
    FailedNotification,
    Helpdesk,
    InboundSettings,
    TicketFilters,
)
from ticketkit.desk._presence_state import Presence
from ticketkit.desk._privacy import ErasureReport
from ticketkit.desk._smtp import SMTPNotifier
from ticketkit.desk._text import Progress
from ticketkit.directory._directory import (
    CustomerDirectory,
    InMemoryDirectory,
    InMemoryInventory,
    Integration,
)
from ticketkit.errors import (
    ConflictError,
    ErrorDetail,
    InvalidTransitionError,
    MessageKeyConflictError,
    NotFoundError,
    PermissionDeniedError,
    TicketkitError,
    ValidationError,
)
from ticketkit.model._clock import Clock, SystemClock
from ticketkit.model._limits import Limits
from ticketkit.model._models import (
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
    TimerState,
)
from ticketkit.model._serialization import (
    format_duration,
    from_dict,
    from_json,
    make_converter,
    parse_duration,
    to_dict,
    to_json,
)
from ticketkit.notify._notify import (
    CallbackNotifier,
    LoggingNotifier,
    Notification,
    Notifier,
    RecordingNotifier,
)
from ticketkit.notify._policy import DeliveryPolicy
from ticketkit.notify._webhook import WebhookError, WebhookNotifier
from ticketkit.privacy._detect import Finding, detect_personal
from ticketkit.privacy._mask import (
    PersonalFields,
    mask_comment,
    mask_customer,
    mask_event,
    mask_personal,
    mask_ticket,
)
from ticketkit.privacy._redact import Erasure, Redaction, RedactSpan, anonymize_ticket, redact_ticket
from ticketkit.privacy._retention import (
    RetentionDue,
    RetentionPolicy,
    RetentionReport,
    parse_period,
    retention_due,
    retention_report,
)
from ticketkit.privacy._rights import RevealPolicy
from ticketkit.routing._report import Comparison, RoutingChange, Simulation, compare
from ticketkit.routing._router import (
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
from ticketkit.sla._check import PolicyIssue, check_policies
from ticketkit.sla._config import Escalation, EventMatch, SLAClock, SLATarget
from ticketkit.sla._policy import SLAPolicy, SLAStatus, reselect_policy, select_policy
from ticketkit.storage import InMemoryStore, SQLiteStore, TicketStore
from ticketkit.workflow._workflow import State, Transition, Workflow, Workflows, default_workflow

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
    "DeliveryPolicy",
    "DeliveryReport",
    "Erasure",
    "ErasureReport",
    "ErrorDetail",
    "Escalation",
    "Event",
    "EventMatch",
    "F",
    "FailedNotification",
    "FieldRef",
    "Finding",
    "Helpdesk",
    "InMemoryCursor",
    "InMemoryDirectory",
    "InMemoryInventory",
    "InMemoryStore",
    "InboundSettings",
    "Integration",
    "InvalidTransitionError",
    "Limits",
    "Link",
    "LoggingNotifier",
    "Macro",
    "MacroResult",
    "MessageKeyConflictError",
    "NotFoundError",
    "Notification",
    "Notifier",
    "PermissionDeniedError",
    "PersonalFields",
    "PolicyIssue",
    "Presence",
    "Priority",
    "Progress",
    "RecordingNotifier",
    "RedactSpan",
    "Redaction",
    "RetentionDue",
    "RetentionPolicy",
    "RetentionReport",
    "RevealPolicy",
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
    "SMTPNotifier",
    "SQLiteStore",
    "Simulation",
    "State",
    "SystemClock",
    "Team",
    "Ticket",
    "TicketFilters",
    "TicketStore",
    "TicketkitError",
    "TimedRule",
    "TimerState",
    "Transition",
    "UnpublishedHolidaysError",
    "UnpublishedHolidaysWarning",
    "ValidationError",
    "WebhookError",
    "WebhookNotifier",
    "Workflow",
    "Workflows",
    "__version__",
    "anonymize_ticket",
    "check_policies",
    "compare",
    "country_holidays",
    "default_workflow",
    "detect_personal",
    "format_duration",
    "from_dict",
    "from_json",
    "make_converter",
    "mask_comment",
    "mask_customer",
    "mask_event",
    "mask_personal",
    "mask_ticket",
    "parse_duration",
    "parse_period",
    "redact_ticket",
    "reselect_policy",
    "retention_due",
    "retention_report",
    "select_policy",
    "to_dict",
    "to_json",
]
