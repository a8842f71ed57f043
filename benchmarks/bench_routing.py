"""Routing benchmark: 200 rules, 20,000 tickets, ticketkit against rule-engine and business-rules.

All three engines get the same rule set (built from one spec) and the same tickets, in one
process; the benchmark asserts they pick the same rule for every ticket, then prints
µs per ticket, tickets per second and the ratios (medians of several repeats).

    python benchmarks/bench_routing.py [--rules 200] [--tickets 20000] [--repeats 5]

The rule set: 190 rules pin ``category`` (38 categories x 5 rules, each with one more test:
customer tier, priority, channel, a tag or the order total) and 10 rules pin only the
channel, so every category bucket also holds channel rules and the index splits them again.

Peers take plain dicts; turning tickets into dicts is done once, outside the timing, which
favours the peers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import ticketkit as tk

T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)
CHANNELS = ["email", "phone", "web", "app", "wechat", "api"]
TIERS = ["standard", "gold", "vip", "svip"]
TAGS = ["size", "refund", "damaged", "late", "repeat", "vip"]
PRIORITIES = ["low", "normal", "high", "urgent"]
RANK = {p: i for i, p in enumerate(PRIORITIES)}


# --------------------------------------------------------------------------- the shared spec


def make_spec(n_rules: int, seed: int = 7) -> list[dict[str, Any]]:
    """Rules as neutral data: name, category (or None) and one extra test."""
    rng = random.Random(seed)
    n_channel = max(1, n_rules // 20)
    n_cat = n_rules - n_channel
    per_cat = 5
    spec: list[dict[str, Any]] = []
    for i in range(n_cat):
        cat = f"cat{i // per_cat:02d}"
        kind = rng.choice(["tier", "priority", "channel", "tag", "total"])
        value: Any
        if kind == "tier":
            value = rng.sample(TIERS[1:], 2)
        elif kind == "priority":
            value = rng.choice(PRIORITIES[1:])
        elif kind == "channel":
            value = rng.choice(CHANNELS)
        elif kind == "tag":
            value = rng.choice(TAGS)
        else:
            value = rng.randrange(50, 450, 10)
        spec.append(
            {"name": f"r{i:03d}", "category": cat, "kind": kind, "value": value, "team": f"team{i % 20:02d}"}
        )
    spec.extend(
        {
            "name": f"r{n_cat + j:03d}",
            "category": None,
            "kind": "channel+priority",
            "value": (CHANNELS[j % len(CHANNELS)], PRIORITIES[1 + j % 3]),
            "team": f"team{j % 20:02d}",
        }
        for j in range(n_channel)
    )
    return spec


def make_tickets(n: int, n_categories: int, seed: int = 11) -> list[tk.Ticket]:
    """Tickets over the spec's categories plus some the rules do not know."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cat = f"cat{rng.randrange(n_categories + n_categories // 8):02d}" if rng.random() > 0.03 else None
        customer = tk.Customer(id=f"c{i % 997}", tier=rng.choice(TIERS), data={"store": f"s{i % 7}"})
        out.append(
            tk.Ticket(
                subject=f"ticket {i}",
                created_at=T0,
                id=f"T{i:06d}",
                category=cat,
                channel=rng.choice(CHANNELS),
                priority=rng.choice(PRIORITIES),
                customer=customer,
                tags=rng.sample(TAGS, rng.randrange(3)),
                fields={"order_total": rng.randrange(0, 500)},
            )
        )
    return out


def as_dict(t: tk.Ticket) -> dict[str, Any]:
    """The flat record the peers read."""
    return {
        "category": t.category,
        "tier": t.customer.tier if t.customer else None,
        "priority": t.priority.rank,
        "channel": t.channel,
        "tags": tuple(sorted(t.tags)),
        "order_total": t.fields.get("order_total", 0),
    }


# --------------------------------------------------------------------------- ticketkit


def tk_condition(rule: dict[str, Any]) -> tk.Condition:
    kind, value = rule["kind"], rule["value"]
    extra: tk.Condition
    if kind == "tier":
        extra = tk.F.customer.tier.in_(value)
    elif kind == "priority":
        extra = tk.F.priority >= value
    elif kind == "channel":
        extra = tk.F.channel == value
    elif kind == "tag":
        extra = tk.F.tags.contains(value)
    elif kind == "total":
        extra = tk.F.fields.order_total > value
    else:
        channel, prio = value
        return (tk.F.channel == channel) & (tk.F.priority >= prio)
    return (tk.F.category == rule["category"]) & extra


