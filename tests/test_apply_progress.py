"""What apply says while and after it works, against the emulator: heartbeats without a TTY,
failed steps with their real elapsed time and where to look, exact counts after Ctrl-C, the
outputs summary (golden), `apply -o json` and `apply --replace`."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.render.apply_summary import ApplySummary, render_summary

from conftest import Cli, start_emulator

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def slow_cli(tmp_path: Path) -> Iterator[Cli]:
    """An emulator whose transitions take 1.5 s, and a heartbeat every 0.2 s."""
    server = start_emulator(transition_seconds=1.5)
    cli = Cli(server, tmp_path)
    cli.env["YOTTACTL_HEARTBEAT_SECONDS"] = "0.2"
    yield cli
    server.stop()


def test_heartbeat_while_waiting_without_a_tty(slow_cli: Cli) -> None:
    slow_cli.write("llama", workers=2)
    result = slow_cli("apply", str(slow_cli.manifests), "--auto-approve")
    assert result.exit_code == 0, result.output
    beats = [line for line in result.stdout.splitlines() if "llama: still creating… [" in line]
    assert len(beats) >= 2, result.stdout  # the wait lasts >= 1.5 s: several beats of 0.2 s
    assert any(re.search(r"elapsed\] status INITIALIZING, workers 0/2$", b) for b in beats), beats
    assert "\x1b[" not in result.stdout  # no TTY: no control codes


def test_default_heartbeat_is_quiet_on_a_fast_apply(cli: Cli) -> None:
    cli.write("quick")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 0 and "still creating" not in result.stdout


def test_failed_step_shows_real_elapsed_time_what_it_waited_for_and_where_to_look(
        tmp_path: Path) -> None:
    server = start_emulator(transition_seconds=0.3)
    try:
        cli = Cli(server, tmp_path)
        cli.write("bad", image="vllm/vllm-openai:fail-on-boot")
        result = cli("apply", str(cli.manifests), "--auto-approve")
    finally:
        server.stop()
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if "bad: wait RUNNING" in x and "failed" in x)
    seconds = float(re.search(r"failed after (\d+\.\d)s", line).group(1))  # type: ignore[union-attr]
    assert seconds >= 0.3, line  # not the [0.0s] of old: the wait really took the transition
    assert "ended FAILED while waiting for 2 running workers" in line
    assert "next: see why with `yottactl logs bad`" in result.stdout


def test_timeout_says_what_it_waited_for(slow_cli: Cli) -> None:
    slow_cli.write("slow", workers=2)
    result = slow_cli("apply", str(slow_cli.manifests), "--auto-approve", "--timeout", "0.3")
    assert result.exit_code == 1
    assert ("timed out after 0.3s waiting for 2 running workers (status INITIALIZING, "
            "0 running)") in result.stdout
    assert "`yottactl logs slow`" in result.stdout


def test_ctrl_c_counts_exactly_what_was_done(tmp_path: Path) -> None:
    server = start_emulator(transition_seconds=30)  # the waits outlast the test
    try:
        cli = Cli(server, tmp_path)
        cli.write("one")
        cli.write("two")
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply",
                                 str(cli.manifests), "--auto-approve"],
                                env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while len(cli.client().list()) < 2:  # both create calls made
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        server.stop()
    assert proc.returncode == 130, (out, err)
    assert "0 succeeded, 0 failed, 2 interrupted after some of their steps, 0 not started." in out
    assert "interrupted: one after create" in err and "interrupted: two after create" in err
    assert set(json.loads(cli.state.read_text())["deployments"]) == {"one", "two"}


def test_apply_summary_lists_outputs(cli: Cli) -> None:
    cli.write("web")
    cli.write("queue", mode="QUEUE")
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 0
    after = result.stdout.split("Outputs:\n")[1].splitlines()
    assert after[0].split() == ["NAME", "ID", "STATUS", "WORKERS", "URL"]
    live = {d.name: d for d in cli.client().list()}
    rows = {r.split()[0]: r.split() for r in after[1:]}
    assert rows["web"] == ["web", live["web"].id, "RUNNING", "2/2", live['web'].domain]
    assert rows["queue"][1:3] == [live["queue"].id, "RUNNING"] and rows["queue"][-1] == "-"


def summary_text(summary: ApplySummary) -> str:
    both = io.StringIO()
    render_summary(summary, both, both)
    return both.getvalue()


def test_apply_summary_golden() -> None:
    summary = ApplySummary(
        83.4, succeeded=["llama", "retired"], failed={"bad": "bad ended FAILED while waiting "
                                                              "for 2 running workers"},
        partial={"slow": ["create"]}, not_started=["later"],
        outputs=[{"name": "llama", "id": "361530338086227968", "found": True,
                  "status": "RUNNING", "domain": "llama-227968.elastic.yottalabs.ai",
                  "url": "https://llama-227968.elastic.yottalabs.ai", "runningWorkers": 3,
                  "workers": 3},
                 {"name": "slow", "id": "361530338086228001", "found": True,
                  "status": "INITIALIZING", "domain": None, "url": None, "runningWorkers": 0,
                  "workers": 2}])
    actual = summary_text(summary)
    golden = GOLDEN / "apply_summary.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual)
    assert actual == golden.read_text()


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_apply_json_event_stream(cli: Cli) -> None:
    cli.write("llama")
    result = cli("apply", str(cli.manifests), "--auto-approve", "-o", "json")
    assert result.exit_code == 0, result.output
    stream = events(result.stdout)  # every line is one JSON object
    assert all(e["format_version"] == 1 for e in stream)
    kinds = [e["type"] for e in stream]
    assert kinds[0] == "plan" and kinds[-1] == "summary"
    assert stream[0]["changes"] == [{"deployment": "llama", "action": "create", "id": None,
                                     "reason": "not found live; will be created",
                                     "disruptive": False, "disruption": ""}]
    steps = [(e["type"], e["step"]) for e in stream if e["type"].startswith("step_")]
    assert steps == [("step_started", "create"), ("step_finished", "create"),
                     ("step_started", "wait RUNNING (2 workers)"),
                     ("step_finished", "wait RUNNING (2 workers)")]
    summary = stream[-1]
    dep = cli.client().list()[0]
    assert summary["succeeded"] == ["llama"] and summary["failed"] == {}
    assert summary["outputs"][0]["url"] == dep.domain


def test_apply_json_failure_and_refusal(cli: Cli) -> None:
    cli.write("bad", image="vllm/vllm-openai:fail-now")
    refused = cli("apply", str(cli.manifests), "-o", "json")
    assert refused.exit_code == 1 and "needs --auto-approve" in refused.stderr
    result = cli("apply", str(cli.manifests), "--auto-approve", "-o", "json")
    assert result.exit_code == 1
    stream = events(result.stdout)
    failed = next(e for e in stream if e["type"] == "step_failed")
    assert failed["deployment"] == "bad" and "ended FAILED" in failed["error"]
    assert "yottactl logs bad" in failed["hint"]
    assert stream[-1]["type"] == "summary" and list(stream[-1]["failed"]) == ["bad"]


def test_apply_replace_forces_a_replacement(cli: Cli) -> None:
    cli.write("llama")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    old = cli.client().list()[0]
    plan = cli("plan", str(cli.manifests), "--replace", "llama", "--detailed-exitcode")
    assert plan.exit_code == 2 and "llama must be replaced" in plan.stdout
    assert "replacement requested with --replace" in plan.stdout
    result = cli("apply", str(cli.manifests), "--auto-approve", "--replace", "llama")
    assert result.exit_code == 0, result.output
    new = cli.client().list()
    assert len(new) == 1 and new[0].id != old.id and new[0].domain != old.domain
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0
    unknown = cli("apply", str(cli.manifests), "--auto-approve", "--replace", "nobody")
    assert unknown.exit_code == 1 and "--replace names no deployment" in unknown.output


def test_wait_after_no_wait_until_running_then_stopped_then_deleted(slow_cli: Cli) -> None:
    timings = slow_cli.server.emulator.world.timings
    timings.transition_seconds = 4.0  # outlasts a slow start-up of `wait` on a busy machine
    slow_cli.write("llama", workers=2)
    started = slow_cli("apply", str(slow_cli.manifests), "--auto-approve", "--no-wait")
    assert started.exit_code == 0, started.output
    dep = slow_cli.client().list()[0]
    assert dep.status == "INITIALIZING"  # precondition: there is something to wait for
    waited = slow_cli("wait", "llama", "--timeout", "30")
    assert waited.exit_code == 0, waited.output
    assert "llama: waiting for running… [" in waited.stdout
    assert waited.stdout.splitlines()[-1].startswith("llama: status RUNNING, workers 2/2 [")
    assert slow_cli.client().detail(dep.id).status == "RUNNING"
    timings.transition_seconds = 0.3
    api = slow_cli.client()
    api.stop(dep.id)
    assert slow_cli("wait", "llama", "--for", "stopped", "--timeout", "30").exit_code == 0
    assert api.detail(dep.id).status == "STOPPED"
    api.delete(dep.id)
    gone = slow_cli("wait", "llama", "--for", "deleted", "--timeout", "30")
    assert gone.exit_code == 0 and "deleted (not live)" in gone.stdout


def test_wait_fails_on_failed_and_on_timeout(slow_cli: Cli) -> None:
    slow_cli.write("bad", image="vllm/vllm-openai:fail-soon")
    slow_cli.write("slow")
    assert slow_cli("apply", str(slow_cli.manifests), "--auto-approve",
                    "--no-wait").exit_code == 0
    timed_out = slow_cli("wait", "slow", "--timeout", "0.2")
    assert timed_out.exit_code == 1 and "timed out after 0.2s waiting for slow" in timed_out.stderr
    failed = slow_cli("wait", "bad", "--timeout", "30")
    assert failed.exit_code == 1 and "bad ended status FAILED" in failed.stderr
    unknown = slow_cli("wait", "nobody")
    assert unknown.exit_code == 1 and "no live deployment named 'nobody'" in unknown.stderr


def test_restart_stops_and_starts_with_new_workers(cli: Cli) -> None:
    cli.write("llama")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    api = cli.client()
    dep = api.list()[0]
    before = {w.id for w in api.workers(dep.id, status=["RUNNING"])}
    assert len(before) == 2
    refused = cli.subprocess("restart", "llama", stdin=subprocess.DEVNULL)
    assert refused.returncode == 1 and "llama will be restarted" in refused.stdout
    assert "stop → wait STOPPED → start → wait RUNNING (2 workers)" in refused.stdout
    assert "refusing to restart without confirmation" in refused.stderr
    result = cli("restart", "llama", "--auto-approve")
    assert result.exit_code == 0, result.output
    after = {w.id for w in api.workers(dep.id, status=["RUNNING"])}
    assert len(after) == 2 and not after & before
    assert api.detail(dep.id).status == "RUNNING" and "Outputs:" in result.stdout
    assert cli("plan", str(cli.manifests), "--detailed-exitcode").exit_code == 0
    api.stop(dep.id)
    stopped = cli("restart", "llama", "--auto-approve")
    assert stopped.exit_code == 1 and "only a RUNNING deployment is restarted" in stopped.output
    assert cli("restart", "nobody", "--auto-approve").exit_code == 1


def test_longest_chains_start_first(cli: Cli) -> None:
    """An update of a running deployment (stop, wait, update, start, wait) starts before a
    one-call scale, so short changes fill the rate budget at the end of a big apply."""
    cli.write("aaa", workers=1)
    cli.write("zzz", model="llama")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("aaa", workers=2)  # a scale: one call and a wait
    cli.write("zzz", model="mistral")  # an update of a running deployment
    result = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", "1",
                 "-o", "json")
    assert result.exit_code == 0, result.output
    stream = events(result.stdout)
    planned = [c["deployment"] for c in stream[0]["changes"]]
    assert planned == ["aaa", "zzz"]  # the plan lists them by name
    started = [e["deployment"] for e in stream if e["type"] == "step_started"]
    assert started[0] == "zzz" and started[-1] == "aaa", started
