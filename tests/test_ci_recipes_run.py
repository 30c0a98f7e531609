"""The GitHub recipes' shell steps EXECUTED against the emulator, with GitHub simulated.

tests/ghactions.py runs each workflow's jobs as the runner would (bash steps, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, `${{ }}` in env/if/outputs, needs, matrix, artifacts); tests/fake_gh.py plays
`gh` on a JSON "repository". The state is shared between jobs and runs the way the recipes
expect: through the secret YOTTACTL_STATE, a URL of the test PostgreSQL (tests/pgserver.py)
without ``?state=``: each environment of yottactl.yaml gets its own named state in it, and
nothing is written into the checkout.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import STOP_POLL_SECONDS, EmulatorServer
from reconciler.plan.model import Plan
from reconciler.render.plan_markdown import render_markdown

from conftest import API_KEY, CANARY, FAST_RETRY, manifest_text, start_emulator
from ghactions import JobRun, Runner

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "examples" / "ci" / "github"
REPO = "acme/fleet"
BOT = "github-actions[bot]"


class Webhook:
    """A chat webhook on loopback that records what it receives and answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(json.loads(body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True,
                     kwargs={"poll_interval": STOP_POLL_SECONDS}).start()


class GitHub:
    """A repository with manifests, a fake GitHub behind `gh`, and one shared state."""

    def __init__(self, tmp: Path, emulator: EmulatorServer, webhook: Webhook, database: str) -> None:
        self.tmp, self.emulator = tmp, emulator
        self.repo = tmp / "repo"
        (self.repo / "deploy").mkdir(parents=True)
        (self.repo / ".github" / "yottactl").mkdir(parents=True)
        (self.repo / ".github" / "yottactl" / "drift-acks.yaml").write_text("[]\n")
        self.tools = tmp / "tools"
        self.tools.mkdir()
        gh = self.tools / "gh"
        gh.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
                      "from fake_gh import main\nmain(sys.argv[1:])\n")
        gh.chmod(0o755)
        self.gh_state, self.gh_log = tmp / "github.json", tmp / "gh-calls.jsonl"
        # the recipes select environments (YOTTACTL_ENV); one database URL serves them all
        self.database = database
        (self.repo / "yottactl.yaml").write_text(
            "manifests: deploy\nenvironments:\n  staging: {}\n  prod: {}\n")
        # secrets live in GitHub environments, as the recipes ask: none repository-wide
        self.environments = {
            "yottactl-plan": {"YOTTA_PLAN_API_KEY": API_KEY, "YOTTACTL_STATE": database,
                              "HF_TOKEN": CANARY},
            "prod": {"YOTTA_API_KEY": API_KEY, "YOTTACTL_STATE": database, "HF_TOKEN": CANARY},
            "yottactl-drift": {"DRIFT_WEBHOOK_URL": webhook.url},
        }
        self.runs = 0

    def write(self, name: str, **kw: Any) -> None:
        (self.repo / "deploy" / f"{name}.yaml").write_text(manifest_text(name, **kw))

    def run(self, recipe: str, event: dict[str, Any] | None = None,
            secrets: dict[str, str] | None = None, changed: list[str] | None = None) -> Runner:
        """One run of `recipe`; `secrets` replace those of the same name in every environment;
        `changed`: the files the push or pull request changed (the `paths` filter decides)."""
        self.runs += 1
        bindir = str(Path(sys.executable).parent)
        environments = {name: {k: (secrets or {}).get(k, v) for k, v in values.items()}
                        for name, values in self.environments.items()}
        runner = Runner(
            RECIPES / recipe, self.repo, self.tmp / f"run-{self.runs}", self.tools, {},
            {"repository": REPO, "server_url": "https://github.com", "run_id": str(self.runs),
             "token": "ghs_fake_token", "event": event or {}, "sha": self.sha(),
             "ref_name": "main"},
            {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(self.tmp),
             "FAKE_GH_STATE": str(self.gh_state), "FAKE_GH_LOG": str(self.gh_log),
             "LANG": "C.UTF-8"},
            variables={"YOTTA_API_URL": self.emulator.url},  # the recipes' endpoint pin
            environments=environments,
            event_name={"yottactl-plan.yml": "pull_request", "yottactl-apply.yml": "push"}.get(
                recipe, "schedule"),
            changed=changed,
        )
        runner.run()
        return runner

    def sha(self) -> str:
        """The commit a run is of: one per run."""
        return f"{self.runs:040x}"

    def state(self, environment: str) -> dict[str, Any] | None:
        """The environment's state in the database, as `yottactl state pull` prints it."""
        from reconciler.state.backend import open_backend

        backend = open_backend(f"{self.database}{'&' if '?' in self.database else '?'}"
                               f"state={environment}")
        try:
            state = backend.read()
        finally:
            backend.close()
        return None if state is None else dict(json.loads(state.model_dump_json()))

    def files_written_by_runs(self) -> list[Path]:
        """Anything state-like the runs left on the runner's disk (the checkout included)."""
        return [p for p in self.tmp.rglob("*") if p.suffix in (".journal", ".lock", ".backup")
                or p.name.endswith((".state.json", ".lock.info"))]

    def data(self) -> dict[str, Any]:
        return json.loads(self.gh_state.read_text()) if self.gh_state.exists() else {}

    def calls(self) -> list[list[str]]:
        if not self.gh_log.exists():
            return []
        return [json.loads(line) for line in self.gh_log.read_text().splitlines()]

    def live(self) -> dict[str, Any]:
        from reconciler.api.client import YottaClient

        with YottaClient(API_KEY, self.emulator.url, retry=FAST_RETRY) as client:
            return {d.name: d for d in client.list()}


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


