"""Policies against hostile inputs (the review of issue 26): prices the API should never send,
loosely typed rule settings, a missing live price on the way down, deployments with a plan
error, secrets in images, and the refusal naming every blocking rule. End to end against the
emulator or the hostile API (tests/hostile_api.py), over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.api.facts import API_PREFIX

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


def test_rule_settings_are_strictly_typed_each_error_at_its_place(
        project: Cli, tmp_path: Path) -> None:
    """A number is a finite number (never .inf, 1e400, true or "40"), a count a whole number
    (never 8.0), a flag true or false (never "yes" or 1), a list entry a real tag or prefix
    (an empty registry would block every image): each refused at its file:line:col."""
    project.write("web")
    policies(tmp_path, "  maxHourlyCost: {max: .inf}\n"
                       "  maxHourlyIncrease: {maxPercent: 1e400}\n"
                       "  maxWorkers: {max: true}\n"
                       "  maxGpuCount: {max: 8.0}\n"
                       "  imagePolicy: {forbidUntagged: 'yes', requireDigest: 1, "
                       "forbidTags: [''], registries: ['']}\n"
                       "environments:\n  prod:\n    policies:\n"
                       "      maxHourlyCost: {max: '40'}\n"
                       "      maxHourlyIncrease: {max: true}\n"
                       "      maxWorkers: {max: '8'}\n")
    result = project.run("validate", "--skip-env")
    assert result.returncode == 1
    for where in ("3:24: policies.maxHourlyCost.max: Input should be a finite number",
                  "4:35: policies.maxHourlyIncrease.maxPercent: Input should be a finite number",
                  "5:21: policies.maxWorkers.max: Input should be a valid integer",
                  "6:22: policies.maxGpuCount.max: Input should be a valid integer",
                  "7:33: policies.imagePolicy.forbidUntagged: Input should be a valid boolean",
                  "7:55: policies.imagePolicy.requireDigest: Input should be a valid boolean",
                  "7:71: policies.imagePolicy.forbidTags.0: '' is not an image tag",
                  "7:89: policies.imagePolicy.registries.0: '' is not a registry or a path",
                  "11:28: environments.prod.policies.maxHourlyCost.max: Input should be a "
                  "valid number",
                  "12:32: environments.prod.policies.maxHourlyIncrease.max: Input should be a "
                  "valid number",
                  "13:25: environments.prod.policies.maxWorkers.max: Input should be a valid "
                  "integer"):
        assert f"yottactl.yaml:{where}" in result.stderr, (where, result.stderr)
    assert "13 errors" not in result.stderr and "11 errors in the project file" in result.stderr
    policies(tmp_path, "  maxHourlyCost: {max: 40}\n  maxWorkers: {max: 8}\n"
                       "  imagePolicy: {forbidTags: [latest], registries: [docker.io/vllm]}\n")
    assert project.run("validate", "--skip-env").returncode == 0  # well-typed: accepted


def test_destroy_is_not_refused_for_a_live_price_the_api_left_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API gave no perHourPrice for a managed deployment: destroying it ends at $0/h,
    known, so no budget rule blocks it on the unknown; a plan that raises spend on it is still
    unknown, and the hint names the missing live price (not the catalog)."""
    from reconciler.state.backend import StateFile

    from helpers import state as state_of
    from hostile_api import HostileApi, deployment
    from hostile_api import HostileCli as Env

    api = HostileApi().start()
    try:
        env = Env(api, tmp_path, "web")
        monkeypatch.chdir(tmp_path)
        policies(tmp_path, "  maxHourlyIncrease: {maxPercent: 10}\n  maxHourlyCost: {max: 50}\n")
        StateFile(env.state).write(state_of([{"name": "web", "id": "101"}]))
        gone = deployment("101", "web", "STOPPED", perHourPrice=None)
        api.answer("/list", [gone])
        api.answer("/101", None)
        scaled = env("plan", "--target", "web")  # the manifest changes it: the rise is unknown
        assert scaled.exit_code == 1
        assert "[max-hourly-increase-unknown]" in scaled.stdout
        assert "the API gave no price for web" in scaled.stdout
        assert "to the catalog" not in scaled.stdout
        api.answer_in_turn("/list", [gone], [gone], [])  # listed, confirmed, then deleted
        result = env("destroy", "--auto-approve", "--timeout", "5")
        assert "-unknown]" not in result.output and "refusing" not in result.output, result.output
        assert "Policy: 2 rules passed" in result.output
        assert any(r.startswith(f"{API_PREFIX}/101") for r in api.requests)  # it went ahead
        assert result.exit_code == 0, result.output
    finally:
        api.stop()


