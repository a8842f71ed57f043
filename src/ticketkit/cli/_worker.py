"""``ticketkit worker``: the sweep and the outbox delivery, in a loop that sleeps until there is work.

The worker opens the store (``--db`` for SQLite, ``--dsn`` for PostgreSQL), builds
the desk from a JSON file (``--config``) or a factory (``--desk module:function``,
called with ``store=``), then repeats: `Helpdesk.tick`, `Helpdesk.deliver` until
nothing is left, one JSON log line, and a sleep until the next SLA checkpoint or
pending notification (at most ``--max-sleep``, the delay after which it notices
work written by other processes). SIGTERM and SIGINT end it after the current batch.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final, TypeVar

import ticketkit as tk
from ticketkit.errors import ErrorDetail, ValidationError

T = TypeVar("T")


class ConfigError(Exception):
    """A worker configuration problem: the message names the file or option and the path in it."""


def log_line(out: IO[str], event: str, **fields: Any) -> None:
    """Write one structured log line (JSON with ``ts`` and ``event``)."""
    record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
    out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    out.flush()


def import_object(spec: str, what: str) -> Any:
    """The object ``module:name`` names, or a `ConfigError` saying what is wrong."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{what}: expected 'module:function', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import module {module_name!r}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{what}: module {module_name!r} has no {attr!r}") from None


def _notifier(data: object, problems: list[ErrorDetail]) -> tk.Notifier | None:
    if data is None:
        return None
    if isinstance(data, Mapping) and data.get("kind") == "logging":
        return tk.LoggingNotifier()
    if isinstance(data, Mapping) and isinstance(data.get("factory"), str):
        try:
            factory = import_object(data["factory"], "notifier.factory")
        except ConfigError as err:
            problems.append(ErrorDetail("notifier.factory", str(err)))
            return None
        try:
            made = factory()
        except Exception as exc:  # the user's code: whatever it raises is a configuration problem
            problems.append(
                ErrorDetail(
                    "notifier.factory", f"calling {data['factory']!r} failed: {type(exc).__name__}: {exc}"
                )
            )
            return None
        if not isinstance(made, tk.Notifier):
            problems.append(ErrorDetail("notifier.factory", f"expected it to make a Notifier, got {made!r}"))
            return None
        return made
    problems.append(
        ErrorDetail(
            "notifier", f'expected {{"kind": "logging"}} or {{"factory": "module:function"}}, got {data!r}'
        )
    )
    return None


