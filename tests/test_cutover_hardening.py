"""What a cutover command (lifecycle.cutover, from a file a pull request can edit) can leak
or miss (R-23 findings 5, 6): its output is masked with the known secrets and the state keeps
only a short cause; a relative command runs from the project folder, never outside it, and
validate checks that it exists and is executable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_rollout_e2e import NEW, first_apply, fleet, mutated, state_entry, write

from conftest import API_KEY, CANARY, Cli

__all__ = ["fleet"]  # the emulator fixture of the rollout tests


def files_holding(folder: Path, *needles: str) -> list[str]:
    """Files under ``folder`` (state, backups, journal, plan files) that contain a needle."""
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and any(
        n.encode() in p.read_bytes() for n in needles))


def test_cutover_output_is_masked_and_kept_short(fleet: Cli, tmp_path: Path) -> None:
    leak = tmp_path / "outside" / "leak.txt"  # what a command may read: files, /proc/$PPID
    leak.parent.mkdir()
    leak.write_text(f"token {CANARY} key {API_KEY}\n" + "noise\n" * 50)
    cutover = f"cutover: {{command: [sh, -c, 'cat {leak} >&2; exit 3']}}"
    blue = first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    result = fleet("apply", str(fleet.manifests), "--auto-approve", "--keep-failed")
    assert result.exit_code == 1 and "the cutover command exited 3: token [redacted] key " \
        "[redacted]" in result.output, result.output
    assert CANARY not in result.output and API_KEY not in result.output
    assert state_entry(fleet)["rollout_failed"] == "the cutover command exited 3"
    assert files_holding(fleet.folder, CANARY, API_KEY) == [str(leak)]  # not state, journal
    assert mutated(fleet.server).get(blue, 0) == 0


def script(path: Path, body: str = "", mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(mode)
    return path


def test_relative_cutover_runs_from_the_manifests_folder(fleet: Cli, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ran = tmp_path / "ran.txt"
    script(fleet.manifests / "bin" / "switch.sh", f'echo "$YOTTACTL_NEW_ID" > {ran}')
    elsewhere = tmp_path / "elsewhere"  # apply runs from another folder (no project file)
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cutover = "cutover: {command: [./bin/switch.sh]}"
    blue = first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    result = fleet("apply", str(fleet.manifests), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert ran.exists() and ran.read_text().strip() not in ("", blue)


def test_validate_checks_relative_cutover_commands(fleet: Cli,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = fleet.folder
    (project / "yottactl.yaml").write_text("manifests: manifests\n")
    script(project / "deploy" / "ok.sh")  # the project's folder, not the manifests'
    script(project / "deploy" / "plain.sh", mode=0o644)
    (project / "deploy" / "link.sh").symlink_to("/bin/true")  # a link leading out
    monkeypatch.chdir(project / "manifests")  # from a subfolder: still the project's
    commands = {"good": "./deploy/ok.sh", "missing": "./deploy/typo.sh",
                "plain": "deploy/plain.sh", "up": "../manifests/../../x.sh",
                "link": "./deploy/link.sh", "bare": "sh"}
    for name, program in commands.items():
        write(fleet, name, lifecycle=f"cutover: {{command: [{program}, --zone, a]}}")
    result = fleet("validate")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    for name, says in {"missing": "does not exist in the project folder",
                       "plain": "is not executable", "up": "leads outside",
                       "link": "leads outside"}.items():
        (line,) = [x for x in lines if f"{name}.yaml:" in x]
        assert "lifecycle.cutover.command[0]" in line and says in line, line
    assert not [x for x in lines if "good.yaml:" in x or "bare.yaml:" in x], result.output
    assert "4 manifest errors" in result.output, result.output



def test_yottactl_is_not_dumpable_while_a_cutover_command_runs(fleet: Cli,
                                                                 tmp_path: Path) -> None:
    """Linux marks a non-dumpable process's /proc files as root's (0:0) whatever its own ids:
    then a command running as the same (non-root) user cannot read /proc/<yottactl>/environ.
    yottactl runs here with ids other than 0:0 (as root: group nobody), so 0:0 means it is."""
    seen = tmp_path / "owner.txt"
    cutover = (f"cutover: {{command: [sh, -c, 'stat -c %u:%g /proc/$PPID/environ > {seen}; "
               f"cat /proc/$PPID/environ >> {seen} 2>&1 || true']}}")
    blue = first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    ids = {"group": 65534} if os.geteuid() == 0 else {}  # root may take another group
    done = fleet.subprocess("apply", str(fleet.manifests), "--auto-approve", **ids)
    assert done.returncode == 0, done.stdout + done.stderr
    owner = seen.read_text().splitlines()[0]
    assert owner == "0:0", owner
    if os.geteuid() != 0:  # the same user: refused (root reads every process anyway)
        assert API_KEY not in seen.read_text() and "denied" in seen.read_text()
    assert mutated(fleet.server).get(blue, 0) >= 1  # rolled out: blue stopped and deleted


def test_markdown_shows_a_cutover_argv_as_one_code_span(fleet: Cli) -> None:
    cutover = "cutover: {command: [sh, -c, 'echo `date` > x']}"  # a backtick in argv (nit 13)
    first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    saved = fleet.folder / "p.plan"
    assert fleet("plan", str(fleet.manifests), "--out", str(saved)).exit_code == 0
    shown = fleet("show", str(saved), "-o", "markdown").output
    assert "- cutover: ``command sh -c 'echo `date` > x'``\n" in shown, shown
