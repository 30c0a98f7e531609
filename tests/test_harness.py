"""The test harness itself: a stuck test fails on its deadline instead of hanging CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_has_a_deadline(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) >= 60  # generous: the machine is shared


def test_a_hanging_test_fails_on_its_deadline(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(
        "import threading\n\ndef test_hangs():\n    threading.Event().wait()  # a stuck server\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
         str(tmp_path), "-p", "no:xdist", "-o", "timeout=2", str(tmp_path / "test_hangs.py")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Timeout" in result.stdout and "1 failed" in result.stdout, result.stdout
