"""Parsing and checking a business calendar's definition: weekdays, windows, dates.

Every function here collects problems as [`ErrorDetail`][ticketkit.errors.ErrorDetail] with
the path of the offending value, so a bad definition is reported all at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any

from ticketkit.errors import ErrorDetail, join_path

# Internal helpers of the calendar; nothing here is public.
__all__: list[str] = []

DAY = 86400
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{n: i for i, n in enumerate(DAY_NAMES)},
    **{
        n: i
        for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    **{n: i for i, n in enumerate(("mo", "tu", "we", "th", "fr", "sa", "su"))},
}
_ALL_DAYS = ("daily", "everyday", "all")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")

# A window is (start, end) in seconds after the local midnight of the day it belongs to;
# end > start, and end > 86400 for a window that runs past midnight.
Window = tuple[int, int]


def parse_days(key: object, path: str, problems: list[ErrorDetail]) -> list[int]:
    """Weekday numbers (0 = Monday) named by ``"mon-fri"``, ``"sat,sun"``, ``"daily"``."""
    if not isinstance(key, str):
        problems.append(ErrorDetail(path, f"expected weekday names such as 'mon-fri', got {key!r}"))
        return []
    text = key.strip().lower()
    if text in _ALL_DAYS:
        return list(range(7))
    days: list[int] = []
    for part in text.split(","):
        bounds = [b.strip() for b in part.split("-")]
        nums = [_DAY_ALIASES.get(b) for b in bounds]
        if len(bounds) > 2 or any(n is None for n in nums):
            bad = next((b for b, n in zip(bounds, nums, strict=True) if n is None), part)
            close = difflib.get_close_matches(bad, DAY_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                ErrorDetail(
                    path,
                    f"unknown weekday {bad!r} in {key!r}{hint} (expected mon, tue, wed, thu, fri, sat, sun, "
                    "a range such as 'mon-fri', a list such as 'sat,sun', or 'daily')",
                )
            )
            return []
        first, last = nums[0], nums[-1]
        assert first is not None
        assert last is not None
        span = (last - first) % 7 + 1
        days.extend((first + i) % 7 for i in range(span))
    return days


def _parse_time(text: object, path: str, problems: list[ErrorDetail], *, end: bool) -> int | None:
    if isinstance(text, time):
        if text.microsecond:
            problems.append(ErrorDetail(path, f"window times are whole seconds, got {text.isoformat()!r}"))
            return None
        return text.hour * 3600 + text.minute * 60 + text.second
    if not isinstance(text, str):
        problems.append(ErrorDetail(path, f"expected a time such as '09:00', got {text!r}"))
        return None
    m = _TIME.match(text.strip())
    if not m:
        problems.append(ErrorDetail(path, f"expected a time such as '09:00' or '09:00:30', got {text!r}"))
        return None
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if h == 24 and mi == 0 and s == 0:
        if end:
            return DAY
        problems.append(
            ErrorDetail(path, "a window cannot start at '24:00'; start it at '00:00' of the next day")
        )
        return None
    if h > 23 or mi > 59 or s > 59:
        problems.append(
            ErrorDetail(
                path,
                f"{text!r} is not a time of day (hours 00-23, minutes and seconds 00-59; '24:00' ends a day)",
            )
        )
        return None
    return h * 3600 + mi * 60 + s


def parse_window(value: object, path: str, problems: list[ErrorDetail]) -> Window | None:
    """One window from ``"09:00-12:00"`` or a ``(start, end)`` pair of strings or times."""
    if isinstance(value, str):
        parts: list[Any] = value.split("-")
        if len(parts) != 2:
            problems.append(ErrorDetail(path, f"expected a window such as '09:00-12:00', got {value!r}"))
            return None
    elif isinstance(value, list | tuple) and len(value) == 2:
        parts = list(value)
    else:
        problems.append(ErrorDetail(path, f"expected a window such as '09:00-12:00', got {value!r}"))
        return None
    before = len(problems)
    start = _parse_time(parts[0], path, problems, end=False)
    end = _parse_time(parts[1], path, problems, end=True)
    if start is None or end is None or len(problems) > before:
        return None
    if end == start:
        problems.append(ErrorDetail(path, f"window {value!r} is empty; write '00:00-24:00' for a whole day"))
        return None
    if end < start:
        end += DAY  # crosses midnight: belongs to the day it starts
    return (start, end)


def parse_windows(value: object, path: str, problems: list[ErrorDetail]) -> tuple[Window, ...] | None:
    """A day's windows, sorted, touching ones merged; overlaps reported by path."""
    items: list[object]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
        if len(items) == 2 and all(isinstance(x, time) for x in items):
            items = [tuple(items)]
    else:
        problems.append(
            ErrorDetail(path, f"expected a list of windows such as ['09:00-12:00'], got {value!r}")
        )
        return None
    before = len(problems)
    parsed: list[tuple[Window, int]] = []
    for i, item in enumerate(items):
        w = parse_window(item, join_path(path, i), problems)
        if w is not None:
            parsed.append((w, i))
    parsed.sort()
    merged: list[Window] = []
    for k, ((s, e), i) in enumerate(parsed):
        if merged and s < merged[-1][1]:
            other = parsed[k - 1][1]
            problems.append(
                ErrorDetail(
                    join_path(path, i),
                    f"window {_fmt_window((s, e))!r} overlaps window [{other}] {_fmt_window(merged[-1])!r}",
                )
            )
            continue
        if merged and s == merged[-1][1]:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    if merged and merged[-1][1] - merged[0][0] > DAY:
        problems.append(
            ErrorDetail(path, "a day's windows span more than 24 hours; move the late part to the next day")
        )
    if len(problems) > before:
        return None
    return tuple(merged)


