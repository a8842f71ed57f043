"""Time-sortable unique ids (ULID layout: 48-bit milliseconds, 80 random bits)."""

from __future__ import annotations

import os
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_id(at: datetime) -> str:
    """A 26-character id that sorts by ``at`` (to the millisecond) and is unique.

    The time comes from the caller, never from a hidden clock, so ids made in a
    replay or a simulation sort by simulated time.

    Example:
        >>> from datetime import datetime, timezone
        >>> a = new_id(datetime(2025, 1, 1, tzinfo=timezone.utc))
        >>> b = new_id(datetime(2025, 1, 2, tzinfo=timezone.utc))
        >>> len(a), a < b
        (26, True)
    """
    ms = max(0, int(at.timestamp() * 1000))
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