def test_registries_judge_the_image_registry_the_image_is_pulled_from(
        project: Cli, tmp_path: Path) -> None:
    """`imageRegistry` is where the API pulls from: an allowed Docker Hub name from another
    registry is refused by validate (at spec.imageRegistry) and plan, before any call."""
    from conftest import manifest_text, stats

    policies(tmp_path, "  imagePolicy: {registries: [docker.io/vllm, ghcr.io/acme]}\n")
    text = manifest_text("web").replace(
        "  image:", "  imageRegistry: https://registry.attacker.example\n  image:")
    (project.manifests / "web.yaml").write_text(text)
    checked = project.run("validate", "--skip-env")
    assert checked.returncode == 1
    assert ("manifests/web.yaml:6:18: policies.imagePolicy: web: [image-registry-not-allowed] "
            "image vllm/vllm-openai:v0.6.3 is pulled from registry.attacker.example "
            "(spec.imageRegistry)") in checked.stderr.replace(str(tmp_path) + "/", "")
    planned = project.run("plan")
    assert planned.returncode == 1 and "[image-registry-not-allowed] web" in planned.stdout
    assert project.run("apply", "--auto-approve").returncode == 1
    assert "endpointCreate" not in stats(project.server)
    (project.manifests / "web.yaml").write_text(manifest_text("web").replace(
        "  image:", "  imageRegistry: https://index.docker.io/v1\n  image:"))
    assert project.run("plan").returncode == 0  # Docker Hub spelt out: the name's registry


def test_a_deployment_not_judged_is_named_never_passed() -> None:
    """An unchanged deployment of a saved plan that the list no longer shows: its rules cannot
    be checked, and the verdict says so instead of "N rules passed"."""
    from reconciler.plan.model import Plan
    from reconciler.plan.planner import make_plan
    from reconciler.policy.evaluate import evaluate
    from reconciler.project_schema import Policies
    from reconciler.render.policy import headline

    from helpers import FP, desired, live, state

    current = state([{"id": "1", "name": "web"}])
    plan = make_plan([desired({"name": "web"})], [live({"id": "1", "name": "web"})], current, FP)
    saved = Plan.from_json(plan.to_json())
    report = evaluate(saved, Policies.model_validate({"maxWorkers": {"max": 8}}), state=current)
    assert report.unchecked == ("web",) and report.to_dict()["unchecked"] == ["web"]
    assert headline(report) == ("Policy: no violation of 1 rule; not checked: web "
                                "(configuration unknown here)")


PRIVATE = "supersecret-host.corp.io/topsecretpath/x:tokenABC123"
PARTS = ("supersecret", "topsecret", "tokenABC")


def test_no_part_of_an_image_from_env_is_shown(project: Cli, tmp_path: Path) -> None:
    """image: ${env:PRIVIMG}: its registry host, path and tag are never in a policy message,
    its values, the JSON, validate's errors, or the override record in the state."""
    import json

    policies(tmp_path, "  imagePolicy: {registries: [ghcr.io/acme], forbidTags: [tokenABC123]}\n")
    project.write("web", image="${env:PRIVIMG}")
    env = {"PRIVIMG": PRIVATE}
    shown = {"validate": project.run("validate", env=env), "plan": project.run("plan", env=env),
             "json": project.run("plan", "-o", "json", env=env)}
    for result in shown.values():
        assert result.returncode == 1
    policy = json.loads(shown["json"].stdout)["policy"]
    assert {v["code"] for v in policy["violations"]} == {"image-tag-forbidden",
                                                          "image-registry-not-allowed"}
    assert "[image-registry-not-allowed] web" in shown["plan"].stdout  # reported, not shown
    applied = project.run("apply", "--auto-approve", "--policy-override", "imagePolicy", env=env)
    assert applied.returncode == 0, applied.stderr
    record = json.loads(project.state.read_text())["policy_overrides"]
    assert record and record[0]["passed"]
    seen = "".join(r.stdout + r.stderr for r in (*shown.values(), applied)) + json.dumps(record)
    for part in PARTS:
        assert part not in seen, part


def test_a_secret_value_in_a_field_the_rules_do_not_track_is_masked(
        project: Cli, tmp_path: Path) -> None:
    """Any ${env:...} value the command substituted is blanked in what the policies say,
    whichever field it went into (here a region)."""
    import json

    policies(tmp_path, "  allowedRegions: {regions: [us-east-1]}\n")
    from conftest import manifest_text

    (project.manifests / "web.yaml").write_text(
        manifest_text("web").replace("region: us-east-1", "region: '${env:REGION}'"))
    env = {"REGION": "us-east-2"}
    checked = project.run("validate", env=env)
    assert checked.returncode == 1 and "[region-not-allowed]" in checked.stderr
    planned = project.run("plan", env=env)  # (the plan's own lines are not the policies')
    assert planned.returncode == 1 and "[region-not-allowed]" in planned.stdout
    said = checked.stderr + planned.stdout[planned.stdout.index("Policy:"):] + planned.stderr
    policy = json.loads(project.run("plan", "-o", "json", env=env).stdout)["policy"]
    assert policy["violations"][0]["values"]["region"] == "[redacted]"
    assert "us-east-2" not in said + json.dumps(policy)
