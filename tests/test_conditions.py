"""Conditions: the data form, the F builder, compiled evaluation, explain, load-time checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit import (
    Condition,
    ConditionFailure,
    Customer,
    Event,
    F,
    FieldRef,
    Priority,
    Ticket,
    ValidationError,
)
from ticketkit.conditions._conditions import OPERATORS, field_type, read_field

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


@attrs.frozen
class FakeCalendar:
    """Open 09:00-17:00 UTC on weekdays; stands in for BusinessCalendar."""

    name: str = "office"

    def is_open(self, at: datetime) -> bool:
        u = at.astimezone(UTC)
        return u.weekday() < 5 and 9 <= u.hour < 17


def ticket(**kw: Any) -> Ticket:
    base: dict[str, Any] = {"subject": "Wrong size delivered", "created_at": T0}
    base.update(kw)
    return Ticket(**base)


VIP = Customer(id="c1", tier="vip", data={"store": "sh-01", "visits": 3, "address": {"city": "Shanghai"}})


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in exc.value.errors]


class TestFromDict:
    def test_leaf_round_trip(self) -> None:
        """A leaf reads back from its own data form."""
        data = {"field": "customer.tier", "op": "eq", "value": "vip"}
        assert data == Condition.from_dict(data).to_dict()

    def test_nested_round_trip(self) -> None:
        """all/any/not trees read back unchanged."""
        data = {
            "all": [
                {"field": "category", "op": "in", "value": ["complaint", "return"]},
                {
                    "any": [
                        {"field": "priority", "op": "ge", "value": "high"},
                        {"not": {"field": "tags", "op": "contains", "value": "spam"}},
                    ]
                },
                {"field": "team", "op": "eq", "ref": "customer.store"},
                {"field": "created_at", "op": "age_over", "value": "PT4H"},
                {
                    "field": "created_at",
                    "op": "between",
                    "value": ["2025-01-01T00:00:00+00:00", "2025-12-31T00:00:00+00:00"],
                },
                {"field": "assignee", "op": "exists", "value": False},
            ]
        }
        assert data == Condition.from_dict(data).to_dict()

    def test_condition_passes_through(self) -> None:
        """from_dict returns a Condition given one."""
        c = F.category == "x"
        assert c is Condition.from_dict(c)

    def test_every_problem_with_its_path(self) -> None:
        """Unknown field, unknown operator, bad regex, gt on text and a bad priority are all reported."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict(
                {
                    "all": [
                        {"field": "colour", "op": "eq", "value": "red"},
                        {"field": "category", "op": "equals", "value": "x"},
                        {"field": "subject", "op": "matches", "value": "(unclosed"},
                        {"field": "subject", "op": "gt", "value": "a"},
                        {"any": [{"field": "priority", "op": "eq", "value": "asap"}]},
                    ]
                }
            )
        assert ["all[0].field", "all[1].op", "all[2].value", "all[3].op", "all[4].any[0].value"] == paths(exc)

    def test_unknown_operator_lists_known(self) -> None:
        """The message for an unknown operator lists the operators."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict({"field": "category", "op": "equals", "value": "x"})
        assert "unknown operator 'equals' (expected one of: eq, ne," in exc.value.errors[0].message

    def test_gt_on_text_message(self) -> None:
        """gt on a text field says which operators apply."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict({"field": "subject", "op": "gt", "value": "a"})
        assert exc.value.errors[0].message.startswith("operator 'gt' does not apply to text field 'subject'")

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ("category", [""]),
            ({"all": "x"}, ["all"]),
            ({"all": [], "any": []}, [""]),
            ({"field": "category"}, ["op"]),
            ({"op": "eq"}, ["field"]),
            ({"field": "category", "op": "eq", "value": 1}, ["value"]),
            ({"field": "category", "op": "eq", "valeu": 1}, ["valeu"]),
            ({"field": "category", "op": "in", "value": "abc"}, ["value"]),
            ({"field": "category", "op": "in", "value": ["a", 2]}, ["value[1]"]),
            ({"field": "category", "op": "contains"}, ["value"]),
            ({"field": "category", "op": "exists", "value": "yes"}, ["value"]),
            ({"field": "satisfaction", "op": "between", "value": [5, 1]}, ["value"]),
            ({"field": "satisfaction", "op": "between", "value": [1]}, ["value"]),
            ({"field": "satisfaction", "op": "gt", "value": "3"}, ["value"]),
            ({"field": "created_at", "op": "gt", "value": "2025-01-01T00:00:00"}, ["value"]),
            ({"field": "created_at", "op": "age_over", "value": "soon"}, ["value"]),
            ({"field": "created_at", "op": "age_over", "value": -5}, ["value"]),
            ({"field": "created_at", "op": "in_business_hours", "value": "office"}, ["value"]),
            ({"field": "created_at", "op": "in_business_hours", "value": 3}, ["value"]),
            ({"field": "tags", "op": "eq", "value": "x"}, ["op"]),
            ({"field": "customer", "op": "eq", "value": "x"}, ["op"]),
            ({"field": "team", "op": "eq", "value": "a", "ref": "customer.store"}, ["ref"]),
            ({"field": "team", "op": "eq", "ref": "nowhere"}, ["ref"]),
            ({"field": "team", "op": "eq", "ref": "customer"}, ["ref"]),
            ({"field": "satisfaction", "op": "gt", "ref": "subject"}, ["ref"]),
            ({"field": "created_at", "op": "age_over", "ref": "updated_at"}, ["ref"]),
            ({"field": "fields.x", "op": "gt", "value": [1]}, ["value"]),
            ({"field": "fields.x", "op": "matches", "value": 3}, ["value"]),
            ({"field": "fields..x", "op": "eq", "value": 1}, ["field"]),
            ({"field": "customer.tier.x", "op": "eq", "value": 1}, ["field"]),
            ({"field": "category.x", "op": "eq", "value": 1}, ["field"]),
            ({"not": [{"field": "category", "op": "eq", "value": "x"}]}, ["not"]),
        ],
    )
    def test_bad_leaf(self, data: Any, expected: list[str]) -> None:
        """Each malformed condition fails at load with the path of its problem."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict(data)
        assert expected == paths(exc)

    def test_path_prefix(self) -> None:
        """from_dict puts every problem under the path it is given."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict({"all": [{"field": "x", "op": "eq", "value": 1}]}, path="rules[3].when")
        assert ["rules[3].when.all[0].field"] == paths(exc)

    def test_calendar_by_name(self) -> None:
        """in_business_hours names a calendar passed at load, and writes the name back."""
        data = {"field": "created_at", "op": "in_business_hours", "value": "office"}
        c = Condition.from_dict(data, calendars={"office": FakeCalendar()})
        assert data == c.to_dict()
        assert c.evaluate(ticket())
        assert not c.evaluate(ticket(created_at=T0.replace(hour=20)))

    def test_priority_names_normalized(self) -> None:
        """Priority names in any case load to the same condition."""
        assert Condition.from_dict({"field": "priority", "op": "eq", "value": "HIGH"}) == (
            F.priority == "high"
        )

    def test_datetime_value_from_iso(self) -> None:
        """ISO 8601 strings with an offset load as datetimes on datetime fields."""
        c = Condition.from_dict({"field": "created_at", "op": "ge", "value": "2025-03-03T09:00:00Z"})
        assert c == (F.created_at >= T0)


