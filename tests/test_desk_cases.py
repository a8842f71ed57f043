"""The seed's three cases end to end: retail after-sales, a hospital, a factory's repairs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ticketkit as tk
from ticketkit import analytics
from ticketkit.testing import ManualClock

SH = ZoneInfo("Asia/Shanghai")
WORKDAY = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["09:00-12:00", "13:00-18:00"]})


class TestRetail:
    """Complaints from the app, WeChat and the phone; size complaints to the shop's after-sales."""

    def setup_desk(self) -> tuple[tk.Helpdesk, ManualClock, tk.RecordingNotifier]:
        clock = ManualClock(datetime(2025, 3, 3, 9, 30, tzinfo=SH))  # a Monday
        shops = [
            tk.Team(id="sh-01", name="After-sales, Shanghai 01", lead="zhao"),
            tk.Team(id="sh-02", name="After-sales, Shanghai 02", lead="qian"),
            tk.Team(id="service-desk", name="Service desk"),
        ]
        agents = [
            tk.Agent(id="li", teams={"sh-01"}),
            tk.Agent(id="wang", teams={"sh-02"}),
            tk.Agent(id="sun", teams={"service-desk"}),
        ]
        router = tk.Router(
            rules=[
                tk.Rule(
                    name="size complaints to the shop",
                    when=(tk.F.category == "size") & tk.F.customer.store.exists(),
                    assign=tk.Assign(team_ref="customer.store"),
                ),
            ],
            agents=agents,
            teams=shops,
            fallback="service-desk",
        )
        size_policy = tk.SLAPolicy(
            name="size 2h/24h",
            calendar=WORKDAY,
            when=tk.F.category == "size",
            targets={
                "default": tk.SLATarget(first_response=timedelta(hours=2), resolution=timedelta(hours=24))
            },
            pause_in={"pending"},
            warn_at=(0.75,),
            escalations=[tk.Escalation(metric="resolution", at=1.0, notify="role:regional-manager")],
        )
        standard = tk.SLAPolicy(
            name="standard",
            calendar=WORKDAY,
            targets={"default": tk.SLATarget(first_response=timedelta(hours=8))},
        )
        customers = tk.InMemoryDirectory(
            [
                tk.Customer(id="c-1", name="Wang Fang", phone="13800000001", data={"store": "sh-01"}),
                tk.Customer(id="c-2", name="Li Lei", data={"store": "sh-02"}),
                tk.Customer(id="c-3", name="Han Meimei", data={"store": "sh-01"}),
            ]
        )
        rec = tk.RecordingNotifier()
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            router=router,
            policies=[size_policy, standard],
            notifier=rec,
            clock=clock,
            customers=customers,
            labels={"zh": {"sh-01": "上海一店售后", "sh-02": "上海二店售后"}},
        )
        return desk, clock, rec

    def test_end_to_end(self) -> None:
        """Unified tickets with shop and item, routed per shop, escalated when overdue, reported monthly."""
        desk, clock, rec = self.setup_desk()
        app = desk.open(
            subject="Jeans one size too small",
            channel="app",
            customer="c-1",
            category="size",
            fields={"item": "JEANS-32"},
        )
        wechat = desk.open(
            subject="衬衫尺码不对",
            channel="wechat",
            customer="c-2",
            category="size",
            fields={"item": "SHIRT-M"},
        )
        phone = desk.open(
            subject="Coat size wrong",
            channel="phone",
            customer=tk.Customer(id="caller-77", phone="+86 138 0000 0001"),
            category="size",
            fields={"item": "COAT-L"},
        )
        # the phone call is the same customer as the app complaint: one ticket, not two
        assert app.id == phone.id
        assert [("app", "sh-01"), ("wechat", "sh-02")] == [(t.channel, t.team) for t in (app, wechat)]
        assert ("JEANS-32", "sh-01") == (app.fields["item"], app.customer.data["store"])
        assert ("li", "wang") == (app.assignee, wechat.assignee)

        li = tk.Actor(id="li", teams={"sh-01"})
        wang = tk.Actor(id="wang", teams={"sh-02"})
        clock.advance(timedelta(minutes=40))
        desk.comment(app.id, "Sorry! Please bring them to the shop, we swap them at once.", actor=li)
        desk.fire(app.id, "open", actor=li)
        desk.comment(wechat.id, "您好，我们马上处理。", actor=wang)
        desk.fire(wechat.id, "open", actor=wang)

        customer = tk.Actor.customer("c-2")
        assert desk.progress(wechat.id, actor=customer, lang="zh").message.startswith(
            "已分配给上海二店售后，预计"
        )

        # the app ticket is resolved next morning; the WeChat one lingers past its 24 business hours
        clock.advance(timedelta(hours=20))
        desk.fire(app.id, "resolve", actor=li)
        desk.rate(app.id, 5, "fast swap", actor=tk.Actor.customer("c-1"))
        for _ in range(12):
            clock.advance(timedelta(hours=6))
            desk.tick()
        escalations = rec.to("role:regional-manager")
        assert [wechat.id] == [n.ticket.id for n in escalations]
        assert desk.progress(wechat.id, actor=customer).overdue

        report = analytics.monthly_report(desk.store, month="2025-03", by="customer.store", calendar=WORKDAY)
        rows = {row.key: row for row in report.overview}
        assert (1, 1) == (rows["sh-01"].tickets, rows["sh-02"].tickets)
        assert "sh-01" in report.to_markdown()


