"""A pytest plugin giving tests a PostgreSQL server: ``pytest_plugins = ("tests.postgres_fixture",)``.

Where the server comes from, in order:

1. ``TICKETKIT_TEST_POSTGRES_DSN`` (``.ci/services`` sets it in CI): that server is
   used; if it cannot be reached the tests fail.
2. Otherwise a throw-away cluster is started here, in a temporary folder, on
   127.0.0.1 and a free port, from the ``initdb``/``pg_ctl`` found on PATH or in
   Debian's ``/usr/lib/postgresql/*/bin``; it is stopped and removed at the end.
3. When neither works the tests are skipped with the reason, except in CI
   (``CI`` set), where a missing server fails them: CI must never skip silently.

Each test gets stores in fresh PostgreSQL schemas of their own, dropped afterwards.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

DSN_ENV = "TICKETKIT_TEST_POSTGRES_DSN"


def in_ci() -> bool:
    """True when running in CI (the ``CI`` variable set to anything but false/0/no)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


class ServerUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started."""


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True
    ):
        if os.access(f"{candidate}/initdb", os.X_OK) and os.access(f"{candidate}/pg_ctl", os.X_OK):
            return Path(candidate)
    raise ServerUnavailableError(
        "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1, for tests and benchmarks.

    ``LocalServer.start()`` runs initdb and pg_ctl (as the ``postgres`` user when
    running as root, since PostgreSQL refuses to run as root); ``stop()`` stops it
    and removes its folder.
    """

    def __init__(self, bindir: Path, folder: Path, port: int, prefix: list[str]) -> None:
        self.bindir = bindir
        self.folder = folder
        self.port = port
        self.prefix = prefix
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/ticketkit_test"

    @classmethod
    def start(cls) -> LocalServer:
        """Start a new cluster; ServerUnavailableError saying why when that cannot be done."""
        bindir = _bindir()
        prefix: list[str] = []
        folder = Path(tempfile.mkdtemp(prefix="ticketkit-pg-"))
        folder.chmod(0o755)
        if os.geteuid() == 0:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(folder, ignore_errors=True)
                raise ServerUnavailableError(
                    "running as root and there is no 'postgres' user to run the server"
                ) from None
            os.chown(folder, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else []
            if not prefix:
                shutil.rmtree(folder, ignore_errors=True)
                raise ServerUnavailableError("running as root without runuser to drop privileges")
        server = cls(bindir, folder, _free_port(), prefix)
        try:
            server._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(folder / "data"),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            server._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(folder / "data"),
                    "-l",
                    str(folder / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ]
            )
            import psycopg

            with psycopg.connect(server.dsn.replace("/ticketkit_test", "/postgres"), autocommit=True) as conn:
                conn.execute("CREATE DATABASE ticketkit_test")
        except Exception:
            server.stop()
            raise
        return server

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run([*self.prefix, *cmd], capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            log = ""
            if (self.folder / "server.log").exists():
                log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise ServerUnavailableError(
                f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]} {log}"
            )

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if (self.folder / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self.prefix,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.folder / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
                timeout=120,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _unavailable(reason: str) -> None:
    message = f"no PostgreSQL server for the PostgresStore tests: {reason}"
    if in_ci():
        pytest.fail(message + " (in CI the server must be there: see .ci/services)", pytrace=False)
    pytest.skip(message + f"; set {DSN_ENV} or install PostgreSQL")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The connection string of a PostgreSQL server for this test session."""
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc}); pip install 'ticketkit[postgres]'")
        raise  # unreachable: _unavailable raises
    given = os.environ.get(DSN_ENV, "").strip()
    if given:
        try:
            with psycopg.connect(given, autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            pytest.fail(f"{DSN_ENV} is set, but its server cannot be reached: {exc}", pytrace=False)
        yield given
        return
    try:
        server = LocalServer.start()
    except (ServerUnavailableError, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
        raise  # unreachable
    try:
        yield server.dsn
    finally:
        server.stop()


@pytest.fixture
def make_postgres_store(postgres_dsn: str) -> Iterator[Callable[..., Any]]:
    """A function making a new PostgresStore in a fresh schema; stores closed and schemas dropped after."""
    import psycopg

    from ticketkit.storage import PostgresStore

    made: list[Any] = []
    schemas: list[str] = []
    counter = itertools.count()
    tag = uuid.uuid4().hex[:10]

    def make(schema: str | None = None, **kwargs: Any) -> PostgresStore:
        name = schema or f"tk_test_{tag}_{next(counter)}"
        if name not in schemas:
            schemas.append(name)
        store = PostgresStore(postgres_dsn, schema=name, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for name in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


# The docs page that runs on PostgreSQL reads the server from HELPDESK_DSN and keeps its
# tables in this schema; its docs test gets the session's server (or is skipped like the
# other PostgreSQL tests) and a clean schema.
DOCS_PAGE = "postgres-workers"
DOCS_SCHEMA = "desk_demo"


@pytest.fixture(autouse=True)
def _postgres_for_docs_page(request: pytest.FixtureRequest) -> Iterator[None]:
    if DOCS_PAGE not in request.node.nodeid or "test_docs" not in request.node.nodeid:
        yield
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    import psycopg

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{DOCS_SCHEMA}" CASCADE')

    drop()
    monkeypatch.setenv("HELPDESK_DSN", dsn)
    yield
    drop()
