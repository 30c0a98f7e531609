"""The v2 transport end to end against the emulator serving only v2 (a v1 call would be a 404):
what v2's PATCH needs that v1's update did not. The shared end-to-end tests that also run on v2
are marked ``both_apis`` (tests/conftest.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import Cli, manifest_text

v2_only = pytest.mark.parametrize("api_version", ["v2"])


def write(cli: Cli, *, webhook: str | None, command: str | None) -> None:
    extra = (f"  webhookUrl: {webhook}\n" if webhook else "") + (
        f"  initializationCommand: {command}\n" if command else "")
    (cli.manifests / "web.yaml").write_text(manifest_text("web") + extra)


@v2_only
def test_a_field_the_manifest_drops_is_cleared_live(cli: Cli) -> None:
    """PATCH keeps what it does not name: dropping the webhook and the initialization command
    from the manifest must clear them live (sent as null), or every later plan would show the
    same update again."""
    write(cli, webhook="https://hooks.example.com/yotta", command="./serve")
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    with cli.client() as client:
        (dep,) = client.list()
        assert (dep.webhookUrl, dep.initializationCommand) == (
            "https://hooks.example.com/yotta", "./serve")
    write(cli, webhook=None, command=None)
    applied = cli.run("apply", str(cli.manifests), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    with cli.client() as client:
        (dep,) = client.list()
        assert not dep.webhookUrl and not dep.initializationCommand
    again = cli.run("plan", str(cli.manifests), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    versions = httpx.get(f"{cli.server.url}/_emulator/stats").json()["versions"]
    assert versions.get("v1", 0) == 0 and versions["v2"] > 0


@v2_only
def test_a_swap_of_names_goes_through_a_temporary_name_v2_accepts(cli: Cli) -> None:
    """A swap sends one deployment through a temporary name (plan/renames.py): under v2 it
    must fit 20 characters too, or the swap's first update is refused."""
    for name in ("a", "b"):
        cli.write(name, model=f"model-{name}")
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    for old, new in (("a", "park-a"), ("b", "park-b"), ("park-a", "b"), ("park-b", "a")):
        assert cli.run("state", "mv", old, new).returncode == 0
    cli.write("a", model="model-b")
    cli.write("b", model="model-a")
    plan = cli.run("plan", str(cli.manifests), "-o", "json")
    (temporary,) = [s["name"] for c in json.loads(plan.stdout)["changes"]
                    for s in c["steps"] if s.get("name")]
    assert len(temporary) <= 20
    applied = cli.run("apply", str(cli.manifests), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    with cli.client() as client:
        live = {d.name: {e.key: e.value for e in d.environmentVars}["MODEL"]
                for d in client.list()}
    assert live == {"a": "model-b", "b": "model-a"}


@v2_only
def test_the_read_commands_speak_v2(cli: Cli) -> None:
    """get, workers, logs and output through the v2 transport: workerId, epoch-ms times and
    v2's spellings read as v1's, so every command shows the same thing."""
    cli.write("web")
    assert cli.run("apply", str(cli.manifests), "--auto-approve").returncode == 0
    for args in (["get"], ["get", "web", "-o", "json"], ["workers", "web"], ["output", "web"],
                 ["logs", "web", "--tail", "2"]):
        result = cli.run(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.strip(), args
    shown = json.loads(cli.run("get", "web", "-o", "json").stdout)
    assert shown["name"] == "web" and shown["environmentVars"]
    assert str(shown["createdAt"]).endswith("Z")  # epoch ms read as ISO 8601
    workers = cli.run("workers", "web").stdout
    with cli.client() as client:
        assert all(w.id in workers for w in client.workers(shown["id"]))
