"""Shared fixtures: a real emulator on an ephemeral loopback port, fast transitions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.retry import RetryPolicy
from reconciler.emulator.server import EmulatorServer, build

FAST_RETRY = RetryPolicy(attempts=8, total_seconds=20, base_seconds=0.01, max_backoff_seconds=0.05)
API_KEY = "test-api-key-SECRET-7f3a"

# tests must never reach a real endpoint or inherit a developer's key
for var in ("YOTTA_API_URL", "YOTTA_API_KEY", "YOTTACTL_STATE"):
    os.environ.pop(var, None)


def start_emulator(**options: Any) -> EmulatorServer:
    options.setdefault("transition_seconds", 0.0)
    options.setdefault("log_interval_seconds", 0.01)
    options.setdefault("retry_after", 0.0)
    return EmulatorServer(build(**options)).start()


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = start_emulator()
    yield server
    server.stop()


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[YottaClient]:
    with YottaClient(API_KEY, emulator.url, retry=FAST_RETRY) as c:
        yield c


def stats(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_emulator/stats").json()["calls"])


def create_body(name: str = "demo", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "image": "vllm/vllm-openai:v0.6.3",
        "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
        "workers": 2,
        "containerVolumeInGb": 100,
        "serviceMode": "ALB",
        "expose": {"port": 8000, "protocol": "HTTP"},
        "environmentVars": [{"key": "MODEL", "value": "llama"}],
    }
    body.update(overrides)
    return body
