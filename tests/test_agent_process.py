"""`yottactl agent` as a real process: SIGTERM mid-cycle leaves nothing unrecorded and exits 0;
a file state allows one agent only; a Git source's commits are recorded."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from agent_helpers import AgentProcess, FakeClock, reconciler, run_loop
from test_postgres_lock_loss import DEADLINE, HoldOne

from reconciler.app.agent_source import open_source
from reconciler.emulator.server import EmulatorServer
from reconciler.state.backend import open_backend

from conftest import Cli


def test_sigterm_mid_cycle_finishes_the_step_records_it_and_exits_0(tmp_path: Path) -> None:
    held = HoldOne("endpointCreate")
    server = EmulatorServer(held).start()
    try:
        cli = Cli(server, tmp_path)
        cli.write("web")
        agent = AgentProcess(cli, "--mode", "heal", "--listen", "off",
                             "--source", str(cli.manifests))
        assert held.reached.wait(DEADLINE), "the agent never sent its create"
        agent.proc.send_signal(signal.SIGTERM)  # while the create is in flight
        held.release.set()
        agent.wait_for("stopped")
        assert agent.proc.wait(timeout=DEADLINE) == 0
        state = json.loads(cli.state.read_text())
        assert list(state["deployments"]) == ["web"]  # the in-flight create was recorded
        journal = Path(str(cli.state) + ".journal")
        assert not journal.exists() or journal.read_text() == ""
        assert [d.name for d in cli.client().list()] == ["web"]
    finally:
        server.stop()


def test_a_file_state_allows_one_agent_only(cli: Cli) -> None:
    cli.write("web")
    first = AgentProcess(cli, "--mode", "heal", "--listen", "off", "--source", str(cli.manifests))
    try:
        first.wait_for("leader")
        second = subprocess.run(AgentProcess.argv("--mode", "heal", "--listen", "off",
                                                  "--source", str(cli.manifests)),
                                env=AgentProcess.environ(cli), capture_output=True, text=True,
                                timeout=DEADLINE, cwd=cli.folder)
        assert second.returncode == 1
        assert "a file state allows one agent only" in second.stderr
        assert "PostgreSQL" in second.stderr and "Traceback" not in second.stderr
    finally:
        assert first.stop() == 0


def test_once_runs_one_cycle_and_exits_with_its_outcome(cli: Cli) -> None:
    cli.write("web")
    assert cli.client().list() == []  # precondition: there is something to heal
    healed = cli("agent", "--once", "--mode", "heal", "--listen", "off",
                 "--source", str(cli.manifests))
    assert healed.exit_code == 0, healed.output
    assert [d.name for d in cli.client().list()] == ["web"]
    assert json.loads(cli.state.read_text())["deployments"].keys() == {"web"}
    # a cycle that fails (a manifest that does not parse) exits 1, naming it, with no traceback
    (cli.manifests / "broken.yaml").write_text("kind: [\n")
    failed = cli.run("agent", "--once", "--listen", "off", "--source", str(cli.manifests))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "broken.yaml" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c",
                           "user.email=t@example.com", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_git_source_records_each_commit(cli: Cli, tmp_path: Path, pg_state: str) -> None:
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / ".github").mkdir()
    (repo / ".github" / "ci.yaml").write_text("on: push\n")  # not a manifest: not read
    git(repo, "init", "-q", "-b", "main")
    cli.manifests = repo / "deploy"
    cli.write("web", workers=1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")

    def push(clock: FakeClock) -> None:
        cli.write("web", workers=3)
        git(repo, "commit", "-q", "-am", "two")

    clock = FakeClock(cycles=2, on_wait=push)
    rec = reconciler(cli, clock, state=pg_state, mode="heal")
    rec.source = open_source(f"file://{repo}", "main", tmp_path / "work", "deploy")
    run_loop(rec, clock)
    second = git(repo, "rev-parse", "HEAD")
    heals = [(h.text, h.commit) for h in reversed(rec.board.read().history) if h.kind == "heal"]
    assert heals == [("healed web", first), ("healed web", second)]
    assert rec.board.read().commit == second
    assert next(d.totalWorkers for d in cli.client().list() if d.name == "web") == 3
    store = open_backend(pg_state)
    try:
        commands = [v.command for v in store.history(10)]
    finally:
        store.close()
    assert any(f"(commit {second})" in c for c in commands), commands
    assert any(f"(commit {first})" in c for c in commands), commands
