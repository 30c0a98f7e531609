"""Planner case files: desired + live + state -> expected actions, steps and field changes.

One small YAML file per rule in tests/plan_cases/. The planner is pure, so these need no
emulator; end-to-end planning against the emulator is in test_lifecycle_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.plan.model import Plan
from reconciler.plan.planner import Options, make_plan
from reconciler.render.plan_text import field_line

from helpers import FP, desired, live, state

CASES = sorted((Path(__file__).parent / "plan_cases").glob("*.yaml"))


def run_case(case: dict[str, Any]) -> Plan:
    opts = case.get("options", {})
    return make_plan(
        [desired(d) for d in case.get("desired", [])],
        [live(x) for x in case.get("live", [])],
        state(case.get("state", [])),
        FP,
        Options(targets=frozenset(opts.get("targets", ())),
                allow_mass_delete=opts.get("allow_mass_delete", False),
                destroying=opts.get("destroying", False),
                prevent_destroy=opts.get("prevent_destroy", {})),
    )


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_plan_case(path: Path) -> None:
    case = YAML(typ="safe").load(path.read_text())
    plan = run_case(case)
    expected = case.get("expect", [])
    assert [c.name for c in plan.changes] == [e["name"] for e in expected], plan.errors
    for change, want in zip(plan.changes, expected, strict=True):
        assert change.action.value == want["action"], change.reason
        if "steps" in want:
            assert [s.describe() for s in change.steps] == want["steps"]
        if "changes" in want:
            assert [field_line(c) for c in change.changes] == want["changes"]
        if "reason" in want:
            assert want["reason"] in change.reason
        if "reason_code" in want:
            assert change.reason_code.value == want["reason_code"]
        for key in ("adopt", "id", "disruptive", "disruption", "failed", "readopted_from",
                    "rekeyed_from"):
            if key in want:
                assert getattr(change, key) == want[key], key
    assert [f"{d.name}: {d.kind.value}" for d in plan.drift] == case.get("drift", [])
    for fragment in case.get("errors", []):
        assert any(fragment in e for e in plan.errors), (fragment, plan.errors)
    if "errors" not in case:
        assert plan.errors == ()
    assert [u.name for u in plan.unmanaged] == case.get("unmanaged", [])
    text = plan.to_json()
    for secret in case.get("never_contains", []):
        assert secret not in text
    assert Plan.from_json(text) == plan  # load(save(plan)) == plan


def test_every_rule_has_a_case() -> None:
    names = {p.stem for p in CASES}
    for rule in ("create_new", "recreate_deleted_outside", "adopt_by_name", "ambiguous_name",
                 "scale_running", "scale_stopped", "update_running", "replace_image", "start",
                 "stop", "update_and_stop", "delete_removed", "unmanaged_never_touched",
                 "initializing_waits_first", "failed_recovers", "ignore_changes",
                 "prevent_destroy_replace", "prevent_destroy_delete", "mass_delete_guard",
                 "normalisation_noop", "sensitive_change", "readopt_stale_state",
                 "readopt_ambiguous", "duplicate_of_managed", "lifecycle_prevent_destroy_added",
                 "lifecycle_ignore_changes_removed", "ignore_changes_silences_drift",
                 "prevent_destroy_from_manifest"):
        assert rule in names


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_drift_agrees_with_the_plan_on_pending_changes(path: Path) -> None:
    """`drift` and `plan` read the same plan: every deployment the plan would change (or waits
    for) is a drift finding, and every `pending` / `not-ready` finding is a change the plan
    shows. A pending finding never claims the manifest changed: after `apply --refresh-only`
    the state holds live values, so a difference may be the live side's."""
    from reconciler.report.drift import findings_from

    case = YAML(typ="safe").load(path.read_text())
    plan = run_case(case)
    findings = findings_from(plan, state(case.get("state", [])))
    pending = {c.name for c in plan.pending}
    reported = {f.deployment for f in findings if f.type != "unmanaged"}
    assert pending <= reported, (pending - reported, [c.reason for c in plan.pending])
    # ... or one the plan refuses (an error about it): pending, and blocked (R-23 finding 8)
    refused = {d.deployment for d in plan.diagnostics if d.severity.value == "error"}
    assert {f.deployment for f in findings if f.type in ("pending", "not-ready")} <= \
        pending | refused
    assert not any("manifest changed" in f.detail for f in findings)
    waiting = {c.name for c in plan.pending
               if c.live_status in ("INITIALIZING", "STOPPING") and c.action.value != "delete"}
    assert {f.deployment for f in findings if f.type == "not-ready"} == waiting
