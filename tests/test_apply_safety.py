"""Apply under stress: crashes (SIGKILL), faults, concurrent runs, confirmation, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.emulator.server import MUTATING, EmulatorServer

from conftest import API_KEY, CANARY, Cli, start_emulator, stats

SECRET_FILES = ("", ".backup", ".journal", ".lock.info")


def names_and_counts(cli: Cli) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in cli.client().list():
        counts[d.name or ""] = counts.get(d.name or "", 0) + 1
    return counts


def converged(cli: Cli, expected: dict[str, str]) -> None:
    """Exactly one live deployment per manifest, with the manifest's image; state matches."""
    live = {d.name: d for d in cli.client().list()}
    assert names_and_counts(cli) == dict.fromkeys(expected, 1)
    assert {n: d.image for n, d in live.items()} == expected
    assert stored_ids(cli) == {n: d.id for n, d in live.items()}


def stored_ids(cli: Cli) -> dict[str, str]:
    """Deployment ids in the state, read through its backend (a file or PostgreSQL)."""
    from reconciler.state.backend import open_backend

    backend = open_backend(cli.env["YOTTACTL_STATE"])
    try:
        state = backend.read()
    finally:
        backend.close()
    assert state is not None, "no state was written"
    return {n: e.id for n, e in state.deployments.items()}


def mutating_calls(server: EmulatorServer) -> int:
    return sum(n for op, n in stats(server).items() if op in MUTATING)


# the k-th mutating call of each trial after which the apply is killed: the first trial creates
# three (3 calls), each later one replaces three (9 calls: stop, delete, create each), so the
# kills land early, in the middle and late in a replace; the last call is left out, as an apply
# can finish before a busy machine runs the kill (bench/crash_stress.py kills there too)
KILL_AFTER = {"file": (2, 3, 6, 8), "postgres": (1, 5, 7)}


