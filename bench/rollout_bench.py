"""Zero-downtime releases (issue 23): how long an image change leaves a name with nothing serving.

Each scenario gets its own emulator (`--transition-seconds 10` by default), one ALB deployment
with 2 workers, applied and RUNNING first; then the image changes and `yottactl apply` runs while a
poller lists the emulator every 0.25 s. A sample "serves" when a RUNNING deployment with a RUNNING
worker exists (the emulator holds only this manifest's deployments, blue and green alike) AND
its domain answers 200 over real HTTP (the emulator serves every domain, see README "The
emulator").

  recreate        today's default: stop -> delete -> create                  (about 2T of outage)
  blueGreen       lifecycle.rollout: blueGreen                                   [target 0 s]
                  wall time against the bound T (create+wait) + T (stop) + 0 (delete) + probe
  unhealthy       blueGreen to an image the emulator runs but answers 503 (--unhealthy-images),
                  with a probe and `apply --timeout 30`: mutating calls to blue [target 0], exit
                  code [1], seconds until the command gives up, outage [0], blue still the one
                  deployment
  failing         blueGreen to an image that ends FAILED (--failing-images): same figures

Run: python bench/rollout_bench.py [--transition-seconds 10] [--only NAME ...]
The blueGreen scenarios need `lifecycle.rollout` (issue 23's core); without it they report the
apply's refusal instead of figures. Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _fleet import EmulatorProcess

NAME = "llm"
POLL_SECONDS = 0.25
PROBE_INTERVAL, PROBE_SUCCESSES = 1, 2
PROBE: dict[str, object] = {"path": "/healthz", "intervalSeconds": PROBE_INTERVAL,
                            "successes": PROBE_SUCCESSES, "timeoutSeconds": 2}
GIVE_UP = 30  # apply --timeout of the failing rollouts: the longest wait, the probe's included


def manifest(image: str, rollout: str | None, probe: dict[str, object] | None) -> str:
    text = (
        "apiVersion: yottactl/v1\nkind: ElasticDeployment\n"
        f"metadata:\n  name: {NAME}\n"
        "spec:\n"
        f"  image: {image}\n"
        "  resources:\n    - {region: us-east-1, gpuType: NVIDIA_H100_80G, gpuCount: 1}\n"
        "  workers: 2\n  containerVolumeInGb: 100\n  serviceMode: ALB\n"
        "  expose: {port: 8000, protocol: HTTP}\n"
        "  environmentVars:\n    MODEL: meta-llama/Llama-3.1-8B-Instruct\n"
    )
    if rollout or probe:
        text += "lifecycle:\n"
        if rollout:
            text += f"  rollout: {rollout}\n"
        if probe:
            text += "  probe: {" + ", ".join(f"{k}: {v}" for k, v in probe.items()) + "}\n"
    return text


@dataclass
class Sample:
    at: float
    serving: bool  # a RUNNING deployment with a RUNNING worker whose domain answers 200
    ids: frozenset[str]
    running: frozenset[str]


@dataclass
class Poller:
    url: str
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self, http: httpx.Client) -> Sample:
        listed = http.get(f"{self.url}/openapi/v1/elastic/deploy/list").json()["data"]
        running = [d for d in listed if d["status"] == "RUNNING" and d["runningWorkers"] > 0]
        serving = False
        for dep in running:
            try:
                serving |= http.get(dep["domain"].rstrip("/") + "/healthz").status_code == 200
            except httpx.HTTPError:
                pass
        return Sample(time.monotonic(), serving, frozenset(str(d["id"]) for d in listed),
                      frozenset(str(d["id"]) for d in running))

    def run(self) -> None:
        with httpx.Client(headers={"X-Api-Key": "k"}, timeout=5) as http:
            while True:
                self.samples.append(self.sample(http))
                if self.stop.wait(POLL_SECONDS):
                    self.samples.append(self.sample(http))
                    return

    def outage(self) -> tuple[float, float]:
        """(total, longest) seconds between a sample that found nothing serving and the next."""
        total = longest = run = 0.0
        for before, after in zip(self.samples, self.samples[1:], strict=False):
            if before.serving:
                run = 0.0
                continue
            run += after.at - before.at
            total += after.at - before.at
            longest = max(longest, run)
        return total, longest


class Project:
    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder = url, folder
        self.manifests = folder / "m"
        self.manifests.mkdir()
        self.env = {**os.environ, "YOTTA_API_URL": url, "YOTTA_API_KEY": "k",
                    "YOTTACTL_STATE": str(folder / "s.json"), "NO_COLOR": "1"}

    def write(self, text: str) -> None:
        (self.manifests / f"{NAME}.yaml").write_text(text)

    def apply(self, *options: str) -> tuple[int, float, str]:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "reconciler", "apply", str(self.manifests),
                               "--auto-approve", *options], env=self.env, capture_output=True,
                              text=True)
        return done.returncode, time.monotonic() - started, done.stderr + done.stdout

    def live(self) -> list[dict[str, object]]:
        data: list[dict[str, object]] = httpx.get(
            f"{self.url}/openapi/v1/elastic/deploy/list", headers={"X-Api-Key": "k"}
        ).json()["data"]
        return data

    def mutated(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(f"{self.url}/_emulator/stats").json()["mutated"]
        return stats


@dataclass
class Outcome:
    name: str
    code: int = 0
    wall: float = 0.0
    outage: float = 0.0
    longest: float = 0.0
    blue_calls: int = 0
    blue_kept: bool = False
    live_after: int = 0
    domain_changed: bool = False
    refused: str = ""
    overhead: float = 0.0  # a no-change apply right after: start-up, plan, no API wait


def scenario(name: str, transition: float, rollout: str | None, new_image: str,
             probe: dict[str, object] | None = None, *emulator_options: str,
             apply_options: tuple[str, ...] = ()) -> Outcome:
    server = EmulatorProcess("--transition-seconds", str(transition), *emulator_options)
    outcome = Outcome(name)
    try:
        with tempfile.TemporaryDirectory() as folder:
            project = Project(server.url, Path(folder))
            project.write(manifest("vllm/vllm-openai:v0.6.3", rollout, probe))
            code, _, output = project.apply()
            if code != 0:
                outcome.refused = " | ".join(output.strip().splitlines()[:2]) or "?"
                outcome.code = code
                return outcome
            (blue,) = project.live()
            project.write(manifest(new_image, rollout, probe))
            poller = Poller(server.url)
            thread = threading.Thread(target=poller.run)
            thread.start()
            outcome.code, outcome.wall, output = project.apply(*apply_options)
            poller.stop.set()
            thread.join()
            outcome.outage, outcome.longest = poller.outage()
            outcome.blue_calls = project.mutated().get(str(blue["id"]), 0)
            after = project.live()
            outcome.live_after = len(after)
            outcome.blue_kept = [d["id"] for d in after] == [blue["id"]] \
                and after[0]["status"] == "RUNNING"
            outcome.domain_changed = bool(after) and after[0]["domain"] != blue["domain"]
            if outcome.code not in (0, 1):
                outcome.refused = output.strip()[-300:]
            _, outcome.overhead, _ = project.apply(*apply_options)
    finally:
        server.stop()
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transition-seconds", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", default=["recreate", "blueGreen", "unhealthy",
                                                      "failing"])
    args = parser.parse_args()
    t = args.transition_seconds
    runs = {
        "recreate": lambda: scenario("recreate", t, None, "vllm/vllm-openai:v0.7.0"),
        "blueGreen": lambda: scenario("blueGreen", t, "blueGreen", "vllm/vllm-openai:v0.7.0",
                                      PROBE),
        "unhealthy": lambda: scenario("unhealthy", t, "blueGreen", "vllm/vllm-openai:v0.7.0-bad",
                                      PROBE, "--unhealthy-images", "*:v0.7.0-bad",
                                      apply_options=("--timeout", str(GIVE_UP))),
        "failing": lambda: scenario("failing", t, "blueGreen", "vllm/vllm-openai:v0.7.0-crash",
                                    PROBE, "--failing-images", "*:v0.7.0-crash",
                                    apply_options=("--timeout", str(GIVE_UP))),
    }
    ok = True
    print(f"rollout bench: transitions {t:g} s, 1 ALB deployment x 2 workers, poll every "
          f"{POLL_SECONDS} s")
    for key in args.only:
        o = runs[key]()
        if o.refused:
            print(f"  {key:<10} not measured: apply exit {o.code}: {o.refused}")
            ok &= key != "recreate"
            continue
        line = (f"  {key:<10} exit {o.code}  apply {o.wall:5.1f} s  no serving deployment "
                f"{o.outage:5.2f} s (longest {o.longest:.2f} s)")
        if key == "recreate":
            print(line + f"  domain changed: {o.domain_changed}")
            ok &= o.code == 0
        elif key == "blueGreen":
            probe_time = float(PROBE_INTERVAL * (PROBE_SUCCESSES - 1))
            bound = 2 * t + probe_time
            pad = " " * 12
            print(line + "  [target 0]")
            print(f"{pad}wall {o.wall:.1f} s against the bound {bound:.1f} s (create+wait {t:g} "
                  f"+ stop {t:g} + delete 0 + probe {probe_time:g}): x{o.wall / bound:.2f}")
            print(f"{pad}{o.wall - bound:.1f} s over it, of which {o.overhead:.1f} s is a "
                  f"no-change apply's start-up and plan")
            print(f"{pad}calls to blue {o.blue_calls} (stop + delete), {o.live_after} "
                  f"deployment(s) after, domain changed: {o.domain_changed}")
            ok &= o.code == 0 and o.outage == 0 and o.live_after == 1
        else:
            print(line + f" [0]\n  {'':<10} mutating calls to blue {o.blue_calls} [target 0], "
                  f"gave up after {o.wall:.1f} s (--timeout {GIVE_UP}),\n  {'':<10} blue still "
                  f"the only deployment and RUNNING: {o.blue_kept}")
            ok &= o.code == 1 and o.blue_calls == 0 and o.outage == 0 and o.blue_kept
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
