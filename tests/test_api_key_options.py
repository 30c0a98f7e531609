"""The API key off the command line: YOTTA_API_KEY, --api-key-file FILE, --api-key - (stdin);
a literal --api-key works but warns once. Against an emulator that accepts only one key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.emulator.server import EmulatorServer

from conftest import start_emulator

KEY = "yk-only-this-key-0042"
WARNING = "visible to other local users in the process list"


@pytest.fixture
def strict() -> Iterator[EmulatorServer]:
    server = start_emulator(api_key=KEY)
    yield server
    server.stop()


def run(server: EmulatorServer, tmp: Path, *args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> Result:
    base = {"YOTTA_API_URL": server.url, "YOTTACTL_STATE": str(tmp / "s.json"), "NO_COLOR": "1"}
    full: dict[str, Any] = {**base, **(env or {})}
    return CliRunner().invoke(main, ["get", *args], env=full, input=stdin, catch_exceptions=False)


def test_the_strict_emulator_refuses_a_wrong_key(strict: EmulatorServer, tmp_path: Path) -> None:
    wrong = run(strict, tmp_path, env={"YOTTA_API_KEY": "wrong"})
    assert wrong.exit_code == 1 and "HTTP 401" in wrong.stderr  # so the cases below mean it


def test_environment_variable_is_used_without_a_warning(strict: EmulatorServer,
                                                       tmp_path: Path) -> None:
    result = run(strict, tmp_path, env={"YOTTA_API_KEY": KEY})
    assert result.exit_code == 0, result.stderr
    assert WARNING not in result.stderr


def test_key_file(strict: EmulatorServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    result = run(strict, tmp_path, "--api-key-file", str(key_file),
                 env={"YOTTA_API_KEY": "wrong"})  # the flag beats the environment
    assert result.exit_code == 0, result.stderr
    assert WARNING not in result.stderr and KEY not in result.output + result.stderr
    missing = run(strict, tmp_path, "--api-key-file", str(tmp_path / "nope"))
    assert missing.exit_code == 1 and "--api-key-file" in missing.stderr
    assert "Traceback" not in missing.stderr
    key_file.write_text("\n")
    empty = run(strict, tmp_path, "--api-key-file", str(key_file))
    assert empty.exit_code == 1 and "the file is empty" in empty.stderr


def test_key_from_standard_input(strict: EmulatorServer, tmp_path: Path) -> None:
    result = run(strict, tmp_path, "--api-key", "-", stdin=KEY + "\n")
    assert result.exit_code == 0, result.stderr
    assert WARNING not in result.stderr
    nothing = run(strict, tmp_path, "--api-key", "-", stdin="")
    assert nothing.exit_code == 1 and "standard input held no key" in nothing.stderr


def test_literal_key_works_and_warns_once(strict: EmulatorServer, tmp_path: Path) -> None:
    result = run(strict, tmp_path, "--api-key", KEY)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count(WARNING) == 1 and KEY not in result.stderr
    assert WARNING not in result.stdout  # scripts parsing stdout are not disturbed


def test_both_flags_is_a_usage_error(strict: EmulatorServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    result = run(strict, tmp_path, "--api-key", KEY, "--api-key-file", str(key_file))
    assert result.exit_code == 1 and "not both" in result.stderr
