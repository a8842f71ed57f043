"""WeChat official-account and WeCom callbacks, signatures and encryption; the JSON webhook channel."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit.channels import (
    InboundMessage,
    WeComCrypto,
    parse_webhook,
    parse_wechat,
    read_xml,
    resolve_thread,
    sign_webhook,
    verify_webhook_signature,
    verify_wechat_signature,
    wechat_signature,
    wechat_text_reply,
)
from ticketkit.errors import ValidationError

WECHAT = Path(__file__).resolve().parent / "fixtures" / "wechat"
EXPECT: dict[str, Any] = json.loads((WECHAT / "expectations.json").read_text(encoding="utf-8"))["messages"]
CONVERSATIONS = json.loads(
    (Path(__file__).resolve().parent / "fixtures" / "mail" / "expectations.json").read_text(encoding="utf-8")
)["known"]["conversations"]


class TestWeChatCorpus:
    @pytest.mark.parametrize("name", sorted(EXPECT))
    def test_fixture(self, name: str) -> None:
        """Each callback parses to its expected channel, sender, id, text, automatic flag and thread."""
        expect = EXPECT[name]
        m = parse_wechat((WECHAT / f"{name}.xml").read_bytes())
        assert (expect["channel"], expect["sender_kind"], expect["sender"]) == (
            m.channel,
            m.sender.kind,
            m.sender.value,
        )
        assert (expect["message_id"], expect["text"], expect["text"]) == (m.message_id, m.text, m.new_text)
        assert expect["automatic"] == (m.automatic.reason if m.automatic else None)
        assert expect["conversation"] == m.conversation_id
        assert expect["ticket"] == resolve_thread(m, conversation=CONVERSATIONS.get).ticket_id
        if "sent_at" in expect:
            assert expect["sent_at"] == (m.sent_at.isoformat() if m.sent_at else None)
        for key, value in expect.get("data", {}).items():
            assert value == m.data[key]
        assert m == InboundMessage.from_dict(json.loads(json.dumps(m.to_dict())))

    def test_corpus_size(self) -> None:
        """The WeChat corpus covers text, media, location, link, events and WeCom."""
        assert len(EXPECT) >= 15

    def test_channel_can_be_forced(self) -> None:
        """An explicit channel name wins over detection."""
        xml = (WECHAT / "oa-text.xml").read_bytes()
        assert "wechat-shop2" == parse_wechat(xml, channel="wechat-shop2").channel


class TestWeChatXmlSafety:
    @pytest.mark.parametrize(
        "xml",
        [
            (
                '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                "<xml><Content>&lol2;</Content></xml>"
            ),
            '<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>',
            '<xml><!ENTITY x SYSTEM "http://evil.example/"></xml>',
            "<!doctype xml><xml/>",
        ],
    )
    def test_doctype_and_entities_are_refused(self, xml: str) -> None:
        """DOCTYPE and ENTITY declarations are refused before parsing (XML bombs, XXE)."""
        with pytest.raises(ValidationError, match="DOCTYPE or ENTITY"):
            parse_wechat(xml)

    @pytest.mark.parametrize(
        ("xml", "message"),
        [
            ("<xml><a></xml>", "not well-formed"),
            ("<root/>", "expected an <xml> document"),
            (b"\xff\xfe<xml/>", "not UTF-8"),
            (b"<xml>" + b"x" * (1024 * 1024) + b"</xml>", "limit"),
            ("<xml>" + "x" * (1024 * 1024) + "</xml>", "limit"),
        ],
    )
    def test_bad_documents(self, xml: str | bytes, message: str) -> None:
        """Malformed, foreign, non-UTF-8 and oversized documents are ValidationErrors."""
        with pytest.raises(ValidationError, match=message):
            parse_wechat(xml)

    def test_not_text(self) -> None:
        """Anything but bytes or str is refused."""
        with pytest.raises(ValidationError, match="bytes or str"):
            read_xml(42)  # type: ignore[arg-type]

    def test_missing_fields_are_all_named(self) -> None:
        """Every missing required element is listed with its path."""
        with pytest.raises(ValidationError) as info:
            parse_wechat("<xml><MsgType>text</MsgType></xml>")
        assert ["xml.CreateTime", "xml.FromUserName", "xml.ToUserName"] == sorted(
            e.path for e in info.value.errors
        )

    def test_bad_create_time(self) -> None:
        """A CreateTime that is not seconds since 1970 is named."""
        xml = (
            "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
            "<CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>"
        )
        with pytest.raises(ValidationError, match=r"xml\.CreateTime"):
            parse_wechat(xml)

    def test_repeated_and_deep_elements(self) -> None:
        """Repeated children become lists; an element three levels down keeps no children."""
        fields = read_xml("<xml><P><I>1</I><I>2</I><I>3</I></P><A><B><C><D><E>x</E></D></C></B></A></xml>")
        assert {"P": {"I": ["1", "2", "3"]}, "A": {"B": {"C": ""}}} == fields

    def test_unknown_type_and_placeholders(self) -> None:
        """Unknown message types keep their name as text; file messages say [file]."""
        base = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
        assert ("[hologram]", "[file]") == (
            parse_wechat(base + "<MsgType>hologram</MsgType></xml>").text,
            parse_wechat(base + "<MsgType>file</MsgType></xml>").text,
        )

    @given(st.binary(max_size=300) | st.text(max_size=300))
    def test_any_input_is_a_message_or_a_validation_error(self, data: bytes | str) -> None:
        """No input raises anything but ValidationError."""
        with contextlib.suppress(ValidationError):
            parse_wechat(data)


class TestWeChatSignature:
    def test_matches_the_documented_algorithm(self) -> None:
        """The signature is SHA-1 over the sorted, concatenated parts."""
        import hashlib

        parts = ["token123", "1741568400", "nonce9", "ENCRYPTED"]
        expected = hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
        assert expected == wechat_signature(
            token="token123", timestamp="1741568400", nonce="nonce9", encrypt="ENCRYPTED"
        )

    @given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
    def test_verify_accepts_own_signatures_only(self, token: str, timestamp: str, nonce: str) -> None:
        """A signature verifies for its own inputs, and not for a changed nonce."""
        sig = wechat_signature(token=token, timestamp=timestamp, nonce=nonce)
        assert verify_wechat_signature(token=token, timestamp=timestamp, nonce=nonce, signature=sig)
        assert not verify_wechat_signature(token=token, timestamp=timestamp, nonce=nonce + "x", signature=sig)

    def test_bad_types_are_false(self) -> None:
        """A missing query parameter (None) is simply not a valid signature."""
        assert not verify_wechat_signature(token="t", timestamp="1", nonce="n", signature=None)  # type: ignore[arg-type]


KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")


class TestWeComCrypto:
    def crypto(self) -> WeComCrypto:
        return WeComCrypto(token="QDG6eK", encoding_aes_key=KEY, receive_id="ww_corp")

    def test_round_trip_and_parse(self) -> None:
        """An encrypted callback decrypts (signature checked) and parses as a WeCom message."""
        xml = (WECHAT / "wecom-text.xml").read_text(encoding="utf-8")
        crypto = self.crypto()
        body = crypto.encrypt(xml, timestamp="1741568600", nonce="n1", random=b"0123456789abcdef")
        sig = read_xml(body)["MsgSignature"]
        plain = crypto.decrypt_callback(body, msg_signature=sig, timestamp="1741568600", nonce="n1")
        assert "打印机卡纸了" == parse_wechat(plain).text

    def test_wrong_signature(self) -> None:
        """A callback with a wrong signature is refused before decrypting."""
        crypto = self.crypto()
        body = crypto.encrypt("<xml/>", timestamp="1", nonce="n")
        with pytest.raises(ValidationError, match="signature"):
            crypto.decrypt_callback(body, msg_signature="0" * 40, timestamp="1", nonce="n")

    def test_wrong_receiver(self) -> None:
        """A message for another corp id is refused."""
        body = self.crypto().encrypt("<xml/>", timestamp="1", nonce="n")
        other = WeComCrypto(token="QDG6eK", encoding_aes_key=KEY, receive_id="ww_other")
        with pytest.raises(ValidationError, match="receiver id"):
            other.decrypt(read_xml(body)["Encrypt"])

    def test_wrong_key(self) -> None:
        """Another key gives bad padding or a wrong receiver, never garbage."""
        body = self.crypto().encrypt("<xml/>", timestamp="1", nonce="n", random=b"r" * 16)
        other = WeComCrypto(token="QDG6eK", encoding_aes_key="b" * 43, receive_id="ww_corp")
        with pytest.raises(ValidationError):
            other.decrypt(read_xml(body)["Encrypt"])

    @pytest.mark.parametrize(
        ("encrypted", "message"),
        [("not base64!", "base64"), (base64.b64encode(b"short").decode(), "AES blocks"), ("", "AES blocks")],
    )
    def test_bad_ciphertext(self, encrypted: str, message: str) -> None:
        """Bad base64 and partial blocks are named."""
        with pytest.raises(ValidationError, match=message):
            self.crypto().decrypt(encrypted)

    def test_missing_encrypt(self) -> None:
        """A callback body without Encrypt is refused."""
        with pytest.raises(ValidationError, match=r"xml\.Encrypt"):
            self.crypto().decrypt_callback("<xml/>", msg_signature="x", timestamp="1", nonce="n")

    @pytest.mark.parametrize("key", ["short", "!" * 43])
    def test_bad_key(self, key: str) -> None:
        """An EncodingAESKey that is not 43 base64 characters is refused."""
        with pytest.raises(ValidationError, match="encoding_aes_key"):
            WeComCrypto(token="t", encoding_aes_key=key, receive_id="r")

    def test_non_utf8_plaintext(self) -> None:
        """Decrypted bytes that are not UTF-8 are refused."""
        import struct

        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        key = base64.b64decode(KEY + "=")
        msg = b"\xff\xfe"
        plain = b"r" * 16 + struct.pack(">I", len(msg)) + msg + b"ww_corp"
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        data = base64.b64encode(enc.update(plain) + enc.finalize()).decode()
        with pytest.raises(ValidationError, match="not UTF-8"):
            self.crypto().decrypt(data)


def _hook(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "fb-1001",
        "channel": "app",
        "sender": {"kind": "app_user", "value": "u-42", "name": "王芳"},
        "conversation_id": "chat-7",
        "subject": "App crashes",
        "text": "The app crashes when I open my orders.",
        "sent_at": "2025-03-10T09:00:00+08:00",
        "data": {"app_version": "3.2.1"},
    }
    body.update(changes)
    return body


class TestWebhook:
    def test_full_shape(self) -> None:
        """The documented shape becomes an InboundMessage field by field."""
        m = parse_webhook(json.dumps(_hook()).encode())
        assert ("app", "fb-1001", "u-42", "chat-7", "The app crashes when I open my orders.", "3.2.1") == (
            m.channel,
            m.message_id,
            m.sender.value,
            m.conversation_id,
            m.new_text,
            m.data["app_version"],
        )
        assert datetime(2025, 3, 10, 1, tzinfo=UTC) == m.sent_at

    def test_mapping_input_and_automatic(self) -> None:
        """A parsed mapping works too; automatic carries a reason."""
        m = parse_webhook(_hook(automatic={"reason": "bulk", "evidence": "chatbot broadcast"}))
        assert "bulk" == (m.automatic.reason if m.automatic else None)

    def test_unknown_keys(self) -> None:
        """Unknown keys are refused, each named."""
        with pytest.raises(ValidationError) as info:
            parse_webhook(_hook(body="x", user="y"))
        assert ["body", "user"] == [e.path for e in info.value.errors]

    def test_missing_id(self) -> None:
        """The message id is required."""
        body = _hook()
        del body["id"]
        with pytest.raises(ValidationError, match="id"):
            parse_webhook(body)

    def test_errors_use_the_webhook_names(self) -> None:
        """A bad id is reported as 'id', other paths as in the message."""
        with pytest.raises(ValidationError) as info:
            parse_webhook(_hook(id=7, sent_at="2025-03-10T09:00:00"))
        assert ["id", "sent_at"] == sorted(e.path for e in info.value.errors)

    @pytest.mark.parametrize(
        ("body", "message"), [(b"{", "not valid JSON"), (b"[1]", "JSON object"), (b"\xff", "JSON")]
    )
    def test_bad_json(self, body: bytes, message: str) -> None:
        """Bad JSON and non-objects are ValidationErrors."""
        with pytest.raises(ValidationError, match=message):
            parse_webhook(body)

    def test_limits(self) -> None:
        """Oversized bodies are refused; long text is cut and marked truncated."""
        from ticketkit.channels import MessageLimits

        with pytest.raises(ValidationError, match="limit"):
            parse_webhook(json.dumps(_hook()), limits=MessageLimits(max_raw_bytes=10))
        m = parse_webhook(
            _hook(text="x" * 50, html="<p>" + "y" * 50), limits=MessageLimits(max_text_chars=20)
        )
        assert (20, 20, 20, True) == (len(m.text), len(m.new_text), len(m.html or ""), m.truncated)

    @pytest.mark.parametrize("depth", [21, 500, 990])
    def test_deep_json_is_refused(self, depth: int) -> None:
        """JSON nested deeper than max_depth is a ValidationError, never a RecursionError."""
        body = json.dumps(_hook())[:-1] + ', "data": {"a": ' + "[" * depth + "]" * depth + "}}"
        body = body.replace('"data": {"app_version": "3.2.1"}, ', "")
        with pytest.raises(ValidationError, match=r"nested deeper|recursion"):
            parse_webhook(body)

    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=20,
        )
    )
    def test_any_json_is_a_message_or_a_validation_error(self, value: object) -> None:
        """Any JSON value, also as the data or the sender, gives a message or a ValidationError."""
        for body in (
            value,
            {"id": "x", "sender": value},
            {"id": "x", "sender": {"kind": "other", "value": "v"}, "data": value},
        ):
            with contextlib.suppress(ValidationError):
                parse_webhook(json.dumps(body))

    def test_signature_round_trip(self) -> None:
        """A signed body verifies within the tolerance, and not after it or when changed."""
        body = json.dumps(_hook()).encode()
        header = sign_webhook(body, b"secret", timestamp=1741568400)
        at = datetime.fromtimestamp(1741568400, UTC)
        assert verify_webhook_signature(body, header, b"secret", at=at + timedelta(minutes=4))
        assert not verify_webhook_signature(body, header, b"secret", at=at + timedelta(minutes=6))
        assert not verify_webhook_signature(body + b" ", header, b"secret", at=at)
        assert not verify_webhook_signature(body, header, b"other", at=at)

    @pytest.mark.parametrize("header", ["", "v1=abc", "t=soon,v1=abc", None])
    def test_malformed_headers_are_false(self, header: str | None) -> None:
        """Malformed or missing signature headers are simply False."""
        at = datetime.fromtimestamp(0, UTC)
        assert not verify_webhook_signature(b"{}", header, "s", at=at)  # type: ignore[arg-type]


class TestPassiveReply:
    def test_reply_swaps_the_parties(self) -> None:
        """The reply goes to the sender, from the account, and survives CDATA terminators."""
        m = parse_wechat((WECHAT / "wecom-text.xml").read_bytes())
        reply = wechat_text_reply(m, "修好了]]>谢谢", at=datetime(2025, 3, 10, tzinfo=UTC))
        fields = read_xml(reply)
        assert ("zhangsan", "ww_corp", "修好了]]>谢谢", "1741564800") == (
            fields["ToUserName"],
            fields["FromUserName"],
            fields["Content"],
            fields["CreateTime"],
        )

    def test_refuses_other_channels_and_naive_times(self) -> None:
        """An e-mail cannot be answered passively; a naive time is refused."""
        from ticketkit.channels import Sender

        mail = InboundMessage(channel="email", message_id="x@y", sender=Sender(kind="email", value="a@b"))
        with pytest.raises(ValidationError, match="WeChat"):
            wechat_text_reply(mail, "x", at=datetime(2025, 1, 1, tzinfo=UTC))
        m = parse_wechat((WECHAT / "oa-text.xml").read_bytes())
        with pytest.raises(ValidationError, match="naive"):
            wechat_text_reply(m, "x", at=datetime(2025, 1, 1))
        import attrs

        with pytest.raises(ValidationError, match="recipients"):
            wechat_text_reply(attrs.evolve(m, recipients=()), "x", at=datetime(2025, 1, 1, tzinfo=UTC))