@pytest.fixture
def github(tmp_path: Path, webhook: Webhook, pg_database: str) -> Iterator[GitHub]:
    assert shutil.which("jq"), "the recipes (and gh --jq) need jq, as on GitHub's runners"
    server = start_emulator(api_key=API_KEY)  # a wrong key is refused
    yield GitHub(tmp_path, server, webhook, pg_database)
    server.stop()


def job(runner: Runner, name: str) -> JobRun:
    [found] = [j for j in runner.jobs if j.name == name]
    return found


def step(run: JobRun, name: str) -> Any:
    [found] = [s for s in run.steps if s.name == name]
    return found


def failure_report(runner: Runner) -> str:
    return "\n".join(f"{j.name} {j.result}: {s.name} {s.outcome} {s.exit_code}\n{s.stdout}{s.stderr}"
                     for j in runner.jobs for s in j.steps)


HEAD = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"  # the pull request's head commit
PR = {"pull_request": {"number": 7, "head": {"sha": HEAD}}}


def comments(github: GitHub) -> list[dict[str, Any]]:
    return list(github.data().get("comments", {}).get("7", []))


def test_plan_recipe_keeps_one_comment_per_environment_and_shows_a_failed_plan(
        github: GitHub) -> None:
    github.write("llama")
    github.write("embedder", workers=1)
    run = github.run("yottactl-plan.yml", PR)
    assert [(j.name, j.result) for j in run.jobs] == [
        ("plan-staging", "success"), ("plan-prod", "success"), ("comment", "success")], \
        failure_report(run)
    assert step(job(run, "plan-prod"), "Plan").exit_code == 0
    assert job(run, "plan-prod").steps[-2].name == "Plan"
    # both plans read their environment's state in the database: a PR plan writes nothing
    assert github.state("prod") is None and github.state("staging") is None
    first = comments(github)
    assert [c["body"].splitlines()[0] for c in first] == [
        "<!-- yottactl-plan:prod -->", "<!-- yottactl-plan:staging -->"]
    for c, environment in zip(first, ("prod", "staging"), strict=True):
        assert "**2** to create" in c["body"] and "`embedder`" in c["body"], c["body"]
        assert f"### yottactl plan: {environment}" in c["body"]  # the matrix selected it
        assert CANARY not in c["body"]
        # it names the commit it is the plan of, and links the run that made it
        assert f"Plan of commit {HEAD} · [workflow run](https://github.com/{REPO}/actions/runs/" \
            in c["body"], c["body"]
    # a comment by someone else that quotes the marker (listed first) is never touched
    data = github.data()
    data["comments"]["7"].insert(0, {"id": 1, "body": "<!-- yottactl-plan:prod --> quoted",
                                     "user": {"login": "alice"}})
    github.gh_state.write_text(json.dumps(data))

    run = github.run("yottactl-plan.yml", PR, secrets={"YOTTA_PLAN_API_KEY": "wrong-key"})
    assert job(run, "plan-prod").result == "failure" and job(run, "comment").result == "success"
    assert step(job(run, "plan-prod"), "Plan").exit_code == 1
    after = comments(github)
    assert [c["id"] for c in after] == [1] + [c["id"] for c in first]  # updated in place
    for c in after[1:]:
        assert "failed" in c["body"] and "to create" not in c["body"], c["body"]
        assert "401" in c["body"] or "API key" in c["body"], c["body"]
    assert after[0]["body"] == "<!-- yottactl-plan:prod --> quoted"

    run = github.run("yottactl-plan.yml", PR)  # fixed: the comment shows the plan again
    assert job(run, "plan-prod").result == "success"
    assert all("**2** to create" in c["body"] for c in comments(github)[1:])


