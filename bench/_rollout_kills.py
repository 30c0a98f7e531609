"""Crash stress for blue-green rollouts (issue 23), run by `crash_stress.py --rollouts`.

Four ALB deployments with `lifecycle.rollout: blueGreen`, a probe and a cutover command. Each
trial changes a random subset of them (a new image, a new env value: both roll out, side by
side through the limiter; or a worker count: an in-place scale), starts `yottactl apply` and
SIGKILLs it at a point chosen at random, most of them inside a given rollout step, recognised
from outside the process (the emulator's counters and the cutover's marker files; nothing of
yottactl's internals):

  start     a random moment after the process starts (start-up, plan, first calls)
  api       a random moment after the run's first mutating call
  create    right after the emulator saw green's create
  wait      a random moment inside green's INITIALIZING (the wait for RUNNING)
  probe     the moment green's domain answered a probe
  cutover   while the cutover command runs (its start marker exists, its end marker does not)
  stop      a random moment inside blue's STOPPING (after the stop call)
  delete    right after blue's delete
  write     after the first mutating call, the moment a state temp file appears

Then `apply` again (it must exit 0) and check: no name live twice (NAME and its alternate slot
NAME@alt count as one name), no live deployment the state does not map (an orphan), every
deployment with the spec its manifest asks for, no rollout left half-done in the state.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

NAMES = [f"svc-{i:05d}" for i in range(4)]
TRANSITION = 0.3  # seconds: long enough to kill inside a wait, short enough for 100s of kills
ROLLOUT_MODES = ("start", "api", "create", "wait", "probe", "cutover", "stop", "delete", "write")
SCALE_MODES = ("start", "api", "write")
STEP_MODES = ("create", "wait", "probe", "cutover", "stop", "delete")

CUTOVER = """\
import os, pathlib, sys, time
marker = pathlib.Path(sys.argv[1]) / f"{os.environ['YOTTACTL_DEPLOYMENT']}-{os.environ['YOTTACTL_NEW_ID']}"
marker.with_suffix(".start").write_text(os.environ.get("YOTTACTL_NEW_DOMAIN", ""))
time.sleep(float(sys.argv[2]))
marker.with_suffix(".end").write_text("")
"""


def manifest(name: str, image: str, model: str, workers: int, cutover: list[str]) -> str:
    argv = ", ".join(f'"{a}"' for a in cutover)
    return (
        "apiVersion: yottactl/v1\nkind: ElasticDeployment\n"
        f"metadata:\n  name: {name}\n"
        f"spec:\n  image: {image}\n"
        "  resources:\n    - {region: us-east-1, gpuType: NVIDIA_L4_24G, gpuCount: 1}\n"
        f"  workers: {workers}\n  containerVolumeInGb: 40\n  serviceMode: ALB\n"
        "  expose: {port: 8000, protocol: HTTP}\n"
        f"  environmentVars:\n    MODEL: {model}\n"
        "lifecycle:\n  rollout: blueGreen\n"
        "  probe: {path: /healthz, intervalSeconds: 0.05, successes: 2, timeoutSeconds: 2}\n"
        f"  cutover: {{command: [{argv}]}}\n"
    )


class RolloutFleet:
    def __init__(self, url: str, folder: Path, rng: random.Random) -> None:
        self.url, self.folder, self.rng = url, folder, rng
        self.manifests = folder / "m"
        self.manifests.mkdir()
        self.markers = folder / "markers"
        self.markers.mkdir()
        script = folder / "cutover.py"
        script.write_text(CUTOVER)
        self.cutover = [sys.executable, str(script), str(self.markers), "0.3"]
        self.state = folder / "state" / "s.json"
        self.env = {**os.environ, "YOTTA_API_URL": url, "YOTTA_API_KEY": "k",
                    "YOTTACTL_STATE": str(self.state), "NO_COLOR": "1"}
        self.cmd = [sys.executable, "-m", "reconciler", "apply", str(self.manifests),
                    "--auto-approve", "--timeout", "60"]
        self.wanted = {n: {"image": "vllm/vllm-openai:v0.0", "model": f"org/m-{n}", "workers": 1}
                       for n in NAMES}
        self.http = httpx.Client(timeout=10)

    def write(self, trial: int) -> str:
        """Change a random subset; returns the kind of change (rollout or scale)."""
        kind = "scale" if trial % 5 == 4 else "rollout"
        for name in self.rng.sample(NAMES, self.rng.randint(1, len(NAMES))):
            want = self.wanted[name]
            if kind == "scale":
                want["workers"] = 1 + (int(want["workers"]) % 2)
            elif trial % 5 == 3:
                want["model"] = f"org/m-{name}-t{trial}"  # env: would stop it; rolls out
            else:
                want["image"] = f"vllm/vllm-openai:v{trial}.{self.rng.randrange(9)}"
        for name, want in self.wanted.items():
            (self.manifests / f"{name}.yaml").write_text(manifest(
                name, str(want["image"]), str(want["model"]), int(want["workers"]),
                self.cutover))
        return kind

    # -- observation from outside the process --------------------------------------------

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"{self.url}/_emulator/stats").json()
        return data

    def counts(self) -> Counter[str]:
        stats = self.stats()
        out: Counter[str] = Counter(stats["calls"])
        out["served"] = sum(stats["served"].values())
        out["mutating"] = sum(v for k, v in stats["calls"].items()
                              if k not in ("endpointList_1", "endpointDetail", "endpointWorkers",
                                           "queryWorkerLogs"))
        return out

    def marker_names(self) -> set[str]:
        return {p.name for p in self.markers.iterdir()}

    def temp_files(self) -> set[str]:
        folder = self.state.parent
        return {p.name for p in folder.iterdir() if p.name.endswith(".tmp")} \
            if folder.exists() else set()

    def live(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.http.get(
            f"{self.url}/openapi/v1/elastic/deploy/list", headers={"X-Api-Key": "k"}
        ).json()["data"]
        return data

    def read_state(self) -> dict[str, Any]:
        import json

        try:
            data: dict[str, Any] = json.loads(self.state.read_text())
            return data
        except FileNotFoundError:
            return {}


def _until(proc: subprocess.Popen[bytes], ready: Any, deadline: float) -> bool:
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.003)
    return False


def kill(fleet: RolloutFleet, mode: str) -> tuple[subprocess.Popen[bytes], bool]:
    """Start an apply and SIGKILL it at ``mode``'s point; (process, landed where meant)."""
    base, markers, temps = fleet.counts(), fleet.marker_names(), fleet.temp_files()
    proc = subprocess.Popen(fleet.cmd, env=fleet.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline, rng = time.monotonic() + 120, fleet.rng

    def grew(key: str) -> bool:
        return fleet.counts()[key] > base[key]

    def new_markers(suffix: str) -> set[str]:
        return {m for m in fleet.marker_names() - markers if m.endswith(suffix)}

    landed = True
    if mode == "start":
        time.sleep(rng.uniform(0.0, 1.5))
    elif mode == "api":
        landed = _until(proc, lambda: grew("mutating"), deadline)
        time.sleep(rng.uniform(0.0, 1.5))
    elif mode in ("create", "wait"):
        landed = _until(proc, lambda: grew("endpointCreate"), deadline)
        if mode == "wait":
            time.sleep(rng.uniform(0.0, TRANSITION * 0.8))
    elif mode == "probe":
        landed = _until(proc, lambda: grew("served"), deadline) and not new_markers(".start")
    elif mode == "cutover":
        landed = _until(proc, lambda: bool(new_markers(".start")), deadline)
        landed &= not {m.replace(".start", ".end") for m in new_markers(".start")} \
            <= fleet.marker_names()
    elif mode == "stop":
        landed = _until(proc, lambda: grew("endpointStop"), deadline)
        time.sleep(rng.uniform(0.0, TRANSITION * 0.8))
        landed &= not grew("endpointDelete_2")
    elif mode == "delete":
        landed = _until(proc, lambda: grew("endpointDelete_2"), deadline)
    else:  # write: a temp file beside the state exists only inside a state write
        landed = _until(proc, lambda: grew("mutating"), deadline) and _until(
            proc, lambda: bool(fleet.temp_files() - temps), deadline)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc, landed and proc.returncode == -signal.SIGKILL


def check(fleet: RolloutFleet, figures: Counter[str]) -> None:
    """After a successful re-apply: what must never be."""
    live = fleet.live()
    state = fleet.read_state().get("deployments") or {}
    slot = {n: n for n in NAMES} | {f"{n}@alt": n for n in NAMES}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for dep in live:
        by_name.setdefault(slot.get(str(dep["name"]), f"?{dep['name']}"), []).append(dep)
    figures["duplicates"] += sum(1 for deps in by_name.values() if len(deps) > 1)
    mapped = {str(e["id"]): n for n, e in state.items()}
    figures["orphans"] += sum(1 for d in live if str(d["id"]) not in mapped)
    figures["rollouts left in the state"] += sum(
        1 for e in state.values()
        if e.get("rollout_green") or e.get("rollout_retiring") or e.get("rollout_failed"))
    for name, want in fleet.wanted.items():
        deps = [d for d in by_name.get(name, []) if mapped.get(str(d["id"])) == name]
        env = {e["key"]: e["value"] for e in (deps[0].get("environmentVars") or [])} \
            if deps else {}
        if not deps or deps[0]["image"] != want["image"] or deps[0]["totalWorkers"] != \
                want["workers"] or env.get("MODEL") != want["model"] \
                or deps[0]["status"] != "RUNNING":
            figures["without the new spec"] += 1


def run_trial(fleet: RolloutFleet, trial: int, figures: Counter[str]) -> None:
    kind = fleet.write(trial)
    mode = fleet.rng.choice(ROLLOUT_MODES if kind == "rollout" else SCALE_MODES)
    proc, landed = kill(fleet, mode)
    died = proc.returncode == -signal.SIGKILL
    figures[f"mode {mode}"] += 1
    figures["killed"] += died
    figures[f"landed {mode}"] += landed
    again = subprocess.run(fleet.cmd, env=fleet.env, capture_output=True, text=True)
    if again.returncode != 0:
        figures["failed re-applies"] += 1
        print(f"trial {trial} ({mode}): re-apply exit {again.returncode}: "
              f"{(again.stderr or again.stdout).strip()[-400:]}", flush=True)
    check(fleet, figures)
    figures["trials"] += 1


def report(figures: Counter[str]) -> bool:
    modes = ", ".join(f"{m} {figures['landed ' + m]}/{figures['mode ' + m]}"
                      for m in ROLLOUT_MODES)
    print(f"\nrollout crash stress: {figures['trials']} trials, {figures['killed']} kills")
    print(f"  kills landed where meant / tried, by point: {modes}")
    ok = figures["killed"] >= 100
    for name in ("duplicates", "orphans", "without the new spec", "rollouts left in the state",
                 "failed re-applies"):
        ok &= figures[name] == 0
        print(f"  {name:<28} {figures[name]:>5}   target 0")
    inside = all(figures["landed " + m] > 0 for m in STEP_MODES)
    ok &= inside
    print(f"  {'kills':<28} {figures['killed']:>5}   target >= 100")
    print(f"  {'every step killed inside':<28} {inside!s:>5}   target True")
    return ok
