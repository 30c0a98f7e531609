"""A name is never live twice, even for a moment (issue 22): renames wait for the deployment
that carries their new name to move away (or be deleted); a swap or a cycle goes through a
temporary name. A poller lists the emulator throughout each apply and asserts that no two live
deployments ever share a name; the kill tests SIGKILL an apply inside a swap and re-run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.api.models import CreateRequest
from reconciler.emulator.server import EmulatorServer
from reconciler.plan.renames import TEMPORARY_PREFIX

from conftest import API_KEY, Cli, create_body, start_emulator

Live = list[dict[str, Any]]
# (old name, new name) moves: a swap, and a cycle a -> b -> c -> a
SWAP = {"a": "b", "b": "a"}
CYCLE = {"a": "b", "b": "c", "c": "a"}


class Poller:
    """Lists the emulator over HTTP, back to back, until stopped; records every list in which
    two live deployments share a name, and fires ``trigger`` once its condition holds."""

    def __init__(self, url: str, trigger: Callable[[Live], bool] | None = None) -> None:
        self.url, self.trigger = url, trigger
        self.polls = 0
        self.duplicates: list[list[str]] = []
        self.seen: set[str] = set()  # every name seen live
        self.fired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(headers={"X-Api-Key": API_KEY}) as http:
            while not self._stop.is_set():
                live: Live = http.get(f"{self.url}/openapi/v1/elastic/deploy/list").json()["data"]
                names = [str(d["name"]) for d in live]
                self.polls += 1
                self.seen.update(names)
                if len(set(names)) != len(names):
                    self.duplicates.append(sorted(names))
                if self.trigger is not None and self.trigger(live):
                    self.fired.set()

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def slow_cli(tmp_path: Path) -> Iterator[Cli]:
    """Transitions long enough that stop/start waits happen, short enough for the suite."""
    server = start_emulator(transition_seconds=0.1)
    yield Cli(server, tmp_path)
    server.stop()


def exchange(cli: Cli, moves: dict[str, str]) -> dict[str, str]:
    """Apply one deployment per name (MODEL tells them apart), then move the names as
    `state mv` would and rewrite the manifests to match. Returns name -> MODEL expected."""
    for name in moves:
        cli.write(name, model=f"model-{name}")
    first = cli("apply", str(cli.manifests), "--auto-approve")
    assert first.exit_code == 0, first.output
    for old in moves:  # every entry to a parking name first, then onto its new name
        assert cli("state", "mv", old, f"park-{old}").exit_code == 0
    for old, new in moves.items():
        assert cli("state", "mv", f"park-{old}", new).exit_code == 0
        cli.write(new, model=f"model-{old}")
    return {new: f"model-{old}" for old, new in moves.items()}


def live_models(cli: Cli) -> dict[str, str]:
    out = {}
    for d in cli.client().list():
        assert d.name not in out, f"two live deployments named {d.name}"
        out[d.name or ""] = {e.key: e.value for e in d.environmentVars}["MODEL"]
    return out


def assert_converged(cli: Cli, expected: dict[str, str]) -> None:
    assert live_models(cli) == expected  # names as declared, no temporary name left
    assert {d.status for d in cli.client().list()} == {"RUNNING"}
    plan = cli("plan", str(cli.manifests), "--detailed-exitcode")
    assert plan.exit_code == 0 and "No changes." in plan.output, plan.output
    drift = cli("drift", str(cli.manifests))
    assert drift.exit_code == 0, drift.output


@pytest.mark.parametrize("moves", [SWAP, CYCLE], ids=["swap", "cycle"])
@pytest.mark.parametrize("parallelism", ["1", "10"])
def test_renames_never_make_a_name_live_twice(slow_cli: Cli, moves: dict[str, str],
                                              parallelism: str) -> None:
    cli = slow_cli
    expected = exchange(cli, moves)
    plan = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)
    temporary = [s for c in plan["changes"] for s in c["steps"] if s.get("name")]
    assert len(temporary) == 1  # one rename of the ring goes through a temporary name
    with Poller(cli.server.url) as poller:
        result = cli("apply", str(cli.manifests), "--auto-approve",
                     "--parallelism", parallelism)
    assert result.exit_code == 0, result.output
    assert poller.polls >= 10  # it watched the whole apply
    assert temporary[0]["name"] in poller.seen  # and saw the swap go through it
    assert poller.duplicates == []
    assert_converged(cli, expected)


def test_a_rename_onto_a_deleted_deployments_name_waits_for_the_delete(slow_cli: Cli) -> None:
    """`old` leaves the manifests (deleted) while `new` is moved onto the name it carries."""
    cli = slow_cli
    cli.write("web", model="old")
    cli.write("next", model="new")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert cli("state", "mv", "web", "retired").exit_code == 0
    assert cli("state", "mv", "next", "web").exit_code == 0
    cli.remove("next")
    cli.write("web", model="new")
    plan = json.loads(cli("plan", str(cli.manifests), "-o", "json").output)
    steps = {c["name"]: c["steps"] for c in plan["changes"]}
    assert [s.get("after") for s in steps["web"] if s["op"] == "update"] == [["retired"]]
    with Poller(cli.server.url) as poller:
        result = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", "1")
    assert result.exit_code == 0, result.output
    assert poller.polls >= 10 and poller.duplicates == []
    assert_converged(cli, {"web": "new"})


def test_a_rename_onto_a_name_something_else_keeps_is_refused(slow_cli: Cli) -> None:
    cli = slow_cli
    cli.write("web", model="mine")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert cli("state", "mv", "web", "api").exit_code == 0
    cli.remove("web")
    cli.write("api", model="mine")
    other = cli.client().create(CreateRequest.model_validate(create_body("api"))).id
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 1
    assert f"{other} carries it and this plan does not move it away" in result.output
    assert Counter(d.name for d in cli.client().list()) == {"web": 1, "api": 1}


def test_a_swap_with_only_one_side_targeted_is_refused(slow_cli: Cli) -> None:
    cli = slow_cli
    exchange(cli, SWAP)
    result = cli("apply", str(cli.manifests), "--auto-approve", "--target", "a")
    assert result.exit_code == 1 and "this plan does not move it away" in result.output
    assert Counter(d.name for d in cli.client().list()) == {"a": 1, "b": 1}


def temporary_live(live: Live) -> bool:
    return any(str(d["name"]).startswith(TEMPORARY_PREFIX) for d in live)


def one_side_done(live: Live) -> bool:  # a temporary name live next to a final name
    return temporary_live(live) and any(d["name"] == "b" for d in live)


def model(dep: dict[str, Any]) -> str:
    return str({e["key"]: e["value"] for e in dep["environmentVars"]}["MODEL"])


def renamed_still_stopped(live: Live) -> bool:  # both renamed, restarts not done
    return {str(d["name"]): model(d) for d in live} == {"a": "model-b", "b": "model-a"} and \
        any(d["status"] == "STOPPED" for d in live)


@pytest.mark.parametrize("moves,kill_when", [
    (SWAP, temporary_live), (SWAP, one_side_done), (SWAP, renamed_still_stopped),
    (CYCLE, temporary_live)], ids=["swap-temporary", "swap-one-side", "swap-renamed",
                                   "cycle-temporary"])
def test_a_kill_inside_a_swap_recovers_without_a_duplicate(
        tmp_path: Path, moves: dict[str, str], kill_when: Callable[[Live], bool]) -> None:
    # each mutating call answers 0.2 s after it took effect: the kill lands while the
    # answer is awaited (the journal holds the intent, not the outcome)
    server: EmulatorServer = start_emulator(transition_seconds=0.1, response_delay_ms=200)
    try:
        cli = Cli(server, tmp_path)
        expected = exchange(cli, moves)
        with Poller(server.url, kill_when) as poller:
            proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply",
                                     str(cli.manifests), "--auto-approve"],
                                    env={**os.environ, **cli.env}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            fired = poller.fired.wait(60)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL  # killed inside the swap, not after it
            assert fired
            again = cli("apply", str(cli.manifests), "--auto-approve")
        assert again.exit_code == 0, again.output
        # the journal told the re-run about the temporary name: a planned rename, not drift
        assert "config-changed" not in again.output, again.output
        assert poller.duplicates == []
        assert_converged(cli, expected)
    finally:
        server.stop()


def test_a_chain_of_renames_waits_in_order_without_a_temporary_name() -> None:
    """x carries b and moves to a (free); y carries c and moves to b: y waits for x, and
    nothing needs a temporary name (the planner alone, no API)."""
    from reconciler.plan.planner import make_plan

    from helpers import FP, desired, live, state

    x, y = "361530338092500001", "361530338092500002"
    plan = make_plan([desired({"name": "a"}), desired({"name": "b"})],
                     [live({"name": "b", "id": x}), live({"name": "c", "id": y})],
                     state([{"name": "a", "id": x}, {"name": "b", "id": y}]), FP)
    assert not plan.errors, plan.errors
    updates = {c.name: [s for s in c.steps if s.op.value == "update"] for c in plan.pending}
    assert [(s.name, s.after) for s in updates["a"]] == [(None, ())]
    assert [(s.name, s.after) for s in updates["b"]] == [(None, ("a",))]


def test_a_saved_swap_plan_applied_twice_is_stale_the_second_time(slow_cli: Cli) -> None:
    """Names are not in the fingerprint: without the name check the second run would send
    both deployments through the swap again (stop, rename twice, start)."""
    cli = slow_cli
    expected = exchange(cli, SWAP)
    plan_file = str(cli.folder / "swap.plan.json")
    assert cli("plan", str(cli.manifests), "--out", plan_file).exit_code == 0
    assert cli("apply", "--plan", plan_file).exit_code == 0
    again = cli("apply", "--plan", plan_file)
    assert again.exit_code == 1, again.output
    assert "a: renamed since the plan ('b' → 'a')" in again.stderr
    assert_converged(cli, expected)


def test_a_rename_onto_the_name_of_a_replaced_deployment_waits_for_its_delete() -> None:
    """e carries n and is replaced as m (new image); d carries p and moves onto n: d's
    rename waits for the replace's delete; the replace's create of m waits for nothing."""
    from reconciler.plan.planner import make_plan

    from helpers import FP, desired, live, state

    e, d = "361530338092500003", "361530338092500004"
    new_image = {"image": "vllm/vllm-openai:v0.7.0"}
    plan = make_plan([desired({"name": "m", "spec": new_image}), desired({"name": "n"})],
                     [live({"name": "n", "id": e}), live({"name": "p", "id": d})],
                     state([{"name": "m", "id": e}, {"name": "n", "id": d}]), FP)
    assert not plan.errors, plan.errors
    changes = {c.name: c for c in plan.pending}
    assert changes["m"].action.value == "replace" and changes["n"].action.value == "update"
    assert [s.after for s in changes["n"].steps if s.op.value == "update"] == [("m",)]
    assert [s.after for s in changes["m"].steps if s.op.value == "create"] == [()]
