"""Choosing the Yotta API version (issue 27): `api:` in yottactl.yaml (global and per
environment), YOTTA_API_VERSION, --api-version; the flag wins, then the variable, then the file,
then v1. The plan header (text, Markdown, JSON) names the version. Checked by what the emulator
(serving both versions on one port) was asked, not by yottactl's own word alone."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from conftest import Cli


def versions_asked(cli: Cli) -> dict[str, int]:
    counts = httpx.get(f"{cli.server.url}/_emulator/stats").json()["versions"]
    httpx.post(f"{cli.server.url}/_emulator/reset")
    return {v: n for v, n in counts.items() if n}


@pytest.fixture
def project(cli: Cli) -> Cli:
    cli.write("web")
    (cli.folder / "yottactl.yaml").write_text(
        "api: v2\nenvironments:\n  staging: {api: v1}\n  prod: {}\n")
    return cli


def plan(cli: Cli, *args: str, env: dict[str, str] | None = None) -> str:
    # each environment its own state beside yottactl.yaml (an exported file is refused)
    unset: dict[str, str | None] = {"YOTTACTL_STATE": None}
    result = cli.run("plan", "--project", str(cli.folder / "yottactl.yaml"), *args,
                     env={**unset, **(env or {})})
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


@pytest.mark.parametrize(("args", "env", "chosen"), [
    ((), {}, "v2"),  # the project file's global api
    (("--env", "prod"), {}, "v2"),  # an environment without its own api: the global one
    (("--env", "staging"), {}, "v1"),  # the environment's own api
    ((), {"YOTTA_API_VERSION": "v1"}, "v1"),  # the variable beats the file
    (("--api-version", "v2"), {"YOTTA_API_VERSION": "v1"}, "v2"),  # the flag beats both
    (("--env", "staging", "--api-version", "v2"), {}, "v2"),
])
def test_flag_then_variable_then_file_then_v1(project: Cli, args: tuple[str, ...],
                                              env: dict[str, str], chosen: str) -> None:
    versions_asked(project)
    out = plan(project, *args, env=env)
    assert f"· API {chosen}\n" in out.splitlines(keepends=True)[0]
    assert versions_asked(project) == {chosen: 2 if chosen == "v2" else 1}  # v2: + vms/types


def test_without_a_project_file_v1_is_the_default_and_unnamed(cli: Cli) -> None:
    cli.write("web")
    out = cli.run("plan", str(cli.manifests)).stdout
    assert "API v" not in out  # a v1 plan without a project file reads as before
    assert versions_asked(cli) == {"v1": 1}
    as_json = json.loads(cli.run("plan", str(cli.manifests), "-o", "json").stdout)
    assert "api_version" not in as_json
    out = cli.run("plan", str(cli.manifests), "--api-version", "v2").stdout
    assert out.startswith("API v2\n")
    as_json = json.loads(cli.run("plan", str(cli.manifests), "-o", "json",
                                 env={"YOTTA_API_VERSION": "v2"}).stdout)
    assert as_json["api_version"] == "v2"
    markdown = cli.run("plan", str(cli.manifests), "-o", "markdown",
                       env={"YOTTA_API_VERSION": "v2"}).stdout
    assert "\nAPI `v2`\n" in markdown


def test_the_header_names_the_version_in_every_format(project: Cli) -> None:
    as_json = json.loads(plan(project, "-o", "json"))
    assert as_json["api_version"] == "v2"
    markdown = plan(project, "-o", "markdown", "--env", "staging")
    assert "· API `v1`" in markdown
    saved = project.folder / "plan.json"
    plan(project, "--out", str(saved))
    shown = project.run("show", str(saved)).stdout
    assert shown.startswith("Environment: (none: the project's global settings) · endpoint ")
    assert shown.splitlines()[0].endswith(" · API v2")


def test_a_wrong_version_in_the_project_file_is_pointed_at(cli: Cli) -> None:
    cli.write("web")
    (cli.folder / "yottactl.yaml").write_text("environments:\n  prod:\n    api: v3\n")
    result = cli.run("validate", "--project", str(cli.folder / "yottactl.yaml"))
    assert result.returncode == 1
    assert "yottactl.yaml:3:10" in result.stderr, result.stderr
    assert "environments.prod.api" in result.stderr and "v1 (the default) or v2" in result.stderr


@pytest.mark.parametrize(("args", "env", "expected"), [
    (("--api-version", "v3"), {}, "'v3' is not one of 'v1', 'v2'"),
    ((), {"YOTTA_API_VERSION": "2"}, "YOTTA_API_VERSION='2' is not an API version"),
])
def test_a_wrong_version_elsewhere_is_an_error(cli: Cli, args: tuple[str, ...],
                                               env: dict[str, str], expected: str) -> None:
    cli.write("web")
    result = cli.run("plan", str(cli.manifests), *args, env=env)
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr
    assert versions_asked(cli) == {}


def test_validate_reads_the_version_like_the_api_commands(cli: Cli, tmp_path: Path) -> None:
    """A 21-character name: valid for v1, not for v2, whichever way v2 was chosen."""
    cli.write("a-twenty-one-chars-xx")
    (cli.folder / "yottactl.yaml").write_text("environments:\n  next: {api: v2}\n")
    project = ("--project", str(cli.folder / "yottactl.yaml"))
    assert cli.run("validate", *project).returncode == 0
    for args, env in (((), {"YOTTA_API_VERSION": "v2"}), (("--api-version", "v2"), {}),
                      (("--env", "next"), {})):
        result = cli.run("validate", *project, *args, env=env)
        assert result.returncode == 1, (args, env)
        assert "at most 20 characters" in result.stderr
    every = cli.run("validate", *project, "--all-envs")
    assert every.returncode == 1 and "environment next:" in every.stderr


def test_a_saved_plan_applies_only_with_the_version_it_was_planned_against(cli: Cli) -> None:
    cli.write("web")
    saved = str(cli.folder / "v2.plan")
    assert cli.run("plan", str(cli.manifests), "--api-version", "v2", "--out", saved).returncode == 0
    refused = cli.run("apply", "--plan", saved)
    assert refused.returncode == 1
    assert "was planned against API v2; this apply speaks v1" in refused.stderr
    assert "--api-version v2" in refused.stderr
    assert versions_asked(cli).get("v1", 0) <= 1  # at most a list: nothing created
    applied = cli.run("apply", "--plan", saved, "--api-version", "v2")
    assert applied.returncode == 0, applied.stderr
    assert versions_asked(cli).keys() == {"v2"}
