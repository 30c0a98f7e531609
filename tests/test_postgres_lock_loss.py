"""A run whose PostgreSQL lock session ended (network, server restart, pg_terminate_backend)
notices it at its next journal or state write and stops clearly, instead of going on with API
calls while another run may hold the lock (fencing only guarded the state writes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_state_postgres import sql

from reconciler.errors import StateError
from reconciler.state.backend import open_backend
from reconciler.state.model import State, StateEntry
from reconciler.state.records import IntentRecord

from conftest import Cli

LOCKS_HERE = ("FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
              "(SELECT oid FROM pg_database WHERE datname = current_database())")


def _intent(name: str) -> IntentRecord:
    return IntentRecord(deployment=name, op="create", spec={"image": "img:1"})


def _end_lock_sessions(url: str) -> int:
    """pg_terminate_backend on the sessions holding an advisory lock in this test's database."""
    rows = sql(url, f"SELECT pg_terminate_backend(pid) {LOCKS_HERE}")
    return sum(1 for (ended,) in rows if ended)


def test_a_holder_that_lost_its_lock_session_writes_nothing_more(pg_state: str) -> None:
    runner, other = open_backend(pg_state), open_backend(pg_state)
    try:
        base = runner.write(State.empty().with_entry("a", StateEntry(id="1")))
        with runner.locked("yottactl apply (lost)"):
            runner.journal(_intent("first"))  # precondition: writes work while it holds it
            assert [r.deployment for r in runner.journal_records()] == ["first"]
            assert _end_lock_sessions(pg_state) == 1
            with pytest.raises(StateError, match="lost its state lock") as lost:
                runner.journal(_intent("second"))
            assert "run the command again" in (lost.value.hint or "")
            with pytest.raises(StateError, match="lost its state lock"):
                runner.write(base.with_entry("b", StateEntry(id="2")))
            with other.locked("yottactl apply (next)"):  # the lock is free: another run takes it
                other.journal(_intent("next"))
                with pytest.raises(StateError, match="lost its state lock"):
                    runner.journal(_intent("third"))  # not even now that someone holds it
        assert [r.deployment for r in other.journal_records()] == ["first", "next"]
        assert sql(pg_state, "SELECT serial FROM yottactl_state_versions") == [(base.serial,)]
    finally:
        runner.close()
        other.close()


def test_writes_without_a_lock_and_under_a_held_one_are_unchanged(pg_state: str) -> None:
    backend = open_backend(pg_state)
    try:
        first = backend.write(State.empty())  # no lock taken: state migrate, tests
        with backend.locked("yottactl apply"):
            backend.journal(_intent("x"))
            second = backend.write(first)
        assert second.serial == first.serial + 1
        assert [r.deployment for r in backend.journal_records()] == ["x"]
    finally:
        backend.close()


def test_an_apply_that_loses_its_lock_mid_run_makes_no_further_call_and_the_next_recovers(
        pg_state: str, tmp_path: Path) -> None:
    from test_closed_output import DEADLINE, GatedEmulator

    from reconciler.emulator.server import EmulatorServer, build

    emulator = GatedEmulator(build(transition_seconds=0.0, retry_after=0.0))
    server = EmulatorServer(emulator).start()
    try:
        cli = Cli(server, tmp_path)
        cli.env["YOTTACTL_STATE"] = pg_state
        names = ["a", "b", "c"]
        for name in names:
            cli.write(name)
        emulator.gate.clear()
        run = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
                                "--auto-approve", "--parallelism", "1"], text=True,
                               env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        deadline = time.monotonic() + DEADLINE
        while emulator.calls["endpointCreate"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # poll: the first create waits at the gate, journaled
        assert emulator.calls["endpointCreate"] == 1  # precondition: the run is mid-way
        assert _end_lock_sessions(pg_state) == 1
        emulator.gate.set()
        out, err = run.communicate(timeout=DEADLINE)
        assert run.returncode == 1, out + err
        assert "lost its state lock" in err and "Traceback" not in err
        assert emulator.calls["endpointCreate"] == 1  # no further API call after the loss
        again = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
        assert again.returncode == 0, again.stdout + again.stderr
        with cli.client() as client:
            assert sorted(d.name or "" for d in client.list()) == names  # no duplicate
        assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]
    finally:
        emulator.gate.set()
        server.stop()
