"""The emulator's deployments serve HTTP at their domain (issue 23): a RUNNING one answers 200, one
that is not serving (or runs an image declared unhealthy) 503, a deleted one 404; images can be
declared failing. Everything goes over real HTTP: the API through the client, the domain through
the URL the client derives from it (the one `yottactl output` prints and a health probe hits)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.models import CreateRequest
from reconciler.emulator.server import EmulatorServer
from reconciler.report.observe import url_of

from conftest import API_KEY, FAST_RETRY, create_body, start_emulator
from helpers import live


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    options = getattr(request, "param", {})
    emulator = start_emulator(**options)
    yield emulator
    emulator.stop()


def _client(server: EmulatorServer) -> YottaClient:
    return YottaClient(API_KEY, server.url, retry=FAST_RETRY)


def _create(api: YottaClient, name: str, **overrides: object) -> str:
    return api.create(CreateRequest.model_validate(create_body(name, **overrides))).id


def _probe(url: str, path: str = "/healthz") -> httpx.Response:
    return httpx.get(url.rstrip("/") + path, timeout=5)


def _served(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_emulator/stats").json()["served"])


def test_a_running_deployment_answers_at_its_domain_until_stopped_and_deleted(
        server: EmulatorServer) -> None:
    with _client(server) as api:
        dep_id = _create(api, "web")
        dep = api.detail(dep_id)
        assert dep.status == "RUNNING" and dep.runningWorkers == 2
        url = url_of(dep)
        assert url == f"{server.url}/_serve/{dep_id}"  # what `output` prints is where it serves
        ok = _probe(url, "/v1/models")
        assert ok.status_code == 200
        assert ok.json() == {"id": dep_id, "name": "web", "image": "vllm/vllm-openai:v0.6.3",
                             "status": "RUNNING", "path": "/v1/models"}
        calls_before = dict(httpx.get(f"{server.url}/_emulator/stats").json()["calls"])
        api.stop(dep_id)
        assert api.detail(dep_id).status == "STOPPED"
        stopped = _probe(url)
        assert stopped.status_code == 503 and "STOPPED" in stopped.json()["error"]
        api.delete(dep_id)
        assert _probe(url).status_code == 404
    calls_after = dict(httpx.get(f"{server.url}/_emulator/stats").json()["calls"])
    # probes are not API operations: only the stop, detail and delete were counted
    assert {k: calls_after[k] - calls_before.get(k, 0) for k in calls_after
            if calls_after[k] != calls_before.get(k, 0)} == \
        {"endpointStop": 1, "endpointDetail": 1, "endpointDelete_2": 1}
    assert _served(server) == {"200": 1, "503": 1, "404": 1}
    # mutating calls are counted per deployment too: "zero calls to blue" is measurable
    mutated = httpx.get(f"{server.url}/_emulator/stats").json()["mutated"]
    assert mutated == {dep_id: 2}  # stop and delete; the create named no id


@pytest.mark.parametrize("server", [{"transition_seconds": 600.0}], indirect=True)
def test_an_initializing_deployment_does_not_serve_yet(server: EmulatorServer) -> None:
    with _client(server) as api:
        dep = api.detail(_create(api, "slow"))
    assert dep.status == "INITIALIZING"
    answer = _probe(url_of(dep) or "")
    assert answer.status_code == 503 and "INITIALIZING" in answer.json()["error"]


@pytest.mark.parametrize("server", [{"unhealthy_images": ("acme/*:broken*",)}], indirect=True)
def test_an_unhealthy_image_runs_but_answers_503(server: EmulatorServer) -> None:
    with _client(server) as api:
        bad = api.detail(_create(api, "bad", image="acme/model:broken-2"))
        good = api.detail(_create(api, "good", image="acme/model:v2"))
    assert bad.status == "RUNNING" and bad.runningWorkers == 2  # running, as the API sees it
    answer = _probe(url_of(bad) or "")
    assert answer.status_code == 503 and "unhealthy" in answer.json()["error"]
    assert _probe(url_of(good) or "").status_code == 200  # the glob, not every image


@pytest.mark.parametrize("server", [{"failing_images": ("acme/*:v2*",)}], indirect=True)
def test_a_failing_image_goes_from_initializing_to_failed(server: EmulatorServer) -> None:
    with _client(server) as api:
        bad = api.detail(_create(api, "bad", image="acme/model:v2.1"))
        good = api.detail(_create(api, "good", image="acme/model:v1"))
    assert bad.status == "FAILED" and good.status == "RUNNING"
    assert _probe(url_of(bad) or "").status_code == 503


@pytest.mark.parametrize("server", [{"transition_seconds": 600.0,
                                     "failing_images": ("acme/*",)}], indirect=True)
def test_a_failing_image_initializes_first(server: EmulatorServer) -> None:
    with _client(server) as api:
        assert api.detail(_create(api, "bad", image="acme/x:1")).status == \
            "INITIALIZING"


def test_no_domain_outside_alb_and_unknown_ids_are_404(server: EmulatorServer) -> None:
    with _client(server) as api:
        queue_id = _create(api, "q", serviceMode="QUEUE", expose=None)
        assert not api.detail(queue_id).domain
    assert httpx.get(f"{server.url}/_serve/{queue_id}").status_code == 404
    assert httpx.get(f"{server.url}/_serve/nope/x").status_code == 404
    assert httpx.get(f"{server.url}/_serve").status_code == 404


def test_the_domain_follows_the_port_after_a_restart(tmp_path: Path) -> None:
    data = str(tmp_path / "world.json")
    first = start_emulator(data_file=data)
    with _client(first) as api:
        dep_id = _create(api, "web")
    first.stop()
    second = start_emulator(data_file=data)
    try:
        with _client(second) as api:
            url = url_of(api.detail(dep_id)) or ""
        assert url.startswith(second.url + "/") and _probe(url).status_code == 200
    finally:
        second.stop()


def test_a_yotta_hostname_domain_is_an_https_url() -> None:
    dep = live({"id": "1", "name": "web", "raw": {"domain": "web-123456.elastic.yottalabs.ai"}})
    assert url_of(dep) == "https://web-123456.elastic.yottalabs.ai"


def test_the_command_line_takes_both_globs() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    helptext = subprocess.run([sys.executable, "-m", "reconciler", "emulator", "--help"],
                              capture_output=True, text=True, env=env, check=True).stdout
    assert "--failing-images GLOB" in helptext and "--unhealthy-images GLOB" in helptext
    assert "/_serve/ID" in helptext
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--transition-seconds",
         "0", "--unhealthy-images", "*:sick", "--failing-images", "*:dead"],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # blocks until it listens
        url = first.split("listening on ", 1)[1].split()[0]
        with YottaClient(API_KEY, url, retry=FAST_RETRY) as api:
            sick = api.detail(_create(api, "a", image="m:sick"))
            dead = api.detail(_create(api, "b", image="m:dead"))
        assert sick.status == "RUNNING" and dead.status == "FAILED"
        assert _probe(url_of(sick) or "").status_code == 503
    finally:
        proc.terminate()
        proc.wait()


def test_a_client_that_resets_its_connection_leaves_no_traceback(
        server: EmulatorServer, capfd: pytest.CaptureFixture[str]) -> None:
    """A CLI that ends with a call in flight resets its connection; the emulator, like any web
    server, says nothing about it (in-process it printed a traceback into whatever a test was
    capturing: a later command's stderr)."""
    import socket
    import struct
    import threading
    from urllib.parse import urlsplit

    before = set(threading.enumerate())
    address = urlsplit(server.url)
    doomed = socket.create_connection((address.hostname, address.port))
    doomed.sendall(b"GET /openapi/v1/elastic/deploy/list HTTP/1.1\r\nHost: x\r\n")  # unfinished
    # a whole request answered after it: the server has accepted the first connection by then
    assert httpx.get(f"{server.url}/_emulator/stats").status_code == 200
    handlers = [t for t in threading.enumerate() if t not in before]
    assert handlers  # precondition: the first connection's handler is running
    doomed.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    doomed.close()  # linger 0: a reset, as from a process that ended mid-call
    for thread in handlers:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in handlers)  # precondition: the reset was handled
    assert "Traceback" not in capfd.readouterr().err
