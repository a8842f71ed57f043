"""Channels: message values, decoding, quote stripping, e-mail parsing, outbound headers, threading."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import aware_datetimes, json_objects
from ticketkit import channels
from ticketkit.channels import (
    Attachment,
    Automatic,
    InboundMessage,
    InMemoryBlobStore,
    MessageLimits,
    ReceiveOutcome,
    Sender,
    ThreadMatch,
    TicketToken,
    decode_bytes,
    decode_header,
    email_message_id,
    email_reply_headers,
    html_to_text,
    parse_email,
    resolve_thread,
    strip_quoted,
    ticket_from_message_id,
)
from ticketkit.errors import ValidationError

SHA = hashlib.sha256(b"x").hexdigest()
T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _msg(**changes: Any) -> InboundMessage:
    base: dict[str, Any] = {
        "channel": "email",
        "message_id": "m1@example.cn",
        "sender": Sender(kind="email", value="li@example.cn"),
    }
    base.update(changes)
    return InboundMessage(**base)


# --------------------------------------------------------------------------------- values

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.@-_", min_size=1, max_size=30)
attachments = st.builds(
    Attachment,
    name=st.text(min_size=1, max_size=20).filter(str.strip),
    content_type=st.sampled_from(["image/png", "application/pdf", "message/rfc822"]),
    size=st.integers(0, 10**9),
    sha256=st.binary(max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()),
    storage_key=st.none() | ids,
    inline=st.booleans(),
    content_id=st.none() | ids,
)
messages = st.builds(
    InboundMessage,
    channel=st.sampled_from(["email", "wechat", "wecom", "webhook", "app"]),
    message_id=ids,
    sender=st.builds(
        Sender,
        kind=st.sampled_from(["email", "phone", "wechat_openid", "wecom_userid", "app_user", "other"]),
        value=ids,
        name=st.none() | st.text(min_size=1, max_size=10).filter(str.strip),
    ),
    subject=st.text(max_size=30),
    text=st.text(max_size=60),
    new_text=st.text(max_size=30),
    html=st.none() | st.text(min_size=1, max_size=30).filter(str.strip),
    conversation_id=st.none() | ids,
    in_reply_to=st.none() | ids,
    references=st.lists(ids, max_size=4).map(tuple),
    recipients=st.lists(ids, max_size=3).map(tuple),
    attachments=st.lists(attachments, max_size=3).map(tuple),
    sent_at=st.none() | aware_datetimes,
    automatic=st.none()
    | st.builds(
        Automatic,
        reason=st.sampled_from(["auto-reply", "auto-generated", "bounce", "list", "bulk", "event"]),
        evidence=st.text(min_size=1, max_size=20).filter(str.strip),
        weak=st.booleans(),
    ),
    bounced=st.lists(ids, max_size=2).map(tuple),
    truncated=st.booleans(),
    headers=st.lists(st.tuples(ids, st.text(max_size=20)), max_size=3).map(tuple),
    data=json_objects,
)


class TestValues:
    @given(messages)
    def test_round_trip_through_json(self, m: InboundMessage) -> None:
        """Any message survives to_dict, JSON and from_dict unchanged."""
        assert m == InboundMessage.from_dict(json.loads(json.dumps(m.to_dict())))

    @given(messages)
    def test_pickles(self, m: InboundMessage) -> None:
        """Messages pickle (queues, process pools)."""
        assert m == pickle.loads(pickle.dumps(m))

    def test_project_converter_round_trip(self) -> None:
        """ticketkit.to_dict and from_dict use the values' own forms."""
        import ticketkit as tk

        m = _msg(attachments=[Attachment(name="a.png", content_type="image/png", size=1, sha256=SHA)])
        assert m == tk.from_dict(InboundMessage, tk.to_dict(m))

    def test_every_problem_listed(self) -> None:
        """Construction lists every bad field at once."""
        with pytest.raises(ValidationError) as info:
            InboundMessage(
                channel="E-Mail",
                message_id="",
                sender="li",  # type: ignore[arg-type]
                references="abc",  # type: ignore[arg-type]
                attachments=("x",),  # type: ignore[arg-type]
                sent_at=datetime(2025, 1, 1),
                automatic="yes",  # type: ignore[arg-type]
                headers=(("a",),),  # type: ignore[arg-type]
                data={"x": {1, 2}},
                truncated="no",  # type: ignore[arg-type]
            )
        paths = sorted(e.path for e in info.value.errors)
        assert [
            "attachments[0]",
            "automatic",
            "channel",
            "data.x",
            "headers",
            "message_id",
            "references",
            "sender",
            "sent_at",
            "truncated",
        ] == paths

    def test_wrong_types_are_named(self) -> None:
        """Values of the wrong type are named by field, not raised as TypeError."""
        with pytest.raises(ValidationError) as info:
            InboundMessage(
                channel="email",
                message_id="x",
                sender=Sender(kind="email", value="a@b"),
                sent_at="2025-03-03",  # type: ignore[arg-type]
                attachments=5,  # type: ignore[arg-type]
                headers=5,  # type: ignore[arg-type]
                data=5,  # type: ignore[arg-type]
            )
        assert ["attachments", "data", "headers", "sent_at"] == sorted(e.path for e in info.value.errors)

    def test_from_dict_errors_have_paths(self) -> None:
        """Bad plain forms name their paths, nested ones included."""
        with pytest.raises(ValidationError) as info:
            InboundMessage.from_dict(
                {
                    "channel": "email",
                    "message_id": "x",
                    "sender": {"kind": "fax", "value": "1"},
                    "references": "abc",
                    "recipients": [1],
                    "headers": "x",
                    "extra": 1,
                }
            )
        assert ["extra", "headers", "recipients[0]", "references", "sender.kind"] == sorted(
            e.path for e in info.value.errors
        )

    @pytest.mark.parametrize("data", [[], "x", None])
    def test_from_dict_needs_an_object(self, data: object) -> None:
        """A non-object plain form is refused."""
        with pytest.raises(ValidationError, match="expected an object"):
            InboundMessage.from_dict(data)

    def test_headers_pairs_checked(self) -> None:
        """Header pairs must be two strings each."""
        with pytest.raises(ValidationError, match=r"headers\[0\]"):
            InboundMessage.from_dict(
                {
                    "channel": "email",
                    "message_id": "x",
                    "sender": {"kind": "email", "value": "a"},
                    "headers": [["a", 1]],
                }
            )

    def test_sender_email_is_normalised(self) -> None:
        """E-mail identities compare case-insensitively: stored lower-case and trimmed."""
        assert "li@example.cn" == Sender(kind="email", value=" Li@Example.CN ").value

    def test_header_lookup(self) -> None:
        """header() finds kept headers by any case, None when absent."""
        m = _msg(headers=[("List-Id", "<x>")])
        assert ("<x>", None) == (m.header("list-id"), m.header("Precedence"))

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"name": "", "content_type": "image/png", "size": 1, "sha256": SHA}, "name"),
            ({"name": "a", "content_type": "png", "size": 1, "sha256": SHA}, "content_type"),
            ({"name": "a", "content_type": "image/png", "size": -1, "sha256": SHA}, "size"),
            ({"name": "a", "content_type": "image/png", "size": True, "sha256": SHA}, "size"),
            ({"name": "a", "content_type": "image/png", "size": 1, "sha256": SHA.upper()}, "sha256"),
            ({"name": "a", "content_type": "image/png", "size": 1, "sha256": SHA, "inline": 1}, "inline"),
            ({"name": "a" * 256, "content_type": "image/png", "size": 1, "sha256": SHA}, "name"),
        ],
    )
    def test_attachment_validation(self, kwargs: dict[str, Any], path: str) -> None:
        """Bad attachment metadata names the field."""
        with pytest.raises(ValidationError) as info:
            Attachment(**kwargs)
        assert [path] == [e.path for e in info.value.errors]

    def test_automatic_validation(self) -> None:
        """An unknown reason or empty evidence is refused."""
        with pytest.raises(ValidationError) as info:
            Automatic(reason="robot", evidence=" ")
        assert ["evidence", "reason"] == sorted(e.path for e in info.value.errors)

    def test_limits(self) -> None:
        """Limits round-trip, keep defaults for missing keys, and refuse non-positive values."""
        assert MessageLimits(max_parts=5) == MessageLimits.from_dict({"max_parts": 5})
        with pytest.raises(ValidationError) as info:
            MessageLimits(max_raw_bytes=0, max_depth=True)  # type: ignore[arg-type]
        assert ["max_depth", "max_raw_bytes"] == sorted(e.path for e in info.value.errors)
        with pytest.raises(ValidationError, match="unknown key"):
            MessageLimits.from_dict({"max_size": 1})

    @pytest.mark.parametrize(
        ("kwargs", "paths"),
        [
            ({"action": "opened", "reason": "new"}, ["ticket_id"]),
            ({"action": "followup", "reason": "closed", "ticket_id": "T2"}, ["parent_id"]),
            ({"action": "exploded", "reason": "x"}, ["action"]),
            ({"action": "threaded", "reason": "x", "ticket_id": "T1", "rule": "magic"}, ["rule"]),
            ({"action": "ignored", "reason": ""}, ["reason"]),
        ],
    )
    def test_outcome_validation(self, kwargs: dict[str, Any], paths: list[str]) -> None:
        """Outcomes name their ticket when they have one, and only known actions and rules."""
        with pytest.raises(ValidationError) as info:
            ReceiveOutcome(**kwargs)
        assert paths == sorted(e.path for e in info.value.errors)

    def test_outcome_round_trip(self) -> None:
        """A follow-up outcome round-trips."""
        o = ReceiveOutcome(action="followup", reason="reply to closed T1", ticket_id="T2", parent_id="T1")
        assert o == ReceiveOutcome.from_dict(json.loads(json.dumps(o.to_dict())))


