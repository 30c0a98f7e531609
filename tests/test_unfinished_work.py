"""Done means RUNNING (or STOPPED, as declared): a managed deployment whose live status is not
yet the declared one is unfinished work. Plan counts it as a change, drift reports it as
`not-ready`, apply waits for it and exits 0 only once it settled; a status that flips forever
ends in a clean error at the deadline."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import Cli
from hostile_api import HostileApi, HostileCli, deployment


def frozen_emulator(cli: Cli) -> list[float]:
    """Freeze the emulator's clock (transitions end only when the test moves it)."""
    world = cli.server.emulator.world
    now = [time.time()]
    world.clock = lambda: now[0]
    world.timings.transition_seconds = 60
    return now


def test_a_timed_out_create_is_pending_until_running(cli: Cli) -> None:
    now = frozen_emulator(cli)
    cli.write("web")
    paths = str(cli.manifests)
    first = cli("apply", paths, "--auto-approve", "--timeout", "0.2")
    assert first.exit_code == 1 and "INITIALIZING" in first.output, first.output
    assert "failed: web: timed out" in first.output  # the name once, not "web: web: timed out"
    [dep] = cli.client().list()
    assert dep.status == "INITIALIZING"  # precondition: still on its way

    plan = cli("plan", paths, "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert "waiting for RUNNING since 20" in plan.output and "1 to wait for" in plan.output
    as_json = cli("plan", paths, "--detailed-exitcode", "-o", "json")
    assert as_json.exit_code == 2 and json.loads(as_json.output)["summary"]["wait"] == 1
    as_markdown = cli("plan", paths, "--detailed-exitcode", "-o", "markdown")
    assert as_markdown.exit_code == 2 and "**1** to wait for" in as_markdown.output
    drift = cli("drift", paths, "-o", "json")
    assert drift.exit_code == 2, drift.output
    [finding] = json.loads(drift.output)["findings"]
    assert finding["type"] == "not-ready"
    assert finding["detail"].startswith("INITIALIZING, not yet RUNNING for "), finding

    again = cli("apply", paths, "--auto-approve", "--timeout", "0.2")  # a retried CI job
    assert again.exit_code == 1, again.output
    assert "No changes" not in again.output and "timed out" in again.output

    now[0] += 61  # the platform finishes the start
    done = cli("apply", paths, "--auto-approve")
    assert done.exit_code == 0, done.output
    assert cli.client().list()[0].status == "RUNNING"
    assert cli("plan", paths, "--detailed-exitcode").exit_code == 0
    assert cli("drift", paths).exit_code == 0


def test_a_stop_on_its_way_is_waited_for_and_a_saved_plan_keeps_the_wait(cli: Cli) -> None:
    cli.write("web", state="stopped")
    paths = str(cli.manifests)
    assert cli("apply", paths, "--auto-approve").exit_code == 0
    now = frozen_emulator(cli)
    [dep] = cli.client().list()
    cli.client().start(dep.id)
    now[0] += 61
    cli.client().stop(dep.id)  # STOPPING until the clock moves
    assert cli.client().detail(dep.id).status == "STOPPING"  # precondition

    saved = cli.folder / "wait.plan.json"
    plan = cli("plan", paths, "--detailed-exitcode", "--out", str(saved))
    assert plan.exit_code == 2 and "waiting for STOPPED" in plan.output, plan.output
    assert [c["action"] for c in json.loads(saved.read_text())["changes"]] == ["wait"]
    shown = cli("show", str(saved))
    assert shown.exit_code == 0 and "waiting for STOPPED" in shown.output, shown.output
    timed_out = cli("apply", "--plan", str(saved), "--timeout", "0.2")
    assert timed_out.exit_code == 1 and "status STOPPED" in timed_out.output, timed_out.output
    now[0] += 61
    assert cli.client().detail(dep.id).status == "STOPPED"  # precondition: settled meanwhile
    settled = cli("apply", "--plan", str(saved))  # the wait is done: not stale, nothing to call
    assert settled.exit_code == 0, settled.output
    assert cli("apply", paths, "--auto-approve").exit_code == 0
    assert cli("plan", paths, "--detailed-exitcode").exit_code == 0


def test_a_status_that_flips_forever_is_an_error_at_the_deadline(tmp_path: Path) -> None:
    api = HostileApi().start()
    try:
        env = [{"key": "MODEL", "value": "llama"}, {"key": "HF_TOKEN", "value": "hf_x"}]
        starting = deployment("101", "web", "INITIALIZING", environmentVars=env,
                              containerVolumeInGb=50)
        serving = deployment("101", "web", "RUNNING", environmentVars=env,
                             containerVolumeInGb=50)
        api.answer("/list", [starting])
        api.answer_in_turn("/101", serving, starting)  # RUNNING, INITIALIZING, RUNNING, ...
        cli = HostileCli(api, tmp_path, "web")
        plan = cli("plan", "{manifests}", "--detailed-exitcode")
        assert plan.exit_code == 2 and "wait" in plan.output, plan.output
        result = cli("apply", "{manifests}", "--auto-approve", "--adopt", "--timeout", "0.5")
        assert result.exit_code == 1, result.output
        assert "left it again each time" in result.output, result.output
        assert "Traceback" not in result.output
        assert sum("/101" in r for r in api.requests) >= 3  # precondition: it saw both statuses
    finally:
        api.stop()


def test_wait_needs_the_status_to_hold_and_a_flipping_one_times_out(tmp_path: Path) -> None:
    """`yottactl wait` (after `apply --no-wait`) confirms like apply: one RUNNING poll between
    INITIALIZING ones is not done."""
    api = HostileApi().start()
    try:
        starting = deployment("101", "web", "INITIALIZING")
        serving = deployment("101", "web", "RUNNING")
        api.answer_in_turn("/list", [serving], [starting])  # RUNNING, INITIALIZING, RUNNING, ...
        cli = HostileCli(api, tmp_path, "web")
        result = cli("wait", "web", "--timeout", "0.5")
        assert result.exit_code == 1 and "timed out" in result.output, result.output
        assert sum("/list" in r for r in api.requests) >= 3  # precondition: it saw both statuses
        del api.cycles["/list"]
        api.answer("/list", [serving])
        steady = cli("wait", "web", "--timeout", "5")
        assert steady.exit_code == 0, steady.output
    finally:
        api.stop()


def test_a_flipping_status_is_polled_with_backoff_not_in_a_storm(tmp_path: Path) -> None:
    """Each flip is a status seen before, not progress: the polls back off (0.05 s, doubling)
    instead of restarting at 0.05 s, which polled ~20x a second until the deadline."""
    api = HostileApi().start()
    try:
        env = [{"key": "MODEL", "value": "llama"}, {"key": "HF_TOKEN", "value": "hf_x"}]
        starting = deployment("101", "web", "INITIALIZING", environmentVars=env)
        serving = deployment("101", "web", "RUNNING", environmentVars=env)
        api.answer("/list", [starting])
        api.answer_in_turn("/101", serving, starting)
        cli = HostileCli(api, tmp_path, "web")
        result = cli("apply", "{manifests}", "--auto-approve", "--adopt", "--timeout", "0.8")
        assert result.exit_code == 1 and "left it again" in result.output, result.output
        details = sum(r.split("?")[0].endswith("/101") for r in api.requests)
        # 0, .05, .15, .35, .75, 1.55 s: about 6 polls (a reset per flip: about 24)
        assert 4 <= details <= 9, (details, api.requests)
    finally:
        api.stop()


def test_a_no_op_apply_confirms_settled_with_a_second_list(tmp_path: Path) -> None:
    """One list showing RUNNING is not done: apply lists once more before "No changes", as a
    wait confirms with two polls. A status that flips (list and detail alike) never exits 0,
    whichever answer the first list gets; a steady one exits 0 with "No changes"."""
    api = HostileApi().start()
    try:
        env = [{"key": "MODEL", "value": "llama"}, {"key": "HF_TOKEN", "value": "hf_x"}]
        starting = deployment("101", "web", "INITIALIZING", environmentVars=env)
        serving = deployment("101", "web", "RUNNING", environmentVars=env)
        api.answer("/101", serving)
        cli = HostileCli(api, tmp_path, "web")
        imported = cli("import", "web", "101", "{manifests}")
        assert imported.exit_code == 0, imported.output
        for first in ((serving, starting), (starting, serving)):
            api.answer_in_turn("/list", [first[0]], [first[1]])
            api.answer_in_turn("/101", *first)
            result = cli("apply", "{manifests}", "--auto-approve", "--timeout", "0.3")
            assert result.exit_code == 1, result.output
            assert "No changes" not in result.output and "timed out" in result.output
        del api.cycles["/list"], api.cycles["/101"]
        api.answer("/list", [serving])
        steady = cli("apply", "{manifests}", "--auto-approve")
        assert steady.exit_code == 0 and "No changes" in steady.output, steady.output
    finally:
        api.stop()