class TestBuilder:
    def test_builder_matches_data(self) -> None:
        """F builds the same tree as the data form."""
        built = (F.category == "complaint") & F.customer.tier.in_(["vip", "svip"]) | ~F.tags.contains("spam")
        data = {
            "any": [
                {
                    "all": [
                        {"field": "category", "op": "eq", "value": "complaint"},
                        {"field": "customer.tier", "op": "in", "value": ["vip", "svip"]},
                    ]
                },
                {"not": {"field": "tags", "op": "contains", "value": "spam"}},
            ]
        }
        assert data == built.to_dict()
        assert built == Condition.from_dict(data)

    def test_and_flattens(self) -> None:
        """a & b & c is one all with three children."""
        c = (F.category == "a") & (F.channel == "web") & (F.team == "t")
        assert 3 == len(c.children)

    def test_or_flattens(self) -> None:
        """a | b | c is one any with three children."""
        c = (F.category == "a") | (F.channel == "web") | (F.team == "t")
        assert ("any", 3) == (c.kind, len(c.children))

    def test_field_ref_makes_ref(self) -> None:
        """Comparing two fields makes a ref test."""
        assert {"field": "team", "op": "eq", "ref": "customer.store"} == (
            F.team == F.customer.store
        ).to_dict()

    def test_getitem_for_clashing_names(self) -> None:
        """F['fields']['contains'] reaches a key named like a method."""
        assert "fields.contains" == F["fields"]["contains"].path
        assert "fields.contains" == F.fields["contains"].path

    def test_all_methods(self) -> None:
        """Every builder method makes the operator of its name."""
        made = [
            F.category != "x",
            F.category.not_in(["a"]),
            F.subject.startswith("Re:"),
            F.subject.matches(r"\d+"),
            F.satisfaction.between(1, 3),
            F.satisfaction < 3,
            F.satisfaction <= 3,
            F.satisfaction > 3,
            F.satisfaction >= 3,
            F.assignee.exists(),
            F.created_at.age_over("1h"),
            F.created_at.age_under(timedelta(hours=1)),
            F.at.in_business_hours(FakeCalendar()),
        ]
        assert [
            "ne",
            "not_in",
            "startswith",
            "matches",
            "between",
            "lt",
            "le",
            "gt",
            "ge",
            "exists",
            "age_over",
            "age_under",
            "in_business_hours",
        ] == [c.op for c in made]

    def test_bad_builder_raises(self) -> None:
        """The builder checks as the data form does."""
        with pytest.raises(ValidationError):
            _ = F.subject > "a"
        with pytest.raises(ValidationError):
            _ = F.colour == "red"
        with pytest.raises(ValidationError):
            F.category.contains(None)

    def test_field_ref_read_only(self) -> None:
        """Field references cannot be assigned to."""
        with pytest.raises(AttributeError):
            F.x = 1  # type: ignore[misc]
        assert "F.customer.tier" == repr(F.customer.tier)
        assert isinstance(F.category, FieldRef)

    def test_always_never(self) -> None:
        """always holds and never does not, for any ticket."""
        assert (True, False) == (Condition.always().evaluate(ticket()), Condition.never().evaluate(ticket()))

    def test_str(self) -> None:
        """str() shows the condition readably."""
        c = ((F.category == "a") | (F.team == F.customer.store)) & F.assignee.exists(False)
        assert "(category eq 'a' or team eq customer.store) and assignee missing" == str(c)

    def test_sets_make_equal_conditions(self) -> None:
        """in_ with a set sorts it, so equal sets give equal conditions and data."""
        assert F.category.in_({"b", "a", "c"}) == F.category.in_(["a", "b", "c"])

    def test_leaf_constructor(self) -> None:
        """Condition.leaf builds one test."""
        assert (F.category == "x") == Condition.leaf("category", "eq", "x")