class TestHospital:
    """A workflow per request type, routing to the department, a 30-minute reply, the visit record."""

    def test_end_to_end(self) -> None:
        """Exam-result enquiries go to the lab, rescheduling to outpatients, each answered within 30 min."""
        clock = ManualClock(datetime(2025, 3, 4, 10, 0, tzinfo=SH))
        enquiry = tk.Workflow.from_dict(
            {
                "name": "exam_result",
                "states": [
                    {"name": "received", "kind": "new"},
                    {"name": "checking", "kind": "open"},
                    {"name": "answered", "kind": "resolved"},
                    {"name": "closed", "kind": "closed", "final": True},
                ],
                "transitions": [
                    {"trigger": "check", "source": "received", "dest": "checking"},
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
                    {"name": "offered", "kind": "pending"},
                    {"name": "confirmed", "kind": "resolved"},
                    {"name": "done", "kind": "closed", "final": True},
                ],
                "transitions": [
                    {"trigger": "offer", "source": "requested", "dest": "offered"},
                    {"trigger": "confirm", "source": ["requested", "offered"], "dest": "confirmed"},
                    {"trigger": "finish", "source": "confirmed", "dest": "done"},
                ],
                "initial": "requested",
            }
        )
        router = tk.Router(
            rules=[
                tk.Rule(
                    name="results to the lab", when=tk.F.type == "exam_result", assign=tk.Assign(team="lab")
                ),
                tk.Rule(
                    name="rescheduling to outpatients",
                    when=tk.F.type == "reschedule",
                    assign=tk.Assign(team="outpatients"),
                ),
            ],
            teams=[tk.Team(id="lab", name="Laboratory"), tk.Team(id="outpatients", name="Outpatients")],
            fallback="outpatients",
        )
        reply = tk.SLAPolicy(
            name="30-minute reply",
            calendar=tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-sat": ["08:00-17:30"]}),
            targets={"default": tk.SLATarget(first_response=timedelta(minutes=30))},
            escalations=[tk.Escalation(metric="first_response", at=1.0, notify="team:{team}")],
        )
        records = tk.InMemoryDirectory(
            [
                tk.Customer(
                    id="p-1001",
                    name="Zhang San",
                    data={"visits": [{"date": "2025-03-01", "dept": "cardiology", "exam": "blood panel"}]},
                )
            ]
        )
        rec = tk.RecordingNotifier()
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            workflows={"exam_result": enquiry, "reschedule": reschedule},
            router=router,
            policies=[reply],
            notifier=rec,
            clock=clock,
            customers=records,
        )
        result = desk.open(
            subject="Is my blood test ready?", type="exam_result", channel="app", customer="p-1001"
        )
        moved = desk.open(
            subject="Move my appointment to Friday", type="reschedule", channel="phone", customer="p-1001"
        )
        assert [("lab", "received"), ("outpatients", "requested")] == [
            (t.team, t.status) for t in (result, moved)
        ]
        assert "blood panel" == result.customer.data["visits"][0]["exam"]
        lab = tk.Actor(id="nurse-wu", teams={"lab"})
        clock.advance(timedelta(minutes=12))
        desk.comment(result.id, "Your results are ready; see the app.", actor=lab)
        desk.fire(result.id, "answer", actor=lab)
        assert "met" == desk.sla_status(result.id, actor=lab)["first_response"].state
        clock.advance(timedelta(minutes=25))
        desk.tick()
        assert [moved.id] == [n.ticket.id for n in rec.of_kind("sla.breached")]
        assert [("team:outpatients",)] == [n.recipients for n in rec.of_kind("sla.escalated")]
        with_lab = tk.Actor(id="nurse-wu", teams={"lab"})
        assert [result.id] == [t.id for t in desk.tickets(actor=with_lab)]


