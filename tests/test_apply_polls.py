"""Waits share their polls (apply/polling.py): N deployments waiting at once cost one list call
per poll, not a detail call each. A wait lends its --parallelism slot (apply/slots.py) unless
its change takes the deployment down: creates overlap their waits, updates of running
deployments at --parallelism 1 still go one at a time. Through the emulator over HTTP."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.apply.waiting import PollDelay, Waiting

from conftest import Cli, serving, start_emulator

N = 20


@pytest.mark.both_apis
def test_concurrent_waits_share_their_polls(tmp_path: Path, api_version: str) -> None:
    server = start_emulator(transition_seconds=1.0, **serving(api_version))
    try:
        cli = Cli(server, tmp_path, api_version)
        for i in range(N):
            cli.write(f"svc-{i:02d}", workers=1)
        result = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", str(N))
        assert result.exit_code == 0, result.output
        calls = httpx.get(f"{server.url}/_emulator/stats").json()["calls"]
        polls = sum(n for op, n in calls.items() if "Detail" in op or "List" in op)
        # one detail poll per wait would be 2N at least (a wait is confirmed by a second poll;
        # 140 were made before); shared, they are lists: the plan's, the create guard's, and
        # at most one every 0.1 s of waiting once every create is sent (~15 on a busy machine)
        assert sum(n for op, n in calls.items() if "Create" in op) == N, calls
        assert polls < 2 * N, calls
        with cli.client() as api:
            assert {d.status for d in api.list()} == {"RUNNING"}
    finally:
        server.stop()


def _spans(stdout: str) -> dict[str, tuple[int, int]]:
    """Per deployment: the positions in the event stream of its first step and its end."""
    stream: list[dict[str, Any]] = [json.loads(line) for line in stdout.splitlines()]
    spans: dict[str, tuple[int, int]] = {}
    for at, event in enumerate(stream):
        name = event.get("deployment")
        if event["type"] == "step_started" and name not in spans:
            spans[name] = (at, at)
        elif event["type"] == "deployment_finished":
            spans[name] = (spans[name][0], at)
    return spans


def test_a_create_waiting_lends_its_slot_an_update_that_stops_keeps_it(tmp_path: Path) -> None:
    server = start_emulator(transition_seconds=0.5)
    try:
        cli = Cli(server, tmp_path)
        names = ["a", "b", "c"]
        for name in names:
            cli.write(name, model="llama")
        created = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", "1",
                      "-o", "json")
        assert created.exit_code == 0, created.output
        spans = _spans(created.stdout)
        # b's and c's creates were sent while a still waited for RUNNING (red before: the wait
        # held the only slot, so each create waited for the previous deployment to be RUNNING)
        assert sorted(spans) == names
        assert max(start for start, _ in spans.values()) < min(end for _, end in spans.values())

        for name in names:  # an update of a RUNNING deployment: stop, wait, update, start, wait
            cli.write(name, model="mistral")
        updated = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", "1",
                      "-o", "json")
        assert updated.exit_code == 0, updated.output
        ordered = sorted(_spans(updated.stdout).values())
        assert len(ordered) == 3
        # one deployment down at a time: each ends before the next one's stop is sent
        assert all(first[1] < second[0] for first, second in pairwise(ordered))
    finally:
        server.stop()


def test_a_shared_answer_showing_nothing_new_leaves_a_waits_backoff_alone() -> None:
    pause = PollDelay(Waiting(first_poll=0.05, max_poll=5.0))
    assert pause.after(("INITIALIZING", 0)) == 0.05  # new: look again soon
    assert pause.after(("INITIALIZING", 0), asked=False) is None  # another wait's list
    assert pause.after(("INITIALIZING", 0), asked=False) is None
    assert pause.after(("INITIALIZING", 0)) == 0.1  # its own next poll: backoff as if alone
    assert pause.after(("RUNNING", 1), asked=False) == 0.05  # progress, asked or not