def _fmt_time(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}" if s else f"{h:02d}:{m:02d}"


def _fmt_window(w: Window) -> str:
    s, e = w
    return f"{_fmt_time(s)}-{_fmt_time(e - DAY if e > DAY else e)}"


def format_windows(windows: Iterable[Window]) -> list[str]:
    """Windows back in their text form: ``["09:00-12:00", "22:00-06:00"]``."""
    return [_fmt_window(w) for w in windows]


def parse_date(value: object, path: str, problems: list[ErrorDetail]) -> date | None:
    """A date from a ``date`` or an ISO string ``"2025-01-26"``."""
    if isinstance(value, datetime):
        problems.append(ErrorDetail(path, f"expected a date, got the datetime {value.isoformat()!r}"))
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(ErrorDetail(path, f"expected a date such as '2025-01-26', got {value!r}"))
    return None


def parse_weekly(
    value: object, path: str, problems: list[ErrorDetail]
) -> tuple[tuple[Window, ...], ...] | None:
    """Seven days of windows from ``{"mon-fri": [...], "sat": [...]}``; days not named are closed."""
    if not isinstance(value, Mapping):
        problems.append(
            ErrorDetail(path, f"expected a mapping such as {{'mon-fri': ['09:00-18:00']}}, got {value!r}")
        )
        return None
    before = len(problems)
    week: list[tuple[Window, ...] | None] = [None] * 7
    origin: list[str] = [""] * 7
    for key, spec in value.items():
        kpath = join_path(path, str(key))
        days = parse_days(key, kpath, problems)
        windows = parse_windows(spec, kpath, problems)
        for d in days:
            if origin[d]:
                problems.append(
                    ErrorDetail(
                        kpath, f"{DAY_NAMES[d]} is already given by {origin[d]!r}; name each weekday once"
                    )
                )
                continue
            origin[d] = str(key)
            week[d] = windows
    if len(problems) > before:
        return None
    full = tuple(w or () for w in week)
    # A window past midnight must not run into the next weekday's first window.
    for d in range(7):
        if not full[d] or full[d][-1][1] <= DAY:
            continue
        spill_end = full[d][-1][1] - DAY
        nxt = (d + 1) % 7
        if full[nxt] and full[nxt][0][0] < spill_end:
            problems.append(
                ErrorDetail(
                    join_path(path, origin[d]),
                    f"{DAY_NAMES[d]}'s window {_fmt_window(full[d][-1])!r} runs into "
                    f"{DAY_NAMES[nxt]}'s window {_fmt_window(full[nxt][0])!r}",
                )
            )
    if len(problems) > before:
        return None
    return full


def format_weekly(week: tuple[tuple[Window, ...], ...]) -> dict[str, list[str]]:
    """The compact data form: runs of weekdays with equal windows as ``"mon-fri"``."""
    out: dict[str, list[str]] = {}
    d = 0
    while d < 7:
        e = d
        while e + 1 < 7 and week[e + 1] == week[d]:
            e += 1
        if week[d]:
            key = DAY_NAMES[d] if e == d else f"{DAY_NAMES[d]}-{DAY_NAMES[e]}"
            out[key] = format_windows(week[d])
        d = e + 1
    return out
