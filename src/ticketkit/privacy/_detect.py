"""Finding personal data in free text: phone numbers, e-mail addresses, identity, bank card
and passport numbers, each as a `Finding` (kind and character span, never the value).

How it stays fast and safe on hostile input: every regular expression here is either of
bounded length or uses possessive quantifiers behind a look-behind that allows one start
per run, so no pattern backtracks; the text is scanned once for runs of digits, runs that
sit close together are grouped, and each group is tried in windows of at most six runs
and nineteen digits. Phone numbers are judged by ``phonenumbers`` (Google's metadata),
identity numbers by their check digit and birth date, bank cards by Luhn and their issuer
prefix, passports by the Chinese pattern or a keyword in front.

What decides between a number that is personal and one that is not (an amount, a date, an
order or serial number) is what stands right in front of it: ``订单号``, ``SN``, ``金额``,
``amount``, ``¥`` ... make the number not personal; ``电话``, ``tel``, ``身份证`` ...
make it personal even where a bare number would not count (a local landline without its
area code).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Final

import attrs
import phonenumbers

__all__ = ["PERSONAL_KINDS", "Finding", "detect_personal"]

PHONE: Final = "phone"
EMAIL: Final = "email"
ID_NUMBER: Final = "id_number"
BANK_CARD: Final = "bank_card"
PASSPORT: Final = "passport"

PERSONAL_KINDS: Final = (BANK_CARD, EMAIL, ID_NUMBER, PASSPORT, PHONE)
"""The kinds of personal data `detect_personal` finds in text."""

# When two findings overlap the longer wins; at equal length, the earlier kind here.
_RANK: Final = {EMAIL: 0, ID_NUMBER: 1, BANK_CARD: 2, PASSPORT: 3, PHONE: 4}


@attrs.frozen(order=True)
class Finding:
    """One piece of personal data in a text: its kind and where it is (``text[start:end]``).

    A finding never holds the value itself, so it can be logged and stored.

    Examples:
        >>> text = "电话13812345678"
        >>> [f] = detect_personal(text)
        >>> f.kind, text[f.start : f.end]
        ('phone', '13812345678')
    """

    start: int
    end: int
    kind: str

    @property
    def length(self) -> int:
        """The number of characters the finding covers."""
        return self.end - self.start


# --------------------------------------------------------------------------- e-mail

_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}+[@＠][A-Za-z0-9\-]{1,63}+(?:\.[A-Za-z0-9\-]{1,63}+){1,8}+"
)


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        value = m.group()
        local, _, domain = value.replace("＠", "@").partition("@")
        tld = domain.rsplit(".", 1)[-1]
        if len(tld) >= 2 and tld.isascii() and tld.isalpha() and local.strip(".") == local:
            yield Finding(m.start(), m.end(), EMAIL)


# --------------------------------------------------------------------------- passports

_PASSPORT_CN: Final = re.compile(r"(?<![A-Za-z0-9])(?:[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7})(?![A-Za-z0-9])")
_PASSPORT_KEY: Final = re.compile(r"passport|护照", re.IGNORECASE)
_PASSPORT_AFTER: Final = re.compile(
    r"[\s:：#＃.]{0,3}(?:(?i:no|number|num)\.?[\s:：#＃]{0,3}|号码?[\s:：]{0,3})?"
    r"([A-Z]{1,2}[0-9]{6,8}|[0-9]{9})(?![A-Za-z0-9])"
)


def _passports(text: str) -> Iterator[Finding]:
    for m in _PASSPORT_CN.finditer(text):
        if _label(text, m.start()) != "not":
            yield Finding(m.start(), m.end(), PASSPORT)
    for m in _PASSPORT_KEY.finditer(text):
        after = _PASSPORT_AFTER.match(text, m.end())
        if after is not None:
            yield Finding(after.start(1), after.end(1), PASSPORT)


# --------------------------------------------------------------------------- labels
# What stands right before a number says what it is. Keys are matched case-insensitively
# against the end of the text before the number (separators stripped); the longest wins.
# ASCII keys must start at a word boundary ("reason" is no "sn").

_NOT_PERSONAL: Final = (
    "order", "order no", "order number", "order id", "order #", "订单", "订单号", "订单编号", "单号",
    "sn", "s/n", "serial", "serial no", "serial number", "序列号", "机身号", "sku", "model", "型号",
    "invoice", "invoice no", "invoice number", "发票", "发票号", "发票号码", "tracking",
    "tracking no", "tracking number", "运单号", "快递单号", "物流单号", "amount", "total", "price",
    "sum", "金额", "总额", "总价", "价格", "合计", "￥", "¥", "$", "€", "rmb", "cny", "usd", "date",
    "日期", "时间", "imei", "batch", "lot", "批号", "批次", "ref", "reference", "工单", "工单号",
    "ticket", "case", "code", "验证码", "编号", "条码", "barcode", "no", "#",
    "版本", "version", "qty", "数量",
)  # fmt: skip
_PHONE_LABELS: Final = (
    "tel", "tel no", "phone", "phone no", "phone number", "mobile", "mobile no", "cell", "call",
    "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "座机", "热线", "fax",
    "传真", "whatsapp", "call me on", "call me at", "reach me at", "联系", "致电", "拨打",
    "my number", "contact number", "number is", "号码", "号码是",
)  # fmt: skip
_OTHER_PERSONAL: Final = (
    "身份证", "身份证号", "身份证号码", "证件号", "证件号码", "证件编号", "id no", "id card",
    "id", "id number", "id card no", "卡号", "银行卡", "银行卡号", "card", "card no", "card number",
    "account", "account no", "账号", "账户", "passport", "passport no", "护照", "护照号", "护照号码",
)  # fmt: skip

_LABELS: Final = {
    **dict.fromkeys(_NOT_PERSONAL, "not"),
    **dict.fromkeys(_PHONE_LABELS, PHONE),
    **dict.fromkeys(_OTHER_PERSONAL, "personal"),
}
_LABEL_LENGTHS: Final = sorted({len(k) for k in _LABELS}, reverse=True)
_LABEL_WINDOW: Final = _LABEL_LENGTHS[0] + 4
_LABEL_STRIP: Final = " \t\r\n\u00a0\u3000:：#＃=_-,，.。(（[【"
_UNIT_AFTER: Final = re.compile(
    r"[ \u00a0]{0,2}(?:元|块|円|万|件|个|台|次|%|％|pcs\b|rmb\b|yuan\b|usd\b|cny\b|kg\b)", re.IGNORECASE
)
_DECIMAL_AFTER: Final = re.compile(r"[.,][0-9]{1,2}(?![0-9])")


def _label(text: str, start: int) -> str | None:
    """``"not"``, ``"phone"``, ``"personal"`` or None: what the words before ``start`` say."""
    before = text[max(0, start - _LABEL_WINDOW) : start]
    # A '+' right before the number is its country code sign, not a label.
    before = before.rstrip("+＋").rstrip(_LABEL_STRIP).lower()
    if not before:
        return None
    for size in _LABEL_LENGTHS:
        key = before[-size:]
        kind = _LABELS.get(key) if len(key) == size else None
        if kind is None:
            continue
        head = before[:-size]
        if key[0].isascii() and key[0].isalpha() and head and head[-1].isascii() and head[-1].isalpha():
            continue  # "reason" does not end with the label "sn"
        return kind
    return None


# --------------------------------------------------------------------------- digits

_RUN: Final = re.compile(r"\d++")
_SEPARATORS: Final = frozenset(" \u00a0\u3000-‐‑–.()（）")
_MAX_GAP: Final = 3
_MAX_RUNS: Final = 6
_MAX_DIGITS: Final = 19

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def _ascii_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _ascii_digits(run: str) -> str:
    return run if run.isascii() else "".join(str(int(c)) for c in run)


def _valid_birth(y: int, m: int, d: int) -> bool:
    if not 1880 <= y <= 2099:
        return False
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def is_resident_id(digits: str, *, check: bool = True) -> bool:
    """True for a valid Chinese resident identity number (18 with check digit, or 15).

    With ``check=False`` the check digit may be wrong (a mistyped number after a label
    such as "身份证" is still someone's identity number).
    """
    if len(digits) == 18:
        body, last = digits[:17], digits[17].upper()
        if not body.isdigit() or body[0] in "09" or not (last.isdigit() or last == "X"):
            return False
        total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
        if check and _ID_CHECK[total % 11] != last:
            return False
        return _valid_birth(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    if len(digits) == 15 and digits.isdigit() and digits[0] not in "09":
        return _valid_birth(1900 + int(digits[6:8]), int(digits[8:10]), int(digits[10:12]))
    return False


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` pass the Luhn check bank card numbers carry."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = ord(c) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card_prefix_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":
        return n in {16, 19}
    if "51" <= d[:2] <= "55" or "2221" <= d[:4] <= "2720":
        return n == 16
    if d[:2] in {"34", "37"}:
        return n == 15
    if d[:2] in {"35", "60", "62", "64", "65", "81"}:
        return 16 <= n <= 19
    return False


def is_bank_card(digits: str) -> bool:
    """True for a plausible payment card number: a known issuer prefix and length, and Luhn."""
    return 15 <= len(digits) <= 19 and _card_prefix_ok(digits) and luhn_ok(digits)


_PERSONAL_TYPES: Final = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PAGER,
    }
)


@lru_cache(maxsize=4096)
def _phone_type(digits: str, region: str, international: bool) -> int | None:
    """The phone number type ``phonenumbers`` gives a valid number, else None."""
    try:
        number = phonenumbers.parse(("+" if international else "") + digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return int(phonenumbers.number_type(number))


@lru_cache(maxsize=64)
def _national_prefix(region: str) -> str:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (meta.national_prefix or "") if meta is not None else ""


def _is_phone(digits: str, region: str, *, international: bool, labelled: bool) -> bool:
    n = len(digits)
    if international:
        if not 7 <= n <= 15:
            return False
    elif region == "CN" and not labelled:
        # Cheap filter before phonenumbers: mobiles are 11 digits from 1, landlines start
        # with the trunk 0, calls abroad with 00.
        if not ((n == 11 and digits[0] == "1") or (digits[0] == "0" and 10 <= n <= 19)):
            return False
    elif not 7 <= n <= 15:
        return False
    kind = _phone_type(digits, region, international)
    if kind is None:
        # A labelled local number without its area code (电话 6234 5678).
        return labelled and not international and n in {7, 8} and digits[0] not in "01"
    if kind not in _PERSONAL_TYPES:
        return False  # toll-free, shared-cost, premium: a company's service line
    prefix = _national_prefix(region)
    return not (
        kind == phonenumbers.PhoneNumberType.FIXED_LINE
        and not international
        and not labelled
        and prefix
        and not digits.startswith(prefix)
    )


class _Run:
    __slots__ = ("digits", "end", "start")

    def __init__(self, start: int, end: int, digits: str) -> None:
        self.start = start
        self.end = end
        self.digits = digits


def _clusters(text: str) -> Iterator[list[_Run]]:
    """Runs of digits, grouped when only a few separators stand between them."""
    group: list[_Run] = []
    for m in _RUN.finditer(text):
        run = _Run(m.start(), m.end(), _ascii_digits(m.group()))
        if group:
            gap = text[group[-1].end : run.start]
            if len(gap) > _MAX_GAP or not all(c in _SEPARATORS for c in gap):
                yield group
                group = []
        group.append(run)
    if group:
        yield group


def _numbers(text: str, region: str) -> Iterator[Finding]:
    n_text = len(text)
    for group in _clusters(text):
        i = 0
        while i < len(group):
            found = _window(text, n_text, group, i, region)
            if found is None:
                i += 1
                continue
            finding, j = found
            yield finding
            i = j + 1


def _window(text: str, n_text: int, group: list[_Run], i: int, region: str) -> tuple[Finding, int] | None:
    """The longest personal number that starts at run ``i`` of ``group``, and its last run."""
    if i > 0 and text[group[i - 1].end : group[i].start] == ".":
        return None  # the decimals of a number, or the middle of a dotted one
    if group[i].digits == "0" and i + 1 < len(group) and text[group[i].end : group[i + 1].start] == ".":
        return None  # 0.138...: a fraction
    last = min(len(group), i + _MAX_RUNS)
    digits = ""
    windows: list[tuple[str, int]] = []
    for j in range(i, last):
        digits += group[j].digits
        if len(digits) > _MAX_DIGITS:
            break
        windows.append((digits, j))
    if not windows or len(windows[-1][0]) < 7:
        return None  # nothing personal is this short
    first = group[i]
    plus = first.start > 0 and text[first.start - 1] in "+＋"
    start = first.start - 1 if plus else first.start
    label = _label(text, start)
    if label == "not":
        return None
    for digits, j in reversed(windows):
        end = group[j].end
        after = text[end : end + 8]
        if _UNIT_AFTER.match(after) or _DECIMAL_AFTER.match(after):
            continue
        kind = _classify(digits, text, end, n_text, region, plus=plus, label=label, runs=j - i + 1)
        if kind is not None:
            if kind == ID_NUMBER and len(digits) == 17:
                end += 1  # the check character X
            return Finding(start, end, kind), j
    return None


def _classify(
    digits: str, text: str, end: int, n_text: int, region: str, *, plus: bool, label: str | None, runs: int
) -> str | None:
    n = len(digits)
    if not plus:
        strict = label != "personal"
        if (
            n == 17
            and end < n_text
            and text[end] in "Xx"
            and (end + 1 == n_text or not _ascii_alnum(text[end + 1]))
        ):
            return ID_NUMBER if is_resident_id(digits + "X", check=strict) else None
        if n in {15, 18} and is_resident_id(digits, check=strict):
            return ID_NUMBER
        if is_bank_card(digits):
            return BANK_CARD
    if runs > 5 and not plus:
        return None  # a phone written in more than five pieces is something else
    if _is_phone(digits, region, international=plus, labelled=label == PHONE):
        return PHONE
    return None


# --------------------------------------------------------------------------- all together

# Personal data needs an at sign or six digits somewhere: texts without pass in one search.
QUICK: Final = re.compile(r"[@＠]|\d(?:\D*+\d){5}")
"""Matches wherever personal data could be: an at sign, or six digits in the text."""


def detect_personal(text: str, *, region: str = "CN") -> tuple[Finding, ...]:
    """Every piece of personal data found in ``text``, in order, never overlapping.

    Finds phone numbers (``phonenumbers`` decides; ``region`` is where numbers without a
    country code are dialled), e-mail addresses, Chinese resident identity numbers
    (18 characters with a valid check digit and birth date, or the old 15-digit form),
    bank card numbers (issuer prefix, length and Luhn) and passport numbers (Chinese
    ``E``/``G`` numbers anywhere, others right after "passport"/"护照"). Numbers right
    after words such as "order", "SN", "amount", "订单号", "金额" or "¥", and numbers
    followed by a unit or a decimal part, are not personal data. Service numbers
    (400/800, toll-free) belong to companies and are not reported.

    Runs in time linear in the length of ``text`` and never raises for a ``str``.

    Examples:
        >>> text = "王芳13812345678, wang@example.com, SN 1234 5678, amount 12345678"
        >>> [(f.kind, text[f.start : f.end]) for f in detect_personal(text)]
        [('phone', '13812345678'), ('email', 'wang@example.com')]
    """
    if not isinstance(text, str) or QUICK.search(text) is None:
        return ()
    found = [*_emails(text), *_passports(text), *_numbers(text, region)]
    if len(found) > 1:
        found.sort(key=lambda f: (f.start, -f.length, _RANK[f.kind]))
        kept: list[Finding] = []
        for f in found:
            if kept and f.start < kept[-1].end:
                continue
            kept.append(f)
        found = kept
    return tuple(found)