class TestManufacturing:
    """A repair checks stock; out of stock spawns a 48-business-hour restock; the repair waits."""

    def test_end_to_end(self) -> None:
        """Spawned restock with its own deadline, the repair paused meanwhile, a fault-type report."""
        clock = ManualClock(datetime(2025, 3, 3, 8, 0, tzinfo=SH))
        plant = tk.BusinessCalendar(tz="Asia/Shanghai", hours={"mon-fri": ["08:00-12:00", "13:00-17:00"]})
        repair_wf = tk.Workflow.from_dict(
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
                escalations=[tk.Escalation(metric="resolution", at=1.0, notify="role:plant-manager")],
            ),
            tk.SLAPolicy(
                name="repair",
                calendar=plant,
                when=tk.F.type == "repair",
                targets={"default": tk.SLATarget(resolution=timedelta(hours=16))},
                pause_in={"pending"},
            ),
        ]
        stock = tk.InMemoryInventory({"SEAL-KIT-4": 0, "BELT-2": 6})
        out_of_stock = tk.Automation(
            name="restock when the part is out",
            on="status.changed",
            when=(tk.F.type == "repair")
            & (tk.F.context.event.data.to == "diagnosing")
            & (tk.F.context.stock.in_stock == False),  # noqa: E712 - a condition, not a comparison
            actions=[
                tk.Action.spawn(
                    "Restock {fields.part} for repair {id}",
                    type="restock",
                    team="production",
                    fields={"part": "SEAL-KIT-4"},
                ),
                tk.Action.comment("Part {fields.part} out of stock: restock requested.", public=False),
            ],
        )
        desk = tk.Helpdesk(
            store=tk.InMemoryStore(),
            workflows={"repair": repair_wf, "restock": tk.default_workflow()},
            policies=policies,
            clock=clock,
            automations=[out_of_stock],
            integrations={"stock": stock},
            notifier=tk.RecordingNotifier(),
        )
        tech = tk.Actor(id="tech-9", teams={"maintenance"})
        prod = tk.Actor(id="prod-1", teams={"production"})
        leak = desk.open(
            subject="Press 4 leaks oil",
            type="repair",
            team="maintenance",
            fields={"part": "SEAL-KIT-4", "fault": "hydraulic leak"},
        )
        belt = desk.open(
            subject="Conveyor belt slips",
            type="repair",
            team="maintenance",
            fields={"part": "BELT-2", "fault": "belt wear"},
        )
        clock.advance(timedelta(hours=1))
        desk.fire(leak.id, "diagnose", actor=tech)
        desk.fire(belt.id, "diagnose", actor=tech)
        restock = desk.children(leak.id, actor=tk.Actor(id="a", roles={"admin"}))
        assert [("restock", "production", "restock 48h")] == [(c.type, c.team, c.sla.policy) for c in restock]
        assert [] == desk.children(belt.id, actor=tech)
        # 48 business hours on the plant calendar: six working days from Monday 09:00
        due = desk.sla_status(restock[0].id, actor=prod)["resolution"].due_at
        assert datetime(2025, 3, 11, 9, 0, tzinfo=SH) == due
        assert "waiting_parts" == desk.get(leak.id, actor=tech).status

        clock.advance(timedelta(days=1))
        paused = desk.sla_status(leak.id, actor=tech)["resolution"]
        assert ("paused", timedelta(hours=1)) == (paused.state, paused.elapsed)
        desk.fire(restock[0].id, "open", actor=prod)
        stock.adjust("SEAL-KIT-4", 10)
        desk.fire(restock[0].id, "resolve", actor=prod)
        assert "repairing" == desk.get(leak.id, actor=tech).status
        desk.fire(leak.id, "fix", actor=tech)
        desk.fire(belt.id, "fix", actor=tech)
        desk.open(
            subject="Press 2 leaks oil",
            type="repair",
            team="maintenance",
            fields={"part": "BELT-2", "fault": "hydraulic leak"},
        )

        ds = analytics.Dataset.from_store(desk.store, tz="Asia/Shanghai")
        top = ds.pareto("fields.fault", skip_none=True)
        assert [("hydraulic leak", 2), ("belt wear", 1)] == [(r.key, r.count) for r in top]
