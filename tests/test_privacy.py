"""Masking, the reveal_personal policy, personal data in messages and logs, redaction,
anonymisation and retention."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit.privacy._redact import ANONYMIZED, ANONYMIZED_TAG, REDACTED
from ticketkit.privacy._retention import format_period
from ticketkit.testing import ManualClock

from .strategies import tickets

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
PHONE = "13812345678"
EMAIL = "wang.fang@example.com"
IDNO = "11010519491231002X"


def everything(*values: Any) -> str:
    """All values as one JSON text, to search for what must not be there."""
    return json.dumps([tk.to_dict(v) for v in values], ensure_ascii=False)


def customer(**kw: Any) -> tk.Customer:
    base: dict[str, Any] = {
        "id": PHONE,
        "name": "王芳",
        "email": EMAIL,
        "phone": "+86 " + PHONE,
        "tier": "vip",
        "data": {"store": "sh-01", "id_card": IDNO},
    }
    return tk.Customer(**{**base, **kw})


def full_ticket() -> tk.Ticket:
    """A ticket with personal data in every place it can hide."""
    return tk.Ticket(
        subject=f"电话{PHONE} 王芳",
        description=f"mail {EMAIL}, 身份证 {IDNO}, SN 1234 5678, amount 12345678",
        created_at=T0,
        customer=customer(),
        tags={f"cb-{PHONE}", "refund"},
        fields={PHONE: "vip line", "order": "A-1009", "contact": {"phone": "6234 5678", "name": "王芳"}},
        external_ref=f"wx-{PHONE}",
        satisfaction_remark="王芳 says thanks",
        assignee="li",
        team="after-sales",
    )


# --------------------------------------------------------------------------- masking


class TestMaskPersonal:
    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            ("13812345678", "138****5678"),
            ("+86 138 1234 5678", "+86 138 **** 5678"),
            ("tel 021-6234-5678", "tel 021-****-5678"),
            ("a.b@example.co.uk", "a***@example.co.uk"),
            ("ID 11010119900307123X", "ID 110101********123X"),
            ("order A-1009 on 2025-03-03", "order A-1009 on 2025-03-03"),
            ("电话13812345678", "电话138****5678"),
            ("王芳13812345678", "王芳138****5678"),
            ("13812345678号码", "138****5678号码"),
            ("tel13812345678", "tel138****5678"),
            ("amount 12345678", "amount 12345678"),
            ("SN 1234 5678", "SN 1234 5678"),
            ("Date 2025 0124", "Date 2025 0124"),
            ("卡号 6200 0000 0000 0005", "卡号 6200 **** **** 0005"),
            ("护照E12345678", "护照E******78"),
        ],
    )
    def test_mask_personal(self, text: str, masked: str) -> None:
        """Personal data keeps a recognisable shape; amounts, dates and serial numbers stay."""
        assert masked == tk.mask_personal(text)

    @given(st.text(max_size=200))
    def test_masked_text_has_nothing_left(self, text: str) -> None:
        """After masking, detection finds nothing, and masking again changes nothing."""
        masked = tk.mask_personal(text)
        assert () == tk.detect_personal(masked)
        assert masked == tk.mask_personal(masked)
        if not tk.detect_personal(text):
            assert text == masked

    def test_old_import_path_still_works(self) -> None:
        """The desk's own import of the maskers is the same function as the public one."""
        from ticketkit.desk._access import mask_personal, mask_ticket

        assert (tk.mask_personal, tk.mask_ticket) == (mask_personal, mask_ticket)


