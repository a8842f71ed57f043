"""Words for people: the customer-facing progress view and notification messages (en, zh)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from ticketkit.errors import ValidationError
from ticketkit.model._models import Event, Ticket

__all__ = ["LANGS", "Progress"]

LANGS: Final = ("en", "zh")
"""The languages [`Helpdesk.progress`][ticketkit.Helpdesk.progress] speaks."""

_STATUS_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "new": "received",
        "open": "being handled",
        "pending": "waiting",
        "resolved": "resolved",
        "closed": "closed",
    },
    "zh": {"new": "已受理", "open": "处理中", "pending": "等待中", "resolved": "已解决", "closed": "已关闭"},
}


@attrs.frozen(kw_only=True)
class Progress:
    """What a customer may see of their ticket: status in plain words, who has it, when to expect it.

    ``expected_at`` is when the next running SLA clock (a response while one is
    due, else the resolution) falls due, and ``expected_within`` the wall-clock time until then;
    both None when no deadline applies. ``overdue`` is True once it has passed.
    ``message`` is one sentence in ``lang``.

    Examples:
        >>> from datetime import datetime, timedelta, timezone
        >>> p = Progress(
        ...     ticket_id="T1",
        ...     lang="en",
        ...     status="open",
        ...     status_kind="open",
        ...     status_text="being handled",
        ...     team="after-sales",
        ...     team_name="after-sales",
        ...     expected_at=datetime(2025, 3, 3, 11, tzinfo=timezone.utc),
        ...     expected_within=timedelta(hours=2),
        ...     overdue=False,
        ...     message="Assigned to after-sales; expected within 2 hours",
        ... )
        >>> p.message
        'Assigned to after-sales; expected within 2 hours'
    """

    ticket_id: str
    lang: str
    status: str
    status_kind: str
    status_text: str
    team: str | None
    team_name: str | None
    expected_at: datetime | None
    expected_within: timedelta | None
    overdue: bool
    message: str


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValidationError.one(
            "lang", f"unsupported language {lang!r} (expected one of: {', '.join(LANGS)})"
        )


def describe_wait(delta: timedelta, lang: str = "en") -> str:
    """A short human duration: minutes under an hour, hours under two days, else days (rounded up).

    Examples:
        >>> describe_wait(timedelta(minutes=95)), describe_wait(timedelta(hours=2), "zh")
        ('2 hours', '2 小时')
        >>> describe_wait(timedelta(minutes=20)), describe_wait(timedelta(days=3), "zh")
        ('20 minutes', '3 天')
    """
    _check_lang(lang)
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        n, unit_en, unit_zh = max(1, -(-seconds // 60)), "minute", "分钟"
    elif seconds < 48 * 3600:
        n, unit_en, unit_zh = -(-seconds // 3600), "hour", "小时"
    else:
        n, unit_en, unit_zh = -(-seconds // 86400), "day", "天"
    if lang == "zh":
        return f"{n} {unit_zh}"
    return f"{n} {unit_en}{'s' if n != 1 else ''}"


def progress_message(
    *,
    lang: str,
    status_kind: str,
    team_name: str | None,
    expected_within: timedelta | None,
    overdue: bool,
) -> str:
    """The one-sentence progress message for a customer.

    Examples:
        >>> progress_message(
        ...     lang="zh",
        ...     status_kind="open",
        ...     team_name="售后",
        ...     expected_within=timedelta(hours=2),
        ...     overdue=False,
        ... )
        '已分配给售后，预计 2 小时内处理'
        >>> progress_message(
        ...     lang="en",
        ...     status_kind="new",
        ...     team_name=None,
        ...     expected_within=timedelta(minutes=30),
        ...     overdue=False,
        ... )
        'Received; expected within 30 minutes'
    """
    _check_lang(lang)
    zh = lang == "zh"
    if status_kind == "resolved":
        return "已解决，如仍有问题请直接回复" if zh else "Resolved; reply if anything is still wrong"
    if status_kind == "closed":
        return "已关闭" if zh else "Closed"
    if status_kind == "pending":
        head = f"{team_name}正在等待回复或其他部门处理" if zh and team_name else None
        if head is None:
            head = "等待回复或其他部门处理" if zh else "Waiting for a reply or for another team"
            if team_name and not zh:
                head = f"With {team_name}, waiting for a reply or for another team"
        return head
    if team_name:
        head = f"已分配给{team_name}" if zh else f"Assigned to {team_name}"
    else:
        head = "已受理" if zh else "Received"
    if overdue:
        tail = "处理时间超出预期，我们正在加紧处理" if zh else "taking longer than expected; we are on it"
    elif expected_within is not None:
        wait = describe_wait(expected_within, lang)
        tail = f"预计 {wait}内处理" if zh else f"expected within {wait}"
    else:
        return head
    return f"{head}，{tail}" if zh else f"{head}; {tail}"


def status_text(status_kind: str, lang: str) -> str:
    """The status kind in plain words."""
    _check_lang(lang)
    return _STATUS_WORDS[lang].get(status_kind, status_kind)


def notification_message(event: Event, ticket: Ticket, extra: Mapping[str, Any] | None = None) -> str:
    """A short English line describing ``event`` on ``ticket`` (for notifications).

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> t = Ticket(subject="Zip broke", id="T1", created_at=at)
        >>> e = Event(
        ...     ticket_id="T1", kind="sla.breached", actor="system:x", at=at, data={"metric": "resolution"}
        ... )
        >>> notification_message(e, t)
        "Ticket T1 'Zip broke': resolution deadline breached"
    """
    d = event.data
    head = f"Ticket {ticket.id} {ticket.subject!r}"
    kind = event.kind
    if kind == "ticket.created":
        return f"{head}: received via {ticket.channel}"
    if kind == "ticket.assigned":
        who = d.get("agent") or d.get("team") or "nobody"
        return f"{head}: assigned to {who}"
    if kind == "status.changed":
        return f"{head}: {d.get('from')} -> {d.get('to')}"
    if kind == "comment.added":
        comment = d.get("comment") or {}
        body = str(comment.get("body", ""))
        short = body if len(body) <= 120 else body[:117] + "..."
        return f"{head}: new comment from {comment.get('author', '?')}: {short}"
    if kind == "sla.warning":
        return f"{head}: {d.get('metric')} deadline approaching ({d.get('due_at')})"
    if kind == "sla.breached":
        return f"{head}: {d.get('metric')} deadline breached"
    if kind == "sla.escalated":
        return f"{head}: escalated ({d.get('metric')}, level {d.get('level')})"
    if kind == "priority.changed":
        return f"{head}: priority {d.get('from')} -> {d.get('to')}"
    if kind == "ticket.merged":
        return (
            f"{head}: merged ({'into ' + str(d['into']) if d.get('into') else 'from ' + str(d.get('from'))})"
        )
    if kind == "ticket.deduplicated":
        return f"{head}: the customer wrote again via {d.get('channel')}"
    if kind == "ticket.spawned":
        return f"{head}: sub-ticket {d.get('child') or d.get('parent')}"
    if kind == "ticket.child_resolved":
        return f"{head}: sub-ticket {d.get('child')} is {d.get('status')}"
    return f"{head}: {kind}"
