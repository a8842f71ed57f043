"""The routing benchmark stays correct: all engines agree on a small rule set and ticket list."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_routing.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_routing", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestBenchmark:
    def test_agrees_with_peers(self) -> None:
        """ticketkit (indexed, linear, route), rule-engine and business-rules pick the same rules."""
        pytest.importorskip("rule_engine")
        pytest.importorskip("business_rules")
        picks = load_bench().check_agreement(60, 400)
        assert 5 == len(picks)
        assert 100 < sum(1 for p in picks["ticketkit"] if p is not None) < 400

    def test_runs(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The benchmark runs end to end on a tiny size and prints ratios."""
        pytest.importorskip("rule_engine")
        pytest.importorskip("business_rules")
        load_bench().main(["--rules", "40", "--tickets", "200", "--repeats", "1", "--peer-repeats", "1"])
        assert "all engines agree on every ticket" in capsys.readouterr().out
