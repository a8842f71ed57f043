"""Retail: a clothing chain's complaints from the app, WeChat and the phone, handled per shop.

The seed's first case. A customer's complaint arrives on any channel and becomes one
ticket that carries the shop where they bought and the item. Size complaints go to
that shop's after-sales team, must be answered within 2 business hours and solved
within 24; overdue ones escalate to the regional manager. At month end each shop gets
a service quality report.

Run it: ``python examples/retail.py``
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit import analytics
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")

# --- the chain: shops, their after-sales teams, regions -----------------------------------
SHOPS = {"sh-01": "east", "sh-02": "east", "bj-01": "north"}
teams = [
    tk.Team(id="sh-01", name="After-sales Shanghai Nanjing Rd", lead="zhao"),
    tk.Team(id="sh-02", name="After-sales Shanghai Xujiahui", lead="qian"),
    tk.Team(id="bj-01", name="After-sales Beijing Sanlitun", lead="sun"),
    tk.Team(id="service-desk", name="Service desk", lead="zhou"),
]
agents = [
    tk.Agent(id="li", teams={"sh-01"}),
    tk.Agent(id="zhao", teams={"sh-01"}, roles={"lead"}),
    tk.Agent(id="wang", teams={"sh-02"}),
    tk.Agent(id="qian", teams={"sh-02"}, roles={"lead"}),
    tk.Agent(id="sun", teams={"bj-01"}, roles={"lead"}),
    tk.Agent(id="zhou", teams={"service-desk"}, roles={"lead"}),
]

# Office hours with a lunch break, on China's calendar (holidays and make-up workdays).
calendar = tk.BusinessCalendar(
    tz="Asia/Shanghai",
    hours={"mon-fri": ["09:00-12:00", "13:00-18:00"], "sat": ["10:00-16:00"]},
    holidays=tk.country_holidays("CN"),
)

# --- routing: size complaints to the shop where the customer bought -----------------------
router = tk.Router(
    rules=[
        tk.Rule(
            name="size complaints to the shop's after-sales",
            when=(tk.F.category == "size") & tk.F.customer.store.exists(),
            assign=tk.Assign(team_ref="customer.store", strategy="least_loaded"),
        ),
    ],
    agents=agents,
    teams=teams,
    fallback="service-desk",
)

# --- SLA: 2h response, 24h resolution; overdue -> the region's manager -------------------
policies = [
    tk.SLAPolicy(
        name=f"size 2h/24h ({region})",
        calendar=calendar,
        when=(tk.F.category == "size")
        & tk.F.customer.store.in_([s for s, r in SHOPS.items() if r == region]),
        targets={"default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=24))},
        pause_in={"pending"},
        warn_at=(0.75,),
        escalations=[
            tk.Escalation(
                metric="resolution", at=1.0, notify=f"role:regional-manager-{region}", raise_priority="high"
            )
        ],
    )
    for region in ("east", "north")
]
policies.append(
    tk.SLAPolicy(
        name="standard",
        calendar=calendar,
        targets={"default": tk.SLATarget(first_response=timedelta(hours=8))},
    )
)
for issue in tk.check_policies(policies):  # a static check of the policy set
    print("policy check:", issue)

# --- the CRM: who bought where --------------------------------------------------------------
crm = tk.InMemoryDirectory(
    [
        tk.Customer(id="c-1", name="Wang Fang", phone="13800000001", tier="vip", data={"store": "sh-01"}),
        tk.Customer(id="c-2", name="Li Lei", phone="13800000002", data={"store": "sh-02"}),
        tk.Customer(id="c-3", name="Han Meimei", email="han@example.cn", data={"store": "bj-01"}),
    ]
)

clock = ManualClock(datetime(2025, 3, 3, 9, 30, tzinfo=SH))  # Monday
notifier = tk.RecordingNotifier()
desk = tk.Helpdesk(
    store=tk.InMemoryStore(),
    router=router,
    policies=policies,
    notifier=notifier,
    clock=clock,
    customers=crm,
    labels={"zh": {"sh-01": "南京路店售后", "sh-02": "徐家汇店售后", "bj-01": "三里屯店售后"}},
)

# --- intake from three channels -------------------------------------------------------------
app = desk.open(
    subject="Jeans one size too small",
    channel="app",
    customer="c-1",
    category="size",
    fields={"item": "JEANS-32"},
)
wechat = desk.open(
    subject="衬衫尺码不对", channel="wechat", customer="c-2", category="size", fields={"item": "SHIRT-M"}
)
mail = desk.open(
    subject="Coat too large",
    channel="email",
    customer=tk.Customer(id="mail-9", email="han@example.cn"),  # found in the CRM by e-mail
    category="size",
    fields={"item": "COAT-L"},
)
# The phone system knows only the number: the CRM finds Wang Fang, whose app complaint is
# still open, so the call is added to that ticket instead of making a second one.
call = desk.open(
    subject="Calling about my jeans",
    channel="phone",
    customer=tk.Customer(id="caller-77", phone="+86 138 0000 0001"),
    category="size",
)
assert call.id == app.id
print("Unified tickets:")
for t in (app, wechat, mail):
    assert t.customer is not None
    print(
        f"  {t.channel:<7} {t.customer.name:<11} shop={t.customer.data['store']} item={t.fields['item']:<9}"
        f" -> team {t.team}, agent {t.assignee}, SLA {t.sla.policy if t.sla else None}"
    )
print(f"  phone   call from +86 138 0000 0001 added to the app ticket ({call.channel} ticket, same id)")

# --- the shops work their tickets -----------------------------------------------------------
li = tk.Actor(id="li", teams={"sh-01"})
qian = tk.Actor(id="qian", roles={"lead"}, teams={"sh-02"})
sun = tk.Actor(id="sun", roles={"lead"}, teams={"bj-01"})
clock.advance(timedelta(minutes=40))
desk.comment(app.id, "Sorry! Bring them to the shop, we swap them at once.", actor=li)
desk.fire(app.id, "open", actor=li)
desk.comment(wechat.id, "您好，我们马上处理。", actor=qian)
desk.fire(wechat.id, "open", actor=qian)
desk.comment(mail.id, "We have sent a courier for the exchange.", actor=sun)
desk.fire(mail.id, "open", actor=sun)

me = tk.Actor.customer("c-2")
print("Li Lei sees:", desk.progress(wechat.id, actor=me, lang="zh").message)

clock.advance(timedelta(hours=20))  # Tuesday morning
desk.fire(app.id, "resolve", actor=li)
desk.rate(app.id, 5, "fast swap", actor=tk.Actor.customer("c-1"))
desk.fire(mail.id, "resolve", actor=sun)
desk.rate(mail.id, 4, actor=tk.Actor.customer("c-3"))

# The WeChat complaint lingers: run the SLA sweep every hour for three days.
for _ in range(72):
    clock.advance(timedelta(hours=1))
    desk.tick()
for n in notifier.of_kind("sla.escalated"):
    print(f"ESCALATED {n.ticket.subject!r} at {n.at:%a %H:%M} to {', '.join(n.recipients)}")
print("Li Lei sees:", desk.progress(wechat.id, actor=me).message)
desk.fire(wechat.id, "resolve", actor=qian)
desk.rate(wechat.id, 2, "too slow", actor=me)

# --- the monthly service quality report per shop --------------------------------------------
report = analytics.monthly_report(
    desk.store, month="2025-03", by="customer.store", tz="Asia/Shanghai", calendar=calendar
)
print()
print(f"{report.title} ({report.month}):")
for row in report.overview:
    compliance = f"{row.compliance:.0%}" if row.compliance is not None else "-"
    resolution = analytics.human_duration(row.resolution_median) if row.resolution_median else "-"
    csat = f"{row.csat:.0%}" if row.csat is not None else "-"
    print(
        f"  {row.key!s:<6} tickets {row.tickets}  resolution median {resolution:>7}  "
        f"SLA {compliance:>4}  CSAT {csat}"
    )
