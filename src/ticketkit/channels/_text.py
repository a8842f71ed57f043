"""Text from mail bodies: HTML to plain text, and the quoted earlier messages cut off."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text", "strip_quoted"]

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
# Containers mail clients wrap the quoted earlier message in: their content is quoted.
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
_QUOTE_IDS = ("mail-editor-reference-message-container",)
# Outlook puts the quoted message after these markers, as siblings: all that follows is quoted.
_QUOTE_REST_IDS = ("divrplyfwdmsg", "appendonsend")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u3000]+")


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self.line: list[str] = []
        self.line_depth = 0
        self.depth = 0  # blockquote depth
        self.rest = 0  # 1 once an Outlook reply marker says the rest is quoted
        self.skip = 0
        self.pre = 0
        self.stack: list[tuple[str, bool]] = []  # open tags and whether they opened a quote

    def newline(self, *, blank: bool = False) -> None:
        text = "".join(self.line).strip() if not self.pre else "".join(self.line).rstrip()
        if text or (blank and self.lines and self.lines[-1][1]):
            self.lines.append((self.line_depth, text))
        self.line = []
        self.line_depth = self.depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            self.stack.append((tag, False))
            return
        if tag == "br":
            self.newline(blank=True)
            return
        if tag in {"img", "hr", "meta", "link", "input", "wbr"}:
            if tag == "hr":
                self.newline()
            return
        attr = {k: (v or "") for k, v in attrs}
        if not self.rest and attr.get("id", "").lower() in _QUOTE_REST_IDS:
            self.newline()
            self.rest = 1
            self.depth += 1
            self.line_depth = self.depth
        quoted = tag == "blockquote" or (
            tag == "div"
            and (
                any(c in attr.get("class", "").lower() for c in _QUOTE_CLASSES)
                or attr.get("id", "").lower() in _QUOTE_IDS
            )
        )
        if tag in _BLOCK or quoted:
            self.newline()
        if quoted:
            self.depth += 1
            self.line_depth = self.depth
        if tag == "pre":
            self.pre += 1
        if tag == "li":
            self.line.append("- ")
        elif tag in {"td", "th"}:
            self.line.append(" ")
        self.stack.append((tag, quoted))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open tag; HTML in mail is often unbalanced.
        if not any(t == tag for t, _ in self.stack):
            if tag in _BLOCK:
                self.newline()
            return
        while self.stack:
            name, quoted = self.stack.pop()
            if name in _SKIP:
                self.skip -= 1
            if name in _BLOCK or quoted:
                self.newline()
            if name == "pre":
                self.pre -= 1
            if quoted:
                self.depth -= 1
                self.line_depth = self.depth
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self.newline()
                self.line.append(part)
            return
        text = _WS.sub(" ", data)
        if not self.line or (self.line and self.line[-1].endswith(" ")):
            text = text.lstrip(" ")
        self.line.append(text)

    def result(self) -> str:
        self.newline()
        out = [("> " * depth + text) if text else "" for depth, text in self.lines]
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body, with the stdlib parser (no dependency).

    Paragraphs and line breaks become lines, list items ``- `` lines, scripts and styles
    vanish, entities are decoded, and quoted earlier messages (``<blockquote>``, Gmail's
    ``gmail_quote``, Outlook's reply header) are prefixed with ``> `` so the quote
    stripper can cut them.

    Examples:
        >>> html_to_text("<p>Hello&nbsp;<b>there</b></p><blockquote><p>old</p></blockquote>")
        'Hello there\\n> old'
    """
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return parser.result()


# ----------------------------------------------------------------------- quote stripping