class TestMaskTicket:
    def test_every_place_is_masked(self) -> None:
        """No phone, e-mail, identity number or name survives anywhere in a masked ticket."""
        masked = tk.mask_ticket(full_ticket())
        text = everything(masked)
        for secret in (PHONE, EMAIL, IDNO, "王芳", "6234 5678"):
            assert secret not in text
        assert "138****5678" in text
        assert "SN 1234 5678" in masked.description
        assert "amount 12345678" in masked.description
        assert "A-1009" == masked.fields["order"]

    def test_structure_kept(self) -> None:
        """Ids, statuses, times, teams and the shape of fields are not touched."""
        t = full_ticket()
        masked = tk.mask_ticket(t)
        for name in ("id", "status", "created_at", "team", "assignee", "priority", "version", "category"):
            assert getattr(t, name) == getattr(masked, name)
        assert {"138****5678", "order", "contact"} == set(masked.fields)
        assert "vip" == masked.customer.tier
        assert "sh-01" == masked.customer.data["store"]

    def test_declared_fields(self) -> None:
        """Fields the integrator declares personal are masked as a whole, through lists."""
        t = tk.Ticket(
            subject="s",
            created_at=T0,
            fields={"patients": [{"name": "Li Lei", "age": 42}, {"name": "Han Meimei", "age": 7}]},
        )
        personal = tk.PersonalFields(fields={"patients.name", "patients.age"})
        masked = tk.mask_ticket(t, personal=personal)
        expected = [{"name": "L* L**", "age": "***"}, {"name": "H** M*****", "age": "***"}]
        assert expected == list(masked.fields["patients"])
        assert t.fields == tk.mask_ticket(t).fields  # not declared: nothing detected, nothing masked

    def test_field_keys_that_collide_stay_apart(self) -> None:
        """Two personal keys that mask alike both survive."""
        t = tk.Ticket(subject="s", created_at=T0, fields={"13812345678": 1, "13887655678": 2})
        assert [1, 2] == sorted(tk.mask_ticket(t).fields.values())

    @given(
        t=tickets(),
        place=st.sampled_from(["subject", "description", "tag", "field", "key", "external_ref", "remark"]),
    )
    def test_planted_phone_never_survives(self, t: tk.Ticket, place: str) -> None:
        """A phone number planted anywhere in any ticket is gone after masking."""
        planted = {
            "subject": {"subject": f"电话{PHONE}"},
            "description": {"description": t.description + f" tel{PHONE}"},
            "tag": {"tags": t.tags | {f"x{PHONE}"}},
            "field": {"fields": {**t.fields, "phone": PHONE}},
            "key": {"fields": {**t.fields, PHONE: "x"}},
            "external_ref": {"external_ref": PHONE},
            "remark": {"satisfaction_remark": f"王芳{PHONE}"},
        }[place]
        t = attrs.evolve(t, **planted)
        assert PHONE not in everything(tk.mask_ticket(t))

    @given(tickets())
    def test_masking_never_raises_and_keeps_ids(self, t: tk.Ticket) -> None:
        """Any valid ticket masks to a valid ticket with the same id, tenant and timestamps."""
        masked = tk.mask_ticket(t)
        assert (t.id, t.tenant, t.created_at, t.updated_at) == (
            masked.id,
            masked.tenant,
            masked.created_at,
            masked.updated_at,
        )
        assert masked == tk.from_dict(tk.Ticket, tk.to_dict(masked))


class TestMaskEventsAndComments:
    def test_event_actor_and_data(self) -> None:
        """An event's actor and every string and key of its data are masked."""
        e = tk.Event(
            ticket_id="01JQ8Z3Y4X5W6V7T8S9R0Q1P2N",
            kind="comment.added",
            actor=f"customer:{PHONE}",
            at=T0,
            data={
                "comment": {"body": f"我是王芳，{EMAIL}", "author": PHONE},
                "ticket_id": "01JQ8Z3Y4X5W6V7T8S9R0Q1P2N",
            },
        )
        m = tk.mask_event(e, customer=customer())
        text = everything(m)
        for secret in (PHONE, EMAIL, "王芳"):
            assert secret not in text
        assert "01JQ8Z3Y4X5W6V7T8S9R0Q1P2N" == m.data["ticket_id"]
        assert "customer:138****5678" == m.actor

    def test_declared_field_changes(self) -> None:
        """A fields.changed event masks old and new values of a declared field."""
        e = tk.Event(
            ticket_id="T1",
            kind="fields.changed",
            actor="agent:li",
            at=T0,
            data={"changes": {"contact": {"from": {"name": "Li Lei"}, "to": {"name": "Han Meimei"}}}},
        )
        m = tk.mask_event(e, personal=tk.PersonalFields(fields={"contact.name"}))
        assert {"from": {"name": "L* L**"}, "to": {"name": "H** M*****"}} == m.data["changes"]["contact"]

    def test_known_names_match_whole_words(self) -> None:
        """A Latin name is masked as a word, not inside longer words; a Chinese name anywhere."""
        c = tk.Comment(ticket_id="T1", author="li", body="Li asked Lily; 我是王芳", at=T0)
        m = tk.mask_comment(c, customer=tk.Customer(id="c-1", name="Li"))
        assert "L* asked Lily; 我是王芳" == m.body
        m2 = tk.mask_comment(c, customer=tk.Customer(id="c-1", name="王芳"))
        assert "Li asked Lily; 我是王*" == m2.body

    def test_comment(self) -> None:
        """A comment's author and body are masked, the customer's name included."""
        c = tk.Comment(ticket_id="T1", author=PHONE, body="王芳: call 13812345678", at=T0)
        m = tk.mask_comment(c, customer=customer())
        assert ("138****5678", "王*: call 138****5678") == (m.author, m.body)

    def test_customer(self) -> None:
        """A customer's declared attributes and data are masked; the rest is kept."""
        personal = tk.PersonalFields(customer={"name", "email", "phone", "data.id_card"})
        m = tk.mask_customer(customer(), personal=personal)
        assert ("王*", "w***@example.com", "+86 138****5678") == (m.name, m.email, m.phone)
        assert "110101********002X" != m.data["id_card"]
        assert IDNO not in everything(m)
        assert "sh-01" == m.data["store"]


