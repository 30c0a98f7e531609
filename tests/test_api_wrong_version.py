"""Pointing one API version at an endpoint that serves only the other (issue 27, review
finding 5): the 404 of the list call (or of GET /v2/vms/types) says the endpoint does not serve
that version and how to choose the other, never that a deployment "may have been deleted".
Against the emulator serving one version (`yottactl emulator --api v1|v2`) over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Cli, start_emulator
from hostile_api import HostileApi
from hostile_api import HostileCli as Env


@pytest.fixture(params=[("v2", "v1"), ("v1", "v2")], ids=["v2-at-v1", "v1-at-v2"])
def mismatched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Cli, str]]:
    speaks, serves = request.param
    server = start_emulator(api=serves)
    try:
        cli = Cli(server, tmp_path, speaks)
        cli.write("web")
        yield cli, serves
    finally:
        server.stop()


@pytest.mark.parametrize("command", [("plan", "{manifests}"), ("get",)])
def test_the_list_404_says_the_endpoint_speaks_another_version(
        mismatched: tuple[Cli, str], command: tuple[str, ...]) -> None:
    cli, serves = mismatched
    args = [a.format(manifests=cli.manifests) for a in command]
    result = cli.run(*args)
    assert result.returncode == 1
    assert "list failed: endpoint not found" in result.stderr
    assert f"this endpoint does not serve API {cli.api_version}" in result.stderr
    assert f"try --api-version {serves}" in result.stderr
    assert "`api:` in yottactl.yaml and YOTTA_API_VERSION" in result.stderr
    assert "may have been deleted" not in result.stderr


def test_catalog_refresh_at_a_v1_only_endpoint_says_it_does_not_serve_v2(tmp_path: Path) -> None:
    server = start_emulator(api="v1")
    try:
        cli = Cli(server, tmp_path)
        result = cli.run("catalog", "refresh", "--file", str(tmp_path / "catalog.json"))
        assert result.returncode == 1
        assert "this endpoint does not serve API v2 (GET /v2/vms/types)" in result.stderr
        assert "may have been deleted" not in result.stderr
    finally:
        server.stop()


def test_a_plan_whose_vm_types_404_says_why_capacity_was_not_checked(tmp_path: Path) -> None:
    api = HostileApi().start()
    try:
        api.answer("/v2/serverless", [])
        api.answer("/v2/vms/types", body=b'{"code": 14000, "message": "endpoint not found", '
                   b'"data": null}', status=404)
        result = Env(api, tmp_path, "web", YOTTA_API_VERSION="v2")("plan", "{manifests}")
        assert result.exit_code == 0, result.output
        assert "GPU capacity not checked: GET /v2/vms/types failed" in result.output
        assert "this endpoint does not serve API v2 (GET /v2/vms/types)" in result.output
        assert "plan again later" not in result.output
    finally:
        api.stop()
