"""Manufacturing: a repair checks stock; a missing part spawns a 48-hour restock for production.

The seed's third case. A customer reports a machine fault. When the technician starts
the diagnosis, the repair ticket asks the warehouse system (an integration) whether the
part is in stock. If it is not, an automation spawns a restock sub-ticket for the
production department, due within 48 business hours, and the repair waits for it with
its own SLA clock paused. When production resolves the restock the repair resumes.
At the end a report shows the most frequent fault types, to guide the design team.

Run it: ``python examples/manufacturing.py``
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit import analytics
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")

plant = tk.BusinessCalendar(
    tz="Asia/Shanghai",
    hours={"mon-fri": ["08:00-12:00", "13:00-17:00"]},
    holidays=tk.country_holidays("CN"),
)

repair = tk.Workflow.from_dict(
    {
        "name": "repair",
        "states": [
            {"name": "reported", "kind": "new"},
            {"name": "diagnosing", "kind": "open"},
            {"name": "waiting_parts", "kind": "pending"},
            {"name": "repairing", "kind": "open"},
            {"name": "fixed", "kind": "resolved"},
            {"name": "closed", "kind": "closed", "final": True},
        ],
        "transitions": [
            {"trigger": "diagnose", "source": "reported", "dest": "diagnosing"},
            # the desk parks a parent waiting on its sub-tickets with "wait", and brings it back with "resume"
            {"trigger": "wait", "source": ["diagnosing", "repairing"], "dest": "waiting_parts"},
            {"trigger": "resume", "source": "waiting_parts", "dest": "repairing"},
            {"trigger": "start", "source": "diagnosing", "dest": "repairing"},
            {"trigger": "fix", "source": ["diagnosing", "repairing"], "dest": "fixed"},
            {"trigger": "close", "source": "fixed", "dest": "closed"},
        ],
        "initial": "reported",
    }
)

policies = [
    tk.SLAPolicy(
        name="restock 48h",
        calendar=plant,
        when=tk.F.type == "restock",
        targets={"default": tk.SLATarget(resolution=timedelta(hours=48))},
        warn_at=(0.75,),
        escalations=[tk.Escalation(metric="resolution", at=1.0, notify="role:plant-manager")],
    ),
    tk.SLAPolicy(
        name="repair 16h",
        calendar=plant,
        when=tk.F.type == "repair",
        targets={"default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=16))},
        pause_in={"pending"},  # waiting for parts does not count against the repair
    ),
]

# The warehouse system: answers {"part", "available", "in_stock"} for the ticket's part.
warehouse = tk.InMemoryInventory({"SEAL-KIT-4": 0, "BELT-2": 6, "SENSOR-T1": 3})

out_of_stock = tk.Automation(
    name="restock when the part is out",
    on="status.changed",
    when=(tk.F.type == "repair")
    & (tk.F.context.event.data.to == "diagnosing")
    & (tk.F.context.stock.in_stock == False),  # noqa: E712 - builds a condition
    actions=[
        tk.Action.spawn(
            "Restock {fields.part} for repair: {subject}",
            type="restock",
            team="production",
            fields={"part": "{fields.part}"},
        ),
        tk.Action.comment(
            "Part {fields.part} is out of stock: restock requested from production.", public=True
        ),
    ],
)

clock = ManualClock(datetime(2025, 3, 3, 8, 0, tzinfo=SH))  # Monday
notifier = tk.RecordingNotifier()
desk = tk.Helpdesk(
    store=tk.InMemoryStore(),
    workflows={"repair": repair, "restock": tk.default_workflow()},
    policies=policies,
    clock=clock,
    automations=[out_of_stock],
    integrations={"stock": warehouse},
    notifier=notifier,
)
tech = tk.Actor(id="tech-9", teams={"maintenance"})
production = tk.Actor(id="prod-1", teams={"production"})
manager = tk.Actor(id="plant-manager", roles={"admin"})

reports = [
    ("Press 4 leaks oil", "SEAL-KIT-4", "hydraulic leak", "acme-metal"),
    ("Conveyor belt slips", "BELT-2", "belt wear", "acme-metal"),
    ("Press 2 leaks oil", "SEAL-KIT-4", "hydraulic leak", "north-parts"),
    ("Oven overheats", "SENSOR-T1", "sensor fault", "north-parts"),
    ("Press 7 leaks oil at the ram", "SEAL-KIT-4", "hydraulic leak", "acme-metal"),
]
tickets = [
    desk.open(
        subject=subject,
        type="repair",
        channel="phone",
        customer=customer,
        team="maintenance",
        fields={"part": part, "fault": fault},
    )
    for subject, part, fault, customer in reports
]
clock.advance(timedelta(hours=1))
leak = tickets[0]
for t in tickets:
    desk.fire(t.id, "diagnose", actor=tech)

children = desk.children(leak.id, actor=manager)
restock = children[0]
due = desk.sla_status(restock.id, actor=production)["resolution"].due_at
assert due is not None
print(f"stock check for {leak.fields['part']}: {warehouse(leak)}")
print(
    f"restock sub-ticket {restock.subject!r} -> team {restock.team}, "
    f"due {due:%a %Y-%m-%d %H:%M} (48 business hours)"
)
print(f"repair {leak.subject!r} is now {desk.get(leak.id, actor=tech).status!r}")
spawned = sum(len(desk.children(t.id, actor=manager)) for t in tickets)
print(f"{spawned} restock requests for {len(tickets)} repairs (only the parts out of stock)")

clock.advance(timedelta(days=1))
paused = desk.sla_status(leak.id, actor=tech)["resolution"]
print(f"a day later the repair's resolution clock is {paused.state} at {paused.elapsed} spent")

# Production makes the seal kits and closes the restocks: each waiting repair wakes up.
warehouse.adjust("SEAL-KIT-4", 10)
for t in tickets:
    for child in desk.children(t.id, actor=manager):
        desk.fire(child.id, "open", actor=production)
        desk.comment(child.id, "Seal kits delivered to the warehouse.", actor=production)
        desk.fire(child.id, "resolve", actor=production)
print(f"after the restock the repair is {desk.get(leak.id, actor=tech).status!r}")
clock.advance(timedelta(hours=3))
for t in tickets:
    desk.fire(t.id, "fix", actor=tech)
fixed = [desk.get(t.id, actor=tech) for t in tickets]
print(f"fixed: {sum(t.status == 'fixed' for t in fixed)} of {len(fixed)} repairs")

# --- the most frequent fault types ----------------------------------------------------------
ds = analytics.Dataset.from_store(desk.store, tz="Asia/Shanghai", calendar=plant)
print()
print("Most frequent fault types:")
for row in ds.pareto("fields.fault", skip_none=True):
    print(f"  {row.key:<15} {row.count}  {row.share:.0%}{'  <- vital few' if row.vital else ''}")
