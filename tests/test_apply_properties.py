"""Properties of apply: idempotence under out-of-band changes, interrupts, state refusals,
lock takeover, CI-friendly output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api.models import UpdateRequest

from conftest import Cli, start_emulator

manifest_sets = st.dictionaries(
    st.sampled_from(["api", "batch", "studio", "embed"]),
    st.fixed_dictionaries({
        "workers": st.integers(1, 3),
        "mode": st.sampled_from(["ALB", "QUEUE", "CUSTOM"]),
        "state": st.sampled_from(["running", "stopped"]),
        "model": st.sampled_from(["llama", "qwen"]),
    }),
    min_size=1, max_size=3,
)
disturbances = st.lists(st.tuples(st.sampled_from(["scale", "stop", "env", "delete", "extra"]),
                                  st.integers(0, 3)), max_size=3)


def disturb(cli: Cli, kind: str, index: int) -> None:
    api = cli.client()
    live = sorted(api.list(), key=lambda d: d.id)
    if kind == "extra":
        from reconciler.api.models import CreateRequest

        from conftest import create_body

        api.create(CreateRequest.model_validate(create_body(f"console-{index}")))
        return
    if not live:
        return
    dep = live[index % len(live)]
    if kind == "scale" and dep.status in ("RUNNING", "STOPPED"):
        api.scale(dep.id, 1 + (dep.totalWorkers or 1) % 3)
    elif kind in ("stop", "delete", "env") and dep.status == "RUNNING":
        api.stop(dep.id)
    if kind in ("delete", "env"):
        while api.detail(dep.id).status != "STOPPED":
            time.sleep(0.005)
    if kind == "delete" and api.detail(dep.id).status == "STOPPED":
        api.delete(dep.id)
    if kind == "env":
        body: dict[str, Any] = {
            "name": dep.name, "workers": dep.totalWorkers, "containerVolumeInGb": 50,
            "resources": [{"region": r.region, "gpuType": r.gpuType, "gpuCount": r.gpuCount}
                          for r in dep.resources],
            "environmentVars": [{"key": "MODEL", "value": "changed-outside"}],
        }
        if dep.expose:
            body["expose"] = {"port": dep.expose.port, "protocol": dep.expose.protocol}
        api.update(dep.id, UpdateRequest.model_validate(body))


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(manifest_sets, disturbances, manifest_sets)
def test_apply_then_plan_is_clean(first: dict[str, Any], changes: list[Any],
                                  second: dict[str, Any]) -> None:
    server = start_emulator()
    import tempfile

    try:
        with tempfile.TemporaryDirectory() as folder:
            cli = Cli(server, Path(folder))
            for name, spec in first.items():
                cli.write(name, **spec)
            assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
            for kind, index in changes:
                disturb(cli, kind, index)
            for path in cli.manifests.iterdir():
                path.unlink()
            for name, spec in second.items():
                cli.write(name, **spec)
            result = cli("apply", str(cli.manifests), "--auto-approve", "--allow-mass-delete")
            assert result.exit_code == 0, result.output
            clean = cli("plan", str(cli.manifests), "--detailed-exitcode")
            assert clean.exit_code == 0, clean.output
            names = sorted(d.name or "" for d in cli.client().list()
                           if not (d.name or "").startswith("console-"))
            assert names == sorted(second)
    finally:
        server.stop()


def test_first_interrupt_finishes_in_flight_and_exits_130(cli: Cli) -> None:
    cli.server.emulator.world.timings.transition_seconds = 30  # waits would last long
    for n in ("a", "b", "c"):
        cli.write(n)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve"],
        env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len(cli.client().list()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)  # all three creates are in; the run is now waiting for RUNNING
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "finishing in-flight calls" in err
    state = json.loads(cli.state.read_text())
    assert set(state["deployments"]) == {"a", "b", "c"}  # the creates were recorded
    # the platform finishes the starts (they were started with 30 s transitions): the re-run
    # waits for RUNNING (done means the declared status), so move the emulator's clock on
    world = cli.server.emulator.world
    real_clock = world.clock
    world.clock = lambda: real_clock() + 31
    again = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert again.returncode == 0 and len(cli.client().list()) == 3


def test_state_refusals_never_overwrite(cli: Cli) -> None:
    cli.write("a")
    cli.state.parent.mkdir(parents=True)
    for content, words in (("{not json", "not valid JSON"),
                           ('{"format_version": 99, "lineage": "x"}', "format_version 99")):
        cli.state.write_text(content)
        result = cli("apply", str(cli.manifests), "--auto-approve")
        assert result.exit_code == 1 and words in result.stderr and "hint:" in result.stderr
        assert cli.state.read_text() == content
    cli.state.unlink()
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    plan_file = cli.folder / "p.json"
    cli.write("a", workers=3)
    assert cli("plan", str(cli.manifests), "--out", str(plan_file)).exit_code == 0
    other = json.loads(plan_file.read_text())
    other["state_lineage"] = "00000000-0000-0000-0000-000000000000"
    plan_file.write_text(json.dumps(other))
    refused = cli("apply", "--plan", str(plan_file))
    assert refused.exit_code == 1 and "another state" in refused.stderr


def test_dead_holders_lock_is_taken_over_and_force_unlock(cli: Cli) -> None:
    cli.write("a")
    info = Path(str(cli.state) + ".lock.info")
    info.parent.mkdir(parents=True, exist_ok=True)
    here = socket.gethostname()
    info.write_text(json.dumps({"id": "dead-lock-id", "pid": 999999, "host": here,
                                "command": "yottactl apply", "started": "2026-01-01"}))
    result = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert result.returncode == 0 and "took over the state lock left by pid 999999" in result.stderr
    assert "which is no longer running" in result.stderr
    assert not info.exists()
    info.write_text(json.dumps({"id": "stuck-id", "pid": 999999, "host": here, "command": "x"}))
    wrong = cli("force-unlock", "other-id")
    assert wrong.exit_code == 1 and "does not match" in wrong.stderr
    assert cli("force-unlock", "stuck-id").exit_code == 0 and not info.exists()


def test_ci_output_is_plain_timestamped_lines(cli: Cli) -> None:
    cli.write("a")
    result = cli.subprocess("apply", str(cli.manifests), "--auto-approve",
                            env={"NO_COLOR": ""})
    assert result.returncode == 0 and "\x1b" not in result.stdout + result.stderr
    progress = [ln for ln in result.stdout.splitlines() if " a: create " in ln]
    assert progress and all(ln[:4].isdigit() and ln[10] == "T" for ln in progress)


def test_emulator_persists_world_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "world.json"
    first = start_emulator(data_file=str(data))
    from conftest import create_body

    httpx.post(f"{first.url}/openapi/v1/elastic/deploy/create", json=create_body("kept"),
               headers={"X-Api-Key": "k"}).raise_for_status()
    first.stop()
    second = start_emulator(data_file=str(data))
    try:
        listed = httpx.get(f"{second.url}/openapi/v1/elastic/deploy/list",
                           headers={"X-Api-Key": "k"}).json()["data"]
        assert [d["name"] for d in listed] == ["kept"]
    finally:
        second.stop()


def test_lock_timeout_waits_for_the_holder(cli: Cli) -> None:
    import threading

    from reconciler.state.backend import StateFile

    cli.write("a")
    store = StateFile(cli.state)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.locked("yottactl apply (test holder)"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(60)
    try:
        refused = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
        assert refused.returncode == 1 and "test holder" in refused.stderr
        waiting = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve",
             "--lock-timeout", "60"], env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert waiting.stderr is not None
        # the holder is released only once the waiter says it is waiting for it
        said = waiting.stderr.readline()
        assert "test holder" in said and "waiting up to 60s" in said, said
        assert waiting.poll() is None  # still blocked on the lock
        assert cli.client().list() == []  # and it has done nothing yet
    finally:
        release.set()
        holder.join()
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, said + err
    assert [d.name for d in cli.client().list()] == ["a"]


def test_readme_main_job_runs() -> None:
    """The README's first command ends in `yottactl demo`: keep it true."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert ".venv/bin/yottactl demo" in readme and '.venv/bin/pytest -n 2' in readme
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOTTA")}
    result = subprocess.run([sys.executable, "-m", "reconciler", "demo", "--transition-seconds",
                             "0.05"], cwd=root, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes. Live deployments match the manifests." in result.stdout
    assert "Demo complete" in result.stdout
