"""A reader that goes away (`yottactl apply --auto-approve | head -1`) never stops an apply or a
destroy: every planned step runs and is recorded, output is dropped, and the command then ends
killed by SIGPIPE, as a closed stdout ends every other command (README, "Exit codes").

The emulator holds every mutating call at a gate until the test has closed the pipe, so the run
provably had output left to write (each step's progress, each --debug line) after the close.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator, EmulatorServer, build

from conftest import Cli

NAMES = [f"svc{i}" for i in range(4)]
GATED = frozenset({"endpointCreate", "endpointDelete_2", "endpointStop"})
DEADLINE = 60.0  # generous: only reached when something is broken


class GatedEmulator(Emulator):
    """Mutating calls wait until the test opens the gate (then behave as usual)."""

    def __init__(self, base: Emulator) -> None:
        super().__init__(base.world, base.api_key, base.faults)
        self.gate = threading.Event()
        self.gate.set()

    def dispatch(self, op: str, params: dict[str, Any], body: Any) -> Any:
        if op in GATED:
            assert self.gate.wait(DEADLINE), "the test never opened the gate"
        return super().dispatch(op, params, body)


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[Cli, GatedEmulator]]:
    emulator = GatedEmulator(build(transition_seconds=0.0, retry_after=0.0))
    server = EmulatorServer(emulator).start()
    yield Cli(server, tmp_path), emulator
    emulator.gate.set()
    server.stop()


def _mutations(emulator: Emulator) -> int:
    return sum(emulator.calls[op] for op in GATED)


def _run_with_reader_gone(cli: Cli, emulator: GatedEmulator, args: list[str],
                          stream: str) -> subprocess.CompletedProcess[str]:
    """Run yottactl with ``stream`` (stdout|stderr) on a pipe; read one line, close the pipe,
    then let the API calls through."""
    emulator.gate.clear()
    other = {"stdout": "stderr", "stderr": "stdout"}[stream]
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], text=True,
                            env={**os.environ, **cli.env}, stdin=subprocess.DEVNULL,
                            **{stream: subprocess.PIPE, other: subprocess.DEVNULL})
    try:
        reader = getattr(proc, stream)
        assert reader.readline()  # the plan (stdout) / the first --debug line (stderr)
        # preconditions: nothing applied yet, so every step's output is still to come
        assert proc.poll() is None and _mutations(emulator) == 0
        reader.close()
        emulator.gate.set()
        proc.wait(timeout=DEADLINE)
    finally:
        emulator.gate.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode)


def _recorded(cli: Cli) -> set[str]:
    state = json.loads(cli.state.read_text())
    assert not cli.state.with_name(cli.state.name + ".journal").exists()  # journal folded
    return set(state["deployments"])


def _live(cli: Cli) -> set[str]:
    with cli.client() as client:
        return {d.name for d in client.list()}


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_apply_finishes_and_records_every_step_when_its_reader_goes_away(
        gated: tuple[Cli, GatedEmulator], stream: str) -> None:
    cli, emulator = gated
    for name in NAMES:
        cli.write(name)
    args = ["apply", str(cli.manifests), "--auto-approve", "--parallelism", "1"]
    if stream == "stderr":
        args.insert(0, "--debug")  # one stderr line per API call: plenty after the close
    done = _run_with_reader_gone(cli, emulator, args, stream)
    assert done.returncode == -signal.SIGPIPE
    assert emulator.calls["endpointCreate"] == len(NAMES)
    assert _recorded(cli) == set(NAMES) == _live(cli)
    again = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert again.exit_code == 0, again.output  # state and live agree: nothing left to do


def test_destroy_finishes_and_records_every_step_when_its_reader_goes_away(
        gated: tuple[Cli, GatedEmulator]) -> None:
    cli, emulator = gated
    for name in NAMES:
        cli.write(name)
    applied = cli("apply", str(cli.manifests), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert _recorded(cli) == set(NAMES)  # precondition: there is something to destroy
    before = _mutations(emulator)
    emulator.calls.clear()
    done = _run_with_reader_gone(cli, emulator, ["destroy", "--auto-approve",
                                                 "--parallelism", "1"], "stdout")
    assert before > 0
    assert done.returncode == -signal.SIGPIPE
    assert emulator.calls["endpointDelete_2"] == len(NAMES)
    assert _recorded(cli) == set() == _live(cli)


def _run_into_a_full_disk(cli: Cli, args: list[str]) -> subprocess.CompletedProcess[str]:
    """yottactl with stdout on /dev/full (every write fails with ENOSPC), unbuffered so the
    first write already meets it."""
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], text=True,
                              env={**os.environ, **cli.env, "PYTHONUNBUFFERED": "1"},
                              stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE,
                              timeout=DEADLINE)


def test_a_full_disk_under_stdout_is_a_clear_error(gated: tuple[Cli, GatedEmulator]) -> None:
    """Not a closed pipe: exit 1 with what failed and where to look, never a traceback; an
    apply still runs and records every step first (it must not stop between a call and its
    record), then reports it."""
    cli, emulator = gated
    for name in NAMES:
        cli.write(name)
    planned = _run_into_a_full_disk(cli, ["plan", str(cli.manifests)])
    assert planned.returncode == 1 and "Traceback" not in planned.stderr, planned.stderr
    assert "cannot write standard output: No space left on device" in planned.stderr
    applied = _run_into_a_full_disk(cli, ["apply", str(cli.manifests), "--auto-approve"])
    assert applied.returncode == 1 and "Traceback" not in applied.stderr, applied.stderr
    assert "cannot write standard output: No space left on device" in applied.stderr
    assert emulator.calls["endpointCreate"] == len(NAMES)
    assert _recorded(cli) == set(NAMES) == _live(cli)
