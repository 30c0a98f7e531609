"""The test PostgreSQL server (tests/pgserver.py) never outlives the pytest run that started
it: a killed worker (Ctrl-C, a crash) used to leave it running, since only a process that exits
normally unregisters; the session's end stops it, and the next run stops what a run killed as a
whole left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

import pgserver

TESTS = Path(__file__).parent
INNER_TEST = '''
import os
from pathlib import Path


def test_uses_the_server_then_its_worker_dies(pg_state):
    Path(os.environ["MARK"]).write_text(pg_state)
    os._exit(1)  # as a worker killed by Ctrl-C or a crash: no atexit, no unregistering
'''


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (pgserver.EXTERNAL, pgserver.RUN, "PYTEST_XDIST_TESTRUNUID",
                        "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    return {**env, "PYTHONPATH": str(TESTS), **extra}


def _folder(url: str) -> Path:
    return Path(parse_qs(urlsplit(url).query)["host"][0])


def test_the_session_end_stops_the_server_of_a_killed_worker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from pgserver import pg_database, pg_state, postgres_url, pytest_configure, "
        "pytest_unconfigure  # noqa: F401\n")
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    mark = tmp_path / "mark"
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "1", "--max-worker-restart",
                          "0", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                          "test_inner.py"], cwd=tmp_path, env=_env(MARK=str(mark)),
                         capture_output=True, text=True, timeout=300)
    assert "crashed" in run.stdout, run.stdout[-2000:]  # precondition: the worker died
    folder = _folder(mark.read_text())  # precondition: the server was started and used
    assert folder.name.startswith(pgserver.PREFIX)
    assert pgserver._postmaster(folder) is None and not folder.exists()


def test_a_server_left_by_a_run_killed_whole_is_stopped_by_the_next_run(
        postgres_url: str) -> None:
    leftover = f"leftover{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        [sys.executable, "-c", "import os, pgserver\nprint(pgserver.start_server(), flush=True)\n"
                               "os._exit(0)  # killed: never unregisters"],
        env=_env(**{pgserver.RUN: leftover}), capture_output=True, text=True, timeout=120)
    folder = _folder(started.stdout.strip())
    try:
        assert folder.name == pgserver.PREFIX + leftover[:16]
        assert pgserver._postmaster(folder) is not None  # precondition: it still runs
        pgserver.reap_stale()
        assert pgserver._postmaster(folder) is None and not folder.exists()
    finally:
        pgserver.stop_folder(folder)
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:  # ours is left alone
        assert conn.execute("SELECT 1").fetchone() == (1,)
