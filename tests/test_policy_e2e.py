"""Policies end to end against the emulator: plan's exit codes in every format, apply (new and
saved plans) refused before any call that changes anything, --policy-override recorded in the
state with who ran it, drift's `policy` finding, and validate's positioned errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.emulator.server import MUTATING

from conftest import Cli, stats

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "schema"
                     / "policy-report-v1.schema.json").read_text())
POLICIES = """\
manifests: manifests
policies:
  maxWorkers: {max: 2}
  imagePolicy: {forbidTags: [latest], level: advisory}
"""


@pytest.fixture
def project(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    (tmp_path / "yottactl.yaml").write_text(POLICIES)
    monkeypatch.chdir(tmp_path)
    return cli


def mutating(cli: Cli) -> dict[str, int]:
    return {op: n for op, n in stats(cli.server).items() if op in MUTATING}


def test_plan_exit_codes_follow_mandatory_violations(project: Cli) -> None:
    project.write("web", workers=3, image="vllm/vllm-openai:latest")
    for args in ((), ("--detailed-exitcode",)):
        result = project.run("plan", *args)
        assert result.returncode == 1, result.stdout
        assert "Plan: 1 to create" in result.stdout  # the whole plan first
        assert "✗ mandatory [max-workers] web: workers 3 is over maxWorkers 2" in result.stdout
        assert "! advisory [image-tag-forbidden] web" in result.stdout
        assert "the plan cannot be applied: 1 mandatory policy violation (maxWorkers)" in result.stderr
    project.write("web", workers=2, image="vllm/vllm-openai:latest")  # advisory only
    assert project.run("plan").returncode == 0
    assert project.run("plan", "--detailed-exitcode").returncode == 2
    project.write("web", workers=3)
    overridden = project.run("plan", "--detailed-exitcode", "--policy-override", "maxWorkers")
    assert overridden.returncode == 2, overridden.stderr
    assert "overridden [max-workers]" in overridden.stdout
    assert "overridden for this run: maxWorkers" in overridden.stdout


def test_plan_json_and_markdown_carry_the_results(project: Cli) -> None:
    project.write("web", workers=3)
    result = project.run("plan", "-o", "json")
    assert result.returncode == 1
    policy = json.loads(result.stdout)["policy"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(policy, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert policy["passed"] is False and policy["rules"] == {"maxWorkers": "mandatory",
                                                             "imagePolicy": "advisory"}
    assert [(v["code"], v["deployment"]) for v in policy["violations"]] == [("max-workers", "web")]
    assert policy["prices"] == [{"deployment": "web", "before": 0.0, "after": 1.5,
                                 "source": "catalog"}]
    markdown = project.run("plan", "-o", "markdown").stdout
    block = markdown.index("Policy: 1 violation")
    assert block < markdown.index("to create"), markdown  # the block leads the comment
    assert "**mandatory** `max-workers` `web`: workers 3 is over maxWorkers 2" in markdown


def test_plan_without_policies_is_unchanged(project: Cli, tmp_path: Path) -> None:
    (tmp_path / "yottactl.yaml").write_text("manifests: manifests\n")
    project.write("web", workers=3)
    result = project.run("plan", "-o", "json")
    assert result.returncode == 0 and "policy" not in json.loads(result.stdout)
    assert "Policy" not in project.run("plan").stdout


def test_apply_refuses_before_any_change(project: Cli, tmp_path: Path) -> None:
    project.write("web", workers=3)
    result = project.run("apply", "--auto-approve")
    assert result.returncode == 1
    assert "refusing to apply: 1 mandatory policy violation (maxWorkers)" in result.stderr
    assert "[max-workers] web: workers 3 is over maxWorkers 2" in result.stderr
    assert mutating(project) == {} and stats(project.server)  # it listed, and changed nothing
    streamed = project.run("apply", "--auto-approve", "-o", "json")
    assert streamed.returncode == 1 and "refusing to apply" in streamed.stderr
    first = json.loads(streamed.stdout.splitlines()[0])
    assert first["type"] == "plan" and first["policy"]["passed"] is False
    # a saved plan made before the rule was tightened is checked against today's rules
    (tmp_path / "yottactl.yaml").write_text(POLICIES.replace("max: 2", "max: 5"))
    saved = project.run("plan", "--out", str(tmp_path / "web.plan"))
    assert saved.returncode == 0, saved.stderr
    assert json.loads((tmp_path / "web.plan").read_text())["policy"]["passed"] is True
    (tmp_path / "yottactl.yaml").write_text(POLICIES)
    again = project.run("apply", "--plan", str(tmp_path / "web.plan"))
    assert again.returncode == 1
    assert "refusing to apply: 1 mandatory policy violation (maxWorkers)" in again.stderr
    assert "[max-workers] web: workers 3 is over maxWorkers 2" in again.stderr
    assert mutating(project) == {}


def test_override_is_recorded_with_who_ran_it(project: Cli) -> None:
    project.write("web", workers=3)
    unknown = project.run("apply", "--auto-approve", "--policy-override", "maxWorker")
    assert unknown.returncode == 1 and "did you mean 'maxWorkers'?" in unknown.stderr
    assert "no mandatory rule 'maxWorker'" in unknown.stderr and mutating(project) == {}
    result = project.run("apply", "--auto-approve", "--policy-override", "maxWorkers")
    assert result.returncode == 0, result.stderr
    assert mutating(project)["endpointCreate"] == 1
    saved = json.loads(project.state.read_text())
    [record] = saved["policy_overrides"]
    assert record["rule"] == "maxWorkers" and record["by"] and record["at"]
    assert record["passed"] == ["web: workers 3 is over maxWorkers 2"]
    history = project.run("state", "history").stdout
    assert "POLICY OVERRIDES" in history and "maxWorkers\tweb: workers 3 is over" in history
    # the next run without the override is refused again: it passed one run
    project.write("web", workers=4)
    assert project.run("apply", "--auto-approve").returncode == 1


def test_drift_reports_a_fleet_breaking_a_mandatory_rule(project: Cli) -> None:
    project.write("web", workers=2)
    assert project.run("apply", "--auto-approve").returncode == 0
    assert project.run("drift").returncode == 0
    with project.client() as client:  # scaled up in the console
        [dep] = client.list()
        client.scale(dep.id, 4)
    result = project.run("drift", "-o", "json")
    assert result.returncode == 2
    findings = json.loads(result.stdout)["findings"]
    policy = [f for f in findings if f["type"] == "policy"]
    assert [(f["deployment"], f["detail"].split(";")[0]) for f in policy] == [
        ("web", "[max-workers] workers 4 is over maxWorkers 2")]


def test_validate_positions_policy_errors(project: Cli, tmp_path: Path) -> None:
    project.write("web")
    (tmp_path / "yottactl.yaml").write_text(
        "manifests: manifests\npolicies:\n  maxWorker: {max: 2}\n  maxHourlyCost: {max: lots}\n")
    result = project.run("validate", "--skip-env")
    assert result.returncode == 1
    assert "yottactl.yaml:3:3: policies.maxWorker: unknown key 'maxWorker'" in result.stderr
    assert "did you mean 'maxWorkers'?" in result.stderr
    assert "yottactl.yaml:4:24: policies.maxHourlyCost.max: Input should be a valid number" in result.stderr
    (tmp_path / "yottactl.yaml").write_text(
        "manifests: manifests\nenvironments:\n  prod:\n    policies:\n"
        "      allowedGpuTypes: {types: [NVIDIA_H100_80GB]}\n")
    typo = project.run("validate", "--skip-env")
    assert typo.returncode == 1
    assert ("yottactl.yaml:5:33: environments.prod.policies.allowedGpuTypes.types.0: unknown GPU "
            "type 'NVIDIA_H100_80GB'; did you mean 'NVIDIA_H100_80G'?") in typo.stderr
    assert "Tuple should have" not in typo.stderr  # the item's error says why, once
    assert stats(project.server) == {}  # offline: no API call


def test_a_version_that_records_an_override_says_so_in_its_history_line() -> None:
    """PostgreSQL keeps every version with `changes`: the one a run with an override wrote
    names the rule and who passed it (before the names, which may be cut at 200 characters)."""
    from reconciler.state.model import PolicyOverride, State
    from reconciler.state.protocol import changes_between

    before = State.empty()
    record = PolicyOverride(rule="maxWorkers", by="alice@ci", at="2026-01-01T00:00:00Z")
    after = before.model_copy(update={"policy_overrides": (record,)})
    assert changes_between(before, after) == "override maxWorkers by alice@ci"
    assert changes_between(after, after) == ""  # recorded once, not on every later version
    assert "policy_overrides" not in before.model_dump_json()  # older files keep their bytes


def test_plan_totals_with_a_missing_price_say_unknown_never_zero() -> None:
    import io

    from reconciler.plan.planner import make_plan
    from reconciler.render.plan_markdown import render_markdown
    from reconciler.render.plan_text import render_text

    from helpers import FP, desired, live, state

    plan = make_plan([desired({"name": "web", "spec": {"workers": 3}})],
                     [live({"id": "1", "name": "web", "raw": {"perHourPrice": None}})],
                     state([{"id": "1", "name": "web"}]), FP)
    assert plan.changes[0].price_before is None  # the precondition: the API gave no price
    text, markdown = io.StringIO(), io.StringIO()
    render_text(plan, text)
    render_markdown(plan, markdown)
    line = "Hourly cost: unknown → $5.85/h (change unknown: no price for 1 deployment)"
    assert line in text.getvalue() and line in markdown.getvalue()


def test_validate_checks_the_manifests_against_each_environments_rules(
        project: Cli, tmp_path: Path) -> None:
    (tmp_path / "yottactl.yaml").write_text(
        POLICIES + "environments:\n  dev: {}\n  prod:\n    policies:\n"
        "      imagePolicy: {forbidTags: [latest]}\n")
    project.write("web", image="vllm/vllm-openai:latest")
    one = project.run("validate", "--skip-env")  # global rules: latest is advisory there
    assert one.returncode == 0, one.stderr
    assert ("Warning: policy imagePolicy (advisory): web: image vllm/vllm-openai:latest uses "
            "the forbidden tag 'latest'") in one.stderr
    every = project.run("validate", "--skip-env", "--all-envs")
    assert every.returncode == 1  # prod makes it mandatory: the image line, in prod only
    prod = every.stderr[every.stderr.index("environment prod:"):]
    assert ("manifests/web.yaml:6:10: policies.imagePolicy: web: [image-tag-forbidden] image "
            "vllm/vllm-openai:latest uses the forbidden tag 'latest'") in prod.replace(
                str(tmp_path) + "/", "")
    assert "1 deployment valid (environment dev)" in every.stdout
    assert stats(project.server) == {}  # offline
