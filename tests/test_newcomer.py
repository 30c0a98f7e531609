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


@pytest.mark.parametrize(("args", "typed"), [
    (["apply", "-f", "deploy/"], "`yottactl apply deploy/`"),
    (["plan", "--filename=x.yaml"], "`yottactl plan x.yaml`"),
    (["destroy", "-fdeploy"], "`yottactl destroy deploy`"),
])
def test_kubectls_filename_option_says_to_pass_the_path(args: list[str], typed: str) -> None:
    code, output = run(*args)
    assert code == 1 and typed in output and "No such option" not in output, output


@pytest.mark.parametrize(("command", "says"), [
    ("describe", "`yottactl get NAME -o yaml`"), ("diff", "`yottactl plan`"),
    ("scale", "set `workers:`"), ("version", "`yottactl --version`")])
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
            if line == "--version":  # the group's own option
                assert run(line) == (0, f"yottactl, version {__version__}\n")
                continue
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


def test_export_writes_into_the_manifest_folder(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --dir: where plan reads (yottactl.yaml's folder, else manifests/ or deploy/),
    else a new manifests/ — never the working directory itself."""
    from reconciler.api.models import CreateRequest

    from conftest import create_body

    cli.client().create(CreateRequest.model_validate(create_body("web")))
    fresh = cli.folder / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    assert cli("export").exit_code == 0
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*.yaml")) == [
        "manifests/web.yaml"]
    project = cli.folder / "project"
    (project / "infra" / "yotta").mkdir(parents=True)
    (project / "yottactl.yaml").write_text("manifests: infra/yotta\n")
    monkeypatch.chdir(project)
    written = cli("export")
    assert written.exit_code == 0 and "infra/yotta/web.yaml" in written.output, written.output
    assert (project / "infra" / "yotta" / "web.yaml").is_file()
    assert cli("plan", "--detailed-exitcode").exit_code == 2  # plan reads what export wrote


def test_export_hides_only_values_that_look_secret_or_are_sensitive(cli: Cli) -> None:
    from reconciler.report.export import looks_secret

    from conftest import CANARY

    cli.write("llama", model="${env:PRIVATE_MODEL}")  # HF_TOKEN and MODEL from ${env:}
    cli.write("plain", model="meta-llama/Llama-3.1-8B-Instruct")
    cli.env["PRIVATE_MODEL"] = "acme-internal-llm"  # harmless-looking: only the state knows
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    from reconciler.api.models import CreateRequest

    from conftest import create_body

    cli.client().create(CreateRequest.model_validate(create_body("console", environmentVars=[
        {"key": "LANG", "value": "en"}, {"key": "MODEL", "value": "llama"},
        {"key": "DB_PASSWORD", "value": "hunter2"},
        {"key": "UPSTREAM", "value": "https://bot:s3cr3t@example.com/x"},
        {"key": "EXTRA", "value": "hf_abcdefghijklmnopqrstuvwxyz0123"}])))
    folder = cli.folder / "out"
    result = cli("export", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    console = (folder / "console.yaml").read_text()
    assert "LANG: en" in console and "MODEL: llama" in console
    for key in ("DB_PASSWORD", "UPSTREAM", "EXTRA"):
        assert f"{key}: ${{env:CONSOLE_{key}}}" in console
    assert "hunter2" not in console and "s3cr3t" not in console
    managed = (folder / "llama.yaml").read_text()
    assert "HF_TOKEN: ${env:LLAMA_HF_TOKEN}" in managed and CANARY not in managed
    assert "MODEL: ${env:LLAMA_MODEL}" in managed and "acme-internal" not in managed
    assert "MODEL: meta-llama/Llama-3.1-8B-Instruct" in (folder / "plain.yaml").read_text()
    # the state's word counts even for a value that looks harmless
    assert not looks_secret("MODEL", "acme-internal-llm") and not looks_secret("LANG", "en")
    state = json.loads(cli.state.read_text())
    assert "environmentVars.MODEL" in state["deployments"]["llama"]["sensitive"]