def test_a_plan_breaking_a_mandatory_policy_is_the_comment_led_by_its_policy_block(
        github: GitHub) -> None:
    (github.repo / "yottactl.yaml").write_text(
        "manifests: deploy\npolicies:\n  maxHourlyCost: {max: 40}\nenvironments:\n  staging: {}\n"
        "  prod:\n    policies:\n      maxWorkers: {max: 1}\n")
    github.write("llama")  # 2 workers
    run = github.run("yottactl-plan.yml", PR)
    assert job(run, "plan-prod").result == "failure" and job(run, "comment").result == "success"
    assert job(run, "plan-staging").result == "success", failure_report(run)
    bodies = {c["body"].splitlines()[0]: c["body"] for c in comments(github)}
    prod, staging = bodies["<!-- yottactl-plan:prod -->"], bodies["<!-- yottactl-plan:staging -->"]
    assert "breaks a mandatory policy" in prod and "failed" not in prod, prod
    policy = prod.index("Policy (prod): 1 violation")
    assert prod.index("### yottactl plan: prod") < policy < prod.index("to create"), prod
    assert "Budget: $1.00/h of $40.00/h" in prod and "workers 2 is over maxWorkers 1" in prod
    assert "Policy (staging): 1 rule passed" in staging, staging
    assert "**Budget: $1.00/h of $40.00/h (today $0.00/h)**" in staging, staging


def test_invalid_manifest_puts_its_position_in_the_comment(github: GitHub) -> None:
    github.write("llama")
    (github.repo / "deploy" / "broken.yaml").write_text(
        manifest_text("broken").replace("containerVolumeInGb: 50", "containerVolumeInGB: 50"))
    run = github.run("yottactl-plan.yml", PR)
    assert job(run, "plan-prod").result == "failure" and job(run, "comment").result == "success"
    for c in comments(github):
        assert "failed" in c["body"] and "broken.yaml:" in c["body"], c["body"]
        assert "containerVolumeInGb" in c["body"]  # the did-you-mean hint reaches the reviewer


def test_plan_comment_fits_githubs_limit_and_the_full_plan_is_an_artifact(github: GitHub) -> None:
    for i in range(260):
        github.write(f"endpoint-{i:03d}-with-a-long-descriptive-name")
    run = github.run("yottactl-plan.yml", PR)
    assert job(run, "comment").result == "success", failure_report(run)
    bodies = [c["body"] for c in comments(github)]
    assert len(bodies) == 2
    for body in bodies:
        assert len(body) <= 65_536 and "**Truncated:**" in body
        assert body.count("<details>") == body.count("</details>")
    saved = (run.artifacts / "yottactl-plan-prod" / "plan.json").read_text()
    assert len(json.loads(saved)["changes"]) == 260  # the artifact holds the whole plan
    whole = io.StringIO()
    render_markdown(Plan.from_json(saved), whole)
    assert len(whole.getvalue()) > 65_536  # the precondition: uncut, it would not fit