@pytest.mark.parametrize("backend", list(KILL_AFTER))
def test_kills_inside_api_work_never_duplicate(tmp_path: Path, request: pytest.FixtureRequest,
                                               backend: str) -> None:
    """A kill smoke per backend: SIGKILL a real `yottactl apply` inside its API work, then apply
    again: converged. Most kills must land after a mutating call, or the test proves little. With
    PostgreSQL the killed run's lock, journal rows and state versions live in the database.
    The long version (hundreds of kills at random moments, inside state writes, name swaps,
    saved plans and rollouts) is bench/crash_stress.py, on the file backend."""
    server = start_emulator(transition_seconds=0.05, latency_ms=15)
    after_a_call = 0
    trials = len(KILL_AFTER[backend])
    try:
        cli = Cli(server, tmp_path)
        if backend == "postgres":
            cli.env["YOTTACTL_STATE"] = request.getfixturevalue("pg_state")
        names = ["alpha", "beta", "gamma"]
        for trial, k in enumerate(KILL_AFTER[backend]):
            image = f"vllm/vllm-openai:v0.{trial}"  # every trial replaces all three
            for n in names:
                cli.write(n, image=image, workers=1 + trial % 2)
            before = mutating_calls(server)
            proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve"],
                env={**os.environ, **cli.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # the moment is counted in the emulator's own mutating calls, not in seconds, so the
            # machine's load cannot move every kill past the end of the apply. The emulator
            # counts a call when it arrives, so some kills land before its answer is read: the
            # lost-answer case
            while proc.poll() is None and mutating_calls(server) < before + k:
                time.sleep(0.002)
            died = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            after_a_call += died and mutating_calls(server) > before
            # the killed holder's lock is free once the kernel (file) or the server (its
            # session ended) notices: a bounded wait, never a sleep
            again = cli.subprocess("apply", str(cli.manifests), "--auto-approve",
                                   "--lock-timeout", "30")
            assert again.returncode == 0, (trial, again.stdout, again.stderr)
            converged(cli, dict.fromkeys(names, image))
    finally:
        server.stop()
    assert after_a_call >= trials - 1, f"only {after_a_call} of {trials} kills hit API work"


# One apply through the core with the journal given as an object: the real file journal, or
# one that records nothing. Only the journal differs between the two runs below.
APPLY_WITH_JOURNAL = """
import sys
from reconciler.apply.executor import Executor
from reconciler.apply.requests import SecretSource
from reconciler.state.backend import StateFile
from reconciler.settings import resolve
from reconciler.app.plan import build_plan


class NoJournal:
    def append(self, record):
        pass

    def records(self):
        return []

    def clear(self):
        pass


settings = resolve()  # flags none, the environment (YOTTA_API_*, YOTTACTL_STATE) as the CLI does
store = StateFile(settings.state_path, journal=NoJournal() if sys.argv[2] == "none" else None)
state = store.read()
run = build_plan(settings, [sys.argv[1]], state=state)
fp = settings.fingerprinter()
essences = {n: d.essence for n, d in run.desired.items()}  # real values, never shown
Executor(settings.client(), store, state, fp, SecretSource(fp, essences)).run(run.plan)
"""


def _crash_after_create(cli: Cli, journal: bool) -> dict[str, int]:
    """Re-create a deployment deleted out of band; SIGKILL apply after the create committed
    but before its answer (and so the state write) arrived. Returns live name counts."""
    cli.write("one")
    assert cli.subprocess("apply", str(cli.manifests), "--auto-approve").returncode == 0
    api = cli.client()
    [old] = api.list()
    api.stop(old.id)
    while api.detail(old.id).status != "STOPPED":
        time.sleep(0.01)
    api.delete(old.id)  # deleted outside yottactl: the state still records the old id
    cli.server.emulator.faults.response_delay_ms = 3000
    proc = subprocess.Popen(
        [sys.executable, "-c", APPLY_WITH_JOURNAL, str(cli.manifests), "file" if journal else "none"],
        env={**os.environ, **cli.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not api.list() and time.monotonic() < deadline:
        time.sleep(0.01)  # until the new deployment is committed
    proc.kill()
    proc.wait()
    assert api.list(), "the create must have landed before the kill"
    journal_file = Path(str(cli.state) + ".journal")
    assert journal_file.exists() == journal
    cli.server.emulator.faults.response_delay_ms = 0
    again = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    if journal:
        assert "recovered: one was created by an interrupted run" in again.stderr
    else:
        assert "re-adopting live deployment" in again.stdout, again.stdout
    return names_and_counts(cli)


def test_journal_is_what_prevents_duplicates(tmp_path: Path) -> None:
    """Two independent defences: the journal resolves the lost create (and says so); without it,
    the planner's live evidence (a live deployment carries the name) re-adopts it."""
    with_journal = start_emulator(transition_seconds=0.05)
    without = start_emulator(transition_seconds=0.05)
    try:
        assert _crash_after_create(Cli(with_journal, tmp_path / "j"), journal=True) == {"one": 1}
        counts = _crash_after_create(Cli(without, tmp_path / "n"), journal=False)
        assert counts == {"one": 1}, "without the journal, live evidence must still prevent it"
    finally:
        with_journal.stop()
        without.stop()


def test_faults_and_dropped_responses_still_converge(tmp_path: Path) -> None:
    server = start_emulator(fault_rate=0.2, seed=11, transition_seconds=0.01)
    try:
        cli = Cli(server, tmp_path)
        names = [f"svc-{i}" for i in range(6)]
        for n in names:
            cli.write(n)
        for _ in range(4):  # a run may fail on an exhausted retry; the next one finishes it
            result = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
            if result.returncode == 0:
                break
        assert result.returncode == 0, result.stderr
        server.emulator.faults.fault_rate = 0
        converged(cli, dict.fromkeys(names, "vllm/vllm-openai:v0.6.3"))
    finally:
        server.stop()


def test_two_simultaneous_applies_one_proceeds(cli: Cli) -> None:
    cli.server.emulator.faults.latency_ms = 400  # the winner holds the lock for >1 s
    cli.write("solo")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve"],
        env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    loser = next(err for (out, err), p in zip(outs, procs, strict=True) if p.returncode == 1)
    assert "the state is locked by pid" in loser and "running `yottactl apply" in loser
    assert names_and_counts(cli) == {"solo": 1}


@pytest.mark.parametrize(("answer", "applies"), [(b"yes\n", True), (b"y\n", False),
                                                 (b"no\n", False), (b"\x04", False)])
def test_confirmation(cli: Cli, answer: bytes, applies: bool) -> None:
    cli.write("confirm-me")
    code, out = cli.apply_on_tty(answer)
    assert "Only 'yes' will be accepted" in out
    assert (code == 0) is applies, out
    assert bool(names_and_counts(cli)) is applies


def test_non_tty_without_auto_approve_refuses(cli: Cli) -> None:
    cli.write("x")
    result = cli.run("apply", str(cli.manifests))  # click's runner: stdin is no terminal
    assert result.returncode == 1 and "--auto-approve" in result.stderr
    assert names_and_counts(cli) == {}


def test_secrets_never_leak(cli: Cli) -> None:
    """A canary secret and the API key never appear in any file or output of any command."""
    cli.write("secretive")
    plan_file = cli.folder / "p.json"
    outputs = [
        cli.subprocess("validate", str(cli.manifests)),
        cli.subprocess("plan", str(cli.manifests), "--out", str(plan_file)),
        cli.subprocess("plan", str(cli.manifests), "-o", "json"),
        cli.subprocess("plan", str(cli.manifests), "-o", "markdown"),
        cli.subprocess("apply", "--plan", str(plan_file)),
        cli.subprocess("state", "show", "secretive"),
        cli.subprocess("get", "secretive"),
        cli.subprocess("get", "-o", "json"),
        cli.subprocess("drift", str(cli.manifests), "-o", "json"),
        cli.subprocess("export", "--dir", str(cli.folder / "exported")),
        cli.subprocess("plan", str(cli.manifests), "--api-key", "wrong-" + API_KEY),
    ]
    cli.write("secretive", workers=3)
    outputs.append(cli.subprocess("apply", str(cli.manifests), "--auto-approve"))  # + backup
    _killed_mid_create(cli)  # leaves a journal and the lock info behind, as a crash does
    files = [plan_file] + [Path(str(cli.state) + s) for s in SECRET_FILES]
    for path in files[1:]:
        assert path.exists(), path  # read below: each one must really be there
    journal = [json.loads(line) for line in Path(str(cli.state) + ".journal").read_text().split("\n")
               if line.strip()]
    assert any(r.get("op") == "create" and r.get("phase") == "intent" for r in journal), journal
    assert "pid" in json.loads(Path(str(cli.state) + ".lock.info").read_text())
    snapshot = {path: path.read_text() for path in files}
    cli.write("secretive", model="changed")
    cli.server.emulator.api_key = "rotated"  # the next run fails, leaving the journal unfolded
    outputs.append(cli.subprocess("apply", str(cli.manifests), "--auto-approve"))
    for result in outputs:
        for secret in (CANARY, API_KEY):
            assert secret not in result.stdout and secret not in result.stderr, result.args
    files += list((cli.folder / "exported").glob("*"))
    assert len(files) > len(SECRET_FILES) + 1  # the export wrote files
    for path in files:
        text = snapshot.get(path) or path.read_text()
        assert CANARY not in text and API_KEY not in text, path
        if path.name.endswith(".json"):
            assert oct(path.stat().st_mode & 0o777) == "0o600" or path == plan_file


def _killed_mid_create(cli: Cli) -> None:
    """SIGKILL an apply (key given as a flag) whose create was committed but not answered."""
    cli.write("secretive-two")
    cli.server.emulator.faults.response_delay_ms = 30000
    env = {k: v for k, v in {**os.environ, **cli.env}.items() if k != "YOTTA_API_KEY"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve",
         "--api-key", API_KEY], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = cli.client()
    deadline = time.monotonic() + 120
    while len(api.list()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    cli.server.emulator.faults.response_delay_ms = 0
    assert len(api.list()) == 2  # precondition: it was killed inside the create
