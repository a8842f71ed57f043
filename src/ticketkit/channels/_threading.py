"""Which ticket a message belongs to: the threading rules as a pure function (no store)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ticketkit.channels._message import InboundMessage
from ticketkit.channels._outbound import TicketToken

__all__ = ["ThreadMatch", "resolve_thread"]

Lookup = Callable[[str], "str | None"]


@attrs.frozen(kw_only=True)
class ThreadMatch:
    """The result of `resolve_thread`: the rule that matched, the ticket and the key.

    ``rule`` is ``conversation``, ``references``, ``in-reply-to``, ``subject-token`` or
    None (no rule matched: a new request, or one for the dedupe rules). ``key`` is the
    conversation id, message id or token id that matched; ``tried`` lists every
    (rule, key) looked up in vain before it, for the record.

    Examples:
        >>> ThreadMatch(rule=None, ticket_id=None, key=None).matched
        False
    """

    rule: str | None
    ticket_id: str | None
    key: str | None
    tried: tuple[tuple[str, str], ...] = ()

    @property
    def matched(self) -> bool:
        """Whether a rule found a ticket."""
        return self.ticket_id is not None


def resolve_thread(
    message: InboundMessage,
    *,
    conversation: Lookup | None = None,
    message_ids: Lookup | None = None,
    tokens: Lookup | None = None,
    token: TicketToken | None = None,
) -> ThreadMatch:
    """Which ticket ``message`` continues, by the first rule that finds one.

    The rules, in order: the channel's ``conversation_id`` (looked up with
    ``conversation``), the ``references`` newest first and then ``in_reply_to`` (both
    with ``message_ids``: message id to ticket id), then each ticket id in the subject's
    token (``tokens``: ticket id to ticket id, None for a ticket that does not exist or
    the sender may not write to). A missing lookup skips its rule. Pure: it calls the
    lookups and nothing else.

    Examples:
        >>> from ticketkit.channels import Sender
        >>> m = InboundMessage(
        ...     channel="email",
        ...     message_id="r2@mail.cn",
        ...     subject="Re: [#T1] 退款",
        ...     sender=Sender(kind="email", value="li@mail.cn"),
        ...     references=("n1@desk", "n2@desk"),
        ... )
        >>> known = {"n1@desk": "T1"}
        >>> resolve_thread(m, message_ids=known.get, tokens={"T1": "T1"}.get)
        ThreadMatch(rule='references', ticket_id='T1', key='n1@desk', tried=(('references', 'n2@desk'),))
    """
    tried: list[tuple[str, str]] = []

    def attempt(rule: str, key: str, lookup: Lookup) -> ThreadMatch | None:
        found = lookup(key)
        if found is not None:
            return ThreadMatch(rule=rule, ticket_id=found, key=key, tried=tuple(tried))
        tried.append((rule, key))
        return None

    candidates: list[tuple[str, str, Lookup]] = []
    if conversation is not None and message.conversation_id is not None:
        candidates.append(("conversation", message.conversation_id, conversation))
    if message_ids is not None:
        candidates.extend(("references", ref, message_ids) for ref in reversed(message.references))
        if message.in_reply_to is not None and message.in_reply_to not in message.references:
            candidates.append(("in-reply-to", message.in_reply_to, message_ids))
    if tokens is not None:
        candidates.extend(
            ("subject-token", tid, tokens) for tid in (token or TicketToken()).find(message.subject)
        )
    for rule, key, lookup in candidates:
        if (match := attempt(rule, key, lookup)) is not None:
            return match
    return ThreadMatch(rule=None, ticket_id=None, key=None, tried=tuple(tried))