def _delivery(data: object, problems: list[ErrorDetail]) -> tk.DeliveryPolicy | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.append(ErrorDetail("delivery", f"expected an object, got {data!r}"))
        return None
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("first_retry", "max_delay", "lease"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(
                    ErrorDetail(f"delivery.{key}", f"expected seconds as a number, got {value!r}")
                )
                continue
            fields[key] = timedelta(seconds=value)
        elif key in ("max_tries", "factor", "jitter", "inline", "seed"):
            fields[key] = value
        else:
            problems.append(ErrorDetail(f"delivery.{key}", "unknown setting"))
    try:
        return tk.DeliveryPolicy(**fields)
    except ValidationError as err:
        problems.extend(err.prefixed("delivery").errors)
        return None


def desk_from_config(config: Mapping[str, Any], store: tk.TicketStore) -> tk.Helpdesk:
    """A Helpdesk from the JSON form (the sections of ``examples/json_desk``, plus notifier and delivery).

    Raises:
        ValidationError: every problem of every section, each with its path.
    """
    problems: list[ErrorDetail] = []

    def build(path: str, make: Callable[..., T], data: Any, **kwargs: Any) -> T | None:
        try:
            return make(data, **kwargs)
        except ValidationError as err:
            problems.extend(err.prefixed(path).errors)
            return None

    if not isinstance(config, Mapping):
        raise ValidationError.one("", f"expected a JSON object, got {config!r}")
    problems.extend(
        ErrorDetail(str(key), f"unknown section (expected one of: {', '.join(SECTIONS)})")
        for key in config
        if key not in SECTIONS
    )
    named = {key: _mapping(config, key, problems) for key in ("calendars", "workflows")}
    listed = {key: _list(config, key, problems) for key in ("policies", "automations", "timed", "macros")}
    calendars = {
        name: cal
        for name, data in named["calendars"].items()
        if (cal := build(f"calendars.{name}", tk.BusinessCalendar.from_dict, data)) is not None
    }
    workflows = {
        name: wf
        for name, data in named["workflows"].items()
        if (wf := build(f"workflows.{name}", tk.Workflow.from_dict, data)) is not None
    }
    router = (
        build("router", tk.Router.from_dict, config["router"], calendars=calendars)
        if "router" in config
        else None
    )
    policies = [
        build(f"policies[{i}]", tk.SLAPolicy.from_dict, data, calendars=calendars)
        for i, data in enumerate(listed["policies"])
    ]
    automations = [
        build(f"automations[{i}]", tk.Automation.from_dict, data, calendars=calendars)
        for i, data in enumerate(listed["automations"])
    ]
    timed = [
        build(f"timed[{i}]", tk.TimedRule.from_dict, data, calendars=calendars)
        for i, data in enumerate(listed["timed"])
    ]
    macros = [build(f"macros[{i}]", tk.Macro.from_dict, data) for i, data in enumerate(listed["macros"])]
    notifier = _notifier(config.get("notifier"), problems)
    delivery = _delivery(config.get("delivery"), problems)
    worker = config.get("worker")
    if worker is not None and (not isinstance(worker, str) or not worker):
        problems.append(ErrorDetail("worker", f"expected this worker's name as a string, got {worker!r}"))
    if problems:
        raise ValidationError(problems)
    return tk.Helpdesk(
        store=store,
        workflows=workflows or None,
        router=router,
        policies=[p for p in policies if p is not None],
        automations=[a for a in automations if a is not None],
        timed=[r for r in timed if r is not None],
        macros=[m for m in macros if m is not None],
        calendars=calendars,
        notifier=notifier,
        delivery=delivery,
        worker=worker,
        presence_policy=config.get("presence_policy", "leave"),
    )


SECTIONS: Final = (
    "name",
    "calendars",
    "workflows",
    "router",
    "policies",
    "automations",
    "timed",
    "macros",
    "presence_policy",
    "customers",
    "notifier",
    "delivery",
    "worker",
)
"""The sections a worker's desk file may have (``name`` and ``customers`` are read by your own tools)."""


def _mapping(config: Mapping[str, Any], key: str, problems: list[ErrorDetail]) -> Mapping[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(ErrorDetail(key, f"expected an object of name -> definition, got {value!r}"))
        return {}
    return value


def _list(config: Mapping[str, Any], key: str, problems: list[ErrorDetail]) -> list[Any]:
    value = config.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(ErrorDetail(key, f"expected a list, got {value!r}"))
        return []
    return value


def open_store(db: str | None, dsn: str | None, schema: str) -> tk.TicketStore:
    """The store the options name, or a `ConfigError`."""
    if (db is None) == (dsn is None):
        raise ConfigError("--db/--dsn: give exactly one: --db PATH (SQLite) or --dsn DSN (PostgreSQL)")
    try:
        if db is not None:
            return tk.SQLiteStore(db)
        from ticketkit.storage import PostgresStore  # noqa: PLC0415 - psycopg only when asked for

        return PostgresStore(dsn, schema=schema)  # type: ignore[arg-type]
    except (ValidationError, tk.TicketkitError) as err:
        raise ConfigError(f"{'--db' if db is not None else '--dsn'}: {err}") from None


def build_desk(config: str | None, factory: str | None, store: tk.TicketStore) -> tk.Helpdesk:
    """The desk from ``--config FILE`` or ``--desk module:function``, or a `ConfigError`."""
    if (config is None) == (factory is None):
        raise ConfigError("--config/--desk: give exactly one: --config FILE.json or --desk module:function")
    if factory is not None:
        make = import_object(factory, "--desk")
        try:
            desk = make(store=store)
        except (ValidationError, TypeError) as err:
            raise ConfigError(f"--desk {factory}: {err}") from None
        if not isinstance(desk, tk.Helpdesk):
            raise ConfigError(f"--desk {factory}: expected it to return a Helpdesk, got {desk!r}")
        return desk
    assert config is not None
    path = Path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--config {config}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"--config {config}: not JSON: {exc}") from None
    try:
        return desk_from_config(data, store)
    except ValidationError as err:
        lines = "; ".join(f"{e.path or '(top)'}: {e.message}" for e in err.errors)
        raise ConfigError(f"{config}: {lines}") from None


class Worker:
    """The loop: sweep, deliver, log, sleep until the next thing is due (or a stop is asked for)."""

    def __init__(self, desk: tk.Helpdesk, *, batch: int, max_sleep: float, out: IO[str]) -> None:
        self.desk = desk
        self.batch = batch
        self.max_sleep = max_sleep
        self.out = out
        self.stop = threading.Event()

    def run_once(self) -> dict[str, int]:
        """One round: every due checkpoint swept, every available notification delivered."""
        swept = 0
        while not self.stop.is_set():
            events = self.desk.tick(limit=self.batch)
            swept += len(events)
            if len(events) < self.batch:
                break
        totals = {"swept": swept, "claimed": 0, "sent": 0, "failed": 0, "dead": 0}
        while True:  # a batch in hand is always finished, even after a stop was asked for
            report = self.desk.deliver(limit=self.batch)
            for key in ("claimed", "sent", "failed", "dead"):
                totals[key] += getattr(report, key)
            if report.claimed < self.batch or self.stop.is_set():
                return totals

    def sleep_for(self) -> float:
        """Seconds until the next checkpoint or pending notification, within [0.01, max_sleep]."""
        now = self.desk.now()
        times = [t for t in (self.desk.next_wakeup(), self.desk.next_delivery()) if t is not None]
        if not times:
            return self.max_sleep
        return min(self.max_sleep, max(0.01, (min(times) - now).total_seconds()))

    def run(self) -> None:
        """Run rounds until `stop` is set; log each round that did something."""
        log_line(self.out, "worker.started", pid=os.getpid())
        while not self.stop.is_set():
            totals = self.run_once()
            if any(totals.values()):
                log_line(self.out, "worker.round", **totals)
            if self.stop.is_set():
                break
            self.stop.wait(self.sleep_for())
        log_line(self.out, "worker.stopped", pid=os.getpid())


def run_worker(
    *,
    db: str | None,
    dsn: str | None,
    schema: str,
    config: str | None,
    factory: str | None,
    batch: int,
    max_sleep: float,
    once: bool,
) -> int:
    """Open, build and run; the exit status (2 on a configuration error, naming where it is)."""
    try:
        if batch < 1 or max_sleep <= 0:
            raise ConfigError("--batch/--max-sleep: expected a batch of 1 or more and a positive sleep")
        store = open_store(db, dsn, schema)
        try:
            desk = build_desk(config, factory, store)
        except BaseException:
            store.close()
            raise
    except ConfigError as err:
        log_line(sys.stderr, "worker.config_error", error=str(err))
        sys.stderr.write(f"error: {err}\n")
        return 2
    worker = Worker(desk, batch=batch, max_sleep=max_sleep, out=sys.stderr)

    def stop(signum: int, frame: FrameType | None) -> None:
        del frame
        log_line(sys.stderr, "worker.stopping", signal=signal.Signals(signum).name)
        worker.stop.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            totals = worker.run_once()
            log_line(sys.stderr, "worker.round", **totals)
        else:
            worker.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        store.close()
    return 0