class TestEvaluate:
    @pytest.mark.parametrize(
        ("cond", "expected"),
        [
            (F.category == "complaint", True),
            (F.category != "complaint", False),
            (F.category.in_(["return", "complaint"]), True),
            (F.category.not_in(["return", "complaint"]), False),
            (F.subject.contains("size"), True),
            (F.subject.startswith("Wrong"), True),
            (
                F.subject.matches(
                    r"^wrong",
                ),
                False,
            ),
            (F.subject.matches(r"(?i)^wrong"), True),
            (F.priority >= "high", True),
            (F.priority > "high", False),
            (F.priority < "urgent", True),
            (F.priority <= "low", False),
            (F.priority.between("normal", "high"), True),
            (F.priority.in_(["high"]), True),
            (F.tags.contains("size"), True),
            (F.tags.contains("spam"), False),
            (F.tags.exists(), True),
            (F.assignee.exists(), False),
            (F.assignee.exists(False), True),
            (F.assignee == None, True),  # noqa: E711 - the builder overloads ==
            (F.customer.tier == "vip", True),
            (F.customer.store == "sh-01", True),
            (F.customer.data.store == "sh-01", True),
            (F.customer.address.city == "Shanghai", True),
            (F.customer.visits > 2, True),
            (F.customer.visits > "2", False),
            (F.customer.missing.exists(), False),
            (F.team == F.customer.store, True),
            (F.team != F.customer.store, False),
            (F.fields.order_total > 100, True),
            (F.fields.order_total.between(100, 150), True),
            (F.fields.order_total.between(151, 200), False),
            (F.fields.order_total == 150.0, True),
            (F.fields.flag == 1, False),
            (F.fields.flag == True, True),  # noqa: E712 - the builder overloads ==
            (F.fields.items.contains("sku-1"), True),
            (F.fields.items["0"] == "sku-1", True),
            (F.fields.items["9"].exists(), False),
            (F.fields.order_total.in_([150, 200]), True),
            (F.fields.order_total.not_in([150, 200]), False),
            (F.fields.nothing > 3, False),
            (F.fields.name.startswith("Li"), True),
            (F.fields.name.contains("Lei"), True),
            (F.fields.name.matches("^Li"), True),
            (F.fields.level == F.priority, True),
            (F.priority == F.fields.level, True),
            (F.priority > F.fields.level, False),
            (F.priority >= F.fields.level, True),
            (F.category.in_(F.fields.cats), True),
            (F.category.not_in(F.fields.cats), False),
            (F.fields.items.contains(F.fields.first), True),
            (F.subject.startswith(F.fields.prefix), True),
            (F.created_at < F.updated_at, True),
            (F.created_at.between(T0 - timedelta(1), T0), True),
        ],
    )
    def test_operator(self, cond: Condition, expected: bool) -> None:
        """Each operator gives the documented answer on a known ticket."""
        t = ticket(
            category="complaint",
            priority="high",
            tags=["size"],
            team="sh-01",
            customer=VIP,
            updated_at=T0 + timedelta(hours=1),
            fields={
                "order_total": 150,
                "flag": True,
                "items": ["sku-1", "sku-2"],
                "name": "Li Lei",
                "level": "high",
                "cats": ["complaint"],
                "first": "sku-1",
                "prefix": "Wrong",
            },
        )
        assert expected == cond.evaluate(t)

    def test_no_customer(self) -> None:
        """Customer paths read None when the ticket has no customer."""
        t = ticket()
        assert (False, True, False) == (
            (F.customer.tier == "vip").evaluate(t),
            F.customer.store.exists(False).evaluate(t),
            (F.team == F.customer.store).evaluate(t),
        )

    def test_context_paths(self) -> None:
        """context.<key> reaches values passed at evaluation, including Event objects."""
        ev = Event(ticket_id="T", kind="comment.added", actor="x", at=T0, data={"comment": {"public": True}})
        c = (F.context.event.kind == "comment.added") & (F.context.event.data.comment.public == True)  # noqa: E712
        assert (True, False) == (c.evaluate(ticket(), context={"event": ev}), c.evaluate(ticket()))
        assert F.context.exists().evaluate(ticket(), context={"a": 1})
        assert not (F.context.event._private == 1).evaluate(ticket(), context={"event": ev})

    def test_age(self) -> None:
        """age_over holds from the duration on; age_under before it."""
        c = F.created_at.age_over("4h")
        u = F.created_at.age_under("4h")
        t = ticket()
        assert [False, True, True] == [c.evaluate(t, at=T0 + timedelta(hours=h)) for h in (3, 4, 5)]
        assert [True, False] == [u.evaluate(t, at=T0 + timedelta(hours=h)) for h in (3, 4)]
        assert not F.resolved_at.age_over("1h").evaluate(t, at=T0)

    def test_at_field(self) -> None:
        """F.at is the evaluation instant."""
        c = F.at.in_business_hours(FakeCalendar())
        assert [True, False] == [c.evaluate(ticket(), at=T0), c.evaluate(ticket(), at=T0.replace(hour=22))]
        assert (F.at > T0).evaluate(ticket(), at=T0 + timedelta(1))

    def test_needs_at(self) -> None:
        """A time-relative condition without at fails, naming at."""
        with pytest.raises(ValidationError) as exc:
            F.created_at.age_over("1h").evaluate(ticket())
        assert ["at"] == paths(exc)

    def test_naive_at(self) -> None:
        """A naive at is refused."""
        with pytest.raises(ValidationError) as exc:
            (F.category == "x").evaluate(ticket(), at=datetime(2025, 1, 1))
        assert ["at"] == paths(exc)
        with pytest.raises(ValidationError):
            (F.category == "x").explain(ticket(), at=datetime(2025, 1, 1))

    def test_predicate_is_compiled_once(self) -> None:
        """The compiled closure is built at construction and reused."""
        c = F.subject.matches("size")
        assert c.predicate is c.predicate
        assert c.predicate(ticket(), None, None)

    def test_read_field(self) -> None:
        """read_field gives the value a path reaches, and refuses unknown paths."""
        assert "vip" == read_field(ticket(customer=VIP), "customer.tier")
        with pytest.raises(ValidationError):
            read_field(ticket(), "nope")


