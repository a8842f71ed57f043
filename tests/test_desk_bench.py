"""The desk benchmarks' checks still hold (run at a tiny size)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_DIR = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, _DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class TestBenchDesk:
    """bench_desk.py measures what it says, on every store, at a tiny size."""

    def test_every_operation_on_memory_and_sqlite(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every operation (receive too) runs and passes its checks; the report has every row."""
        bench = _load("bench_desk")
        assert 0 == bench.main(
            ["--sizes=200,400", "--ops=4", "--stores=memory,sqlite", f"--cache={tmp_path}"]
        )
        out = capsys.readouterr().out
        for op in ("open", "reply+resolve", "tick", "progress", "receive"):
            assert 2 == out.count(f"  {op:<15}"), op
        assert "floor" in out
        assert 2 == len(list(tmp_path.glob("desk-*.db")))  # built once and cached

    def test_history_shape(self) -> None:
        """The generated history: the open backlog is fixed, the rest resolved, ids unique."""
        bench = _load("bench_desk")
        changes = list(bench.history(1000))
        assert 1000 == len({t.id for t, _, _ in changes})
        assert bench.OPEN_BACKLOG == sum(
            1 for t, _, _ in changes if t.status_kind in ("new", "open", "pending")
        )
        assert all(e.ticket_id == t.id for t, events, _ in changes for e in events)

    def test_postgres(
        self, make_postgres_store: object, postgres_dsn: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """On PostgreSQL too (the benchmark's schema is dropped afterwards)."""
        bench = _load("bench_desk")
        import psycopg

        store = bench.postgres_store(150, postgres_dsn)
        try:
            figures = bench.measure(store, 3, {"open", "reply+resolve", "tick", "progress"}, offset=7)
        finally:
            store.close()
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "bench_desk_150_f{bench.FORMAT}" CASCADE')
        assert {"open", "reply+resolve", "tick", "progress"} == set(figures)
        assert all(v > 0 for v in figures.values())


class TestBenchDeskDjango:
    """bench_desk_django.py's ticketkit side passes its checks (django-helpdesk is a bench extra only)."""

    def test_ticketkit_side(self, tmp_path: Path) -> None:
        """Intake, reply+resolve and the sweep run on SQLite and every due ticket is swept."""
        pytest.importorskip("django")
        bench = _load("bench_desk_django")
        figures = bench.ticketkit_side(5, tmp_path)
        assert {"intake", "reply+resolve", "sweep"} == set(figures)


class TestBenchTimed:
    """bench_timed.py sweeps what it says and checks it, at a tiny size."""

    def test_three_sweeps_on_memory_and_sqlite(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each sweep handles every ticket once and passes its checks; the report has every row and ratio."""
        bench = _load("bench_timed")
        assert 0 == bench.main(["--size=120", "--stores=memory,sqlite", f"--cache={tmp_path}"])
        out = capsys.readouterr().out
        for scenario in ("sla", "sla+rules", "timed"):
            assert 2 == out.count(f"  {scenario:<10} "), scenario
        assert 6 == out.count("ratio to sla")
        assert 2 == len(list(tmp_path.glob("timed-*.db")))  # built once per scenario and cached

    def test_the_check_catches_a_timer_that_never_fires(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With the firing broken, the benchmark's own checks fail."""
        bench = _load("bench_timed")
        from ticketkit.desk import _sweep

        monkeypatch.setattr(_sweep, "fire_timers", lambda work, draft: [])
        with pytest.raises(AssertionError):
            bench.main(["--size=50", "--stores=memory", f"--cache={tmp_path}"])