# --------------------------------------------------------------------------------- decoding


class TestDecode:
    @pytest.mark.parametrize(
        ("text", "codec", "label"),
        [
            ("王喆住在镕城", "gbk", "gb2312"),
            ("王喆住在镕城", "gbk", "GBK"),
            ("𠀀€", "gb18030", "gb18030"),
            ("冷氣機", "big5", "big5"),
            ("㗎", "big5hkscs", "big5"),
            ("冰箱", "utf-8", "utf-8"),
            ("冰箱", "utf-8", "iso-8859-1"),
            ("冰箱", "gbk", "x-unknown"),
            ("冰箱", "gbk", None),
            ("café", "cp1252", "iso-8859-1"),
            ("冰箱", "utf-8", "base64"),
        ],
    )
    def test_charsets(self, text: str, codec: str, label: str | None) -> None:
        """Every charset Chinese mail uses decodes, also when mislabelled."""
        assert text == decode_bytes(text.encode(codec), label)

    def test_undecodable_falls_back_with_replacement(self) -> None:
        """Bytes nothing decodes still give text."""
        assert "\ufffd" in decode_bytes(b"\x81\xff\xfe\x80", "shift_jis")

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("=?utf-8?Q?caf=C3=A9_au_lait?=", "café au lait"),
            ("=?utf-8?B?5Yaw?=  =?utf-8?B?566x?=", "冰箱"),
            ("=?utf-8?B?5Yaw?= and =?utf-8?B?566x?=", "冰 and 箱"),
            ("=?bogus-charset?B?5Yaw?=", "冰"),
            ("=?utf-8*zh?B?5Yaw?=", "冰"),
            ("plain\r\n folded", "plain folded"),
            ("=?gbk?B?sfnP5A?= =?utf-8?B?5Yaw?=", "冰箱冰"),
            ("=?utf-8?B?A?= ok", "=?utf-8?B?A?= ok"),
        ],
    )
    def test_headers(self, raw: str, expected: str) -> None:
        """RFC 2047 words decode; adjacent words join; folding is undone."""
        assert expected == decode_header(raw)

    @given(st.text(max_size=40))
    def test_header_never_raises(self, raw: str) -> None:
        """Any header text decodes to some text."""
        assert isinstance(decode_header(raw), str)

    @given(st.text(min_size=1, max_size=20), st.sampled_from(["utf-8", "gb18030", "big5hkscs"]))
    def test_encoded_word_round_trip(self, text: str, charset: str) -> None:
        """Text written as an encoded word in a charset that can hold it decodes back."""
        import base64

        try:
            data = text.encode(charset)
        except UnicodeEncodeError:
            return
        assert text == decode_header(f"=?{charset}?B?{base64.b64encode(data).decode()}?=")


