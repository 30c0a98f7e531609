"""Settings are resolved once, in reconciler/settings.py: flag > environment > default (a project
file's endpoint and state: tests/test_credentials_destination.py)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.settings import Settings, git_environment, resolve, wants_color

ENV = {"YOTTA_API_URL": "http://127.0.0.1:1", "YOTTA_API_KEY": "env-key",
       "YOTTACTL_STATE": "env.json", "YOTTACTL_FINGERPRINT_KEY": "fp", "YOTTACTL_ALLOW_INSECURE": "1"}


def test_flags_beat_environment_beat_default() -> None:
    flags = resolve(endpoint="https://flag.test", api_key="flag-key", state_path="flag.json",
                    environ=ENV)
    assert (flags.endpoint, flags.api_key, flags.state_path) == (
        "https://flag.test", "flag-key", "flag.json")
    env = resolve(environ=ENV)
    assert (env.endpoint, env.api_key, env.state_path) == ("http://127.0.0.1:1", "env-key", "env.json")
    assert env.fingerprint_key == "fp" and env.allow_insecure
    # the defaults; a Catalog is the command's own object (compared by what it was made from)
    empty, default = resolve(environ={}), Settings()
    assert replace(empty, inputs=default.inputs) == default
    assert repr(empty.inputs) == repr(default.inputs)


def test_the_agents_git_gets_no_yottactl_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    env = git_environment()
    assert not {"YOTTA_API_KEY", "YOTTACTL_FINGERPRINT_KEY", "YOTTACTL_STATE"} & set(env)
    # git keeps its own credentials and never prompts
    assert env["SSH_AUTH_SOCK"] == "/run/agent.sock" and env["GIT_TERMINAL_PROMPT"] == "0"
    # only these transports: never ext:: (it runs a command) nor fd::
    assert env["GIT_ALLOW_PROTOCOL"] == "https:ssh:git:file"


def test_secrets_stay_out_of_the_repr_and_drive_the_fingerprints() -> None:
    s = resolve(environ=ENV)
    assert "env-key" not in repr(s) and "fp" not in repr(s).replace("endpoint", "")
    # the fingerprint key wins over the API key; without it the API key is used
    assert s.fingerprinter().verifier() == resolve(environ={"YOTTACTL_FINGERPRINT_KEY": "fp"}
                                                   ).fingerprinter().verifier()
    assert s.fingerprinter().verifier() != resolve(environ={"YOTTA_API_KEY": "env-key"}
                                                   ).fingerprinter().verifier()
    assert s.client().base_url == "http://127.0.0.1:1"


def test_colour_policy() -> None:
    assert wants_color(False, True) and not wants_color(True, True) and not wants_color(False, False)


def test_only_the_settings_module_reads_settings_from_the_environment() -> None:
    # ${env:...} interpolation reads the environment as data (loader, saved-plan secrets), and
    # so do YOTTACTL_VAR_* values of ${var:...} (manifest/variables.py);
    # `yottactl demo` builds a child's environment through settings.child_environment;
    # the CLI's help formatter reads COLUMNS, the terminal's width, as shutil does (cli/__init__.py).
    # Nothing else may read os.environ.
    allowed = {"settings.py", "manifest/loader.py", "apply/requests.py", "manifest/variables.py",
               "cli/__init__.py"}
    root = Path(__file__).resolve().parents[1] / "reconciler"
    readers = set()
    for path in root.rglob("*.py"):
        if "emulator" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                readers.add(path.relative_to(root).as_posix())
    assert readers <= allowed, readers - allowed
    assert "settings.py" in readers
