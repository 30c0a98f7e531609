"""A pull request must never send the API key or the state elsewhere (README "Who decides where
credentials go"). The attacker edits yottactl.yaml as a pull request would: its environment
names the attacker's server as endpoint or as the state's database. The attacker is a TCP
listener: it records every connection, so "no request" is checked as "not even a connection".
Every command that talks to the API or the state is enumerated from the click tree: a new
command without an entry in COMMAND_ARGS fails this test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator.server import EmulatorServer

from conftest import API_KEY, CANARY, manifest_text, start_emulator, stats

PG_PASSWORD = "pg-CANARY-password-5e1f"  # what libpq would send from PGPASSWORD


class Attacker:
    """A loopback listener that accepts and remembers every connection and what it was sent."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            if self.stopped:
                conn.close()
                return
            conn.settimeout(2)
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            self.received.append(data or b"(connected)")
            conn.close()

    def stop(self) -> None:
        self.stopped = True
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self.thread.join()
        self.sock.close()


def api_commands() -> dict[str, click.Command]:
    """Every command taking --endpoint or --state, by its path ("state mv")."""
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            if isinstance(command, click.Group):
                walk(command, path + " ")
            elif {p.name for p in command.params} & {"endpoint", "state_path"}:
                found[path] = command

    walk(main, "")
    return found


# the arguments each command is run with, in the order run: apply first (later commands find a
# deployment and a state to work on), what removes it last
COMMAND_ARGS: dict[str, list[str]] = {
    "apply": ["--auto-approve"], "plan": [], "drift": [], "get": ["web"], "output": ["web"],
    "workers": ["web"], "logs": ["web", "--tail", "1"], "export": ["web", "--dir", "exported"],
    "wait": ["web", "--timeout", "5"], "restart": ["web", "--auto-approve", "--no-wait"],
    "import": ["web", "1" * 18], "state list": [], "state show": ["web"], "state history": [],
    "state pull": [], "state migrate": ["--to", "migrated.json"], "force-unlock": ["0" * 8],
    "state mv": ["web", "web2"], "state rm": ["web2"], "destroy": ["--auto-approve"],
}


def test_every_command_that_talks_to_the_api_or_the_state_is_covered() -> None:
    commands = api_commands()
    assert {"plan", "apply", "state list", "force-unlock"} <= set(commands)  # the walk works
    assert set(commands) == set(COMMAND_ARGS), "add the new command to COMMAND_ARGS"


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    server = Attacker()
    yield server
    server.stop()


@pytest.fixture
def legit() -> Iterator[EmulatorServer]:
    server = start_emulator()
    yield server
    server.stop()


def project(folder: Path, environment: str) -> Path:
    (folder / "deploy").mkdir(parents=True)
    (folder / "deploy" / "web.yaml").write_text(manifest_text("web"))
    (folder / "yottactl.yaml").write_text(f"manifests: deploy\nenvironments:\n  prod: {environment}\n")
    return folder


def run_all(env: dict[str, str | None]) -> dict[str, Any]:
    results = {}
    for name in COMMAND_ARGS:
        results[name] = CliRunner().invoke(main, [*name.split(), *COMMAND_ARGS[name], "--env", "prod"],
                                           env=env, catch_exceptions=False)
    return results


def base_env(**extra: str | None) -> dict[str, str | None]:
    return {"YOTTA_API_KEY": API_KEY, "HF_TOKEN": CANARY, "PGPASSWORD": PG_PASSWORD,
            "NO_COLOR": "1", "YOTTA_API_URL": None,
            "YOTTACTL_STATE": None, "CI": None, "YOTTACTL_ALLOWED_ENDPOINTS": None,
            "YOTTACTL_ALLOWED_STATES": None, "HTTPS_PROXY": None, "HTTP_PROXY": None,
            "ALL_PROXY": None, **extra}


def test_in_ci_the_exported_endpoint_and_state_win_over_the_pull_requests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attacker: Attacker,
        legit: EmulatorServer, pg_database: str) -> None:
    """The repro: CI exports YOTTA_API_URL and YOTTACTL_STATE; the pull request's yottactl.yaml
    points prod at the attacker. Every command runs against the exported ones."""
    evil = f"http://127.0.0.1:{attacker.port}"
    monkeypatch.chdir(project(tmp_path, f"{{endpoint: '{evil}', state: "
                                        f"'postgresql://yottactl@127.0.0.1:{attacker.port}/infra'}}"))
    results = run_all(base_env(CI="true", YOTTA_API_URL=legit.url, YOTTACTL_STATE=pg_database))
    assert attacker.received == []
    assert results["apply"].exit_code == 0, results["apply"].output
    assert f"endpoint {legit.url}" in results["plan"].output
    assert "environments.prod.endpoint (" + evil in results["plan"].stderr  # the note says so
    for name, result in results.items():
        assert result.exit_code in (0, 1, 2), (name, result.output)
        assert "Traceback" not in result.output
    assert stats(legit).get("endpointList_1", 0) >= 5  # the commands reached the exported API
    assert not (tmp_path / "state").exists()  # and the exported state, not a file


@pytest.mark.parametrize("ci", [True, False])
@pytest.mark.parametrize("attack", ["endpoint", "state"])
def test_a_pull_requests_endpoint_or_database_is_refused_before_any_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attacker: Attacker,
        legit: EmulatorServer, ci: bool, attack: str) -> None:
    """Nothing exported to win (in CI), or outside CI an exported endpoint the pull request's
    differs from: an error naming both values, and the attacker hears nothing. Outside CI the
    attacker's endpoint is not loopback (loopback is the local emulator, allowed there): the
    attacker plays the HTTPS proxy, so any request to it would still arrive here."""
    evil = {"endpoint": f"http://127.0.0.1:{attacker.port}" if ci else "https://api.evil.example",
            "state": f"postgresql://yottactl@127.0.0.1:{attacker.port}/infra"}[attack]
    monkeypatch.chdir(project(tmp_path, f"{{{attack}: '{evil}'}}"))
    env = base_env(CI="true") if ci else base_env(
        YOTTA_API_URL=legit.url, YOTTACTL_STATE=str(tmp_path / "mine.json") if attack == "state"
        else None, HTTPS_PROXY=f"http://127.0.0.1:{attacker.port}", NO_PROXY="127.0.0.1,localhost")
    results = run_all(env)
    assert attacker.received == []
    assert sum(stats(legit).values()) == 0
    for name, result in results.items():
        assert result.exit_code == 1, (name, result.output)
        assert f"environments.prod.{attack}" in result.stderr and evil in result.stderr, name
        assert "YOTTACTL_ALLOWED_" in result.stderr, name  # how to allow it
        if not ci:  # the other value is named too
            assert (legit.url if attack == "endpoint" else "mine.json") in result.stderr, name
    assert not (tmp_path / "mine.json").exists()
