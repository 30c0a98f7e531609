"""`get`, `workers`, `logs` (paging, merging, follow) and `export` against the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from reconciler.api.models import CreateRequest

from conftest import CANARY, Cli, create_body


def seed(cli: Cli, name: str = "svc", **kw: object) -> str:
    body = create_body(name, environmentVars=[{"key": "TOKEN", "value": CANARY},
                                              {"key": "MODEL", "value": "llama"}], **kw)
    return cli.client().create(CreateRequest.model_validate(body)).id


def test_get_table_json_and_detail_masks_secrets(cli: Cli) -> None:
    dep_id = seed(cli)
    seed(cli, "other", workers=1)
    table = cli("get")
    assert table.exit_code == 0
    header, *rows = table.output.splitlines()
    assert header.split() == ["NAME", "ID", "STATUS", "WORKERS", "GPU", "REGIONS", "$/H", "MANAGED",
                              "URL"]
    assert rows[1].split()[:4] == ["svc", dep_id, "RUNNING", "2/2"] and rows[1].split()[-2] == "no"
    listed = json.loads(cli("get", "-o", "json").output)
    assert {d["name"] for d in listed} == {"svc", "other"}
    assert all(e["value"] == "********" for d in listed for e in d["environmentVars"])
    detail = json.loads(cli("get", "svc", "-o", "json").output)
    assert detail["id"] == dep_id and detail["domain"] and CANARY not in json.dumps(detail)
    shown = json.loads(cli("get", "svc", "-o", "json", "--show-secrets").output)
    assert {"key": "TOKEN", "value": CANARY} in shown["environmentVars"]
    stopped = json.loads(cli("get", "--status", "STOPPED", "-o", "json").output)
    assert stopped == []
    yaml_out = cli("get", "svc", "-o", "yaml").output
    assert f"id: '{dep_id}'" in yaml_out


def test_unknown_and_ambiguous_names(cli: Cli) -> None:
    seed(cli, "llama-inference")
    missing = cli("get", "llama-inferense")
    assert missing.exit_code == 1 and "did you mean 'llama-inference'" in missing.stderr
    seed(cli, "llama-inference")
    twice = cli("workers", "llama-inference")
    assert twice.exit_code == 1 and "2 live deployments are named" in twice.stderr


def test_workers_hides_terminated_unless_all(cli: Cli) -> None:
    dep_id = seed(cli)
    api = cli.client()
    api.scale(dep_id, 1)
    visible = json.loads(cli("workers", "svc", "-o", "json").output)
    everything = json.loads(cli("workers", "svc", "--all", "-o", "json").output)
    assert [w["status"] for w in visible] == ["RUNNING"]
    assert sorted(w["status"] for w in everything) == ["RUNNING", "TERMINATED"]
    table = cli("workers", "svc").output
    assert table.splitlines()[0].split() == ["ID", "STATUS", "REGION", "GPU", "UPTIME", "COST", "$"]


def test_logs_page_merge_grep_tail_json(cli: Cli) -> None:
    dep_id = seed(cli)
    api = cli.client()
    deadline = time.monotonic() + 10  # a request line every 10 ms per worker in tests
    while time.monotonic() < deadline and min(
        len(list(api.iter_logs(dep_id, w.id, page_size=1000))) for w in api.workers(dep_id)
    ) < 140:
        time.sleep(0.05)
    lines = cli("logs", "svc", "-o", "json").output.splitlines()
    records = [json.loads(x) for x in lines]
    workers = {r["worker"] for r in records}
    assert len(workers) == 2 and len(records) > 250  # several 100-line pages per worker
    stamps = [r["timestamp"] for r in records]
    assert stamps == sorted(stamps)  # merged by time across workers
    text = cli("logs", "svc", "--grep", "Loading model weights").output.splitlines()
    assert len(text) == 8 and all(t.startswith("[") for t in text)
    tail = cli("logs", "svc", "--tail", "5").output.splitlines()
    assert len(tail) == 5
    one = sorted(workers)[0]
    single = cli("logs", "svc", "--worker", one, "--tail", "3").output.splitlines()
    assert len(single) == 3 and not single[0].startswith("[")
    since = cli("logs", "svc", "--since", "1d", "--until", "2999-01-01T00:00:00Z", "-o", "json")
    assert len(since.output.splitlines()) >= len(records)


def test_logs_follow_picks_up_new_lines_and_new_workers(cli: Cli) -> None:
    dep_id = seed(cli, workers=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "logs", "svc", "--follow", "--all-workers",
         "-o", "json", "--poll-interval", "0.05"],
        env={**os.environ, **cli.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    api = cli.client()
    seen: set[str] = set()
    first_workers = {w.id for w in api.workers(dep_id)}
    deadline = time.monotonic() + 30
    restarted = False
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        record = json.loads(proc.stdout.readline())
        seen.add(record["worker"])
        if not restarted and len(seen) >= 1:
            api.stop(dep_id)
            while api.detail(dep_id).status != "STOPPED":
                time.sleep(0.01)
            api.start(dep_id)  # new workers with new ids
            restarted = True
        if seen - first_workers:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert seen - first_workers, "follow did not pick up the restarted deployment's workers"
    assert proc.returncode == 0 and "Traceback" not in err


def test_export_validate_plan_round_trip(cli: Cli) -> None:
    seed(cli, "console-svc", credentialId="361530338086227968",
         webhookUrl="https://hooks.example.com/y", initializationCommand="--max-model-len 4096")
    stopped = seed(cli, "batch-job", serviceMode="QUEUE", workers=3)
    api = cli.client()
    api.stop(stopped)
    folder = cli.folder / "exported"
    result = cli("export", "--dir", str(folder))
    assert result.exit_code == 0
    assert "CONSOLE_SVC_TOKEN" in result.output and "BATCH_JOB_TOKEN" in result.output
    assert "MODEL" not in result.output  # MODEL=llama is no secret: written as it is
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["batch-job.yaml", "console-svc.yaml"]
    text = (folder / "console-svc.yaml").read_text()
    assert CANARY not in text and "${env:CONSOLE_SVC_TOKEN}" in text and "MODEL: llama" in text
    assert "state: stopped" in (folder / "batch-job.yaml").read_text()
    missing = cli("validate", str(folder))
    assert missing.exit_code == 1 and "CONSOLE_SVC_TOKEN" in missing.stderr
    cli.env.update(CONSOLE_SVC_TOKEN=CANARY, BATCH_JOB_TOKEN=CANARY)
    assert cli("validate", str(folder)).output.strip() == "2 deployments valid"
    plan = cli("plan", str(folder), "--detailed-exitcode")
    assert plan.exit_code == 2  # adoption is a change to the state only
    assert plan.output.count("will be adopted (imported by name); no changes") == 2
    # adopting into a new state is the point here: it needs its own word (issue 22)
    assert cli("apply", str(folder), "--auto-approve", "--adopt").exit_code == 0
    clean = cli("plan", str(folder), "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output


def test_export_keeps_live_dollar_braces_literal(cli: Cli) -> None:
    """Live text that looks like ${env:X} or ${var:X} is data, not a reference: export escapes
    it ($${), so the manifest reproduces the live value and reads no CI secret."""
    seed(cli, "tricky", initializationCommand="--token ${env:CI_SECRET} --x $${y}",
         image="img:${var:tag}")
    folder = cli.folder / "exported"
    assert cli("export", "--dir", str(folder)).exit_code == 0
    text = (folder / "tricky.yaml").read_text()
    assert "$${env:CI_SECRET}" in text and "$${var:tag}" in text
    cli.env.update(TRICKY_TOKEN=CANARY, TRICKY_MODEL="llama", CI_SECRET="leaked-ci-secret")
    plan = cli("plan", str(folder), "--detailed-exitcode", "-o", "json")
    assert plan.exit_code == 2, plan.output  # adoption only: the values are equal
    assert "leaked-ci-secret" not in plan.output
    [change] = json.loads(plan.output)["changes"]
    assert change["adopt"] and change["action"] == "no-op" and not change.get("field_changes"), change


def test_follow_ends_on_ctrl_c_even_when_the_parent_ignored_sigint(cli: Cli) -> None:
    """A CI runner or a pytest worker may start us with SIGINT ignored; Python then installs no
    KeyboardInterrupt handler. --follow still ends on Ctrl-C (exit 0) after the current poll."""
    seed(cli, workers=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "logs", "svc", "--follow", "--poll-interval", "0.05",
         "-o", "json"], env={**os.environ, **cli.env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())  # following: past start-up and the first lines
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
