"""examples/environments end to end: staging and prod planned and applied against two emulators;
each environment's state and live fleet match its own rendering and nothing crosses over."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.api.client import YottaClient
from reconciler.cli import main
from reconciler.emulator.server import EmulatorServer

from conftest import API_KEY, CANARY, start_emulator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "environments"


@pytest.fixture
def two() -> Iterator[dict[str, EmulatorServer]]:
    servers = {"staging": start_emulator(seed=1), "prod": start_emulator(seed=2)}  # distinct ids
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def project(tmp_path: Path, two: dict[str, EmulatorServer], monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "environments"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("state"))
    config = (folder / "yottactl.yaml").read_text()
    assert "http://127.0.0.1:8787" in config and "http://127.0.0.1:8788" in config
    config = config.replace("http://127.0.0.1:8787", two["staging"].url)
    (folder / "yottactl.yaml").write_text(config.replace("http://127.0.0.1:8788", two["prod"].url))
    monkeypatch.chdir(folder)
    for name in ("YOTTACTL_ENV", "YOTTA_API_URL", "YOTTACTL_STATE"):
        monkeypatch.delenv(name, raising=False)
    return folder


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={
        "YOTTA_API_KEY": API_KEY, "HF_TOKEN": CANARY, "NO_COLOR": "1", **env})


def live(server: EmulatorServer) -> dict[str, Any]:
    with YottaClient(API_KEY, server.url) as client:
        return {d.name: d for d in client.list()}


def rendering(env: str, *args: str) -> dict[str, dict[str, Any]]:
    result = run("render", "--env", env, "-o", "json", *args)
    assert result.exit_code == 0, result.output
    return {doc["metadata"]["name"]: doc["spec"] for doc in json.loads(result.stdout)}


def assert_matches(server: EmulatorServer, wanted: dict[str, dict[str, Any]]) -> None:
    fleet = live(server)
    assert set(fleet) == set(wanted)
    for name, spec in wanted.items():
        d = fleet[name]
        assert d.image == spec["image"] and d.totalWorkers == spec["workers"]
        assert {(r.region, r.gpuType, r.gpuCount) for r in d.resources} == {
            (r["region"], r["gpuType"], r["gpuCount"]) for r in spec["resources"]}
        env = spec.get("environmentVars", {})
        keys = set(env) if isinstance(env, dict) else {e["key"] for e in env}
        assert {e.key for e in d.environmentVars} == keys
        assert d.status == ("STOPPED" if spec.get("state") == "stopped" else "RUNNING")


def state_ids(project: Path, env: str) -> dict[str, str]:
    data = json.loads((project / "state" / f"{env}.state.json").read_text())
    return {name: entry["id"] for name, entry in data["deployments"].items()}


def test_staging_and_prod_are_planned_and_applied_in_isolation(
        project: Path, two: dict[str, EmulatorServer]) -> None:
    release = ("--var-file", "vars/release.yaml")
    for env in ("staging", "prod"):
        assert run("validate", "--env", env).exit_code == 0
    plan = run("plan", "--env", "staging", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert plan.output.startswith(f"Environment: staging · endpoint {two['staging'].url} · API v1\n")
    assert run("apply", "--env", "staging", "--auto-approve").exit_code == 0
    assert live(two["prod"]) == {}  # staging's apply went nowhere else
    assert not (project / "state" / "prod.state.json").exists()

    plan = run("plan", "--env", "prod", *release, "--detailed-exitcode", "-o", "markdown")
    assert plan.exit_code == 2
    assert "<!-- yottactl-plan env=prod -->" in plan.output and two["prod"].url in plan.output
    applied = run("apply", *release, "--auto-approve", YOTTACTL_ENV="prod")
    assert applied.exit_code == 0, applied.output

    staging, prod = rendering("staging"), rendering("prod", *release)
    assert staging["llama-inference"]["workers"] == 1 and prod["llama-inference"]["workers"] == 6
    assert prod["llama-inference"]["image"].endswith(":v0.6.4")
    assert_matches(two["staging"], staging)
    assert_matches(two["prod"], prod)
    ids = {env: state_ids(project, env) for env in ("staging", "prod")}
    for env in ("staging", "prod"):  # each state names exactly its own environment's fleet
        assert {n: d.id for n, d in live(two[env]).items()} == ids[env]
    assert not set(ids["staging"].values()) & set(ids["prod"].values())

    for env, extra in (("staging", ()), ("prod", release)):
        again = run("plan", "--env", env, *extra, "--detailed-exitcode")
        assert again.exit_code == 0, again.output
    # a variable is plain: the plan shows its change in clear, never "(sensitive value changed)"
    scaled = run("plan", "--env", "prod", *release, "--var", "workers=7", "--detailed-exitcode")
    assert scaled.exit_code == 2 and "workers: 6 → 7" in scaled.output
    assert "sensitive" not in scaled.output
    # without the release's var file the image goes back: prod's overlay forbids replacing it
    blocked = run("plan", "--env", "prod")
    assert blocked.exit_code == 1 and "preventDestroy" in blocked.output
    saved = run("plan", "--env", "prod", *release, "--var", "workers=7", "--out", "prod.plan")
    assert saved.exit_code == 0
    crossed = run("apply", "--env", "staging", "--plan", "prod.plan")
    assert crossed.exit_code == 1
    assert "prod.plan was planned for environment 'prod', not 'staging'" in crossed.output
    assert live(two["staging"])["llama-inference"].totalWorkers == 1
    got = run("get", "--env", "prod", "-o", "json")  # reads prod's endpoint, not staging's
    assert got.exit_code == 0 and {d["name"] for d in json.loads(got.stdout)} == set(prod)
    assert {d["id"] for d in json.loads(got.stdout)} == set(ids["prod"].values())
    assert run("drift", "--env", "staging").exit_code == 0  # clean: its own state and fleet
    listed = run("state", "list", "--env", "staging")
    names = [line.split()[0] for line in listed.output.splitlines()[1:]]  # after the header
    assert sorted(names) == sorted(staging)
    assert CANARY not in (project / "state" / "prod.state.json").read_text()


def test_an_exported_endpoint_or_state_cannot_redirect_an_environment(
        project: Path, two: dict[str, EmulatorServer]) -> None:
    # an exported URL and a loopback endpoint in the project file disagree: neither is guessed
    # (the exported one may be stale; the file's port may be anyone's): an error naming both
    refused = run("plan", "--env", "prod", YOTTA_API_URL=two["staging"].url)
    assert refused.exit_code == 1, refused.output
    assert two["prod"].url in refused.output and two["staging"].url in refused.output
    # allowed by the key holder, the environment's endpoint wins over the exported one
    result = run("plan", "--env", "prod", YOTTA_API_URL=two["staging"].url,
                 YOTTACTL_ALLOWED_ENDPOINTS=two["prod"].url,
                 YOTTACTL_STATE=str(project / "state" / "staging.state.json"))
    assert result.exit_code == 0, result.output
    assert f"endpoint {two['prod'].url}" in result.output
    assert "Note: YOTTA_API_URL is ignored: environment 'prod' sets" in result.stderr
    assert "Note: YOTTACTL_STATE is ignored" in result.stderr
    calls = [json.loads(__import__("httpx").get(f"{s.url}/_emulator/stats").text)["calls"]
             for s in (two["staging"], two["prod"])]
    assert sum(calls[0].values()) == 0 and sum(calls[1].values()) == 1
    # the command-line flag still wins, deliberately
    flagged = run("plan", "--env", "prod", "--endpoint", two["staging"].url)
    assert f"endpoint {two['staging'].url}" in flagged.output
