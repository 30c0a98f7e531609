"""No false positives: examples/environments plans, applies and drifts clean under its own
policies (global, and each environment's extending them), before and after apply (catalog
prices, then live ones)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_environments_e2e import project, run, two  # noqa: F401  (fixtures)

from reconciler.emulator.server import EmulatorServer


def policy_of(*args: str, **env: str) -> dict[str, Any]:
    result = run("plan", "-o", "json", *args, **env)
    assert result.exit_code == 0, result.output
    section: dict[str, Any] = json.loads(result.stdout)["policy"]
    return section


def test_the_example_project_passes_its_own_policies(
        project: Path, two: dict[str, EmulatorServer]) -> None:  # noqa: F811
    assert "policies:" in (project / "yottactl.yaml").read_text()
    checked_offline = run("validate", "--all-envs", "--skip-env")
    assert checked_offline.exit_code == 0, checked_offline.output
    everywhere = {"imagePolicy", "allowedRegions", "maxWorkers", "maxHourlyCost"}
    checked = policy_of(YOTTA_API_URL=two["staging"].url)  # the global settings alone
    assert set(checked["rules"]) == everywhere and checked["violations"] == []
    for env in ("staging", "prod"):
        before = policy_of("--env", env)
        extra = {"maxHourlyIncrease", "allowedGpuTypes"} if env == "prod" else set()
        assert set(before["rules"]) == everywhere | extra  # the precondition: rules were checked
        assert before["violations"] == [] and before["passed"], before
        assert {p["source"] for p in before["prices"]} == {"catalog"}
        assert run("apply", "--env", env, "--auto-approve").exit_code == 0
        after = policy_of("--env", env)
        assert after["violations"] == [] and {p["source"] for p in after["prices"]} == {"live"}
        assert run("drift", "--env", env).exit_code == 0


def test_a_deployment_with_a_plan_error_is_still_judged(
        project: Path, two: dict[str, EmulatorServer]) -> None:  # noqa: F811
    """prod's llama-inference has preventDestroy: a new image (a replacement) is a plan error.
    Its rules are still checked on its manifest: a rollout or an image the policies refuse is
    reported beside the error, never "rules passed"."""
    config = project / "yottactl.yaml"
    config.write_text(config.read_text().replace(
        "      allowedGpuTypes:", "      requireRollout: blueGreen\n      allowedGpuTypes:"))
    assert run("apply", "--env", "prod", "--auto-approve",
               "--policy-override", "requireRollout").exit_code == 0
    for args, codes in (
            (("--var", "image_tag=v0.7"), {"rollout-required"}),
            (("--var", "workers=20", "--var", "image_tag=latest"),
             {"rollout-required", "max-workers", "image-tag-forbidden"})):
        result = run("plan", "--env", "prod", "-o", "json", *args)
        assert result.exit_code == 1
        plan = json.loads(result.stdout)
        assert any("preventDestroy" in e for e in plan["errors"]), plan["errors"]
        found = {(v["code"], v["deployment"]) for v in plan["policy"]["violations"]}
        assert {(code, "llama-inference") for code in codes} <= found, found
        text = run("plan", "--env", "prod", *args).output
        assert "rules passed" not in text and "[rollout-required] llama-inference" in text
