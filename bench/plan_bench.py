"""Plan N deployments against the emulator.

1. In process: API calls per plan and wall time split into load / fetch / plan / render.
   Targets: exactly 1 list call; plan (excluding network) <= 0.5 s at 1,000; 10,000 within 10x.
2. Whole processes, side by side in one run: `yottactl plan DIR` against the bare minimum any
   planner must pay (one `list` call + JSON parse, plus libyaml-parsing every manifest file), wall
   time and peak memory (max RSS) of each, best of 3.
   Targets: plan <= 1.3x the minimum at 1,000 and 10,000; peak memory <= 150 MiB at 10,000.

Run: python bench/plan_bench.py [N ...]   (default 100 1000 10000)
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess, create_body, manifest_text

from reconciler.app.plan import Settings, build_plan
from reconciler.plan.normalize import essence_from_live, mask
from reconciler.render.plan_text import render_text
from reconciler.state.backend import StateFile
from reconciler.state.model import State, StateEntry


def seed(url: str, n: int) -> None:
    for start in range(0, n, 1000):
        bodies = [create_body(i) for i in range(start, min(n, start + 1000))]
        httpx.post(f"{url}/_emulator/seed", json={"deployments": bodies}, timeout=120).raise_for_status()


def managed_state(settings: Settings, n_changed: int) -> State:
    fp = settings.fingerprinter()
    state = State.empty()
    entries = {}
    for d in settings.client().list():
        essence = essence_from_live(d)
        spec = mask(essence, ("environmentVars.HF_TOKEN",), fp)
        entries[d.name or ""] = StateEntry(id=d.id, spec=spec, sensitive=("environmentVars.HF_TOKEN",),
                                           fingerprint=fp.obj(spec), status=d.status)
    return state.model_copy(update={"deployments": entries, "key_verifier": fp.verifier()})


def run(n: int) -> dict[str, float]:
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
            settings = Settings(endpoint=server.url, api_key="bench", state_path=f"{folder}/s.json")
            StateFile(settings.state_path).write(managed_state(settings, n // 50))
            best: dict[str, float] = {}
            best.update(_whole_process(n, server.url, manifests, settings.state_path or ""))
            for attempt in range(5):  # best of 5: the first pays one-off imports; VMs are noisy
                before = httpx.get(f"{server.url}/_emulator/stats").json()["calls"]
                run_ = build_plan(settings, [str(manifests)])
                started = time.perf_counter()
                render_text(run_.plan, io.StringIO())
                render = time.perf_counter() - started
                after = httpx.get(f"{server.url}/_emulator/stats").json()["calls"]
                calls = {k: after[k] - before.get(k, 0) for k in after
                         if after[k] != before.get(k, 0)}
                t = run_.timings
                local = t["load"] + t["plan"] + render
                print(f"N={n:>6} run {attempt + 1}: API calls {calls}  load {t['load']:.3f}s  "
                      f"fetch {t['fetch']:.3f}s  plan {t['plan']:.3f}s  render {render:.3f}s  | "
                      f"excluding network {local:.3f}s  changes {len(run_.plan.pending)}")
                if "local" not in best or local < best["local"]:
                    best.update(calls=sum(calls.values()), local=local)
            return best
    finally:
        server.stop()


MINIMUM = """
import json, pathlib, sys
import httpx
from ruamel.yaml import YAML
url, folder = sys.argv[1:]
reply = httpx.get(url + "/openapi/v1/elastic/deploy/list", headers={"X-Api-Key": "bench"}, timeout=300)
json.loads(reply.content)
loader = YAML(typ="safe")  # libyaml (ruamel.yaml.clib) parser
for path in sorted(pathlib.Path(folder).rglob("*.yaml")):
    list(loader.load_all(path.read_bytes()))
"""


def _measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one whole process."""
    import subprocess

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{cmd[:4]} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _whole_process(n: int, url: str, manifests: Path, state_path: str) -> dict[str, float]:
    env = {**os.environ, "YOTTA_API_URL": url, "YOTTA_API_KEY": "bench", "NO_COLOR": "1",
           "YOTTACTL_STATE": state_path}
    plan_cmd = [sys.executable, "-m", "reconciler", "plan", str(manifests)]
    minimum_cmd = [sys.executable, "-c", MINIMUM, url, str(manifests)]
    plans, minima = [], []
    for _ in range(3):  # interleaved: a burst of someone else's load hits both sides alike
        plans.append(_measure(plan_cmd, env))
        minima.append(_measure(minimum_cmd, env))
    plan_wall, minimum_wall = min(w for w, _, _ in plans), min(w for w, _, _ in minima)
    plan_rss, minimum_rss = max(m for _, m, _ in plans), max(m for _, m, _ in minima)
    # CPU time as well: on a shared machine wall time swings with other people's load
    plan_cpu, minimum_cpu = min(c for _, _, c in plans), min(c for _, _, c in minima)
    print(f"N={n:>6} whole process: yottactl plan {plan_wall:.2f}s {plan_rss:.0f} MiB | minimum "
          f"(list + JSON + libyaml) {minimum_wall:.2f}s {minimum_rss:.0f} MiB | "
          f"ratio {plan_wall / minimum_wall:.2f}x (CPU {plan_cpu:.2f}s vs {minimum_cpu:.2f}s: "
          f"{plan_cpu / minimum_cpu:.2f}x)")
    return {"plan_wall": plan_wall, "minimum_wall": minimum_wall, "plan_rss": plan_rss,
            "plan_cpu": plan_cpu, "minimum_cpu": minimum_cpu}


def main() -> None:
    if sys.argv[1:2] == ["--one"]:  # child: one size, result as the last line
        import json

        print(json.dumps(run(int(sys.argv[2]))))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000]
    results = {n: _in_own_process(n) for n in sizes}
    if 1000 in results:
        ok = results[1000]["local"] <= 0.5
        print(f"target: plan excluding network <= 0.5 s at 1,000 -> {results[1000]['local']:.3f}s "
              f"{'OK' if ok else 'MISSED'}")
    if 1000 in results and 10000 in results:
        ratio = results[10000]["local"] / results[1000]["local"]
        print(f"target: 10,000 within 10x of 1,000 -> {ratio:.1f}x {'OK' if ratio <= 10 else 'MISSED'}")
    for n in (1000, 10000):
        if n in results:
            ratio = results[n]["plan_wall"] / results[n]["minimum_wall"]
            cpu = results[n]["plan_cpu"] / results[n]["minimum_cpu"]
            print(f"target: whole-process plan <= 1.3x the minimum at {n:,} -> {ratio:.2f}x "
                  f"{'OK' if ratio <= 1.3 else 'MISSED'} (CPU time {cpu:.2f}x "
                  f"{'OK' if cpu <= 1.3 else 'MISSED'})")
    if 10000 in results:
        rss = results[10000]["plan_rss"]
        print(f"target: peak memory <= 150 MiB at 10,000 -> {rss:.0f} MiB "
              f"{'OK' if rss <= 150 else 'MISSED'}")
    print(f"target: exactly 1 list call per plan -> "
          f"{'OK' if all(r['calls'] == 1 for r in results.values()) else 'MISSED'}")


def _in_own_process(n: int) -> dict[str, float]:
    """Each size runs in a fresh interpreter, so earlier sizes' heaps cannot skew it."""
    import json
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    print("\n".join(out[:-1]))
    result: dict[str, float] = json.loads(out[-1])
    return result


if __name__ == "__main__":
    main()
