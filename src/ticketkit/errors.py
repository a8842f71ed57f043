"""Errors raised by ticketkit.

Every error ticketkit raises derives from [`TicketkitError`][ticketkit.TicketkitError], and each subclass
also derives from the builtin exception it means, so ``except ValueError`` keeps
working for code that does not know about ticketkit::

    TicketkitError (Exception)
    ├── ValidationError (ValueError)          bad input or configuration; .errors lists every problem
    ├── InvalidTransitionError (ValueError)   a workflow trigger not allowed from the ticket's state
    ├── NotFoundError (LookupError)           no ticket/agent/... with that id
    ├── ConflictError (RuntimeError)          a stale write: someone else saved a newer version
    │   └── MessageKeyConflictError           a message key is bound to another ticket already
    └── PermissionDeniedError (PermissionError)  the actor may not do this

Errors carry structured data (``ValidationError.errors``,
``InvalidTransitionError.state`` / ``.trigger`` / ``.allowed``,
``ConflictError.expected`` / ``.actual``) and pickle.

Messages never carry personal data: a ``ValidationError`` that echoes a value, and the
ids a ``NotFoundError`` or ``PermissionDeniedError`` names, go through the masker
``ticketkit.privacy`` installs when ``ticketkit`` is imported (``138****5678``).

Examples:
    >>> from ticketkit.errors import ValidationError, ErrorDetail
    >>> err = ValidationError([ErrorDetail("subject", "must not be empty")])
    >>> str(err)
    'invalid input (1 problem):\\n  subject: must not be empty'
    >>> isinstance(err, ValueError)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

__all__ = [
    "ConflictError",
    "ErrorDetail",
    "InvalidTransitionError",
    "MessageKeyConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "TicketkitError",
    "ValidationError",
]


# The masker for personal data in messages. ``ticketkit.privacy`` installs it on import (the
# core cannot import it: errors sit below every part); until then messages pass unchanged.
_maskers: list[Callable[[str], str]] = []


def install_message_masker(mask: Callable[[str], str]) -> None:
    """Mask personal data in error messages with ``mask`` from now on (replacing any other)."""
    _maskers[:] = [mask]


def mask_message(text: str) -> str:
    """``text`` with personal data masked by the installed masker (unchanged without one)."""
    for mask in _maskers:
        text = mask(text)
    return text


MAX_PROBLEMS = 50
"""At most this many problems are kept in one ``ValidationError`` (then one saying how many more)."""

MAX_MESSAGE = 500
"""At most this many characters of one problem's path and of its message are kept."""


def bounded_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters; never raises, whatever ``value`` is.

    Huge integers, deeply nested containers and objects whose ``repr`` fails all give a
    short text, so a message about a hostile value is itself safe to build.

    Examples:
        >>> bounded_repr("x" * 100, limit=10)
        "'xxxxxxxxxx'... (100 characters)"
        >>> bounded_repr(10**5000)
        '<int of about 5001 digits>'
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text)} characters)"
    return text


def _bounded(items: list[ErrorDetail]) -> list[ErrorDetail]:
    def cut(text: str) -> str:
        return text if len(text) <= MAX_MESSAGE else f"{text[:MAX_MESSAGE]}... ({len(text)} characters)"

    out = [ErrorDetail(cut(e.path), cut(e.message)) for e in items[:MAX_PROBLEMS]]
    if len(items) > MAX_PROBLEMS:
        out.append(ErrorDetail("", f"... and {len(items) - MAX_PROBLEMS} more problems"))
    return out


def _masked(detail: ErrorDetail, mask: Callable[[str], str]) -> ErrorDetail:
    path, message = mask(detail.path), mask(detail.message)
    return detail if path is detail.path and message is detail.message else ErrorDetail(path, message)


class TicketkitError(Exception):
    """The root of every error ticketkit raises.

    Examples:
        >>> issubclass(NotFoundError, TicketkitError)
        True
    """


class ErrorDetail(NamedTuple):
    """One problem found in some input: where it is and what is wrong.

    ``path`` addresses the value inside the input the way you would write it in
    Python (``rules[3].when.all[1].op``); it is ``""`` for the input as a whole.

    Examples:
        >>> str(ErrorDetail("priority", "unknown priority 'asap'"))
        "priority: unknown priority 'asap'"
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join_path(prefix: str, path: str | int) -> str:
    """Join a path prefix and a key or index into one path string."""
    if isinstance(path, int):
        return f"{prefix}[{path}]"
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


class ValidationError(TicketkitError, ValueError):
    """Input or configuration that does not hold; lists every problem at once.

    Attributes:
        errors: every problem found, each an [`ErrorDetail`][ticketkit.ErrorDetail] with a path.

    Examples:
        >>> err = ValidationError([ErrorDetail("a", "bad"), ErrorDetail("b[0]", "worse")])
        >>> [e.path for e in err.errors]
        ['a', 'b[0]']
    """

    errors: list[ErrorDetail]

    def __init__(self, errors: Iterable[ErrorDetail | tuple[str, str]] | str, path: str = "") -> None:
        if isinstance(errors, str):
            items = [ErrorDetail(path, errors)]
        else:
            items = [e if isinstance(e, ErrorDetail) else ErrorDetail(*e) for e in errors]
        items = _bounded(items)
        if _maskers:
            items = [_masked(e, _maskers[0]) for e in items]
        self.errors = items
        super().__init__(items)

    @classmethod
    def one(cls, path: str, message: str) -> ValidationError:
        """A ValidationError with a single problem.

        Examples:
            >>> ValidationError.one("tz", "unknown time zone 'Mars/Base'").errors[0].path
            'tz'
        """
        return cls([ErrorDetail(path, message)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same problems with every path put under ``prefix``.

        Examples:
            >>> ValidationError.one("op", "bad").prefixed("rules[0]").errors[0].path
            'rules[0].op'
        """
        return ValidationError([ErrorDetail(join_path(prefix, e.path), e.message) for e in self.errors])

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"invalid input ({n} problem{'s' if n != 1 else ''}):"
        return "\n  ".join([head, *(str(e) for e in self.errors)])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))