# --------------------------------------------------------------------------------- text


class TestHtmlToText:
    @pytest.mark.parametrize(
        ("html", "expected"),
        [
            ("<p>a</p><p>b</p>", "a\nb"),
            ("a<br>b<br><br>c", "a\nb\n\nc"),
            ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
            ("<script>alert(1)</script><style>p{}</style>ok", "ok"),
            ("<pre>  x\n  y</pre>", "  x\n  y"),
            ("<blockquote><blockquote>deep</blockquote></blockquote>", "> > deep"),
            ("<div>unclosed <b>bold", "unclosed bold"),
            ("text</div>more", "text\nmore"),
            ("&lt;tag&gt; &amp; &#x51B0;", "<tag> & 冰"),
            ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
            ("<hr>x<img src=a>", "x"),
            ("<div id='appendonsend'></div><div>old</div>", "> old"),
            ("x<br><br><br>", "x"),
        ],
    )
    def test_cases(self, html: str, expected: str) -> None:
        """Blocks, breaks, lists, quotes, entities and broken markup give readable text."""
        assert expected == html_to_text(html)

    @given(st.text(max_size=200))
    def test_never_raises(self, html: str) -> None:
        """Any text converts without error."""
        assert isinstance(html_to_text(html), str)


class TestStripQuoted:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("New\n\nOn Mon, 3 Mar 2025, Li <a@b.c> wrote:\n> old", "New"),
            ("New\n\nOn Mon, Mar 3, 2025 at 9:00 AM Li <\na@b.c> wrote:\n\n> old", "New"),
            ("New\n\nOn Mon, Mar 3, 2025 at 9:00 AM\nLi Wei\n<a@b.c> wrote:\n> old", "New"),
            ("新\n\n在 2025年3月3日周一 09:00，李 <a@b.c> 写道：\n> 旧", "新"),
            ("新\n\n2025年3月3日 09:00，李 <a@b.c> 写道:\n旧", "新"),
            ("New\n-----Original Message-----\nFrom: x", "New"),
            ("新\n-----原始邮件-----\n发件人: x", "新"),
            ("新\n------------------ 原始邮件 ------------------\n发件人: x", "新"),
            ("新\n------------------\u00a0原始邮件\u00a0------------------\nold", "新"),
            ("New\n________________________________\nFrom: x", "New"),
            ("New\nFrom: A\nSent: Monday\nTo: B\nSubject: x\nold", "New"),
            ("新\n发件人： A\n发送时间： 周一\n收件人： B\n旧", "新"),
            ("New\nBegin forwarded message:\nold", "New"),
            ("> q1\na1\n> q2\na2", "a1\na2"),
            (
                "From: me, the customer.\nMy fridge is broken.",
                "From: me, the customer.\nMy fridge is broken.",
            ),
            ("As I wrote:\nthe fridge", "As I wrote:\nthe fridge"),
            (
                "On the phone you said\nthat it is fixed wrote:",
                "On the phone you said\nthat it is fixed wrote:",
            ),
            ("> all quoted", ""),
            ("\n\nonly\n\n", "only"),
        ],
    )
    def test_cases(self, text: str, expected: str) -> None:
        """Each client's quote marker cuts; ordinary text is kept."""
        assert expected == strip_quoted(text)

    @given(st.text(max_size=200))
    def test_result_is_made_of_input_lines(self, text: str) -> None:
        """The new text only ever keeps lines of the input, in order."""
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        kept = strip_quoted(text).split("\n") if strip_quoted(text) else []
        it = iter(line.rstrip() for line in lines)
        assert all(any(k == line for line in it) for k in kept)


