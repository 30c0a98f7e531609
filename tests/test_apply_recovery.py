"""After a crash, the next apply finishes what the interrupted one touched: it never exits 0
while a deployment that run created, started or stopped is still INITIALIZING or STOPPING."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Cli, serving, start_emulator


@pytest.mark.both_apis
def test_apply_waits_for_a_recovered_create_to_be_running(tmp_path: Path,
                                                          api_version: str) -> None:
    server = start_emulator(transition_seconds=0.5, **serving(api_version))
    try:
        cli = Cli(server, tmp_path, api_version)
        cli.write("web")
        world = server.emulator.world
        frozen = time.time()
        world.clock = lambda: frozen  # time stands still until the second apply waits
        server.emulator.faults.response_delay_ms = 30000  # committed, answer never arrives
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve"],
            env={**os.environ, **cli.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        api = cli.client()
        deadline = time.monotonic() + 60
        while not api.list() and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        server.emulator.faults.response_delay_ms = 0
        [dep] = api.list()
        assert dep.status == "INITIALIZING"  # precondition: the crash left it in transition

        again = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", str(cli.manifests), "--auto-approve"],
            env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert again.stdout is not None
        seen = []
        for line in again.stdout:
            seen.append(line)
            if "web: wait RUNNING" in line:  # it waits: let the deployment come up
                world.clock = time.time
        world.clock = time.time
        err = again.stderr.read() if again.stderr else ""
        assert again.wait(60) == 0, "".join(seen) + err
        assert "recovered: web was created by an interrupted run" in err
        assert any("web: wait RUNNING" in line for line in seen), seen
        assert api.detail(dep.id).status == "RUNNING"
    finally:
        server.stop()
