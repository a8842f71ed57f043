"""Errors: one root, the builtin each one means, structured data, pickling."""

from __future__ import annotations

import pickle

import pytest

from ticketkit import errors
from ticketkit.errors import (
    ConflictError,
    ErrorDetail,
    InvalidTransitionError,
    MessageKeyConflictError,
    NotFoundError,
    PermissionDeniedError,
    TicketkitError,
    ValidationError,
)

SAMPLES = [
    ValidationError([ErrorDetail("a.b", "bad"), ("c[0]", "worse")]),
    InvalidTransitionError("closed", "resolve", ["reopen"], "final state"),
    NotFoundError("ticket", "T1"),
    ConflictError("T1", expected=2, actual=3),
    PermissionDeniedError("agent:li", "read", "ticket T1", "another tenant"),
    MessageKeyConflictError("msg:email:a@b", "default", "T2", "T1"),
]


class TestHierarchy:
    @pytest.mark.parametrize(
        ("cls", "builtin"),
        [
            (ValidationError, ValueError),
            (InvalidTransitionError, ValueError),
            (NotFoundError, LookupError),
            (ConflictError, RuntimeError),
            (MessageKeyConflictError, RuntimeError),
            (PermissionDeniedError, PermissionError),
        ],
    )
    def test_root_and_builtin(self, cls: type[Exception], builtin: type[Exception]) -> None:
        """Each error is a TicketkitError and the builtin it means."""
        assert issubclass(cls, TicketkitError)
        assert issubclass(cls, builtin)

    @pytest.mark.parametrize("err", SAMPLES, ids=lambda e: type(e).__name__)
    def test_pickles(self, err: Exception) -> None:
        """Errors survive pickling with their message."""
        back = pickle.loads(pickle.dumps(err))
        assert (type(err), str(err)) == (type(back), str(back))

    def test_all_listed(self) -> None:
        """The module's __all__ names every error class."""
        classes = {
            n
            for n in dir(errors)
            if isinstance(getattr(errors, n), type) and issubclass(getattr(errors, n), Exception)
        }
        assert classes <= set(errors.__all__)


class TestMessages:
    def test_validation_lists_paths(self) -> None:
        """A ValidationError shows each problem on its own line with its path."""
        err = SAMPLES[0]
        assert "invalid input (2 problems):\n  a.b: bad\n  c[0]: worse" == str(err)
        assert ["a.b", "c[0]"] == [e.path for e in err.errors]

    def test_prefixed(self) -> None:
        """Prefixing puts paths under a parent, keeping indexes attached."""
        err = ValidationError([("[2].op", "x"), ("", "whole"), ("name", "y")]).prefixed("rules")
        assert ["rules[2].op", "rules", "rules.name"] == [e.path for e in err.errors]

    def test_transition_structured(self) -> None:
        """InvalidTransitionError carries state, trigger and allowed triggers."""
        err = SAMPLES[1]
        assert ("closed", "resolve", ["reopen"]) == (err.state, err.trigger, err.allowed)
        assert "allowed from 'closed': 'reopen'" in str(err)

    def test_conflict_for_missing_ticket(self) -> None:
        """A conflict on a missing ticket says so."""
        assert "does not exist" in str(ConflictError("T9", expected=1, actual=None))
        assert "custom" in str(ConflictError("T9", 1, 2, detail="custom"))

    def test_message_key_conflict_names_both_tickets(self) -> None:
        """MessageKeyConflictError names the key, the ticket wanted and the one holding it."""
        err = SAMPLES[5]
        assert isinstance(err, MessageKeyConflictError)
        assert ("msg:email:a@b", "default", "T2", "T1") == (err.key, err.tenant, err.ticket_id, err.bound_to)
        assert "bound to ticket 'T1' already, not 'T2'" in str(err)
        same = MessageKeyConflictError("k", "d", "T1", "T1")
        assert "'k' is bound to ticket 'T1' already: nothing" in str(same)
        assert isinstance(err, ConflictError)

    def test_permission_message(self) -> None:
        """PermissionDeniedError names actor, action, target and why."""
        assert "agent:li may not read ticket T1: another tenant" == str(SAMPLES[4])
        assert "a may not b c" == str(PermissionDeniedError("a", "b", "c"))