# --------------------------------------------------------------------------------- e-mail


def _eml(headers: str, body: str | bytes = "Hello.\r\n") -> bytes:
    head = headers.replace("\n", "\r\n").strip() + "\r\n\r\n"
    return head.encode() + (body.encode() if isinstance(body, str) else body)


MIME_PIECES = st.sampled_from(
    [
        b"From: a@b.c\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"\r\n--x\r\n",
        b"--x--\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=y\r\n",
        b"--y\r\nContent-Type: message/delivery-status\r\n\r\n",
        b"Subject: =?gbk?B?sfnP5A?=\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Date: Mon, 99 Foo 2025\r\n",
        b"References: <a@b> x\r\n",
        b"Content-Disposition: attachment; filename*=utf-8''%E5%86%B0\r\n",
        b"Thread-Index: AQHZ\r\n",
        b"From: \xb1\xf9 <x@y>\r\n",
        b"Content-Type: text/html; charset=rot13\r\n",
        b'Content-Type: text/plain; charset="\xff"\r\n',
        b"Content-ID: <\x00>\r\n",
        b"\r\n",
    ]
)


class TestParseEmail:
    @given(st.binary(max_size=2000))
    def test_random_bytes(self, raw: bytes) -> None:
        """Any bytes give a message or a ValidationError, never another error."""
        with contextlib.suppress(ValidationError):
            parse_email(raw)

    @given(st.lists(MIME_PIECES | st.binary(max_size=40), max_size=40))
    def test_mime_shaped_garbage(self, pieces: list[bytes]) -> None:
        """MIME-shaped hostile input gives a message or a ValidationError."""
        with contextlib.suppress(ValidationError):
            parse_email(b"".join(pieces))

    def test_stdlib_failures_become_validation_errors(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Whatever the stdlib parser raises on hostile input is reported as a ValidationError."""
        import email

        def explode(*args: object, **kwargs: object) -> None:
            raise IndexError("list index out of range")

        monkeypatch.setattr(email, "message_from_bytes", explode)
        with pytest.raises(ValidationError, match=r"unreadable message \(IndexError"):
            parse_email(b"From: a@b.c\r\n\r\nhi")

    def test_not_bytes(self) -> None:
        """A str is refused: mail is bytes."""
        with pytest.raises(ValidationError, match="bytes"):
            parse_email("From: a@b")  # type: ignore[arg-type]

    def test_raw_size_limit(self) -> None:
        """Input over max_raw_bytes is refused before parsing."""
        with pytest.raises(ValidationError, match="limit is 100"):
            parse_email(_eml("From: a@b.c", "x" * 200), limits=MessageLimits(max_raw_bytes=100))

    def test_text_and_subject_are_cut(self) -> None:
        """Bodies and subjects over the limits are cut and the message marked truncated."""
        m = parse_email(
            _eml("From: a@b.c\nSubject: " + "s" * 50, "x" * 500),
            limits=MessageLimits(max_text_chars=100, max_subject_chars=10),
        )
        assert (100, 10, True) == (len(m.text), len(m.subject), m.truncated)

    def test_html_is_cut(self) -> None:
        """An HTML body over the limit is cut too."""
        m = parse_email(
            _eml("From: a@b.c\nContent-Type: text/html", "<p>" + "y" * 500 + "</p>"),
            limits=MessageLimits(max_text_chars=100),
        )
        assert (100, True) == (len(m.html or ""), m.truncated)

    def test_too_many_parts(self) -> None:
        """More MIME parts than max_parts is refused."""
        body = "".join("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10)) + "--b--\r\n"
        with pytest.raises(ValidationError, match="MIME parts"):
            parse_email(
                _eml("From: a@b.c\nContent-Type: multipart/mixed; boundary=b", body),
                limits=MessageLimits(max_parts=5),
            )

    def test_too_deep(self) -> None:
        """Nesting deeper than max_depth is refused."""
        body = "".join(
            f"--b{i}\r\nContent-Type: multipart/mixed; boundary=b{i + 1}\r\n\r\n" for i in range(6)
        )
        raw = _eml(
            "From: a@b.c\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0",
            body + "--b6\r\n\r\nx\r\n",
        )
        assert "x" == parse_email(raw).text
        with pytest.raises(ValidationError, match="nested deeper"):
            parse_email(raw, limits=MessageLimits(max_depth=3))

    def test_too_many_attachments(self) -> None:
        """More attachments than max_attachments is refused."""
        part = (
            "--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=a.png\r\n\r\nx\r\n"
        )
        with pytest.raises(ValidationError, match="attachments"):
            parse_email(
                _eml("From: a@b.c\nContent-Type: multipart/mixed; boundary=b", part * 4 + "--b--\r\n"),
                limits=MessageLimits(max_attachments=3),
            )

    def test_too_many_forwarded(self) -> None:
        """Forwarded messages count as attachments."""
        part = "--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.z\r\nSubject: s\r\n\r\nbody\r\n"
        with pytest.raises(ValidationError, match="attachments"):
            parse_email(
                _eml("From: a@b.c\nContent-Type: multipart/mixed; boundary=b", part * 3 + "--b--\r\n"),
                limits=MessageLimits(max_attachments=2),
            )

    def test_no_sender(self) -> None:
        """A message without any sender address is refused, naming From."""
        with pytest.raises(ValidationError) as info:
            parse_email(_eml("Subject: hi"))
        assert ["From"] == [e.path for e in info.value.errors]

    def test_sender_falls_back(self) -> None:
        """Without From, the Sender header or the Return-Path gives the address."""
        assert ("s@b.c", "r@b.c") == (
            parse_email(_eml("Sender: s@b.c")).sender.value,
            parse_email(_eml("Return-Path: <r@b.c>")).sender.value,
        )

    def test_references_limit_keeps_newest(self) -> None:
        """Only the newest max_references references are kept, without duplicates."""
        refs = " ".join(f"<r{i}@x>" for i in range(10)) + " <r9@x>"
        m = parse_email(_eml(f"From: a@b.c\nReferences: {refs}"), limits=MessageLimits(max_references=3))
        assert ("r7@x", "r8@x", "r9@x") == m.references

    def test_dates(self) -> None:
        """Dates parse with their offset; junk dates are None."""
        good = parse_email(_eml("From: a@b.c\nDate: Mon, 3 Mar 2025 10:00:00 +0800"))
        bad = parse_email(_eml("From: a@b.c\nDate: yesterday"))
        assert (datetime(2025, 3, 3, 10, tzinfo=timezone(timedelta(hours=8))), None) == (
            good.sent_at,
            bad.sent_at,
        )

    def test_thread_index_conversation(self) -> None:
        """Outlook's Thread-Index names the conversation by its first 22 bytes; short ones are ignored."""
        import base64

        ti = base64.b64encode(bytes(22) + bytes(10)).decode()
        assert ("thread-index:" + "00" * 22, None, None) == (
            parse_email(_eml(f"From: a@b.c\nThread-Index: {ti}")).conversation_id,
            parse_email(_eml("From: a@b.c\nThread-Index: AQHZ")).conversation_id,
            parse_email(_eml("From: a@b.c\nThread-Index: !!!")).conversation_id,
        )
        assert None is parse_email(_eml("From: a@b.c\nThread-Index: AAAAA")).conversation_id

    def test_kept_headers(self) -> None:
        """Threading and loop headers are kept, decoded; others are not."""
        m = parse_email(_eml("From: a@b.c\nPrecedence: list\nX-Spam: 1\nThread-Topic: =?utf-8?B?5Yaw?="))
        assert (("Precedence", "list"), ("Thread-Topic", "冰")) == m.headers

    def test_blob_storage(self) -> None:
        """With a BlobStore the attachment bytes are stored under their sha256."""
        blobs = InMemoryBlobStore()
        raw = _eml(
            "From: a@b.c\nContent-Type: multipart/mixed; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/pdf\r\n"
            "Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "JVBERg==\r\n--b--\r\n",
        )
        (a,) = parse_email(raw, blobs=blobs).attachments
        assert (b"%PDF", hashlib.sha256(b"%PDF").hexdigest()) == (blobs.get(a.storage_key or ""), a.sha256)
        assert None is parse_email(raw).attachments[0].storage_key

    @pytest.mark.parametrize(
        ("headers", "reason", "weak"),
        [
            ("Auto-Submitted: auto-replied", "auto-reply", False),
            ("Auto-Submitted: auto-generated", "auto-generated", False),
            ("Auto-Submitted: auto-notified; owner-email=x@y", "auto-generated", False),
            ("Auto-Submitted: no", None, False),
            ("Auto-Submitted: No", None, False),
            ("X-Autoreply: yes", "auto-reply", False),
            ("X-Autorespond: x", "auto-reply", False),
            ("X-Auto-Response-Suppress: OOF", "auto-generated", False),
            ("Precedence: bulk", "bulk", False),
            ("Precedence: junk", "bulk", False),
            ("Precedence: list", "list", False),
            ("Precedence: first-class", None, False),
            ("List-Id: <a.b>", "list", False),
            ("List-Unsubscribe: <mailto:u@b>", "bulk", False),
            ("Return-Path: <>", "auto-generated", False),
            ("Return-Path: < >", "auto-generated", False),
            ("Return-Path: <a@b.c>", None, False),
            ("Subject: Out of Office", "auto-reply", True),
            ("Subject: Automatic reply: hi", "auto-reply", True),
            ("Subject: 自动回复：您好", "auto-reply", True),
            ("Subject: Re: 自動回覆", "auto-reply", True),
            ("Subject: Re: office chair broken", None, False),
            ("X-Failed-Recipients: gone@x.y", "bounce", False),
        ],
    )
    def test_automatic_signals(self, headers: str, reason: str | None, weak: bool) -> None:
        """Each loop-detection signal gives its reason; Auto-Submitted: no is a person."""
        m = parse_email(_eml("From: a@b.c\n" + headers))
        assert (reason, weak) == ((m.automatic.reason, m.automatic.weak) if m.automatic else (None, False))

    def test_daemon_without_bounce_subject(self) -> None:
        """Mail from a mailer daemon that is no bounce is still automatic."""
        m = parse_email(_eml("From: MAILER-DAEMON@mx.example\nSubject: Warning"))
        assert "auto-generated" == (m.automatic.reason if m.automatic else None)

    def test_rfc822_without_parsed_payload(self) -> None:
        """A message/rfc822 part with a base64 body becomes an attachment instead of failing."""
        raw = _eml(
            "From: a@b.c\nContent-Type: multipart/mixed; boundary=b",
            "--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "RnJvbTogeEB5LnoNCg0KaGk=\r\n--b--\r\n",
        )
        m = parse_email(raw)
        assert ["message/rfc822"] == [a.content_type for a in m.attachments]

    def test_html_only_in_alternative(self) -> None:
        """multipart/alternative with only HTML gives text from the HTML."""
        raw = _eml(
            "From: a@b.c\nContent-Type: multipart/alternative; boundary=b",
            "--b\r\nContent-Type: text/html\r\n\r\n<p>Hi <b>there</b></p>\r\n--b--\r\n",
        )
        assert ("Hi there", "Hi there") == (parse_email(raw).text, parse_email(raw).new_text)


# --------------------------------------------------------------------------------- outbound


class TestTicketToken:
    @given(st.text(max_size=40), st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,20}\Z"))
    def test_add_then_find(self, subject: str, ticket_id: str) -> None:
        """A token added to any subject is found again, and adding twice changes nothing."""
        token = TicketToken()
        once = token.add(subject, ticket_id)
        assert (True, once) == (ticket_id in token.find(once), token.add(once, ticket_id))

    @pytest.mark.parametrize(
        "pattern", ["", "[#]", "{id}{id}", "{id}", " {id} ", "[{ticket}] {id}", "x" * 60 + "{id}", 5]
    )
    def test_bad_patterns(self, pattern: Any) -> None:
        """Patterns without exactly one {id}, without fixed text, or with other braces are refused."""
        with pytest.raises(ValidationError):
            TicketToken(pattern=pattern)

    def test_custom_pattern_round_trip(self) -> None:
        """A custom pattern round-trips through its plain form and finds its ids."""
        token = TicketToken.from_dict({"pattern": "(Case {id})"})
        assert (("A-1",), token) == (
            token.find("Re: (Case A-1) stuck"),
            TicketToken.from_dict(token.to_dict()),
        )

    @pytest.mark.parametrize("data", [{"pattern": "[#{id}]", "x": 1}, "[#{id}]"])
    def test_bad_plain_form(self, data: Any) -> None:
        """Unknown keys or a non-object are refused."""
        with pytest.raises(ValidationError):
            TicketToken.from_dict(data)

    @pytest.mark.parametrize("ticket_id", ["", "T 1", "工单1", "x" * 65, None])
    def test_ids_a_subject_cannot_carry(self, ticket_id: Any) -> None:
        """Ids with spaces, other scripts or over 64 characters cannot be formatted."""
        with pytest.raises(ValidationError, match="ticket_id"):
            TicketToken().format(ticket_id)


class TestOutboundHeaders:
    @given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
    def test_message_id_round_trip(self, ticket_id: str, notification_id: str) -> None:
        """Any ticket and notification id make a stable Message-ID the ticket is read back from."""
        mid = email_message_id(ticket_id=ticket_id, notification_id=notification_id, domain="shop.example")
        again = email_message_id(ticket_id=ticket_id, notification_id=notification_id, domain="shop.example")
        assert (ticket_id, mid) == (ticket_from_message_id(f"<{mid}>", "SHOP.example"), again)
        assert mid.isascii()
        assert " " not in mid
        assert mid.count("@") == 1

    @pytest.mark.parametrize(
        "message_id",
        ["<a@shop.example>", "<x.T1.N1@shop.example>", "<tk.T1@shop.example>", "<tk.=zz.N@shop.example>",
         "<tk.a+b.N@shop.example>", "no-at-sign", "<tk.=ff.N@shop.example>"],
    )  # fmt: skip
    def test_foreign_ids_name_no_ticket(self, message_id: str) -> None:
        """Message-IDs this library did not make name no ticket."""
        assert None is ticket_from_message_id(message_id, "shop.example")

    @pytest.mark.parametrize("domain", ["", "-bad.example", "a b", "x" * 300, "shop..example"])
    def test_bad_domain(self, domain: str) -> None:
        """Domains that cannot end a Message-ID are refused."""
        with pytest.raises(ValidationError, match="domain"):
            email_message_id(ticket_id="T1", notification_id="N1", domain=domain)

    def test_empty_ids_refused(self) -> None:
        """Empty ticket or notification ids are refused."""
        with pytest.raises(ValidationError, match="notification_id"):
            email_message_id(ticket_id="T1", notification_id="", domain="shop.example")

    def test_reply_threads_to_the_inbound_chain(self) -> None:
        """A reply names the message and carries its references, trimmed to the first and last 19."""
        inbound = _msg(message_id="c30@x", references=tuple(f"c{i}@x" for i in range(30)))
        h = email_reply_headers(
            ticket_id="T1", notification_id="N9", domain="shop.example", subject="Re:  Refund ",
            replying_to=inbound,
            automatic="auto-replied",
        )  # fmt: skip
        items = dict(h.items())
        assert ("<c30@x>", 20, "c0@x", "c30@x") == (
            items["In-Reply-To"],
            len(h.references),
            h.references[0],
            h.references[-1],
        )
        assert ("[#T1] Re: Refund", "auto-replied", "All") == (
            items["Subject"],
            items["Auto-Submitted"],
            items["X-Auto-Response-Suppress"],
        )

    def test_reply_to_other_channel_has_no_mail_threading(self) -> None:
        """A reply to a WeChat message carries no In-Reply-To."""
        inbound = _msg(channel="wechat", sender=Sender(kind="wechat_openid", value="o1"))
        h = email_reply_headers(
            ticket_id="T1", notification_id="N", domain="d.example", subject="s", replying_to=inbound
        )
        assert (None, ()) == (h.in_reply_to, h.references)

    def test_bad_automatic(self) -> None:
        """Only the two RFC 3834 values a desk sends are accepted."""
        with pytest.raises(ValidationError, match="automatic"):
            email_reply_headers(
                ticket_id="T1", notification_id="N", domain="d.example", subject="s", automatic="yes"
            )

    def test_customer_reply_threads_back(self) -> None:
        """A customer's reply to our headers threads back by references, even with no store."""
        h = email_reply_headers(ticket_id="T7", notification_id="N1", domain="shop.example", subject="收到")
        items = dict(h.items())
        reply = parse_email(
            _eml(
                f"From: li@x.cn\nSubject: Re: {items['Subject']}\nIn-Reply-To: {items['Message-ID']}\n"
                f"References: {items['Message-ID']}"
            )
        )
        match = resolve_thread(reply, message_ids=lambda mid: ticket_from_message_id(mid, "shop.example"))
        assert ("references", "T7") == (match.rule, match.ticket_id)


# --------------------------------------------------------------------------------- threading


def _reference_resolver(
    m: InboundMessage, conv: dict[str, str], mids: dict[str, str], tokens: dict[str, str]
) -> tuple[str | None, str | None]:
    """The rules written out longhand, to cross-check resolve_thread."""
    if m.conversation_id in conv:
        return "conversation", conv[m.conversation_id]
    for ref in list(m.references)[::-1]:
        if ref in mids:
            return "references", mids[ref]
    if m.in_reply_to is not None and m.in_reply_to in mids:
        return ("references" if m.in_reply_to in m.references else "in-reply-to"), mids[m.in_reply_to]
    for tid in TicketToken().find(m.subject):
        if tid in tokens:
            return "subject-token", tokens[tid]
    return None, None


small_ids = st.sampled_from(["a", "b", "c", "d"])


class TestResolveThread:
    @given(
        st.none() | small_ids,
        st.lists(small_ids, max_size=3, unique=True),
        st.none() | small_ids,
        st.lists(st.sampled_from(["T1", "T2", "T3"]), max_size=2),
        st.dictionaries(small_ids, st.sampled_from(["T1", "T2"])),
        st.dictionaries(small_ids, st.sampled_from(["T1", "T3"])),
        st.dictionaries(st.sampled_from(["T1", "T2", "T3"]), st.sampled_from(["T1", "T2", "T3"])),
    )
    def test_agrees_with_the_reference(  # noqa: PLR0917 - one argument per strategy
        self,
        conversation: str | None,
        references: list[str],
        in_reply_to: str | None,
        subject_ids: list[str],
        conv: dict[str, str],
        mids: dict[str, str],
        tokens: dict[str, str],
    ) -> None:
        """resolve_thread picks the same rule and ticket as the longhand rules."""
        m = _msg(
            conversation_id=conversation,
            references=tuple(references),
            in_reply_to=in_reply_to,
            subject=" ".join(f"[#{t}]" for t in subject_ids) + " Re: x",
        )
        got = resolve_thread(m, conversation=conv.get, message_ids=mids.get, tokens=tokens.get)
        assert _reference_resolver(m, conv, mids, tokens) == (got.rule, got.ticket_id)
        assert got.matched == (got.ticket_id is not None)

    def test_missing_lookups_skip_rules(self) -> None:
        """Without lookups nothing matches and nothing is tried."""
        m = _msg(conversation_id="c", references=("r",), subject="[#T1]")
        assert ThreadMatch(rule=None, ticket_id=None, key=None) == resolve_thread(m)

    def test_tried_lists_misses_in_order(self) -> None:
        """The record lists every lookup that missed before the match."""
        m = _msg(conversation_id="c", references=("r1", "r2"), in_reply_to="r3", subject="[#T9] [#T1]")
        got = resolve_thread(m, conversation={}.get, message_ids={}.get, tokens={"T1": "T1"}.get)
        assert (
            ("conversation", "c"),
            ("references", "r2"),
            ("references", "r1"),
            ("in-reply-to", "r3"),
            ("subject-token", "T9"),
        ) == got.tried
        assert ("subject-token", "T1", "T1") == (got.rule, got.ticket_id, got.key)

    def test_custom_token(self) -> None:
        """A custom token pattern is used for the subject rule."""
        m = _msg(subject="回复：【工单 A-7】")
        got = resolve_thread(m, tokens={"A-7": "A-7"}.get, token=TicketToken(pattern="【工单 {id}】"))
        assert "A-7" == got.ticket_id


# --------------------------------------------------------------------------------- the package


SRC = Path(__file__).resolve().parent.parent / "src" / "ticketkit"


class TestPackage:
    def test_all_sorted_and_complete(self) -> None:
        """ticketkit.channels.__all__ is sorted and exports every private module's public names."""
        import importlib

        missing = []
        for path in sorted((SRC / "channels").glob("_*.py")):
            if path.stem in {"__init__", "_contract"}:
                continue
            module = importlib.import_module(f"ticketkit.channels.{path.stem}")
            exported = {id(getattr(channels, n)) for n in channels.__all__}
            missing += [n for n in getattr(module, "__all__", ()) if id(getattr(module, n)) not in exported]
        assert (sorted(channels.__all__), []) == (channels.__all__, missing)

    def test_every_name_documented_with_an_example(self) -> None:
        """Every public name has a docstring example and a reference entry."""
        import re

        reference = (SRC.parent.parent / "docs" / "reference" / "channels.md").read_text(encoding="utf-8")
        documented = set(re.findall(r"^:::\s*ticketkit\.channels\.(\w+)", reference, re.MULTILINE))
        no_example = [n for n in channels.__all__ if ">>>" not in (getattr(channels, n).__doc__ or "")]
        assert ([], []) == (no_example, sorted(set(channels.__all__) - documented))

    def test_imports_only_model_and_errors(self) -> None:
        """The channels package imports nothing of ticketkit but the model, errors and itself."""
        bad = []
        for path in (SRC / "channels").glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else
                    [a.name for a in node.names] if isinstance(node, ast.Import) else []
                )  # fmt: skip
                allowed = ("ticketkit.model", "ticketkit.errors", "ticketkit.channels")
                bad.extend(
                    f"{path.name}: {name}"
                    for name in names
                    if name.startswith("ticketkit") and not name.startswith(allowed)
                )
        assert [] == bad

    def test_frozen(self) -> None:
        """Messages are frozen values."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            _msg().subject = "x"  # type: ignore[misc]

    def test_testing_exposes_the_blob_contract(self) -> None:
        """ticketkit.testing.BlobStoreContract is the channels contract suite."""
        import ticketkit.testing
        from ticketkit.channels._contract import BlobStoreContract

        assert BlobStoreContract is ticketkit.testing.BlobStoreContract
        with pytest.raises(AttributeError):
            ticketkit.testing.Nope


class TestEmailAndWechatAgree:
    def test_at_is_not_needed(self) -> None:
        """Parsing needs no clock: the same input gives the same message at any time."""
        raw = _eml("From: a@b.c")
        assert parse_email(raw) == parse_email(raw)
        assert T0.tzinfo is UTC


# --------------------------------------------------------------------------------- round trips

header_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() and "=?" not in s)
body_text = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=50),
    min_size=1,
    max_size=5,
).map("\n".join)


class TestStdlibRoundTrip:
    @given(header_text, header_text, body_text, st.sampled_from(["utf-8", "gb18030"]))
    def test_mail_written_by_the_stdlib_reads_back(
        self, name: str, subject: str, body: str, charset: str
    ) -> None:
        """Any name, subject and body written by the stdlib in UTF-8 or GB18030 parse back unchanged."""
        from email.message import EmailMessage

        try:
            body.encode(charset)
        except UnicodeEncodeError:
            return
        out = EmailMessage()
        out["From"] = f'"{name.replace(chr(34), "").replace(chr(92), "")}" <li@example.cn>'
        out["Subject"] = subject
        out.set_content(body, charset=charset)
        m = parse_email(out.as_bytes())
        expected_name = " ".join(name.replace('"', "").replace("\\", "").split()) or None
        assert (" ".join(subject.split()), body.strip("\n")) == (m.subject, m.text.rstrip("\n"))
        assert expected_name == (" ".join(m.sender.name.split()) if m.sender.name else None)
