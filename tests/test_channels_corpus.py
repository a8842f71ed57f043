"""The e-mail corpus: real-shaped raw messages parse to the outcome written next to each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ticketkit.channels import InboundMessage, InMemoryBlobStore, parse_email, resolve_thread

MAIL = Path(__file__).resolve().parent / "fixtures" / "mail"
EXPECTATIONS: dict[str, Any] = json.loads((MAIL / "expectations.json").read_text(encoding="utf-8"))
KNOWN = EXPECTATIONS["known"]
NAMES = sorted(EXPECTATIONS["messages"])


def _thread(message: InboundMessage) -> tuple[str | None, str | None]:
    tokens = set(KNOWN["tokens"])
    match = resolve_thread(
        message,
        conversation=KNOWN["conversations"].get,
        message_ids=KNOWN["message_ids"].get,
        tokens=lambda t: t if t in tokens else None,
    )
    return match.rule, match.ticket_id


class TestCorpus:
    def test_corpus_is_large_and_complete(self) -> None:
        """At least 60 messages, each with an .eml file and an expectation, nothing extra."""
        files = sorted(p.stem for p in MAIL.glob("*.eml"))
        assert (True, files) == (len(files) >= 60, NAMES)

    @pytest.mark.parametrize("name", NAMES)
    def test_message(self, name: str) -> None:
        """The message parses to its expected sender, subject, new text, automatic flag and thread."""
        expect = EXPECTATIONS["messages"][name]
        blobs = InMemoryBlobStore()
        m = parse_email((MAIL / f"{name}.eml").read_bytes(), blobs=blobs)
        assert expect["sender"] == m.sender.value
        if "sender_name" in expect:
            assert expect["sender_name"] == m.sender.name
        if "subject" in expect:
            assert expect["subject"] == m.subject
        assert expect["new_text"] == m.new_text
        for fragment in expect.get("text_contains", []):
            assert fragment in m.text
        if m.html is None:
            assert [] == [line for line in m.new_text.splitlines() if line not in m.text]
        assert expect["automatic"] == (m.automatic.reason if m.automatic else None)
        assert expect["weak"] == (m.automatic.weak if m.automatic else False)
        assert expect["bounced"] == list(m.bounced)
        assert (expect["rule"], expect["ticket"]) == _thread(m)
        assert expect["attachments"] == [[a.name, a.content_type, a.inline] for a in m.attachments]
        for a in m.attachments:
            assert (a.size, a.sha256) == (len(blobs.get(a.storage_key or "")), a.storage_key)
        if "in_reply_to" in expect:
            assert expect["in_reply_to"] == m.in_reply_to
        if "sent_at" in expect:
            assert expect["sent_at"] == (m.sent_at.isoformat() if m.sent_at else None)
        if expect.get("no_message_id"):
            assert m.message_id.endswith("@ticketkit.invalid")
        assert m == InboundMessage.from_dict(json.loads(json.dumps(m.to_dict())))

    def test_parsing_is_deterministic(self) -> None:
        """The same bytes always give the same message (the message id is stable without a header)."""
        for name in NAMES[:10]:
            raw = (MAIL / f"{name}.eml").read_bytes()
            assert parse_email(raw) == parse_email(raw)

    def test_every_category_is_covered(self) -> None:
        """The corpus holds every kind of mail the issue names."""
        prefixes = {"gmail", "outlook", "qqmail", "foxmail", "apple", "ooo", "bounce", "list", "bulk",
                    "charset", "forward", "html"}  # fmt: skip
        assert set() == {p for p in prefixes if not any(n.startswith(p + "-") for n in NAMES)}
