"""The v2 transport end to end against the emulator serving only v2 (a v1 call would be a 404):
what v2's PATCH needs that v1's update did not. The shared end-to-end tests that also run on v2
are marked ``both_apis`` (tests/conftest.py)."""

from __future__ import annotations

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
