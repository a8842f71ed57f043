"""A helpdesk defined entirely as data: desk.json holds its calendar, workflow, routing and SLAs.

``load_desk`` turns the file's sections into engine objects with their ``from_dict``
constructors and reports every problem of every section at once, each with its path
in the file (``policies[1].targets.default.first_response: ...``). Then a few tickets
run through the desk.

Run it: ``python examples/json_desk/run.py [path/to/desk.json]``
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit.testing import ManualClock

T = TypeVar("T")
HERE = Path(__file__).resolve().parent


def load_desk(config: Mapping[str, Any], **services: Any) -> tk.Helpdesk:
    """A Helpdesk from the data form; ``services`` (store, clock, notifier) are passed through.

    Raises:
        ValidationError: every problem in every section, with its path.
    """
    problems: list[tk.ErrorDetail] = []

    def build(path: str, make: Callable[..., T], data: Any, **kwargs: Any) -> T | None:
        try:
            return make(data, **kwargs)
        except tk.ValidationError as err:
            problems.extend(err.prefixed(path).errors)
            return None

    calendars = {
        name: cal
        for name, data in config.get("calendars", {}).items()
        if (cal := build(f"calendars.{name}", tk.BusinessCalendar.from_dict, data)) is not None
    }
    workflows = {
        name: wf
        for name, data in config.get("workflows", {}).items()
        if (wf := build(f"workflows.{name}", tk.Workflow.from_dict, data)) is not None
    }
    router = (
        build("router", tk.Router.from_dict, config["router"], calendars=calendars)
        if "router" in config
        else None
    )
    policies = [
        build(f"policies[{i}]", tk.SLAPolicy.from_dict, data, calendars=calendars)
        for i, data in enumerate(config.get("policies", []))
    ]
    automations = [
        build(f"automations[{i}]", tk.Automation.from_dict, data, calendars=calendars)
        for i, data in enumerate(config.get("automations", []))
    ]
    customers = [
        build(f"customers[{i}]", partial(tk.from_dict, tk.Customer), data)
        for i, data in enumerate(config.get("customers", []))
    ]
    if problems:
        raise tk.ValidationError(problems)
    return tk.Helpdesk(
        workflows=workflows,
        router=router,
        policies=[p for p in policies if p is not None],
        automations=[a for a in automations if a is not None],
        customers=tk.InMemoryDirectory([c for c in customers if c is not None]),
        **services,
    )


def main(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))

    # A broken copy first: every mistake is reported at once, with where it is.
    broken = copy.deepcopy(config)
    broken["policies"][1]["targets"]["default"]["first_response"] = "two hours"
    broken["router"]["rules"][0]["when"]["all"][0]["op"] = "equals"
    broken["workflows"]["support"]["transitions"][0]["dest"] = "opened"
    try:
        load_desk(broken, store=tk.InMemoryStore())
    except tk.ValidationError as err:
        print(f"A broken desk.json is refused with {len(err.errors)} problems:")
        for problem in err.errors:
            print(f"  {problem.path}: {problem.message}")

    clock = ManualClock(datetime(2025, 1, 24, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Friday
    notifier = tk.RecordingNotifier()
    desk = load_desk(config, store=tk.InMemoryStore(), clock=clock, notifier=notifier)
    print()
    print(
        f"Loaded {config['name']!r}: {len(desk.policies)} SLA policies, "
        f"{len(desk.automations)} automation{'s' if len(desk.automations) != 1 else ''}"
    )
    size = desk.open(subject="Jeans one size too small", channel="app", customer="c-3", category="size")
    vip = desk.open(subject="Gift card not delivered", channel="wechat", customer="c-1", category="delivery")
    refund = desk.open(subject="Refund missing", channel="email", customer="c-2", category="refund")
    for t in (size, vip, refund):
        assert t.sla is not None
        print(
            f"  {t.subject!r:<28} -> team {t.team:<12} agent {t.assignee or '(queue)':<7} "
            f"SLA {t.sla.policy:<12} tags {sorted(t.tags)}"
        )

    # Friday 17:00 + 2 business hours: one hour on Friday, and the next one on Sunday, an
    # official make-up workday before the Spring Festival (China's calendar from the config).
    admin = tk.Actor(id="ops", roles={"admin"})
    due = desk.sla_status(size.id, actor=admin)["first_response"].due_at
    assert due is not None
    print(f"  first reply to the size complaint due {due:%a %Y-%m-%d %H:%M}")
    clock.advance(timedelta(days=3, hours=2))  # Monday 19:00
    desk.tick()
    for n in notifier.sent:
        if n.kind.startswith("sla."):
            print(f"  {n.kind:<13} {n.ticket.subject!r} -> {', '.join(n.recipients)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "desk.json")
