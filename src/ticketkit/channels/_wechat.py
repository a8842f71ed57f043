"""WeChat official accounts and WeCom: callback XML to ``InboundMessage``, signatures, AES."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from ticketkit.channels._message import Automatic, InboundMessage, MessageLimits, Sender
from ticketkit.errors import ValidationError

__all__ = [
    "WeComCrypto",
    "parse_wechat",
    "read_xml",
    "verify_wechat_signature",
    "wechat_signature",
    "wechat_text_reply",
]

MAX_XML_BYTES = 1024 * 1024
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.I)
_PLACEHOLDER = {
    "image": "[image]",
    "voice": "[voice]",
    "video": "[video]",
    "shortvideo": "[video]",
    "file": "[file]",
    "miniprogrampage": "[mini program]",
}


def wechat_signature(*, token: str, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
    """The callback signature: SHA-1 of the sorted, joined token, timestamp, nonce (and ``Encrypt``).

    Official accounts sign plain callbacks without ``encrypt`` (the ``signature`` query
    parameter); WeCom and safe-mode accounts sign with it (``msg_signature``).

    Examples:
        >>> wechat_signature(token="tk", timestamp="1700000000", nonce="42")
        '64f3627c73fb693c296f67e25d72a1dbd03c1114'
    """
    parts = sorted([token, timestamp, nonce] + ([encrypt] if encrypt is not None else []))
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def verify_wechat_signature(
    *, token: str, timestamp: str, nonce: str, signature: str, encrypt: str | None = None
) -> bool:
    """Whether ``signature`` is the callback signature for these values (constant time).

    Examples:
        >>> verify_wechat_signature(
        ...     token="tk",
        ...     timestamp="1700000000",
        ...     nonce="42",
        ...     signature="64f3627c73fb693c296f67e25d72a1dbd03c1114",
        ... )
        True
    """
    if not all(isinstance(v, str) for v in (token, timestamp, nonce, signature)):
        return False
    expected = wechat_signature(token=token, timestamp=timestamp, nonce=nonce, encrypt=encrypt)
    return hmac.compare_digest(expected, signature.lower())


def _element_value(element: ET.Element, depth: int) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if depth >= 3:
        return ""
    out: dict[str, Any] = {}
    for child in children:
        value = _element_value(child, depth + 1)
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


def read_xml(xml: bytes | str, *, limit: int = MAX_XML_BYTES) -> dict[str, Any]:
    """The fields of a WeChat-style ``<xml>`` document, refusing DOCTYPE and ENTITY declarations.

    Raises:
        ValidationError: for anything but a small, well-formed ``<xml>`` document.

    Examples:
        >>> read_xml("<xml><A><![CDATA[1]]></A><B>2</B></xml>")
        {'A': '1', 'B': '2'}
    """
    if isinstance(xml, bytes | bytearray):
        if len(xml) > limit:
            raise ValidationError.one("", f"the XML is {len(xml)} bytes; the limit is {limit}")
        try:
            text = bytes(xml).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError.one("", "the XML is not UTF-8 (WeChat sends UTF-8)") from None
    elif isinstance(xml, str):
        text = xml
        if len(text) > limit:
            raise ValidationError.one("", f"the XML is {len(text)} characters; the limit is {limit}")
    else:
        raise ValidationError.one("", f"expected XML as bytes or str, got {type(xml).__name__}")
    # Entity declarations are how XML bombs and external-entity attacks start; WeChat never sends them.
    if _FORBIDDEN.search(text):
        raise ValidationError.one("", "the XML declares a DOCTYPE or ENTITY; refused (possible XML bomb)")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        root = ET.fromstring(text)
    except UnicodeEncodeError:
        raise ValidationError.one("", "the XML holds a lone surrogate (not valid text)") from None
    except ET.ParseError as exc:
        raise ValidationError.one("", f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise ValidationError.one("", f"expected an <xml> document, got <{root.tag}>")
    value = _element_value(root, 0)
    return value if isinstance(value, dict) else {}


def parse_wechat(
    xml: bytes | str, *, channel: str | None = None, limits: MessageLimits | None = None
) -> InboundMessage:
    """An ``InboundMessage`` from a WeChat official-account or WeCom callback (plain XML).

    Reads ``text``, ``image``, ``voice`` (with its speech recognition if sent),
    ``video``, ``shortvideo``, ``location``, ``link``, ``file`` and ``event``
    (``subscribe``, ``unsubscribe``, ``CLICK``, ``VIEW``, ``SCAN``, ``LOCATION``,
    ``enter_agent``...). ``channel`` is ``wecom`` when the XML carries an ``AgentID``,
    else ``wechat`` (or what you pass). The sender is the follower's openid (WeCom: the
    member's userid), the conversation one per account (and app) and sender, the message
    id ``MsgId`` or, for events, sender + time + event as WeChat advises. Events are
    marked automatic (reason ``event``). Media (``MediaId``, ``PicUrl``) stays in
    ``data``: fetching it needs your access token. Decrypt encrypted callbacks first
    with `WeComCrypto`.

    Raises:
        ValidationError: for XML that is not a WeChat message (every missing field named).

    Examples:
        >>> m = parse_wechat(
        ...     "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        ...     "<FromUserName><![CDATA[oUser1]]></FromUserName>"
        ...     "<CreateTime>1741000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        ...     "<Content><![CDATA[订单还没发货]]></Content><MsgId>24567</MsgId></xml>"
        ... )
        >>> m.channel, m.sender.kind, m.text, m.conversation_id, m.sent_at.isoformat()
        ('wechat', 'wechat_openid', '订单还没发货', 'wechat:gh_shop:oUser1', '2025-03-03T11:06:40+00:00')
    """
    limit = (limits or MessageLimits()).max_raw_bytes
    fields = read_xml(xml, limit=min(limit, MAX_XML_BYTES))
    missing = [
        name
        for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType")
        if not isinstance(fields.get(name), str) or not fields[name]
    ]
    if missing:
        raise ValidationError([(f"xml.{name}", "required element is missing or empty") for name in missing])
    to, sender, created, kind = (fields[n] for n in ("ToUserName", "FromUserName", "CreateTime", "MsgType"))
    try:
        sent_at = datetime.fromtimestamp(int(created), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValidationError.one("xml.CreateTime", f"expected seconds since 1970, got {created!r}") from None
    agent = fields.get("AgentID")
    if channel is None:
        channel = "wecom" if agent else "wechat"
    kind = kind.lower()
    event = fields.get("Event") if kind == "event" else None
    text = _text(kind, fields)
    msg_id = fields.get("MsgId") or fields.get("MsgID")
    if not isinstance(msg_id, str) or not msg_id:
        msg_id = f"{sender}-{created}-{event if isinstance(event, str) else kind}"
    scope = f"{to}:{agent}" if isinstance(agent, str) and agent else to
    data = {
        k: v for k, v in fields.items() if k not in {"ToUserName", "FromUserName", "CreateTime", "Content"}
    }
    return InboundMessage(
        channel=channel,
        message_id=msg_id[:998],
        sender=Sender(kind="wecom_userid" if channel == "wecom" else "wechat_openid", value=sender[:320]),
        text=text,
        new_text=text,
        conversation_id=f"{channel}:{scope}:{sender}"[:998],
        recipients=(to,),
        sent_at=sent_at,
        automatic=Automatic(reason="event", evidence=f"Event: {event}"[:2000]) if kind == "event" else None,
        data=data,
    )


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wechat_text_reply(message: InboundMessage, content: str, *, at: datetime) -> str:
    """The passive reply XML answering ``message`` with ``content`` (send it as the HTTP response).

    WeChat accepts a passive reply only as the answer to its callback, within five
    seconds; later replies go through the customer-service message API with your access
    token. Encrypt the result with `WeComCrypto.encrypt` in encrypted mode.

    Examples:
        >>> from datetime import datetime, timezone
        >>> m = parse_wechat(
        ...     "<xml><ToUserName>gh_shop</ToUserName><FromUserName>oUser1</FromUserName>"
        ...     "<CreateTime>1741000000</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>"
        ... )
        >>> reply = wechat_text_reply(
        ...     m, "已收到，工单 T1", at=datetime(2025, 3, 3, 11, 7, tzinfo=timezone.utc)
        ... )
        >>> read_xml(reply)["ToUserName"], read_xml(reply)["FromUserName"], read_xml(reply)["Content"]
        ('oUser1', 'gh_shop', '已收到，工单 T1')
    """
    if message.channel not in {"wechat", "wecom"} and not message.sender.kind.startswith(("wechat", "wecom")):
        raise ValidationError.one(
            "message", f"expected a WeChat or WeCom message, got channel {message.channel!r}"
        )
    if not message.recipients:
        raise ValidationError.one("message.recipients", "the message names no account to answer from")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError.one("at", f"naive datetime {at.isoformat()!r}: give it a time zone")
    return (
        f"<xml><ToUserName>{_cdata(message.sender.value)}</ToUserName>"
        f"<FromUserName>{_cdata(message.recipients[0])}</FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )


def _text(kind: str, fields: dict[str, Any]) -> str:
    def get(name: str) -> str:
        value = fields.get(name)
        return value if isinstance(value, str) else ""

    if kind == "text":
        return get("Content")
    if kind == "voice" and get("Recognition"):
        return get("Recognition")
    if kind == "location":
        return f"[location] {get('Label')} ({get('Location_X')}, {get('Location_Y')})".replace(" ()", "")
    if kind == "link":
        return "\n".join(x for x in (get("Title"), get("Description"), get("Url")) if x)
    if kind == "event":
        return ""
    return _PLACEHOLDER.get(kind, f"[{kind}]")


class WeComCrypto:
    """WeCom's encrypted callbacks (also official accounts in safe mode): verify, decrypt, encrypt.

    AES-256-CBC with the 43-character ``EncodingAESKey`` (IV: its first 16 bytes),
    PKCS#7 padding to 32 bytes; the plaintext is 16 random bytes, a 4-byte length, the
    message and the receiver id (the WeCom CorpID or the account's AppID), which is
    checked. Needs the ``cryptography`` package: ``pip install 'ticketkit[wecom]'``.

    Examples:
        >>> crypto = WeComCrypto(token="tk", encoding_aes_key="a" * 43, receive_id="ww1234")
        >>> body = crypto.encrypt("<xml><Content>你好</Content></xml>", timestamp="1700000000", nonce="7")
        >>> signature = read_xml(body)["MsgSignature"]
        >>> crypto.decrypt_callback(body, msg_signature=signature, timestamp="1700000000", nonce="7")
        '<xml><Content>你好</Content></xml>'
    """

    def __init__(self, *, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
            raise ValidationError.one(
                "encoding_aes_key", "expected the 43-character EncodingAESKey from the admin console"
            )
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError.one(
                "encoding_aes_key", "not valid base64; copy it again from the admin console"
            ) from None
        self.token = token
        self.receive_id = receive_id

    def _cipher(self) -> Any:
        try:
            from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                "WeCom encryption needs the 'cryptography' package: pip install 'ticketkit[wecom]'"
            ) from None
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, encrypted: str) -> str:
        """The plaintext of an ``Encrypt`` value (or a URL-check ``echostr``), receiver id checked."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError.one("Encrypt", "not valid base64") from None
        if not data or len(data) % 16:
            raise ValidationError.one("Encrypt", "not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 32 or len(plain) < 20 + pad:
            raise ValidationError.one("Encrypt", "bad padding: wrong EncodingAESKey?")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or receiver.decode("utf-8", "replace") != self.receive_id:
            raise ValidationError.one("Encrypt", "the receiver id does not match: wrong key or receive_id?")
        try:
            text: str = message.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError.one("Encrypt", "the decrypted message is not UTF-8") from None
        return text

    def decrypt_callback(self, body: bytes | str, *, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Check the signature of an encrypted callback body and return the plain XML.

        Raises:
            ValidationError: for a wrong signature, a body without ``Encrypt`` or bad ciphertext.
        """
        encrypted = read_xml(body).get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise ValidationError.one("xml.Encrypt", "required element is missing or empty")
        if not verify_wechat_signature(
            token=self.token, timestamp=timestamp, nonce=nonce, signature=msg_signature, encrypt=encrypted
        ):
            raise ValidationError.one(
                "msg_signature", "the signature does not match: not from WeChat, or a wrong token"
            )
        return self.decrypt(encrypted)

    def encrypt(self, plaintext: str, *, timestamp: str, nonce: str, random: bytes | None = None) -> str:
        """The encrypted, signed reply XML for ``plaintext`` (``random``: 16 bytes, for tests)."""
        body = plaintext.encode("utf-8")
        plain = (
            (random or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        )
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")
        signature = wechat_signature(token=self.token, timestamp=timestamp, nonce=nonce, encrypt=encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]>"
            f"</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
