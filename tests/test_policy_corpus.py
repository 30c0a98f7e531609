"""The policy corpus (tests/policy_cases/corpus.yaml): every case planned by the real planner
and checked by the real rules, through the project file's own merge of global and environment
policies; each expected violation by code, level and deployment, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.fastyaml import load_all
from reconciler.plan.live import live_view
from reconciler.plan.model import Plan
from reconciler.plan.planner import Options, make_plan
from reconciler.policy.evaluate import evaluate
from reconciler.policy.report import PolicyReport
from reconciler.project import Project, resolve
from reconciler.project_schema import RULE_MODELS, ProjectFile

from helpers import FP, desired, live, state

CASES: list[dict[str, Any]] = load_all(
    (Path(__file__).parent / "policy_cases" / "corpus.yaml").read_text())[0]
# each rule's violation codes (the stable codes tools match on)
CODES = {
    "maxHourlyCost": {"max-hourly-cost", "max-hourly-cost-unknown"},
    "maxHourlyIncrease": {"max-hourly-increase", "max-hourly-increase-unknown"},
    "allowedGpuTypes": {"gpu-type-not-allowed"}, "allowedRegions": {"region-not-allowed"},
    "maxWorkers": {"max-workers"}, "maxGpuCount": {"max-gpu-count"},
    "imagePolicy": {"image-tag-forbidden", "image-untagged", "image-digest-required",
                    "image-registry-not-allowed", "image-reference-invalid"},
    "requirePreventDestroy": {"prevent-destroy-required"}, "requireRollout": {"rollout-required"},
}


def evaluated(case: dict[str, Any]) -> PolicyReport:
    config = ProjectFile.model_validate(case["project"])
    context = resolve(Project(Path("/nowhere/yottactl.yaml"), config), case.get("env"))
    wanted = [desired(d) for d in case.get("desired", [])]
    listed = [live(d) for d in case.get("live", [])]
    current = state(case.get("state", []))
    options = Options(targets=frozenset(case.get("targets", [])),
                      destroying=case.get("destroying", False))
    plan = make_plan([] if options.destroying else wanted, listed, current, FP, options)
    assert not plan.errors, plan.errors  # the case plans: only the policies may object
    views = {d.name: d for d in wanted}
    if case.get("saved"):  # apply --plan FILE: the file, the list and the state, no manifests
        plan, views = Plan.from_json(plan.to_json()), {}
    return evaluate(plan, context.policies, desired=views,
                    live=[live_view(d) for d in listed], state=current,
                    overrides=frozenset(case.get("overrides", [])),
                    environment=context.environment)


def shape(v: Any) -> tuple[Any, ...]:
    return (v.code, v.level, v.deployment, *(["overridden"] if v.overridden else []))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_policy_case(case: dict[str, Any]) -> None:
    report = evaluated(case)
    expected = sorted(tuple(e) for e in case["expect"])
    assert sorted(shape(v) for v in report.violations) == expected
    blocks = any(e[1] == "mandatory" and len(e) == 3 for e in expected)
    assert bool(report.blocked) == blocks
    if "message" in case:
        assert any(case["message"] in v.message for v in report.violations), \
            [v.message for v in report.violations]


def test_the_corpus_covers_every_rule_level_and_environment() -> None:
    violating = [c for c in CASES if c["expect"]]
    assert len(violating) >= 30
    found = {tuple(e)[:2] for c in violating for e in c["expect"]}
    for rule, codes in CODES.items():
        assert rule in RULE_MODELS
        assert {level for code, level in found if code in codes} == {"mandatory", "advisory"}, rule
    assert set(CODES) == set(RULE_MODELS)
    every_code = {code for codes in CODES.values() for code in codes}
    assert {code for code, _ in found} == every_code
    schema = (Path(__file__).resolve().parents[1] / "schema" / "policy-report-v1.schema.json")
    codes = load_all(schema.read_text())[0]["properties"]["violations"]["items"]["properties"]
    assert set(codes["code"]["enum"]) == every_code  # the report's schema knows each code
    # violations under the global policies and under an environment's, overridden and not
    assert any(c.get("env") is None for c in violating)
    assert any(c.get("env") and c["project"]["environments"][c["env"]].get("policies")
               for c in violating)
    assert any(len(e) == 4 for c in violating for e in c["expect"])


def test_the_readme_documents_every_rule_code_and_the_override() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Policies (guardrails)"):readme.index("## Commands")]
    start = section.index("# policies in yottactl.yaml")
    example = ProjectFile.model_validate(load_all(section[start:section.index("```", start)])[0])
    assert example.environments["prod"].policies.requireRollout is not None  # it is accepted
    for rule, codes in CODES.items():
        assert f"| `{rule}` |" in section, rule
        for code in codes:
            assert f"`{code}`" in section, code
    assert "--policy-override RULE" in section and "extend the global ones by rule name" in section
