"""The CLI's contract with scripts, checked on EVERY command (new ones are covered automatically):
exit 1 for any usage or input error (2 means only "changes"/"drift"), help text on every
option, NO_COLOR with any value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import main

from conftest import Cli

ROOT = Path(__file__).resolve().parents[1]


def leaf_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(leaf_commands())
IDS = [" ".join(path) for path, _ in COMMANDS]


def required_arguments(command: click.Command) -> list[str]:
    """Placeholder values for the command's required positional arguments (a valid-looking id
    where an id goes, so that the argument the test is about is the one checked)."""
    out = []
    for param in command.params:
        if isinstance(param, click.Argument) and param.required:
            value = "1" * 18 if param.name in ("deployment_id", "ids") else "x"
            out += [value] * max(param.nargs, 1)
    return out


def run(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str | None] | None = None) -> Any:
    monkeypatch.chdir(tmp_path)  # nothing a command might write lands in the repository
    base: dict[str, str | None] = {
        "YOTTA_API_URL": "http://127.0.0.1:9",  # nothing listens there: no real API is reached
        "YOTTA_API_KEY": "k", "YOTTACTL_STATE": str(tmp_path / "state" / "s.json"),
        "NO_COLOR": None}
    return CliRunner().invoke(main, args, env={**base, **(env or {})})


def assert_error_exit(result: Any, *words: str) -> None:
    text = result.output + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, (result.exit_code, text)
    assert "Traceback" not in text
    for word in words:
        assert word in text, (word, text)


def test_every_command_is_listed() -> None:
    # the parametrised tests below cover whatever `main` holds; make sure that is not nothing
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"validate", "plan", "apply", "destroy", "drift", "export", "state rm", "logs",
            "emulator", "demo"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_has_help(path: tuple[str, ...], command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"{' '.join(path)} {param.opts[0]}: no help"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_unknown_option_exits_1(path: tuple[str, ...], command: click.Command, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    result = run([*path, "--no-such-option", *required_arguments(command)], tmp_path, monkeypatch)
    assert_error_exit(result, "No such option")


def bad_values(command: click.Command) -> Iterator[list[str]]:
    """Options whose type rejects the word 'bogus'; else a flag given a value."""
    found = False
    for param in command.params:
        if not isinstance(param, click.Option) or param.is_flag or param.hidden:
            continue
        if isinstance(param.type, (click.Choice, click.types.IntParamType,
                                   click.types.FloatParamType, click.types.BoolParamType)):
            found = True
            yield [param.opts[0], "bogus"]
    if not found:
        yield ["--help=bogus"]


BAD_VALUES = [(path, command, args) for path, command in COMMANDS for args in bad_values(command)]


@pytest.mark.parametrize(("path", "command", "bad"), BAD_VALUES,
                         ids=[f"{' '.join(p)} {' '.join(b)}" for p, _, b in BAD_VALUES])
def test_bad_value_exits_1(path: tuple[str, ...], command: click.Command, bad: list[str],
                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run([*path, *bad, *required_arguments(command)], tmp_path, monkeypatch)
    assert_error_exit(result)
    assert "bogus" in result.output + result.stderr or "take a value" in result.stderr


def missing_file_arguments(command: click.Command) -> Iterator[list[str]]:
    """Each way the command takes an existing file: PATH arguments and exists=True options."""
    for param in command.params:
        if isinstance(param, click.Argument) and param.name in ("paths", "path"):
            yield ["no/such/manifests.yaml"]
        elif (isinstance(param, click.Option) and isinstance(param.type, click.Path)
              and param.type.exists):
            yield [param.opts[0], "no/such/file.yaml"]


MISSING = [(path, command, args) for path, command in COMMANDS
           for args in missing_file_arguments(command)]


def test_file_taking_commands_are_found() -> None:
    covered = {" ".join(p) for p, _, _ in MISSING}
    assert {"validate", "plan", "apply", "destroy", "drift", "demo"} <= covered


@pytest.mark.parametrize(("path", "command", "args"), MISSING,
                         ids=[f"{' '.join(p)} {' '.join(a)}" for p, _, a in MISSING])
def test_missing_file_exits_1(path: tuple[str, ...], command: click.Command, args: list[str],
                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the required arguments first: PATH... is the last positional (`import NAME ID PATH...`)
    result = run([*path, *required_arguments(command), *args], tmp_path, monkeypatch)
    assert_error_exit(result, "no/such/")


def test_missing_argument_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_error_exit(run(["logs"], tmp_path, monkeypatch), "Missing argument")
    assert_error_exit(run(["no-such-command"], tmp_path, monkeypatch), "No such command")
    assert_error_exit(run(["--no-such-global-option"], tmp_path, monkeypatch), "No such option")


def test_help_documents_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(["--help"], tmp_path, monkeypatch)
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert "Exit codes (every command): 0 success; 1 any error, including usage errors" in flat
    assert '2 only "changes pending"' in flat
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "usage errors" in readme and "exit 1" in readme.lower()


def test_no_option_reads_no_color_as_a_boolean() -> None:
    for path, command in COMMANDS:
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            assert "NO_COLOR" not in envvars, f"{' '.join(path)}: NO_COLOR must accept any value"


@pytest.mark.parametrize("value", ["x", "1", "true", "no"])
def test_no_color_any_value_disables_colour(cli: Cli, value: str) -> None:
    cli.write("svc")
    cli.env["NO_COLOR"] = value
    for args in (["plan", str(cli.manifests)], ["get"], ["drift", str(cli.manifests)]):
        result = cli(*args)
        assert result.exit_code in (0, 2), (args, result.output, result.stderr)
        assert "\x1b[" not in result.output + result.stderr
        assert "Invalid value" not in result.stderr


def test_use_color_honours_no_color_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.cli import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(stream=Tty())  # precondition: colour is on for a TTY
    for value in ("x", "0", "false"):
        monkeypatch.setenv("NO_COLOR", value)
        assert not use_color(stream=Tty())
    monkeypatch.setenv("NO_COLOR", "")
    assert use_color(stream=Tty())  # empty means unset (no-color.org)


@pytest.mark.parametrize("args", [["schema"], ["--help"], ["plan", "--help"], ["--version"],
                                  ["get", "-o", "json"]])
def test_a_closed_stdout_ends_quietly_as_git_does(cli: Cli, args: list[str]) -> None:
    """`yottactl get | head`: no traceback, no message, killed by SIGPIPE like git (not exit 1)."""
    import os
    import signal
    import subprocess
    import sys

    cli.write("svc")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    opened = cli.subprocess(*args)
    assert opened.returncode == 0 and opened.stdout  # precondition: it has output to write
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first write: every write is EPIPE
    try:
        closed = subprocess.run([sys.executable, "-m", "reconciler", *args], stdout=writer,
                                stderr=subprocess.PIPE, env={**os.environ, **cli.env}, text=True)
    finally:
        os.close(writer)
    assert closed.returncode == -signal.SIGPIPE and closed.stderr == ""
