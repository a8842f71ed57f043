"""Models: construction, validation with paths, immutability, ordering."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given

from ticketkit import (
    Agent,
    ClockState,
    Comment,
    Customer,
    Event,
    Link,
    Priority,
    SLAState,
    Team,
    Ticket,
    ValidationError,
)
from ticketkit.model._ids import new_id
from ticketkit.model._models import replace_trusted

from .strategies import aware_datetimes, tickets

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def paths(err: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e.path for e in err.value.errors]


class TestPriority:
    def test_ordered(self) -> None:
        """Priorities order low < normal < high < urgent."""
        assert [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT] == sorted(
            [Priority.URGENT, Priority.LOW, Priority.HIGH, Priority.NORMAL]
        )

    def test_parse_any_case(self) -> None:
        """A priority is accepted by its name in any case."""
        assert Priority.URGENT == Priority.parse(" Urgent ")

    def test_parse_unknown(self) -> None:
        """An unknown name lists the accepted ones."""
        with pytest.raises(ValidationError, match="expected one of: low, normal, high, urgent"):
            Priority.parse("asap")

    def test_compare_with_other_types_is_not_supported(self) -> None:
        """Comparing with a non-priority raises TypeError like any unordered pair."""
        with pytest.raises(TypeError):
            _ = Priority.LOW < 3  # type: ignore[operator]

    def test_rank(self) -> None:
        """Rank counts up from zero."""
        assert [0, 1, 2, 3] == [p.rank for p in Priority]


class TestTicket:
    def test_defaults(self) -> None:
        """A ticket needs only a subject and a creation time."""
        t = Ticket(subject="Refund", created_at=T0)
        assert (t.status, t.status_kind, t.priority, t.version, t.updated_at) == (
            "new",
            "new",
            Priority.NORMAL,
            1,
            T0,
        )
        assert 26 == len(t.id)

    def test_ids_sort_by_creation_time(self) -> None:
        """Generated ids sort by created_at."""
        a = Ticket(subject="a", created_at=T0)
        b = Ticket(subject="b", created_at=T0 + timedelta(milliseconds=2))
        assert a.id < b.id

    def test_ids_unique(self) -> None:
        """Ids made at the same instant differ."""
        assert 1000 == len({new_id(T0) for _ in range(1000)})

    def test_every_problem_listed(self) -> None:
        """Construction reports every bad field at once, each with its path."""
        with pytest.raises(ValidationError) as err:
            Ticket(
                subject=" ",
                created_at=datetime(2025, 1, 1),
                priority="asap",  # type: ignore[arg-type]
                tags="size",  # type: ignore[arg-type]
                fields={"when": datetime(2025, 1, 1, tzinfo=UTC)},
                satisfaction=6,
                status_kind="waiting",
            )
        assert [
            "subject",
            "created_at",
            "priority",
            "status_kind",
            "tags",
            "fields.when",
            "satisfaction",
        ] == paths(err)

    def test_naive_datetime_rejected(self) -> None:
        """Every datetime field refuses a naive datetime and names itself."""
        for name in ("updated_at", "first_response_at", "resolved_at", "closed_at"):
            with pytest.raises(ValidationError) as err:
                Ticket(subject="x", created_at=T0, **{name: datetime(2025, 1, 1)})
            assert [name] == paths(err)

    def test_satisfaction_range(self) -> None:
        """Satisfaction is 1-5 or None; booleans are not scores."""
        assert 5 == Ticket(subject="x", created_at=T0, satisfaction=5).satisfaction
        for bad in (0, 6, True, 2.5):
            with pytest.raises(ValidationError):
                Ticket(subject="x", created_at=T0, satisfaction=bad)  # type: ignore[arg-type]

    def test_fields_are_read_only(self) -> None:
        """Custom fields are frozen deeply; the caller's dict is copied."""
        src = {"order": {"lines": [1, 2]}}
        t = Ticket(subject="x", created_at=T0, fields=src)
        src["order"]["lines"].append(3)
        assert (1, 2) == t.fields["order"]["lines"]
        assert isinstance(t.fields, dict)
        with pytest.raises(TypeError):
            t.fields["x"] = 1  # type: ignore[index]

    @given(tickets())
    def test_pickle_and_copy(self, t: Ticket) -> None:
        """Tickets pickle and deep-copy to equal values (for multiprocessing and caches)."""
        assert t == pickle.loads(pickle.dumps(t))
        assert t == copy.deepcopy(t)

    def test_frozen(self) -> None:
        """Tickets cannot be changed in place; evolve makes a new one."""
        t = Ticket(subject="x", created_at=T0)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            t.status = "open"  # type: ignore[misc]
        assert "open" == attrs.evolve(t, status="open").status

    def test_evolve_validates(self) -> None:
        """attrs.evolve runs the same validation."""
        t = Ticket(subject="x", created_at=T0)
        with pytest.raises(ValidationError):
            attrs.evolve(t, subject="")

    def test_hashable(self) -> None:
        """Tickets hash (custom fields are left out of the hash)."""
        t = Ticket(subject="x", created_at=T0, fields={"a": 1})
        assert hash(t) == hash(attrs.evolve(t))

    def test_next_due_at_from_sla(self) -> None:
        """next_due_at reads the SLA state."""
        t = Ticket(subject="x", created_at=T0, sla=SLAState(policy="p", next_due_at=T0))
        assert T0 == t.next_due_at
        assert Ticket(subject="x", created_at=T0).next_due_at is None

    def test_replace_trusted(self) -> None:
        """The engines' fast copy changes only what it is told to."""
        t = Ticket(subject="x", created_at=T0, tags={"a"})
        u = replace_trusted(t, status="open", version=2)
        assert attrs.evolve(t, status="open", version=2) == u
        assert "new" == t.status

    @given(tickets())
    def test_generated_tickets_valid(self, t: Ticket) -> None:
        """Any valid ticket survives evolve unchanged."""
        assert t == attrs.evolve(t)


