"""Hospital: a workflow per request type, routing to the department, a 30-minute reply.

The seed's second case. A patient asks on the hospital's WeChat account when their
exam results are ready, or asks to move an appointment. Each kind of request has its
own workflow; exam-result enquiries go to the laboratory, rescheduling to outpatients,
and every request must get a reply within 30 minutes of opening hours. The agent sees
the patient's visit record from the hospital information system (HIS) through a
customer directory, so the patient never has to repeat it.

Run it: ``python examples/hospital.py``
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit import analytics
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")


# --- the HIS integration: a CustomerDirectory over the hospital's records ------------------
class HospitalRecords(tk.CustomerDirectory):
    """Looks patients up by card number (or phone) in the HIS; here a dict stands in for it."""

    def __init__(self, records: dict[str, dict[str, object]]) -> None:
        self.records = records

    def get(self, customer_id: str, *, tenant: str = "default") -> tk.Customer | None:
        record = self.records.get(customer_id)
        if record is None:
            return None
        return tk.Customer(
            id=customer_id,
            name=str(record["name"]),
            phone=str(record["phone"]),
            tenant=tenant,
            data={"visits": record["visits"]},
        )

    def find(
        self, *, email: str | None = None, phone: str | None = None, tenant: str = "default"
    ) -> tk.Customer | None:
        for card, record in self.records.items():
            if phone and record["phone"] == phone.replace(" ", "")[-11:]:
                return self.get(card, tenant=tenant)
        return None


his = HospitalRecords(
    {
        "p-1001": {
            "name": "Zhang San",
            "phone": "13900001001",
            "visits": [
                {"date": "2025-03-01", "dept": "cardiology", "exam": "blood panel", "doctor": "Dr. Liu"}
            ],
        },
        "p-1002": {
            "name": "Li Si",
            "phone": "13900001002",
            "visits": [{"date": "2025-03-03", "dept": "orthopaedics", "appointment": "2025-03-06 09:30"}],
        },
    }
)

# --- one workflow per request type ----------------------------------------------------------
exam_result = tk.Workflow.from_dict(
    {
        "name": "exam_result",
        "states": [
            {"name": "received", "kind": "new"},
            {"name": "checking", "kind": "open"},
            {"name": "awaiting_lab", "kind": "pending"},
            {"name": "answered", "kind": "resolved"},
            {"name": "closed", "kind": "closed", "final": True},
        ],
        "transitions": [
            {"trigger": "check", "source": "received", "dest": "checking"},
            {"trigger": "ask_lab", "source": "checking", "dest": "awaiting_lab"},
            {"trigger": "lab_replied", "source": "awaiting_lab", "dest": "checking"},
            {"trigger": "answer", "source": ["received", "checking"], "dest": "answered"},
            {"trigger": "close", "source": "answered", "dest": "closed"},
        ],
        "initial": "received",
    }
)
reschedule = tk.Workflow.from_dict(
    {
        "name": "reschedule",
        "states": [
            {"name": "requested", "kind": "new"},
            {"name": "slot_offered", "kind": "pending"},
            {"name": "rescheduled", "kind": "resolved"},
            {"name": "done", "kind": "closed", "final": True},
        ],
        "transitions": [
            {"trigger": "offer", "source": "requested", "dest": "slot_offered"},
            {"trigger": "confirm", "source": ["requested", "slot_offered"], "dest": "rescheduled"},
            {"trigger": "finish", "source": "rescheduled", "dest": "done"},
        ],
        "initial": "requested",
    }
)
print("The exam-result enquiry workflow, for the docs site (Mermaid):")
print(exam_result.to_mermaid())

# --- routing to the department ----------------------------------------------------------
router = tk.Router(
    rules=[
        tk.Rule(name="results to the lab", when=tk.F.type == "exam_result", assign=tk.Assign(team="lab")),
        tk.Rule(
            name="rescheduling to outpatients",
            when=tk.F.type == "reschedule",
            assign=tk.Assign(team="outpatients"),
        ),
    ],
    agents=[tk.Agent(id="nurse-wu", teams={"lab"}), tk.Agent(id="clerk-ma", teams={"outpatients"})],
    teams=[tk.Team(id="lab", name="Laboratory"), tk.Team(id="outpatients", name="Outpatients")],
    fallback="outpatients",
)

# --- a 30-minute reply, in the hospital's service hours -----------------------------------
service_hours = tk.BusinessCalendar(
    tz="Asia/Shanghai", hours={"mon-fri": ["08:00-12:00", "13:30-17:30"], "sat": ["08:00-12:00"]}
)
reply = tk.SLAPolicy(
    name="30-minute reply",
    calendar=service_hours,
    targets={"default": tk.SLATarget(first_response=timedelta(minutes=30))},
    warn_at=(0.5,),
    escalations=[tk.Escalation(metric="first_response", at=1.0, notify="team:{team}")],
)

clock = ManualClock(datetime(2025, 3, 4, 10, 0, tzinfo=SH))  # Tuesday
notifier = tk.RecordingNotifier()
desk = tk.Helpdesk(
    store=tk.InMemoryStore(),
    workflows={"exam_result": exam_result, "reschedule": reschedule},
    router=router,
    policies=[reply],
    notifier=notifier,
    clock=clock,
    customers=his,
    labels={"zh": {"lab": "检验科", "outpatients": "门诊部"}},
)

results = desk.open(
    subject="Is my blood test ready?", type="exam_result", channel="wechat", customer="p-1001"
)
move = desk.open(
    subject="Please move my appointment to Friday",
    type="reschedule",
    channel="phone",
    customer=tk.Customer(id="caller-3", phone="139 0000 1002"),  # the HIS finds Li Si by phone
)
for t in (results, move):
    assert t.customer is not None
    visit = t.customer.data["visits"][-1]
    print(f"{t.type:<12} {t.customer.name:<9} -> {t.team:<12} status {t.status:<10} last visit {visit}")

nurse = tk.Actor(id="nurse-wu", teams={"lab"})
clerk = tk.Actor(id="clerk-ma", teams={"outpatients"})

# The lab answers in 12 minutes; outpatients is busy and misses the 30 minutes.
clock.advance(timedelta(minutes=12))
desk.fire(results.id, "check", actor=nurse)
desk.comment(results.id, "Your blood panel is ready; you can see it in the app.", actor=nurse)
desk.fire(results.id, "answer", actor=nurse)
clock.advance(timedelta(minutes=25))
desk.tick()
print("patient view:", desk.progress(move.id, actor=tk.Actor.customer("p-1002"), lang="zh").message)
clock.advance(timedelta(minutes=10))
desk.comment(move.id, "Friday 10:00 with the same doctor is free. Shall we book it?", actor=clerk)
desk.fire(move.id, "offer", actor=clerk)
desk.comment(move.id, "Yes please.", actor=tk.Actor.customer("p-1002"))
desk.fire(move.id, "confirm", actor=clerk)

for t in (results, move):
    status = desk.sla_status(t.id, actor=tk.Actor(id="head-nurse", roles={"admin"}))["first_response"]
    print(f"{t.type:<12} first reply: {status.state:<8} after {analytics.human_duration(status.elapsed)}")
for n in notifier.sent:
    if n.kind.startswith("sla."):
        print(f"{n.kind:<14} {n.ticket.subject!r} -> {', '.join(n.recipients)}")
