"""Review findings on the agent's reports: a nonsense price shows as unknown, the page's total
and the cost metric are one number (managed deployments), a heal cut short says what it left,
and with prune off a removed manifest's protected deployment is left alone (not an error)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
from agent_helpers import FakeClock, kept_scaling, observer_of, reconciler, run_loop
from test_postgres_lock_loss import DEADLINE, HoldOne

from reconciler.app.apply import ApplyOptions
from reconciler.cli.agent_http import serve
from reconciler.emulator.server import EmulatorServer

from conftest import Cli
from hostile_api import HostileApi, deployment


def test_a_nonsense_price_shows_unknown(tmp_path: Path) -> None:
    api = HostileApi().start()
    api.answer("/list", [deployment("101", "svc-a", perHourPrice=float("nan")),
                         deployment("102", "svc-b", perHourPrice=-5.0),
                         deployment("103", "ok-svc", perHourPrice=0.9)])
    rec = observer_of(api.url, tmp_path)
    server = serve("127.0.0.1:0", None, rec)
    try:
        assert rec.cycle(threading.Event(), acting=False).ok
        page = httpx.get(f"http://{server.address}/").text
        assert "$nan" not in page.lower() and "$-" not in page, page
        assert page.count("<td>unknown</td>") == 2 and "$0.90" in page, page
    finally:
        server.close()
        rec.close()
        api.stop()


def test_the_pages_total_is_the_cost_metric(cli: Cli) -> None:
    cli.write("web")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    other = cli.folder / "other"
    other.mkdir()
    (other / "stray.yaml").write_text((cli.manifests / "web.yaml").read_text()
                                      .replace("name: web", "name: stray"))
    assert cli("apply", str(other), "--auto-approve", "--state",
               str(cli.folder / "other.json")).exit_code == 0  # live, not in this state
    clock = FakeClock(cycles=1)
    rec = reconciler(cli, clock, mode="observe")
    server = serve("127.0.0.1:0", None, rec)
    try:
        run_loop(rec, clock)
        base = f"http://{server.address}"
        page, metrics = httpx.get(base + "/").text, httpx.get(base + "/metrics").text
        total = re.search(r"the 1 managed by the state cost \$([0-9.,]+)/h", page)
        assert total is not None, page
        metric = re.search(r"^yottactl_agent_fleet_cost_per_hour (\S+)$", metrics, re.M)
        assert metric is not None
        web = next(d.perHourPrice for d in cli.client().list() if d.name == "web")
        assert float(total[1]) == round(float(metric[1]), 2) == round(web or 0.0, 2)
        assert "2 deployments listed" in page
    finally:
        server.close()
        rec.close()


def test_a_heal_cut_short_says_what_it_left(tmp_path: Path) -> None:
    held = HoldOne("endpointCreate")
    server = EmulatorServer(held).start()
    try:
        cli = Cli(server, tmp_path)
        for name in ("a", "b", "c"):
            cli.write(name)
        rec = reconciler(cli, FakeClock(), mode="heal",
                         apply=ApplyOptions(no_wait=True, parallelism=1))
        logged: list[tuple[str, dict[str, object]]] = []
        rec.log = lambda event, **fields: logged.append((event, fields))
        stop = threading.Event()
        results = []
        worker = threading.Thread(target=lambda: results.append(rec.cycle(stop, acting=True)))
        worker.start()
        assert held.reached.wait(DEADLINE)
        stop.set()  # SIGINT while the first create is in flight
        held.release.set()
        worker.join(DEADLINE)
        (result,) = results
        assert result.healed == ("a",)
        assert "stopped after healing 1 of 3: left b, c" in result.held_back
        cycle = next(fields for event, fields in logged if event == "cycle")
        assert "left b, c" in str(cycle["held_back"])
        rec.close()
    finally:
        server.stop()


def test_with_prune_off_a_removed_protected_deployment_is_left_alone(cli: Cli) -> None:
    cli.write("web")
    cli.write("keep")
    keep = cli.manifests / "keep.yaml"
    keep.write_text(keep.read_text() + "lifecycle:\n  preventDestroy: true\n")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.remove("keep")
    clock = FakeClock(cycles=2)
    rec = reconciler(cli, clock, mode="heal")
    run_loop(rec, clock)
    status = rec.board.read()
    assert status.ready and status.errors == () and status.consecutive_failures == 0
    held = [h.text for h in status.history if h.kind == "held"]
    assert held and all("keep: manifest removed, left alone (prune is off)" in t for t in held)
    assert {d.name for d in cli.client().list()} == {"web", "keep"}


def test_the_heal_cap_survives_a_restart(cli: Cli) -> None:
    import json

    cli.write("web", workers=2)
    clock = FakeClock(cycles=2, on_wait=kept_scaling(cli, "web"))
    api = cli.client()
    web_id = next(d.id for d in api.list() if d.name == "web")
    first = reconciler(cli, clock, mode="heal", heals_per_hour=2, interval=60.0)
    run_loop(first, clock)
    first.close()
    assert [h.text for h in first.board.read().history if h.kind == "heal"] == ["healed web"] * 2
    assert len(json.loads(cli.state.read_text())["agent_heals"]["web"]) == 2  # in the state
    api.scale(web_id, 5)
    # a new process (a restart, a crash, another agent taking over): the same cap
    later = FakeClock(now=clock.now, cycles=1)
    second = reconciler(cli, later, mode="heal", heals_per_hour=2, interval=60.0)
    run_loop(second, later)
    second.close()
    held = [h.text for h in second.board.read().history if h.kind in ("held", "heal")]
    assert held == ["web: healed 2 times in the last hour"]
    assert next(d.totalWorkers for d in api.list() if d.id == web_id) == 5
    # an hour after the first heal, it may heal again
    after = FakeClock(now=clock.now + 3600.0, cycles=1)
    third = reconciler(cli, after, mode="heal", heals_per_hour=2, interval=60.0)
    run_loop(third, after)
    third.close()
    assert [h.text for h in third.board.read().history if h.kind == "heal"] == ["healed web"]
