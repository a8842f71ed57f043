"""Hostile input: configuration regexes that cannot hang, bounded error messages, limits."""

from __future__ import annotations

import io
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import ticketkit as tk
from ticketkit import Condition, Limits, SQLiteStore, Ticket, ValidationError
from ticketkit.errors import ErrorDetail, bounded_repr

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class TestRegex:
    def test_backtracking_pattern_is_linear_on_a_long_subject(self) -> None:
        """`(a+)+$` from config against a 100,000-character subject finishes well under a second."""
        cond = Condition.from_dict({"field": "subject", "op": "matches", "value": "(a+)+$"})
        previous = Limits.set(Limits(subject=200_000))  # the default allows 1,000 characters
        try:
            t = Ticket(subject="a" * 100_000 + "!", created_at=T0)
        finally:
            Limits.set(previous)
        start = time.perf_counter()
        result = cond.evaluate(t, at=T0)
        elapsed = time.perf_counter() - start
        assert (False, True) == (result, elapsed < 0.5)

    def test_matches_still_finds_like_re_search(self) -> None:
        """A plain pattern with an inline flag is found anywhere in the text."""
        cond = Condition.from_dict({"field": "subject", "op": "matches", "value": "(?i)exam result|检查结果"})
        found = [
            cond.evaluate(Ticket(subject=s, created_at=T0), at=T0)
            for s in ("My EXAM RESULT", "检查结果呢", "no")
        ]
        assert [True, True, False] == found

    @pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<x>a)(?P=x)", r"foo(?=bar)", r"(?<!x)y", r"a(?!b)"])
    def test_backtracking_features_are_refused_at_load(self, pattern: str) -> None:
        """Back-references and look-around are refused at load with the path and the engine's reason."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict({"all": [{"field": "subject", "op": "matches", "value": pattern}]})
        (problem,) = exc.value.errors
        assert ("all[0].value", True) == (problem.path, "linear-time engine (RE2)" in problem.message)

    def test_overlong_pattern_is_refused(self) -> None:
        """A pattern over the length limit is refused with a message of bounded size."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict({"field": "subject", "op": "matches", "value": "a" * 10_000})
        assert (1, True) == (len(exc.value.errors), len(str(exc.value)) < 400)

    def test_surrogate_in_text_does_not_escape(self) -> None:
        """A lone surrogate in the subject is matched on the rest of the text, never raising."""
        cond = Condition.from_dict({"field": "subject", "op": "matches", "value": "refund"})
        assert cond.evaluate(Ticket(subject="\ud800 refund", created_at=T0), at=T0) is True

    def test_surrogate_in_pattern_is_refused(self) -> None:
        """A lone surrogate in the pattern is refused at load."""
        with pytest.raises(ValidationError):
            Condition.from_dict({"field": "subject", "op": "matches", "value": "a\udc00"})


class TestBoundedMessages:
    def test_problems_are_capped(self) -> None:
        """A ValidationError keeps at most MAX_PROBLEMS problems plus one saying how many more."""
        err = ValidationError([ErrorDetail(f"x[{i}]", "bad") for i in range(1000)])
        assert (51, "... and 950 more problems") == (len(err.errors), err.errors[-1].message)

    def test_long_messages_are_cut(self) -> None:
        """One problem's message is cut to a bounded length."""
        err = ValidationError.one("x", "y" * 100_000)
        assert len(str(err)) < 700

    def test_bounded_repr_never_raises(self) -> None:
        """bounded_repr copes with huge integers, deep nesting and a failing __repr__."""

        class Bad:
            def __repr__(self) -> str:
                raise RuntimeError

        deep: list[object] = []
        for _ in range(100_000):
            deep = [deep]
        got = [bounded_repr(v) for v in (10**5000, deep, Bad(), "z" * 1000)]
        assert all(len(g) < 130 for g in got)


def _tagged(i: int, tags: set[str]) -> Ticket:
    return Ticket(subject=f"t{i}", id=f"T{i:04d}", created_at=T0, tags=frozenset(tags))


class TestOverallSize:
    """One document given to a loader holds at most `Limits.values` values, however flat."""

    def test_a_huge_flat_configuration_is_refused_quickly(self) -> None:
        rules = {"any": [{"field": "category", "op": "eq", "value": f"c{i}"} for i in range(300_000)]}
        started = time.perf_counter()
        with pytest.raises(ValidationError) as info:
            Condition.from_dict(rules)
        assert time.perf_counter() - started < 5.0
        assert ["Limits.values"] == [e.message.rsplit("(", 1)[-1].rstrip(")") for e in info.value.errors]

    def test_the_limit_is_configurable(self) -> None:
        rules = {"any": [{"field": "category", "op": "eq", "value": f"c{i}"} for i in range(20)]}
        assert Condition.from_dict(rules) is not None
        previous = Limits.set(Limits(values=50))
        try:
            with pytest.raises(ValidationError, match="more than 50 values"):
                Condition.from_dict(rules)
            with pytest.raises(ValidationError, match="more than 50 values"):
                tk.from_dict(Ticket, {"subject": "x", "fields": {str(i): i for i in range(60)}})
        finally:
            Limits.set(previous)
        assert Condition.from_dict(rules) is not None


