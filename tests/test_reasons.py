"""Typed reasons and diagnostics: tests match codes; the sentences stay in the golden renders.
Plan file format 2, and reading the format-1 files today's release wrote (tests/release_files/)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from reconciler.plan import steps as S
from reconciler.plan.model import Change, DiagnosticCode, Plan, Severity
from reconciler.plan.reasons import Reason, sentence
from reconciler.render.plan_text import render_text

from helpers import desired
from test_planner_cases import run_case

HERE = Path(__file__).parent
# case file -> {deployment: reason code}
CODES = {
    "create_new": {"web": Reason.NOT_FOUND},
    "recreate_deleted_outside": {"web": Reason.DELETED_OUTSIDE},
    "adopt_by_name": {"web": Reason.UP_TO_DATE},
    "delete_removed": {"api": Reason.UP_TO_DATE, "old": Reason.REMOVED},
    "delete_already_gone": {"old": Reason.REMOVED_GONE},
    "failed_recovers": {"web": Reason.FAILED_RESTART},
    "failed_with_update": {"web": Reason.FAILED_UPDATE_RESTART},
    "scale_running": {"web": Reason.SCALE_RUNNING},
    "scale_stopped": {"web": Reason.SCALE_STOPPED},
    "update_running": {"web": Reason.UPDATE_RESTART},
    "update_stopped": {"web": Reason.UPDATE_STOPPED},
    "update_and_stop": {"web": Reason.UPDATE_AND_STOP},
    "renamed_outside": {"web": Reason.UPDATE_THEN_START},
    "replace_image": {"web": Reason.REPLACE_FIELDS},
    "start": {"web": Reason.START_REQUESTED},
    "stop": {"web": Reason.STOP_REQUESTED},
}
# case file -> [(code, deployment)]
DIAGNOSTICS = {
    "ambiguous_name": [(DiagnosticCode.AMBIGUOUS_NAME, "web")],
    "prevent_destroy_delete": [(DiagnosticCode.PREVENT_DESTROY_DELETE, "web")],
    "prevent_destroy_replace": [(DiagnosticCode.PREVENT_DESTROY_REPLACE, "web")],
    "mass_delete_guard": [(DiagnosticCode.STATE_NOT_LIVE, None)],
    "mass_delete_of_manifests_guard": [(DiagnosticCode.MASS_DELETE, None)],
}


def case(stem: str) -> Plan:
    return run_case(YAML(typ="safe").load((HERE / "plan_cases" / f"{stem}.yaml").read_text()))


@pytest.mark.parametrize("stem", sorted(CODES))
def test_reason_codes(stem: str) -> None:
    plan = case(stem)
    got = {c.name: c.reason_code for c in plan.changes if c.name in CODES[stem]}
    assert got == CODES[stem]
    for change in plan.changes:  # the sentence is the code's rendering (after any adopt prefix)
        assert change.reason.endswith(sentence(change.reason_code, _fields(change)))


def _fields(change: Change) -> set[str]:
    return {c.path.split(".")[0].split("[")[0] for c in change.changes}


@pytest.mark.parametrize("stem", sorted(DIAGNOSTICS))
def test_diagnostic_codes(stem: str) -> None:
    plan = case(stem)
    assert [(d.code, d.deployment) for d in plan.diagnostics] == DIAGNOSTICS[stem]
    assert all(d.severity is Severity.ERROR and d.text in plan.errors for d in plan.diagnostics)
    assert plan.changes == () or stem.startswith("mass_delete")


def test_hints_are_separate_from_the_message() -> None:
    (d,) = case("ambiguous_name").diagnostics
    assert "yottactl import web ID" in d.hint and "yottactl import" not in d.message


def test_rare_rungs_have_codes() -> None:
    essence = desired({"name": "web"}).essence
    assert S.converge("INITIALIZING", essence, True, set())[3] is Reason.WAITING_RUNNING  # type: ignore[index]
    assert S.converge("STOPPING", essence, False, set())[3] is Reason.WAITING_STOPPED  # type: ignore[index]
    assert S.converge("STOPPED", essence, False, set())[3] is Reason.UP_TO_DATE_STOPPED  # type: ignore[index]
    assert S.converge("FAILED", essence, False, set())[3] is Reason.FAILED_STOP  # type: ignore[index]
    assert S.converge("REBOOTING", essence, True, set()) is None
    assert all(sentence(r) for r in Reason if r is not Reason.UNSPECIFIED)


@pytest.mark.parametrize("stem", ["mixed", "errors"])
def test_reads_format_1_plan_files_from_the_previous_release(stem: str) -> None:
    text = (HERE / "release_files" / f"v1_{stem}.plan.json").read_text()
    assert json.loads(text)["format_version"] == 1  # precondition: really a format-1 file
    old = Plan.from_json(text)
    assert old.format_version == 3
    assert {c.reason_code for c in old.changes} == {Reason.UNSPECIFIED}
    assert old.errors == tuple(json.loads(text)["errors"])
    assert all(d.code is DiagnosticCode.UNSPECIFIED for d in old.diagnostics)
    # everything it wrote is read back unchanged
    written, read = json.loads(text), json.loads(old.to_json())
    for before, after in zip(written["changes"], read["changes"], strict=True):
        assert {k: after[k] for k in before} == before  # (later releases add keys, e.g. reason_code)
    for key in ("drift", "unmanaged", "warnings", "errors", "state_lineage"):
        assert read[key] == written[key], key
    assert {k: read["summary"][k] for k in written["summary"]} == written["summary"]
    rendered = io.StringIO()
    render_text(old, rendered)
    assert all(c.reason in rendered.getvalue() for c in old.changes if c.action.value != "no-op")
    assert Plan.from_json(old.to_json()) == old


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format_version"):
        Plan.from_json(json.dumps({"format_version": 4}))