def test_apply_recipe_plans_summarises_and_applies_the_saved_plan(github: GitHub) -> None:
    github.write("llama")
    github.write("embedder", workers=1)
    sha = merged_pull_request(github, 12)
    run = github.run("yottactl-apply.yml")
    assert [(j.name, j.result) for j in run.jobs] == [("plan", "success"), ("apply", "success"),
                                                      ("report", "success")], failure_report(run)
    assert statuses(github, sha) == [("success", "yottactl apply (prod)", "applied")]
    plan_job = job(run, "plan")
    assert plan_job.outputs == {"changes": "true"}
    assert "**2** to create" in plan_job.summary and CANARY not in plan_job.summary
    applied = step(job(run, "apply"), "Apply the saved plan")
    assert "Applying saved plan out/plan.json: 2 change(s)." in applied.stdout
    assert set(github.live()) == {"llama", "embedder"}
    assert "exit 0" in job(run, "apply").summary
    state = github.state("prod")
    assert state is not None and set(state["deployments"]) == {"llama", "embedder"}
    assert github.state("staging") is None  # prod's run, prod's state
    assert "### yottactl plan: prod" in plan_job.summary
    assert CANARY not in json.dumps(state)
    assert github.files_written_by_runs() == []  # the state lives in the database only

    sha = f"{github.runs + 1:040x}"  # a commit of no pull request: a status, no comment
    again = github.run("yottactl-apply.yml")  # nothing to do: the apply job does not run
    assert [(j.name, j.result) for j in again.jobs] == [("plan", "success"), ("apply", "skipped"),
                                                        ("report", "success")]
    assert statuses(github, sha) == [("success", "yottactl apply (prod)",
                                      "no changes: the live deployments match")]
    assert list(github.data()["comments"]) == ["12"]
    assert job(again, "plan").outputs == {"changes": "false"}


def statuses(github: GitHub, sha: str) -> list[tuple[str, str, str]]:
    return [(s["state"], s["context"], s["description"])
            for s in github.data().get("statuses", {}).get(sha, [])]


def merged_pull_request(github: GitHub, number: int) -> str:
    """The next run's commit, as the merge commit of pull request `number`."""
    sha = f"{github.runs + 1:040x}"
    data = github.data() or {"comments": {}, "issues": [], "labels": [], "next_id": 1000}
    data.setdefault("commit_pulls", {})[sha] = [number]
    github.gh_state.write_text(json.dumps(data))
    return sha


def test_apply_recipe_fails_on_an_error_and_applies_nothing(github: GitHub) -> None:
    github.write("llama")
    sha = merged_pull_request(github, 12)
    run = github.run("yottactl-apply.yml", secrets={"YOTTA_PLAN_API_KEY": "wrong-key"})
    assert [(j.name, j.result) for j in run.jobs] == [("plan", "failure"), ("apply", "skipped"),
                                                      ("report", "success")]
    assert github.live() == {}
    assert statuses(github, sha) == [("failure", "yottactl apply (prod)",
                                      "the plan failed: nothing was applied")]
    [comment] = github.data()["comments"]["12"]
    assert comment["body"].startswith("### ❌ yottactl apply (prod): the plan failed")


def test_a_failed_apply_after_merge_is_reported_in_the_run(github: GitHub) -> None:
    """The plan (with the planning key) works, the apply (the prod environment's key) fails:
    the merged commit gets a failure status and its pull request a comment, in this run."""
    github.write("llama")
    sha = merged_pull_request(github, 12)
    run = github.run("yottactl-apply.yml", secrets={"YOTTA_API_KEY": "wrong-key"})
    assert [(j.name, j.result) for j in run.jobs] == [("plan", "success"), ("apply", "failure"),
                                                      ("report", "success")], failure_report(run)
    assert job(run, "apply").outputs == {"exitcode": "1"}
    [(state, context, description)] = statuses(github, sha)
    assert (state, context) == ("failure", "yottactl apply (prod)")
    assert description.startswith("apply failed (exit 1)") and len(description) <= 140
    [comment] = github.data()["comments"]["12"]
    assert "❌ yottactl apply (prod): apply failed" in comment["body"]
    assert f"Commit {sha} · [workflow run](https://github.com/{REPO}/actions/runs/" in comment["body"]
    assert CANARY not in json.dumps(github.data())

    sha = merged_pull_request(github, 13)  # the key fixed: the next merge applies and says so
    run = github.run("yottactl-apply.yml")
    assert job(run, "apply").result == "success", failure_report(run)
    assert set(github.live()) == {"llama"}
    assert statuses(github, sha) == [("success", "yottactl apply (prod)", "applied")]
    assert github.data()["comments"]["13"][0]["body"].startswith("### ✅ yottactl apply (prod): applied")


