"""The agent's source and work folder: a work folder that is not the agent's own is never
touched; Git passwords stay out of every record; the project file never chooses a repository
or a git transport; a relative repository path is the user's, and git's own error is shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import Cli


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c",
                           "user.email=t@example.com", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(cli: Cli, repo: Path) -> str:
    """A repository whose main branch holds the manifest ``web``; its commit."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    kept, cli.manifests = cli.manifests, repo
    cli.write("web")
    cli.manifests = kept
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    return git(repo, "rev-parse", "HEAD")


def test_a_work_dir_that_is_not_the_agents_own_is_refused_untouched(cli: Cli,
                                                                      tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(cli, repo)
    # a project's clone: an uncommitted edit, an untracked state file, on a branch
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / "web.yaml").write_text("edited: yes\n")
    (clone / "state.json").write_text("{}\n")
    refused = cli.run("agent", "--once", "--listen", "off", "--source", f"file://{repo}",
                      "--work-dir", str(clone))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "--work-dir" in refused.stderr and "not empty" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert (clone / "web.yaml").read_text() == "edited: yes\n"
    assert (clone / "state.json").read_text() == "{}\n"
    assert git(clone, "symbolic-ref", "--short", "HEAD") == "main"  # not detached
    # a new folder is made, marked as the agent's, and used again by the next run
    work = tmp_path / "work"
    for _ in range(2):
        done = cli.run("agent", "--once", "--listen", "off", "--source", f"file://{repo}",
                       "--work-dir", str(work))
        assert done.returncode == 0, done.stderr
    assert (work / "web.yaml").exists()
    # ... but not for another source
    other = tmp_path / "other"
    make_repo(cli, other)
    refused = cli.run("agent", "--once", "--listen", "off", "--source", f"file://{other}",
                      "--work-dir", str(work))
    assert refused.returncode == 1 and "another source" in refused.stderr, refused.stderr


PASSWORD = "PW-s3cret-9f1c"
SECRET_URL = f"https://git-user:{PASSWORD}@127.0.0.1:9/acme/deploy.git"


def test_a_git_password_stays_out_of_the_lock_info_and_other_commands(cli: Cli,
                                                                       pg_state: str) -> None:
    from agent_helpers import AgentProcess

    from reconciler.state.backend import open_backend

    cli.write("web")
    for env in ({}, {"YOTTACTL_STATE": pg_state}):
        agent = AgentProcess(cli, "--mode", "heal", "--listen", "off", "--source", SECRET_URL,
                             "--work-dir", str(cli.folder / f"work{len(env)}"), env=env)
        try:
            agent.wait_for("leader")
            agent.wait_for("cycle")  # the fetch failed; the lock is held meanwhile
            if env:
                store = open_backend(pg_state)
                try:
                    holder = store.holder()
                finally:
                    store.close()
                assert holder is not None
                recorded = holder.who()
            else:
                infos = list(cli.state.parent.glob("*.lock.info"))
                assert infos, list(cli.state.parent.iterdir())
                recorded = infos[0].read_text()
                locked = cli.run("apply", "--auto-approve", str(cli.manifests))
                assert locked.returncode == 1 and "locked" in locked.stderr, locked.stderr
                assert PASSWORD not in locked.stderr and "***@127.0.0.1" in locked.stderr
            assert "yottactl agent" in recorded and "https://***@127.0.0.1:9/acme" in recorded
            assert PASSWORD not in recorded and "git-user" not in recorded
            assert not any(PASSWORD in str(e) for e in agent.seen)
        finally:
            assert agent.stop() == 0


EXT_ALLOWED = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.ext.allow",
               "GIT_CONFIG_VALUE_0": "always"}  # a user's git config that allows ext::


def test_the_project_file_never_chooses_a_repository_or_a_git_transport(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a folder named like git's ext:: transport and ending .git (a pull request can add both)
    evil = "ext::touch pwned.git"
    project = tmp_path / "project"
    (project / evil).mkdir(parents=True)
    (project / "yottactl.yaml").write_text(f'agent:\n  source: "{evil}"\n')
    monkeypatch.chdir(project)
    from_file = cli.run("agent", "--once", "--listen", "off", env=EXT_ALLOWED)
    assert from_file.returncode == 1 and "--source URL" in from_file.stderr, from_file.stderr
    (project / "yottactl.yaml").write_text("agent:\n  mode: observe\n")
    from_flag = cli.run("agent", "--once", "--listen", "off", "--source", evil, env=EXT_ALLOWED)
    assert from_flag.returncode == 1 and "TRANSPORT::" in from_flag.stderr, from_flag.stderr
    assert list(tmp_path.rglob("pwned*")) == []  # no command ran
    # a folder in the project whose name ends .git is read as a folder, never fetched
    (project / "yottactl.yaml").write_text('agent:\n  source: "deploy.git"\n')
    (project / "deploy.git").mkdir()
    kept, cli.manifests = cli.manifests, project / "deploy.git"
    cli.write("web")
    cli.manifests = kept
    git(project / "deploy.git", "init", "-q", "-b", "main")
    read = cli.run("agent", "--once", "--listen", "off", env=EXT_ALLOWED)
    assert read.returncode == 0, read.stderr
    assert "source=deploy.git " not in read.stderr and "(main)" not in read.stderr
    assert not (project / ".yottactl-agent").exists()  # nothing fetched, nothing checked out


def test_a_relative_repository_is_the_users_and_gits_error_is_shown(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_repo(cli, tmp_path / "deploy.git")
    (tmp_path / "work" / "deploy.git").mkdir(parents=True)  # not the one named: never read
    monkeypatch.chdir(tmp_path)
    healed = cli.run("agent", "--once", "--mode", "heal", "--listen", "off",
                     "--source", "deploy.git", "--work-dir", "work/checkout")
    assert healed.returncode == 0, healed.stderr
    assert [d.name for d in cli.client().list()] == ["web"]
    missing = cli.run("agent", "--once", "--listen", "off", "--work-dir", "other",
                      "--source", f"file://{tmp_path}/missing.git")
    assert missing.returncode == 1
    assert "does not appear to be a git repository" in missing.stderr, missing.stderr


def test_branch_and_source_path_need_a_git_source_and_stay_inside_it(cli: Cli,
                                                                      tmp_path: Path) -> None:
    for flag in (("--branch", "dev"), ("--source-path", "deploy")):
        folder = cli.run("agent", "--once", "--listen", "off", "--source", str(cli.manifests),
                         *flag)
        assert folder.returncode == 1 and "needs a Git --source" in folder.stderr, folder.stderr
    repo = tmp_path / "repo"
    make_repo(cli, repo)
    for outside in ("../..", "deploy/../../x", str(tmp_path)):
        refused = cli.run("agent", "--once", "--listen", "off", "--source", f"file://{repo}",
                          "--work-dir", str(tmp_path / "work"), "--source-path", outside)
        assert refused.returncode == 1, refused.stderr
        assert "not a folder inside the checkout" in refused.stderr, refused.stderr
    assert not (tmp_path / "work").exists()