class TestPersonalFields:
    def test_round_trip(self) -> None:
        """The data form round-trips."""
        p = tk.PersonalFields(customer={"name", "data.a.b"}, fields={"x", "y.z"})
        assert p == tk.PersonalFields.from_dict(json.loads(json.dumps(p.to_dict())))

    def test_every_problem_listed(self) -> None:
        """Bad paths and unknown keys are all reported with their paths."""
        with pytest.raises(tk.ValidationError) as err:
            tk.PersonalFields.from_dict({"customer": "name", "fields": ["a..b"], "feilds": []})
        assert ["customer", "feilds"] == sorted(e.path for e in err.value.errors)
        with pytest.raises(tk.ValidationError) as err2:
            tk.PersonalFields(customer={"nickname"}, fields={"a..b"})
        assert ["customer", "fields"] == sorted(e.path for e in err2.value.errors)
        with pytest.raises(tk.ValidationError):
            tk.PersonalFields.from_dict(["name"])

    def test_default(self) -> None:
        """By default the customer's name, e-mail and phone are personal, no custom field is."""
        assert {"customer": ["email", "name", "phone"], "fields": []} == tk.PersonalFields().to_dict()


# --------------------------------------------------------------------------- reveal_personal


class TestRevealPolicy:
    def ticket(self, **kw: Any) -> tk.Ticket:
        base = {
            "subject": "s",
            "created_at": T0,
            "team": "after-sales",
            "assignee": "li",
            "customer": customer(),
        }
        return tk.Ticket(**{**base, **kw})

    @pytest.mark.parametrize(
        ("actor", "allowed"),
        [
            (tk.Actor(id="boss", roles={"admin"}), True),
            (tk.Actor.system(), True),
            (tk.Actor(id="zhao", roles={"lead"}, teams={"after-sales"}), True),
            (tk.Actor(id="qian", roles={"lead"}, teams={"billing"}), False),
            (tk.Actor(id="li", teams={"after-sales"}), True),
            (tk.Actor(id="wu", teams={"after-sales"}), False),
            (tk.Actor.customer(PHONE), True),
            (tk.Actor.customer("someone-else"), False),
            (tk.Actor(id="boss", roles={"admin"}, tenant="other"), False),
            (tk.Actor(id="aud", roles={"auditor"}), False),
        ],
    )
    def test_default_scopes(self, actor: tk.Actor, allowed: bool) -> None:
        """Admins and the system see all, leads their teams, agents their own, customers theirs."""
        assert allowed == tk.RevealPolicy().allows(actor, self.ticket())

    def test_widest_scope_wins(self) -> None:
        """An actor with several roles gets the widest scope among them."""
        policy = tk.RevealPolicy(scopes={"agent": "assigned", "dpo": "all"})
        assert policy.allows(tk.Actor(id="x", roles={"agent", "dpo"}), self.ticket())
        assert "none" == policy.scope(frozenset({"unknown"}))

    def test_views_follow_the_right(self) -> None:
        """Ticket, events and comments come unmasked with the right and masked without."""
        t, events = desk_history(subject=f"电话{PHONE}", customer=customer(), team="after-sales")
        comments = [tk.Comment(ticket_id=t.id, author="li", body=f"王芳 {PHONE}", at=T0)]
        policy = tk.RevealPolicy()
        boss, wu = tk.Actor(id="boss", roles={"admin"}), tk.Actor(id="wu", teams={"after-sales"})
        assert t == policy.ticket_for(boss, t)
        assert events == policy.events_for(boss, t, events)
        assert comments == policy.comments_for(boss, t, comments)
        seen = everything(
            policy.ticket_for(wu, t), *policy.events_for(wu, t, events), *policy.comments_for(wu, t, comments)
        )
        for secret in (PHONE, "王芳", EMAIL):
            assert secret not in seen
        assert len(events) == len(policy.events_for(wu, t, events))

    def test_round_trip_and_errors(self) -> None:
        """The data form round-trips; unknown scopes and keys are refused with their paths."""
        p = tk.RevealPolicy(scopes={"agent": "team"})
        assert p == tk.RevealPolicy.from_dict(p.to_dict())
        assert tk.RevealPolicy() == tk.RevealPolicy.from_dict({})
        with pytest.raises(tk.ValidationError) as err:
            tk.RevealPolicy(scopes={"agent": "everything"})
        assert "scopes.agent" == err.value.errors[0].path
        for bad in ([], {"scope": {}}):
            with pytest.raises(tk.ValidationError):
                tk.RevealPolicy.from_dict(bad)
        with pytest.raises(tk.ValidationError):
            tk.RevealPolicy(scopes=["agent"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- messages and logs


class TestMessages:
    def test_validation_error_masks_echoed_value(self) -> None:
        """A loader that echoes a bad value does not echo a phone number."""
        with pytest.raises(tk.ValidationError) as err:
            tk.from_dict(tk.Customer, {"id": int(PHONE), "email": 13987654321})
        text = str(err.value)
        assert PHONE not in text
        assert "13987654321" not in text
        assert "138****5678" in text
        assert all(PHONE not in e.message for e in err.value.errors)

    def test_model_validation_masks(self) -> None:
        """A model's own validation message masks an e-mail address it echoes."""
        with pytest.raises(tk.ValidationError) as err:
            tk.Ticket(subject="s", created_at=T0, tags=EMAIL)  # type: ignore[arg-type]
        assert EMAIL not in str(err.value)

    def test_not_found_and_permission_messages(self) -> None:
        """The ids in not-found and permission messages are masked; the attributes are not."""
        nf = tk.NotFoundError("customer", PHONE)
        assert PHONE not in str(nf)
        assert PHONE == nf.id
        pd = tk.PermissionDeniedError(
            f"customer:{PHONE}", "read", "ticket T1", "not the customer's own ticket"
        )
        assert PHONE not in str(pd)

    def test_logging_notifier_masks(self, caplog: pytest.LogCaptureFixture) -> None:
        """The log line carries no phone, e-mail or customer name."""
        n = tk.Notification(
            kind="comment.added",
            recipients=[f"customer:{PHONE}"],
            ticket=tk.Ticket(subject="s", id="T1", created_at=T0, customer=customer()),
            message=f"王芳 wrote: call {PHONE} or {EMAIL}",
            at=T0,
        )
        with caplog.at_level(logging.INFO, logger="ticketkit.notify"):
            tk.LoggingNotifier().send(n)
        assert 1 == len(caplog.records)
        line = caplog.records[0].getMessage()
        for secret in (PHONE, EMAIL, "王芳"):
            assert secret not in line
        assert "138****5678" in line


# --------------------------------------------------------------------------- redaction


def desk_history(**open_kw: Any) -> tuple[tk.Ticket, list[tk.Event]]:
    """A ticket and its events as the desk writes them."""
    desk = tk.Helpdesk(store=tk.InMemoryStore(), clock=ManualClock(T0))
    admin = tk.Actor(id="boss", roles={"admin"})
    t = desk.open(**open_kw)
    desk.comment(t.id, f"we will call {PHONE}", actor=admin)
    return desk.get(t.id, actor=admin), desk.history(t.id, actor=admin)


_FILLER = st.text(alphabet=st.sampled_from(list("请回电话给我谢谢 abc,.")), max_size=15)


class TestRedact:
    @given(left=_FILLER, right=_FILLER)
    def test_redacted_value_is_gone_and_the_rest_unchanged(self, left: str, right: str) -> None:
        """The span's text appears nowhere in the output; everything else is as it was."""
        subject = (left + PHONE + right).strip() or PHONE
        start = subject.index(PHONE)
        t, events = desk_history(subject=subject, customer="c-1", description="nothing here")
        r = tk.redact_ticket(
            t,
            events,
            [tk.RedactSpan(path="subject", start=start, end=start + len(PHONE))],
            reason="customer asked",
            actor="agent:li",
            at=T0 + timedelta(hours=1),
        )
        out = everything(r.ticket, *r.events, r.event)
        assert PHONE not in out
        before, after = tk.to_dict(t), tk.to_dict(r.ticket)
        for key in set(before) - {"subject", "version", "updated_at"}:
            assert before[key] == after[key], key
        assert subject.replace(PHONE, "[redacted]") == r.ticket.subject
        assert t.version + 1 == r.ticket.version == r.event.version
        for old, new in zip(events, r.events, strict=True):
            if PHONE not in everything(old):
                assert old == new
            else:
                assert (old.id, old.kind, old.at, old.version) == (new.id, new.kind, new.at, new.version)
        assert REDACTED == r.event.kind
        assert [{"path": "subject", "kind": "phone", "length": 11}] == [
            dict(x) for x in r.event.data["removed"]
        ]
        assert "customer asked" == r.event.data["reason"]

    def test_every_path_kind(self) -> None:
        """Fields, customer attributes and data, tags, comments and event data can be redacted."""
        t, events = desk_history(
            subject="hello",
            customer=customer(),
            tags=["vip-line"],
            fields={"contact": {"note": "secret-note-123"}},
            transcript=[("customer", "my card 4111 1111 1111 1111")],
        )
        comment_id = next(
            e.data["comment"]["id"] for e in events if e.kind == "comment.added" and "4111" in str(e.data)
        )
        created = next(e for e in events if e.kind == "ticket.created")
        r = tk.redact_ticket(
            t,
            events,
            [
                "fields.contact.note",
                "customer.email",
                "customer.data.id_card",
                "tags.vip-line",
                tk.RedactSpan(path=f"comment.{comment_id}", start=8, end=27),
                f"event.{created.id}.data.channel",
            ],
            reason="erasure request 42",
            actor="agent:li",
            at=T0 + timedelta(hours=1),
        )
        out = everything(r.ticket, *r.events, r.event)
        for secret in ("secret-note-123", EMAIL, IDNO, "vip-line", "4111 1111 1111 1111"):
            assert secret not in out
        kinds = {x["path"]: x["kind"] for x in r.event.data["removed"]}
        assert "email" == kinds["customer.email"]
        assert "bank_card" == kinds[f"comment.{comment_id}"]
        assert "id_number" == kinds["customer.data.id_card"]
        assert r.ticket.customer.email is None

    @pytest.mark.parametrize(
        ("span", "path"),
        [
            ("nowhere", "nowhere"),
            ("fields.missing", "fields.missing"),
            ("tags.missing", "tags.missing"),
            ("customer.age", "customer.age"),
            ("external_ref", "external_ref"),
            ("event.nope.data.x", "event.nope.data.x"),
            (tk.RedactSpan(path="subject", start=0, end=999), "subject"),
        ],
    )
    def test_bad_targets(self, span: Any, path: str) -> None:
        """A path that names nothing, or a span beyond its text, is a ValidationError naming it."""
        t, events = desk_history(subject="hello", customer="c-1")
        with pytest.raises(tk.ValidationError) as err:
            tk.redact_ticket(t, events, [span], reason="r", actor="agent:li", at=T0)
        assert path == err.value.errors[0].path

    def test_bad_arguments(self) -> None:
        """No reason, a naive instant or a bad span are refused."""
        t, events = desk_history(subject="hello")
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(t, events, ["subject"], reason=" ", actor="a", at=T0)
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(t, events, ["subject"], reason="r", actor="a", at=datetime(2025, 1, 1))
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(t, events, [3], reason="r", actor="a", at=T0)  # type: ignore[list-item]
        with pytest.raises(tk.ValidationError):
            tk.RedactSpan(path="subject", start=3)
        with pytest.raises(tk.ValidationError):
            tk.RedactSpan(path="a..b", start=4, end=2)
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(t, events, ["customer.name"], reason="r", actor="a", at=T0)


# --------------------------------------------------------------------------- anonymisation


class TestAnonymize:
    def history(self) -> tuple[tk.Ticket, list[tk.Event]]:
        return desk_history(
            subject=f"王芳 {PHONE} 退货",
            description=f"mail {EMAIL}, SN 1234 5678",
            customer=customer(),
            category="return",
            external_ref="wx-998877",
            fields={"contact": {"name": "王芳", "addr": "上海市浦东新区XX路100号"}, "order": "A-1009"},
            transcript=[("customer", f"我是王芳，身份证 {IDNO}，电话 {PHONE}")],
        )

    def test_nothing_identifying_left(self) -> None:
        """The customer's name, phone, e-mail, id, declared data and reference are gone everywhere."""
        t, events = self.history()
        personal = tk.PersonalFields(customer={"name", "email", "phone", "data.id_card"}, fields={"contact"})
        e = tk.anonymize_ticket(
            t,
            events,
            customer_id=PHONE,
            actor="system:privacy",
            at=T0 + timedelta(days=1),
            personal=personal,
            pseudonym="anon-7",
        )
        out = everything(e.ticket, *e.events, e.event)
        for secret in (PHONE, EMAIL, IDNO, "王芳", "浦东新区", "wx-998877"):
            assert secret not in out, secret
        assert e.changed
        assert ANONYMIZED == e.event.kind
        assert "anon-7" == e.ticket.customer.id
        assert ANONYMIZED_TAG in e.ticket.tags
        assert all(set(r) == {"path", "kind", "length"} for r in e.event.data["removed"])

    def test_an_id_alone_is_still_erased(self) -> None:
        """A customer known only by an id (a WeChat openid) is anonymised: the id goes, and is reported."""
        t = tk.Ticket(subject="冰箱坏了", created_at=T0, customer=tk.Customer(id="wechat_openid:oX7-abc"))
        e = tk.anonymize_ticket(
            t, [], customer_id="wechat_openid:oX7-abc", actor="system:privacy", at=T0, pseudonym="anon-8"
        )
        assert e.changed
        assert "anon-8" == e.ticket.customer.id  # type: ignore[union-attr]
        assert [{"path": "customer.id", "kind": "customer", "length": 21}] == [dict(r) for r in e.removed]

    def test_reports_keep_their_inputs(self) -> None:
        """Counts, instants, statuses, categories, tier and shop are unchanged."""
        t, events = self.history()
        e = tk.anonymize_ticket(
            t, events, customer_id=PHONE, actor="system:privacy", at=T0 + timedelta(days=1)
        )
        assert len(events) == len(e.events)
        assert [(x.id, x.kind, x.at, x.version) for x in events] == [
            (x.id, x.kind, x.at, x.version) for x in e.events
        ]
        for name in ("id", "status", "status_kind", "category", "priority", "created_at", "team", "channel"):
            assert getattr(t, name) == getattr(e.ticket, name)
        assert ("vip", "sh-01") == (e.ticket.customer.tier, e.ticket.customer.data["store"])
        assert "SN 1234 5678" in e.ticket.description
        assert "A-1009" == e.ticket.fields["order"]

    def test_monthly_report_unchanged(self) -> None:
        """The monthly report over anonymised tickets counts the same as before."""
        from ticketkit.analytics import monthly_report

        pairs = [self.history() for _ in range(3)]
        erased = [
            tk.anonymize_ticket(t, ev, customer_id=PHONE, actor="system:privacy", at=T0, pseudonym="p")
            for t, ev in pairs
        ]
        before = monthly_report(
            [t for t, _ in pairs], month="2025-03", events=[e for _, ev in pairs for e in ev]
        )
        after = monthly_report(
            [x.ticket for x in erased], month="2025-03", events=[e for x in erased for e in x.events]
        )
        assert before.overview.rows == after.overview.rows

    def test_other_customer_untouched(self) -> None:
        """A ticket of another customer comes back as it was, with nothing removed."""
        t, events = self.history()
        e = tk.anonymize_ticket(t, events, customer_id="someone-else", actor="system:privacy", at=T0)
        assert (t, tuple(events), False) == (e.ticket, e.events, e.changed)

    def test_bad_arguments(self) -> None:
        """Empty ids and naive instants are refused."""
        t, events = self.history()
        with pytest.raises(tk.ValidationError):
            tk.anonymize_ticket(t, events, customer_id="", actor="a", at=T0)
        with pytest.raises(tk.ValidationError):
            tk.anonymize_ticket(t, events, customer_id=PHONE, actor="a", at=datetime(2025, 1, 1))


# --------------------------------------------------------------------------- retention


periods = st.builds(
    relativedelta,
    years=st.integers(0, 20),
    months=st.integers(0, 11),
    days=st.integers(0, 400),
    hours=st.integers(0, 23),
).filter(lambda p: datetime(2000, 1, 1) + p > datetime(2000, 1, 1))


class TestRetentionPolicy:
    @pytest.mark.parametrize(
        ("text", "period"),
        [
            ("P1Y", relativedelta(years=1)),
            ("P6M", relativedelta(months=6)),
            ("P1Y6M10D", relativedelta(years=1, months=6, days=10)),
            ("P2W", relativedelta(days=14)),
            ("PT12H", relativedelta(hours=12)),
            ("18 months", relativedelta(years=1, months=6)),
            ("2y 3mo", relativedelta(years=2, months=3)),
            ("90 days", relativedelta(days=90)),
            ("1 week, 2 days", relativedelta(days=9)),
            (timedelta(days=30), relativedelta(days=30)),
            (3600, relativedelta(hours=1)),
            (relativedelta(months=13), relativedelta(years=1, months=1)),
        ],
    )
    def test_parse_period(self, text: Any, period: relativedelta) -> None:
        """Periods come as ISO 8601, words, timedeltas, seconds or relativedeltas."""
        assert period == tk.parse_period(text)

    @pytest.mark.parametrize(
        "bad", ["soon", "P", "-P1Y", "P0D", 0, True, None, relativedelta(month=3), "1 fortnight"]
    )
    def test_bad_period(self, bad: Any) -> None:
        """Anything else, zero and negative periods are refused."""
        with pytest.raises(tk.ValidationError):
            tk.parse_period(bad, "after")

    @given(periods)
    def test_period_round_trip(self, period: relativedelta) -> None:
        """format then parse gives the same period."""
        assert period.normalized() == tk.parse_period(format_period(period)).normalized()

    @given(
        period=periods,
        action=st.sampled_from(["anonymize", "purge"]),
        since=st.sampled_from(["closed_at", "resolved_at", "updated_at", "created_at"]),
    )
    def test_round_trip(self, period: relativedelta, action: str, since: str) -> None:
        """A policy round-trips through its data form and JSON."""
        p = tk.RetentionPolicy(name="p", when=tk.F.category == "x", after=period, action=action, since=since)
        assert p == tk.RetentionPolicy.from_dict(json.loads(json.dumps(p.to_dict())))

    def test_every_problem_listed(self) -> None:
        """A bad policy lists every problem with its path."""
        with pytest.raises(tk.ValidationError) as err:
            tk.RetentionPolicy.from_dict(
                {
                    "name": "",
                    "when": {"field": "x", "op": "bogus"},
                    "action": "delete",
                    "since": "never",
                    "x": 1,
                },
                path="retention[0]",
            )
        paths = [e.path for e in err.value.errors]
        assert paths == sorted(paths)
        assert {"retention[0].action", "retention[0].after", "retention[0].since", "retention[0].x"} <= set(
            paths
        )
        assert any(p.startswith("retention[0].when") for p in paths)
        with pytest.raises(tk.ValidationError):
            tk.RetentionPolicy.from_dict("P1Y")
        with pytest.raises(tk.ValidationError):
            tk.RetentionPolicy(after="P1Y", when="category == x")  # type: ignore[arg-type]

    def test_due_counts_calendar_months(self) -> None:
        """A month after 31 January is the end of February; open tickets are never due."""
        closed = datetime(2025, 1, 31, 18, tzinfo=UTC)
        t = tk.Ticket(subject="s", created_at=closed - timedelta(days=3), closed_at=closed)
        p = tk.RetentionPolicy(after="P1M")
        assert datetime(2025, 2, 28, 18, tzinfo=UTC) == p.due_at(t)
        assert not p.is_due(t, at=datetime(2025, 2, 28, 17, tzinfo=UTC))
        assert p.is_due(t, at=datetime(2025, 2, 28, 18, tzinfo=UTC))
        assert p.due_at(attrs.evolve(t, closed_at=None)) is None
        assert tk.RetentionPolicy(after="P1M", since="created_at").due_at(attrs.evolve(t, closed_at=None))

    def test_condition_and_anonymized_once(self) -> None:
        """Only matching tickets are due, and an anonymised ticket is never anonymised again."""
        t = tk.Ticket(subject="s", category="complaint", created_at=T0, closed_at=T0)
        anon = tk.RetentionPolicy(when=tk.F.category == "complaint", after="P1Y")
        purge = tk.RetentionPolicy(
            name="purge", when=tk.F.category == "complaint", after="P3Y", action="purge"
        )
        assert anon.due_at(attrs.evolve(t, category="other")) is None
        later = T0 + relativedelta(years=5)
        first = tk.retention_due(t, [purge, anon], at=later)
        assert first is not None
        assert ("anonymize", T0 + relativedelta(years=1)) == (
            first.action,
            first.due_at,
        )
        done = attrs.evolve(t, tags=t.tags | {ANONYMIZED_TAG})
        second = tk.retention_due(done, [purge, anon], at=later)
        assert second is not None
        assert "purge" == second.action
        assert tk.retention_due(done, [anon]) is None
        with pytest.raises(tk.ValidationError):
            anon.is_due(t, at=datetime(2025, 1, 1))

    def test_time_conditions_need_at(self) -> None:
        """A condition on age is evaluated at the given instant."""
        t = tk.Ticket(subject="s", created_at=T0, closed_at=T0)
        p = tk.RetentionPolicy(when=tk.F.created_at.age_over(timedelta(days=10)), after="P1D")
        assert p.due_at(t, at=T0 + timedelta(days=11)) is not None
        assert p.due_at(t, at=T0 + timedelta(days=2)) is None

    def test_dry_run_report(self) -> None:
        """The report says what would happen now, what later, and how many never."""
        old = [tk.Ticket(subject=f"o{i}", created_at=T0, closed_at=T0) for i in range(3)]
        recent = tk.Ticket(subject="r", created_at=T0, closed_at=T0 + timedelta(days=300))
        complaint = tk.Ticket(subject="c", category="complaint", created_at=T0, closed_at=T0)
        still_open = tk.Ticket(subject="n", created_at=T0)
        policies = [
            tk.RetentionPolicy(
                name="purge complaints", when=tk.F.category == "complaint", after="P6M", action="purge"
            ),
            tk.RetentionPolicy(name="anonymize", after="P1Y"),
        ]
        at = T0 + relativedelta(years=1, days=1)
        report = tk.retention_report([*old, recent, complaint, still_open], policies, at=at)
        assert {"anonymize": 3, "purge": 1} == report.counts
        assert 1 == len(report.later)
        assert 1 == report.never
        data = report.to_dict()
        assert 4 == len(data["due"])
        assert 1 == data["later"]
        assert {"anonymize": 3, "purge": 1} == data["counts"]
        assert "purge complaints" == data["due"][0]["policy"]
        json.dumps(data)


class TestEdges:
    def test_mask_personal_passes_non_text_through(self) -> None:
        """Something that is not a str comes back unchanged."""
        assert 42 == tk.mask_personal(42)  # type: ignore[arg-type]

    def test_personal_fields_type_errors(self) -> None:
        """A single string, or non-string paths, are refused."""
        with pytest.raises(tk.ValidationError):
            tk.PersonalFields(customer="name")
        with pytest.raises(tk.ValidationError):
            tk.PersonalFields(fields={1})  # type: ignore[arg-type]

    def test_declared_values_of_every_shape(self) -> None:
        """Declared objects, lists, numbers and None are masked inside; missing paths are skipped."""
        t = tk.Ticket(
            subject="s",
            created_at=T0,
            customer=tk.Customer(
                id="c-1", data={"ids": [{"no": 20251234}, {"no": "A7"}], "kin": {"n": "Li"}}
            ),
            fields={"a": {"b": [1, None, "xy"]}, "n": None},
        )
        personal = tk.PersonalFields(
            customer={"data.ids.no", "data.kin", "data.none"}, fields={"a", "n", "z.y"}
        )
        m = tk.mask_ticket(t, personal=personal)
        assert {"b": ("***", None, "x*")} == m.fields["a"]
        assert m.fields["n"] is None
        assert "***" == m.customer.data["ids"][0]["no"]
        assert "A*" == m.customer.data["ids"][1]["no"]
        assert {"n": "L*"} == m.customer.data["kin"]
        e = tk.Event(ticket_id="T1", kind="fields.changed", actor="a", at=T0, data={"changes": "odd"})
        assert e.data == tk.mask_event(e, personal=personal).data

    def test_other_regions(self) -> None:
        """Numbers without a country code are read in the region given."""
        text = "at (415) 555-2671"
        assert [] == [f.kind for f in tk.detect_personal(text)]
        assert ["phone"] == [f.kind for f in tk.detect_personal(text, region="US")]
        assert () == tk.detect_personal("1 2 3 4 5 6 7 8 9 0 1")
        assert () == tk.detect_personal("tel 12345678", region="ZZ")

    def test_redact_structured_values(self) -> None:
        """Redacting an object removes every string and number in it, wherever they are copied."""
        t = tk.Ticket(
            subject="s",
            created_at=T0,
            customer=tk.Customer(id="c-1", name="Li Lei", data={"card": {"no": 62000000000000005}}),
            fields={
                "contact": {"tel": 13812345678, "names": ["Li Lei"]},
                "other": 13812345678,
                "k": {"x": 1},
            },
        )
        spans = ["fields.contact", "customer.data.card", tk.RedactSpan(path="customer.name", start=0, end=2)]
        r = tk.redact_ticket(t, [], spans, reason="r", actor="a", at=T0)
        assert r.ticket.fields["other"] is None
        assert r.ticket.fields["contact"] is None
        assert "[redacted] Lei" == r.ticket.customer.name
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(
                t, [], [tk.RedactSpan(path="fields.k", start=0, end=1)], reason="r", actor="a", at=T0
            )
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(t, [], ["customer.other.x"], reason="r", actor="a", at=T0)
        bare = tk.Ticket(subject="s", created_at=T0)
        with pytest.raises(tk.ValidationError):
            tk.redact_ticket(bare, [], ["customer.email"], reason="r", actor="a", at=T0)

    def test_redact_key_collisions(self) -> None:
        """Keys that become equal after redaction are both kept."""
        t = tk.Ticket(
            subject="s", created_at=T0, fields={"ab-secret": 1, "ab-[redacted]": 2, "note": "secret"}
        )
        r = tk.redact_ticket(t, [], ["fields.note"], reason="r", actor="a", at=T0)
        assert 3 == len(r.ticket.fields)

    def test_anonymize_declared_customer_data_and_lists(self) -> None:
        """Declared customer data goes; lists in event data are scrubbed item by item."""
        c = tk.Customer(id="c-12345", name="Li Lei", data={"patient": "P-778899", "store": "sh-01"})
        t = tk.Ticket(subject="Li Lei again", created_at=T0, customer=c)
        e = tk.Event(
            ticket_id=t.id,
            kind="x.y",
            actor="customer:c-12345",
            at=T0,
            data={"seen": ["Li Lei", 3, "c-12345"]},
        )
        personal = tk.PersonalFields(customer={"name", "data.patient"})
        out = tk.anonymize_ticket(
            t, [e], customer_id="c-12345", actor="a", at=T0, personal=personal, pseudonym="p"
        )
        assert ["[name]", 3, "p"] == list(out.events[0].data["seen"])
        assert "customer:p" == out.events[0].actor
        assert "P-778899" not in everything(out.ticket, *out.events, out.event)
        assert {"patient": None, "store": "sh-01"} == dict(out.ticket.customer.data)

    def test_periods_edges(self) -> None:
        """Empty text and zero are no periods; a zero period formats as PT0S."""
        for bad in ("", "   ", "P0Y"):
            with pytest.raises(tk.ValidationError):
                tk.parse_period(bad)
        assert "PT0S" == format_period(relativedelta())
        assert tk.Condition() == tk.RetentionPolicy(after="P1D", when=None).when  # type: ignore[arg-type]
        with pytest.raises(tk.ValidationError):
            tk.RetentionPolicy(after="sometime")
