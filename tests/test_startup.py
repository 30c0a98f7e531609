"""`yottactl --version` answers without importing the CLI framework (scripts call it often)."""

from __future__ import annotations

import subprocess
import sys

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


def test_invalid_manifests_are_reported_without_waiting_for_a_silent_api(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """plan fetches the list while it parses; a parse error must not wait for that fetch."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (kernel backlog) and never answers
    try:
        (tmp_path / "bad.yaml").write_text("apiVersion: yottactl/v1\nkind: ElasticDeployment\n")
        env = {"YOTTA_API_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "YOTTA_API_KEY": "k", "YOTTACTL_STATE": str(tmp_path / "s.json"), "PATH": ""}
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(tmp_path)],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 1
        assert "bad.yaml" in out.stderr and "metadata" in out.stderr
        assert time.monotonic() - started < 20  # the API call would only give up after 30 s
    finally:
        silent.close()
