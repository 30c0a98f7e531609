"""Apply at the API's rate limit: adaptive pacing vs fixed parallelism.

The emulator runs in its own process with ``--rate-limit R --latency-ms 50 --transition-seconds 2``.
Two plans run back to back: N creates, then a mixed plan (half scaled, half updated: an update of
a RUNNING deployment is stop, wait, update, start, wait). For each, it prints wall time, the
calls the API served by kind, the 429s it sent, and the bound ``served calls / rate``: no client
can finish the same calls faster. Targets: 0 failed actions, wall <= 1.25 x bound, 429s <= 5% of
all requests. The same runs at a fixed parallelism of 10 and 50 are printed for comparison.

Run: python bench/apply_rate_bench.py [N] [RATE]   (default 300 20)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess, manifest_text, planned_executor, write_fleet

from reconciler.api.limiter import AdaptiveLimiter, FixedLimiter
from reconciler.app.plan import Settings


def _stats(url: str) -> tuple[dict[str, int], int]:
    body = httpx.get(f"{url}/_emulator/stats").json()
    return dict(body["calls"]), int(body.get("throttled", 0))


def _apply(settings: Settings, manifests: Path, limiter: AdaptiveLimiter, ceiling: int,
           url: str, label: str, rate: float) -> None:
    client = settings.client()
    client.limiter = limiter
    executor, plan = planned_executor(settings, manifests, ceiling, client)
    before, throttled_before = _stats(url)
    started = time.perf_counter()
    result = executor.run(plan)
    wall = time.perf_counter() - started
    after, throttled_after = _stats(url)
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) - before.get(k, 0)}
    served = sum(calls.values())
    throttled = throttled_after - throttled_before
    bound = served / rate
    share = throttled / max(1, served + throttled)
    ok = not result.failed and wall <= 1.25 * bound and share <= 0.05
    kinds = ", ".join(f"{k.removeprefix('endpoint')} {v}" for k, v in sorted(calls.items()))
    print(f"  {label:<22} {len(result.succeeded):>4} ok {len(result.failed):>3} failed | wall "
          f"{wall:6.1f}s  bound {bound:6.1f}s  ({wall / bound:4.2f}x, target <= 1.25x) | 429s "
          f"{throttled:>4} ({share:5.1%}, target <= 5%) | {'OK' if ok else 'MISSED'}")
    print(f"  {'':<22} calls: {kinds}")


def run(n: int, rate: float, mode: str, ceiling: int) -> None:
    server = EmulatorProcess("--rate-limit", str(rate), "--latency-ms", "50",
                             "--transition-seconds", "2")
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifests = write_fleet(Path(folder, "m"), n)
            settings = Settings(endpoint=server.url, api_key="bench", state_path=f"{folder}/s.json")

            def limiter() -> AdaptiveLimiter:
                return AdaptiveLimiter(ceiling) if mode == "adaptive" else FixedLimiter(ceiling)

            label = f"{mode} (p={ceiling})"
            print(f"{label}:")
            _apply(settings, manifests, limiter(), ceiling, server.url, f"{n} creates", rate)
            for i in range(n):  # half scaled, half updated (an env change)
                text = manifest_text(i)
                if i % 2:
                    text = text.replace(f"  workers: {1 + i % 4}\n", f"  workers: {2 + i % 4}\n")
                else:
                    text = text.replace(f"MODEL: org/model-{i}", f"MODEL: org/model-{i}-v2")
                (manifests / f"svc-{i:05d}.yaml").write_text(text)
            _apply(settings, manifests, limiter(), ceiling, server.url, "mixed scale/update", rate)
    finally:
        server.stop()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    print(f"{n} deployments, emulator --rate-limit {rate:g} --latency-ms 50 --transition-seconds 2")
    run(n, rate, "adaptive", 32)
    run(n, rate, "fixed", 10)
    run(n, rate, "fixed", 50)


if __name__ == "__main__":
    main()
