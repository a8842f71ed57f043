"""The workflow benchmark stays correct: its agreement check and a tiny run pass."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_workflow.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_workflow", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_workflow"] = module
    spec.loader.exec_module(module)
    return module


class TestWorkflowBenchmark:
    def test_agreement(self) -> None:
        """ticketkit, transitions and python-statemachine pass through the same states."""
        pytest.importorskip("transitions")
        pytest.importorskip("statemachine")
        load().check_agreement(steps=13)

    def test_tiny_run(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A tiny run prints every row and the ratio to the faster peer."""
        pytest.importorskip("transitions")
        pytest.importorskip("statemachine")
        assert 0 == load().main(["--transitions", "60", "--repeats", "1", "--tickets", "2"])
        out = capsys.readouterr().out
        assert "ticketkit vs the faster peer" in out
        assert "python-statemachine: an instance per ticket" in out
