"""Blue-green rollouts (issue 23) end to end against the emulator over HTTP: the name is served
throughout, each cause of failure leaves blue untouched (counted per id by the emulator), a
kill at any point converges, and the cutover never receives a credential."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator.server import STOP_POLL_SECONDS, EmulatorServer
from reconciler.plan.rollout import slot_names

from conftest import API_KEY, CANARY, Cli, manifest_text, serving, start_emulator

OLD, NEW = "vllm/vllm-openai:v0.6.3", "vllm/vllm-openai:v0.7.0"


def write(cli: Cli, name: str = "web", image: str = OLD, lifecycle: str = "", **kw: Any) -> None:
    text = manifest_text(name, image=image, **kw)
    block = "lifecycle:\n  rollout: blueGreen\n" + "".join(f"  {line}\n" for line in
                                                          lifecycle.splitlines() if line)
    (cli.manifests / f"{name}.yaml").write_text(text + block)


def live(cli: Cli, name: str = "web") -> list[Any]:
    with cli.client() as c:
        return [d for d in c.list() if d.name in slot_names(name)]


def mutated(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_emulator/stats").json()["mutated"])


def served(server: EmulatorServer) -> dict[str, int]:
    return dict(httpx.get(f"{server.url}/_emulator/stats").json()["served"])


def state_entry(cli: Cli, name: str = "web") -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(cli.state.read_text())["deployments"][name]
    return entry


@pytest.fixture
def fleet(tmp_path: Path, api_version: str) -> Iterator[Cli]:
    """An emulator whose ':broken' images FAIL and ':sick' images never pass a probe."""
    server = start_emulator(transition_seconds=0.1, failing_images=("*:broken",),
                            unhealthy_images=("*:sick",), **serving(api_version))
    yield Cli(server, tmp_path, api_version)
    server.stop()


def first_apply(cli: Cli, lifecycle: str = "") -> str:
    write(cli, lifecycle=lifecycle)
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 0, result.output
    (blue,) = live(cli)
    assert blue.status == "RUNNING"
    return str(blue.id)


@pytest.mark.both_apis
def test_image_change_is_served_throughout(fleet: Cli) -> None:
    blue = first_apply(fleet)
    gaps: list[str] = []
    done = threading.Event()

    def poll() -> None:  # a deployment of the name RUNNING and answering 200, at every look
        with fleet.client() as c:
            while not done.is_set():
                serving = [d for d in c.list() if d.name in slot_names("web")
                           and d.status == "RUNNING" and d.domain
                           and httpx.get(d.domain + "/").status_code == 200]
                if not serving:
                    gaps.append("nothing serving")

    poller = threading.Thread(target=poll)
    poller.start()
    write(fleet, image=NEW, lifecycle="probe: {path: /healthz, intervalSeconds: 0.05, "
                                       "successes: 2}")
    result = fleet("apply", str(fleet.manifests), "--auto-approve")
    done.set()
    poller.join()
    assert result.exit_code == 0, result.output
    assert "will be rolled out blue-green" in result.output
    assert f"domain: {fleet.server.url}/_serve/{blue} → (known after apply)" in result.output
    (green,) = live(fleet)
    assert green.id != blue and green.image == NEW and green.name == "web@alt"
    assert served(fleet.server).get("200", 0) > 2  # the poller and the probe did look
    assert gaps == []
    assert state_entry(fleet)["id"] == green.id and "rollout_green" not in state_entry(fleet)
    clean = fleet("plan", str(fleet.manifests), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output  # the rollout name is no change
    assert fleet("drift", str(fleet.manifests)).exit_code == 0
    for verb in ("get", "workers", "logs"):  # the manifest name finds it under its rollout name
        shown = fleet(verb, "web")
        assert shown.exit_code == 0, (verb, shown.output)
    assert green.id in fleet("get", "web").output
    # the next release goes back to the first slot
    write(fleet, image="vllm/vllm-openai:v0.7.1")
    assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
    assert [d.name for d in live(fleet)] == ["web"]


def assert_blue_untouched(cli: Cli, blue: str, result: Any, cause: str) -> None:
    assert result.exit_code == 1, result.output
    assert "rollout failed" in result.output and cause in result.output, result.output
    assert "was not touched and keeps serving" in result.output
    if cause == "interrupted":  # nothing to look into: start over
        assert "run `yottactl apply` again to start the release over" in result.output
        assert "--keep-failed" not in result.output
    else:  # where to look, and not at blue under the manifest name (R-23 finding 7)
        assert "its logs went with it: run again with --keep-failed" in result.output
    assert "`yottactl logs web` and" not in result.output and "yottactl wait" not in result.output
    assert "the old deployment kept serving" not in result.output
    assert mutated(cli.server).get(blue, 0) == 0  # zero mutating calls to blue
    (only,) = live(cli)  # green is gone
    assert only.id == blue and only.status == "RUNNING" and only.image == OLD
    assert state_entry(cli)["id"] == blue and "rollout_green" not in state_entry(cli)


def test_green_failed(fleet: Cli) -> None:
    blue = first_apply(fleet)
    write(fleet, image="vllm/vllm-openai:broken")
    result = fleet("apply", str(fleet.manifests), "--auto-approve")
    assert_blue_untouched(fleet, blue, result, "the new deployment ended FAILED")


def test_timeout(tmp_path: Path) -> None:
    server = start_emulator(transition_seconds=0.5)
    try:
        cli = Cli(server, tmp_path)
        blue = first_apply(cli)
        write(cli, image=NEW)
        result = cli("apply", str(cli.manifests), "--auto-approve", "--timeout", "0.1")
        assert_blue_untouched(cli, blue, result, "the new deployment timed out after 0.1s")
        assert "raise --timeout if the new deployment is only slow" in result.output
    finally:
        server.stop()


def test_probe_never_passes(fleet: Cli) -> None:
    probe = "probe: {path: /healthz, intervalSeconds: 0.05, timeoutSeconds: 1}"
    blue = first_apply(fleet, probe)
    write(fleet, image="vllm/vllm-openai:sick", lifecycle=probe)
    result = fleet("apply", str(fleet.manifests), "--auto-approve", "--timeout", "0.5")
    assert_blue_untouched(fleet, blue, result, "the probe never passed")
    assert "HTTP 503" in result.output
    assert served(fleet.server).get("503", 0) >= 2


def test_cutover_fails(fleet: Cli) -> None:
    cutover = "cutover: {command: [sh, -c, 'echo no route >&2; exit 3']}"
    blue = first_apply(fleet, cutover)
    write(fleet, image=NEW, lifecycle=cutover)
    result = fleet("apply", str(fleet.manifests), "--auto-approve")
    assert_blue_untouched(fleet, blue, result, "the cutover command exited 3: no route")


def test_keep_failed_is_recorded_and_planned(fleet: Cli) -> None:
    blue = first_apply(fleet)
    write(fleet, image="vllm/vllm-openai:broken")
    result = fleet("apply", str(fleet.manifests), "--auto-approve", "--keep-failed")
    assert result.exit_code == 1 and "is kept (--keep-failed)" in result.output, result.output
    assert mutated(fleet.server).get(blue, 0) == 0
    kept = [d for d in live(fleet) if d.id != blue]
    assert [d.status for d in kept] == ["FAILED"]
    entry = state_entry(fleet)
    assert entry["id"] == blue and entry["rollout_green"] == kept[0].id
    assert "ended FAILED" in entry["rollout_failed"]
    drift = fleet("drift", str(fleet.manifests))  # the kept one bills: drift says so too
    assert drift.exit_code == 2 and f"the new deployment {kept[0].id} is kept after a failed " \
        "rollout (--keep-failed: the new deployment ended FAILED" in drift.output, drift.output
    write(fleet, image=OLD)  # the release is called off: the plan deletes only the kept one
    plan = fleet("plan", str(fleet.manifests))
    assert "earlier rollout" in plan.output and kept[0].id in plan.output, plan.output
    assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
    assert [d.id for d in live(fleet)] == [blue]
    assert mutated(fleet.server).get(blue, 0) == 0


def test_ctrl_c_deletes_green_and_exits_1(fleet: Cli) -> None:
    probe = "probe: {path: /healthz, intervalSeconds: 0.05}"
    blue = first_apply(fleet, probe)
    write(fleet, image="vllm/vllm-openai:sick", lifecycle=probe)
    env = {**fleet.env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(fleet.manifests),
                             "--auto-approve"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    while served(fleet.server).get("503", 0) < 2:  # the probe is running against green
        assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    result = type("R", (), {"exit_code": proc.returncode, "output": output})()
    assert_blue_untouched(fleet, blue, result, "interrupted")


@pytest.mark.parametrize(("point", "api_version"), [
    *((point, "v1") for point in ("create-unanswered", "green-created", "in-cutover",
                                  "blue-stopping")),
    ("green-created", "v2"),  # the v2 transport through one kill (issue 27)
])
def test_kill_then_apply_converges(fleet: Cli, point: str) -> None:
    marker = fleet.folder / "cutover-ran"
    cutover = (f"cutover: {{command: [sh, -c, 'echo x >> {marker}; "
               f"if [ ! -e {marker}.go ]; then sleep 30; fi']}}")
    blue = first_apply(fleet, cutover)
    (fleet.folder / "cutover-ran.go").write_text("")
    write(fleet, image=NEW, lifecycle=cutover)
    if point == "in-cutover":  # the first cutover hangs until killed
        (fleet.folder / "cutover-ran.go").unlink()
    if point == "create-unanswered":  # the create lands, its answer (green's id) never arrives
        fleet.server.emulator.faults.response_delay_ms = 5000.0
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", str(fleet.manifests),
                             "--auto-approve"], env={**fleet.env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:  # wait (by the emulator's and the cutover's evidence) for the kill point
        assert proc.poll() is None, "apply finished before the kill point"
        if point in ("green-created", "create-unanswered") and len(live(fleet)) == 2:
            break
        if point == "in-cutover" and marker.exists():
            break
        if point == "blue-stopping" and mutated(fleet.server).get(blue, 0) >= 1:
            break
    proc.kill()
    proc.wait()
    fleet.server.emulator.faults.response_delay_ms = 0.0
    (fleet.folder / "cutover-ran.go").write_text("")
    again = fleet("apply", str(fleet.manifests), "--auto-approve")
    assert again.exit_code == 0, again.output
    (only,) = live(fleet)  # exactly one deployment of the name, with the new spec
    assert only.image == NEW and only.status == "RUNNING" and only.id != blue
    with fleet.client() as c:
        assert [d.id for d in c.list()] == [only.id]  # no orphan, blue or green
    entry = state_entry(fleet)
    assert entry["id"] == only.id and not {"rollout_green", "rollout_retiring"} & set(entry)
    clean = fleet("plan", str(fleet.manifests), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output


def test_rollouts_run_in_parallel_and_a_lost_state_readopts(fleet: Cli) -> None:
    for name in ("a", "b"):
        write(fleet, name)
    assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
    for name in ("a", "b"):
        write(fleet, name, image=NEW)
    result = fleet("apply", str(fleet.manifests), "--auto-approve", "--parallelism", "2")
    assert result.exit_code == 0 and "2 to roll out" in result.output, result.output
    assert [d.name for d in live(fleet, "a")] == ["a@alt"]
    fleet.state.unlink()
    Path(str(fleet.state) + ".backup").unlink()
    plan = fleet("plan", str(fleet.manifests), "--detailed-exitcode")
    assert "Plan: 0 to create" in plan.output and "adopted" in plan.output, plan.output
    assert "live as a@alt" in plan.output
    adopted = fleet("apply", str(fleet.manifests), "--auto-approve", "--adopt")
    assert adopted.exit_code == 0, adopted.output
    assert [d.name for d in live(fleet, "a")] == ["a@alt"]  # re-adopted, not created again
    clean = fleet("plan", str(fleet.manifests), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output


def test_cutover_gets_no_credentials(fleet: Cli, tmp_path: Path) -> None:
    seen = tmp_path / "cutover.env"
    got: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(str(self.headers).encode() + self.rfile.read(
                int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True,
                     kwargs={"poll_interval": STOP_POLL_SECONDS}).start()
    try:
        cutover = f"cutover: {{command: [sh, -c, 'env > {seen}']}}"
        first_apply(fleet, cutover)
        write(fleet, image=NEW, lifecycle=cutover)
        assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
        env = seen.read_text()
        assert "YOTTACTL_NEW_ID=" in env and "YOTTACTL_OLD_DOMAIN=http" in env
        assert API_KEY not in env and CANARY not in env and "YOTTA_API_KEY" not in env
        webhook = f"cutover: {{webhook: 'http://127.0.0.1:{hook.server_address[1]}/switch'}}"
        write(fleet, image=OLD, lifecycle=webhook)
        assert fleet("apply", str(fleet.manifests), "--auto-approve").exit_code == 0
        (request,) = got
        assert b'"deployment":"web"' in request.replace(b" ", b"") and b"new_domain" in request
        assert API_KEY.encode() not in request and CANARY.encode() not in request
    finally:
        hook.shutdown()


def test_lifecycle_cannot_read_env(fleet: Cli) -> None:
    write(fleet, lifecycle="cutover: {webhook: 'https://gw.example/${env:HF_TOKEN}'}")
    result = fleet("validate", str(fleet.manifests))
    assert result.exit_code == 1 and "lifecycle settings cannot read ${env:...}" in result.output
    assert "web.yaml:" in result.output and CANARY not in result.output


def test_saved_rollout_plan_rechecks_blue(fleet: Cli) -> None:
    blue = first_apply(fleet)
    write(fleet, image=NEW)
    saved = fleet.folder / "release.plan"
    made = fleet("plan", str(fleet.manifests), "--out", str(saved))
    assert made.exit_code == 0 and '"action": "rollout"' in saved.read_text()
    with fleet.client() as c:
        c.scale(blue, 3)  # changed outside yottactl after the plan was reviewed
    stale = fleet("apply", "--plan", str(saved))
    assert stale.exit_code == 1 and "changed since the plan" in stale.output, stale.output
    assert len(live(fleet)) == 1  # nothing was created
    with fleet.client() as c:
        c.scale(blue, 2)
    assert fleet("apply", "--plan", str(saved)).exit_code == 0
    again = fleet("apply", "--plan", str(saved))  # the same plan twice: refused
    assert again.exit_code == 1 and "applied already" in again.output, again.output
    (only,) = live(fleet)
    assert only.image == NEW


def test_project_default_and_environment_override(fleet: Cli,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (fleet.folder / "yottactl.yaml").write_text(
        "manifests: manifests\ndefaults: {rollout: blueGreen}\n"
        "environments: {legacy: {rollout: recreate}}\n")
    monkeypatch.chdir(fleet.folder)
    (fleet.manifests / "web.yaml").write_text(manifest_text("web"))  # no lifecycle.rollout
    (fleet.manifests / "pinned.yaml").write_text(
        manifest_text("pinned") + "lifecycle: {rollout: recreate}\n")
    assert fleet("apply", "--auto-approve").exit_code == 0
    for name in ("web", "pinned"):
        (fleet.manifests / f"{name}.yaml").write_text(
            (fleet.manifests / f"{name}.yaml").read_text().replace(OLD, NEW))
    default = fleet("plan")
    assert "web will be rolled out blue-green" in default.output, default.output
    assert "pinned must be replaced" in default.output  # the manifest's own setting wins
    assert "lifecycle.rollout: blueGreen avoids it" in default.output  # recreate's note
    legacy = fleet("plan", "--env", "legacy", "--state", str(fleet.state))
    assert "web must be replaced" in legacy.output and "rolled out" not in legacy.output


def test_destroy_deletes_a_kept_green_too(fleet: Cli) -> None:
    first_apply(fleet)
    write(fleet, image="vllm/vllm-openai:broken")
    assert fleet("apply", str(fleet.manifests), "--auto-approve", "--keep-failed").exit_code == 1
    assert len(live(fleet)) == 2  # precondition: the failed green was kept
    result = fleet("destroy", str(fleet.manifests), "--auto-approve")
    assert result.exit_code == 0, result.output
    with fleet.client() as c:
        assert c.list() == []  # nothing left behind unmanaged
    assert json.loads(fleet.state.read_text())["deployments"] == {}
