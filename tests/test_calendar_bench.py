"""The calendar benchmark stays correct: its agreement check passes on a few cases."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_calendar.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_calendar", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestBenchmark:
    def test_agrees_with_peers(self) -> None:
        """ticketkit agrees with pandas and businesstime on the benchmark's work."""
        pytest.importorskip("pandas")
        pytest.importorskip("businesstime")
        counts = load_bench().check_agreement(40)
        assert 3 * 40 + 40 == counts["checked"] + counts["businesstime_bug_cases_skipped"]

    def test_runs(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The benchmark runs end to end on a tiny size and prints ratios."""
        pytest.importorskip("pandas")
        pytest.importorskip("businesstime")
        assert 0 == load_bench().main(["--cases", "20", "--repeats", "1"])
        assert "pandas CustomBusinessHour" in capsys.readouterr().out

    def test_add_days_agrees_with_workalendar(self) -> None:
        """add_days agrees with workalendar's add_working_days on China's calendar, both directions."""
        pytest.importorskip("workalendar")
        assert 5 * 40 == load_bench().check_days_agreement(40)
