"""Event ids as the workflow makes them (``_ids.new_id``, sped up for the hot path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from ticketkit.model import _ids
from ticketkit.model._ids import new_id

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def reference_time_part(at: datetime) -> str:
    """The first 10 characters of a ULID: 48-bit milliseconds, base32, most significant first."""
    value = max(0, int(at.timestamp() * 1000))
    chars = []
    for _ in range(10):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))


class TestNewId:
    @given(moments)
    def test_layout(self, at: datetime) -> None:
        """26 Crockford base32 characters, the first 10 the ULID time part."""
        value = new_id(at)
        assert 26 == len(value)
        assert set(value) <= set(ALPHABET)
        assert reference_time_part(at) == value[:10]

    @given(moments, moments)
    def test_sorts_by_time(self, a: datetime, b: datetime) -> None:
        """Ids from different milliseconds sort by time."""
        if int(a.timestamp() * 1000) < int(b.timestamp() * 1000):
            assert new_id(a) < new_id(b)

    def test_unique_and_ordered_within_a_millisecond(self) -> None:
        """Ids made in one millisecond are distinct and sort in the order they were made."""
        at = datetime(2025, 3, 3, 9, tzinfo=UTC)
        ids = [new_id(at) for _ in range(5000)]
        assert len(ids) == len(set(ids))
        wrapped = sum(a > b for a, b in pairwise(ids))
        assert wrapped <= 1  # the 30-bit counter may wrap once

    def test_new_millisecond_new_randomness(self) -> None:
        """Each millisecond draws fresh random characters; a forked child draws again."""
        at = datetime(2025, 3, 3, 9, tzinfo=UTC)
        first = new_id(at)
        later = new_id(at + timedelta(milliseconds=1))
        assert first[10:20] != later[10:20]
        _ids._after_fork()
        assert new_id(at)[10:20] != first[10:20]
