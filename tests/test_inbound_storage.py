"""The message keys receive uses are read through the table's primary key, and a ticket's keys
dropped through the (tenant, ticket) index: never a scan."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ticketkit import SQLiteStore
from ticketkit.storage import _message_keys as mk

pytest_plugins = ("tests.postgres_fixture",)


class TestSQLitePlan:
    def test_lookup_uses_the_primary_key(self, tmp_path: Path) -> None:
        """EXPLAIN QUERY PLAN of a key lookup searches the (tenant, key) primary key."""
        store = SQLiteStore(tmp_path / "d.db")
        store.bind_message_keys([f"mid:{i}@x" for i in range(200)], "T1", tenant="default")
        store.close()
        with sqlite3.connect(tmp_path / "d.db") as conn:
            plan = " ".join(
                str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + mk.SQLITE_GET, ("default", "k"))
            )
        assert "SEARCH message_keys USING PRIMARY KEY (tenant=? AND key=?)" == plan

    def test_drop_uses_the_ticket_index(self, tmp_path: Path) -> None:
        """EXPLAIN QUERY PLAN of dropping a ticket's keys searches the (tenant, ticket) index."""
        store = SQLiteStore(tmp_path / "d.db")
        for t in range(50):
            store.bind_message_keys([f"mid:{t}-{i}@x" for i in range(4)], f"T{t}", tenant="default")
        assert 4 == store.drop_message_keys("T7", tenant="default")
        store.close()
        with sqlite3.connect(tmp_path / "d.db") as conn:
            plan = " ".join(
                str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + mk.SQLITE_DROP, ("default", "T1"))
            )
        index = "COVERING INDEX message_keys_ticket (tenant=? AND ticket_id=?)"
        assert f"SEARCH message_keys USING {index}" == plan

    def test_lookup_before_any_binding(self, tmp_path: Path) -> None:
        """A lookup on a file that never bound a key makes the table and answers None."""
        store = SQLiteStore(tmp_path / "e.db")
        assert None is store.message_key("mid:a", tenant="default")
        assert None is SQLiteStore(tmp_path / "e.db").message_key("mid:a", tenant="default")


@pytest.mark.postgres
class TestPostgresPlan:
    def test_lookup_uses_the_primary_key(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """With sequential scans off, a key lookup is an index scan on the primary key."""
        store = make_postgres_store()
        store.bind_message_keys([f"mid:{i}@x" for i in range(200)], "T1", tenant="default")
        assert "T1" == store.message_key("mid:7@x", tenant="default")
        plan = _plan(postgres_dsn, store.schema, mk.postgres_get(f'"{store.schema}"'), ("default", "mid:7@x"))
        assert "Seq Scan" not in plan
        assert "message_keys_pkey" in plan, plan

    def test_drop_uses_the_ticket_index(self, make_postgres_store: Any, postgres_dsn: str) -> None:
        """With sequential scans off, dropping a ticket's keys reads the (tenant, ticket) index."""
        store = make_postgres_store()
        for t in range(50):
            store.bind_message_keys([f"mid:{t}-{i}@x" for i in range(4)], f"T{t}", tenant="default")
        assert 4 == store.drop_message_keys("T7", tenant="default")
        plan = _plan(postgres_dsn, store.schema, mk.postgres_drop(f'"{store.schema}"'), ("default", "T1"))
        assert "Seq Scan" not in plan
        assert "message_keys_ticket" in plan, plan


def _plan(dsn: str, schema: str, sql: str, params: tuple[str, ...]) -> str:
    """The JSON plan of ``sql`` on the analysed ``message_keys`` table, with sequential scans off."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("ANALYZE message_keys")
        conn.execute("SET enable_seqscan = off")
        return json.dumps(conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone())
