"""What the CLI reads and writes: --target names something, no path means the manifest folder
(never every YAML file under .), export never overwrites or escapes --dir, the pre-commit
hook checks the whole folder."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler.cli import main

from conftest import Cli, manifest_text

ROOT = Path(__file__).resolve().parents[1]


def out(result: Any) -> str:
    return result.output + (result.stderr or "")


# --- --target ------------------------------------------------------------------------------

def test_unknown_target_is_an_error(cli: Cli) -> None:
    cli.write("svc")
    for command in (["plan"], ["apply", "--auto-approve"], ["destroy", "--auto-approve"]):
        result = cli(*command, str(cli.manifests), "--target", "svx")
        assert result.exit_code == 1, (command, out(result))
        assert "--target 'svx': no such deployment" in out(result)
        assert "did you mean 'svc'?" in out(result)
    ok = cli("plan", str(cli.manifests), "--target", "svc", "--detailed-exitcode")
    assert ok.exit_code == 2 and "svc" in ok.output  # precondition: a real target plans


def test_target_known_only_to_the_state_is_fine(cli: Cli) -> None:
    cli.write("svc")
    cli.write("other")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.remove("svc")  # now only the state knows it: deleting it is a valid target
    result = cli("plan", str(cli.manifests), "--target", "svc", "--detailed-exitcode")
    assert result.exit_code == 2, out(result)
    assert "delete" in result.output


# --- no path ---------------------------------------------------------------------------------

def repo_with_ci_files(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    (tmp_path / "examples" / "ci").mkdir(parents=True)
    (tmp_path / "examples" / "ci" / "acks.yaml").write_text("- deployment: x\n")
    return tmp_path


def test_no_path_and_no_manifest_folder_refuses_with_a_hint(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_with_ci_files(tmp_path))
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 1
    assert "no manifest path given" in result.stderr and "hint:" in result.stderr
    assert "ci.yml" not in out(result) and "acks.yaml" not in out(result)


@pytest.mark.parametrize("folder", ["manifests", "deploy"])
def test_no_path_reads_the_conventional_folder_only(tmp_path: Path, folder: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    repo = repo_with_ci_files(tmp_path)
    (repo / folder).mkdir()
    (repo / folder / "svc.yaml").write_text(manifest_text("svc"))
    (repo / folder / ".hidden.yaml").write_text("not: a manifest\n")  # dotfiles are skipped
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["validate", "--skip-env"])
    assert result.exit_code == 0, out(result)
    assert result.output == "1 deployment valid\n"


# --- export ----------------------------------------------------------------------------------

def test_export_never_overwrites_without_force(cli: Cli, tmp_path: Path) -> None:
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    target = tmp_path / "out"
    target.mkdir()
    (target / "svc.yaml").write_text("# mine, hand-edited\n")
    refused = cli("export", "--dir", str(target))
    assert refused.exit_code == 1 and "refusing to overwrite" in refused.stderr
    assert (target / "svc.yaml").read_text() == "# mine, hand-edited\n"
    forced = cli("export", "--dir", str(target), "--force")
    assert forced.exit_code == 0, out(forced)
    assert "metadata:\n  name: svc" in (target / "svc.yaml").read_text()


@pytest.mark.parametrize("evil", ["../../evil", "ABSOLUTE/abs-evil", "..", ".hidden", "a/b",
                                  "abc\n"])
def test_export_never_writes_outside_dir(cli: Cli, tmp_path: Path, evil: str) -> None:
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    world = cli.server.emulator.world
    [dep] = world.deployments.values()
    evil = evil.replace("ABSOLUTE", str(tmp_path))  # an absolute path inside this test's folder
    dep["name"] = evil  # an API that does not enforce its own name pattern
    target = tmp_path / "a" / "b" / "out"
    result = cli("export", "--dir", str(target))
    assert result.exit_code == 1, out(result)
    assert "is not a valid deployment name" in result.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".yaml"
               and "manifests" not in p.parts]
    assert written == []
    assert not (tmp_path / "abs-evil.yaml").exists()


@pytest.mark.parametrize(("name", "expected"), [
    ("svc", "svc.yaml"), ("../../evil", ".._.._evil.yaml".replace(".._.._", "deployment-.._.._")),
    ("/etc/passwd", "_etc_passwd.yaml"), ("..", "deployment-...yaml"), ("", "deployment-.yaml")])
def test_export_file_names_stay_in_the_folder(tmp_path: Path, name: str, expected: str) -> None:
    from reconciler.report.export import file_name, write_new

    assert file_name(name) == expected
    target = tmp_path / file_name(name)
    write_new(tmp_path, target, "x: 1\n", overwrite=False)
    assert target.parent == tmp_path and target.read_text() == "x: 1\n"


# --- pre-commit hook -------------------------------------------------------------------------

def hook() -> dict[str, Any]:
    [definition] = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert definition["id"] == "yottactl-validate"
    return dict(definition)


def test_hook_matches_only_manifest_folders() -> None:
    import re

    files = re.compile(hook()["files"])
    for path in ("deploy/svc.yaml", "manifests/team/a.yml"):
        assert files.search(path), path
    for path in (".github/workflows/ci.yml", ".pre-commit-config.yaml", "examples/ci/acks.yaml",
                 "docs/deploy/x.yaml", "deploy/README.md"):
        assert not files.search(path), path


def test_hook_catches_duplicate_names_across_the_folder(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    definition = hook()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "a.yaml").write_text(manifest_text("svc"))
    (tmp_path / "deploy" / "b.yaml").write_text(manifest_text("svc"))  # committed earlier
    staged = ["deploy/a.yaml"]  # only this one changed in the commit
    argv = shlex.split(definition["entry"])[1:] + list(definition.get("args", []))
    if definition.get("pass_filenames", True):
        argv += staged
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1, out(result)
    assert "is used twice" in result.stderr
