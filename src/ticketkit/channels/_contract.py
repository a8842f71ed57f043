"""The blob storage contract as a pytest suite (public as ``ticketkit.testing.BlobStoreContract``).

This module imports pytest; ``ticketkit.testing`` loads it only when asked for.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pytest

from ticketkit.channels._blob import BlobStore
from ticketkit.errors import NotFoundError, ValidationError

__all__ = ["BlobStoreContract"]

_BAD_KEYS = (
    "",
    "../" + "0" * 61,
    "0" * 63,
    "0" * 65,
    "A" * 64,
    "g" * 64,
    "/" + "0" * 63,
    "0" * 32 + "/" + "0" * 31,
    "0" * 63 + "\n",
)


class BlobStoreContract:
    """Every promise a `BlobStore` makes, as tests: subclass with a ``make_store`` fixture.

    Examples:
        >>> import pytest
        >>> from ticketkit.channels import InMemoryBlobStore
        >>> class TestMyBlobs(BlobStoreContract):
        ...     @pytest.fixture
        ...     def make_store(self):
        ...         return InMemoryBlobStore  # a new, empty store per call
        >>> len([n for n in dir(TestMyBlobs) if n.startswith("test_")]) >= 10
        True
    """

    @pytest.fixture
    def make_store(self) -> Callable[[], BlobStore]:
        pytest.fail("define a `make_store` fixture returning a function that makes a new, empty BlobStore")

    @pytest.fixture
    def store(self, make_store: Callable[[], BlobStore]) -> BlobStore:
        return make_store()

    def test_put_returns_the_sha256_hex(self, store: BlobStore) -> None:
        """put returns the lower-case hex sha256 of the bytes."""
        data = "附件 attachment".encode()
        assert hashlib.sha256(data).hexdigest() == store.put(data)

    def test_get_returns_exactly_what_was_put(self, store: BlobStore) -> None:
        """get returns the same bytes, for empty, binary and large blobs."""
        blobs = [b"", bytes(range(256)) * 4, b"\x00" * 10, b"x" * 1_000_003]
        keys = [store.put(b) for b in blobs]
        assert blobs == [store.get(k) for k in keys]

    def test_get_returns_bytes(self, store: BlobStore) -> None:
        """get returns immutable bytes, not a buffer the store keeps."""
        key = store.put(b"abc")
        assert bytes is type(store.get(key))

    def test_put_copies_mutable_input(self, store: BlobStore) -> None:
        """Changing a bytearray after put does not change the stored blob."""
        data = bytearray(b"original")
        key = store.put(data)  # type: ignore[arg-type]
        data[:] = b"changed!"
        assert b"original" == store.get(key)

    def test_put_is_idempotent(self, store: BlobStore) -> None:
        """The same bytes twice give the same key and one readable blob."""
        first = store.put(b"same")
        second = store.put(b"same")
        assert (first, b"same") == (second, store.get(second))

    def test_different_bytes_do_not_mix(self, store: BlobStore) -> None:
        """Blobs with different contents keep their own bytes."""
        keys = {store.put(f"blob {i}".encode()): f"blob {i}".encode() for i in range(20)}
        assert keys == {k: store.get(k) for k in keys}

    def test_unknown_key_is_not_found(self, store: BlobStore) -> None:
        """get of a well-formed key never stored raises NotFoundError; exists is False."""
        key = hashlib.sha256(b"never stored").hexdigest()
        assert not store.exists(key)
        with pytest.raises(NotFoundError):
            store.get(key)

    def test_exists_after_put(self, store: BlobStore) -> None:
        """exists is True once the bytes are put."""
        assert store.exists(store.put(b"here"))

    def test_delete_removes(self, store: BlobStore) -> None:
        """delete returns True, then the blob is gone; other blobs stay."""
        key = store.put(b"gone")
        other = store.put(b"stays")
        assert store.delete(key)
        assert (False, True) == (store.exists(key), store.exists(other))
        with pytest.raises(NotFoundError):
            store.get(key)

    def test_delete_unknown_is_false(self, store: BlobStore) -> None:
        """delete of a key never stored (or deleted already) returns False."""
        key = store.put(b"once")
        store.delete(key)
        assert (False, False) == (store.delete(key), store.delete(hashlib.sha256(b"never").hexdigest()))

    def test_put_after_delete(self, store: BlobStore) -> None:
        """Bytes deleted and put again are readable again."""
        key = store.put(b"again")
        store.delete(key)
        assert b"again" == store.get(store.put(b"again"))

    @pytest.mark.parametrize("key", _BAD_KEYS)
    def test_bad_keys_are_refused(self, store: BlobStore, key: str) -> None:
        """A key that is not 64 lower-case hex digits is a ValidationError for get, exists and delete."""
        for operation in (store.get, store.exists, store.delete):
            with pytest.raises(ValidationError):
                operation(key)

    def test_non_bytes_are_refused(self, store: BlobStore) -> None:
        """put of a str or None is a ValidationError."""
        for value in ("text", None, 42):
            with pytest.raises(ValidationError):
                store.put(value)  # type: ignore[arg-type]

    def test_concurrent_puts_of_the_same_bytes(self, store: BlobStore) -> None:
        """Threads putting the same bytes at once all succeed with one key."""
        data = b"race" * 10_000
        keys: list[str] = []
        errors: list[BaseException] = []

        def put() -> None:
            try:
                keys.append(store.put(data))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=put) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ([], {hashlib.sha256(data).hexdigest()}) == (errors, set(keys))
        assert data == store.get(keys[0])
