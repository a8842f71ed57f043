"""Where attachment bytes live: the ``BlobStore`` interface and two reference stores."""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path

from ticketkit.errors import NotFoundError, TicketkitError, ValidationError

__all__ = ["BlobCorruptedError", "BlobStore", "FileBlobStore", "InMemoryBlobStore"]

_KEY = re.compile(r"^[0-9a-f]{64}$")


class BlobCorruptedError(TicketkitError, ValueError):
    """Stored bytes no longer match the sha256 they are filed under (a damaged file).

    Examples:
        >>> issubclass(BlobCorruptedError, TicketkitError)
        True
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        return (
            f"the bytes stored under {self.key!r} do not hash to it: "
            "the blob is damaged; restore it from a backup"
        )


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValidationError.one(
            "key", f"expected a blob key (64 lower-case hex digits of a sha256), got {key!r}"
        )
    return key


def _check_data(data: object, max_size: int | None) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError.one("data", f"expected bytes, got {type(data).__name__}")
    value = bytes(data)
    if max_size is not None and len(value) > max_size:
        raise ValidationError.one("data", f"{len(value)} bytes is more than this store's limit of {max_size}")
    return value


class BlobStore(abc.ABC):
    """Bytes filed under their sha256: the interface for attachment storage.

    ``put`` returns the key (the hex sha256 of the bytes) and is idempotent: the same
    bytes twice make one blob. ``get`` returns exactly the bytes put (``NotFoundError``
    for an unknown key), ``exists`` says whether a key is stored, ``delete`` removes a
    blob and says whether there was one. A key that is not 64 lower-case hex digits is a
    ``ValidationError`` everywhere, so no key can address anything outside the store.
    Check your own store with ``ticketkit.testing.BlobStoreContract``.

    Examples:
        >>> store = InMemoryBlobStore()
        >>> key = store.put(b"%PDF-1.7")
        >>> store.get(key), store.exists(key), store.delete(key), store.exists(key)
        (b'%PDF-1.7', True, True, False)
    """

    @staticmethod
    def key_for(data: bytes) -> str:
        """The key ``data`` is filed under: its sha256 in lower-case hex.

        Examples:
            >>> BlobStore.key_for(b"")[:12]
            'e3b0c44298fc'
        """
        return hashlib.sha256(data).hexdigest()

    @abc.abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` (if not already stored) and return its key."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``NotFoundError`` when there are none."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether bytes are stored under ``key``."""

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the bytes under ``key``; True if there were any."""


class InMemoryBlobStore(BlobStore):
    """Blobs in a dict: for tests, demos and simulations.

    Examples:
        >>> store = InMemoryBlobStore(max_size=4)
        >>> store.put(b"1234") == BlobStore.key_for(b"1234")
        True
    """

    def __init__(self, *, max_size: int | None = None) -> None:
        self._blobs: dict[str, bytes] = {}
        self._max_size = max_size
        self._lock = threading.Lock()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key."""
        value = _check_data(data, self._max_size)
        key = self.key_for(value)
        with self._lock:
            self._blobs.setdefault(key, value)
        return key

    def get(self, key: str) -> bytes:
        """The bytes under ``key``."""
        try:
            return self._blobs[_check_key(key)]
        except KeyError:
            raise NotFoundError("blob", key) from None

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return _check_key(key) in self._blobs

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        with self._lock:
            return self._blobs.pop(_check_key(key), None) is not None


class FileBlobStore(BlobStore):
    """Blobs as files under a folder (``ab/cd/abcd...``), written atomically.

    A blob is written to a temporary file in its folder, flushed to disk, then linked to
    its final name: a reader never sees half a file, and an existing file is never
    overwritten (the same key means the same bytes). Reads check the sha256, so a damaged
    file raises `BlobCorruptedError` instead of returning wrong bytes.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     store = FileBlobStore(folder)
        ...     key = store.put("发票".encode())
        ...     store.get(key).decode()
        '发票'
    """

    def __init__(self, root: str | os.PathLike[str], *, max_size: int | None = None) -> None:
        self.root = Path(root)
        self._max_size = max_size

    def _path(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its key."""
        value = _check_data(data, self._max_size)
        key = self.key_for(value)
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            # link() refuses an existing name, so a concurrent writer's file is never replaced.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        return key

    def get(self, key: str) -> bytes:
        """The bytes under ``key``, checked against it."""
        path = self._path(key)
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("blob", key) from None
        if self.key_for(value) != key:
            raise BlobCorruptedError(key)
        return value

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        return self._path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True
