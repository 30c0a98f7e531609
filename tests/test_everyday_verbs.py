"""Everyday verbs against the emulator over HTTP: `output`, `show`, `state mv`, the URL column,
and the small messages (state list header, workers of a stopped deployment, unknown worker,
destroy's reason and hint, the emulator's export line)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import Cli


def applied(cli: Cli, *names: str, **kw: object) -> dict[str, str]:
    """Apply manifests for ``names``; returns name -> live id."""
    for name in names:
        cli.write(name, **kw)  # type: ignore[arg-type]
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 0, result.output
    return {d.name or "": d.id for d in cli.client().list()}


def test_output_prints_id_status_workers_and_url_from_the_live_api(cli: Cli) -> None:
    ids = applied(cli, "llama", "other")
    one = cli("output", "llama", "-o", "json")
    assert one.exit_code == 0, one.output
    record = json.loads(one.stdout)
    live = cli.client().detail(ids["llama"])
    assert live.domain  # ALB deployments have a domain: the check below is not vacuous
    assert record == {"name": "llama", "id": ids["llama"], "found": True, "status": "RUNNING",
                      "domain": live.domain, "url": live.domain,  # a URL already
                      "runningWorkers": 2, "workers": 2}
    every = json.loads(cli("output", "-o", "json").stdout)
    assert sorted(every) == ["llama", "other"] and every["other"]["id"] == ids["other"]
    text = cli("output").stdout.splitlines()
    assert text[0].split() == ["NAME", "ID", "STATUS", "WORKERS", "URL"]
    assert text[1].split() == ["llama", ids["llama"], "RUNNING", "2/2", live.domain]
    assert f"url = {live.domain}" in cli("output", "llama").stdout
    assert "found = true" in cli("output", "llama").stdout  # as in JSON, not Python's True


def test_output_refuses_unmanaged_and_gone_names(cli: Cli) -> None:
    ids = applied(cli, "llama")
    unknown = cli("output", "nobody")
    assert unknown.exit_code == 1 and "not managed" in unknown.stderr
    api = cli.client()
    api.stop(ids["llama"])
    api.delete(ids["llama"])
    gone = cli("output", "llama", "-o", "json")
    assert gone.exit_code == 1 and "is not live" in gone.stderr and gone.stdout == ""
    listing = json.loads(cli("output", "-o", "json").stdout)
    assert listing["llama"]["found"] is False and listing["llama"]["status"] is None


def test_get_has_a_url_column(cli: Cli) -> None:
    ids = applied(cli, "web")
    cli.write("queue", mode="QUEUE")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    header, *rows = cli("get").stdout.splitlines()
    assert header.split()[-1] == "URL"
    by_name = {r.split()[0]: r.split() for r in rows}
    assert by_name["web"][-1] == cli.client().detail(ids['web']).domain
    assert by_name["queue"][-1] == "-"  # no domain outside ALB mode


def test_show_renders_a_saved_plan_without_the_api(cli: Cli) -> None:
    cli.write("llama")
    plan_file = cli.folder / "plan.json"
    assert cli("plan", str(cli.manifests), "--out", str(plan_file)).exit_code == 0
    cli.server.stop()  # no API at all: show must not need it
    text = cli("show", str(plan_file))
    assert text.exit_code == 0 and "llama will be created" in text.stdout
    assert "Plan: 1 to create" in text.stdout
    assert json.loads(cli("show", str(plan_file), "-o", "json").stdout)["summary"]["create"] == 1
    markdown = cli("show", str(plan_file), "-o", "markdown").stdout
    assert markdown.startswith("<!-- yottactl-plan -->") and "`llama`" in markdown
    bad = cli.folder / "bad.json"
    bad.write_text("{}")
    refused = cli("show", str(bad))
    assert refused.exit_code == 1 and "is not a yottactl plan file" in refused.stderr
    missing = cli("show", str(cli.folder / "nope.json"))
    assert missing.exit_code == 1 and "cannot read plan file" in missing.stderr


def test_state_mv_makes_the_plan_a_rename_update(cli: Cli) -> None:
    ids = applied(cli, "old-name")
    cli.remove("old-name")
    cli.write("new-name")
    before = cli("plan", str(cli.manifests))
    assert "old-name will be deleted" in before.stdout and "new-name will be created" in before.stdout
    moved = cli("state", "mv", "old-name", "new-name")
    assert moved.exit_code == 0, moved.output
    plan = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert plan.exit_code == 2
    assert "new-name will be updated" in plan.stdout
    assert 'name: "old-name" → "new-name"' in plan.stdout
    assert "created" not in plan.stdout and "deleted" not in plan.stdout
    assert "Drift" not in plan.stdout  # the rename was asked for: not drift
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    live = cli.client().list()
    assert [(d.name, d.id) for d in live] == [("new-name", ids["old-name"])]
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0
    state = json.loads(cli.state.read_text())
    assert list(state["deployments"]) == ["new-name"]
    assert state["deployments"]["new-name"]["renamed_from"] is None


def test_chained_state_mv_before_an_apply_is_one_rename_not_drift(cli: Cli) -> None:
    """a -> b -> c with no apply between: the live deployment is still called a."""
    applied(cli, "chain-a")
    cli.remove("chain-a")
    cli.write("chain-c")
    assert cli("state", "mv", "chain-a", "chain-b").exit_code == 0
    assert cli("state", "mv", "chain-b", "chain-c").exit_code == 0
    drift = cli("drift", str(cli.manifests))  # the rename the plan shows is pending, not drift
    assert drift.exit_code == 2 and "config-changed" not in drift.stdout, drift.stdout
    assert "chain-c: pending" in drift.stdout, drift.stdout
    plan = cli("plan", str(cli.manifests))
    assert 'name: "chain-a" → "chain-c"' in plan.stdout and "Drift" not in plan.stdout
    assert cli("state", "mv", "chain-c", "chain-a").exit_code == 0  # moved back: no rename
    assert json.loads(cli.state.read_text())["deployments"]["chain-a"]["renamed_from"] is None


def test_state_mv_refuses_unknown_taken_and_invalid_names(cli: Cli) -> None:
    applied(cli, "a", "b")
    missing = cli("state", "mv", "zzz", "c")
    assert missing.exit_code == 1 and "'zzz' is not in the state" in missing.stderr
    taken = cli("state", "mv", "a", "b")
    assert taken.exit_code == 1 and "'b' is already in the state" in taken.stderr
    invalid = cli("state", "mv", "a", "9-bad name")
    assert invalid.exit_code == 1 and "not a valid deployment name" in invalid.stderr
    assert sorted(json.loads(cli.state.read_text())["deployments"]) == ["a", "b"]


def test_state_list_has_a_header(cli: Cli) -> None:
    ids = applied(cli, "a")
    listed = cli("state", "list").stdout.splitlines()
    assert listed == ["NAME\tID\tSTATUS", f"a\t{ids['a']}\tRUNNING"]


def test_workers_of_a_stopped_deployment_says_so(cli: Cli) -> None:
    applied(cli, "nap", state="stopped")
    result = cli("workers", "nap")
    assert result.exit_code == 0
    assert result.stdout.startswith("no workers (deployment is STOPPED)")


def test_logs_of_an_unknown_worker_lists_the_workers(cli: Cli) -> None:
    ids = applied(cli, "svc")
    worker_ids = [w.id for w in cli.client().workers(ids["svc"])]
    assert len(worker_ids) == 2
    result = cli("logs", "svc", "--worker", "123")
    assert result.exit_code == 1
    assert "svc has no worker 123" in result.stderr
    assert all(w in result.stderr for w in worker_ids)
    assert "may have been deleted" not in result.stderr


def test_destroy_says_destroy_and_hints_auto_approve(cli: Cli) -> None:
    applied(cli, "doomed")
    result = cli.subprocess("destroy", stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "reason: destroy requested" in result.stdout
    assert "removed from manifests" not in result.stdout
    assert "--auto-approve" in result.stderr and "--plan" not in result.stderr


def test_emulator_prints_the_right_export_line() -> None:
    def first_lines(*args: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "emulator", "--port", "0",
                                 *args], stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            return proc.stderr.readline() + proc.stderr.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    keyed = first_lines("--api-key", "K-s3cret")
    assert "YOTTA_API_KEY=any-key" not in keyed and "K-s3cret" not in keyed
    assert "YOTTA_API_KEY=<the key given with --api-key>" in keyed
    assert "YOTTA_API_KEY=any-key" in first_lines()
