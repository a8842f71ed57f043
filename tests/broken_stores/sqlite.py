"""Broken stores built on SQLiteStore: bugs of hand-written SQL, one each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from tests.broken_stores.registry import broken
from ticketkit import SQLiteStore, TicketStore
from ticketkit.storage import Page, Query

_Clause = Callable[[str, list[Any]], tuple[str, list[Any]]]


def _in_memory(cls: type[TicketStore]) -> Callable[[Path], Callable[[], TicketStore]]:
    return lambda _tmp: lambda: cls(":memory:")  # type: ignore[call-arg]


def _rewrite(query: Query, fn: _Clause) -> tuple[list[str], list[Any]]:
    """SQLiteStore's WHERE clauses with ``fn`` applied to each (clause, its parameters)."""
    clauses, params = SQLiteStore._where(query)
    out_c: list[str] = []
    out_p: list[Any] = []
    i = 0
    for clause in clauses:
        n = clause.count("?")
        c, p = fn(clause, list(params[i : i + n]))
        i += n
        out_c.append(c)
        out_p.extend(p)
    return out_c, out_p


@broken(
    "several values are ORed without parentheses: tenant = ? AND status = ? OR status = ?",
    "filter",
    "tenant",
    make=_in_memory,
)
class OrWithoutParentheses(SQLiteStore):
    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        def fn(clause: str, params: list[Any]) -> tuple[str, list[Any]]:
            if " IN (" in clause and not clause.startswith("EXISTS"):
                column = clause.split(" IN (", maxsplit=1)[0]
                return " OR ".join(f"{column} = ?" for _ in params), params
            return clause, params

        return _rewrite(query, fn)


@broken(
    "tags are matched with LIKE on the joined tags: 'vip' matches 'vip-old'",
    "filter",
    "tags",
    make=_in_memory,
)
class TagsAsSubstrings(SQLiteStore):
    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        def fn(clause: str, params: list[Any]) -> tuple[str, list[Any]]:
            if clause.startswith("EXISTS"):
                return "tags LIKE ?", [f"%{params[0]}%"]
            return clause, params

        return _rewrite(query, fn)


@broken("text= uses LIKE without escaping: % and _ act as wildcards", "text", make=_in_memory)
class TextWildcards(SQLiteStore):
    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        def fn(clause: str, params: list[Any]) -> tuple[str, list[Any]]:
            if clause.startswith("instr(subject_fold"):
                return "subject_fold LIKE ?", [f"%{params[0]}%"]
            return clause, params

        return _rewrite(query, fn)


@broken("text= folds case with SQLite's lower(), which knows ASCII letters only", "text", make=_in_memory)
class AsciiOnlyFolding(SQLiteStore):
    @staticmethod
    def _where(query: Query) -> tuple[list[str], list[Any]]:
        def fn(clause: str, params: list[Any]) -> tuple[str, list[Any]]:
            if clause.startswith("instr(subject_fold"):
                return "instr(lower(json_extract(body, '$.subject')), lower(?)) > 0", [query.text]
            return clause, params

        return _rewrite(query, fn)


@broken("count() forgets the tags join (COUNT written apart from the SELECT)", "filter", make=_in_memory)
class CountWithoutTags(SQLiteStore):
    def run_count(self, query: Query) -> int:
        return super().run_count(attrs.evolve(query, tags=frozenset()))


@broken("ORDER BY the key alone: ties come in insertion order, not by id", "orders", make=_in_memory)
class NoIdTiebreak(SQLiteStore):
    def run_query(self, query: Query) -> Page:
        if query.order_by == "id" or not query.descending:
            return super().run_query(query)
        column = {"created_at": "created_us", "updated_at": "updated_us", "next_due_at": "due_us"}.get(
            query.order_by, query.order_by
        )
        clauses, params = self._where(query)
        if query.after is not None:
            clauses.append(f"({column}, id) < (?, ?)")
            params.extend(query.after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT body FROM tickets {where} ORDER BY {column} DESC LIMIT ?"
        with self._read() as conn:
            rows = conn.execute(sql, (*params, query.limit + 1)).fetchall()
        return query.make_page([self._ticket(r[0]) for r in rows])
