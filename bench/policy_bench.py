"""Policies on a plan of N deployments (default 1,000) against the emulator.

1. API calls: `build_plan` with every rule of yottactl.yaml's policies configured and with none,
   the emulator's call counts compared. Target: the same calls (policy evaluation adds 0).
2. Time: the evaluation alone (reconciler/policy, pure) on that plan, median of ROUNDS runs,
   and what build_plan recorded for it. Target: <= 20 ms at 1,000 deployments.

Run: python bench/policy_bench.py [N ...]   (ROUNDS=21 by default)
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess, manifest_text
from plan_bench import managed_state, seed

from reconciler.app.plan import PlanRun, Settings, build_plan
from reconciler.policy.evaluate import evaluate
from reconciler.project import Context, Inputs
from reconciler.project_schema import Policies
from reconciler.state.backend import StateFile

EVERY_RULE = Policies.model_validate({
    "maxHourlyCost": {"max": 100000}, "maxHourlyIncrease": {"maxPercent": 50},
    "allowedGpuTypes": {"types": ["NVIDIA_H100_80G", "NVIDIA_RTX_4090_24G", "NVIDIA_L4_24G",
                                  "NVIDIA_A100_80G"]},
    "allowedRegions": {"regions": ["us-east-1", "us-east-2", "us-west-1", "us-central-2"]},
    "maxWorkers": {"max": 3}, "maxGpuCount": {"max": 1},  # a quarter break maxWorkers
    "imagePolicy": {"forbidTags": ["latest"], "forbidUntagged": True,
                    "registries": ["docker.io"]},
    "requirePreventDestroy": {"level": "advisory"}, "requireRollout": "blueGreen",
})
ROUNDS = int(os.environ.get("ROUNDS", "21"))


# the same rules, loose enough that the fleet passes them all (the everyday case)
PASSING = EVERY_RULE.model_copy(update={
    "maxWorkers": EVERY_RULE.maxWorkers.model_copy(update={"max": 8}) if EVERY_RULE.maxWorkers
    else None, "requirePreventDestroy": None, "requireRollout": None,
    "maxHourlyIncrease": None})


def _timed(planned: PlanRun, rules: Policies) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one evaluation (CPU time: this machine is shared)."""
    wall, cpu = [], []
    for _ in range(ROUNDS):
        started, started_cpu = time.perf_counter(), time.process_time()
        evaluate(planned.plan, rules, desired=planned.desired, live=planned.live,
                 state=planned.state)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def calls(url: str) -> dict[str, int]:
    return dict(httpx.get(f"{url}/_emulator/stats").json()["calls"])


def run(n: int) -> tuple[int, float]:
    server = EmulatorProcess()
    try:
        seed(server.url, n)
        with tempfile.TemporaryDirectory() as folder:
            manifests = Path(folder, "m")
            manifests.mkdir()
            for i in range(n):
                text = manifest_text(i)
                if i % 50 == 0:  # 2% of the fleet has a pending change
                    text = text.replace(f"workers: {1 + i % 4}", f"workers: {1 + (i + 1) % 4}")
                (manifests / f"svc-{i:05d}.yaml").write_text(text)
            os.environ["HF_TOKEN"] = "bench-secret"
            plain = Settings(endpoint=server.url, api_key="bench", state_path=f"{folder}/s.json")
            StateFile(plain.state_path).write(managed_state(plain, n // 50))
            guarded = dataclasses.replace(plain, inputs=Inputs(Context(policies=EVERY_RULE)))
            counted = []
            for settings in (plain, guarded):
                before = calls(server.url)
                planned = build_plan(settings, [str(manifests)])
                after = calls(server.url)
                counted.append({k: v - before.get(k, 0) for k, v in after.items()
                                if v != before.get(k, 0)})
            assert planned.policy is not None and planned.policy.violations  # rules did run
            extra = sum(counted[1].values()) - sum(counted[0].values())
            median, cpu = _timed(planned, EVERY_RULE)
            clean, clean_cpu = _timed(planned, PASSING)
            print(f"N={n:>6}: API calls without policies {counted[0]}, with {counted[1]} "
                  f"(+{extra}); evaluation median over {ROUNDS} runs: {median:.1f} ms wall, "
                  f"{cpu:.1f} ms CPU with {len(planned.policy.violations)} violations "
                  f"(every rule broken somewhere); {clean:.1f} ms wall, {clean_cpu:.1f} ms CPU "
                  f"with every rule passing ({len(planned.plan.changes)} deployments)")
            return extra, median
    finally:
        server.stop()


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000]
    ok = True
    for n in sizes:
        extra, median = run(n)
        if n == 1000:
            ok &= extra == 0 and median <= 20  # the worst case: every rule broken somewhere
            print(f"target at 1,000: 0 extra API calls, <= 20 ms: {'met' if ok else 'MISSED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
