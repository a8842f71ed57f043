"""Blob stores: both reference stores keep the contract, and the contract catches broken stores."""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from ticketkit.channels import BlobCorruptedError, BlobStore, FileBlobStore, InMemoryBlobStore
from ticketkit.channels._contract import _BAD_KEYS
from ticketkit.errors import NotFoundError, ValidationError
from ticketkit.testing import BlobStoreContract


class TestInMemoryBlobStore(BlobStoreContract):
    """InMemoryBlobStore keeps the contract."""

    @pytest.fixture
    def make_store(self) -> Callable[[], BlobStore]:
        return InMemoryBlobStore


class TestFileBlobStore(BlobStoreContract):
    """FileBlobStore keeps the contract."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], BlobStore]:
        counter = iter(range(1000))
        return lambda: FileBlobStore(tmp_path / f"blobs-{next(counter)}")


# ------------------------------------------------------------------ deliberately broken stores


class _Dict(InMemoryBlobStore):
    pass


class WrongKey(_Dict):
    """Files blobs under an upper-case digest."""

    def put(self, data: bytes) -> str:
        key = super().put(data)
        self._blobs[key.upper()] = self._blobs[key]
        return key.upper()

    def get(self, key: str) -> bytes:
        return self._blobs[key]


class Truncates(_Dict):
    """Loses the last byte on the way out."""

    def get(self, key: str) -> bytes:
        return super().get(key)[:-1] if super().get(key) else b""


class ForgetsDeletes(_Dict):
    """Says it deleted, keeps the blob."""

    def delete(self, key: str) -> bool:
        return self.exists(key)


class EmptyForUnknown(_Dict):
    """Returns nothing instead of raising NotFoundError."""

    def get(self, key: str) -> bytes:
        return self._blobs.get(key, b"")


class NoKeyCheck(BlobStore):
    """Accepts any key: a path traversal waiting to happen."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        if not isinstance(data, bytes | bytearray):
            raise ValidationError.one("data", "bytes")
        key = self.key_for(bytes(data))
        self.blobs[key] = bytes(data)
        return key

    def get(self, key: str) -> bytes:
        if key not in self.blobs:
            raise NotFoundError("blob", key)
        return self.blobs[key]

    def exists(self, key: str) -> bool:
        return key in self.blobs

    def delete(self, key: str) -> bool:
        return self.blobs.pop(key, None) is not None


class Aliases(NoKeyCheck):
    """Keeps the caller's buffer instead of a copy (keys checked, to isolate the fault)."""

    def put(self, data: bytes) -> str:
        key = self.key_for(bytes(data))
        self.blobs[key] = data
        return key

    def get(self, key: str) -> bytes:
        InMemoryBlobStore().exists(key)  # borrow the key check
        return super().get(key)

    def exists(self, key: str) -> bool:
        InMemoryBlobStore().exists(key)
        return super().exists(key)

    def delete(self, key: str) -> bool:
        InMemoryBlobStore().exists(key)
        return super().delete(key)


class DeleteAlwaysTrue(_Dict):
    """Claims to delete what was never there."""

    def delete(self, key: str) -> bool:
        super().delete(key)
        return True


class RefusesSecondPut(_Dict):
    """Raises when the same bytes come twice (a store using exclusive create without care)."""

    def put(self, data: bytes) -> str:
        if self.key_for(bytes(data)) in self._blobs:
            raise FileExistsError("already stored")
        return super().put(data)


def contract_failures(make: Callable[[], BlobStore]) -> set[str]:
    """Run every contract test against a store; the names of the ones that fail."""
    suite = BlobStoreContract()
    failed: set[str] = set()
    for name in dir(suite):
        if not name.startswith("test_"):
            continue
        method = getattr(suite, name)
        cases = [{"key": k} for k in _BAD_KEYS] if "key" in inspect.signature(method).parameters else [{}]
        for extra in cases:
            try:
                method(make(), **extra)
            except (Exception, pytest.fail.Exception):
                failed.add(name)
    return failed