class TestSQLiteKeepsWhatItIsGiven:
    def test_tag_change_across_the_separator_updates_the_index(self, tmp_path: Path) -> None:
        """{a, b} -> {"a\\x1fb"} is a change: the tag index follows it."""
        store = SQLiteStore(tmp_path / "d.db")
        t = store.create(_tagged(1, {"a", "b"}), [])
        store.save(attrs.evolve(t, tags=frozenset({"a\x1fb"}), version=2), [], expected_version=1)
        found = ([x.id for x in store.query(tags="a\x1fb")], [x.id for x in store.query(tags="a")])
        assert (["T0001"], []) == found

    def test_adding_one_tag_writes_one_row(self, tmp_path: Path) -> None:
        """Adding one tag to a ticket with 150 tags inserts one tag row and deletes none."""
        store = SQLiteStore(tmp_path / "d.db")
        many = {f"tag{i}" for i in range(150)}
        t = store.create(_tagged(1, many), [])
        statements: list[str] = []
        conn = store._conn()
        conn.set_trace_callback(statements.append)
        store.save(attrs.evolve(t, tags=frozenset(many | {"new"}), version=2), [], expected_version=1)
        conn.set_trace_callback(None)
        tag_writes = [s for s in statements if "ticket_tags" in s]
        assert (1, True) == (len(tag_writes), tag_writes[0].startswith("INSERT"))

    @pytest.mark.parametrize(
        "schema",
        ["view", "trigger"],
        ids=["view", "trigger"],
    )
    def test_database_with_only_views_or_triggers_is_refused(self, tmp_path: Path, schema: str) -> None:
        """A database holding only another application's view (or trigger) is refused, untouched."""
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE VIEW w AS SELECT 1 AS y")
            if schema == "trigger":
                conn.execute("CREATE TRIGGER h INSTEAD OF INSERT ON w BEGIN SELECT 1; END")
        conn.close()
        before = path.read_bytes()
        with pytest.raises(ValidationError) as info:
            SQLiteStore(path)
        assert (True, before) == ("something else" in info.value.errors[0].message, path.read_bytes())

    def test_dangling_symlink_is_not_followed(self, tmp_path: Path) -> None:
        """A dangling symbolic link is refused; no database appears where it points."""
        target = tmp_path / "elsewhere.db"
        link = tmp_path / "desk.db"
        link.symlink_to(target)
        with pytest.raises(ValidationError):
            SQLiteStore(link)
        assert not target.exists()


class TestExportTrailer:
    def _export(self) -> str:
        store = tk.InMemoryStore()
        for i in range(3):
            store.create(Ticket(subject=f"t{i}", id=f"T{i}", created_at=T0), [])
        buf = io.StringIO()
        store.export(buf)
        return buf.getvalue()

    def test_cut_at_a_line_boundary_imports_nothing(self) -> None:
        """An export cut after a whole ticket line is refused and nothing is imported."""
        lines = self._export().splitlines(keepends=True)
        target = tk.InMemoryStore()
        with pytest.raises(ValidationError) as err:
            target.import_(io.StringIO("".join(lines[:-2])))
        assert (0, True) == (target.count(), "no trailer" in str(err.value))

    def test_altered_line_is_refused(self) -> None:
        """A changed ticket line no longer matches the checksum."""
        text = self._export().replace('"t1"', '"tX"')
        with pytest.raises(ValidationError) as err:
            tk.InMemoryStore().import_(io.StringIO(text))
        assert "checksum" in str(err.value)

    def test_wrong_count_is_refused(self) -> None:
        """A trailer whose count disagrees with the lines is refused."""
        lines = self._export().splitlines(keepends=True)
        lines[-1] = lines[-1].replace('"count": 3', '"count": 4')
        with pytest.raises(ValidationError):
            tk.InMemoryStore().import_(io.StringIO("".join(lines)))

    def test_old_exports_without_trailer_still_read(self) -> None:
        """A version-1 export (written before the trailer) is still read."""
        lines = self._export().splitlines(keepends=True)
        old = ['{"format": "ticketkit-export", "version": 1}\n', *lines[1:-1]]
        assert 3 == tk.InMemoryStore().import_(io.StringIO("".join(old)))

    def test_every_store_writes_a_trailer_that_imports(self, tmp_path: Path) -> None:
        """SQLiteStore's and the desk's exports carry a valid trailer too."""
        sq = SQLiteStore(tmp_path / "d.db")
        sq.create(Ticket(subject="a", id="A1", created_at=T0), [])
        desk = tk.Helpdesk(store=tk.InMemoryStore())
        desk.open(subject="b")
        got = []
        for write in (sq.export, lambda fp: desk.export(fp, actor=tk.Actor.system())):
            buf = io.StringIO()
            write(buf)
            buf.seek(0)
            got.append(tk.InMemoryStore().import_(buf))
        assert [1, 1] == got