class TestExplain:
    def test_holds(self) -> None:
        """explain is None when the condition holds."""
        assert None is (F.category == "a").explain(ticket(category="a"))

    def test_first_failing_leaf(self) -> None:
        """explain names the first failing leaf of an all, with the actual value."""
        c = (F.category == "complaint") & (F.customer.tier == "vip") & (F.priority >= "high")
        f = c.explain(ticket(category="complaint", customer=Customer(id="c", tier="gold")))
        assert (
            ConditionFailure(path="all[1]", field="customer.tier", op="eq", expected="vip", actual="gold")
            == f
        )

    def test_any_lists_alternatives(self) -> None:
        """An any that fails lists each branch's failure."""
        c = (F.category == "a") | (F.channel == "web")
        f = c.explain(ticket(category="b", channel="email"))
        assert f is not None
        assert ["any[0]", "any[1]"] == [a.path for a in f.alternatives]
        assert "none of 2 alternatives held: category eq 'a': got 'b'; channel eq 'web': got 'email'" == str(
            f
        )

    def test_not(self) -> None:
        """A failing not names the inner test."""
        f = (~(F.category == "a")).explain(ticket(category="a"))
        assert f is not None
        assert ("not", "category", "not eq", "a") == (f.path, f.field, f.op, f.actual)
        g = (~((F.category == "a") & (F.channel == "api"))).explain(ticket(category="a"))
        assert g is not None
        assert "not" == g.op

    def test_ref_expected_shows_other_value(self) -> None:
        """A failing ref test shows the other field and its value."""
        f = (F.team == F.customer.store).explain(ticket(team="bj-02", customer=VIP))
        assert f is not None
        assert "team eq \"customer.store = 'sh-01'\": got 'bj-02'" == str(f)

    def test_to_dict(self) -> None:
        """Failures serialize to JSON-safe data."""
        f = (F.priority >= "high").explain(ticket())
        assert f is not None
        assert {
            "path": "",
            "field": "priority",
            "op": "ge",
            "expected": "high",
            "actual": "normal",
        } == f.to_dict()


