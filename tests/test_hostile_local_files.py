"""Hostile local inputs: every file the user names (and the journal) is read by reconciler.localfile (regular
files only, never waiting on a FIFO, capped), output files never replace a device, and JSON
nested too deeply or holding a 5,000-digit number is a clean error, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from conftest import Cli

MIB = 1024 * 1024


def sparse(path: Path, size: int) -> Path:
    """A regular file of ``size`` bytes that takes no disk space."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def project_with_overlay(cli: Cli, overlay: Path) -> None:
    cli.write("svc")
    (cli.folder / "yottactl.yaml").write_text(textwrap.dedent(f"""\
        manifests: manifests
        environments:
          prod:
            overlays: [{overlay.name}]
            state: {cli.state}
        """))


# how each input is given on the command line; {f} is the hostile file
INPUTS = {
    "state": ["state", "list", "--state", "{f}"],
    "plan file": ["apply", "--plan", "{f}", "--auto-approve"],
    "api key file": ["plan", "manifests", "--api-key-file", "{f}"],
    "var file": ["plan", "manifests", "--var-file", "{f}"],
    "overlay": ["plan", "--env", "prod"],
}


def command(cli: Cli, which: str, hostile: Path) -> list[str]:
    cli.write("svc")
    if which == "overlay":
        project_with_overlay(cli, hostile)
    return [part.format(f=hostile) for part in INPUTS[which]]


