"""The channels benchmark stays runnable: a tiny run prints every row and both ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_channels.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_channels", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_channels"] = module
    spec.loader.exec_module(module)
    return module


class TestChannelsBenchmark:
    def test_tiny_run(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A tiny run prints the rows and the ratios to the stdlib peers."""
        assert 0 == load().main(["--rounds", "1", "--repeats", "1", "--receive-rounds", "1"])
        out = capsys.readouterr().out
        assert "parse_email / stdlib minimal" in out
        assert "parse_wechat / ElementTree" in out
        assert "stdlib compat32 parse (floor)" in out
        assert "receive / open() alone" in out
