"""Bytes and headers to text, for every charset Chinese mail uses, tolerating broken input."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

__all__ = ["decode_bytes", "decode_header"]

# Labels mail software writes, mapped to the codec that reads what they actually send:
# GB2312 and GBK mail routinely holds characters only GB18030 (their superset) has, and
# Big5 mail characters only Big5-HKSCS has. Latin-1 labelled mail is usually Windows-1252.
_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "big-5": "big5hkscs",
    "cp950": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ks_c_5601-1987": "cp949",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # Refuse bytes-to-bytes "codecs" (base64, zlib, rot13...): not text encodings.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from ``data`` in its declared ``charset``, falling back when the label lies.

    Tries the declared charset (GB2312/GBK read as GB18030, Big5 as Big5-HKSCS), then
    UTF-8, then GB18030, then the declared charset or UTF-8 with replacement characters.
    Bytes labelled Latin-1 or Windows-125x that are valid UTF-8 are read as UTF-8.

    Examples:
        >>> decode_bytes("冰箱".encode("gbk"), "gb2312"), decode_bytes("冰箱".encode(), "iso-8859-1")
        ('冰箱', '冰箱')
    """
    declared = _codec(charset)
    order: tuple[str | None, ...] = (declared, "utf-8", "gb18030")
    # Valid multi-byte UTF-8 is almost never real Latin text: trust it over a Latin label.
    if declared is not None and (declared.startswith(("cp125", "iso8859", "latin"))):
        order = ("utf-8", declared)
    for codec in order:
        if codec is None:
            continue
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError, ValueError):
            continue
    return data.decode(declared or "utf-8", errors="replace")


_SURROGATE = re.compile("[\udc80-\udcff]")


def repair_8bit(value: str) -> str:
    """Header text parsed from bytes keeps raw 8-bit bytes as surrogates; decode them."""
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(?==\?[^?\s]+\?[QqBb]\?)")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "Bb":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return None
    return binascii.a2b_qp(text.encode("ascii", "replace"), header=True)


def decode_header(value: str) -> str:
    """A header's text with RFC 2047 encoded words decoded, also broken ones.

    Adjacent encoded words in one charset are joined before decoding (mailers split a
    Chinese character across two words), missing base64 padding is added, encoded words
    inside quotes or words are decoded, raw 8-bit bytes are read as UTF-8 or GB18030, and
    folding is undone.

    Examples:
        >>> decode_header("=?gb2312?B?tPPPwg==?= =?utf-8?Q?=E5=86=B0?=")
        '大下冰'
        >>> decode_header("=?GBK?B?sfnP5A?=")
        '冰箱'
    """
    value = repair_8bit(re.sub(r"\r?\n[ \t]", " ", value))
    value = _BETWEEN_WORDS.sub(r"\1", value)
    out: list[str] = []
    pos = 0
    pending: list[tuple[str | None, bytes]] = []

    def flush() -> None:
        if pending:
            charset = pending[0][0]
            out.append(decode_bytes(b"".join(b for _, b in pending), charset))
            pending.clear()

    for m in _WORD.finditer(value):
        if m.start() > pos:
            flush()
            out.append(value[pos : m.start()])
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix: utf-8*zh
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:
            flush()
            out.append(m.group(0))
        else:
            if pending and _codec(pending[0][0]) != _codec(charset):
                flush()
            pending.append((charset, data))
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)
