"""The PostgreSQL load test and benchmark, small: several processes, one schema, nothing lost."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ("tests.postgres_fixture",)

pytestmark = pytest.mark.postgres

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Any:
    """The benchmark module benchmarks/bench_storage_postgres.py."""
    try:
        import psycopg  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra installs psycopg
        if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
            raise
        pytest.skip("psycopg is not installed: pip install 'ticketkit[postgres]'")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_storage_postgres
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_storage_postgres


class TestLoad:
    @pytest.mark.slow
    def test_workers_and_tickers_lose_nothing(self, bench: Any, postgres_dsn: str) -> None:
        """4 app processes and 2 tick processes: no lost update, no duplicate or missed checkpoint."""
        report = bench.run_load(postgres_dsn, apps=4, ticks=2, tickets=6, shared=2, seconds=8.0)
        assert report["opened"] + 2 == report["tickets"]
        assert report["opened"] > 0
        assert report["checkpoints"] > 0
        assert report["checkpoints"] == report["notifications"]


class TestBenchmark:
    def test_postgres_and_sqlite_agree_on_the_benchmark_work(self, bench: Any, postgres_dsn: str) -> None:
        """The benchmark's store work gives the same answers on PostgreSQL and SQLite (tiny size)."""
        result = bench.bench_stores(postgres_dsn, n=40, singles=4, due_total=200, due=10, repeats=1)
        assert 10 == len(result["postgres"]["due_ids"])