@pytest.mark.parametrize("which", sorted(INPUTS))
def test_a_fifo_is_refused_not_waited_on(cli: Cli, which: str) -> None:
    fifo = cli.folder / "input.fifo"
    os.mkfifo(fifo)
    args = command(cli, which, fifo)
    # a subprocess with a deadline: before the fix this waited forever for a FIFO writer
    result = cli.subprocess(*args, cwd=cli.folder, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "not a regular file: a named pipe" in result.stderr and "Traceback" not in result.stderr
    assert "input.fifo" in result.stderr  # the error names the file
    assert ".backup" not in result.stderr  # no "restore the backup" over a FIFO


@pytest.mark.parametrize("which, cap", [("state", 256), ("plan file", 256), ("api key file", 1),
                                        ("var file", 1), ("overlay", 10)])
def test_a_file_over_its_cap_is_refused_unread(cli: Cli, which: str, cap: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    big = sparse(cli.folder / "input.big", cap * MIB + 1)
    monkeypatch.chdir(cli.folder)
    result = cli(*command(cli, which, big))
    assert result.exit_code == 1, result.output
    assert f"larger than {cap} MiB" in result.stderr and "input.big" in result.stderr


def test_inputs_just_under_their_cap_are_still_read(cli: Cli) -> None:
    """The caps leave room: a 20 MB state (10,000 deployments' worth) is read."""
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    # whitespace stands in for 10,000 deployments' records (the model refuses unknown keys)
    cli.state.write_text(cli.state.read_text() + " " * (20 * MIB))
    listed = cli("state", "list")
    assert listed.exit_code == 0 and "svc" in listed.stdout, listed.stderr


# --- output files --------------------------------------------------------------------------

def test_plan_out_refuses_a_device_or_fifo_and_leaves_it(cli: Cli) -> None:
    cli.write("svc")
    device = cli.folder / "null-device"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # created in tmp_path, never /dev
    fifo = cli.folder / "out.fifo"
    os.mkfifo(fifo)
    for target, kind in ((device, "a character device"), (fifo, "a named pipe")):
        result = cli("plan", str(cli.manifests), "--out", str(target))
        assert result.exit_code == 1, result.output
        assert f"not a regular file ({kind}" in result.stderr and "refusing to replace it" in result.stderr
        assert not stat.S_ISREG(os.stat(target).st_mode)  # still the special file
    ordinary = cli.folder / "plan.json"
    ordinary.write_text("old")
    assert cli("plan", str(cli.manifests), "--out", str(ordinary)).exit_code == 0
    assert json.loads(ordinary.read_text())["format_version"]  # a regular file is replaced


def test_plan_out_os_error_is_a_clean_error(cli: Cli) -> None:
    cli.write("svc")
    target = cli.folder / "no-such-folder" / "plan.json"
    result = cli("plan", str(cli.manifests), "--out", str(target))
    assert result.exit_code == 1, result.output
    assert "cannot write the plan: No such file or directory" in result.stderr
    assert not target.exists()


def test_drift_report_refuses_a_fifo(cli: Cli) -> None:
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    fifo = cli.folder / "report.fifo"
    os.mkfifo(fifo)
    result = cli.subprocess("drift", str(cli.manifests), "--report", str(fifo), timeout=60)
    assert result.returncode == 1 and "not a regular file (a named pipe" in result.stderr, result.stderr


# --- hostile JSON --------------------------------------------------------------------------

DEEP = "[" * 100_000
STATE_WITH_HUGE_SERIAL = ('{"format_version": 2, "lineage": "x", "serial": ' + "9" * 5000
                          + ', "deployments": {}}')


@pytest.mark.parametrize("text, words", [(DEEP, "nested too deeply"),
                                         (STATE_WITH_HUGE_SERIAL, "a number too long to read")])
def test_hostile_json_state_is_a_clean_error(cli: Cli, text: str, words: str) -> None:
    cli.write("svc")
    cli.state.parent.mkdir(parents=True)
    cli.state.write_text(text)
    for args in (["state", "list"], ["plan", str(cli.manifests)],
                 ["apply", str(cli.manifests), "--auto-approve"]):
        result = cli(*args)  # catch_exceptions=False: a traceback fails the test
        assert result.exit_code == 1, (args, result.output)
        assert f"is not valid JSON ({words})" in result.stderr
    assert cli.state.read_text() == text and cli.client().list() == []


@pytest.mark.parametrize("line", [DEEP, '{"n": ' + "9" * 5000 + "}"])
def test_hostile_json_journal_line_is_a_clean_error(cli: Cli, line: str) -> None:
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    Path(str(cli.state) + ".journal").write_text(line + "\n" + "{}\n")
    result = cli("plan", str(cli.manifests))
    assert result.exit_code == 1 and "line 1 is not valid JSON" in result.stderr, result.output


@pytest.mark.parametrize("text", [DEEP, '{"format_version": ' + "9" * 5000 + "}"])
def test_hostile_json_plan_file_is_a_clean_error(cli: Cli, text: str) -> None:
    plan_file = cli.folder / "p.json"
    plan_file.write_text(text)
    for args in (["apply", "--plan", str(plan_file), "--auto-approve"], ["show", str(plan_file)]):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "is not a yottactl plan file" in result.stderr


# --- the catalog file and the journal beside the state ---------------------------------------

def test_hostile_catalog_files_are_clean_errors(cli: Cli) -> None:
    cli.write("svc")
    fifo = cli.folder / "catalog.fifo"
    os.mkfifo(fifo)
    waited = cli.subprocess("validate", str(cli.manifests), env={"YOTTACTL_CATALOG": str(fifo)},
                            timeout=60)
    assert waited.returncode == 1 and "not a regular file: a named pipe" in waited.stderr, waited.stderr
    deep = cli.folder / "catalog.json"
    deep.write_text(DEEP)
    cli.env["YOTTACTL_CATALOG"] = str(deep)
    result = cli("validate", str(cli.manifests))
    assert result.exit_code == 1 and "not valid JSON (nested too deeply)" in result.stderr, result.output
    deep_yaml = cli.folder / "catalog.yaml"
    deep_yaml.write_text("gpuTypes:\n" + "".join(" " * i + "- \n" for i in range(0, 4000, 2)))
    cli.env["YOTTACTL_CATALOG"] = str(deep_yaml)
    result = cli("validate", str(cli.manifests))
    assert result.exit_code == 1 and "nesting deeper than 64 levels" in result.stderr, result.output
    assert f"{deep_yaml}:" in result.stderr  # file:line:column


def test_a_journal_that_is_a_fifo_is_refused_not_waited_on(cli: Cli) -> None:
    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    os.mkfifo(str(cli.state) + ".journal")
    result = cli.subprocess("plan", str(cli.manifests), timeout=60)
    assert result.returncode == 1, result.stderr
    assert "cannot read the journal" in result.stderr and "named pipe" in result.stderr
