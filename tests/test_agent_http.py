"""The agent's HTTP listener over real HTTP: /healthz, /readyz, /metrics, the read-only status
page (hostile names escaped, no secret or fingerprint), the bearer token off loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_helpers import FakeClock, observer_of, reconciler, run_loop

from reconciler.app.agent import Reconciler
from reconciler.cli.agent_http import AgentServer, serve
from reconciler.errors import UsageError

from conftest import API_KEY, CANARY, Cli
from hostile_api import HostileApi, deployment

HOSTILE = "<script>document.title='PWNED'</script>\x1b[2J\u202eevil<img src=x onerror=alert(1)>"


def served(rec: Reconciler, token_file: str | None = None,
           listen: str = "127.0.0.1:0") -> AgentServer:
    return serve(listen, token_file, rec)


@pytest.fixture
def hostile_agent(tmp_path: Path) -> Iterator[tuple[Reconciler, AgentServer]]:
    """An observe agent whose API lists a deployment with a hostile name, after one cycle."""
    api = HostileApi().start()
    secret = [{"key": "HF_TOKEN", "value": CANARY}]
    api.answer("/list", [deployment("101", HOSTILE, "RUNNING<b>x</b>", environmentVars=secret),
                         deployment("102", "plain-svc", environmentVars=secret)])
    rec = observer_of(api.url, tmp_path)
    rec.board.update(role="observer")  # as the loop sets it
    assert rec.cycle(threading.Event(), acting=False).ok
    server = served(rec)
    yield rec, server
    server.close()
    rec.close()
    api.stop()


def test_status_page_escapes_hostile_api_text(hostile_agent: tuple[Reconciler, AgentServer]) \
        -> None:
    rec, server = hostile_agent
    assert {r.name for r in rec.board.read().fleet} == {HOSTILE, "plain-svc"}  # precondition
    page = httpx.get(f"http://{server.address}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in page.headers["content-security-policy"]
    body = page.text
    assert "<script" not in body and "<img" not in body and "<b>x" not in body
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in body
    assert "\\x1b[2J" in body and "\\u202e" in body and "\x1b" not in body
    assert "plain-svc" in body and "<form" not in body.lower()
    assert CANARY not in body and API_KEY not in body


def test_health_ready_and_metrics(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    clock = FakeClock(cycles=1)
    rec = reconciler(cli, clock, mode="observe")
    server = served(rec)
    try:
        base = f"http://{server.address}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 503  # no cycle yet
        run_loop(rec, clock)
        assert httpx.get(f"{base}/readyz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        for name in ("yottactl_agent_drift_findings", "yottactl_agent_reconcile_duration_seconds"
                     "_bucket", "yottactl_agent_last_success_timestamp_seconds",
                     'yottactl_agent_api_calls_total{operation="list",status="200"}',
                     "yottactl_agent_leader", "yottactl_agent_fleet_cost_per_hour",
                     "yottactl_agent_heals_total", "yottactl_agent_failures_total"):
            assert name in metrics, name
        assert "yottactl_agent_fleet_cost_per_hour 0.0" not in metrics  # web runs: it costs
        assert httpx.post(f"{base}/", content=b"x").status_code == 405  # read-only
        page = httpx.get(f"{base}/").text
        state = json.loads(cli.state.read_text())
        web = state["deployments"]["web"]
        fingerprint = web["spec"]["environmentVars"]["HF_TOKEN"].removeprefix("sensitive:")
        assert len(fingerprint) == 32  # precondition: the state holds the secret's fingerprint
        assert "web" in page
        for secret in (CANARY, API_KEY, fingerprint, web["fingerprint"], state["key_verifier"]):
            assert secret not in page and secret not in metrics
    finally:
        server.close()
        rec.close()


def test_off_loopback_needs_a_token(cli: Cli, tmp_path: Path) -> None:
    rec = reconciler(cli, FakeClock(), mode="observe")
    try:
        with pytest.raises(UsageError, match="need a bearer token"):
            served(rec, None, "0.0.0.0:0")
        token = tmp_path / "token"
        token.write_text("s3cr3t-t0ken-0123456789\n")
        server = served(rec, str(token), "0.0.0.0:0")
        port = server.address.rsplit(":", 1)[1]
        try:
            base = f"http://127.0.0.1:{port}"
            for path in ("/", "/metrics"):
                url = base + path
                assert httpx.get(url).status_code == 401
                assert httpx.get(url, headers={"Authorization": "Bearer wrong"}
                                 ).status_code == 401
                assert httpx.get(url, headers={"Authorization": "Basic s3cr3t-t0ken-0123456789"}
                                 ).status_code == 401
                for scheme in ("Bearer", "bearer", "BEARER"):  # RFC 7235: case-insensitive
                    assert httpx.get(url, headers={
                        "Authorization": f"{scheme} s3cr3t-t0ken-0123456789"}).status_code == 200
            # probes need no token (they say only ok / ready)
            assert httpx.get(base + "/healthz").status_code == 200
            assert httpx.get(base + "/readyz").status_code in (200, 503)
        finally:
            server.close()
    finally:
        rec.close()


def test_an_ipv6_literal_is_listened_on(cli: Cli) -> None:
    rec = reconciler(cli, FakeClock(), mode="observe")
    try:
        server = served(rec, None, "[::1]:0")
        try:
            assert server.address.startswith("[::1]:")
            assert httpx.get(f"http://{server.address}/healthz").status_code == 200
        finally:
            server.close()
    finally:
        rec.close()
