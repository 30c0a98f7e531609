"""`yottactl agent` over a fleet of N deployments on the emulator (a benchmark, not a test).

1. One observe agent process, interval 1 s, for CYCLES cycles:
   - API calls per cycle (target exactly 1: the list call);
   - RSS after the first cycle and at the end (targets <= 100 MiB, growth <= 5%);
   - RSS also at cycles 10, 100, 250, 500 and 750 (a plateau or a steady climb);
   - drift detection latency: an out-of-band scale until /metrics reports it, 10 times (target
     <= the interval + its jitter, 1.1 s).
2. Takeover: two heal agents on one PostgreSQL state (the test server, tests/pgserver.py);
   `kill -9` the leader and time until the standby leads; TRIALS times (target median <= 10 s).

Run: python bench/agent_bench.py [N]   (default 1000; CYCLES=1000 TRIALS=10 by default)
"""

from __future__ import annotations

import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _fleet import EmulatorProcess, manifest_text
from plan_bench import managed_state, seed

from reconciler.api.client import YottaClient
from reconciler.app.plan import Settings
from reconciler.state.backend import StateFile, open_backend

LATENCY_TRIALS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Agent:
    """An agent process and its JSON events, read on a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "reconciler", "agent",
                                      "--log-format", "json", *args],
                                     env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                print("agent:", line.rstrip(), file=sys.stderr)

    def wait_for(self, event: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            item = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if item.get("event") == event:
                return item

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=60)


def calls(url: str) -> dict[str, int]:
    return dict(httpx.get(f"{url}/_emulator/stats").json()["calls"])


def observe_run(url: str, env: dict[str, str], manifests: Path, cycles: int) -> None:
    port = free_port()
    agent = Agent(env, "--mode", "observe", "--interval", "1", "--listen", f"127.0.0.1:{port}",
                  "--source", str(manifests))
    try:
        agent.wait_for("cycle")
        rss_start, before = agent.rss_mib(), calls(url)
        samples = {1: rss_start}
        for done in range(2, cycles + 1):
            agent.wait_for("cycle")
            if done in (10, 100, 250, 500, 750) or done == cycles:
                samples[done] = agent.rss_mib()
        after, rss_end = calls(url), samples[cycles]
        made = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        per_cycle = sum(made.values()) / (cycles - 1)
        print(f"API calls per cycle: {per_cycle:.3f} over {cycles - 1} cycles {made}")
        print(f"RSS after the first cycle {rss_start:.1f} MiB, after {cycles}: {rss_end:.1f} MiB "
              f"(growth {100 * (rss_end - rss_start) / rss_start:+.1f}%); by cycle: "
              + ", ".join(f"{k}: {v:.1f}" for k, v in samples.items()))
        api = YottaClient("bench", url)
        target = next(d for d in api.list() if d.name == "svc-00001")
        metric = 'yottactl_agent_drift_findings{type="scaled"} '
        latencies = []
        for _ in range(LATENCY_TRIALS):  # out of band: scaled, seen; scaled back, cleared
            started = time.monotonic()
            api.scale(target.id, 4)
            while metric + "1.0" not in httpx.get(f"http://127.0.0.1:{port}/metrics").text:
                time.sleep(0.01)
            latencies.append(time.monotonic() - started)
            api.scale(target.id, target.totalWorkers or 1)
            while metric + "0.0" not in httpx.get(f"http://127.0.0.1:{port}/metrics").text:
                time.sleep(0.01)
        print(f"drift detection latency: median {statistics.median(latencies):.2f} s, max "
              f"{max(latencies):.2f} s over {len(latencies)} changes (interval 1 s ±10%)")
    finally:
        agent.stop()


def takeover_trials(env: dict[str, str], manifests: Path, trials: int) -> None:
    from pgserver import create_database, database_url, start_server

    admin = start_server()
    state = database_url(admin, create_database(admin), state="bench")
    source = StateFile(env["YOTTACTL_STATE"]).read()
    target = open_backend(state)
    assert source is not None
    target.put(source)
    target.close()
    env = {**env, "YOTTACTL_STATE": state}
    args = ("--mode", "heal", "--interval", "1", "--listen", "off", "--source", str(manifests))
    times = []
    leader = Agent(env, *args)
    leader.wait_for("leader")
    for _ in range(trials):
        standby = Agent(env, *args)
        standby.wait_for("standby")
        leader.wait_for("cycle")
        killed = time.monotonic()
        leader.proc.kill()
        leader.proc.wait()
        standby.wait_for("leader", timeout=60)
        times.append(time.monotonic() - killed)
        leader = standby
    leader.stop()
    print(f"takeover after kill -9: median {statistics.median(times):.2f} s, max "
          f"{max(times):.2f} s over {trials} trials ({', '.join(f'{t:.2f}' for t in times)})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cycles = int(os.environ.get("CYCLES", "1000"))
    trials = int(os.environ.get("TRIALS", "10"))
    server = EmulatorProcess()
    try:
        seed(server.url, n)
        with tempfile.TemporaryDirectory() as folder:
            manifests = Path(folder, "m")
            manifests.mkdir()
            for i in range(n):
                (manifests / f"svc-{i:05d}.yaml").write_text(manifest_text(i))
            env = {"YOTTA_API_URL": server.url, "YOTTA_API_KEY": "bench",
                   "YOTTACTL_STATE": f"{folder}/s.json", "HF_TOKEN": "bench-secret"}
            os.environ["HF_TOKEN"] = "bench-secret"
            settings = Settings(endpoint=server.url, api_key="bench",
                                state_path=env["YOTTACTL_STATE"])
            StateFile(env["YOTTACTL_STATE"]).write(managed_state(settings, 0))
            print(f"N={n}, {cycles} cycles at a 1 s interval")
            observe_run(server.url, env, manifests, cycles)
            takeover_trials(env, manifests, trials)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
