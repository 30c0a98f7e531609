"""Crash stress: SIGKILL `yottactl apply` at random moments many times, re-apply, check that
every manifest has exactly one live deployment and the state matches live.

Run: python bench/crash_stress.py [TRIALS]   (default 100; the test suite runs 20)
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess, manifest_text


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    server = EmulatorProcess("--latency-ms", "15", "--transition-seconds", "0.05")
    rng = random.Random(7)
    names = [f"svc-{i:05d}" for i in range(4)]
    failures = 0
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifests = Path(folder, "m")
            manifests.mkdir()
            env = {**os.environ, "YOTTA_API_URL": server.url, "YOTTA_API_KEY": "k",
                   "YOTTACTL_STATE": f"{folder}/s.json", "HF_TOKEN": "x"}
            for trial in range(trials):
                for i, name in enumerate(names):
                    text = manifest_text(i).replace("v0.6.", f"v{trial}.")
                    (manifests / f"{name}.yaml").write_text(text)
                cmd = [sys.executable, "-m", "reconciler", "apply", str(manifests), "--auto-approve"]
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.3, 1.5))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                again = subprocess.run(cmd, env=env, capture_output=True, text=True)
                live = httpx.get(f"{server.url}/openapi/v1/elastic/deploy/list",
                                 headers={"X-Api-Key": "k"}).json()["data"]
                counts = {n: sum(1 for d in live if d["name"] == n) for n in names}
                state = json.loads(Path(folder, "s.json").read_text())
                ok = (again.returncode == 0 and all(c == 1 for c in counts.values())
                      and {n: e["id"] for n, e in state["deployments"].items()}
                      == {d["name"]: d["id"] for d in live})
                failures += not ok
                print(f"trial {trial + 1:>3}: {'ok' if ok else 'FAILED ' + str(counts)}")
    finally:
        server.stop()
    print(f"{trials - failures}/{trials} trials converged with no duplicates")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