class TestPinned:
    def test_pinned(self) -> None:
        """eq and in pin a field; all intersects, any unites when every branch pins it."""
        c = (F.category.in_(["a", "b"])) & (F.category != "c") & (F.channel == "web")
        assert {"category": frozenset({"a", "b"}), "channel": frozenset({"web"})} == c.pinned()
        d = (F.category == "a") | ((F.category == "b") & (F.team == "t"))
        assert {"category": frozenset({"a", "b"})} == d.pinned()
        assert {} == ((F.category == "a") | (F.channel == "x")).pinned()
        assert {} == (~(F.category == "a")).pinned()
        assert {} == (F.fields.x == "a").pinned()

    def test_fields(self) -> None:
        """fields() lists every path read."""
        assert {"category", "team", "customer.store"} == (
            (F.category == "a") & (F.team == F.customer.store)
        ).fields()


class TestFieldType:
    def test_types(self) -> None:
        """Known paths have types; unknown ones None."""
        assert ["text", "priority", "set", "datetime", "object", "text", "any", "any", "any", None, None] == [
            field_type(p)
            for p in (
                "category",
                "priority",
                "tags",
                "at",
                "customer",
                "customer.tier",
                "customer.store",
                "fields.a.b",
                "context",
                "",
                "at.x",
            )
        ]


