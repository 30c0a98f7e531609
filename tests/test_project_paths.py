"""Paths a pull request can edit stay inside the project (issue 22): every path in yottactl.yaml
(manifests, overlays, state files) and every symlink met while walking a manifest folder must
resolve inside the project folder; anything else is an error naming the path, and nothing
outside is read or written. Paths on the command line are the user's own choice."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, manifest_text

PASSWD = Path("/etc/passwd")
SECRET_LINE = PASSWD.read_text().splitlines()[0]  # e.g. root:x:0:0:root:/root:/bin/bash


@pytest.fixture
def repo(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A checkout at tmp/repo with one manifest; a folder beside it, outside the project,
    holds a valid manifest too (so only where it is can make it fail)."""
    root = tmp_path / "repo"
    (root / "manifests").mkdir(parents=True)
    (root / "manifests" / "svc.yaml").write_text(manifest_text("svc"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.yaml").write_text(manifest_text("other"))
    monkeypatch.chdir(root)
    cli.folder = root
    return cli


def project(text: str) -> None:
    Path("yottactl.yaml").write_text(text)


def refused(result: Any, *words: str) -> str:
    output = result.output
    assert result.exit_code == 1, output
    for word in words:
        assert word in output, output
    assert SECRET_LINE not in output and "Traceback" not in output
    return str(output)


@pytest.mark.parametrize("text, at, shown", [
    ("manifests: /etc\n", "yottactl.yaml:1:12: manifests.0", "'/etc'"),
    ("manifests: [manifests, ../outside]\n", "yottactl.yaml:1:24: manifests.1", "'../outside'"),
    ("environments:\n  prod:\n    manifests: ../outside\n",
     "yottactl.yaml:3:16: environments.prod.manifests.0", "'../outside'"),
    ("environments:\n  prod:\n    overlays: [../../../../../../../../etc/passwd]\n",
     "yottactl.yaml:3:16: environments.prod.overlays.0", "etc/passwd"),
    ("state: ../outside/s.json\n", "yottactl.yaml:1:8: state", "'../outside/s.json'"),
    ("environments:\n  prod:\n    state: /tmp/prod.json\n",
     "yottactl.yaml:3:12: environments.prod.state", "'/tmp/prod.json'"),
    # not a database URL, so a file path, whatever "://" it holds
    ("state: ../../../tmp/x://y.json\n", "yottactl.yaml:1:8: state", "'../../../tmp/x://y.json'"),
])
def test_a_path_in_the_project_file_outside_the_project_is_an_error(
        repo: Cli, text: str, at: str, shown: str) -> None:
    project(text)
    output = refused(repo("validate"), at, shown, f"is outside the project folder {Path.cwd()}")
    assert "name the path on the command line" in output


def test_a_link_inside_the_project_to_outside_is_refused_too(repo: Cli, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", "linked")  # committed: `manifests: linked`
    project("manifests: linked\n")
    refused(repo("validate"), "yottactl.yaml:1:12: manifests.0", "'linked'",
            f"resolves to {tmp_path / 'outside'}")
    # so is the conventional folder when it is such a link, with a project file or without
    os.rename("manifests", "kept")
    os.symlink(tmp_path / "outside", "manifests")
    project("variables: {}\n")
    refused(repo("validate"), "manifests is a link to", "outside the project folder")
    Path("yottactl.yaml").unlink()
    refused(repo("validate"), "manifests is a link to", "outside the working directory")


def test_environment_state_folder_linked_outside_is_refused_before_any_write(
        repo: Cli, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", "state")  # state/prod.state.json would land outside
    project("manifests: manifests\nenvironments:\n  prod: {}\n")
    refused(repo("plan", "--env", "prod"), "environments.prod.state",
            "'state/prod.state.json'", "is outside the project folder")
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["other.yaml"]


def test_a_committed_symlink_to_etc_passwd_is_not_read(repo: Cli) -> None:
    os.symlink(PASSWD, "manifests/evil.yaml")
    project("manifests: manifests\n")
    message = f"manifests/evil.yaml:1:1: a symlink to {PASSWD}, outside {Path.cwd()}: not read"
    refused(repo("validate"), message)  # walking the project's folder
    refused(repo("validate", "manifests"), message)  # a folder named on the command line
    Path("yottactl.yaml").unlink()  # no project: the walked folder is the boundary
    refused(repo("validate", "manifests"),
            f"a symlink to {PASSWD}, outside {Path.cwd() / 'manifests'}: not read")


def test_links_between_the_projects_folders_are_read(repo: Cli) -> None:
    Path("shared").mkdir()
    Path("shared/common.yaml").write_text(manifest_text("common"))
    os.symlink("../shared/common.yaml", "manifests/common.yaml")
    project("manifests: manifests\n")
    result = repo("validate")
    assert result.exit_code == 0, result.output
    assert "2 deployments valid" in result.output, result.output
    # without a project file the folder read is the boundary: the same link leaves it
    Path("yottactl.yaml").unlink()
    refused(repo("validate", "manifests"), "manifests/common.yaml:1:1: a symlink to")


def test_paths_on_the_command_line_are_the_users_choice(repo: Cli, tmp_path: Path) -> None:
    project("manifests: manifests\n")
    os.symlink(tmp_path / "outside" / "other.yaml", "picked.yaml")
    for args in (["validate", str(tmp_path / "outside")], ["validate", "picked.yaml"]):
        result = repo(*args)
        assert result.exit_code == 0, (args, result.output)
    state = tmp_path / "elsewhere" / "s.json"
    result = repo("plan", "--state", str(state))
    assert result.exit_code == 0, result.output


def test_linked_folders_inside_the_project_are_read_each_once(repo: Cli) -> None:
    """R-22 finding 8: a linked folder was skipped silently (os.walk does not follow links), so
    the next plan would delete what it declares. Links inside the project are followed; a link
    back up (a loop) or to a folder read anyway adds nothing."""
    Path("shared").mkdir()
    Path("shared/common.yaml").write_text(manifest_text("common"))
    os.symlink("../shared", "manifests/sh")
    Path("manifests/sub").mkdir()
    os.symlink("..", "manifests/sub/back")  # a loop: manifests/sub/back/sub/back/...
    os.symlink("../sh", "manifests/sub/again")  # shared/ under a second name
    project("manifests: manifests\n")
    for args in (["validate"], ["validate", "manifests"]):
        result = repo(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "2 deployments valid" in result.output, (args, result.output)
    # without a project file the folder read is the boundary: the linked folder leaves it
    Path("yottactl.yaml").unlink()
    refused(repo("validate", "manifests"),
            f"manifests/sh:1:1: a symlink to {Path.cwd() / 'shared'}, outside "
            f"{Path.cwd() / 'manifests'}: not read")


def test_a_linked_folder_leaving_the_project_is_an_error_naming_the_link(
        repo: Cli, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", "manifests/od")
    project("manifests: manifests\n")
    for command in (["validate"], ["plan"]):
        output = refused(repo(*command), f"manifests/od:1:1: a symlink to {tmp_path / 'outside'}, "
                         f"outside {Path.cwd()}: not read")
        assert "other" not in output.split(), output  # nothing under it was read
