"""Shared generator of realistic manifests for the benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.app.plan import Settings
    from reconciler.apply.executor import Executor
    from reconciler.plan.model import Plan

GPUS = ["NVIDIA_H100_80G", "NVIDIA_RTX_4090_24G", "NVIDIA_L4_24G", "NVIDIA_A100_80G"]
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-central-2"]


def manifest_text(i: int) -> str:
    mode = ("ALB", "QUEUE", "CUSTOM")[i % 3]
    expose = "  expose: {port: 8000, protocol: HTTP}\n" if mode != "QUEUE" else ""
    return (
        "apiVersion: yottactl/v1\nkind: ElasticDeployment\n"
        f"metadata:\n  name: svc-{i:05d}\n"
        "spec:\n"
        f"  image: vllm/vllm-openai:v0.6.{i % 7}\n"
        "  resources:\n"
        f"    - {{region: {REGIONS[i % 4]}, gpuType: {GPUS[i % 4]}, gpuCount: 1}}\n"
        f"  workers: {1 + i % 4}\n"
        f"  containerVolumeInGb: {20 + i % 200}\n"
        f"  serviceMode: {mode}\n{expose}"
        "  environmentVars:\n"
        f"    MODEL: org/model-{i}\n    MAX_TOKENS: \"{1024 + i}\"\n    HF_TOKEN: ${{env:HF_TOKEN}}\n"
    )


def create_body(i: int) -> dict[str, object]:
    mode = ("ALB", "QUEUE", "CUSTOM")[i % 3]
    body: dict[str, object] = {
        "name": f"svc-{i:05d}", "image": f"vllm/vllm-openai:v0.6.{i % 7}",
        "resources": [{"region": REGIONS[i % 4], "gpuType": GPUS[i % 4], "gpuCount": 1}],
        "workers": 1 + i % 4, "containerVolumeInGb": 20 + i % 200, "serviceMode": mode,
        "environmentVars": [{"key": "MODEL", "value": f"org/model-{i}"},
                            {"key": "MAX_TOKENS", "value": str(1024 + i)},
                            {"key": "HF_TOKEN", "value": "bench-secret"}],
    }
    if mode != "QUEUE":
        body["expose"] = {"port": 8000, "protocol": "HTTP"}
    return body


def write_fleet(folder: Path, n: int) -> Path:
    """``n`` manifests, one file each, in a new ``folder``."""
    folder.mkdir()
    for i in range(n):
        (folder / f"svc-{i:05d}.yaml").write_text(manifest_text(i))
    return folder


def planned_executor(settings: Settings, manifests: Path, parallelism: int,
                     client: YottaClient | None = None) -> tuple[Executor, Plan]:
    """The plan for ``manifests`` and an executor for it, set up as ``apply`` does."""
    import os

    from reconciler.app.apply import desired_essences
    from reconciler.app.plan import build_plan
    from reconciler.apply.executor import Executor
    from reconciler.apply.requests import SecretSource
    from reconciler.state.model import State

    os.environ["HF_TOKEN"] = "bench-secret"
    plan_run = build_plan(settings, [str(manifests)])
    essences = desired_essences(plan_run)
    fp = settings.fingerprinter()
    executor = Executor(client or settings.client(), settings.state_file(),
                        plan_run.state or State.empty(), fp, SecretSource(fp, essences),
                        parallelism=parallelism)
    return executor, plan_run.plan


class EmulatorProcess:
    """The emulator in its own process, as users run it (its heap must not skew our timings)."""

    def __init__(self, *options: str) -> None:
        import socket
        import subprocess
        import sys
        import time

        import httpx

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "--port", str(port),
             "--transition-seconds", "0", *options], stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                httpx.get(f"{self.url}/_emulator/stats", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("emulator did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