# A line that introduces the quoted earlier message; everything from it on is cut.
_SEPARATORS = [
    re.compile(r"^-{2,}\s*(original message|原始邮件|原始郵件|原邮件|original)\s*-{2,}\s*$", re.I),
    re.compile(r"^-{2,}\s*(forwarded message|转发的邮件|轉寄郵件)\s*-{2,}\s*$", re.I),
    re.compile(r"^_{20,}\s*$"),
    re.compile(r"^\s*(begin forwarded message|以下是转发的邮件)\s*[:：]\s*$", re.I),
]
# Attribution lines ("On ... wrote:"), which a client may wrap over two or three lines.
_ATTRIBUTIONS = [
    re.compile(r"^(on|am|le|el)\s.{4,300}\s(wrote|schrieb|a écrit|escribió)\s*:\s*$", re.I | re.S),
    re.compile(r"^.{0,300}(写道|寫道)\s*[:：]\s*$", re.S),
    re.compile(r"^.{0,300}[\d@<].{0,300}\bwrote\s*:\s*$", re.I | re.S),
]
_DATE_OR_ADDRESS = re.compile(r"\d|@")
_ATTRIBUTION_WORDS = ("wrote", "Wrote", "WROTE", "写道", "寫道", "schrieb", "écrit", "escribió")
# How a wrapped attribution's first line begins.
_ATTRIBUTION_START = re.compile(r"^(on|am|le|el)\s|^在\s*\S|^\d{4}\s*年|^\d{4}-\d{2}-\d{2}", re.I)
# An Outlook-style header block: "From:" followed closely by "Sent:"/"Date:"/"To:"/"Subject:".
_HEADER_START = re.compile(r"^\*?\s*(from|发件人|寄件者|発信者)\s*\*?\s*[:：]", re.I)
_HEADER_NEXT = re.compile(
    r"^\*?\s*(sent|date|to|cc|subject|发送时间|发件时间|时间|日期|收件人|抄送|主题|寄件日期|收件者|主旨)\s*\*?\s*[:：]",
    re.I,
)


def _is_cut(lines: list[str], i: int) -> bool:
    # QQ Mail writes the HTML entity into its plain text: "------------------&nbsp;原始邮件&nbsp;---".
    line = lines[i].replace("&nbsp;", " ").strip()
    if not line:
        return False
    if any(p.match(line) for p in _SEPARATORS):
        return True
    if line.startswith(">"):
        return False
    # Attributions carry a date or an address; "On the phone you said ... wrote:" does not.
    # The cheap word check first keeps hostile long lines from reaching the regexes.
    if (
        len(line) <= 1000
        and any(w in line for w in _ATTRIBUTION_WORDS)
        and _DATE_OR_ADDRESS.search(line)
        and any(p.match(line) for p in _ATTRIBUTIONS)
    ):
        return True
    if len(line) <= 1000 and _ATTRIBUTION_START.match(line):
        for span in (2, 3):
            part = [s.strip() for s in lines[i : i + span]]
            joined = " ".join(part)
            if (
                len(part) == span
                and all(part)
                and any(w in joined for w in _ATTRIBUTION_WORDS)
                and _DATE_OR_ADDRESS.search(joined)
                and any(p.match(joined) for p in _ATTRIBUTIONS)
            ):
                return True
    if _HEADER_START.match(line):
        following = [s.replace("&nbsp;", " ").strip() for s in lines[i + 1 : i + 5] if s.strip()]
        return sum(1 for s in following if _HEADER_NEXT.match(s)) >= 2
    return False


def strip_quoted(text: str) -> str:
    """The newly written part of a reply: quoted earlier messages cut off.

    Cuts at the first separator (Outlook ``-----Original Message-----``, QQ Mail and
    Foxmail ``------------------ 原始邮件 ------------------``, a line of underscores,
    forwarded-message markers), attribution (Gmail and Apple Mail ``On ... wrote:``,
    Chinese ``在 ... 写道：``, also when wrapped over two or three lines) or Outlook
    header block (``From:`` then ``Sent:``/``To:``/``Subject:``, also in Chinese); then
    drops ``>`` quoted lines, keeping the new text between them (inline answers).

    Examples:
        >>> strip_quoted(
        ...     "Still broken.\\n\\nOn Mon, 3 Mar 2025 at 09:00, Li <li@x.cn> wrote:\\n> Is it fixed?"
        ... )
        'Still broken.'
        >>> strip_quoted("好的\\n\\n------------------ 原始邮件 ------------------\\n发件人: 客服")
        '好的'
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = len(lines)
    for i in range(len(lines)):
        if _is_cut(lines, i):
            end = i
            break
    kept = [line.rstrip() for line in lines[:end] if not line.lstrip().startswith(">")]
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)