# --------------------------------------------------------------------------- slow reference


def slow_get(t: Ticket, path: str, at: datetime | None, ctx: Mapping[str, Any] | None) -> Any:
    """Read a field path the obvious way."""
    parts = path.split(".")
    if parts == ["at"]:
        return at
    if parts[0] == "context":
        obj: Any = ctx
        rest = parts[1:]
    elif parts[0] == "fields":
        obj, rest = t.fields, parts[1:]
    elif parts[0] == "customer":
        if t.customer is None:
            return None
        if len(parts) == 1:
            return t.customer
        if parts[1] in ("id", "name", "tier", "email", "phone", "tenant"):
            return getattr(t.customer, parts[1])
        obj, rest = t.customer.data, parts[2:] if parts[1] == "data" else parts[1:]
    else:
        return getattr(t, parts[0])
    for p in rest:
        if isinstance(obj, Mapping):
            obj = obj.get(p)
        elif isinstance(obj, tuple | list) and p.isdigit() and int(p) < len(obj):
            obj = obj[int(p)]
        elif obj is not None and attrs.has(type(obj)) and not p.startswith("_"):
            obj = getattr(obj, p, None)
        else:
            return None
    return obj


def as_rank(v: Any) -> Any:
    if isinstance(v, Priority):
        return v.rank
    return v


def slow_cmp(op: str, a: Any, b: Any) -> bool:
    """Ordering as documented: missing, booleans and mismatched types never compare."""
    if isinstance(a, Priority) and isinstance(b, str):
        b = Priority.parse(b) if b.lower() in ("low", "normal", "high", "urgent") else b
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, Priority) != isinstance(b, Priority):
        return False
    a, b = as_rank(a), as_rank(b)
    num = (int, float)
    if not ((isinstance(a, num) and isinstance(b, num)) or type(a) is type(b)):
        return False
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def slow_eq(a: Any, b: Any) -> bool:
    if isinstance(a, Priority) and isinstance(b, str):
        return a.value == b.lower()
    if isinstance(b, Priority) and isinstance(a, str):
        return b.value == a.lower()
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def slow_eval(d: Mapping[str, Any], t: Ticket, at: datetime | None, ctx: Mapping[str, Any] | None) -> bool:
    """Interpret the data form directly, with no compilation."""
    if "all" in d:
        return all(slow_eval(c, t, at, ctx) for c in d["all"])
    if "any" in d:
        return any(slow_eval(c, t, at, ctx) for c in d["any"])
    if "not" in d:
        return not slow_eval(d["not"], t, at, ctx)
    a = slow_get(t, d["field"], at, ctx)
    op = d["op"]
    if "ref" in d:
        b = slow_get(t, d["ref"], at, ctx)
    else:
        b = d.get("value")
        if isinstance(a, Priority) and op in ("eq", "ne", "gt", "ge", "lt", "le") and isinstance(b, str):
            b = Priority.parse(b)
        if isinstance(a, Priority) and op in ("in", "not_in", "between"):
            b = [Priority.parse(x) for x in b]
    if op == "eq":
        return a is not None and slow_eq(a, b) if "ref" in d else slow_eq(a, b)
    if op == "ne":
        return not (a is not None and slow_eq(a, b) if "ref" in d else slow_eq(a, b))
    if op in ("in", "not_in"):
        inside = isinstance(b, list | tuple) and any(slow_eq(a, x) for x in b)
        return inside if op == "in" else not inside
    if op == "contains":
        if isinstance(a, str):
            return isinstance(b, str) and b in a
        if isinstance(a, frozenset | tuple | list):
            return any(x == b for x in a)
        return False
    if op == "startswith":
        return isinstance(a, str) and isinstance(b, str) and a.startswith(b)
    if op == "matches":
        return isinstance(a, str) and re.search(b, a) is not None
    if op in ("gt", "ge", "lt", "le"):
        return slow_cmp(op, a, b)
    if op == "between":
        return slow_cmp("ge", a, b[0]) and slow_cmp("le", a, b[1])
    if op == "exists":
        present = (
            a is not None and a != "" and not (isinstance(a, tuple | list | frozenset | Mapping) and not a)
        )
        return present == d.get("value", True)
    if op in ("age_over", "age_under"):
        if not isinstance(a, datetime) or at is None:
            return False
        limit = {"PT1H": timedelta(hours=1), "PT4H": timedelta(hours=4)}[b]
        return (at - a >= limit) == (op == "age_over")
    raise AssertionError(op)


