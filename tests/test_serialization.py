"""Serialization: round-trips for every model, stable output, and errors that name their paths."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit as tk
from ticketkit import (
    Agent,
    Comment,
    Customer,
    Event,
    Team,
    Ticket,
    ValidationError,
    format_duration,
    from_dict,
    from_json,
    parse_duration,
    to_dict,
    to_json,
)

from .strategies import agents, comments, customers, events, links, teams, tickets

T0 = datetime(2025, 3, 3, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))


def bad_paths(cls: type, data: Any) -> list[str]:
    with pytest.raises(ValidationError) as err:
        from_dict(cls, data)
    return [e.path for e in err.value.errors]


class TestRoundTrip:
    @given(st.one_of(tickets(), customers, agents, teams, comments, events, links))
    def test_dict_round_trip(self, value: Any) -> None:
        """from_dict(to_dict(x)) == x for every model."""
        assert value == from_dict(type(value), to_dict(value))

    @given(tickets())
    def test_json_round_trip(self, ticket: Ticket) -> None:
        """from_json(to_json(t)) == t, offsets and microseconds included."""
        back = from_json(Ticket, to_json(ticket))
        assert ticket == back
        assert ticket.created_at.utcoffset() == back.created_at.utcoffset()

    @given(tickets())
    def test_output_is_stable(self, ticket: Ticket) -> None:
        """The same ticket always serializes to the same text."""
        assert to_json(ticket) == to_json(from_json(Ticket, to_json(ticket)))

    def test_shape(self) -> None:
        """Datetimes are ISO 8601 with offset, enums lower-case names, sets sorted lists."""
        t = Ticket(subject="退货", id="T1", created_at=T0, priority="urgent", tags={"b", "a"})
        d = to_dict(t)
        assert ("2025-03-03T09:30:00.123456+08:00", "urgent", ["a", "b"]) == (
            d["created_at"],
            d["priority"],
            d["tags"],
        )
        assert '"subject": "退货"' in to_json(t)

    def test_sla_state_round_trip(self) -> None:
        """Clock state with durations round-trips exactly."""
        sla = tk.SLAState(
            policy="vip",
            clocks=[
                tk.ClockState(
                    metric="resolution", elapsed=timedelta(hours=1, microseconds=7), running_since=T0
                )
            ],
            next_due_at=T0,
        )
        t = Ticket(subject="x", created_at=T0, sla=sla)
        assert t == from_json(Ticket, to_json(t))


class TestBadInput:
    def test_every_problem_named(self) -> None:
        """Wrong types, missing fields, unknown keys, naive datetimes, unknown priority: all listed."""
        good = to_dict(Ticket(subject="x", created_at=T0, customer=Customer(id="c")))
        bad = dict(good)
        del bad["subject"]
        bad.update(
            created_at="2025-03-03T09:30:00",
            priority="asap",
            tags=["a", 3],
            colour="red",
            customer={**good["customer"], "id": 5},
            links=[{"kind": "related"}],
        )
        assert sorted(
            ["subject", "created_at", "priority", "tags[1]", "colour", "customer.id", "links[0].ticket_id"]
        ) == sorted(bad_paths(Ticket, bad))

    def test_construction_errors_get_paths(self) -> None:
        """A model's own validation inside nested data keeps the nested path."""
        data = to_dict(Ticket(subject="x", created_at=T0, customer=Customer(id="c")))
        data["customer"]["tier"] = ""
        assert ["customer.tier"] == bad_paths(Ticket, data)

    def test_model_rules_listed_together(self) -> None:
        """Rules the model itself checks are all reported when the types are right."""
        data = to_dict(Ticket(subject="x", created_at=T0))
        data.update(subject=" ", satisfaction=9, status_kind="waiting")
        assert ["satisfaction", "status_kind", "subject"] == bad_paths(Ticket, data)

    def test_not_a_mapping(self) -> None:
        """A list where an object belongs is named."""
        assert [""] == bad_paths(Ticket, ["x"])

    def test_bad_json_text(self) -> None:
        """Text that is not JSON is a ValidationError, not a JSONDecodeError."""
        with pytest.raises(ValidationError, match="not valid JSON"):
            from_json(Customer, "{nope")

    @pytest.mark.parametrize(
        ("cls", "data", "expected"),
        [
            (Agent, {"id": "li", "capacity": "ten"}, ["capacity"]),
            (Agent, {"id": "li", "teams": "sales"}, ["teams"]),
            (Team, {"name": "x"}, ["id"]),
            (Comment, {"ticket_id": "T", "author": "a", "body": "b", "at": "yesterday"}, ["at"]),
            (Event, {"ticket_id": "T", "kind": "k", "actor": "a", "at": 5}, ["at"]),
            (Customer, {"id": "c", "data": [1]}, ["data"]),
            (
                Comment,
                {"ticket_id": "T", "author": "a", "body": "b", "at": T0.isoformat(), "public": "yes"},
                ["public"],
            ),
        ],
    )
    def test_wrong_types(self, cls: type, data: dict[str, Any], expected: list[str]) -> None:
        """Each wrong type is reported at its field."""
        assert expected == bad_paths(cls, data)


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("PT2H", 7200),
            ("PT2H30M", 9000),
            ("P1D", 86400),
            ("PT0.5S", 0.5),
            ("2h 30m", 9000),
            ("90m", 5400),
            ("45s", 45),
            ("1d 2h", 93600),
            (30, 30),
            (1.5, 1.5),
            ("-PT1H", -3600),
        ],
    )
    def test_parse(self, text: str | float, seconds: float) -> None:
        """ISO 8601, human text and seconds are all accepted."""
        assert timedelta(seconds=seconds) == parse_duration(text)

    @pytest.mark.parametrize("bad", ["", "2 hours", "P", "PT", "h", True, None, [1]])
    def test_parse_rejects(self, bad: object) -> None:
        """Anything else names the path and the accepted forms."""
        with pytest.raises(ValidationError, match="expected a duration") as err:
            parse_duration(bad, "targets.urgent.resolution")
        assert "targets.urgent.resolution" == err.value.errors[0].path

    @given(st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)))
    def test_format_round_trip(self, td: timedelta) -> None:
        """format_duration output parses back to the same duration."""
        assert td == parse_duration(format_duration(td))

    def test_json_ready(self) -> None:
        """to_dict output is plain JSON."""
        t = Ticket(subject="x", created_at=T0, fields={"a": [1, {"b": None}]})
        assert to_dict(t) == json.loads(json.dumps(to_dict(t)))
