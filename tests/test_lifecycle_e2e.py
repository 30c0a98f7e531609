"""End to end against the emulator over HTTP: the full lifecycle of issue #5, plan exit codes
and call counts, saved plans, destroy, import and state commands."""

from __future__ import annotations

import json

import pytest

from conftest import CANARY, Cli, stats


def world(cli: Cli) -> dict[str, dict[str, object]]:
    out = {}
    for d in cli.client().list():
        env = {e.key: e.value for e in d.environmentVars}
        out[d.name or ""] = {"id": d.id, "status": d.status, "workers": d.totalWorkers,
                             "image": d.image, "model": env.get("MODEL"), "token": env.get("HF_TOKEN")}
    return out


def running_worker_ids(cli: Cli, dep_id: str) -> set[str]:
    return {w.id for w in cli.client().workers(dep_id, status=["RUNNING"])}


def assert_clean(cli: Cli) -> None:
    result = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.output


@pytest.mark.both_apis
def test_full_lifecycle(cli: Cli) -> None:
    cli.write("llama", workers=2)
    cli.write("batch", mode="QUEUE", workers=4)
    cli.write("studio", mode="CUSTOM", workers=1)

    first = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert first.exit_code == 2 and "Plan: 3 to create" in first.output
    applied = cli("apply", str(cli.manifests), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    live = world(cli)
    assert set(live) == {"llama", "batch", "studio"}
    assert all(v["status"] == "RUNNING" and v["token"] == CANARY for v in live.values())
    assert_clean(cli)

    # workers only: scaled in place, existing workers keep running
    before = running_worker_ids(cli, str(live["llama"]["id"]))
    cli.write("llama", workers=3)
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert "will be scaled in place" in result.output and result.exit_code == 0
    after = running_worker_ids(cli, str(live["llama"]["id"]))
    assert before < after and len(after) == 3
    assert_clean(cli)

    # env var on a running deployment: stop, update, start (new workers)
    cli.write("llama", workers=3, model="llama-3.2")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert "stop → wait STOPPED → update → start" in result.output
    assert not running_worker_ids(cli, str(live["llama"]["id"])) & after
    assert world(cli)["llama"]["model"] == "llama-3.2"
    assert_clean(cli)

    # state: stopped
    cli.write("studio", mode="CUSTOM", workers=1, state="stopped")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert world(cli)["studio"]["status"] == "STOPPED"
    assert_clean(cli)

    # image: replace, new id
    cli.write("batch", mode="QUEUE", workers=4, image="ghcr.io/acme/batch:2.0")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert "must be replaced" in result.output and "new id and domain" in result.output
    now = world(cli)
    assert now["batch"]["id"] != live["batch"]["id"] and now["batch"]["image"] == "ghcr.io/acme/batch:2.0"
    assert_clean(cli)

    # manifest removed: deleted
    cli.remove("studio")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert "studio will be deleted" in result.output
    assert set(world(cli)) == {"llama", "batch"}
    assert_clean(cli)
    state = json.loads(cli.state.read_text())
    assert set(state["deployments"]) == {"llama", "batch"} and state["serial"] > 5


@pytest.mark.both_apis
def test_plan_uses_exactly_one_list_call_and_never_mutates(cli: Cli) -> None:
    cli.write("a")
    cli.write("b", workers=3)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("b", workers=1)
    httpx_reset = __import__("httpx").post(f"{cli.server.url}/_emulator/stats")
    assert httpx_reset.status_code == 404  # stats are read-only; count the delta instead
    before = stats(cli.server)
    state_before = cli.state.read_text()
    result = cli("plan", str(cli.manifests), "--detailed-exitcode", "-o", "json")
    assert result.exit_code == 2
    after = stats(cli.server)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    # v2: GET /v2/vms/types beside the list call (the capacity check), once
    capacity = {"getVMTypes": 1} if cli.api_version == "v2" else {}
    assert {k: v for k, v in delta.items() if v} == {"endpointList_1": 1, **capacity}
    assert cli.state.read_text() == state_before
    plan = json.loads(result.output)
    assert plan["summary"]["scale"] == 1 and plan["format_version"] == 3


@pytest.mark.both_apis
def test_saved_plan_applies_exactly_and_refuses_when_stale(cli: Cli) -> None:
    cli.write("a")
    cli.write("b")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("a", workers=4)
    plan_file = cli.folder / "a.plan.json"
    assert cli("plan", str(cli.manifests), "--out", str(plan_file)).exit_code == 0
    assert CANARY not in plan_file.read_text()
    ids = {n: v["id"] for n, v in world(cli).items()}
    cli.client().scale(str(ids["b"]), 3)  # unrelated change elsewhere: plan still valid
    result = cli("apply", "--plan", str(plan_file))
    assert result.exit_code == 0, result.output
    assert world(cli)["a"]["workers"] == 4

    cli.write("a", workers=2)
    assert cli("plan", str(cli.manifests), "--out", str(plan_file)).exit_code == 0
    cli.client().scale(str(ids["a"]), 5)  # the deployment the plan touches changed
    stale = cli("apply", "--plan", str(plan_file))
    assert stale.exit_code == 1
    assert "stale" in stale.stderr and "workers: 4 → 5" in stale.stderr
    assert world(cli)["a"]["workers"] == 5


def test_destroy_respects_prevent_destroy_and_unmanaged(cli: Cli) -> None:
    cli.write("keep")
    cli.write("gone")
    text = (cli.manifests / "keep.yaml").read_text() + "lifecycle:\n  preventDestroy: true\n"
    (cli.manifests / "keep.yaml").write_text(text)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    from reconciler.api.models import CreateRequest

    from conftest import create_body

    cli.client().create(CreateRequest.model_validate(create_body("console-made")))
    refused = cli("destroy", "--auto-approve")
    assert refused.exit_code == 1 and "preventDestroy forbids deleting it" in refused.output
    ok = cli("destroy", str(cli.manifests / "gone.yaml"), "--auto-approve")
    assert ok.exit_code == 0, ok.output
    assert set(world(cli)) == {"keep", "console-made"}


def test_import_state_list_show_rm(cli: Cli) -> None:
    from reconciler.api.models import CreateRequest

    from conftest import create_body

    dep = cli.client().create(CreateRequest.model_validate(
        create_body("console-svc", environmentVars=[{"key": "TOKEN", "value": CANARY}])))
    cli.write("my-svc")  # an import needs the manifest that will manage it (issue 22)
    result = cli("import", "my-svc", dep.id, str(cli.manifests))
    assert result.exit_code == 0 and "named 'console-svc'" in result.stderr
    listed = cli("state", "list")
    assert f"my-svc\t{dep.id}\tRUNNING" in listed.output
    shown = cli("state", "show", "my-svc")
    assert shown.exit_code == 0 and CANARY not in shown.output and "sensitive:" in shown.output
    assert CANARY not in cli.state.read_text()
    assert cli("import", "other", "999999999999999999").exit_code == 1
    assert cli("state", "rm", "my-svc").exit_code == 0
    assert cli("state", "list").stdout == ""
    assert [d.id for d in cli.client().list()] == [dep.id]  # rm never deletes


def test_failed_deployment_is_a_failure_and_state_keeps_the_rest(cli: Cli) -> None:
    cli.write("good")
    cli.write("bad", image="vllm/vllm-openai:fail-on-boot")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 1
    assert "bad ended FAILED" in result.stderr and "1 succeeded" in result.output
    state = json.loads(cli.state.read_text())
    assert state["deployments"]["good"]["status"] == "RUNNING"
    replan = cli("plan", str(cli.manifests))
    assert "bad is FAILED live" in replan.output and "good" not in replan.output.split("actions:")[1]
