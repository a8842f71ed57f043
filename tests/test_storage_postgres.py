"""PostgresStore: the whole storage contract on a real PostgreSQL server, plus what only it does."""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from ticketkit import SLAState, Ticket, TicketStore
from ticketkit.errors import NotFoundError, TicketkitError, ValidationError
from ticketkit.storage import POSTGRES_SCHEMA_VERSION, PostgresStore, Query, StoreClosedError
from ticketkit.testing import StoreContract

try:
    import psycopg
    import psycopg_pool
except ImportError:  # pragma: no cover - the test extra installs psycopg
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        raise
    pytest.skip("psycopg is not installed: pip install 'ticketkit[postgres]'", allow_module_level=True)

pytest_plugins = ("tests.postgres_fixture",)

pytestmark = pytest.mark.postgres


class TestPostgresStoreContract(StoreContract):
    """PostgresStore keeps the contract."""

    @pytest.fixture
    def make_store(self, make_postgres_store: Callable[..., Any]) -> Callable[[], TicketStore]:
        return make_postgres_store

    @pytest.fixture
    def open_again(self, make_postgres_store: Callable[..., Any]) -> Callable[[TicketStore], TicketStore]:
        return lambda store: make_postgres_store(schema=store.schema)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- helpers

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def _ticket(i: int, **changes: Any) -> Ticket:
    base: dict[str, Any] = {
        "subject": f"ticket {i}",
        "id": f"T{i:04d}",
        "created_at": T0 + timedelta(minutes=i),
    }
    base.update(changes)
    return Ticket(**base)


def _due(at: datetime) -> SLAState:
    return SLAState(policy="std", next_due_at=at)


def _run_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --------------------------------------------------------------------------- opening and schema


