"""The how-to's example store (examples/json_file_store.py) passes the contract suite.

It implements only the five primitives, so this also checks that every default of
TicketStore (query, count, due, claim_due, save_many, export, import_) keeps the contract.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ticketkit import TicketStore
from ticketkit.testing import StoreContract

_PATH = Path(__file__).resolve().parent.parent / "examples" / "json_file_store.py"
_spec = importlib.util.spec_from_file_location("json_file_store", _PATH)
assert _spec is not None
assert _spec.loader is not None
json_file_store = importlib.util.module_from_spec(_spec)
sys.modules["json_file_store"] = json_file_store
_spec.loader.exec_module(json_file_store)


class TestJsonFileStore(StoreContract):
    """One JSON file per ticket keeps the contract."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[[], TicketStore]:
        counter = itertools.count()
        return lambda: json_file_store.JsonFileStore(tmp_path / f"tickets-{next(counter)}")

    @pytest.fixture
    def open_again(self) -> Callable[[TicketStore], TicketStore]:
        return lambda store: json_file_store.JsonFileStore(store.folder)  # type: ignore[attr-defined]


class TestHowTo:
    def test_the_how_to_shows_the_example_store_verbatim(self) -> None:
        """docs/how-to/custom-store.md shows exactly examples/json_file_store.py, so they never drift."""
        import re

        page = (_PATH.parent.parent / "docs" / "how-to" / "custom-store.md").read_text(encoding="utf-8")
        first_block = re.findall(r"^```python[^\n]*\n(.*?)^```", page, re.DOTALL | re.MULTILINE)[0]
        assert _PATH.read_text(encoding="utf-8") == first_block