class TestOtherModels:
    def test_customer_validation(self) -> None:
        """Customer fields are checked with paths."""
        with pytest.raises(ValidationError) as err:
            Customer(id="", tier="", data={"x": {1, 2}})
        assert ["id", "tier", "data.x"] == paths(err)

    def test_agent_validation(self) -> None:
        """Agent status, capacity and sets are checked."""
        with pytest.raises(ValidationError) as err:
            Agent(id="li", status="busy", capacity=-1, skills=[1])  # type: ignore[list-item]
        assert ["skills", "capacity", "status"] == paths(err)

    def test_team(self) -> None:
        """Team needs an id."""
        with pytest.raises(ValidationError):
            Team(id="")
        assert "zhao" == Team(id="t", lead="zhao").lead

    def test_comment(self) -> None:
        """Comment checks author kind and time; its id sorts by time."""
        with pytest.raises(ValidationError) as err:
            Comment(ticket_id="T", author="li", body="x", at=datetime(2025, 1, 1), author_kind="robot")
        assert ["at", "author_kind"] == paths(err)
        c = Comment(ticket_id="T", author="li", body="hi", at=T0)
        assert c.public
        assert not c.automatic

    def test_event(self) -> None:
        """Events hold JSON-safe data only."""
        with pytest.raises(ValidationError) as err:
            Event(ticket_id="T", kind="x", actor="a", at=T0, data={"d": object()})
        assert ["data.d"] == paths(err)

    def test_link(self) -> None:
        """Links need a kind and a target."""
        with pytest.raises(ValidationError):
            Link(kind="", ticket_id="")

    def test_clock_state(self) -> None:
        """A clock state reports what it is doing."""
        assert "idle" == ClockState(metric="m").state
        assert "paused" == ClockState(metric="m", paused_since=T0).state
        assert "stopped" == ClockState(metric="m", stopped_at=T0, running_since=T0).state
        with pytest.raises(ValidationError):
            ClockState(metric="m", elapsed=timedelta(seconds=-1))

    def test_sla_state_lookup(self) -> None:
        """SLAState finds a clock by metric."""
        s = SLAState(clocks=[ClockState(metric="resolution")])
        assert s.clock("resolution") is not None
        assert s.clock("first_response") is None

    @given(aware_datetimes)
    def test_new_id_sortable(self, at: datetime) -> None:
        """Ids from later instants sort after earlier ones (millisecond resolution)."""
        assert new_id(at) < new_id(at + timedelta(milliseconds=1))
