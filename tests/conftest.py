"""Shared fixtures: a real emulator on an ephemeral loopback port, fast transitions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import settings

from reconciler.api.client import YottaClient
from reconciler.api.retry import RetryPolicy
from reconciler.emulator.server import EmulatorServer, build
from reconciler.settings import CI_MARKERS

FAST_RETRY = RetryPolicy(attempts=8, total_seconds=20, base_seconds=0.01, max_backoff_seconds=0.05)
API_KEY = "test-api-key-SECRET-7f3a"

# CI runs the property tests on a fixed sequence of examples (a landing must not depend on
# luck); locally they explore new examples on every run.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# tests must never reach a real endpoint or inherit a developer's key; nor depend on whether
# they run in CI (CI=true makes a project file's loopback endpoint need allowing: the tests
# that mean CI say so) or on what the developer allowed
# (a walkthrough's exported YOTTACTL_ENV, variables or catalog would steer every test too)
for var in ("YOTTA_API_URL", "YOTTA_BASE_URL", "YOTTA_API_KEY", "YOTTACTL_STATE", "CI",
            "YOTTA_API_VERSION", "YOTTACTL_ENV", "YOTTACTL_CATALOG",
            "YOTTACTL_ALLOWED_ENDPOINTS", "YOTTACTL_ALLOWED_STATES", *CI_MARKERS,
            *[name for name in os.environ if name.startswith("YOTTACTL_VAR_")]):
    os.environ.pop(var, None)


def start_emulator(**options: Any) -> EmulatorServer:
    options.setdefault("transition_seconds", 0.0)
    options.setdefault("log_interval_seconds", 0.01)
    options.setdefault("retry_after", 0.0)
    return EmulatorServer(build(**options)).start()


@pytest.fixture
def api_version() -> str:
    """The Yotta API the emulator serves and yottactl speaks: "v1", or both "v1" and "v2" for
    tests marked ``both_apis`` (pytest_generate_tests below)."""
    return "v1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # the representative end-to-end tests run against each API version (issue 27): under v2
    # the emulator serves only v2 (a v1 call would answer 404) and yottactl is told
    # YOTTA_API_VERSION=v2, so the same test proves the same behaviour through either transport
    if metafunc.definition.get_closest_marker("both_apis") and \
            "api_version" in metafunc.fixturenames:
        metafunc.parametrize("api_version", ["v1", "v2"])


def serving(api_version: str) -> dict[str, str]:
    """start_emulator's options for a test of ``api_version``: v2 alone (a v1 call is a 404),
    or the default (both, as a user's emulator)."""
    return {"api": "v2"} if api_version == "v2" else {}


@pytest.fixture
def emulator(api_version: str) -> Iterator[EmulatorServer]:
    server = start_emulator(**serving(api_version))
    yield server
    server.stop()


@pytest.fixture
def client(emulator: EmulatorServer, api_version: str) -> Iterator[YottaClient]:
    with YottaClient(API_KEY, emulator.url, retry=FAST_RETRY, api_version=api_version) as c:
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


MANIFEST = """\
apiVersion: yottactl/v1
kind: ElasticDeployment
metadata:
  name: {name}
spec:
  image: {image}
  resources:
    - {{region: us-east-1, gpuType: NVIDIA_RTX_4090_24G, gpuCount: 1}}
  workers: {workers}
  containerVolumeInGb: 50
  serviceMode: {mode}
{expose}  environmentVars:
    MODEL: {model}
    HF_TOKEN: ${{env:HF_TOKEN}}
  state: {state}
"""
CANARY = "hf_CANARY_c4n4ry_SECRET_9d2e"


def manifest_text(name: str, *, image: str = "vllm/vllm-openai:v0.6.3", workers: int = 2,
                  mode: str = "ALB", model: str = "llama", state: str = "running") -> str:
    expose = "  expose: {port: 8000, protocol: HTTP}\n" if mode == "ALB" else ""
    return MANIFEST.format(name=name, image=image, workers=workers, mode=mode, model=model,
                           state=state, expose=expose)


class Cli:
    """Runs yottactl in-process (click's runner) or as a real subprocess, against one emulator."""

    def __init__(self, server: EmulatorServer, folder: Any, api_version: str = "v1") -> None:
        self.server = server
        self.api_version = api_version
        self.folder = folder
        self.manifests = folder / "manifests"
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.state = folder / "state" / "yottactl.state.json"
        self.env = {"YOTTA_API_URL": server.url, "YOTTA_API_KEY": API_KEY,
                    "YOTTACTL_STATE": str(self.state), "HF_TOKEN": CANARY, "NO_COLOR": "1"}
        if api_version != "v1":
            self.env["YOTTA_API_VERSION"] = api_version

    def write(self, name: str, **kw: Any) -> None:
        (self.manifests / f"{name}.yaml").write_text(manifest_text(name, **kw))

    def remove(self, name: str) -> None:
        (self.manifests / f"{name}.yaml").unlink()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        from click.testing import CliRunner

        from reconciler.cli import main

        return CliRunner().invoke(main, list(args), env=self.env, input=input,
                                  catch_exceptions=False)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """In-process like ``__call__``, answered like ``subprocess`` (returncode, stdout,
        stderr): for tests where the process boundary is not the point (a subprocess per
        command costs about half a second of CPU)."""
        import subprocess

        from click.testing import CliRunner

        from reconciler.cli import main

        result = CliRunner().invoke(main, list(args), env={**self.env, **(env or {})},
                                    catch_exceptions=False)
        return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout,
                                           result.stderr)

    def subprocess(self, *args: str, **kw: Any) -> Any:
        import subprocess
        import sys

        env = {**os.environ, **self.env, **kw.pop("env", {})}
        return subprocess.run([sys.executable, "-m", "reconciler", *args], env=env,
                              capture_output=True, text=True, **kw)

    def apply_on_tty(self, answer: bytes) -> tuple[int, str]:
        """`apply` with a real terminal on stdin, typing ``answer`` (b"\\x04" is Ctrl-D: EOF):
        exit code and everything it wrote."""
        import pty
        import subprocess
        import sys

        master, slave = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(self.manifests)],
                                env={**os.environ, **self.env}, stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.close(slave)
        os.write(master, answer)
        out, _ = proc.communicate(timeout=60)
        os.close(master)
        return proc.returncode, out.decode()

    def client(self) -> YottaClient:
        return YottaClient(API_KEY, self.server.url, retry=FAST_RETRY,
                           api_version=self.api_version)


@pytest.fixture
def cli(emulator: EmulatorServer, tmp_path: Any, api_version: str) -> Cli:
    return Cli(emulator, tmp_path, api_version)


# a real PostgreSQL for the state backend tests (and anyone else's): see tests/pgserver.py
import pgserver  # noqa: E402
from pgserver import pg_database, pg_state, postgres_url, pytest_unconfigure  # noqa: E402, F401


def pytest_configure(config: pytest.Config) -> None:
    # `-n 2` schedules by xdist's worksteal (xdist >= 3.2), not load: a worker that runs out
    # takes tests queued on the other, so the long ones (kill smokes, PostgreSQL, CI recipes)
    # cannot leave one core idle at the end. Set here, not in addopts: pytest runs started
    # without xdist (-p no:xdist) would not know the option.
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "worksteal"
    pgserver.pytest_configure(config)