class TestContractCatchesBrokenStores:
    def test_reference_stores_pass_when_run_by_hand(self, tmp_path: Path) -> None:
        """The hand runner agrees that both reference stores pass."""
        counter = iter(range(1000))
        assert (set(), set()) == (
            contract_failures(InMemoryBlobStore),
            contract_failures(lambda: FileBlobStore(tmp_path / str(next(counter)))),
        )

    @pytest.mark.parametrize(
        ("store", "caught_by"),
        [
            (WrongKey, "test_put_returns_the_sha256_hex"),
            (Truncates, "test_get_returns_exactly_what_was_put"),
            (ForgetsDeletes, "test_delete_removes"),
            (EmptyForUnknown, "test_unknown_key_is_not_found"),
            (NoKeyCheck, "test_bad_keys_are_refused"),
            (Aliases, "test_put_copies_mutable_input"),
            (DeleteAlwaysTrue, "test_delete_unknown_is_false"),
            (RefusesSecondPut, "test_put_is_idempotent"),
        ],
    )
    def test_broken_store_is_caught(self, store: Callable[[], BlobStore], caught_by: str) -> None:
        """Each deliberately broken store fails the contract test for the promise it breaks."""
        assert caught_by in contract_failures(store)

    def test_contract_without_fixture_fails(self) -> None:
        """A subclass that forgets make_store is told what to define."""
        with pytest.raises(pytest.fail.Exception, match="make_store"):
            BlobStoreContract.make_store.__wrapped__(BlobStoreContract())  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the file store


class TestFileBlobStoreFiles:
    def test_layout(self, tmp_path: Path) -> None:
        """Blobs live under ab/cd/<key> and no temporary files remain."""
        key = FileBlobStore(tmp_path).put(b"data")
        files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
        assert [f"{key[:2]}/{key[2:4]}/{key}"] == files

    def test_survives_a_new_instance(self, tmp_path: Path) -> None:
        """A second store on the same folder reads what the first wrote."""
        key = FileBlobStore(tmp_path).put(b"kept")
        assert b"kept" == FileBlobStore(str(tmp_path)).get(key)

    def test_damaged_file_is_detected(self, tmp_path: Path) -> None:
        """A file whose bytes no longer hash to its key raises BlobCorruptedError, which pickles."""
        store = FileBlobStore(tmp_path)
        key = store.put(b"original")
        (tmp_path / key[:2] / key[2:4] / key).write_bytes(b"damaged")
        with pytest.raises(BlobCorruptedError) as info:
            store.get(key)
        again = pickle.loads(pickle.dumps(info.value))
        assert (key, str(info.value)) == (again.key, str(again))

    def test_never_overwrites_a_file_it_did_not_create(self, tmp_path: Path) -> None:
        """An existing file at a blob's path is left alone (and reported damaged on read)."""
        data = b"mine"
        key = hashlib.sha256(data).hexdigest()
        path = tmp_path / key[:2] / key[2:4] / key
        path.parent.mkdir(parents=True)
        path.write_bytes(b"someone else's")
        assert key == FileBlobStore(tmp_path).put(data)
        assert b"someone else's" == path.read_bytes()

    def test_lost_race_keeps_the_winner(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """When another writer links the file first, put keeps theirs and cleans up its temp file."""
        store = FileBlobStore(tmp_path)
        real_link = os.link

        def racing_link(src: str, dst: str) -> None:
            Path(dst).write_bytes(b"race")
            real_link(src, dst)

        monkeypatch.setattr(os, "link", racing_link)
        key = store.put(b"race")
        assert ([], b"race") == ([p.name for p in tmp_path.rglob(".tmp-*")], store.get(key))

    def test_size_limit(self, tmp_path: Path) -> None:
        """Blobs over max_size are refused and nothing is written."""
        with pytest.raises(ValidationError, match="limit of 3"):
            FileBlobStore(tmp_path, max_size=3).put(b"four")
        assert [] == list(tmp_path.rglob("*"))

    def test_keys_cannot_escape(self, tmp_path: Path) -> None:
        """Traversal keys are refused before touching the file system."""
        with pytest.raises(ValidationError):
            FileBlobStore(tmp_path / "root").exists("../" * 10 + "etc/passwd")
