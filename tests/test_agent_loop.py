"""`yottactl agent`'s cycles against the emulator, with a clock the test drives: a manifest
change is applied within one interval, an out-of-band change is healed (heal) or only
reported (observe), backoff after failures, the heal cap, sync windows, prune."""

from __future__ import annotations

from dataclasses import dataclass

from agent_helpers import SATURDAY_NOON, FakeClock, kept_scaling, reconciler, run_loop

from reconciler.agent_rules import parse_window

from conftest import Cli, stats

MUTATING = ("endpointCreate", "endpointUpdate", "endpointStart", "endpointStop",
            "endpointScale", "endpointDelete")


def mutations(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items()
            if k.startswith(MUTATING) and v != before.get(k, 0)}


def live_workers(cli: Cli, name: str) -> int | None:
    return next(d.totalWorkers for d in cli.client().list() if d.name == name)


def test_manifest_change_is_applied_within_one_interval(cli: Cli) -> None:
    cli.write("web", workers=1)

    def change(clock: FakeClock) -> None:
        if len(clock.waits) == 1:
            cli.write("web", workers=3)

    clock = FakeClock(cycles=3, on_wait=change)
    rec = reconciler(cli, clock, mode="heal", interval=60.0)
    run_loop(rec, clock)
    assert live_workers(cli, "web") == 3
    assert all(54.0 <= w <= 66.0 for w in clock.waits), clock.waits  # 60 s ± 10%
    assert len(set(clock.waits)) > 1  # jittered, not a fixed beat
    history = [h.text for h in rec.board.read().history if h.kind == "heal"]
    assert history == ["healed web", "healed web"]  # created, then the change: one interval


@dataclass
class BusyClock(FakeClock):
    """Every reading of the clock costs a second: a cycle takes time on this clock."""

    def time(self) -> float:
        self.now += 1.0
        return self.now


def test_the_interval_runs_from_cycle_start_to_cycle_start(cli: Cli) -> None:
    cli.write("web")
    clock = BusyClock(cycles=3)
    rec = reconciler(cli, clock, mode="observe", interval=60.0, jitter=0.0)
    run_loop(rec, clock)
    # each cycle read the clock (so it took time here), and the wait after it was shortened
    # by exactly that time: cycles start every 60 s, not every 60 s + the cycle
    assert clock.waits and all(w < 60.0 for w in clock.waits), clock.waits
    assert all(w >= 60.0 - 30 for w in clock.waits), clock.waits  # a few readings, not all


def test_observe_reports_drift_and_never_changes_anything(cli: Cli) -> None:
    cli.write("web", workers=2)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    api = cli.client()
    web = next(d for d in api.list() if d.name == "web")
    api.scale(web.id, 5)  # out of band
    before = stats(cli.server)
    clock = FakeClock(cycles=2)
    rec = reconciler(cli, clock, mode="observe")
    run_loop(rec, clock)
    assert mutations(before, stats(cli.server)) == {}
    assert stats(cli.server)["endpointList_1"] - before["endpointList_1"] == 2  # one per cycle
    assert live_workers(cli, "web") == 5
    metrics = rec.metrics.text().decode()
    assert 'yottactl_agent_drift_findings{type="scaled"} 1.0' in metrics
    assert 'yottactl_agent_api_calls_total{operation="list",status="200"} 2.0' in metrics


def test_heal_reverts_an_out_of_band_change(cli: Cli) -> None:
    cli.write("web", workers=2)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    api = cli.client()
    web = next(d for d in api.list() if d.name == "web")
    api.scale(web.id, 5)
    clock = FakeClock(cycles=1)
    rec = reconciler(cli, clock, mode="heal")
    run_loop(rec, clock)
    assert live_workers(cli, "web") == 2
    assert "yottactl_agent_heals_total 1.0" in rec.metrics.text().decode()


def test_failures_back_off_2s_times_3_capped_at_300s(cli: Cli) -> None:
    cli.write("web")
    (cli.manifests / "broken.yaml").write_text("kind: [unclosed\n")  # a bad commit
    clock = FakeClock(cycles=8)
    rec = reconciler(cli, clock, mode="heal", interval=1.0)
    run_loop(rec, clock)
    assert [round(w) for w in clock.waits] == [2, 6, 18, 54, 162, 300, 300, 300]
    status = rec.board.read()
    assert not status.ready and status.consecutive_failures == 8
    assert "broken.yaml" in status.errors[0]
    assert 'yottactl_agent_failures_total{kind="cycle"} 8.0' in rec.metrics.text().decode()


def test_heal_cap_per_deployment_per_hour(cli: Cli) -> None:
    cli.write("web", workers=2)
    clock = FakeClock(cycles=4, on_wait=kept_scaling(cli, "web"))
    rec = reconciler(cli, clock, mode="heal", heals_per_hour=2, interval=60.0)
    run_loop(rec, clock)
    texts = [(h.kind, h.text) for h in reversed(rec.board.read().history) if h.kind != "leader"]
    assert texts[:2] == [("heal", "healed web"), ("heal", "healed web")]
    assert texts[2:] == [("held", "web: healed 2 times in the last hour")] * 2
    assert live_workers(cli, "web") == 5  # the third change stays until the hour has passed


def test_outside_the_sync_window_it_only_observes(cli: Cli) -> None:
    cli.write("web", workers=2)
    before = stats(cli.server)

    def monday(clock: FakeClock) -> None:
        clock.now += 2 * 86400 - 3 * 3600  # Saturday noon -> Monday 09:00

    clock = FakeClock(now=SATURDAY_NOON, cycles=2, on_wait=monday)
    rec = reconciler(cli, clock, mode="heal",
                     windows=(parse_window("Mon-Fri 08:00-18:00"),))
    run_loop(rec, clock)
    history = [(h.kind, h.text) for h in reversed(rec.board.read().history)
               if h.kind != "leader"]
    assert history == [("held", "outside the sync windows"), ("heal", "healed web")]
    assert mutations(before, stats(cli.server)) == {"endpointCreate": 1}


def test_deletes_only_with_prune(cli: Cli) -> None:
    cli.write("web")
    cli.write("old")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.remove("old")
    clock = FakeClock(cycles=1)
    run_loop(reconciler(cli, clock, mode="heal"), clock)
    assert {d.name for d in cli.client().list()} == {"web", "old"}
    clock = FakeClock(cycles=1)
    rec = reconciler(cli, clock, mode="heal", prune=True)
    run_loop(rec, clock)
    assert {d.name for d in cli.client().list()} == {"web"}


def test_cycles_leave_no_garbage_for_later(cli: Cli) -> None:
    """Each cycle's planning runs without the cyclic GC and moves what it made to the oldest
    generation unscanned; the loop collects after every cycle, so garbage in reference cycles
    (threads' locks, HTTP objects, frames) never piles up over an agent's life."""
    import gc

    for i in range(3):
        cli.write(f"web-{i}")
    gc.collect()
    clock = FakeClock(cycles=12)
    rec = reconciler(cli, clock, mode="observe", interval=60.0)
    assert gc.isenabled()
    run_loop(rec, clock)
    left = gc.collect()  # what the cycles left uncollected (this test's own threads add a few)
    assert len(clock.waits) >= 11  # precondition: the loop ran its cycles
    assert left < 200, f"{left} objects of garbage left after {len(clock.waits) + 1} cycles"
