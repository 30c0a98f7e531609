"""A run whose PostgreSQL lock session ended (network, server restart, pg_terminate_backend)
notices it at its next journal or state write and stops clearly, instead of going on with API
calls while another run may hold the lock (fencing only guarded the state writes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from test_state_postgres import sql

from reconciler.emulator.server import Emulator, EmulatorServer, build
from reconciler.errors import StateError
from reconciler.state.backend import open_backend
from reconciler.state.model import State, StateEntry
from reconciler.state.records import IntentRecord

from conftest import Cli

DEADLINE = 60.0  # generous: only reached when something is broken
LOCKS_HERE = ("FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
              "(SELECT oid FROM pg_database WHERE datname = current_database())")


def _intent(name: str) -> IntentRecord:
    return IntentRecord(deployment=name, op="create", spec={"image": "img:1"})


def _end_lock_sessions(url: str) -> int:
    """pg_terminate_backend on the sessions holding an advisory lock in this test's database;
    returns once they have ended (the timeout argument makes it wait: the lock is free then)."""
    rows = sql(url, f"SELECT pg_terminate_backend(pid, {int(DEADLINE * 1000)}) {LOCKS_HERE}")
    return sum(1 for (ended,) in rows if ended)


MUTATING = ("endpointCreate", "endpointUpdate", "endpointStart", "endpointStop",
            "endpointScale", "endpointDelete_2")


class HoldOne(Emulator):
    """Holds the first call of ``op`` until the test releases it; ``reached`` is set when that
    call has arrived (the test waits on it: no polling)."""

    def __init__(self, op: str, armed: bool = True) -> None:
        base = build(transition_seconds=0.0, retry_after=0.0)
        super().__init__(base.world, base.api_key, base.faults)
        self.op, self.reached, self.release = op, threading.Event(), threading.Event()
        self.armed = threading.Event()  # holds nothing until armed (a test's setup runs first)
        if armed:
            self.armed.set()
        self._first = threading.Lock()

    def dispatch(self, op: str, params: dict[str, Any], body: Any) -> Any:
        if op == self.op and self.armed.is_set() and self._first.acquire(blocking=False):
            self.reached.set()
            assert self.release.wait(DEADLINE), "the test never released the held call"
        return super().dispatch(op, params, body)

    def mutations(self) -> int:
        return sum(self.calls[op] for op in MUTATING)


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


def _apply(cli: Cli, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
                             "--auto-approve", *extra], text=True, env={**os.environ, **cli.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _live_names(cli: Cli) -> list[str]:
    with cli.client() as client:
        return sorted(d.name or "" for d in client.list())


def test_an_apply_that_loses_its_lock_mid_run_makes_no_further_call_and_the_next_recovers(
        pg_state: str, tmp_path: Path) -> None:
    emulator = HoldOne("endpointCreate")  # the first create waits, journaled, at the server
    server = EmulatorServer(emulator).start()
    try:
        cli = Cli(server, tmp_path)
        cli.env["YOTTACTL_STATE"] = pg_state
        names = ["a", "b", "c"]
        for name in names:
            cli.write(name)
        run = _apply(cli, "--parallelism", "1")
        assert emulator.reached.wait(DEADLINE)  # precondition: the run is mid-way
        assert _end_lock_sessions(pg_state) == 1
        emulator.release.set()
        out, err = run.communicate(timeout=DEADLINE)
        assert run.returncode == 1, out + err
        assert "lost its state lock" in err and "Traceback" not in err
        assert emulator.calls["endpointCreate"] == 1  # no further API call after the loss
        again = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
        assert again.returncode == 0, again.stdout + again.stderr
        assert _live_names(cli) == names  # no duplicate
        assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]
    finally:
        emulator.release.set()
        server.stop()


def test_a_second_runner_inside_the_lost_holders_window_no_duplicate_no_lost_record(
        pg_state: str, tmp_path: Path) -> None:
    """The holder stopped one deployment to update it and is waiting for it to stop (a poll
    held at the server; at --parallelism 1 the other two wait their turn: an update that stops
    a deployment keeps its slot) when its database session is ended. While it is still alive
    and unaware, a second runner takes the lock, folds the holder's journal and finishes the
    work. Released, the holder makes no further mutating call: it stops at its next journal
    write."""
    emulator = HoldOne("endpointDetail", armed=False)  # the holder's first wait poll
    server = EmulatorServer(emulator).start()
    try:
        cli = Cli(server, tmp_path)
        cli.env["YOTTACTL_STATE"] = pg_state
        names = ["a", "b", "c"]
        for name in names:
            cli.write(name, model="llama")
        assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
        for name in names:  # updates of RUNNING deployments, declared stopped: stop, wait, update
            cli.write(name, model="mistral", state="stopped")
        setup = emulator.mutations()  # the three creates
        emulator.armed.set()
        holder = _apply(cli, "--parallelism", "1")
        assert emulator.reached.wait(DEADLINE)
        assert emulator.mutations() - setup == emulator.calls["endpointStop"] == 1  # mid-way
        journaled = sql(pg_state, "SELECT record FROM yottactl_journal ORDER BY seq")
        stopped = {n for n in names if any(f'"{n}"' in str(r) for r in journaled)}
        assert len(stopped) == 1  # its stop: intent, outcome, the status it recorded
        assert _end_lock_sessions(pg_state) == 1
        at_loss = emulator.mutations() - setup

        second = _apply(cli, "--lock-timeout", "30")  # inside the window: the holder is alive
        out, err = second.communicate(timeout=DEADLINE)
        assert second.returncode == 0, out + err
        assert holder.poll() is None  # precondition: the holder is still held, unaware
        # the second runner stopped the other two only, and updated all three
        assert emulator.calls["endpointStop"] == 3 and emulator.calls["endpointUpdate"] == 3
        by_second = emulator.mutations()
        assert _live_names(cli) == names

        emulator.release.set()
        out, err = holder.communicate(timeout=DEADLINE)
        assert emulator.mutations() == by_second  # not one mutating call after the loss
        assert holder.returncode == 1, out + err
        # its next write stops it, and says why (not "fenced": the state moved on meanwhile)
        assert "lost its state lock" in err and "Traceback" not in err, err
        assert at_loss == 1
        assert _live_names(cli) == names  # no duplicate

        # no lost record: the state maps every live deployment, nothing is left to fold
        assert sql(pg_state, "SELECT count(*) FROM yottactl_journal") == [(0,)]
        listed = cli("state", "list")
        with cli.client() as client:
            live = {d.name: d.id for d in client.list()}
        assert all(f"{n}\t{live[n]}" in listed.output for n in names), listed.output
        final = cli("plan", "--detailed-exitcode", str(cli.manifests))
        assert final.exit_code == 0, final.output
    finally:
        emulator.release.set()
        server.stop()
