"""Helpers for the one rule about time: only timezone-aware datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta

from ticketkit.errors import ValidationError

ZERO = timedelta(0)


def is_aware(value: object) -> bool:
    """True when ``value`` is a datetime that knows its offset from UTC."""
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def require_aware(value: object, path: str) -> datetime:
    """Return ``value`` if it is an aware datetime, else raise ``ValidationError`` naming ``path``."""
    if not isinstance(value, datetime):
        raise ValidationError.one(path, f"expected a timezone-aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.one(
            path,
            f"naive datetime {value.isoformat()!r}: give it a time zone, "
            "e.g. datetime(..., tzinfo=ZoneInfo('Asia/Shanghai'))",
        )
    return value


def aware_problem(value: object) -> str | None:
    """Why ``value`` is not an aware datetime, or None when it is."""
    if not isinstance(value, datetime):
        return f"expected a timezone-aware datetime, got {value!r}"
    if value.tzinfo is None or value.utcoffset() is None:
        return f"naive datetime {value.isoformat()!r}: give it a time zone"
    return None
