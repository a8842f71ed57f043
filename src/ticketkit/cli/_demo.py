"""The scenario behind ``python -m ticketkit demo``: a shop chain's after-sales desk on a simulated clock.

A clothing chain with four shops (three in the east region, one in the north) and a
central service desk takes complaints from the app, WeChat, the phone, the web form,
e-mail and a chatbot. The desk works Monday to Friday, 09:00-12:00 and 13:00-18:00
Beijing time, on China's public holidays calendar with its official make-up workdays.
The run starts on Thursday 23 January 2025: Sunday the 26th is a make-up workday,
28 January to 4 February is the Spring Festival break.

Everything is driven by a [`ManualClock`][ticketkit.testing.ManualClock] that jumps from one
scheduled thing to the next (an arrival, an agent's reply, a customer's answer, an SLA
checkpoint from [`next_wakeup`][ticketkit.Helpdesk.next_wakeup]), so a week of work takes a few
seconds and the same seed prints the same story.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import sqlite3
import stat
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

import attrs

from ticketkit.analytics._dataset import Dataset
from ticketkit.calendar._calendar import BusinessCalendar, country_holidays
from ticketkit.conditions._conditions import F
from ticketkit.desk._access import Actor
from ticketkit.desk._helpdesk import Helpdesk
from ticketkit.directory._directory import InMemoryDirectory
from ticketkit.errors import TicketkitError
from ticketkit.model import _events as ev
from ticketkit.model._models import Agent, Customer, Team, Ticket
from ticketkit.notify._notify import CallbackNotifier, Notification
from ticketkit.routing._router import Assign, Router, Rule
from ticketkit.sla._config import Escalation, SLATarget
from ticketkit.sla._policy import SLAPolicy
from ticketkit.storage import SQLiteStore
from ticketkit.testing import ManualClock
from ticketkit.workflow._workflow import default_workflow

__all__: list[str] = []  # the command line's scenario; nothing here is public API

TZ: Final = ZoneInfo("Asia/Shanghai")
START: Final = datetime(2025, 1, 23, 8, 0, tzinfo=TZ)  # Thursday before the Spring Festival
HOURS: Final = {"mon-fri": ["09:00-12:00", "13:00-18:00"]}

# shop id -> (name, region)
SHOPS: Final = {
    "sh-01": ("Shanghai Nanjing Rd", "east"),
    "sh-02": ("Shanghai Xujiahui", "east"),
    "hz-01": ("Hangzhou West Lake", "east"),
    "bj-01": ("Beijing Sanlitun", "north"),
}
SHOP_AGENTS: Final = {
    "sh-01": ("li-na", "zhou-yu"),
    "sh-02": ("wang-lei", "chen-jie"),
    "hz-01": ("zhao-min",),
    "bj-01": ("liu-yang", "sun-li"),
}
DESK_AGENTS: Final = ("he-ping", "guo-xin", "ma-lan")
ZH_LABELS: Final = {
    "sh-01": "上海南京路店售后",
    "sh-02": "上海徐家汇店售后",
    "hz-01": "杭州西湖店售后",
    "bj-01": "北京三里屯店售后",
    "service-desk": "客服中心",
}
SHOP_CATEGORIES: Final = ("size", "quality")

CATEGORIES: Final = {  # category -> (weight, subjects)
    "size": (30, ("{item} one size too small", "{item} runs large, need an exchange", "{item} 尺码不对")),
    "quality": (18, ("Seam of {item} came apart", "{item} faded after one wash", "{item} 有破洞")),
    "delivery": (20, ("Parcel with {item} not arrived", "Courier left {item} at the wrong address")),
    "refund": (16, ("Refund for {item} not received", "退款还没到账 ({item})")),
    "invoice": (6, ("Need a VAT invoice for {item}",)),
    "account": (10, ("Cannot log in to the app", "Member points missing after buying {item}")),
}
ITEMS: Final = ("JEANS-32", "SHIRT-M", "COAT-L", "DRESS-S", "SNEAKER-42", "SCARF-W", "HOODIE-XL")
CHANNELS: Final = {"app": 25, "wechat": 25, "phone": 14, "web": 12, "email": 13, "chatbot": 11}
ONLINE: Final = ("app", "wechat", "web", "email", "chatbot")
SURNAMES: Final = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun")
GIVEN: Final = ("Fang", "Wei", "Min", "Jing", "Lei", "Yan", "Hao", "Ting", "Qiang", "Xin", "Yu", "Na")


@attrs.frozen(kw_only=True)
class DemoResult:
    """What a run did, for tests and the closing line."""

    tickets: int
    deduplicated: int
    warnings: int
    breaches: int
    escalations: int
    reopened: int
    resolved: int  # tickets resolved (or closed) at the end
    still_open: int  # tickets still new, open or pending at the end: resolved + still_open == tickets
    resolutions: int  # resolve actions, re-resolutions of reopened tickets included
    business_days: tuple[date, ...]


# ------------------------------------------------------------------------------ the desk


def calendar() -> BusinessCalendar:
    """The after-sales calendar: lunch break, Chinese holidays and make-up workdays."""
    return BusinessCalendar(
        tz="Asia/Shanghai", hours=HOURS, holidays=country_holidays("CN"), name="after-sales"
    )


def _teams() -> list[Team]:
    teams = [
        Team(id=shop, name=f"After-sales {name}", lead=SHOP_AGENTS[shop][0])
        for shop, (name, _) in SHOPS.items()
    ]
    teams.append(Team(id="service-desk", name="Service desk", lead=DESK_AGENTS[0]))
    return teams


def _agents() -> list[Agent]:
    agents = [
        Agent(id=a, name=_display(a), teams={shop}, roles={"lead"} if i == 0 else {"agent"}, capacity=12)
        for shop, ids in SHOP_AGENTS.items()
        for i, a in enumerate(ids)
    ]
    agents.extend(
        Agent(
            id=a,
            name=_display(a),
            teams={"service-desk"},
            roles={"lead"} if i == 0 else {"agent"},
            skills={"vip"} if i < 2 else set(),
            capacity=20,
        )
        for i, a in enumerate(DESK_AGENTS)
    )
    return agents


def _router(agents: list[Agent], teams: list[Team]) -> Router:
    return Router(
        rules=[
            Rule(
                name="size and quality to the shop's after-sales",
                when=F.category.in_(list(SHOP_CATEGORIES)) & F.customer.store.exists(),
                assign=Assign(team_ref="customer.store", strategy="least_loaded", overflow="service-desk"),
            ),
            Rule(
                name="VIP members to senior agents",
                when=F.customer.tier == "vip",
                assign=Assign(team="service-desk", strategy="skills", skills={"vip"}),
            ),
            Rule(
                name="everything else to the service desk",
                when=F.category.exists(),
                assign=Assign(team="service-desk", strategy="least_loaded"),
            ),
        ],
        agents=agents,
        teams=teams,
        fallback="service-desk",
    )


def _policies(cal: BusinessCalendar) -> list[SLAPolicy]:
    policies = []
    for region in sorted({r for _, r in SHOPS.values()}):
        shops = sorted(s for s, (_, r) in SHOPS.items() if r == region)
        policies.append(
            SLAPolicy(
                name=f"shop 2h/24h ({region})",
                calendar=cal,
                when=F.category.in_(list(SHOP_CATEGORIES)) & F.customer.store.in_(shops),
                targets={
                    "default": SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=24))
                },
                pause_in={"pending"},
                warn_at=(0.75,),
                escalations=[
                    Escalation(metric="first_response", at=1.0, notify="team:{team}"),
                    Escalation(
                        metric="resolution",
                        at=1.0,
                        notify=f"role:regional-manager-{region}",
                        raise_priority="high",
                    ),
                ],
            )
        )
    policies.extend(
        [
            SLAPolicy(
                name="vip 1h/8h",
                calendar=cal,
                when=F.customer.tier == "vip",
                targets={
                    "default": SLATarget(first_response=timedelta(hours=1), resolution=timedelta(hours=8))
                },
                pause_in={"pending"},
                warn_at=(0.75,),
                escalations=[
                    Escalation(
                        metric="first_response",
                        at=1.0,
                        notify="role:service-manager",
                        reassign=f"agent:{DESK_AGENTS[0]}",
                        raise_priority="high",
                    ),
                    Escalation(metric="resolution", at=1.0, notify="role:service-manager"),
                ],
            ),
            SLAPolicy(
                name="standard 4h/40h",
                calendar=cal,
                targets={
                    "default": SLATarget(first_response=timedelta(hours=4), resolution=timedelta(hours=40))
                },
                pause_in={"pending"},
                warn_at=(0.75,),
                escalations=[Escalation(metric="resolution", at=1.0, notify="role:service-manager")],
            ),
        ]
    )
    return policies


def _customers(rng: random.Random) -> list[Customer]:
    shops = list(SHOPS)
    out = []
    for n in range(1, 81):
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
        out.append(
            Customer(
                id=f"c-{n:03d}",
                name=name,
                phone=f"1380013{n:04d}",
                email=f"{name.lower().replace(' ', '.')}{n}@example.cn",
                tier="vip" if rng.random() < 0.15 else "standard",
                data={"store": rng.choice(shops), "member_since": 2015 + rng.randrange(10)},
            )
        )
    return out


def _display(agent_id: str) -> str:
    return " ".join(p.capitalize() for p in agent_id.split("-"))


# ------------------------------------------------------------------------------ printing


class _Output:
    """Event lines, with a one-line progress bar redrawn under them on a terminal.

    Off a terminal (a pipe, a file, a test) the bar is printed as a plain line at the
    end of each business day, so the output stays readable and deterministic.
    """

    WIDTH: Final = 24

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.bar = ""
        self.last_day: date | None = None

    def line(self, text: str) -> None:
        if self.tty and self.bar:
            self.out.write("\r" + " " * len(self.bar) + "\r")
        self.out.write(text + "\n")
        if self.tty and self.bar:
            self.out.write(self.bar)
        self.out.flush()

    def event(self, at: datetime, tag: str, text: str) -> None:
        self.line(f"{at:%a %m-%d %H:%M}  {tag:<8} {text}")

    def progress(self, done: float, label: str, *, final: bool = False) -> None:
        filled = round(self.WIDTH * min(max(done, 0.0), 1.0))
        bar = f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {done:4.0%}  {label}"
        if self.tty:
            self.out.write("\r" + " " * len(self.bar) + "\r" + bar)
            self.bar = bar
            if final:
                self.out.write("\n")
                self.bar = ""
            self.out.flush()
        else:
            self.line(bar)


# ------------------------------------------------------------------------------ the run


class _Sim:
    """The simulation: a queue of scheduled things, the desk, and what to print."""

    def __init__(self, *, db: Path, days: int, seed: int, out: TextIO, tty: bool) -> None:
        self.rng = random.Random(seed)
        self.cal = calendar()
        self.clock = ManualClock(START)
        self.out = _Output(out, tty)
        self.notes: list[Notification] = []
        self.agents = _agents()
        self.teams = _teams()
        self.actors = {a.id: Actor.from_agent(a) for a in self.agents}
        self.customers = _customers(self.rng)
        self.policies = {p.name: p for p in _policies(self.cal)}
        self.store = SQLiteStore(db)
        self.desk = Helpdesk(
            store=self.store,
            workflows=default_workflow(),
            router=_router(self.agents, self.teams),
            policies=list(self.policies.values()),
            notifier=CallbackNotifier(self.notes.append),
            clock=self.clock,
            customers=InMemoryDirectory(self.customers),
            teams=self.teams,
            labels={"zh": ZH_LABELS},
            dedupe_window=timedelta(hours=12),
        )
        self.intake = False
        self.recent: list[tuple[datetime, Customer, str]] = []
        self.queue: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self.seq = itertools.count()
        self.numbers: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.resolved: set[str] = set()  # tickets resolved now (a reopen takes one out again)
        self.business_days = _business_days(self.cal, START.date(), days)
        last = self.business_days[-1]
        self.end = max(
            e for _, e in self.cal.open_intervals(_midnight(last), _midnight(last + timedelta(days=1)))
        )
        self.total = self.cal.between(START, self.end)
        self.holiday_names = _holiday_names(START.date(), self.end.date())

    # ---------------------------------------------------------------- scheduling

    def at(self, when: datetime, kind: str, **data: Any) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), kind, data))

    def later(self, kind: str, business: timedelta, **data: Any) -> None:
        """Schedule an agent's action ``business`` time from now, inside working hours."""
        self.at(self.cal.add(self.clock.now(), business), kind, **data)

    def schedule_arrivals(self) -> None:
        day = START.date()
        while day <= self.end.date():
            working = day in self.business_days
            n = self.rng.randint(17, 25) if working else self.rng.randint(2, 5)
            for _ in range(n):
                channel = self.rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
                if working and channel == "phone":
                    minute = self.rng.randrange(9 * 60, 18 * 60)
                    if 12 * 60 <= minute < 13 * 60:
                        minute += 60  # the phone line is closed over lunch
                else:
                    channel = channel if channel != "phone" else "wechat"
                    minute = self.rng.randrange(7 * 60, 23 * 60)
                when = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=TZ)
                if START <= when <= self.end:
                    self.at(when, "arrive", channel=channel)
            day += timedelta(days=1)

    # ---------------------------------------------------------------- the loop

    def run(self) -> DemoResult:
        self.out.line(
            f"ticketkit demo: after-sales desk of a clothing chain, {_days(len(self.business_days))} "
            f"from {self.business_days[0]:%a %Y-%m-%d} to {self.business_days[-1]:%a %Y-%m-%d}"
        )
        self.out.line(
            "  calendar: Asia/Shanghai, Mon-Fri 09:00-12:00 and 13:00-18:00, "
            "China's holidays and make-up workdays"
        )
        self.out.line(f"  SLA policies: {', '.join(self.policies)}")
        self.out.line("")
        self.schedule_arrivals()
        day: date | None = None
        while self.queue and self.queue[0][0] <= self.end:
            when, _, kind, data = heapq.heappop(self.queue)
            self.sweep(until=when)
            if when.date() != day:
                self.new_days(day, when.date())
                day = when.date()
            self.clock.set(max(when, self.clock.now()))
            try:
                getattr(self, f"do_{kind}")(**data)
            except TicketkitError as err:  # a scheduled step that no longer fits: say so, carry on
                self.out.event(self.clock.now(), "SKIP", f"{kind}: {err}")
            self.flush()
        self.sweep(until=self.end)
        self.clock.set(max(self.end, self.clock.now()))
        if day is not None:
            self.new_days(day, self.end.date() + timedelta(days=1))
        if self.out.tty:
            self.out.progress(1.0, "done", final=True)
        return self.report()

    def sweep(self, until: datetime) -> None:
        """Run the SLA sweep at every checkpoint that falls due up to ``until``."""
        for _ in range(10_000):  # a bound, not a limit ever reached
            wake = self.desk.next_wakeup()
            if wake is None or wake > until:
                return
            self.clock.set(max(wake, self.clock.now()))
            self.desk.tick()
            self.flush()
            if self.desk.next_wakeup() == wake:  # nothing moved (a claim held elsewhere)
                return

    def new_days(self, previous: date | None, today: date) -> None:
        """Print the day summaries and banners for the days from ``previous`` to ``today``."""
        if previous is not None:
            if previous in self.business_days:
                self.day_summary(previous)
            d = previous + timedelta(days=1)
        else:
            d = today
        while d <= today and d <= self.end.date():
            self.banner(d)
            d += timedelta(days=1)

    def banner(self, d: date) -> None:
        if d in self.business_days:
            n = self.business_days.index(d) + 1
            extra = (
                "  official make-up workday (调休): the desk works on a Sunday" if d.weekday() >= 5 else ""
            )
            self.out.line(f"=== business day {n}/{len(self.business_days)}: {d:%a %Y-%m-%d}{extra} ===")
        elif d in self.holiday_names:
            self.out.line(
                f"--- {d:%a %Y-%m-%d}: {self.holiday_names[d]}; desk closed, SLA clocks stand still ---"
            )
        else:
            self.out.line(
                f"--- {d:%a %Y-%m-%d}: weekend; desk closed, online channels still take requests ---"
            )

    def day_summary(self, d: date) -> None:
        done = self.cal.between(START, min(self.clock.now(), self.end)) / self.total if self.total else 1.0
        c = self.counts
        label = (
            f"{d:%a %m-%d} done: {plural(c['tickets'], 'ticket')}, {len(self.resolved)} resolved, "
            f"{plural(c['sla.warning'], 'warning')}, {plural(c['sla.breached'], 'breach', 'breaches')}, "
            f"{plural(c['sla.escalated'], 'escalation')}"
        )
        self.out.progress(done, label)

    # ---------------------------------------------------------------- notifications

    def flush(self) -> None:
        """Print what the desk told people since the last call (in a stable order)."""
        notes, self.notes[:] = list(self.notes), []
        notes.sort(key=lambda n: (self.numbers.get(n.ticket.id, 0), n.kind))
        for note in notes:
            self.show(note)
        if self.out.tty:
            now = self.clock.now()
            done = self.cal.between(START, min(now, self.end)) / self.total if self.total else 1.0
            self.out.progress(done, f"{now:%a %m-%d %H:%M}  {self.counts['tickets']} tickets")

    def show(self, note: Notification) -> None:
        t = note.ticket
        num = self.numbers.get(t.id)
        if num is None:
            return
        data = note.data
        metric = str(data.get("metric", "")).replace("_", " ")
        who = f"{t.team} / {_display(t.assignee)}" if t.assignee else f"{t.team} (queue)"
        if note.kind == ev.ASSIGNED and not self.intake:
            rule = data.get("rule")
            by = f"rule {rule!r}" if rule else str(data.get("reason", ""))
            self.out.event(note.at, "ASSIGN", f"#{num:03d} -> {who}  ({by})")
        elif note.kind == ev.SLA_WARNING:
            self.counts[note.kind] += 1
            pct = float(data.get("threshold", 0.75))
            due = self.due(t, str(data.get("metric", "")))
            self.out.event(note.at, "WARN", f"#{num:03d} {metric} {pct:.0%} used, due {due}  [{who}]")
        elif note.kind == ev.SLA_BREACHED:
            self.counts[note.kind] += 1
            self.out.event(note.at, "BREACH", f"#{num:03d} {metric} overdue -> {', '.join(note.recipients)}")
        elif note.kind == ev.SLA_ESCALATED:
            self.counts[note.kind] += 1
            actions = [a for a in data.get("actions") or () if isinstance(a, dict)]
            raised = [a["raise_priority"] for a in actions if "raise_priority" in a]
            extra = f"; priority raised to {raised[0]}" if raised else ""
            self.out.event(
                note.at, "ESCALATE", f"#{num:03d} {metric} -> {', '.join(note.recipients)}{extra}  [{who}]"
            )

    def due(self, ticket: Ticket, metric: str) -> str:
        policy = self.policies.get(ticket.sla.policy if ticket.sla and ticket.sla.policy else "")
        status = policy.status(ticket, self.clock.now()).get(metric) if policy is not None else None
        return f"{status.due_at:%a %m-%d %H:%M}" if status is not None and status.due_at is not None else "-"

    # ---------------------------------------------------------------- what people do

    def do_arrive(self, channel: str) -> None:
        rng = self.rng
        now = self.clock.now()
        self.recent = [r for r in self.recent if now - r[0] < timedelta(hours=8)]
        if self.recent and rng.random() < 0.08:  # a customer chasing a request made a few hours ago
            _, cust, category = rng.choice(self.recent)
            channel = "phone" if self.cal.is_open(now) else "wechat"
        else:
            cust = rng.choice(self.customers)
            category = rng.choices(list(CATEGORIES), weights=[w for w, _ in CATEGORIES.values()])[0]
            self.recent.append((now, cust, category))
        item = rng.choice(ITEMS)
        subject = rng.choice(CATEGORIES[category][1]).format(item=item)
        caller: Customer | str = cust.id
        transcript: list[tuple[str, str]] = []
        if channel == "phone":  # the phone system knows only the number; the directory finds who it is
            caller = Customer(id=f"caller-{rng.randrange(10_000)}", phone=f"+86 {cust.phone}")
        elif channel == "email":
            caller = Customer(id=f"mail-{rng.randrange(10_000)}", email=cust.email)
        elif channel == "chatbot":
            transcript = [
                ("customer", subject),
                ("bot", "I can help with that. Could you give me your order number?"),
                ("customer", f"It's the {item} I bought last week."),
                ("bot", "Thank you, I am passing you to a colleague with our conversation."),
            ]
        before = self.desk.store.count()
        self.intake = True
        try:
            ticket = self.desk.open(
                subject=subject,
                channel=channel,
                customer=caller,
                category=category,
                fields={"item": item},
                transcript=transcript,
            )
        finally:
            self.flush()
            self.intake = False
        if ticket.id in self.numbers:
            self.counts["deduplicated"] += 1
            self.out.event(
                self.clock.now(),
                "DUP",
                f"#{self.numbers[ticket.id]:03d} {channel}: {_customer_name(ticket)} again about {category}; "
                "added to the open ticket",
            )
            return
        assert self.desk.store.count() == before + 1
        self.counts["tickets"] += 1
        num = self.numbers[ticket.id] = len(self.numbers) + 1
        who = f"{ticket.team} / {_display(ticket.assignee)}" if ticket.assignee else f"{ticket.team} (queue)"
        tier = " VIP" if ticket.customer is not None and ticket.customer.tier == "vip" else ""
        bot = f" +{len(transcript)} bot messages" if transcript else ""
        self.out.event(
            self.clock.now(),
            "NEW",
            f"#{num:03d} {channel:<7} {category:<8} -> {who:<25} {subject!r}{tier}{bot}",
        )
        if num % 12 == 1 and ticket.customer is not None:
            view = self.desk.progress(ticket.id, actor=Actor.customer(ticket.customer.id), lang="zh")
            self.out.line(f"{'':26}customer sees: {view.message}")
        self.later("reply", self.delay(ticket, "first_response"), ticket_id=ticket.id)

    def delay(self, ticket: Ticket, metric: str) -> timedelta:
        """How long an agent takes: mostly in time, sometimes close, now and then late."""
        policy = self.policies.get(ticket.sla.policy if ticket.sla and ticket.sla.policy else "")
        target = policy.target_for(ticket.priority, metric) if policy is not None else None
        target = target or timedelta(hours=8)
        r = self.rng.random()
        if r < 0.72:
            share = self.rng.uniform(0.05, 0.7 if metric == "first_response" else 0.4)
        elif r < 0.9:
            share = self.rng.uniform(0.76, 0.97)
        else:
            share = self.rng.uniform(1.05, 1.8)
        return timedelta(seconds=round(target.total_seconds() * share / 60) * 60)

    def agent_for(self, ticket: Ticket) -> Actor:
        if ticket.assignee and ticket.assignee in self.actors:
            return self.actors[ticket.assignee]
        team = next((t for t in self.teams if t.id == ticket.team), self.teams[-1])
        return self.actors[team.lead or DESK_AGENTS[0]]

    def ticket(self, ticket_id: str) -> Ticket:
        return self.store.get(ticket_id)

    def do_reply(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.status_kind not in ("new", "open"):
            return
        agent = self.agent_for(t)
        if t.assignee is None:
            t = self.desk.assign(t.id, agent=agent.id, actor=agent)
        self.desk.comment(t.id, "Sorry for the trouble, we are on it.", actor=agent)
        if t.status == "new":
            t = self.desk.fire(t.id, "open", actor=agent)
        if self.rng.random() < 0.2:
            self.desk.comment(t.id, "Could you send us a photo of the label and the receipt?", actor=agent)
            self.desk.fire(t.id, "wait", actor=agent)
            answer = timedelta(minutes=self.rng.randrange(20, 20 * 60))
            self.at(self.clock.now() + answer, "answer", ticket_id=t.id)
        else:
            self.later("resolve", self.delay(t, "resolution"), ticket_id=t.id)

    def do_answer(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.customer is None or t.status_kind != "pending":
            return
        self.desk.comment(t.id, "Here are the photos.", actor=Actor.customer(t.customer.id))
        self.later("resume", timedelta(minutes=self.rng.randrange(10, 60)), ticket_id=t.id)

    def do_resume(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.status != "pending":
            return
        t = self.desk.fire(t.id, "resume", actor=self.agent_for(t))
        self.later("resolve", self.delay(t, "resolution") / 2, ticket_id=t.id)

    def do_resolve(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.status != "open":
            return
        agent = self.agent_for(t)
        self.desk.comment(t.id, "All sorted: the exchange / refund is on its way.", actor=agent)
        self.desk.fire(t.id, "resolve", actor=agent)
        self.counts["resolutions"] += 1
        self.resolved.add(t.id)
        r = self.rng.random()
        if r < 0.06:
            self.at(self.clock.now() + timedelta(hours=self.rng.uniform(1, 20)), "write_back", ticket_id=t.id)
        elif r < 0.75:
            self.at(self.clock.now() + timedelta(hours=self.rng.uniform(0.5, 30)), "rate", ticket_id=t.id)

    def do_rate(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.customer is None or t.status_kind != "resolved":
            return
        late = t.sla is not None and any(c.breached_at is not None for c in t.sla.clocks)
        weights = (6, 6, 12, 30, 46) if not late else (20, 20, 25, 20, 15)
        score = self.rng.choices((1, 2, 3, 4, 5), weights=weights)[0]
        self.desk.rate(t.id, score, None, actor=Actor.customer(t.customer.id))

    def do_write_back(self, ticket_id: str) -> None:
        t = self.ticket(ticket_id)
        if t.customer is None or t.status_kind != "resolved":
            return
        t = self.desk.comment(
            t.id, "Sorry, the replacement has the same problem.", actor=Actor.customer(t.customer.id)
        )
        if t.status_kind == "open":
            self.counts["reopened"] += 1
            self.resolved.discard(t.id)
            self.out.event(
                self.clock.now(),
                "REOPEN",
                f"#{self.numbers[t.id]:03d} the customer wrote back; resolution clock resumes",
            )
            self.later("resolve", self.delay(t, "resolution") / 3, ticket_id=t.id)

    # ---------------------------------------------------------------- the report

    def report(self) -> DemoResult:
        out = self.out
        ds = Dataset.from_store(self.store, tz=TZ, calendar=self.cal)
        first, last = self.business_days[0], self.business_days[-1]
        out.line("")
        out.line(
            f"=== Report: {first:%a %Y-%m-%d} to {last:%a %Y-%m-%d} ({_days(len(self.business_days))}) ==="
        )
        channels = ", ".join(f"{r.key} {r.count}" for r in ds.pareto("channel"))
        out.line(
            f"Tickets: {len(ds)} ({channels}); "
            f"repeat requests added to an open ticket: {self.counts['deduplicated']}"
        )
        open_now = sum(1 for t in ds.tickets if t.status_kind in ("new", "open", "pending"))
        resolved_now = len(ds) - open_now
        out.line(
            f"Resolved by the end: {resolved_now} of {len(ds)}; still open: {open_now}; "
            f"reopened: {self.counts['reopened']} "
            f"({plural(self.counts['resolutions'], 'resolution')} in all, counting re-resolutions)"
        )
        out.line("Response and resolution times (business hours, lunch and holidays excluded):")
        for metric in ("first_response", "resolution"):
            for row in ds.durations(metric):
                if row.median is None or row.p90 is None:
                    continue
                out.line(
                    f"  {metric.replace('_', ' '):<15} median {business_hours(row.median):>8}, "
                    f"p90 {business_hours(row.p90):>8}  ({plural(row.count, 'ticket')})"
                )
        out.line("SLA compliance:")
        for sla in ds.sla():
            pct = f"{sla.compliance:.0%}" if sla.compliance is not None else "-"
            out.line(
                f"  {sla.metric.replace('_', ' '):<15} {pct:>4} met ({sla.met}/{sla.met + sla.breached}, "
                f"{sla.running} still running), {plural(sla.warnings, 'warning')}, "
                f"{plural(sla.escalations, 'escalation')}"
            )
        out.line("SLA compliance per shop / team (resolution):")
        for sla in ds.sla(by="team"):
            if sla.metric == "resolution" and sla.compliance is not None:
                out.line(f"  {sla.key!s:<13} {sla.compliance:>4.0%}  ({sla.met}/{sla.met + sla.breached})")
        rated = [c for c in ds.csat() if c.rated and c.average is not None and c.csat is not None]
        if not rated:
            out.line("CSAT: no ratings yet")
        for c in rated:
            out.line(
                f"CSAT: average {c.average:.2f} / 5, {c.csat:.0%} rated 4 or 5 ({plural(c.rated, 'rating')})"
            )
        out.line("Top categories:")
        for top in ds.pareto("category", top=5):
            out.line(
                f"  {top.rank}. {top.key:<9} {top.count:>4}  {top.share:>4.0%}  "
                f"(cumulative {top.cumulative_share:.0%})"
            )
        return DemoResult(
            tickets=len(ds),
            deduplicated=self.counts["deduplicated"],
            warnings=self.counts["sla.warning"],
            breaches=self.counts["sla.breached"],
            escalations=self.counts["sla.escalated"],
            reopened=self.counts["reopened"],
            resolved=resolved_now,
            still_open=open_now,
            resolutions=self.counts["resolutions"],
            business_days=tuple(self.business_days),
        )


# ------------------------------------------------------------------------------ helpers


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 ticket``, ``2 tickets``; ``words`` for an irregular plural."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def business_hours(value: timedelta) -> str:
    """A business duration in hours and minutes (never days, whose length readers guess).

    Examples:
        >>> business_hours(timedelta(hours=24)), business_hours(timedelta(minutes=95))
        ('24h 00m', '1h 35m')
        >>> business_hours(timedelta(seconds=2700)), business_hours(timedelta(seconds=-90))
        ('45m', '-2m')
    """
    total = round(value.total_seconds() / 60)
    sign, total = ("-" if total < 0 else ""), abs(total)
    hours, minutes = divmod(total, 60)
    return f"{sign}{hours}h {minutes:02d}m" if hours else f"{sign}{minutes}m"


def _days(n: int) -> str:
    return plural(n, "business day")


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=TZ)


def _business_days(cal: BusinessCalendar, first: date, n: int) -> list[date]:
    out: list[date] = []
    d = first
    while len(out) < n:
        if cal.open_intervals(_midnight(d), _midnight(d + timedelta(days=1))):
            out.append(d)
        d += timedelta(days=1)
    return out


def _holiday_names(first: date, last: date) -> dict[date, str]:
    return country_holidays("CN").names(first, last)  # English, whatever the locale


def _parse(value: Any) -> datetime:
    return datetime.fromisoformat(value).astimezone(TZ) if isinstance(value, str) else value


def _customer_name(ticket: Ticket) -> str:
    c = ticket.customer
    return (c.name or c.id) if c is not None else "someone"


# The demo stamps its database with this SQLite application_id ("TKDM") before anything
# else is written, and only ever removes a file that carries it: whatever else is at
# --db (a notes file, another program's database, a device, a symlink) stays untouched.
DEMO_APPLICATION_ID: Final = 0x544B444D
_SQLITE_HEADER: Final = b"SQLite format 3\x00"
_SIDECARS: Final = ("-wal", "-shm", "-journal")


class DemoFileError(TicketkitError, ValueError):
    """The file at ``--db`` is not a database the demo made; it was left untouched."""


def _kind(path: Path) -> str | None:
    """What is at ``path`` without following a symlink: None (nothing), "file", or what else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file (device, FIFO or socket)"


def is_demo_database(path: Path) -> bool:
    """True if ``path`` is a regular file (not a link) holding an SQLite database the demo made."""
    if _kind(path) != "file":
        return False
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        head = fh.read(100)
    return (
        len(head) == 100
        and head.startswith(_SQLITE_HEADER)
        and int.from_bytes(head[68:72], "big") == DEMO_APPLICATION_ID
    )


def _refuse(path: Path, what: str) -> DemoFileError:
    return DemoFileError(
        f"--db: {str(path)!r} is {what}, not a database this demo made; it was left untouched "
        "(the demo only replaces its own database: name a new file, or remove this one yourself)"
    )


def prepare_database(db: Path) -> None:
    """Clear the way for a fresh demo database at ``db``, or raise `DemoFileError`.

    Removes ``db`` and its ``-wal``/``-shm``/``-journal`` files only when ``db`` is the
    demo's own database; refuses anything else (including symlinks and special files)
    without touching it. Then creates an empty database stamped as the demo's.
    """
    kind = _kind(db)
    if kind is not None and kind != "file":
        raise _refuse(db, kind)
    if kind == "file" and not is_demo_database(db):
        raise _refuse(db, "a file")
    sidecars = [db.with_name(db.name + suffix) for suffix in _SIDECARS]
    for side in sidecars:
        side_kind = _kind(side)
        if side_kind is not None and (side_kind != "file" or kind is None):
            raise _refuse(side, side_kind if side_kind != "file" else "a file left without its database")
    if kind == "file":
        for side in sidecars:
            if _kind(side) == "file":
                side.unlink()
        db.unlink()
    # Create the file exclusively (never through a link planted since the checks) and
    # stamp it before the store writes anything.
    fd = os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    os.close(fd)
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
        conn.commit()
    finally:
        conn.close()


def run(*, db: str | Path, days: int, seed: int, out: TextIO, tty: bool | None = None) -> DemoResult:
    """Run the demo on a fresh SQLite file at ``db`` and print it to ``out``.

    Raises:
        DemoFileError: something other than the demo's own database is at ``db``
            (it is left as it was).
    """
    path = Path(db)
    prepare_database(path)
    sim = _Sim(db=path, days=days, seed=seed, out=out, tty=out.isatty() if tty is None else tty)
    try:
        return sim.run()
    finally:
        sim.store.close()
