"""Notifications and the reference notifiers."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import pytest

from ticketkit import (
    CallbackNotifier,
    LoggingNotifier,
    Notification,
    Notifier,
    RecordingNotifier,
    Ticket,
    ValidationError,
)

AT = datetime(2025, 3, 3, 9, tzinfo=UTC)
TICKET = Ticket(subject="Late parcel", id="T1", created_at=AT)


def note(kind: str = "sla.warning", recipients: object = ("agent:li",), **kw: object) -> Notification:
    args: dict[str, object] = {
        "kind": kind,
        "recipients": recipients,
        "ticket": TICKET,
        "message": "m",
        "at": AT,
    }
    args.update(kw)
    return Notification(**args)  # type: ignore[arg-type]


class TestNotification:
    def test_single_recipient_string_becomes_a_tuple(self) -> None:
        """A single recipient string is one recipient, not a list of characters."""
        assert ("team:after-sales",) == note(recipients="team:after-sales").recipients

    def test_all_recipient_kinds_accepted(self) -> None:
        """agent, team, role and customer recipients are accepted."""
        rs = ("agent:li", "team:t1", "role:lead", "customer:c-1")
        assert rs == note(recipients=list(rs)).recipients

    def test_every_problem_is_reported(self) -> None:
        """Bad kind, recipients, message, naive time and non-JSON data are listed together."""
        with pytest.raises(ValidationError) as info:
            note(
                kind="",
                recipients=["li", "boss:x", "agent:", 7],
                message=3,
                at=datetime(2025, 3, 3),
                data={"x": object()},
            )
        assert [
            "kind",
            "recipients[0]",
            "recipients[1]",
            "recipients[2]",
            "recipients[3]",
            "message",
            "at",
            "data.x",
        ] == [e.path for e in info.value.errors]

    def test_data_is_frozen(self) -> None:
        """data cannot be changed after the notification is made."""
        n = note(data={"metric": "resolution"})
        with pytest.raises(TypeError):
            n.data["metric"] = "x"  # type: ignore[index]

    def test_is_for(self) -> None:
        """is_for tells whether a recipient is addressed."""
        n = note(recipients=["agent:li", "role:lead"])
        assert (True, False) == (n.is_for("role:lead"), n.is_for("agent:wang"))


class TestRecordingNotifier:
    def test_records_in_order_and_filters(self) -> None:
        """Notifications are kept in order; of_kind and to filter them; clear forgets."""
        rec = RecordingNotifier()
        a, b = note("sla.warning"), note("sla.breached", recipients=["role:lead"])
        rec.send(a)
        rec.send(b)
        assert [a, b] == rec.sent
        assert [b] == rec.of_kind("sla.breached")
        assert [b] == rec.to("role:lead")
        assert 2 == len(rec)
        rec.clear()
        assert [] == rec.sent

    def test_thread_safe(self) -> None:
        """Sends from many threads are all recorded."""
        rec = RecordingNotifier()

        def send_many() -> None:
            for _ in range(200):
                rec.send(note())

        threads = [threading.Thread(target=send_many) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert 800 == len(rec)


class TestLoggingNotifier:
    def test_logs_one_line_with_the_notification_attached(self, caplog: pytest.LogCaptureFixture) -> None:
        """Each notification is one log record at the chosen level, carrying the notification."""
        n = note("comment.added", recipients=["customer:c-1", "agent:li"], message="New reply")
        with caplog.at_level(logging.INFO, logger="ticketkit.notify"):
            LoggingNotifier().send(n)
        assert ["comment.added on ticket 'T1' for customer:c-1, agent:li: New reply"] == caplog.messages
        assert n == getattr(caplog.records[0], "notification", None)

    def test_custom_logger_and_level(self, caplog: pytest.LogCaptureFixture) -> None:
        """A logger object and a level can be given."""
        logger = logging.getLogger("desk.alerts")
        with caplog.at_level(logging.WARNING, logger="desk.alerts"):
            LoggingNotifier(logger, level=logging.WARNING).send(note())
        assert [("desk.alerts", logging.WARNING)] == [(r.name, r.levelno) for r in caplog.records]


class TestCallbackNotifier:
    def test_calls_the_function(self) -> None:
        """The callback receives each notification."""
        seen: list[Notification] = []
        CallbackNotifier(seen.append).send(note())
        assert [note()] == seen

    def test_not_callable_is_refused(self) -> None:
        """A callback that is not callable is a ValidationError."""
        with pytest.raises(ValidationError):
            CallbackNotifier("print")  # type: ignore[arg-type]

    def test_errors_propagate(self) -> None:
        """A failing callback raises to the caller (the Helpdesk records it)."""

        def boom(_: Notification) -> None:
            raise RuntimeError("smtp down")

        with pytest.raises(RuntimeError, match="smtp down"):
            CallbackNotifier(boom).send(note())


class TestNotifierInterface:
    def test_abstract(self) -> None:
        """Notifier cannot be made without send()."""
        with pytest.raises(TypeError):
            Notifier()  # type: ignore[abstract]
