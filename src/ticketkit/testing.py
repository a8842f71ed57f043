"""Tools for your own tests: a controllable clock and the storage contract suite.

[`ManualClock`][ticketkit.testing.ManualClock] is a clock you move by hand, for deterministic tests of
anything that takes a ``clock``. [`StoreContract`][ticketkit.testing.StoreContract] is a pytest suite that
checks a [`TicketStore`][ticketkit.TicketStore] against every point of the storage
contract; subclass it and give it a ``make_store`` fixture::

    import pytest
    from ticketkit.testing import StoreContract


    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda: MyStore(tmp_path / "db")  # a new, empty store per call

        @pytest.fixture
        def open_again(self):
            return lambda store: MyStore(store.path)  # optional: a second handle

``StoreContract`` needs pytest, and is loaded on first use; ``ManualClock`` does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ticketkit.model._clock import ManualClock

if TYPE_CHECKING:
    from ticketkit.channels._contract import BlobStoreContract
    from ticketkit.storage._contract import StoreContract

__all__ = ["BlobStoreContract", "ManualClock", "StoreContract"]


def __getattr__(name: str) -> Any:
    # The contract suite imports pytest: load it only when someone asks for it.
    if name == "StoreContract":
        try:
            from ticketkit.storage._contract import StoreContract  # noqa: PLC0415
        except ModuleNotFoundError as exc:
            if exc.name not in ("pytest", "_pytest", "hypothesis"):
                raise
            raise ModuleNotFoundError(
                f"ticketkit.testing.StoreContract is a pytest suite and needs {exc.name!r}: "
                'install it with  python -m pip install "ticketkit[test]"  (or pip install pytest)',
                name=exc.name,
            ) from exc
        return StoreContract
    if name == "BlobStoreContract":
        from ticketkit.channels._contract import BlobStoreContract  # noqa: PLC0415

        return BlobStoreContract
    raise AttributeError(f"module 'ticketkit.testing' has no attribute {name!r}")