def tk_router(spec: Sequence[dict[str, Any]]) -> tk.Router:
    teams = sorted({r["team"] for r in spec} | {"triage"})
    agents = [
        tk.Agent(id=f"{team}-a{k}", teams={team}, capacity=8, skills={"zh"} if k % 2 else {"en"})
        for team in teams
        for k in range(5)
    ]
    strategies = ["least_loaded", "round_robin", "least_loaded", "skills"]
    rules = [
        tk.Rule(
            name=r["name"],
            when=tk_condition(r),
            assign=tk.Assign(team=r["team"], strategy=strategies[i % len(strategies)]),
        )
        for i, r in enumerate(spec)
    ]
    return tk.Router(rules=rules, agents=agents, teams=[tk.Team(id=t) for t in teams], fallback="triage")


# --------------------------------------------------------------------------- rule-engine


def rule_engine_rules(spec: Sequence[dict[str, Any]]) -> list[tuple[str, Any]]:
    import rule_engine

    out = []
    for r in spec:
        kind, value = r["kind"], r["value"]
        if kind == "tier":
            extra = "tier in [" + ", ".join(f'"{v}"' for v in value) + "]"
        elif kind == "priority":
            extra = f"priority >= {RANK[value]}"
        elif kind == "channel":
            extra = f'channel == "{value}"'
        elif kind == "tag":
            extra = f'"{value}" in tags'
        elif kind == "total":
            extra = f"order_total > {value}"
        else:
            channel, prio = value
            out.append((r["name"], rule_engine.Rule(f'channel == "{channel}" and priority >= {RANK[prio]}')))
            continue
        out.append((r["name"], rule_engine.Rule(f'category == "{r["category"]}" and {extra}')))
    return out


def rule_engine_match(rules: list[tuple[str, Any]], record: dict[str, Any]) -> str | None:
    for name, rule in rules:
        if rule.matches(record):
            return name
    return None


# --------------------------------------------------------------------------- business-rules


def business_rules_setup(spec: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], type, type]:
    from business_rules.actions import BaseActions, rule_action
    from business_rules.fields import FIELD_TEXT
    from business_rules.variables import (
        BaseVariables,
        numeric_rule_variable,
        select_rule_variable,
        string_rule_variable,
    )

    class TicketVariables(BaseVariables):  # type: ignore[misc]
        def __init__(self, record: dict[str, Any]) -> None:
            self.record = record

        @string_rule_variable()  # type: ignore[misc]
        def category(self) -> str:
            return self.record["category"] or ""

        @string_rule_variable()  # type: ignore[misc]
        def tier(self) -> str:
            return self.record["tier"] or ""

        @numeric_rule_variable()  # type: ignore[misc]
        def priority(self) -> int:
            return int(self.record["priority"])

        @string_rule_variable()  # type: ignore[misc]
        def channel(self) -> str:
            return str(self.record["channel"])

        @select_rule_variable(options=TAGS)  # type: ignore[misc]
        def tags(self) -> list[str]:
            return list(self.record["tags"])

        @numeric_rule_variable()  # type: ignore[misc]
        def order_total(self) -> int:
            return int(self.record["order_total"])

    class TicketActions(BaseActions):  # type: ignore[misc]
        def __init__(self, out: list[str]) -> None:
            self.out = out

        @rule_action(params={"rule": FIELD_TEXT})  # type: ignore[misc]
        def choose(self, rule: str) -> None:
            self.out.append(rule)

    rules = []
    for r in spec:
        kind, value = r["kind"], r["value"]
        cond: dict[str, Any]
        if kind == "tier":
            cond = {"any": [{"name": "tier", "operator": "equal_to", "value": v} for v in value]}
        elif kind == "priority":
            cond = {"name": "priority", "operator": "greater_than_or_equal_to", "value": RANK[value]}
        elif kind == "channel":
            cond = {"name": "channel", "operator": "equal_to", "value": value}
        elif kind == "tag":
            cond = {"name": "tags", "operator": "contains", "value": value}
        elif kind == "total":
            cond = {"name": "order_total", "operator": "greater_than", "value": value}
        else:
            channel, prio = value
            cond = {
                "all": [
                    {"name": "channel", "operator": "equal_to", "value": channel},
                    {"name": "priority", "operator": "greater_than_or_equal_to", "value": RANK[prio]},
                ]
            }
        if r["category"] is not None:
            cond = {"all": [{"name": "category", "operator": "equal_to", "value": r["category"]}, cond]}
        elif "all" not in cond:
            cond = {"all": [cond]}
        rules.append({"conditions": cond, "actions": [{"name": "choose", "params": {"rule": r["name"]}}]})
    return rules, TicketVariables, TicketActions


def business_rules_match(
    rules: list[dict[str, Any]], variables: type, actions: type, record: dict[str, Any]
) -> str | None:
    from business_rules import run_all

    out: list[str] = []
    run_all(rules, variables(record), actions(out), stop_on_first_trigger=True)
    return out[0] if out else None


# --------------------------------------------------------------------------- running