KEYS = ["a", "b"]
field_values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["x", "y", "high", ""])
    | st.lists(st.sampled_from(["x", "y", 1]), max_size=3)
)
words = st.sampled_from(["x", "y", "complaint", "web", "sh-01", "vip"])
names_or_none = st.none() | words


@st.composite
def random_tickets(draw: st.DrawFn) -> Ticket:
    """Tickets whose fields overlap the fields random conditions test."""
    customer = draw(
        st.none()
        | st.builds(
            lambda tier, data: Customer(id="c", tier=tier, data=data),
            words,
            st.dictionaries(st.sampled_from(["store", "a"]), field_values, max_size=2),
        )
    )
    return ticket(
        subject=draw(st.sampled_from(["x", "Wrong size", "xy"])),
        category=draw(names_or_none),
        channel=draw(words),
        team=draw(names_or_none),
        priority=draw(st.sampled_from(list(Priority))),
        tags=draw(st.frozensets(words, max_size=3)),
        customer=customer,
        satisfaction=draw(st.none() | st.integers(1, 5)),
        fields=draw(st.dictionaries(st.sampled_from(KEYS), field_values, max_size=2)),
        created_at=T0 - timedelta(minutes=draw(st.integers(0, 600))),
    )


any_paths = st.sampled_from(["fields.a", "fields.b", "customer.store", "customer.a", "context.k"])
text_paths = st.sampled_from(["category", "channel", "team", "subject", "customer.tier"])
scalar = st.integers(-3, 3) | st.sampled_from(["x", "y", "high"])

leaves = st.one_of(
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v}, text_paths, st.sampled_from(["eq", "ne"]), words
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        text_paths,
        st.sampled_from(["in", "not_in"]),
        st.lists(words, max_size=3),
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        text_paths,
        st.sampled_from(["contains", "startswith"]),
        st.sampled_from(["x", "W", "si", ""]),
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "matches", "value": v},
        text_paths | any_paths,
        st.sampled_from(["^x", "size$", "[0-9]", "y|z"]),
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.just("priority"),
        st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]),
        st.sampled_from(["low", "normal", "high", "urgent"]),
    ),
    st.builds(
        lambda v: {"field": "priority", "op": "between", "value": v},
        st.sampled_from([["low", "high"], ["high", "urgent"], ["normal", "normal"]]),
    ),
    st.builds(
        lambda op, v: {"field": "satisfaction", "op": op, "value": v},
        st.sampled_from(["gt", "ge", "lt", "le", "eq", "ne"]),
        st.integers(0, 6),
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        any_paths,
        st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "contains"]),
        scalar,
    ),
    st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        any_paths,
        st.sampled_from(["in", "not_in"]),
        st.lists(scalar, max_size=3),
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "between", "value": v},
        any_paths,
        st.sampled_from([[-1, 1], [0, 3], ["x", "y"]]),
    ),
    st.builds(
        lambda f, v: {"field": f, "op": "exists", "value": v},
        any_paths | text_paths | st.just("tags"),
        st.booleans(),
    ),
    st.builds(lambda v: {"field": "tags", "op": "contains", "value": v}, words),
    st.builds(
        lambda op, v: {"field": "created_at", "op": op, "value": v},
        st.sampled_from(["age_over", "age_under"]),
        st.sampled_from(["PT1H", "PT4H"]),
    ),
    st.builds(
        lambda f, op, r: {"field": f, "op": op, "ref": r},
        text_paths | any_paths,
        st.sampled_from(["eq", "ne", "in", "not_in", "contains", "startswith"]),
        text_paths | any_paths,
    ),
    st.builds(
        lambda op, r: {"field": "priority", "op": op, "ref": r},
        st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]),
        any_paths,
    ),
)
conditions = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(kids, max_size=3).map(lambda xs: {"any": xs}),
        kids.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)