class TestOpening:
    def test_import_ticketkit_does_not_import_psycopg(self) -> None:
        """psycopg is loaded only when a PostgresStore is opened."""
        code = "import sys, ticketkit, ticketkit.storage; print('psycopg' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert "False" == out.stdout.strip()

    def test_missing_psycopg_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without psycopg, opening a store raises ImportError saying to install ticketkit[postgres]."""
        monkeypatch.setitem(sys.modules, "psycopg", None)
        with pytest.raises(ImportError, match=r"ticketkit\[postgres\]"):
            PostgresStore("postgresql://nobody@127.0.0.1:1/none")

    def test_bad_arguments_are_all_reported(self) -> None:
        """A bad schema name and bad pool sizes are listed together, before any connection."""
        with pytest.raises(ValidationError) as info:
            PostgresStore("postgresql://127.0.0.1:1/x", schema="bad-name; drop", min_size=3, max_size=1)
        assert ["schema", "max_size"] == [e.path for e in info.value.errors]
        with pytest.raises(ValidationError):
            PostgresStore(42)  # type: ignore[arg-type]

    def test_unreachable_server_is_a_clear_error(self) -> None:
        """A server that is not there fails fast with the address (password hidden)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(TicketkitError, match=r"cannot connect to PostgreSQL at .*\*\*\*") as info:
            PostgresStore(f"postgresql://app:secret@127.0.0.1:{port}/db", timeout=2)
        assert "secret" not in str(info.value)

    def test_new_schema_is_created_at_the_current_version(self, make_postgres_store: Any) -> None:
        """A new schema is made and migrated to the current version, trigram index included."""
        store = make_postgres_store()
        assert POSTGRES_SCHEMA_VERSION == store.schema_version
        assert store.has_trigram_index

    def test_old_schema_is_migrated_forward(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """A schema at version 1 gets the later steps on open; its tickets stay."""
        store = make_postgres_store()
        store.create(_ticket(1))
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'DROP INDEX "{store.schema}".tickets_subject_trgm')
            conn.execute(f'DELETE FROM "{store.schema}".ticketkit_schema WHERE version > 1')
        assert 1 == store.schema_version
        again = make_postgres_store(store.schema)
        assert POSTGRES_SCHEMA_VERSION == again.schema_version
        assert again.has_trigram_index
        assert "ticket 1" == again.get("T0001").subject

    def test_openers_racing_on_a_new_schema_all_succeed(self, make_postgres_store: Any) -> None:
        """Several stores opening one new schema at once migrate it once (advisory lock)."""
        name = f"tk_race_{uuid.uuid4().hex[:8]}"
        errors: list[BaseException] = []

        def open_one() -> None:
            try:
                make_postgres_store(name)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert [] == errors
        assert POSTGRES_SCHEMA_VERSION == make_postgres_store(name).schema_version

    def test_foreign_and_newer_schemas_are_refused_untouched(
        self, make_postgres_store: Any, postgres_dsn: str
    ) -> None:
        """A schema of something else, or from a newer ticketkit, is refused and left as it was."""
        foreign = f"tk_foreign_{uuid.uuid4().hex[:8]}"
        newer = make_postgres_store()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{foreign}"')
            conn.execute(f'CREATE TABLE "{foreign}".orders (id int)')
            conn.execute(
                f'INSERT INTO "{newer.schema}".ticketkit_schema (version, applied_by) VALUES (99, %s)',
                ("future",),
            )
        try:
            with pytest.raises(ValidationError, match="something else"):
                make_postgres_store(foreign)
            with pytest.raises(ValidationError, match="newer than this ticketkit"):
                make_postgres_store(newer.schema)
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                tables = conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (foreign,)
                ).fetchall()
            assert [("orders",)] == tables
        finally:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{foreign}" CASCADE')

    def test_migrate_false_refuses_an_empty_schema(self, make_postgres_store: Any) -> None:
        """With migrate=False a schema that is not at the current version is an error, not a change."""
        with pytest.raises(ValidationError, match="migrate=True"):
            make_postgres_store(migrate=False)

    def test_schema_sql_makes_a_usable_schema(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """The DDL from schema_sql(), applied by hand, is what a store opens with migrate=False."""
        name = f"tk_byhand_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(PostgresStore.schema_sql(name))
        store = make_postgres_store(name, migrate=False)
        assert POSTGRES_SCHEMA_VERSION == store.schema_version
        store.create(_ticket(1))
        assert 1 == store.count()

    def test_a_given_pool_is_used_and_left_open(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """A store on the caller's pool works and does not close that pool."""
        name = make_postgres_store().schema
        with psycopg_pool.ConnectionPool(postgres_dsn, min_size=1, max_size=2, open=True) as pool:
            store = PostgresStore(pool, schema=name)
            store.create(_ticket(1))
            store.close()
            assert not pool.closed
            assert 1 == PostgresStore(pool, schema=name).count()

    def test_a_dropped_store_closes_its_pool(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """A store garbage-collected without close() closes the pool it made."""
        name = make_postgres_store().schema
        store = PostgresStore(postgres_dsn, schema=name)
        pool = store._pool
        assert "schema='" + name + "') [open]" in repr(store)
        del store
        gc.collect()
        assert pool.closed

    def test_a_lost_connection_is_a_ticketkit_error_and_the_store_recovers(
        self, make_postgres_store: Any, postgres_dsn: str
    ) -> None:
        """A connection killed by the server raises TicketkitError; the next call gets a new one."""
        store = make_postgres_store(max_size=1)
        store.create(_ticket(1))
        with store._pool.connection() as conn:
            pid = conn.info.backend_pid
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            assert (True,) == conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        time.sleep(0.3)
        with pytest.raises(TicketkitError, match="failed"):
            store.get("T0001")
        assert "ticket 1" == store.get("T0001").subject

    def test_closed_store_refuses_use(self, make_postgres_store: Any) -> None:
        """After close() every call raises StoreClosedError; closing twice is fine."""
        store = make_postgres_store()
        store.close()
        store.close()
        with pytest.raises(StoreClosedError):
            store.get("T0001")


# --------------------------------------------------------------------------- data


class TestData:
    def test_nul_characters_round_trip_and_match(self, make_postgres_store: Any) -> None:
        """NUL (which PostgreSQL text cannot hold) survives in the ticket; filters still find it.

        Tags, ids, tenants and names refuse NUL at the model, so only free text carries it.
        """
        store = make_postgres_store()
        t = _ticket(1, subject="a\x00b Refund", status="x\x00y", tags={"t"}, fields={"k\x00": "v\x00"})
        store.create(t)
        assert t == store.get(t.id)
        assert ["T0001"] == [x.id for x in store.query(text="\x00B REF")]
        assert ["T0001"] == [x.id for x in store.query(status="x\x00y", tags=["t"])]

    def test_small_cache_and_odd_reads(self, make_postgres_store: Any) -> None:
        """A one-ticket cache still reads every ticket right; odd ids are simply not found."""
        store = make_postgres_store(cache_size=1)
        made = [
            store.create(_ticket(i, tenant="a" if i % 2 else "b", fields={"l": [["\x00"]]})) for i in range(4)
        ]
        assert made == [store.get(t.id) for t in made]
        assert {"T0001", "T0003"} == {t.id for t in store.scan(tenant="a")}
        with pytest.raises(NotFoundError):
            store.get(42)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            store.events(None)  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            PostgresStore.schema_sql("no-dashes")

    def test_like_wildcards_in_text_are_literal(self, make_postgres_store: Any) -> None:
        """%, _ and backslash in a text filter match themselves only."""
        store = make_postgres_store()
        store.create(_ticket(1, subject="100% sure_thing \\o/"))
        store.create(_ticket(2, subject="100 percent surely"))
        assert ["T0001"] == [t.id for t in store.query(text="0% s")]
        assert ["T0001"] == [t.id for t in store.query(text="e_t")]
        assert ["T0001"] == [t.id for t in store.query(text="\\o/")]
        assert 2 == store.count(text="100")

    def test_custom_fields_are_jsonb_for_sql(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """Custom fields are queryable as JSONB (containment, served by the GIN index)."""
        store = make_postgres_store()
        store.create(_ticket(1, fields={"order": {"total": 120, "sku": "WM-8"}}))
        store.create(_ticket(2, fields={"order": {"total": 80}}))
        with psycopg.connect(postgres_dsn) as conn:
            rows = conn.execute(
                f'SELECT id FROM "{store.schema}".tickets WHERE fields @> %s::jsonb',
                ('{"order": {"sku": "WM-8"}}',),
            ).fetchall()
        assert [("T0001",)] == rows

    def test_claims_record_the_worker_until_the_next_save(
        self, make_postgres_store: Any, postgres_dsn: str
    ) -> None:
        """claim_due sets claimed_by; the worker's save clears it."""
        store = make_postgres_store()
        store.create(_ticket(1, sla=_due(T0)))
        claimed = store.claim_due(T0, worker="tick-1", lease=timedelta(minutes=5))
        sql = f'SELECT claimed_by FROM "{store.schema}".tickets'
        with psycopg.connect(postgres_dsn) as conn:
            assert ("tick-1",) == conn.execute(sql).fetchone()
        store.save(attrs.evolve(claimed[0], version=3, sla=_due(T0 + timedelta(days=1))), [], 2)
        with psycopg.connect(postgres_dsn) as conn:
            assert (None,) == conn.execute(sql).fetchone()


# --------------------------------------------------------------------------- indexes


_INDEXED_FILTERS: tuple[tuple[dict[str, Any], str], ...] = (
    ({"tenant": "acme"}, "tenant"),
    ({"status": "open"}, "status"),
    ({"status_kind": ["open", "pending"]}, "status_kind"),
    ({"team": "t1"}, "team"),
    ({"assignee": "li"}, "assignee"),
    ({"customer": "c1"}, "customer"),
    ({"category": "billing"}, "category"),
    ({"priority": "high"}, "priority"),
    ({"tags": ["a", "b"]}, "tags"),
    ({"created_since": T0, "created_before": T0 + timedelta(days=1)}, "created_us"),
    ({"updated_since": T0}, "updated_us"),
    ({"text": "refund"}, "subject_fold"),
    ({"next_due_before": T0}, "due_us"),
    ({"parent_id": "T0002"}, "parent_id"),
)


class TestIndexes:
    @pytest.mark.parametrize(("filters", "column"), _INDEXED_FILTERS, ids=lambda v: str(v)[:40])
    def test_every_filter_has_an_index(
        self, make_postgres_store: Any, postgres_dsn: str, filters: dict[str, Any], column: str
    ) -> None:
        """Each filter can be answered through an index on its column, never only by a full scan."""
        store = make_postgres_store()
        for i in range(30):
            store.create(_ticket(i, tenant="acme" if i % 3 else "default", sla=_due(T0 + timedelta(hours=i))))
        sql, params = store._count_sql(Query.build(**filters))
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute(f'SET search_path = "{store.schema}"')
            conn.execute("ANALYZE tickets")
            conn.execute("SET enable_seqscan = off")
            plan = json.dumps(conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone())
        assert "Seq Scan" not in plan
        assert re.search(rf'"(Index|Recheck) Cond": "[^"]*\b{column}\b', plan), plan

    @pytest.mark.parametrize("order_by", ["created_at", "-updated_at", "next_due_at", "-priority", "id"])
    def test_every_order_has_an_index(
        self, make_postgres_store: Any, postgres_dsn: str, order_by: str
    ) -> None:
        """Ordering (and paging) walks an index, with no sort step."""
        store = make_postgres_store()
        for i in range(30):
            store.create(_ticket(i))
        sql, params = store._query_sql(Query.build(order_by=order_by, limit=5))
        with psycopg.connect(postgres_dsn) as conn:
            conn.execute("SET enable_seqscan = off")
            plan = json.dumps(conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone())
        assert "Seq Scan" not in plan
        assert '"Node Type": "Sort"' not in plan


# --------------------------------------------------------------------------- several processes

_CLAIMER = """
    import json, sys
    from datetime import timedelta
    from ticketkit.storage import PostgresStore
    from ticketkit.storage._contract import T0
    store = PostgresStore(sys.argv[1], schema=sys.argv[2])
    got = []
    while batch := store.claim_due(T0, worker=sys.argv[3], lease=timedelta(hours=1), limit=7):
        got += [t.id for t in batch]
    print(json.dumps(got))
"""

_LOCKER = """
    import sys, time
    import psycopg
    conn = psycopg.connect(sys.argv[1])
    rows = conn.execute(f'SELECT id FROM "{sys.argv[2]}".tickets FOR UPDATE').fetchall()
    print(len(rows), flush=True)
    time.sleep(120)
"""


class TestSeveralProcesses:
    def test_processes_claim_each_due_ticket_exactly_once(
        self, make_postgres_store: Any, postgres_dsn: str
    ) -> None:
        """Three processes claiming at once split 150 due tickets with none shared and none left."""
        store = make_postgres_store()
        store.save_many([(_ticket(i, sla=_due(T0)), [], None) for i in range(150)])
        children = [_run_child(_CLAIMER, postgres_dsn, store.schema, f"w{n}") for n in range(3)]
        claimed: list[str] = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert 0 == child.returncode, err
            claimed += json.loads(out)
        assert sorted(f"T{i:04d}" for i in range(150)) == sorted(claimed)
        assert [] == store.due(T0)

    def test_a_worker_killed_mid_claim_loses_nothing(
        self, make_postgres_store: Any, postgres_dsn: str
    ) -> None:
        """Rows locked by a worker are skipped by others; when it is killed they are claimable again."""
        store = make_postgres_store()
        store.save_many([(_ticket(i, sla=_due(T0)), [], None) for i in range(5)])
        child = _run_child(_LOCKER, postgres_dsn, store.schema)
        try:
            assert child.stdout is not None
            assert "5" == child.stdout.readline().strip()
            assert [] == store.claim_due(T0, worker="other", lease=timedelta(minutes=1))
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=60)
        deadline = time.monotonic() + 30
        claimed: list[Ticket] = []
        while not claimed and time.monotonic() < deadline:
            claimed = store.claim_due(T0, worker="other", lease=timedelta(minutes=1))
            time.sleep(0.05)
        assert [f"T{i:04d}" for i in range(5)] == [t.id for t in claimed]


class TestServerFixture:
    def test_missing_server_fails_in_ci_and_skips_elsewhere(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a server the PostgreSQL tests fail in CI (never a silent skip) and skip elsewhere."""
        from tests import postgres_fixture

        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception, match="in CI the server must be there"):
            postgres_fixture._unavailable("no initdb")
        for value in ("", "false", "0"):
            monkeypatch.setenv("CI", value)
            with pytest.raises(pytest.skip.Exception, match="no initdb"):
                postgres_fixture._unavailable("no initdb")
