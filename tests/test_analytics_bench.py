"""The analytics benchmark stays correct: ticketkit and pandas agree on a small run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_analytics.py"


class TestBenchmark:
    def test_agrees_with_pandas(self) -> None:
        """The monthly overview per shop equals the pandas computation of the same figures."""
        spec = importlib.util.spec_from_file_location("bench_analytics", BENCH)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_analytics"] = module
        try:
            spec.loader.exec_module(module)
            report, overview = module.check_agreement(400)
        finally:
            sys.modules.pop("bench_analytics", None)
        assert 440 == sum(row.tickets + row.previous for row in report.overview.rows[1:])
        assert len(overview) == len(report.sections)
