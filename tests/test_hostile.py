"""Hostile input: configuration regexes that cannot hang, bounded error messages, limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ticketkit import Condition, Ticket, ValidationError
from ticketkit.errors import ErrorDetail, bounded_repr

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class TestRegex:
    def test_backtracking_pattern_is_linear_on_a_long_subject(self) -> None:
        """`(a+)+$` from config against a 100,000-character subject finishes well under a second."""
        cond = Condition.from_dict({"field": "subject", "op": "matches", "value": "(a+)+$"})
        t = Ticket(subject="a" * 100_000 + "!", created_at=T0)
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
