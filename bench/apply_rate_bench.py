"""Apply at the API's rate limit: adaptive pacing vs fixed parallelism.

The emulator runs in its own process with ``--rate-limit R --latency-ms 50 --transition-seconds 2``.
Two plans run back to back: N creates, then a mixed plan (half scaled, half updated: an update of
a RUNNING deployment is stop, wait, update, start, wait). For each, it prints wall time, the
calls the API served by kind, the 429s it sent, and the bound ``served calls / rate``: no client
can finish the same calls faster. Targets: 0 failed actions, wall <= 1.25 x bound, 429s <= 5% of
all requests. The same runs at a fixed parallelism of 10 and 50 are printed for comparison.

`--cli`: N creates as users run them instead, `yottactl apply --auto-approve` as a whole process
(its default --parallelism 10), the same ratio and 429 share; K runs with `--repeat K`, medians.

Run: python bench/apply_rate_bench.py [N] [RATE] [--adaptive-only] [--creates-only] [--cli] [--repeat K]
     (default 300 20; the small-apply case: 120 20 --cli --repeat 5)
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
           url: str, label: str, rate: float) -> tuple[float, float]:
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
    return wall / bound, share


def run(n: int, rate: float, mode: str, ceiling: int, creates_only: bool = False) -> tuple[float, float]:
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
            created = _apply(settings, manifests, limiter(), ceiling, server.url, f"{n} creates", rate)
            if creates_only:
                return created
            for i in range(n):  # half scaled, half updated (an env change)
                text = manifest_text(i)
                if i % 2:
                    text = text.replace(f"  workers: {1 + i % 4}\n", f"  workers: {2 + i % 4}\n")
                else:
                    text = text.replace(f"MODEL: org/model-{i}", f"MODEL: org/model-{i}-v2")
                (manifests / f"svc-{i:05d}.yaml").write_text(text)
            _apply(settings, manifests, limiter(), ceiling, server.url, "mixed scale/update", rate)
            return created
    finally:
        server.stop()


def cli_creates(n: int, rate: float) -> tuple[float, float]:
    """N creates by `yottactl apply --auto-approve` (a whole process): wall / bound, 429 share."""
    import os
    import subprocess

    server = EmulatorProcess("--rate-limit", str(rate), "--latency-ms", "50",
                             "--transition-seconds", "2")
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifests = write_fleet(Path(folder, "m"), n)
            env = {**os.environ, "YOTTA_API_URL": server.url, "YOTTA_API_KEY": "bench",
                   "HF_TOKEN": "bench-secret", "YOTTACTL_STATE": f"{folder}/s.json"}
            before, throttled_before = _stats(server.url)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "reconciler", "apply", "--auto-approve",
                            str(manifests)], env=env, check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - started
            after, throttled_after = _stats(server.url)
    finally:
        server.stop()
    served = sum(after.values()) - sum(before.values())
    throttled = throttled_after - throttled_before
    bound, share = served / rate, throttled / max(1, served + throttled)
    print(f"  yottactl apply, {n} creates: wall {wall:6.1f}s  bound {bound:6.1f}s  "
          f"({wall / bound:4.2f}x, target <= 1.25x) | 429s {throttled:>4} ({share:5.1%}, target <= 5%)")
    return wall / bound, share


def main() -> None:
    from statistics import median

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    repeat = int(args.pop(2)) if "--repeat" in flags and len(args) > 2 else 1
    n = int(args[0]) if args else 300
    rate = float(args[1]) if len(args) > 1 else 20.0
    creates_only = "--creates-only" in flags
    print(f"{n} deployments, emulator --rate-limit {rate:g} --latency-ms 50 --transition-seconds 2")
    if "--cli" in flags:
        results = [cli_creates(n, rate) for _ in range(repeat)]
        print(f"yottactl apply, {n} creates, median of {repeat}: {median(r[0] for r in results):.2f}x "
              f"the bound, 429s {median(r[1] for r in results):.1%}")
        return
    results = [run(n, rate, "adaptive", 32, creates_only) for _ in range(repeat)]
    if repeat > 1:
        print(f"adaptive, {n} creates, median of {repeat}: {median(r[0] for r in results):.2f}x the "
              f"bound, 429s {median(r[1] for r in results):.1%}")
    if "--adaptive-only" not in flags:
        run(n, rate, "fixed", 10, creates_only)
        run(n, rate, "fixed", 50, creates_only)


if __name__ == "__main__":
    main()