class InvalidTransitionError(TicketkitError, ValueError):
    """A workflow trigger that cannot fire from the ticket's current state.

    Attributes:
        state: the ticket's current status.
        trigger: the trigger that was asked for.
        allowed: the triggers that could fire from ``state``.
        reason: why it failed (unknown trigger, or the guard that did not hold).

    Examples:
        >>> err = InvalidTransitionError("closed", "resolve", ["reopen"])
        >>> print(err)
        cannot 'resolve' a ticket in state 'closed'; allowed from 'closed': 'reopen'
    """

    def __init__(self, state: str, trigger: str, allowed: Sequence[str], reason: str = "") -> None:
        self.state = state
        self.trigger = trigger
        self.allowed = list(allowed)
        self.reason = reason
        super().__init__(state, trigger, self.allowed, reason)

    def __str__(self) -> str:
        allowed = ", ".join(repr(a) for a in self.allowed) or "none (final state)"
        msg = f"cannot {self.trigger!r} a ticket in state {self.state!r}"
        if self.reason:
            msg += f": {self.reason}"
        return f"{msg}; allowed from {self.state!r}: {allowed}"


class NotFoundError(TicketkitError, LookupError):
    """No object of that kind with that id (or not visible to this tenant).

    Examples:
        >>> print(NotFoundError("ticket", "01J0"))
        no ticket with id '01J0'
    """

    def __init__(self, kind: str, id: str) -> None:  # noqa: A002 - the natural name
        self.kind = kind
        self.id = id
        super().__init__(kind, id)

    def __str__(self) -> str:
        return mask_message(f"no {self.kind} with id {self.id!r}")


class ConflictError(TicketkitError, RuntimeError):
    """A write based on a stale version; nothing was written.

    Reload the ticket and apply the change again.

    Examples:
        >>> print(ConflictError("01J0", expected=3, actual=4))
        ticket '01J0' is at version 4, not 3: it changed since you read it; reload it and try again
    """

    def __init__(self, ticket_id: str, expected: int | None, actual: int | None, detail: str = "") -> None:
        self.ticket_id = ticket_id
        self.expected = expected
        self.actual = actual
        self.detail = detail
        super().__init__(ticket_id, expected, actual, detail)

    def __str__(self) -> str:
        if self.detail:
            return f"ticket {self.ticket_id!r}: {self.detail}"
        if self.actual is None:
            return (
                f"ticket {self.ticket_id!r} does not exist, "
                f"so version {self.expected} cannot be saved over it"
            )
        return (
            f"ticket {self.ticket_id!r} is at version {self.actual}, not {self.expected}: "
            "it changed since you read it; reload it and try again"
        )


class MessageKeyConflictError(ConflictError):
    """A commit refused because one of its message keys is bound already.

    Nothing was written. Another writer (another process, or an earlier run that
    committed before it died) bound the key first: ``bound_to`` is its ticket
    (``""``: a message recorded without a ticket; it may be ``ticket_id`` itself).
    Look the key up again and act on what it says (``Helpdesk.receive`` does).

    Attributes:
        key: the message key.
        tenant: the tenant of the key.
        ticket_id: the ticket this commit wanted to bind the key to.
        bound_to: the ticket the key is bound to.

    Examples:
        >>> err = MessageKeyConflictError("msg:email:a@b", "default", "T2", "T1")
        >>> print(err)
        message key 'msg:email:a@b' is bound to ticket 'T1' already, not 'T2': nothing was written
        >>> isinstance(err, ConflictError)
        True
    """

    def __init__(self, key: str, tenant: str, ticket_id: str, bound_to: str) -> None:
        self.key = key
        self.tenant = tenant
        self.bound_to = bound_to
        super().__init__(ticket_id, None, None, f"message key {key!r} is bound to {bound_to!r}")

    def __str__(self) -> str:
        wanted = "" if self.bound_to == self.ticket_id else f", not {self.ticket_id!r}"
        return (
            f"message key {self.key!r} is bound to ticket {self.bound_to!r} already{wanted}: "
            "nothing was written"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key, self.tenant, self.ticket_id, self.bound_to))


class PermissionDeniedError(TicketkitError, PermissionError):
    """The actor may not perform this action on this object.

    Examples:
        >>> print(
        ...     PermissionDeniedError("agent:li", "edit", "ticket 01J0", "not assigned to li or li's teams")
        ... )
        agent:li may not edit ticket 01J0: not assigned to li or li's teams
    """

    def __init__(self, actor: str, action: str, target: str, reason: str = "") -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        super().__init__(actor, action, target, reason)

    def __str__(self) -> str:
        msg = f"{self.actor} may not {self.action} {self.target}"
        return mask_message(f"{msg}: {self.reason}" if self.reason else msg)