def test_an_overlay_change_triggers_the_apply_and_is_applied(github: GitHub) -> None:
    """The documented layout: a merged change to overlays/ (or vars/) runs the recipes; a
    change elsewhere does not."""
    (github.repo / "yottactl.yaml").write_text(
        "manifests: deploy\nenvironments:\n  staging: {}\n  prod: {overlays: [overlays/prod.yaml]}\n")
    (github.repo / "overlays").mkdir()
    overlay = github.repo / "overlays" / "prod.yaml"
    overlay.write_text("metadata: {name: llama}\nspec: {workers: 2}\n")
    github.write("llama")
    first = github.run("yottactl-apply.yml", changed=["deploy/llama.yaml", "overlays/prod.yaml"])
    assert job(first, "apply").result == "success", failure_report(first)
    assert github.live()["llama"].totalWorkers == 2

    overlay.write_text("metadata: {name: llama}\nspec: {workers: 3}\n")
    elsewhere = github.run("yottactl-apply.yml", changed=["README.md", "docs/notes.md"])
    assert elsewhere.jobs == [] and github.live()["llama"].totalWorkers == 2  # not started
    planned = github.run("yottactl-plan.yml", PR, changed=["overlays/prod.yaml"])
    assert job(planned, "plan-prod").result == "success", failure_report(planned)
    applied = github.run("yottactl-apply.yml", changed=["overlays/prod.yaml"])
    assert [(j.name, j.result) for j in applied.jobs] == [
        ("plan", "success"), ("apply", "success"), ("report", "success")], failure_report(applied)
    assert github.live()["llama"].totalWorkers == 3
    assert github.run("yottactl-apply.yml", changed=["vars/release.yaml"]).jobs  # vars/ too


def issues(github: GitHub) -> list[dict[str, Any]]:
    return list(github.data().get("issues", []))


