"""Workflow benchmark: ticketkit against `transitions` and `python-statemachine`.

Run: ``python benchmarks/bench_workflow.py [--transitions N] [--repeats R] [--tickets K]``

The same support life cycle (new, open, pending, resolved, closed, cancelled) is built in
each library, and the same 6-transition cycle (wait, resume, resolve, reopen, wait,
resume: open -> pending -> open -> resolved -> open -> pending -> open) is fired N times
(200,000 by default) in this one process:

- **ticketkit**: ``Workflow.fire(ticket, trigger, at=..., actor=...)`` returns a *new*
  immutable ``Ticket`` (status, kind, version, updated_at, resolved_at moved) and a real
  ``status.changed`` ``Event`` with its own id, each time. Every transition gets its own
  ``at``. One ``Workflow`` serves every ticket: nothing is set up per ticket.
- **transitions** (``Machine``): the trigger methods it puts on the model (``model.wait()``,
  looked up once, its fastest way in) change ``model.state`` in place; nothing else is
  recorded.
- **python-statemachine**: the machine's event methods (``sm.wait()``, looked up once)
  change its state in place.

Also measured: the per-ticket setup each library needs before a ticket can move (a
``Machine`` per ticket, or ``add_model`` on a shared one; a ``StateMachine`` instance per
ticket; nothing for ticketkit), and ticketkit through fully validated construction
(``attrs.evolve`` + ``Event(...)``) to show what the trusted fast path saves.

Every ratio is measured side by side, as the median of several repeats. The states all
three libraries pass through are checked to agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

import ticketkit as tk

CYCLE = ("wait", "resume", "resolve", "reopen", "wait", "resume")
T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
STATES = ["new", "open", "pending", "resolved", "closed", "cancelled"]
EDGES = [
    ("open", "new", "open"),
    ("wait", "open", "pending"),
    ("resume", "pending", "open"),
    ("resolve", "open", "resolved"),
    ("resolve", "pending", "resolved"),
    ("close", "resolved", "closed"),
    ("reopen", "resolved", "open"),
    *[("cancel", s, "cancelled") for s in ("new", "open", "pending", "resolved")],
]


# --------------------------------------------------------------------------- the peers


class _Model:
    """A bare object for `transitions` to attach its methods (``trigger``) and ``state`` to."""


def transitions_machine(model: object | None = None) -> Any:
    from transitions import Machine

    return Machine(
        model=model,
        states=STATES,
        transitions=[{"trigger": t, "source": s, "dest": d} for t, s, d in EDGES],
        initial="open",
        auto_transitions=False,
    )


def psm_class() -> Any:
    from statemachine import State, StateMachine

    # Built from a namespace: a class body would shadow the builtin ``open``.
    s = {name: State(initial=name == "new", final=name in ("closed", "cancelled")) for name in STATES}
    ns: dict[str, Any] = dict(s)
    ns["start"] = s["new"].to(s["open"])  # an event cannot share the state's name "open"
    ns["wait"] = s["open"].to(s["pending"])
    ns["resume"] = s["pending"].to(s["open"])
    ns["resolve"] = s["open"].to(s["resolved"]) | s["pending"].to(s["resolved"])
    ns["close"] = s["resolved"].to(s["closed"])
    ns["reopen"] = s["resolved"].to(s["open"])
    ns["cancel"] = (
        s["new"].to(s["cancelled"])
        | s["open"].to(s["cancelled"])
        | s["pending"].to(s["cancelled"])
        | s["resolved"].to(s["cancelled"])
    )
    return type(StateMachine)("Support", (StateMachine,), ns)


def open_ticket() -> tk.Ticket:
    return tk.Ticket(subject="Parcel arrived damaged", created_at=T0, status="open", status_kind="open")


def instants(n: int) -> list[datetime]:
    return [T0 + timedelta(microseconds=i) for i in range(n)]


# --------------------------------------------------------------------------- the runs


def run_ticketkit(wf: tk.Workflow, n: int, ats: Sequence[datetime]) -> tuple[tk.Ticket, list[str]]:
    t = open_ticket()
    fire = wf.fire
    cycle = CYCLE
    ev: list[tk.Event] = []
    for i in range(n):
        t, ev = fire(t, cycle[i % 6], at=ats[i], actor="agent:li")
    return t, [e.kind for e in ev]


def run_ticketkit_validated(wf: tk.Workflow, n: int, ats: Sequence[datetime]) -> tk.Ticket:
    """The same work through validated construction: what a naive engine would do."""
    t = open_ticket()
    for i in range(n):
        trigger = CYCLE[i % 6]
        tr = wf.transition_for(t.status, trigger)
        assert tr is not None
        dest = wf.state(tr.dest)
        at = ats[i]
        changes: dict[str, Any] = {"status": dest.name, "status_kind": dest.kind, "version": t.version + 1}
        if dest.kind == "resolved":
            changes["resolved_at"] = at
        elif t.status_kind == "resolved":
            changes["resolved_at"] = None
        new = attrs.evolve(t, updated_at=at, **changes)
        tk.Event(
            ticket_id=t.id,
            kind="status.changed",
            actor="agent:li",
            at=at,
            version=new.version,
            tenant=t.tenant,
            data={"from": t.status, "to": new.status, "trigger": trigger},
        )
        t = new
    return t


def run_transitions(n: int) -> str:
    model = _Model()
    transitions_machine(model)
    # The fastest way in: the trigger methods transitions put on the model, looked up once
    # (``model.trigger(name)`` goes through one more lookup per call).
    methods = [getattr(model, name) for name in CYCLE]
    for i in range(n):
        methods[i % 6]()
    return str(model.state)  # type: ignore[attr-defined]


def run_psm(cls: Any, n: int) -> str:
    sm = cls(start_value="open")
    methods = [getattr(sm, name) for name in CYCLE]  # the event methods, looked up once
    for i in range(n):
        methods[i % 6]()
    return str(sm.current_state_value)


def run_dict(n: int) -> str:
    table = {(s, t): d for t, s, d in EDGES}
    state = "open"
    cycle = CYCLE
    for i in range(n):
        state = table[(state, cycle[i % 6])]
    return state


# --------------------------------------------------------------------------- agreement


def states_ticketkit(wf: tk.Workflow, steps: int) -> list[str]:
    t, out = open_ticket(), []
    for i in range(steps):
        t, (event,) = wf.fire(t, CYCLE[i % 6], at=T0 + timedelta(seconds=i), actor="agent:li")
        assert event.kind == "status.changed"
        assert event.data["to"] == t.status
        assert t.version == i + 2
        out.append(t.status)
    return out


def states_transitions(steps: int) -> list[str]:
    model = _Model()
    transitions_machine(model)
    out = []
    for i in range(steps):
        model.trigger(CYCLE[i % 6])  # type: ignore[attr-defined]
        out.append(model.state)  # type: ignore[attr-defined]
    return out


def states_psm(cls: Any, steps: int) -> list[str]:
    sm = cls(start_value="open")
    out = []
    for i in range(steps):
        sm.send(CYCLE[i % 6])
        out.append(str(sm.current_state_value))
    return out


def check_agreement(steps: int = 30) -> None:
    """All three libraries pass through the same states; ticketkit's tickets and events hold."""
    wf = tk.default_workflow()
    ours = states_ticketkit(wf, steps)
    assert ours == states_transitions(steps), "ticketkit and transitions disagree"
    assert ours == states_psm(psm_class(), steps), "ticketkit and python-statemachine disagree"
    t, kinds = run_ticketkit(wf, steps, instants(steps))
    assert (t.version, t.status, kinds) == (steps + 1, ours[-1], ["status.changed"])
    assert run_dict(steps) == ours[-1]
    assert run_ticketkit_validated(wf, steps, instants(steps)).status == ours[-1]


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def per_ticket_setup(tickets: int) -> dict[str, float]:
    """µs per ticket before it can move, median of 3."""
    from transitions import Machine

    cls = psm_class()
    shared: Machine = transitions_machine(None)

    def tr_machine() -> None:
        for _ in range(tickets):
            transitions_machine(_Model())

    def tr_add_model() -> None:
        for _ in range(tickets):
            shared.add_model(_Model())

    def psm_instance() -> None:
        for _ in range(tickets):
            cls(start_value="open")

    # ticketkit has nothing to set up: a ticket is a value and one Workflow serves them all.
    out = {"ticketkit (one Workflow serves every ticket)": 0.0}
    for name, fn in [
        ("transitions: a Machine per ticket", tr_machine),
        ("transitions: add_model on one Machine", tr_add_model),
        ("python-statemachine: an instance per ticket", psm_instance),
    ]:
        out[name] = statistics.median(timed(fn) for _ in range(3)) / tickets * 1e6
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--transitions", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tickets", type=int, default=300, help="tickets for the per-ticket setup cost")
    args = parser.parse_args(argv)
    warnings.simplefilter("error")
    n = args.transitions

    check_agreement()
    wf = tk.default_workflow()
    cls = psm_class()
    ats = instants(n)
    # python-statemachine is ~100x slower than ticketkit: time it on a tenth of the work.
    n_psm = max(6, n // 10)
    runs: dict[str, Callable[[], object]] = {
        "ticketkit Workflow.fire": lambda: run_ticketkit(wf, n, ats),
        "transitions model.<trigger>()": lambda: run_transitions(n),
        "python-statemachine sm.<event>()": lambda: run_psm(cls, n_psm),
        "ticketkit, validated construction": lambda: run_ticketkit_validated(wf, n // 10, ats),
        "bare dict lookup (floor)": lambda: run_dict(n),
    }
    counts = {
        "python-statemachine sm.<event>()": n_psm,
        "ticketkit, validated construction": n // 10,
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            samples[name].append(timed(fn) / counts.get(name, n))
    final_tk = run_ticketkit(wf, n, ats)[0]
    assert final_tk.status == run_transitions(n) == run_dict(n), "final states disagree"
    assert final_tk.version == n + 1

    us = {name: statistics.median(vals) * 1e6 for name, vals in samples.items()}
    ours = us["ticketkit Workflow.fire"]
    print(f"workflow: {n:,} transitions of a 6-transition cycle, median of {args.repeats} repeats")
    print(f"{'':<36}{'µs/transition':>14}{'transitions/s':>15}{'ticketkit is':>14}")
    for name, value in us.items():
        ratio = value / ours
        print(f"{name:<36}{value:>14.3f}{1e6 / value:>15,.0f}{ratio:>13.1f}x")
    peer = min(us["transitions model.<trigger>()"], us["python-statemachine sm.<event>()"])
    print(f"\nticketkit vs the faster peer: {peer / ours:.1f}x faster (target >= 3x)")
    print(f"\nper-ticket setup before a ticket can move ({args.tickets} tickets, median of 3):")
    for name, value in per_ticket_setup(args.tickets).items():
        print(f"  {name:<46}{value:>10.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
