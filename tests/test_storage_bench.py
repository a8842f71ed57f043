"""The storage benchmark's agreement checks still hold (run at a tiny size)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_storage.py"


class TestBenchStorage:
    def test_agreement_at_a_tiny_size(self) -> None:
        """SQLite, memory and the full-scan reference agree; figures come back for every part."""
        spec = importlib.util.spec_from_file_location("bench_storage", _PATH)
        assert spec is not None
        assert spec.loader is not None
        bench = importlib.util.module_from_spec(spec)
        sys.modules["bench_storage"] = bench
        spec.loader.exec_module(bench)
        figures = bench.run(writes=300, due_total=2000, due=20, memory=200, repeats=1, batch=100)
        assert {"writes", "due", "memory"} == set(figures)
        assert figures["memory"]["bytes"] > 0
