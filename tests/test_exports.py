"""The public surface: __all__ complete and sorted, one public path per object."""

from __future__ import annotations

import importlib
import pkgutil
import types

import ticketkit


class TestExports:
    def test_all_sorted(self) -> None:
        """ticketkit.__all__ is sorted (upper-case classes, then functions, as sorted() orders)."""
        assert sorted(ticketkit.__all__) == ticketkit.__all__

    def test_all_complete(self) -> None:
        """Every public object of a private module is exported from ticketkit or a public sub-namespace."""
        import ticketkit.analytics
        import ticketkit.channels
        import ticketkit.storage
        import ticketkit.testing

        public = (ticketkit, ticketkit.analytics, ticketkit.channels, ticketkit.storage, ticketkit.testing)
        exported = {id(getattr(module, n)) for module in public for n in module.__all__}
        missing = []
        for info in pkgutil.walk_packages(ticketkit.__path__, "ticketkit."):
            last = info.name.rsplit(".", 1)[-1]
            if not last.startswith("_") or last in {"__main__", "_version"} or last.startswith("_contract"):
                continue
            mod = importlib.import_module(info.name)
            for name in getattr(mod, "__all__", ()):
                obj = getattr(mod, name)
                if isinstance(obj, types.ModuleType):
                    continue
                if id(obj) not in exported and not name.isupper():
                    missing.append(f"{info.name}.{name}")
        assert [] == missing

    def test_all_resolve(self) -> None:
        """Every name in __all__ exists."""
        assert [] == [n for n in ticketkit.__all__ if not hasattr(ticketkit, n)]

    def test_public_objects_documented(self) -> None:
        """Every exported class and function has a docstring with an example."""
        undocumented = [
            n
            for n in ticketkit.__all__
            if callable(getattr(ticketkit, n)) and ">>>" not in (getattr(ticketkit, n).__doc__ or "")
        ]
        assert [] == undocumented


class TestReference:
    def test_every_public_name_has_a_reference_entry(self) -> None:
        """Every name in the public namespaces' __all__ has a ::: entry in docs/reference."""
        import re
        from pathlib import Path

        import ticketkit.analytics
        import ticketkit.channels
        import ticketkit.storage
        import ticketkit.testing

        reference = Path(__file__).resolve().parent.parent / "docs" / "reference"
        text = "\n".join(p.read_text(encoding="utf-8") for p in reference.glob("*.md"))
        documented = {ref.rsplit(".", 1)[-1] for ref in re.findall(r"^:::\s*([\w.]+)", text, re.MULTILINE)}
        missing = [
            f"{module.__name__}.{name}"
            for module in (
                ticketkit,
                ticketkit.analytics,
                ticketkit.channels,
                ticketkit.storage,
                ticketkit.testing,
            )
            for name in module.__all__
            if not name.startswith("__") and name not in documented
        ]
        assert [] == missing
