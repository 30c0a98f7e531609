"""Policies against hostile inputs (the review of issue 26): prices the API should never send,
loosely typed rule settings, a missing live price on the way down, deployments with a plan
error, secrets in images, and the refusal naming every blocking rule. End to end against the
emulator or the hostile API (tests/hostile_api.py), over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Cli


@pytest.fixture
def project(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return cli


def policies(tmp_path: Path, text: str) -> None:
    (tmp_path / "yottactl.yaml").write_text("manifests: manifests\npolicies:\n" + text)


def test_the_refusal_names_every_blocking_rule(project: Cli, tmp_path: Path) -> None:
    policies(tmp_path, "  maxHourlyCost: {max: 1}\n  maxWorkers: {max: 2}\n")
    project.write("web", workers=3)
    result = project.run("apply", "--auto-approve")
    assert result.returncode == 1
    assert "2 mandatory policy violations (maxHourlyCost, maxWorkers)" in result.stderr
    assert "--policy-override maxHourlyCost --policy-override maxWorkers" in result.stderr