def test_drift_recipe_one_issue_updated_on_change_closed_when_clear(
        github: GitHub, webhook: Webhook) -> None:
    from reconciler.api.client import YottaClient

    github.write("llama")
    github.write("embedder", workers=1)
    assert job(github.run("yottactl-apply.yml"), "apply").result == "success"

    applied = github.state("prod")
    assert applied is not None
    clean = github.run("yottactl-drift.yml")
    assert [(j.name, j.result) for j in clean.jobs] == [("detect", "success"), ("issue", "success")]
    assert job(clean, "detect").outputs == {"exitcode": "0"} and issues(github) == []
    assert [lb["name"] for lb in github.data()["labels"]] == ["yottactl-drift"]  # created once

    with YottaClient(API_KEY, github.emulator.url, retry=FAST_RETRY) as client:
        client.scale(github.live()["llama"].id, 3)
    drifted = github.run("yottactl-drift.yml")
    assert job(drifted, "detect").outputs == {"exitcode": "2"}, failure_report(drifted)
    [issue] = issues(github)
    assert issue["state"] == "open" and issue["labels"] == ["yottactl-drift"]
    assert "`llama`" in issue["body"] and "scaled" in issue["body"]
    assert issue["body"].count("<!-- yottactl-drift-fingerprint:") == 1
    assert [r["findings"][0]["deployment"] for r in webhook.received] == ["llama"]

    same = github.run("yottactl-drift.yml")  # same findings: the issue is left alone
    assert job(same, "issue").result == "success"
    assert issues(github) == [issue] and len(webhook.received) == 1
    assert not any(c[:2] in (["issue", "edit"], ["issue", "comment"]) for c in github.calls())

    webhook.status = 500  # a failing webhook does not stop the issue update
    with YottaClient(API_KEY, github.emulator.url, retry=FAST_RETRY) as client:
        client.scale(github.live()["embedder"].id, 4)
    changed = github.run("yottactl-drift.yml")
    assert job(changed, "issue").result == "success", failure_report(changed)
    assert step(job(changed, "issue"), "Notify the chat webhook").outcome == "failure"
    [issue] = issues(github)
    assert "`embedder`" in issue["body"] and len(issue["comments"]) == 1
    assert len(webhook.received) == 2

    broken = github.run("yottactl-drift.yml", secrets={"YOTTA_PLAN_API_KEY": "wrong-key"})
    assert [(j.name, j.result) for j in broken.jobs] == [("detect", "failure"),
                                                         ("issue", "success")]
    [issue] = issues(github)  # an error is never "no drift": the issue says the check fails
    assert issue["state"] == "open" and "drift check failing since 20" in issue["body"]
    assert "`embedder`" in issue["body"]  # the last findings stay, marked as possibly stale
    assert "failing since" in issue["comments"][-1] and len(issue["comments"]) == 2
    again = github.run("yottactl-drift.yml", secrets={"YOTTA_PLAN_API_KEY": "wrong-key"})
    assert job(again, "issue").result == "success"
    assert issues(github) == [issue]  # said once: no new comment, the first time kept
    assert len(webhook.received) == 2

    with YottaClient(API_KEY, github.emulator.url, retry=FAST_RETRY) as client:
        client.scale(github.live()["llama"].id, 2)
        client.scale(github.live()["embedder"].id, 1)
    cleared = github.run("yottactl-drift.yml")
    assert job(cleared, "detect").outputs == {"exitcode": "0"}, failure_report(cleared)
    [issue] = issues(github)
    assert issue["state"] == "closed" and "cleared" in issue["comments"][-1]
    assert len(webhook.received) == 2
    assert github.state("prod") == applied  # drift reads the state and never writes it
    assert github.files_written_by_runs() == []


def test_a_pull_request_cannot_point_the_plan_job_elsewhere(github: GitHub) -> None:
    """The pull request edits yottactl.yaml: prod's endpoint and database are the attacker's.
    The recipe's pinned endpoint and the secret state win (CI=true); the attacker hears nothing."""
    from test_credentials_destination import Attacker

    attacker = Attacker()
    try:
        github.write("llama")
        evil = f"127.0.0.1:{attacker.port}"
        (github.repo / "yottactl.yaml").write_text(
            "manifests: deploy\nenvironments:\n  staging: {}\n"
            f"  prod: {{endpoint: 'http://{evil}', state: 'postgresql://yottactl@{evil}/infra'}}\n")
        run = github.run("yottactl-plan.yml", PR)
        assert job(run, "plan-prod").result == "success", failure_report(run)
        assert attacker.received == []
        [prod] = [c["body"] for c in comments(github) if c["body"].startswith("<!-- yottactl-plan:prod")]
        assert github.emulator.url in prod and evil not in prod and "**1** to create" in prod
    finally:
        attacker.stop()


def test_a_failing_drift_check_opens_the_issue_and_a_working_one_updates_it(
        github: GitHub) -> None:
    github.write("llama")
    broken = github.run("yottactl-drift.yml", secrets={"YOTTA_PLAN_API_KEY": "wrong-key"})
    assert [(j.name, j.result) for j in broken.jobs] == [("detect", "failure"),
                                                         ("issue", "success")]
    [issue] = issues(github)
    assert issue["state"] == "open" and issue["title"] == "yottactl drift: prod"
    assert "drift check failing since 20" in issue["body"] and "/actions/runs/1)" in issue["body"]
    assert "<!-- yottactl-drift-issue:prod -->" in issue["body"]
    works = github.run("yottactl-drift.yml")  # the check works again: llama is pending
    assert job(works, "detect").outputs == {"exitcode": "2"}, failure_report(works)
    [issue] = issues(github)
    assert issue["state"] == "open" and "failing since" not in issue["body"]
    assert "`llama`" in issue["body"] and "works again" in issue["comments"][-1]