def timed(fn: Callable[[], Any], repeats: int, clock: Callable[[], float]) -> tuple[float, Any]:
    """Median seconds over ``repeats`` runs on ``clock``, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = clock()
        result = fn()
        times.append(clock() - start)
    return statistics.median(times), result


def check_agreement(n_rules: int = 200, n_tickets: int = 20_000) -> dict[str, list[str | None]]:
    """Route the same tickets through all engines and assert they agree; returns each engine's picks."""
    spec = make_spec(n_rules)
    tickets = make_tickets(n_tickets, len({r["category"] for r in spec if r["category"]}))
    records = [as_dict(t) for t in tickets]
    router = tk_router(spec)
    linear = [(r.name, r.when.predicate) for r in router.rules]
    picks: dict[str, list[str | None]] = {
        "ticketkit": [m.name if (m := router.match(t, at=T0)) else None for t in tickets],
        "ticketkit linear": [next((n for n, fn in linear if fn(t, T0, None)), None) for t in tickets],
        "ticketkit route": [router.route(t, at=T0).rule for t in tickets],
    }
    re_rules = rule_engine_rules(spec)
    picks["rule-engine"] = [rule_engine_match(re_rules, r) for r in records]
    br_rules, br_vars, br_actions = business_rules_setup(spec)
    picks["business-rules"] = [business_rules_match(br_rules, br_vars, br_actions, r) for r in records]
    base = picks["ticketkit"]
    for name, got in picks.items():
        diff = [i for i, (a, b) in enumerate(zip(base, got, strict=True)) if a != b]
        assert not diff, (
            f"{name} disagrees with ticketkit on {len(diff)} tickets, first {tickets[diff[0]].id}"
        )
    return picks


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-repeats", type=int, default=3)
    parser.add_argument(
        "--wall",
        action="store_true",
        help="time with the wall clock instead of this process's CPU time (CPU time is steadier "
        "on a machine shared with other work)",
    )
    args = parser.parse_args(argv)

    spec = make_spec(args.rules)
    n_cat = len({r["category"] for r in spec if r["category"]})
    tickets = make_tickets(args.tickets, n_cat)
    records = [as_dict(t) for t in tickets]
    router = tk_router(spec)
    linear = [(r.name, r.when.predicate) for r in router.rules]
    load = {a.id: (i * 7) % 8 for i, a in enumerate(router.agents)}

    def run_match() -> list[str | None]:
        match = router.match
        return [m.name if (m := match(t, at=T0)) else None for t in tickets]

    def run_linear() -> list[str | None]:
        out: list[str | None] = []
        for t in tickets:
            for name, fn in linear:
                if fn(t, T0, None):
                    out.append(name)
                    break
            else:
                out.append(None)
        return out

    def run_route() -> list[str | None]:
        route = router.route
        return [route(t, at=T0, load=load).rule for t in tickets]

    re_rules = rule_engine_rules(spec)
    br_rules, br_vars, br_actions = business_rules_setup(spec)

    def run_rule_engine() -> list[str | None]:
        return [rule_engine_match(re_rules, r) for r in records]

    def run_business_rules() -> list[str | None]:
        return [business_rules_match(br_rules, br_vars, br_actions, r) for r in records]

    n = len(tickets)
    results: dict[str, tuple[float, list[str | None]]] = {}
    for name, fn, reps in [
        ("ticketkit match (indexed)", run_match, args.repeats),
        ("ticketkit route (match + agent)", run_route, args.repeats),
        ("ticketkit closures, no index", run_linear, args.repeats),
        ("rule-engine", run_rule_engine, args.peer_repeats),
        ("business-rules", run_business_rules, args.peer_repeats),
    ]:
        results[name] = timed(fn, reps, time.perf_counter if args.wall else time.process_time)

    base = results["ticketkit match (indexed)"][1]
    for name, (_, got) in results.items():
        mismatches = sum(1 for a, b in zip(base, got, strict=True) if a != b)
        assert mismatches == 0, f"{name} disagrees with ticketkit on {mismatches} of {n} tickets"
    matched = sum(1 for b in base if b is not None)

    print(f"{args.rules} rules, {n} tickets ({matched} matched a rule), all engines agree on every ticket")
    clock = "wall-clock time" if args.wall else "process CPU time"
    print(f"medians of {args.repeats} runs (ticketkit) / {args.peer_repeats} runs (peers), {clock}\n")
    fastest_peer = min(results["rule-engine"][0], results["business-rules"][0])
    print(
        f"{'engine':34} {'µs/ticket':>10} {'tickets/s':>12} {'vs rule-engine':>15} {'vs business-rules':>18}"
    )
    for name, (secs, _) in results.items():
        per = secs / n * 1e6
        print(
            f"{name:34} {per:10.2f} {n / secs:12,.0f} {results['rule-engine'][0] / secs:14.1f}x"
            f" {results['business-rules'][0] / secs:17.1f}x"
        )
    print(f"\nindexed match is {fastest_peer / results['ticketkit match (indexed)'][0]:.0f}x the faster peer")


if __name__ == "__main__":
    main()
