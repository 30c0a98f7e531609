"""`yottactl --version` answers without importing the CLI framework (scripts call it often)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from reconciler.cli import COMMANDS

PROBE = (
    "import sys; sys.argv = ['yottactl', '--version']; from reconciler.entry import run; run(); "
    "heavy = sorted(m for m in ('click', 'pydantic', 'httpx', 'reconciler.cli') if m in sys.modules); "
    "print('loaded:', heavy)"
)


def test_version_imports_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["yottactl, version 0.1.0", "loaded: []"]


def test_version_matches_the_cli() -> None:
    from click.testing import CliRunner

    from reconciler.cli import main

    fast = subprocess.run([sys.executable, "-m", "reconciler", "--version"], capture_output=True,
                          text=True, check=True).stdout
    assert CliRunner().invoke(main, ["--version"]).output == fast


def _plan_a_bad_manifest_against_a_silent_api(tmp_path, *python_flags: str):  # type: ignore[no-untyped-def]
    """`plan` of a folder with a bad manifest, its list call still waiting on an API that
    accepts connections and never answers."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (kernel backlog) and never answers
    try:
        (tmp_path / "bad.yaml").write_text("apiVersion: yottactl/v1\nkind: ElasticDeployment\n")
        env = {"YOTTA_API_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "YOTTA_API_KEY": "k", "YOTTACTL_STATE": str(tmp_path / "s.json"), "PATH": ""}
        return subprocess.run([sys.executable, *python_flags, "-m", "reconciler", "plan",
                               str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    finally:
        silent.close()


def test_invalid_manifests_are_reported_without_waiting_for_a_silent_api(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """plan fetches the list while it parses; a parse error must not wait for that fetch."""
    import time

    started = time.monotonic()
    out = _plan_a_bad_manifest_against_a_silent_api(tmp_path)
    assert out.returncode == 1
    assert "bad.yaml" in out.stderr and "metadata" in out.stderr
    assert time.monotonic() - started < 20  # the API call would only give up after 30 s


# what `python -v` prints as the interpreter tears itself down
TEARDOWN = ("# clear sys.audit hooks", "# cleanup[")


def test_a_call_still_running_ends_the_process_without_the_interpreters_teardown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The list call left running when plan fails first may be inside OpenSSL; C libraries'
    exit handlers freed its memory under it and the process died of SIGSEGV after its error
    (CI saw -11 for an unreachable PostgreSQL state, about one run in three). With a call
    still running the process ends at once: its message and exit code intact, no teardown."""
    out = _plan_a_bad_manifest_against_a_silent_api(tmp_path, "-v")
    assert out.returncode == 1 and "bad.yaml" in out.stderr
    assert not [line for line in out.stderr.splitlines() if line.startswith(TEARDOWN)]
    # the probe sees a teardown when there is one: no call is left running by `validate`
    done = subprocess.run([sys.executable, "-v", "-m", "reconciler", "validate", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "bad.yaml" in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith(TEARDOWN)]


HELP_PROBE = (
    "import contextlib, io, sys; sys.argv = ['yottactl', *sys.argv[1:]]\n"
    "from reconciler.entry import run\n"
    "with contextlib.redirect_stdout(io.StringIO()) as text:\n"
    "    try: run()\n"
    "    except SystemExit: pass\n"
    "assert 'Usage: yottactl' in text.getvalue(), text.getvalue()\n"
    "print(' '.join(sorted(sys.modules)))"
)


def _loaded_by(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", HELP_PROBE, *args], capture_output=True,
                         text=True, check=True)
    return set(out.stdout.split())


def _heavy_or_commands(loaded: set[str]) -> set[str]:
    return {m for m in loaded if m.split(".")[0] in ("pydantic", "httpx", "ruamel")
            or m.startswith("reconciler.cli.")}


def test_help_imports_no_command_module_and_nothing_heavy() -> None:
    """`yottactl --help` lists the commands from cli.COMMANDS: no command module, and neither
    pydantic, httpx nor ruamel; a command's own --help imports its module (and what it shares)."""
    assert _heavy_or_commands(_loaded_by("--help")) == set()
    plan = _heavy_or_commands(_loaded_by("plan", "--help"))
    assert "reconciler.cli.plan" in plan  # the probe sees command modules when they load
    assert not {m for m in plan if m.split(".")[0] in ("pydantic", "httpx", "ruamel")}
    assert not {"reconciler.cli.apply", "reconciler.cli.state"} & plan


# What a command's --help may import of yottactl beyond its own module: the CLI's shared modules,
# the output sanitiser (the group installs it before any command) and the API's constants
# (the choices of --status).
HELP_IMPORTS = {"reconciler", "reconciler.entry", "reconciler.cli", "reconciler.render",
                "reconciler.render.safe", "reconciler.api", "reconciler.api.facts"}


@pytest.mark.parametrize("command", [*COMMANDS, "state history", "catalog refresh"])
def test_a_commands_help_imports_only_the_cli(command: str) -> None:
    """`yottactl COMMAND --help` stays lean (bench/startup_bench.py: <= 2.5x `python -c pass`):
    what the command needs to run (errors, settings, the catalog, the field table, json,
    dataclasses, shutil) is imported in the command's body, when it runs."""
    loaded = _loaded_by(*command.split(), "--help")
    needless = {m for m in loaded if m.split(".")[0] == "reconciler" and m not in HELP_IMPORTS
                and not m.startswith("reconciler.cli.")} | ({"json", "dataclasses", "shutil"} & loaded)
    assert not needless, f"`yottactl {command} --help` imports {sorted(needless)}"


def test_the_command_table_matches_the_commands() -> None:
    """cli.COMMANDS (module and summary per command) is what `yottactl --help` shows: the
    commands themselves must agree, or the listing would say something the command does not."""
    import click

    from reconciler.cli import COMMANDS, main

    commands = dict(main.commands.items())  # imports every command module
    assert set(commands) == set(COMMANDS)
    for name, command in commands.items():
        module, summary = COMMANDS[name]
        assert command.callback is not None
        assert command.callback.__module__ == f"reconciler.cli.{module}", name
        assert summary == " ".join((command.help or "").partition("\n\n")[0].split()), name
        for limit in (30, 45, 80, 200):
            assert (click.Command(name, help=summary).get_short_help_str(limit)
                    == command.get_short_help_str(limit)), (name, limit)


@pytest.mark.parametrize("columns", [None, "0", "x", "-5", "60", "200"])
def test_the_help_width_is_shutils(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """cli._terminal_columns stands in for shutil.get_terminal_size (whose import costs every
    --help): a differential test against the library."""
    import shutil

    from reconciler.cli import _terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns() == shutil.get_terminal_size().columns


EXIT_PROBE = (
    "import atexit, gc, sys; sys.argv = ['yottactl', *sys.argv[1:]]\n"
    "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0, file=sys.stderr))\n"
    "from reconciler.entry import run\n"
    "run()\n"
)


@pytest.mark.parametrize("args", [["--help"], ["validate", "no-such-folder"]])
def test_the_heap_is_frozen_when_a_command_ends(args: list[str]) -> None:
    """The interpreter's shutdown scans every live object for cycles (twice), ~10% of a
    1,000-deployment plan's run time; frozen objects are skipped, and the exit code and output
    stay what the command made them."""
    out = subprocess.run([sys.executable, "-c", EXIT_PROBE, *args], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == (0 if args == ["--help"] else 1), out.stderr
    assert (out.stdout if args == ["--help"] else out.stderr).strip()  # the command's own words
    assert out.stderr.splitlines()[-1] == "frozen at exit: True", out.stderr


GC_PROBE = (
    "import gc, sys; seen = []; folder = sys.argv[1]\n"
    "sys.addaudithook(lambda event, args: seen.append(gc.isenabled()) if event == 'os.scandir' "
    "and str(args[0]) == folder else None)\n"
    "sys.argv = ['yottactl', 'validate', folder]\n"
    "from reconciler.entry import run\n"
    "try: run()\n"
    "finally: print('gc on while the command ran:', seen[:1], file=sys.stderr)\n"
)


def test_the_garbage_collector_is_on_while_a_command_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Start-up runs without the cyclic GC (entry.py); the command itself (apply, the agent, the
    emulator run for long and make cycles) must run with it."""
    (tmp_path / "web.yaml").write_text("apiVersion: yottactl/v1\n")
    out = subprocess.run([sys.executable, "-c", GC_PROBE, str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 1 and "web.yaml" in out.stderr  # it read the folder (and refused it)
    assert out.stderr.splitlines()[-1] == "gc on while the command ran: [True]", out.stderr


def test_every_command_switches_the_garbage_collector_back_on() -> None:
    """The switch is in the commands' shared class: a command made another way would run its
    whole life (an agent's, an emulator's) without the cyclic GC."""
    import click

    from reconciler.cli import _Command, main

    ctx = click.Context(main)

    def leaves(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        found = []
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            if isinstance(command, click.Group):
                found += leaves(command, f"{prefix}{name} ")
            else:
                found.append((prefix + name, command))
        return found

    commands = leaves(main, "")
    assert len(commands) >= 30  # precondition: every command module was loaded
    assert [name for name, command in commands if not isinstance(command, _Command)] == []


# a call still running on a daemon thread as the command ends (as plan's list call can be)
WITH_A_CALL_RUNNING = (
    "import sys, threading; sys.argv = ['yottactl', *sys.argv[1:]]\n"
    "threading.Thread(target=threading.Event().wait, daemon=True).start()\n"
    "from reconciler.entry import run\n"
    "run()\n"
)


def test_ending_beside_a_running_call_still_reports_lost_output() -> None:
    """The quick exit flushes what is left: a full disk makes it exit 1, never 0; a reader that
    went away ends it by SIGPIPE, as a closed stdout ends every command."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # --help's text
    # waits in the buffer until the exit flushes it
    fine = subprocess.run([sys.executable, "-c", WITH_A_CALL_RUNNING, "--help"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert fine.returncode == 0 and "Usage: yottactl" in fine.stdout  # precondition
    with open("/dev/full", "w") as full:
        lost = subprocess.run([sys.executable, "-c", WITH_A_CALL_RUNNING, "--help"], env=env,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert lost.returncode == 1, lost.stderr
    read, write = os.pipe()
    os.close(read)  # no reader at all
    gone = subprocess.run([sys.executable, "-c", WITH_A_CALL_RUNNING, "--help"], env=env,
                          stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write)
    assert gone.returncode == -signal.SIGPIPE, gone.stderr
