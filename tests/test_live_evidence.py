"""Live evidence beats a stale state: a restored or journal-less state never makes yottactl
create a second deployment of one name, and nothing live is ever hidden from plan or drift."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.api.models import CreateRequest

from conftest import Cli, create_body


def live_ids(cli: Cli, name: str) -> list[str]:
    return sorted(d.id for d in cli.client().list() if d.name == name)


def state_ids(cli: Cli) -> dict[str, str]:
    return {n: e["id"] for n, e in json.loads(cli.state.read_text())["deployments"].items()}


def test_restored_state_readopts_instead_of_duplicating(cli: Cli) -> None:
    """Repro of issue 10: apply; copy the state; replace (new id); put the old copy back."""
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [old_id] = live_ids(cli, "web")
    stale = cli.state.read_bytes()
    cli.write("web", image="vllm/vllm-openai:v0.7.0")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [new_id] = live_ids(cli, "web")
    assert new_id != old_id  # precondition: the replace gave a new id
    cli.state.write_bytes(stale)  # the old copy is back, no journal
    assert not Path(str(cli.state) + ".journal").exists() or not Path(
        str(cli.state) + ".journal").read_text().strip()

    plan = cli("plan", str(cli.manifests))
    assert plan.exit_code == 0, plan.output
    assert f"re-adopting live deployment {new_id}" in plan.output
    assert f"the state's id {old_id} is gone" in plan.output
    assert "will be created" not in plan.output

    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert live_ids(cli, "web") == [new_id]  # never a second deployment
    assert state_ids(cli) == {"web": new_id}
    again = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.output, again.output
    assert cli("drift", str(cli.manifests)).exit_code == 0


def test_several_live_namesakes_of_a_stale_entry_are_an_error(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [old_id] = live_ids(cli, "web")
    api = cli.client()
    api.stop(old_id)
    while api.detail(old_id).status != "STOPPED":
        pass
    api.delete(old_id)
    made = [api.create(CreateRequest.model_validate(create_body("web"))).id for _ in range(2)]
    result = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert result.returncode == 1, result.stdout
    for dep_id in (old_id, *made):
        assert dep_id in result.stdout
    assert "yottactl import web ID" in result.stdout and "yottactl state rm web" in result.stdout
    assert live_ids(cli, "web") == sorted(made)  # nothing created, nothing deleted


def test_duplicate_is_unmanaged_and_a_drift_finding(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [managed] = live_ids(cli, "web")
    twin = cli.client().create(CreateRequest.model_validate(create_body("web"))).id

    plan = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)
    assert plan["unmanaged"] == [{"id": twin, "name": "web", "status": plan["unmanaged"][0]["status"],
                                  "duplicate": True}]
    assert [(d["kind"], d["id"]) for d in plan["drift"]] == [("duplicate", twin)]
    text = cli("plan", str(cli.manifests)).output
    assert f"? web  id {twin}" in text and "[duplicate of a managed name]" in text

    result = cli("drift", str(cli.manifests), "-o", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.output)
    assert [(f["type"], f["id"]) for f in report["findings"]] == [("duplicate", twin)]
    assert [u["id"] for u in report["unmanaged"]] == [twin]
    assert managed in report["findings"][0]["detail"]


def test_state_from_before_mv_is_rekeyed_never_replaced(cli: Cli) -> None:
    """apply a; `state mv a b` + manifest renamed; apply (renamed live, same id); then the
    state from BEFORE the mv comes back. The entry `a` holds the id live as `b`: it is b."""
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    [dep_id] = live_ids(cli, "a")
    before_mv = cli.state.read_bytes()
    assert cli("state", "mv", "a", "b").exit_code == 0
    cli.remove("a")
    cli.write("b")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert live_ids(cli, "b") == [dep_id] and live_ids(cli, "a") == []  # renamed in place
    cli.state.write_bytes(before_mv)
    assert state_ids(cli) == {"a": dep_id}  # precondition: the old name holds the live id

    plan = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)
    assert [(c["name"], c["action"], c["id"], c["rekeyed_from"]) for c in plan["changes"]] == [
        ("b", "record", dep_id, "a")]
    assert plan["drift"] == [] and plan["unmanaged"] == [] and plan["errors"] == []
    text = cli("plan", str(cli.manifests)).output
    assert "will be created" not in text and "will be deleted" not in text, text
    drift = cli("drift", str(cli.manifests), "-o", "json")
    assert drift.exit_code == 2, drift.output
    assert [(f["deployment"], f["type"]) for f in json.loads(drift.output)["findings"]] == [
        ("b", "pending")]
    assert "a\t" + dep_id in cli("state", "list").output  # the state says what it records

    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert [(d.id, d.name) for d in cli.client().list()] == [(dep_id, "b")]  # nothing replaced
    assert state_ids(cli) == {"b": dep_id}
    again = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.output, again.output
    assert cli("drift", str(cli.manifests)).exit_code == 0
