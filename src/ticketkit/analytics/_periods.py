"""Time in reports: the report time zone, window bounds, and periods cut at local midnight."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketkit.errors import ValidationError
from ticketkit.model._time import require_aware

PERIODS: Final = ("day", "week", "month")
"""The periods [`Dataset.volume`][ticketkit.analytics.Dataset.volume] can cut time into."""


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValidationError.one(
        "tz", f"unknown time zone {tz!r} (expected an IANA name such as 'Asia/Shanghai')"
    )


def _bound(value: datetime | None, path: str, default: float) -> float:
    if value is None:
        return default
    return require_aware(value, path).timestamp()


def _floor(d: date, period: str) -> date:
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


def _next(d: date, period: str) -> date:
    if period == "day":
        return d + timedelta(days=1)
    if period == "week":
        return d + timedelta(days=7)
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _prev(d: date, period: str) -> date:
    if period == "day":
        return d - timedelta(days=1)
    if period == "week":
        return d - timedelta(days=7)
    return date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


def _label(d: date, period: str) -> str:
    if period == "day":
        return d.isoformat()
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.year:04d}-{d.month:02d}"


def _midnight(d: date, tz: tzinfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)
