"""lifecycle.preventDestroy / ignoreChanges against the emulator: changes to them are planned
and recorded (no API call), enforced by destroy, and ignored fields are never drift."""

from __future__ import annotations

import json
import subprocess

from conftest import Cli, stats

MUTATING = ("create", "update", "scale", "start", "stop", "delete")


def write(cli: Cli, name: str, lifecycle: str = "", **kw: object) -> None:
    cli.write(name, **kw)
    if lifecycle:
        path = cli.manifests / f"{name}.yaml"
        path.write_text(path.read_text() + "lifecycle:\n" + lifecycle)


def recorded(cli: Cli, name: str) -> dict[str, object]:
    entry: dict[str, object] = json.loads(cli.state.read_text())["deployments"][name]
    return entry


def mutating_calls(cli: Cli) -> int:
    return sum(n for k, n in stats(cli.server).items()
               if any(k.lower().startswith(f"endpoint{m}") for m in MUTATING))


def test_prevent_destroy_added_then_removed_is_recorded_and_enforced(cli: Cli) -> None:
    write(cli, "web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    calls = mutating_calls(cli)
    assert calls > 0  # precondition: the counter sees the create

    write(cli, "web", "  preventDestroy: true\n")
    plan = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "~ lifecycle.preventDestroy: false → true" in plan.output
    assert "1 to record in the state" in plan.output
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert recorded(cli, "web")["prevent_destroy"] is True
    assert mutating_calls(cli) == calls  # a state-only change: no API call
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0

    refused = cli("destroy", "--auto-approve")  # no manifests given: the state protects it
    assert refused.exit_code == 1 and "preventDestroy forbids deleting it" in refused.output
    assert [d.name for d in cli.client().list()] == ["web"]

    write(cli, "web", "  preventDestroy: false\n")
    plan = cli("plan", str(cli.manifests))
    assert "~ lifecycle.preventDestroy: true → false" in plan.output, plan.output
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert recorded(cli, "web")["prevent_destroy"] is False
    destroyed = cli("destroy", "--auto-approve")
    assert destroyed.exit_code == 0
    assert "Destroy finished in" in destroyed.stdout and "Apply finished" not in destroyed.stdout
    assert cli.client().list() == []


def test_destroy_enforces_the_manifests_prevent_destroy_over_the_state(cli: Cli) -> None:
    write(cli, "web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    write(cli, "web", "  preventDestroy: true\n")  # not applied: the state still says false
    assert recorded(cli, "web")["prevent_destroy"] is False
    refused = cli("destroy", str(cli.manifests), "--auto-approve")
    assert refused.exit_code == 1 and "preventDestroy forbids deleting it" in refused.output
    assert [d.name for d in cli.client().list()] == ["web"]


def test_ignored_field_is_neither_a_change_nor_drift(cli: Cli) -> None:
    write(cli, "web", "  ignoreChanges: [workers]\n")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert recorded(cli, "web")["ignore_changes"] == ["workers"]
    [dep] = cli.client().list()
    cli.client().scale(dep.id, 5)  # an autoscaler
    assert cli.client().detail(dep.id).totalWorkers == 5
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0
    result = cli("drift", str(cli.manifests), "-o", "json")
    assert result.exit_code == 0, result.output
    # without the manifest, the state's record of ignoreChanges still silences it
    other = cli.folder / "elsewhere"
    other.mkdir()
    assert cli("drift", str(other), "-o", "json").exit_code == 2  # pending delete, not scaled
    report = json.loads(cli("drift", str(other), "-o", "json").output)
    assert [f["type"] for f in report["findings"]] == ["pending"]


def test_refresh_only_records_live_values_without_mutating_calls(cli: Cli) -> None:
    write(cli, "scaled")
    write(cli, "gone")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    ids = {d.name: d.id for d in cli.client().list()}
    api = cli.client()
    api.scale(ids["scaled"], 5)
    api.stop(ids["gone"])
    while api.detail(ids["gone"]).status != "STOPPED":
        pass
    api.delete(ids["gone"])
    before = json.loads(cli("drift", str(cli.manifests), "-o", "json").output)
    kinds = {(f["deployment"], f["type"]) for f in before["findings"]}
    assert {("scaled", "scaled"), ("gone", "deleted")} <= kinds  # precondition
    calls = mutating_calls(cli)

    refused = cli.subprocess("apply", "--refresh-only", stdin=subprocess.DEVNULL)
    assert refused.returncode == 1 and "--auto-approve" in refused.stderr
    result = cli("apply", "--refresh-only", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "~ workers: 2 → 5" in result.output
    assert "will be dropped from the state" in result.output
    assert mutating_calls(cli) == calls
    assert recorded(cli, "scaled")["spec"]["workers"] == 5  # type: ignore[index]
    assert "gone" not in json.loads(cli.state.read_text())["deployments"]
    after = json.loads(cli("drift", str(cli.manifests), "-o", "json").output)
    kinds = {(f["deployment"], f["type"]) for f in after["findings"]}
    assert ("scaled", "scaled") not in kinds and ("gone", "deleted") not in kinds
    # the manifests still ask for 2 workers and for `gone`: that is a pending change now
    assert ("scaled", "pending") in kinds and ("gone", "pending") in kinds
    # the manifest did not change: the finding quotes the plan's reason instead of saying so
    [scaled] = [f for f in after["findings"] if f["deployment"] == "scaled"]
    assert scaled["detail"] == "not yet applied: workers changed; scaled in place", scaled
    again = cli("apply", "--refresh-only", "--auto-approve")
    assert again.exit_code == 0 and "No changes." in again.output, again.output


def test_refresh_only_json_is_an_event_stream(cli: Cli) -> None:
    write(cli, "scaled")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [dep] = cli.client().list()
    cli.client().scale(dep.id, 5)
    result = cli("apply", "--refresh-only", "--auto-approve", "-o", "json")
    assert result.exit_code == 0, result.output
    stream = [json.loads(line) for line in result.stdout.splitlines()]  # only JSON on stdout
    assert stream[0]["type"] == "plan" and stream[-1]["type"] == "summary"
    assert [(c["deployment"], c["action"]) for c in stream[0]["changes"]] == [("scaled", "record")]
    assert stream[-1]["succeeded"] == ["scaled"]
    assert recorded(cli, "scaled")["spec"]["workers"] == 5  # type: ignore[index]
    quiet = cli("apply", "--refresh-only", "--auto-approve", "-o", "json")  # nothing to record
    assert [json.loads(line)["type"] for line in quiet.stdout.splitlines()] == ["plan"]


def test_refresh_only_takes_manifest_paths_for_scope_and_ignore_changes(cli: Cli) -> None:
    """`apply --refresh-only PATH...` takes the paths every apply takes: it refreshes only the
    deployments those manifests declare, and leaves the fields their ignoreChanges lists as
    recorded (drift never reports them, so there is nothing to accept)."""
    write(cli, "auto", "  ignoreChanges: [workers]\n")
    write(cli, "other")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    ids = {d.name: d.id for d in cli.client().list()}
    cli.client().scale(ids["auto"], 5)  # an autoscaler, ignored by the manifest
    cli.client().scale(ids["other"], 4)
    write(cli, "auto", "  ignoreChanges: [workers, initializationCommand]\n")  # not applied

    only_auto = cli("apply", str(cli.manifests / "auto.yaml"), "--refresh-only",
                    "--auto-approve")
    assert only_auto.exit_code == 0, only_auto.output
    assert "No changes." in only_auto.output, only_auto.output
    assert recorded(cli, "auto")["spec"]["workers"] == 2  # type: ignore[index]
    assert recorded(cli, "other")["spec"]["workers"] == 2  # type: ignore[index]

    both = cli("apply", str(cli.manifests), "--refresh-only", "--auto-approve")
    assert both.exit_code == 0, both.output
    assert "~ workers: 2 → 4" in both.output and "auto" not in both.output, both.output
    assert recorded(cli, "other")["spec"]["workers"] == 4  # type: ignore[index]
    assert recorded(cli, "auto")["spec"]["workers"] == 2  # type: ignore[index]
    assert cli("drift", str(cli.manifests), "-o", "json").exit_code == 2  # other: pending 2
    saved = cli("apply", "--plan", str(cli.state), "--refresh-only", "--auto-approve")
    assert saved.exit_code == 1 and "reads no saved plan" in saved.output
