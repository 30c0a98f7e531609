"""Crash stress: SIGKILL `yottactl apply` at random points many times (during start-up and
planning, between and inside API calls, and inside state writes), apply again after each kill,
and count what must never happen.

Run: python bench/crash_stress.py [TRIALS] [--fleets K] [--seed N]   (default 300 trials, 3 fleets)
     python bench/crash_stress.py --rollouts [TRIALS] ...   blue-green rollouts killed inside
                                   each step (bench/_rollout_kills.py; default 120 trials)

Each trial changes the manifests (replace all, scale, remove one, add it back, stop/start one),
or exchanges names (`state mv` a swap or a 3-cycle, manifests to match), or runs a saved plan
(one deployment deleted, `plan --out` re-creates it, the kill hits `apply --plan`; the plan is
then applied again and a third time), starts the apply and kills it in one of three ways,
chosen at random:
  start   a random moment after the process starts (start-up, manifests, plan, first calls)
  api     a random moment after the emulator saw the run's first mutating call
  write   after that call, the moment a state-file temp file appears (inside StateFile.write)
Then it checks the files, runs apply again (it must exit 0) and checks the fleet. A poller lists
the emulator every few milliseconds throughout, so a name live twice even for a moment counts.

Figures (target in brackets; the script exits 1 if any target is missed):
  duplicates            a manifest name with two or more live deployments   [0]
  momentary duplicates  a list (by the poller) where two deployments share a name  [0]
  saved plan twice      a saved plan applied again after it ran (or after a kill
                        inside it) created something again                   [0]
  saved plan errors     re-running a killed saved plan neither applied it nor
                        refused it as stale                                   [0]
  missing state files   no state file after a kill although one existed     [0]
  new lineages          the state's lineage changed (a reset state)         [0]
  unmanaged leftovers   live deployments the state does not map             [0]
  failed re-applies     the apply after the kill did not exit 0             [0]
  state != live         the state's name->id differs from live              [0]
plus how many kills landed after a mutating call [>= 70%] and inside a state write [> 0], and
how many hit a swap of names and a saved plan after a mutating call [> 0 each].
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import _rollout_kills
from _fleet import EmulatorProcess, manifest_text

NAMES = [f"svc-{i:05d}" for i in range(4)]


class Fleet:
    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.manifests = folder / "m"
        self.manifests.mkdir()
        self.state = folder / "state" / "s.json"
        self.env = {**os.environ, "YOTTA_API_URL": url, "YOTTA_API_KEY": "k",
                    "YOTTACTL_STATE": str(self.state), "HF_TOKEN": "x", "NO_COLOR": "1"}
        self.cmd = [sys.executable, "-m", "reconciler", "apply", str(self.manifests),
                    "--auto-approve"]
        self.plan_file = folder / "saved.plan.json"
        self.config = list(range(len(NAMES)))  # NAMES[i] is declared with config[i]
        self.texts: dict[str, str] = {}

    def yottactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], env=self.env,
                              capture_output=True, text=True)

    def write(self, trial: int, kind: int) -> None:
        """A different change each trial, so every kind of step gets interrupted."""
        for i, name in enumerate(NAMES):
            path = self.manifests / f"{name}.yaml"
            if kind == 2 and i == trial % len(NAMES):
                path.unlink(missing_ok=True)  # removed: a delete
                continue
            config = self.config[i]
            text = manifest_text(config).replace(f"name: svc-{config:05d}", f"name: {name}")
            text = text.replace("v0.6.", f"v{trial // 7}.")  # new image: replace
            if kind == 1:  # scale
                text = re.sub(r"workers: \d+", f"workers: {1 + trial % 3}", text)
            if kind == 4 and i == trial % len(NAMES):
                text += "  state: stopped\n"
            self.texts[name] = text
            path.write_text(text)

    def exchange(self, trial: int) -> bool:
        """Move names as `state mv` does (a swap, or a 3-cycle every other time), manifests
        to match: the next apply renames live deployments onto names others still carry."""
        ring = [(trial // 7 + k) % len(NAMES) for k in range(2 if trial // 7 % 2 else 3)]
        names = [NAMES[i] for i in ring]
        moves = [(names[0], "parked")] + [(names[k + 1], names[k]) for k in range(len(ring) - 1)]
        moves.append(("parked", names[-1]))
        for old, new in moves:
            if self.yottactl("state", "mv", old, new).returncode != 0:
                return False
        configs = [self.config[i] for i in ring]  # what names[k] was now runs as names[k-1]
        for k, i in enumerate(ring):
            self.config[i] = configs[(k + 1) % len(ring)]
        return True

    def mutating_calls(self) -> int:
        """Mutating calls this run started: intent records in its journal (written just
        before each call; the journal is emptied when a run completes)."""
        try:
            lines = Path(str(self.state) + ".journal").read_text().splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return 0
        return sum(1 for line in lines if '"intent"' in line)

    def live(self) -> list[dict[str, object]]:
        data: list[dict[str, object]] = httpx.get(
            f"{self.url}/openapi/v1/elastic/deploy/list", headers={"X-Api-Key": "k"}
        ).json()["data"]
        return data

    def temp_files(self) -> set[str]:
        folder = self.state.parent
        return {p.name for p in folder.iterdir() if p.name.endswith(".tmp")} if folder.exists() \
            else set()

    def read_state(self) -> dict[str, object] | None:
        try:
            data: dict[str, object] = json.loads(self.state.read_text())
            return data
        except FileNotFoundError:
            return None


class Poller:
    """Lists the emulator every few milliseconds; counts lists where a name is live twice."""

    def __init__(self, url: str) -> None:
        self.url, self.duplicates, self.polls = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(headers={"X-Api-Key": "k"}) as http:
            while not self._stop.wait(0.005):
                try:
                    live = http.get(f"{self.url}/openapi/v1/elastic/deploy/list").json()["data"]
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
                names = [str(d["name"]) for d in live]
                self.polls += 1
                self.duplicates += len(names) != len(set(names))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def kill(fleet: Fleet, mode: str, rng: random.Random, cmd: list[str] | None = None,
         api_window: float = 0.8) -> subprocess.Popen[bytes]:
    temps = fleet.temp_files()
    proc = subprocess.Popen(cmd or fleet.cmd, env=fleet.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    if mode == "start":
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return proc
    while proc.poll() is None and fleet.mutating_calls() == 0 \
            and time.monotonic() < deadline:
        time.sleep(0.002)
    if mode == "api":
        time.sleep(rng.uniform(0.0, api_window))
    else:  # write: a temp file beside the state exists only inside StateFile.write
        folder = fleet.state.parent
        temps = fleet.temp_files()
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if any(e.name.endswith(".tmp") and e.name not in temps
                       for e in os.scandir(folder)):
                    break
            except FileNotFoundError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc


def run_fleet(number: int, trials: int, seed: int) -> Counter[str]:
    """One fleet: its own emulator, folder and state; ``trials`` kill-and-re-apply rounds."""
    rng = random.Random(seed * 1000 + number)
    figures: Counter[str] = Counter()
    server = EmulatorProcess("--latency-ms", "5", "--transition-seconds", "0.05")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as folder:
            fleet = Fleet(server.url, Path(folder))
            fleet.write(0, 0)
            assert subprocess.run(fleet.cmd, env=fleet.env, capture_output=True).returncode == 0
            lineage = (fleet.read_state() or {}).get("lineage")
            poller = Poller(server.url)
            for trial in range(1, trials + 1):
                kind = trial % 7
                cmd = fleet.cmd
                if kind == 5 and not fleet.exchange(trial):
                    figures["swap set-up failures"] += 1
                    continue
                if kind == 6:  # saved plan: re-create a deleted deployment with apply --plan
                    if not saved_plan_setup(fleet, trial, figures):
                        continue
                    cmd = [*fleet.cmd[:3], "apply", "--plan", str(fleet.plan_file)]
                else:
                    fleet.write(trial, kind)
                mode = rng.choice(("start", "api", "api", "api", "api", "write", "write", "write"))
                before_temps = fleet.temp_files()
                had_state = fleet.state.exists()
                # a swap or a saved create is over quickly: kill within its first moments
                proc = kill(fleet, mode, rng, cmd, 0.8 if kind < 5 else 0.3)
                figures[f"mode {mode}"] += 1
                died = proc.returncode == -signal.SIGKILL
                figures["killed"] += died
                hit = died and fleet.mutating_calls() > 0
                figures["killed after a mutating call"] += hit
                figures["killed inside a swap"] += hit and kind == 5
                figures["killed inside a saved plan"] += hit and kind == 6
                figures["killed inside a state write"] += died and bool(
                    fleet.temp_files() - before_temps)
                if had_state and not fleet.state.exists():
                    figures["missing state files"] += 1
                if kind == 6:
                    saved_plan_again(fleet, trial, figures)
                again = subprocess.run(fleet.cmd, env=fleet.env, capture_output=True, text=True)
                if again.returncode != 0:
                    figures["failed re-applies"] += 1
                    print(f"fleet {number} trial {trial}: re-apply exit {again.returncode}: "
                          f"{(again.stderr or again.stdout).strip()[-300:]}", flush=True)
                state = fleet.read_state() or {}
                if state.get("lineage") != lineage:
                    figures["new lineages"] += 1
                    lineage = state.get("lineage")
                live = fleet.live()
                names = Counter(str(d["name"]) for d in live)
                figures["duplicates"] += sum(1 for n in names.values() if n > 1)
                entries = state.get("deployments")
                mapped = {str(e["id"]): n for n, e in entries.items()} \
                    if isinstance(entries, dict) else {}
                figures["unmanaged leftovers"] += sum(1 for d in live if str(d["id"]) not in mapped)
                if {n: i for i, n in mapped.items()} != {str(d["name"]): str(d["id"]) for d in live}:
                    figures["state != live"] += 1
                figures["trials"] += 1
                if trial % 10 == 0:
                    print(f"fleet {number}: {trial} trials, {time.monotonic() - started:.0f}s: "
                          f"{dict(figures)}", flush=True)
            poller.stop()
            figures["momentary duplicates"] += poller.duplicates
            figures["polls"] += poller.polls
    finally:
        server.stop()
    return figures


def run_rollout_fleet(number: int, trials: int, seed: int) -> Counter[str]:
    """One fleet of blue-green deployments: ``trials`` rounds of change, kill, re-apply."""
    rng = random.Random(seed * 1000 + number)
    figures: Counter[str] = Counter()
    server = EmulatorProcess("--latency-ms", "5", "--transition-seconds",
                             str(_rollout_kills.TRANSITION))
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as folder:
            fleet = _rollout_kills.RolloutFleet(server.url, Path(folder), rng)
            fleet.write(0)
            first = subprocess.run(fleet.cmd, env=fleet.env, capture_output=True, text=True)
            assert first.returncode == 0, first.stderr
            for trial in range(1, trials + 1):
                _rollout_kills.run_trial(fleet, trial, figures)
                if trial % 10 == 0:
                    print(f"fleet {number}: {trial} trials, {time.monotonic() - started:.0f}s: "
                          f"{dict(figures)}", flush=True)
    finally:
        server.stop()
    return figures


def saved_plan_setup(fleet: Fleet, trial: int, figures: Counter[str]) -> bool:
    """Delete one deployment (an apply without its manifest), then save the plan that
    re-creates it: the killed run is `apply --plan`."""
    fleet.write(trial, 2)
    if fleet.yottactl("apply", str(fleet.manifests), "--auto-approve").returncode != 0:
        figures["saved plan set-up failures"] += 1
        return False
    fleet.write(trial, 3)
    made = fleet.yottactl("plan", str(fleet.manifests), "--out", str(fleet.plan_file))
    if made.returncode != 0 or "to create" not in made.stdout:
        figures["saved plan set-up failures"] += 1
        return False
    return True


def saved_plan_again(fleet: Fleet, trial: int, figures: Counter[str]) -> None:
    """After the kill: the saved plan runs again (it applies, or is refused as stale when the
    killed run got as far as the create); a third run must be refused. Neither may create a
    second deployment of the name."""
    name = NAMES[trial % len(NAMES)]
    for attempt in ("again", "third"):
        result = fleet.yottactl("apply", "--plan", str(fleet.plan_file))
        live = Counter(str(d["name"]) for d in fleet.live())
        if live[name] > 1:
            figures["saved plan twice"] += 1
        stale = result.returncode == 1 and "is stale" in result.stderr
        if attempt == "third" and not stale:
            figures["saved plan twice"] += 1
            print(f"trial {trial}: a saved plan ran a third time: exit {result.returncode}: "
                  f"{(result.stderr or result.stdout).strip()[-300:]}", flush=True)
        elif result.returncode != 0 and not stale:
            figures["saved plan errors"] += 1
            print(f"trial {trial}: saved plan re-run: exit {result.returncode}: "
                  f"{(result.stderr or result.stdout).strip()[-300:]}", flush=True)
        else:
            figures[f"saved plan {attempt}: {'refused as stale' if stale else 'applied'}"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trials", nargs="?", type=int, default=None,
                        help="default 300, or 120 with --rollouts")
    parser.add_argument("--fleets", type=int, default=3,
                        help="independent fleets run side by side (each its own emulator)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rollouts", action="store_true",
                        help="blue-green rollouts killed at random points and inside each step")
    args = parser.parse_args()
    trials = args.trials or (120 if args.rollouts else 300)
    figures: Counter[str] = Counter()
    share = -(-trials // args.fleets)
    run = run_rollout_fleet if args.rollouts else run_fleet
    with ThreadPoolExecutor(args.fleets) as pool:  # the work is in subprocesses
        for future in [pool.submit(run, n, share, args.seed) for n in range(args.fleets)]:
            figures.update(future.result())
    if args.rollouts:
        ok = _rollout_kills.report(figures)
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    report(figures, figures["trials"])


def report(figures: Counter[str], trials: int) -> None:
    modes = ", ".join(f"{m}: {figures['mode ' + m]}" for m in ("start", "api", "write"))
    print(f"\ncrash stress: {trials} trials, {figures['killed']} kills ({modes})")
    ok = True
    for name in ("duplicates", "momentary duplicates", "saved plan twice", "saved plan errors",
                 "missing state files", "new lineages", "unmanaged leftovers",
                 "failed re-applies", "state != live"):
        ok &= figures[name] == 0
        print(f"  {name:<24} {figures[name]:>5}   target 0")
    after, inside, killed = (figures["killed after a mutating call"],
                             figures["killed inside a state write"], max(figures["killed"], 1))
    ok &= after >= 0.7 * killed and inside > 0 and figures["killed"] >= 200
    print(f"  {'kills after a call':<24} {after:>5}   {after / killed:.0%} of kills, target >= 70%")
    print(f"  {'kills inside a write':<24} {inside:>5}   target > 0")
    for name in ("killed inside a swap", "killed inside a saved plan"):
        ok &= figures[name] > 0
        print(f"  {name:<24} {figures[name]:>5}   target > 0 (after a mutating call)")
    print(f"  (poller: {figures['polls']} lists; saved plan re-runs: "
          f"{figures['saved plan again: applied']} applied, "
          f"{figures['saved plan again: refused as stale']} refused as stale; third runs "
          f"refused: {figures['saved plan third: refused as stale']}; set-up failures: "
          f"{figures['swap set-up failures'] + figures['saved plan set-up failures']})")
    print(f"  {'kills':<24} {figures['killed']:>5}   target >= 200")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
