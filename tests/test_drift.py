"""`yottactl drift` against the emulator: every finding type from a real out-of-band change,
read-only guarantees, exit codes, acknowledgements, notifications."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.api.models import CreateRequest
from reconciler.emulator.server import STOP_POLL_SECONDS

from conftest import Cli, create_body, stats


def applied(cli: Cli, *names: str) -> dict[str, str]:
    for n in names:
        cli.write(n)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    return {d.name or "": d.id for d in cli.client().list()}


def drift_json(cli: Cli, *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli("drift", str(cli.manifests), "-o", "json", *extra)
    return result.exit_code, json.loads(result.output)


def types(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["deployment"], f["type"]) for f in report["findings"]}


def wait_status(cli: Cli, dep_id: str, status: str) -> None:
    while cli.client().detail(dep_id).status != status:
        time.sleep(0.01)


def test_clean_is_exit_0_and_reads_only(cli: Cli) -> None:
    applied(cli, "a", "b")
    state_before = cli.state.read_text()
    before = stats(cli.server)
    code, report = drift_json(cli)
    assert code == 0 and report["clean"] and report["findings"] == []
    assert report["format_version"] == 1 and report["kind"] == "yottactl-drift-report"
    after = stats(cli.server)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == \
        {"endpointList_1": 1}
    assert cli.state.read_text() == state_before
    assert not (cli.state.parent / "yottactl.state.json.lock.info").exists()


@pytest.mark.both_apis
def test_every_finding_type_from_real_out_of_band_changes(cli: Cli) -> None:
    ids = applied(cli, "scaled", "stopped", "updated", "deleted", "untouched", "started")
    api = cli.client()
    api.scale(ids["scaled"], 5)
    for name in ("stopped", "updated", "deleted"):
        api.stop(ids[name])
        wait_status(cli, ids[name], "STOPPED")
    body = create_body("updated", workers=2, containerVolumeInGb=77)
    for key in ("image", "serviceMode"):
        body.pop(key)
    from reconciler.api.models import UpdateRequest

    api.update(ids["updated"], UpdateRequest.model_validate(body))
    api.start(ids["updated"])
    api.delete(ids["deleted"])
    api.create(CreateRequest.model_validate(create_body("console-made")))
    cli.write("pending-new")
    cli.write("scaled", workers=2)  # unchanged: its drift is the out-of-band scale
    # started outside: a deployment applied as stopped, then started in the console
    cli.write("started", state="stopped")
    assert cli("apply", str(cli.manifests), "--auto-approve", "--target", "started").exit_code == 0
    api.start(ids["started"])
    code, report = drift_json(cli)
    found = types(report)
    assert code == 2 and not report["clean"]
    assert ("scaled", "scaled") in found
    assert ("stopped", "stopped") in found
    assert ("updated", "config-changed") in found
    assert ("deleted", "deleted") in found
    assert ("console-made", "unmanaged") in found
    assert ("pending-new", "pending") in found
    assert ("started", "started") in found
    config = next(f for f in report["findings"] if f["type"] == "config-changed")
    assert {"path": "containerVolumeInGb", "before": 50, "after": 77, "sensitive": False} in \
        config["fields"]
    assert "untouched" not in {f["deployment"] for f in report["findings"]}


def test_failed_finding(cli: Cli) -> None:
    cli.write("boom", image="vllm/vllm-openai:fail-later")
    cli("apply", str(cli.manifests), "--auto-approve", "--no-wait")
    code, report = drift_json(cli)
    assert code == 2 and ("boom", "failed") in types(report)


def test_errors_are_exit_1_never_no_drift(cli: Cli) -> None:
    applied(cli, "a")
    unreachable = cli("drift", str(cli.manifests), "--endpoint", "http://127.0.0.1:9")
    assert unreachable.exit_code == 1 and "No drift" not in unreachable.output
    cli.server.emulator.api_key = "the-real-key"
    wrong_key = cli("drift", str(cli.manifests))
    assert wrong_key.exit_code == 1 and "401" in wrong_key.stderr
    cli.server.emulator.api_key = None
    (cli.manifests / "broken.yaml").write_text("apiVersion: yottactl/v1\nkind: Nope\n")
    invalid = cli("drift", str(cli.manifests))
    assert invalid.exit_code == 1 and "broken.yaml" in invalid.stderr


def test_acknowledgements_silence_until_expiry(cli: Cli) -> None:
    ids = applied(cli, "a", "b")
    cli.client().scale(ids["a"], 4)
    ack = cli.folder / "acks.yaml"
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    ack.write_text(f"- {{deployment: a, type: scaled, reason: load test, expires: {tomorrow}}}\n"
                   f"- {{deployment: b, type: stopped, reason: old, expires: {tomorrow}}}\n")
    code, report = drift_json(cli, "--ack", str(ack))
    assert code == 0 and report["clean"]
    assert report["findings"][0]["acknowledged"] and report["findings"][0]["ack_reason"] == "load test"
    assert report["acks"]["unmatched"] == [f"b/stopped (expires {tomorrow}: old)"]
    ack.write_text(f"- {{deployment: a, type: scaled, reason: load test, expires: {yesterday}}}\n")
    code, report = drift_json(cli, "--ack", str(ack))
    assert code == 2 and report["acks"]["expired"] and not report["findings"][0]["acknowledged"]
    ack.write_text("- {deployment: a, type: nonsense, reason: x, expires: 2030-01-01}\n")
    bad = cli("drift", str(cli.manifests), "--ack", str(ack))
    assert bad.exit_code == 1 and "unknown finding type" in bad.stderr


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_notifications(cli: Cli) -> None:
    receiver = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True,
                     kwargs={"poll_interval": STOP_POLL_SECONDS}).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    _Receiver.bodies = []
    try:
        ids = applied(cli, "a")
        clean = cli("drift", str(cli.manifests), "--notify", url)
        assert clean.exit_code == 0 and _Receiver.bodies == []  # nothing sent when clean
        cli.client().scale(ids["a"], 3)
        sent = cli("drift", str(cli.manifests), "--notify", url)
        assert sent.exit_code == 2
        [body] = _Receiver.bodies
        assert body["kind"] == "yottactl-drift-report" and "`a`: scaled" in body["text"]
        _Receiver.status = 500
        failed = cli("drift", str(cli.manifests), "--notify", url)
        assert failed.exit_code == 1 and "notification to the webhook failed" in failed.stderr
        assert "a: scaled" in failed.output  # findings still shown
    finally:
        _Receiver.status = 200
        receiver.shutdown()


def test_markdown_output(cli: Cli) -> None:
    ids = applied(cli, "a")
    cli.client().scale(ids["a"], 3)
    md = cli("drift", str(cli.manifests), "-o", "markdown").output
    assert md.startswith("<!-- yottactl-drift -->") and "| `a` | scaled |" in md


def test_drift_on_a_subset_reports_the_deletes_it_would_refuse_to_apply(cli: Cli) -> None:
    """Drift is read-only: the mass-delete guard protects apply, so deleting 2 of 3 managed
    deployments is two findings (exit 2), not an error asking for a flag drift does not have."""
    applied(cli, "a", "b", "c")
    guarded = cli("plan", str(cli.manifests / "a.yaml"))
    assert guarded.exit_code == 1 and "allow-mass-delete" in guarded.output  # precondition
    result = cli("drift", str(cli.manifests / "a.yaml"), "-o", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.output)
    assert types(report) == {("b", "pending"), ("c", "pending")}, report["findings"]
    assert all("not yet deleted" in f["detail"] for f in report["findings"])


def test_deleted_outside_and_from_the_manifests_is_one_finding(cli: Cli) -> None:
    ids = applied(cli, "keep", "gone")
    cli.client().stop(ids["gone"])
    wait_status(cli, ids["gone"], "STOPPED")
    cli.client().delete(ids["gone"])
    cli.remove("gone")
    plan = cli("plan", str(cli.manifests))
    assert "already gone live" in plan.output, plan.output  # precondition: the plan forgets it
    code, report = drift_json(cli)
    assert code == 2
    [finding] = report["findings"]
    assert (finding["deployment"], finding["type"]) == ("gone", "deleted"), report["findings"]
    assert "removed from the manifests too" in finding["detail"]


def test_drift_and_state_list_say_when_the_state_does_not_exist(cli: Cli) -> None:
    """A mistyped state is not an empty one: drift (a cron job) warns on stderr naming the
    states that exist, and its findings say why everything is pending; `state list` says the
    state does not exist rather than that it is empty."""
    applied(cli, "a")
    typo = str(cli.state.parent / "yottactl.stat.json")
    assert not Path(typo).exists()  # precondition: the typo names no file
    result = cli("drift", str(cli.manifests), "-o", "json", "--state", typo)
    assert result.exit_code == 2, result.output
    assert f"Warning: the state {typo} does not exist" in result.stderr, result.stderr
    assert "did you mean yottactl.state.json?" in result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["type"] == "pending" and "(the state does not exist)" in finding["detail"]
    assert "does not exist" not in cli("drift", str(cli.manifests)).stderr  # the real one
    listed = cli("state", "list", "--state", typo)
    assert listed.exit_code == 0
    assert f"the state {typo} does not exist; did you mean yottactl.state.json?" in listed.stderr
