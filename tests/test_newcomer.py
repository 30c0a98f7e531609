"""A newcomer's first hour (issue 25): Terraform and kubectl habits say what to type, an unknown
GPU type suggests the catalog name that holds it, and a saved plan names the yottactl version
that wrote it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import main
from reconciler.cli.habits import FOREIGN_COMMANDS

from conftest import Cli, manifest_text
from test_ci_recipes import check


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "typed"), [
    (["apply", "-auto-approve"], "--auto-approve"),
    (["destroy", "-auto-approve"], "--auto-approve"),
    (["plan", "-out=plan.json"], "--out=plan.json"),
    (["plan", "-detailed-exitcode", "-var", "workers=2"], "--detailed-exitcode --var"),
])
def test_terraforms_one_dash_options_say_the_two_dash_spelling(args: list[str], typed: str) -> None:
    code, output = run(*args)
    assert code == 1 and f"type {typed}" in output, output
    assert "No such option" not in output and "--output" not in output


def test_short_options_are_not_taken_for_one_dash_long_ones(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(manifest_text("web"))
    code, output = run("validate", "-ojson", "--skip-env", str(tmp_path))  # -o json, glued
    assert code == 0 and json.loads(output) == [], output


@pytest.mark.parametrize(("command", "says"), [
    ("describe", "`yottactl get NAME -o yaml`"), ("diff", "`yottactl plan`"),
    ("scale", "set `workers:`")])
def test_kubectl_and_terraform_commands_say_what_to_type(command: str, says: str) -> None:
    code, output = run(command, "web")
    assert code == 1 and says in output, output
    assert "Did you mean" not in output  # not `drift` for diff, not `state` for scale


def test_every_suggested_command_exists_and_no_habit_shadows_a_command() -> None:
    assert not set(FOREIGN_COMMANDS) & set(main.commands)
    for name, (_tool, instead) in FOREIGN_COMMANDS.items():
        suggested = re.findall(r"`yottactl ([^`]+)`", instead)
        assert suggested, name
        for line in suggested:  # placeholders (NAME, ID..., PATH...) stand for arguments
            check([w for w in line.split() if not w.rstrip(".").isupper()])
    code, output = run("frobnicate")  # anything else: click's own message
    assert code == 1 and "No such command 'frobnicate'" in output


def gpu_hint(tmp_path: Path, gpu: str) -> str:
    (tmp_path / "web.yaml").write_text(manifest_text("web").replace("NVIDIA_RTX_4090_24G", gpu))
    code, output = run("validate", str(tmp_path))
    assert code == 1 and f"unknown GPU type '{gpu}'" in output, output
    return output


def test_an_unknown_gpu_type_suggests_the_catalog_names_holding_it(tmp_path: Path) -> None:
    assert "NVIDIA_RTX_4090_24G" in manifest_text("web")  # precondition: the type replaced
    assert "did you mean 'NVIDIA_A100_80G'?" in gpu_hint(tmp_path, "A100")
    assert "'NVIDIA_H100_80G' or 'NVIDIA_H100_80GB_HBM3_80G'" in gpu_hint(tmp_path, "h100")
    listed = gpu_hint(tmp_path, "TPU")  # nothing close: every known type is listed
    assert "known: AMD_MI300X_192G, NVIDIA_A100_80G," in listed and "NVIDIA_L4_24G" in listed


def test_a_saved_plan_names_the_version_that_wrote_it(cli: Cli) -> None:
    cli.write("llama")
    saved = cli.folder / "plan.json"
    assert cli("plan", str(cli.manifests), "--out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text())
    assert data["yottactl_version"] == __version__ and list(data)[:3] == [
        "format_version", "created_by", "yottactl_version"]
    assert run("--version")[1].strip().endswith(__version__)
    shown = cli("show", str(saved), "-o", "json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["summary"]["create"] == 1
