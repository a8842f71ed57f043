"""Words for people: the customer-facing progress view and notification messages.

The texts are gettext message catalogs in ``locales/<lang>/LC_MESSAGES/ticketkit.po``,
compiled to ``.mo`` beside them (``python scripts/compile_catalogs.py``); the message ids
are the English texts. A language is added by adding its catalog: no code changes.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import attrs

from ticketkit.errors import ValidationError
from ticketkit.model._models import Event, Ticket

__all__ = ["LANGS", "Progress"]

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locales"
"""Where the message catalogs live: ``<lang>/LC_MESSAGES/ticketkit.mo`` (compiled from ``.po``)."""
DOMAIN: Final = "ticketkit"
SOURCE_LANG: Final = "en"  # the message ids are the English texts


def available_languages() -> tuple[str, ...]:
    """English plus every language with a compiled catalog (a third language is a file, not code).

    The folder is read once per process: the catalogs ship inside the package.
    """
    return _languages_in(LOCALE_DIR)


@functools.lru_cache(maxsize=8)
def _languages_in(folder: Path) -> tuple[str, ...]:
    found = {p.parent.parent.name for p in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return tuple(sorted(found | {SOURCE_LANG}))


LANGS: Final = available_languages()
"""The languages [`Helpdesk.progress`][ticketkit.Helpdesk.progress] speaks (those shipped)."""


@functools.lru_cache(maxsize=64)
def _catalog(folder: Path, lang: str) -> gettext.NullTranslations:
    if lang == SOURCE_LANG:
        return gettext.NullTranslations()
    with (folder / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fh:
        return gettext.GNUTranslations(fh)


def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; a ValidationError naming the languages there are."""
    langs = available_languages()
    if lang not in langs:
        raise ValidationError.one(
            "lang", f"unsupported language {lang!r} (expected one of: {', '.join(langs)})"
        )
    return _catalog(LOCALE_DIR, lang)


def pick_language(locale: str | None, default: str = SOURCE_LANG) -> str:
    """The best language there is for a locale tag: ``zh-CN`` -> ``zh`` when only ``zh`` exists.

    Examples:
        >>> pick_language("zh-Hans-CN"), pick_language("en_GB"), pick_language("xx"), pick_language(None)
        ('zh', 'en', 'en', 'en')
    """
    if not locale:
        return default
    langs = available_languages()
    parts = locale.replace("-", "_").split("_")
    for n in range(len(parts), 0, -1):
        candidate = "_".join([parts[0].lower(), *parts[1:n]])
        if candidate in langs:
            return candidate
    return default


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


def describe_wait(delta: timedelta, lang: str = "en") -> str:
    """A short human duration: minutes under an hour, hours under two days, else days (rounded up).

    Examples:
        >>> describe_wait(timedelta(minutes=95)), describe_wait(timedelta(hours=2), "zh")
        ('2 hours', '2 小时')
        >>> describe_wait(timedelta(minutes=20)), describe_wait(timedelta(days=3), "zh")
        ('20 minutes', '3 天')
    """
    t = translations(lang)
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        n = max(1, -(-seconds // 60))
        return t.ngettext("{n} minute", "{n} minutes", n).format(n=n)
    if seconds < 48 * 3600:
        n = -(-seconds // 3600)
        return t.ngettext("{n} hour", "{n} hours", n).format(n=n)
    n = -(-seconds // 86400)
    return t.ngettext("{n} day", "{n} days", n).format(n=n)


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
    t = translations(lang)
    _ = t.gettext
    if status_kind == "resolved":
        return _("Resolved; reply if anything is still wrong")
    if status_kind == "closed":
        return _("Closed")
    if status_kind == "pending":
        if team_name:
            return _("With {team}, waiting for a reply or for another team").format(team=team_name)
        return _("Waiting for a reply or for another team")
    head = _("Assigned to {team}").format(team=team_name) if team_name else _("Received")
    if overdue:
        tail = _("taking longer than expected; we are on it")
    elif expected_within is not None:
        tail = _("expected within {wait}").format(wait=describe_wait(expected_within, lang))
    else:
        return head
    return _("{head}; {tail}").format(head=head, tail=tail)


_STATUS_WORDS: Final = {
    "new": "received",
    "open": "being handled",
    "pending": "waiting",
    "resolved": "resolved",
    "closed": "closed",
}


def status_text(status_kind: str, lang: str) -> str:
    """The status kind in plain words.

    Examples:
        >>> status_text("open", "en"), status_text("open", "zh"), status_text("custom", "zh")
        ('being handled', '处理中', 'custom')
    """
    t = translations(lang)
    word = _STATUS_WORDS.get(status_kind)
    return t.pgettext("status", word) if word is not None else status_kind


def notification_message(
    event: Event, ticket: Ticket, extra: Mapping[str, Any] | None = None, *, lang: str = "en"
) -> str:
    """A short line describing ``event`` on ``ticket`` (for notifications), in ``lang``.

    Examples:
        >>> from datetime import datetime, timezone
        >>> at = datetime(2025, 3, 3, tzinfo=timezone.utc)
        >>> t = Ticket(subject="Zip broke", id="T1", created_at=at)
        >>> e = Event(
        ...     ticket_id="T1", kind="sla.breached", actor="system:x", at=at, data={"metric": "resolution"}
        ... )
        >>> notification_message(e, t)
        "Ticket T1 'Zip broke': resolution deadline breached"
        >>> notification_message(e, t, lang="zh")
        "工单 T1 'Zip broke'：resolution 时限已超"
    """
    _ = translations(lang).gettext
    d = event.data
    head = _("Ticket {id} {subject}").format(id=ticket.id, subject=repr(ticket.subject))
    kind = event.kind
    text: str
    if kind == "ticket.created":
        text = _("received via {channel}").format(channel=ticket.channel)
    elif kind == "ticket.assigned":
        who = d.get("agent") or d.get("team") or _("nobody")
        text = _("assigned to {who}").format(who=who)
    elif kind == "status.changed":
        text = _("{old} -> {new}").format(old=d.get("from"), new=d.get("to"))
    elif kind == "comment.added":
        comment = d.get("comment") or {}
        body = str(comment.get("body", ""))
        short = body if len(body) <= 120 else body[:117] + "..."
        text = _("new comment from {author}: {body}").format(author=comment.get("author", "?"), body=short)
    elif kind == "sla.warning":
        text = _("{metric} deadline approaching ({due})").format(metric=d.get("metric"), due=d.get("due_at"))
    elif kind == "sla.breached":
        text = _("{metric} deadline breached").format(metric=d.get("metric"))
    elif kind == "sla.escalated":
        text = _("escalated ({metric}, level {level})").format(metric=d.get("metric"), level=d.get("level"))
    elif kind == "priority.changed":
        text = _("priority {old} -> {new}").format(old=d.get("from"), new=d.get("to"))
    elif kind == "ticket.merged":
        if d.get("into"):
            text = _("merged into {other}").format(other=d["into"])
        else:
            text = _("merged from {other}").format(other=d.get("from"))
    elif kind == "ticket.deduplicated":
        text = _("the customer wrote again via {channel}").format(channel=d.get("channel"))
    elif kind == "ticket.spawned":
        text = _("sub-ticket {other}").format(other=d.get("child") or d.get("parent"))
    elif kind == "ticket.child_resolved":
        text = _("sub-ticket {other} is {status}").format(other=d.get("child"), status=d.get("status"))
    else:
        text = kind
    return _("{head}: {text}").format(head=head, text=text)