class TestProperties:
    @given(conditions, random_tickets(), st.none() | st.dictionaries(st.just("k"), field_values))
    def test_compiled_agrees_with_slow_interpreter(
        self, data: dict[str, Any], t: Ticket, ctx: dict[str, Any] | None
    ) -> None:
        """The compiled closure and a direct interpreter of the data form agree."""
        c = Condition.from_dict(data)
        assert slow_eval(data, t, T0, ctx) == c.evaluate(t, at=T0, context=ctx)

    @given(conditions)
    def test_round_trip(self, data: dict[str, Any]) -> None:
        """from_dict(to_dict(c)) == c."""
        c = Condition.from_dict(data)
        assert c == Condition.from_dict(c.to_dict())

    @given(conditions, random_tickets())
    def test_explain_iff_fails(self, data: dict[str, Any], t: Ticket) -> None:
        """explain returns None exactly when the condition holds."""
        c = Condition.from_dict(data)
        assert (c.explain(t, at=T0) is None) == c.evaluate(t, at=T0)

    @given(conditions, random_tickets())
    def test_pinned_is_necessary(self, data: dict[str, Any], t: Ticket) -> None:
        """When a condition holds, every pinned field holds one of its pinned values."""
        c = Condition.from_dict(data)
        if c.evaluate(t, at=T0):
            for f, values in c.pinned().items():
                assert slow_get(t, f, T0, None) in values

    def test_every_operator_generated(self) -> None:
        """The random conditions cover every operator except in_business_hours (tested above)."""
        assert {op for op in OPERATORS if op != "in_business_hours"} <= {
            "eq", "ne", "in", "not_in", "contains", "startswith", "matches", "gt", "ge", "lt", "le",
            "between", "exists", "age_over", "age_under",
        }  # fmt: skip


class TestBusinessCalendar:
    def test_real_calendar_by_name(self) -> None:
        """in_business_hours works with a BusinessCalendar passed by name."""
        from ticketkit import BusinessCalendar

        cal = BusinessCalendar("Asia/Shanghai", {"mon-fri": ["09:00-12:00", "13:00-18:00"]}, name="sh")
        c = Condition.from_dict(
            {"field": "at", "op": "in_business_hours", "value": "sh"}, calendars={"sh": cal}
        )
        # T0 is 17:00 in Shanghai on a Monday; 12:30 is lunch
        assert [True, False, False] == [
            c.evaluate(ticket(), at=at)
            for at in (T0, T0 - timedelta(hours=4, minutes=30), T0 + timedelta(hours=2))
        ]
        assert {"field": "at", "op": "in_business_hours", "value": "sh"} == c.to_dict()

    def test_calendar_as_data(self) -> None:
        """A calendar without a name is written as data and read back."""
        from ticketkit import BusinessCalendar

        cal = BusinessCalendar("UTC", {"mon-fri": ["09:00-17:00"]})
        c = F.created_at.in_business_hours(cal)
        data = c.to_dict()
        assert {"tz": "UTC"}.items() <= data["value"].items()
        again = Condition.from_dict(data)
        assert again == c
        assert again.evaluate(ticket())

    def test_bad_calendar_data(self) -> None:
        """Calendar data with problems is reported under the value's path."""
        with pytest.raises(ValidationError) as exc:
            Condition.from_dict(
                {"field": "at", "op": "in_business_hours", "value": {"tz": "Mars/Base", "hours": {}}}
            )
        assert all(p.startswith("value") for p in paths(exc))
