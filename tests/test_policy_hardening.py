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


HOSTILE_PRICES = ["-1000", "NaN", "Infinity", "-Infinity", "1e400", '"-5"', "true"]


@pytest.mark.parametrize("price", HOSTILE_PRICES)
def test_a_price_the_api_should_never_send_is_unknown(tmp_path: Path, price: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy rewrote a managed deployment's perHourPrice: negative, non-finite, or not a
    JSON number. It is no price (unknown, blocking a mandatory budget), never a number that
    lets a $59/h create through a $10 budget, and the plan's JSON stays JSON (no NaN)."""
    import json

    from reconciler.state.backend import StateFile

    from conftest import manifest_text
    from helpers import state as state_of
    from hostile_api import HostileApi, deployment
    from hostile_api import HostileCli as Env

    api = HostileApi().start()
    try:
        env = Env(api, tmp_path, "big")
        (env.manifests / "big.yaml").write_text(manifest_text("big", workers=40))
        monkeypatch.chdir(tmp_path)
        policies(tmp_path, "  maxHourlyCost: {max: 10}\n")
        StateFile(env.state).write(state_of([{"name": "old", "id": "102"}]))
        listed = json.dumps([deployment("102", "old", perHourPrice=0.5)])
        api.answer("/list", body=('{"code": 10000, "message": "success", "data": '
                                  + listed.replace("0.5", price) + "}").encode())
        text = env("plan", "--target", "big")
        assert text.exit_code == 1, text.output
        assert "[max-hourly-cost-unknown]" in text.stdout and "old" in text.stdout
        assert "nan" not in text.stdout.lower() and "inf" not in text.stdout.lower()
        assert "-1,000" not in text.stdout and "$-" not in text.stdout
        shown = env("plan", "--target", "big", "-o", "json")
        assert shown.exit_code == 1

        def refuse(constant: str) -> None:
            raise AssertionError(f"{constant} in the plan's JSON")

        policy = json.loads(shown.stdout, parse_constant=refuse)["policy"]
        assert policy["budget"]["after"] is None and not policy["passed"]
        applied = env("apply", "--auto-approve", "--target", "big")
        assert applied.exit_code == 1 and "max-hourly-cost-unknown" in applied.stderr
        assert not [r for r in api.requests if "/create" in r]  # nothing was created
    finally:
        api.stop()
