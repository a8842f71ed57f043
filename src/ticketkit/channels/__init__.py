"""Channels: turning raw channel messages (e-mail, WeChat, WeCom, JSON webhooks) into
``InboundMessage`` values, the headers that thread replies back, the threading rules as a
pure function, and where attachment bytes live (``BlobStore``).

A public sub-namespace, like ``ticketkit.storage``: every name here has this one public
path, ``ticketkit.channels.NAME`` (the blob contract suite is
``ticketkit.testing.BlobStoreContract``). Channel-specific names carry the channel in
their name (``parse_email``, ``parse_wechat``, ``parse_webhook``) rather than living in
sub-modules. ``Helpdesk.receive`` (threading, dedupe and storing) builds on these.

May import: ``ticketkit.model`` and ``ticketkit.errors`` (and the standard library,
attrs, cattrs; ``cryptography`` lazily for WeCom encryption).
Must not import: storage, desk, the engines, analytics or privacy.

Examples:
    >>> from ticketkit.channels import parse_email, resolve_thread
    >>> m = parse_email(b"From: li@example.cn\\r\\nSubject: Re: [#T1] refund\\r\\n\\r\\nAny news?\\r\\n")
    >>> resolve_thread(m, tokens={"T1": "T1"}.get).rule
    'subject-token'
"""

from __future__ import annotations

from ticketkit.channels._blob import BlobCorruptedError, BlobStore, FileBlobStore, InMemoryBlobStore
from ticketkit.channels._decode import decode_bytes, decode_header
from ticketkit.channels._email import parse_email
from ticketkit.channels._imap import ImapError, ImapPoller, PollResult
from ticketkit.channels._message import (
    Attachment,
    Automatic,
    InboundMessage,
    MessageLimits,
    ReceiveOutcome,
    Sender,
)
from ticketkit.channels._outbound import (
    OutboundHeaders,
    TicketToken,
    email_message_id,
    email_reply_headers,
    ticket_from_message_id,
)
from ticketkit.channels._text import html_to_text, strip_quoted
from ticketkit.channels._threading import ThreadMatch, resolve_thread
from ticketkit.channels._webhook import parse_webhook, sign_webhook, verify_webhook_signature
from ticketkit.channels._wechat import (
    WeComCrypto,
    parse_wechat,
    read_xml,
    verify_wechat_signature,
    wechat_signature,
    wechat_text_reply,
)

__all__ = [
    "Attachment",
    "Automatic",
    "BlobCorruptedError",
    "BlobStore",
    "FileBlobStore",
    "ImapError",
    "ImapPoller",
    "InMemoryBlobStore",
    "InboundMessage",
    "MessageLimits",
    "OutboundHeaders",
    "PollResult",
    "ReceiveOutcome",
    "Sender",
    "ThreadMatch",
    "TicketToken",
    "WeComCrypto",
    "decode_bytes",
    "decode_header",
    "email_message_id",
    "email_reply_headers",
    "html_to_text",
    "parse_email",
    "parse_webhook",
    "parse_wechat",
    "read_xml",
    "resolve_thread",
    "sign_webhook",
    "strip_quoted",
    "ticket_from_message_id",
    "verify_webhook_signature",
    "verify_wechat_signature",
    "wechat_signature",
    "wechat_text_reply",
]
