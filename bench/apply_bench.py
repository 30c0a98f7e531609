"""Apply N creates against the emulator with per-call latency, at parallelism 10 and 20.

Prints wall time next to the lower bound ceil(N/p) x (calls per change x latency), target
<= 1.2 x bound + 0.5 s, and the state-persistence time per action (target <= 2 ms).

Run: python bench/apply_bench.py [N] [LATENCY_MS]   (default 100 100)
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess, planned_executor, write_fleet

from reconciler.app.plan import Settings

CALLS_PER_CREATE = 2  # create, then one detail poll (transitions are instant here)


def run(n: int, latency_ms: float, parallelism: int) -> None:
    server = EmulatorProcess("--latency-ms", str(latency_ms))
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifests = write_fleet(Path(folder, "m"), n)
            settings = Settings(endpoint=server.url, api_key="bench", state_path=f"{folder}/s.json")
            executor, plan = planned_executor(settings, manifests, parallelism)
            started = time.perf_counter()
            result = executor.run(plan)
            wall = time.perf_counter() - started
            bound = math.ceil(n / parallelism) * CALLS_PER_CREATE * latency_ms / 1000
            target = 1.2 * bound + 0.5
            persist = result.persist_ms
            import httpx

            stats = httpx.get(f"{server.url}/_emulator/stats").json()["calls"]
            calls = sum(stats.values()) - 1  # minus the plan's list
            print(f"N={n} p={parallelism:>2}: wall {wall:.2f}s  bound {bound:.2f}s  "
                  f"target <= {target:.2f}s {'OK' if wall <= target else 'MISSED'}  "
                  f"| API calls {calls} ({calls / n:.1f}/change)  ok {len(result.succeeded)}  "
                  f"| state persistence per action: mean {statistics.mean(persist):.2f} ms, "
                  f"median {statistics.median(persist):.2f} ms, "
                  f"p95 {sorted(persist)[int(len(persist) * .95)]:.2f} ms (target <= 2 ms)")
    finally:
        server.stop()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    for p in (10, 20):
        run(n, latency, p)


if __name__ == "__main__":
    main()
