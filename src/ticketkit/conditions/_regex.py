"""Regular expressions from configuration, on a linear-time engine (RE2).

A ``matches`` condition comes from an admin's JSON and runs on text from the public
internet. Python's ``re`` backtracks: ``(a+)+$`` against a few dozen characters takes
seconds and doubles per character. RE2 (the ``google-re2`` package) runs in time linear
in the text and refuses, at load, the features that need backtracking (back-references,
look-around); the message names the pattern and RE2's reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

MAX_PATTERN_LENGTH: Final = 4_096
"""The longest pattern accepted (characters); a longer one is refused at load."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors come back as ValidationError, not on stderr


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (a sentence), or ``None`` when RE2 compiles it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is {len(pattern)} characters long (at most {MAX_PATTERN_LENGTH})"
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid text)"
    try:
        re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        )
        return (
            f"is not accepted by the linear-time engine (RE2): {reason} "
            "(back-references and look-around cannot run in linear time)"
        )
    return None


def compile_search(pattern: str) -> Callable[[str], bool]:
    """A test ``fn(text) -> bool``: does ``pattern`` occur in ``text`` (like ``re.search``)."""
    search = re2.compile(pattern, options=_OPTIONS).search

    def found(text: str) -> bool:
        try:
            return search(text) is not None
        except UnicodeEncodeError:  # a lone surrogate in the text: match on the rest
            return search(text.encode("utf-8", "replace").decode("utf-8")) is not None

    return found
