"""The kinds of [`Event`][ticketkit.Event] ticketkit writes, and what their ``data`` holds.

Engines and stores agree on these names; analytics reads them. ``data`` keys are
listed beside each kind.
"""

from __future__ import annotations

from typing import Final

TICKET_CREATED: Final = "ticket.created"  # channel, subject, category, priority, customer (id)
STATUS_CHANGED: Final = "status.changed"  # from, to, trigger, from_kind, to_kind
COMMENT_ADDED: Final = (
    "comment.added"  # comment (Comment as dict: id, author, author_kind, public, automatic, body)
)
ASSIGNED: Final = "ticket.assigned"  # team, agent, from_team, from_agent, rule, reason
PRIORITY_CHANGED: Final = "priority.changed"  # from, to
CATEGORY_CHANGED: Final = "category.changed"  # from, to
TAGS_CHANGED: Final = "tags.changed"  # added, removed
FIELDS_CHANGED: Final = "fields.changed"  # changes {name: {from, to}}
RATED: Final = "ticket.rated"  # score, remark
LINKED: Final = "ticket.linked"  # kind, ticket_id
MERGED: Final = "ticket.merged"  # into (on the source) / from (on the target)
SPLIT: Final = "ticket.split"  # from / into
SPAWNED: Final = "ticket.spawned"  # child (on the parent) / parent (on the child)
SLA_POLICY: Final = "sla.policy_applied"  # policy, previous, reason
SLA_WARNING: Final = "sla.warning"  # metric, threshold, due_at, cycle
SLA_BREACHED: Final = "sla.breached"  # metric, due_at, cycle
SLA_ESCALATED: Final = "sla.escalated"  # metric, level, notify, actions, cycle

ALL_KINDS: Final = frozenset(
    {
        TICKET_CREATED,
        STATUS_CHANGED,
        COMMENT_ADDED,
        ASSIGNED,
        PRIORITY_CHANGED,
        CATEGORY_CHANGED,
        TAGS_CHANGED,
        FIELDS_CHANGED,
        RATED,
        LINKED,
        MERGED,
        SPLIT,
        SPAWNED,
        SLA_POLICY,
        SLA_WARNING,
        SLA_BREACHED,
        SLA_ESCALATED,
    }
)
