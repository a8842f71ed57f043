"""Bad input into every public loader and constructor: only ticketkit's errors escape.

Each target gets valid configuration with one value replaced by something hostile (deep
nesting, NaN/inf, huge integers, 2**63, ``P99999999999D``, unhashables, mixed key
types, None, lone surrogates, wrong types), and hostile values on their own. The only
exceptions allowed are `ValidationError` (and, for stores, the documented ones).
"""

from __future__ import annotations

import copy
import io
import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ticketkit as tk
import ticketkit.channels as ch
from ticketkit.errors import TicketkitError, ValidationError

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
CONFIG = json.loads(
    (Path(__file__).parent.parent / "examples" / "json_desk" / "desk.json").read_text("utf-8")
)
CALENDARS = {"office": tk.BusinessCalendar.always_open("Asia/Shanghai")}
TICKET = tk.to_dict(
    tk.Ticket(
        subject="s", created_at=T0, customer=tk.Customer(id="c"), tags={"a"}, fields={"x": [1, {"y": 2}]}
    )
)
TRIED: Counter[str] = Counter()


def _deep(n: int) -> Any:
    value: Any = "leaf"
    for i in range(n):
        value = [value] if i % 2 else {"k": value}
    return value


HOSTILE = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            10**5000,
            2**63,
            -(2**63) - 1,
            "P99999999999D",
            "99999999999999999999d",
            "\ud800",
            "a\x00b",
            None,
            "",
            b"bytes",
            [],
            {},
            {1: "a", "b": 2},
            {("t",): 1},
            [[]],
            [{}],
            set(),
            object(),
            "x" * 5000,
            list(range(2000)),
            True,
        ]
    ),
    st.sampled_from([40, 400, 3000]).map(_deep),
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    value = copy.deepcopy(value)
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return value


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` with one value (or the whole) replaced by a hostile value."""
    paths = _paths(seed)
    path = draw(st.sampled_from(paths))
    return _replace(seed, path, draw(HOSTILE))


def _router(data: Any) -> object:
    return tk.Router.from_dict(data, calendars=CALENDARS)


def _policy(data: Any) -> object:
    return tk.SLAPolicy.from_dict(data, calendars=CALENDARS)


def _automation(data: Any) -> object:
    return tk.Automation.from_dict(data, calendars=CALENDARS)


def _open(data: Any) -> object:
    desk = tk.Helpdesk(store=tk.InMemoryStore())
    if isinstance(data, dict) and all(isinstance(k, str) for k in data):
        return desk.open(**data)
    return desk.open(subject=data)


def _import(data: Any) -> object:
    try:
        text = data if isinstance(data, str) else json.dumps(data, default=repr)
    except (RecursionError, ValueError, TypeError):  # json itself cannot write it: write one by hand
        text = '{"format": "ticketkit-export", "version": 1}\n' + "[" * 5000 + "]" * 5000
    return tk.InMemoryStore().import_(io.StringIO(text))


CONFIG_TARGETS: dict[str, tuple[Callable[[Any], object], Any]] = {
    "Ticket.from_dict": (partial(tk.from_dict, tk.Ticket), TICKET),
    "Customer.from_dict": (partial(tk.from_dict, tk.Customer), CONFIG["customers"][0]),
    "BusinessCalendar.from_dict": (
        tk.BusinessCalendar.from_dict,
        {"tz": "UTC", "hours": {"mon-fri": ["09:00-17:00"]}},
    ),
    "Workflow.from_dict": (tk.Workflow.from_dict, CONFIG["workflows"]["support"]),
    "Workflows.from_dict": (tk.Workflows.from_dict, CONFIG["workflows"]),
    "Condition.from_dict": (tk.Condition.from_dict, CONFIG["policies"][0]["when"]),
    "Router.from_dict": (_router, CONFIG["router"]),
    "SLAPolicy.from_dict": (_policy, CONFIG["policies"][0]),
    "Automation.from_dict": (_automation, CONFIG["automations"][0]),
    "Helpdesk.open": (
        _open,
        {"subject": "s", "customer": "c", "tags": ["a"], "fields": {"x": 1}, "priority": "high"},
    ),
    "RetentionPolicy.from_dict": (tk.RetentionPolicy.from_dict, {"rules": []}),
    "InboundMessage.from_dict": (
        ch.InboundMessage.from_dict,
        {
            "channel": "email",
            "sender": {"address": "a@example.com"},
            "text": "hi",
            "received_at": "2025-03-03T09:00:00+00:00",
        },
    ),
    "parse_webhook": (ch.parse_webhook, {"from": "a", "text": "hi"}),
    "import_": (_import, {"format": "ticketkit-export", "version": 1}),
}

VALUE_TARGETS: dict[str, Callable[[Any], object]] = {
    "parse_duration": tk.parse_duration,
    "Priority.parse": tk.Priority.parse,
    "from_json(Ticket)": partial(tk.from_json, tk.Ticket),
    "Ticket()": lambda v: tk.Ticket(subject=v, created_at=T0),
    "Ticket(tags)": lambda v: tk.Ticket(subject="s", created_at=T0, tags=v),
    "Ticket(fields)": lambda v: tk.Ticket(subject="s", created_at=T0, fields=v),
    "Customer(id)": lambda v: tk.Customer(id=v),
    "Actor(tenant)": lambda v: tk.Actor(id="a", tenant=v),
    "BusinessCalendar(tz)": lambda v: tk.BusinessCalendar(tz=v, hours={"mon": ["09:00-10:00"]}),
    "parse_wechat": ch.parse_wechat,
    "parse_email": ch.parse_email,
}


def _allowed(run: Callable[[], object]) -> None:
    """Run; a ValidationError must have a bounded message; any other ticketkit error is documented."""
    message = ""
    try:
        run()
    except ValidationError as err:
        message = str(err)
    except TicketkitError:
        pass  # the documented errors of the store and the channels are ticketkit's own
    assert len(message) < 60_000


SLOW = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)


class TestOnlyTicketkitErrors:
    @pytest.mark.parametrize("name", sorted(CONFIG_TARGETS))
    @SLOW
    @given(data=st.data())
    def test_config_loaders(self, name: str, data: st.DataObject) -> None:
        """Valid configuration with one value made hostile gives a ValidationError or loads."""
        load, seed = CONFIG_TARGETS[name]
        value = data.draw(mutated(seed))
        TRIED[name] += 1
        _allowed(lambda: load(value))

    @pytest.mark.parametrize("name", sorted(VALUE_TARGETS))
    @SLOW
    @given(value=HOSTILE)
    def test_value_loaders(self, name: str, value: Any) -> None:
        """A hostile value on its own gives a ValidationError (or a documented error) or loads."""
        TRIED[name] += 1
        _allowed(lambda: VALUE_TARGETS[name](value))


class TestSpecificInputs:
    def test_string_for_a_list_is_one_problem(self) -> None:
        """A string where a list of tags is expected is one problem, not one per character."""
        with pytest.raises(ValidationError) as err:
            tk.from_dict(tk.Ticket, {**TICKET, "tags": "x" * 3000})
        assert 1 == len(err.value.errors)

    def test_forged_cursor(self) -> None:
        """A forged cursor is a ValidationError."""
        with pytest.raises(ValidationError):
            tk.InMemoryStore().query(cursor="forged!!")

    def test_two_thousand_value_filter(self, tmp_path: Path) -> None:
        """A filter with 2,000 values works on SQLite (or is refused clearly)."""
        store = tk.SQLiteStore(tmp_path / "d.db")
        _allowed(lambda: list(store.query(team=[f"t{i}" for i in range(2000)])))

    def test_damaged_database_file(self, tmp_path: Path) -> None:
        """A damaged database file is a ValidationError when opened or a ticketkit error when used."""
        path = tmp_path / "d.db"
        store = tk.SQLiteStore(path)
        store.create(tk.Ticket(subject="s", created_at=T0), [])
        store.close()
        raw = bytearray(path.read_bytes())
        raw[100:4000] = b"\xff" * 3900
        path.write_bytes(bytes(raw))
        _allowed(lambda: list(tk.SQLiteStore(path).query()))


def teardown_module() -> None:
    print("\ninputs tried per target:", dict(sorted(TRIED.items())))
