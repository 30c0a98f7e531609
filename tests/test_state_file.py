"""The file state backend: never absent, never reset, clean errors, locks that tell the truth."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.errors import LockHeld, StateError
from reconciler.state.backend import StateFile
from reconciler.state.model import State, StateEntry
from reconciler.state.records import IntentRecord

from conftest import Cli

# Kills a state write just before its K-th file-system operation (an audit hook runs before
# each one), as a SIGKILL at that instant would. K=0 counts the operations instead.
KILL_INSIDE_WRITE = """
import os, sys
from reconciler.state.backend import StateFile
from reconciler.state.model import StateEntry
path, kill_at = sys.argv[1], int(sys.argv[2])
store = StateFile(path)
state = store.read()
seen = 0
def hook(event, args):
    global seen
    if event in ("open", "os.rename", "os.link", "os.remove", "os.chmod", "os.mkdir"):
        seen += 1
        if seen == kill_at:
            os._exit(9)
sys.addaudithook(hook)
store.write(state.with_entry("new", StateEntry(id="2")))
sys.stdout.write(str(seen))
"""


def _entry(i: int) -> StateEntry:
    return StateEntry(id=str(10**17 + i), spec={"image": "vllm/vllm-openai:v0.6.3", "workers": i})


def test_a_kill_at_any_point_of_a_write_leaves_a_complete_state(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    store = StateFile(origin / "s.json")
    first = store.write(State.empty().with_entry("old", _entry(1)))
    store.write(first)  # a .backup exists too, as in any run after the first
    before = {p.name: p.read_bytes() for p in origin.iterdir()}

    def run(kill_at: int) -> subprocess.CompletedProcess[str]:
        folder = tmp_path / f"k{kill_at}"
        shutil.copytree(origin, folder)
        return subprocess.run([sys.executable, "-c", KILL_INSIDE_WRITE, str(folder / "s.json"),
                               str(kill_at)], capture_output=True, text=True, timeout=60)

    counted = run(0)
    assert counted.returncode == 0, counted.stderr
    operations = int(counted.stdout)
    assert operations >= 3  # temp file, backup link, rename at least: the kills below hit them
    for kill_at in range(1, operations + 1):
        result = run(kill_at)
        assert result.returncode == 9, (kill_at, result.stderr)
        after = StateFile(tmp_path / f"k{kill_at}" / "s.json").read()
        assert after is not None, f"killed before operation {kill_at}: no state file"
        assert after.lineage == first.lineage and after.serial in (2, 3), kill_at
        backup = json.loads((tmp_path / f"k{kill_at}" / "s.json.backup").read_text())
        assert backup["serial"] in (1, 2), kill_at
    assert {p.name: p.read_bytes() for p in origin.iterdir()} == before
    # a kill between the temp file and the rename leaves the temp file; the next run that takes
    # the lock removes it
    leftovers = [f for f in tmp_path.glob("k*/.s.json*.tmp")]
    assert leftovers, "no kill landed between a temp file and its rename"
    for folder in {f.parent for f in leftovers}:
        with StateFile(folder / "s.json").locked("apply"):
            pass
    assert not list(tmp_path.glob("k*/.s.json*.tmp"))


def test_a_lost_state_file_is_an_error_never_a_fresh_state(tmp_path: Path) -> None:
    store = StateFile(tmp_path / "s.json")
    assert store.read() is None  # nothing says there was one: "no state yet"
    store.write(store.write(State.empty().with_entry("a", _entry(1))))
    store.path.unlink()
    with pytest.raises(StateError, match="missing, but its backup") as err:
        store.read()
    assert f"cp {store.backup} {store.path}" in err.value.hint
    store.backup.unlink()
    store.journal(IntentRecord(deployment="a", op="create"))
    with pytest.raises(StateError, match="missing, but its journal"):
        store.read()


def test_a_lost_state_file_stops_apply(cli: Cli) -> None:
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.state.unlink()
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 1 and "missing, but its backup" in result.stderr
    assert "Traceback" not in result.stderr and not cli.state.exists()
    assert [d.name for d in cli.client().list()] == ["a"]


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply_limit


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(".lock")}


def test_a_full_disk_is_a_clean_error_and_changes_nothing(cli: Cli) -> None:
    for name in ("a", "b", "c"):
        cli.write(name)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    before = _snapshot(cli.state.parent)
    assert {"yottactl.state.json", "yottactl.state.json.backup"} <= set(before)
    assert len(before["yottactl.state.json"]) > 2048  # above the limit below: the write must fail
    cli.remove("c")
    cli.write("d")
    for args in (("state", "rm", "a"), ("apply", str(cli.manifests), "--auto-approve")):
        result = subprocess.run([sys.executable, "-m", "reconciler", *args],
                                env={**os.environ, **cli.env}, capture_output=True, text=True,
                                timeout=60, preexec_fn=_limit_file_size(1024))
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "cannot write the state" in result.stderr and "hint: free disk space" in result.stderr
        assert "Traceback" not in result.stderr
        assert _snapshot(cli.state.parent) == before, args
    assert sorted(d.name for d in cli.client().list()) == ["a", "b", "c"]


def test_a_symlinked_state_is_followed_and_shares_one_lock(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "team.state.json"
    cli.state.parent.mkdir(parents=True)
    cli.state.symlink_to(target)
    target.parent.mkdir()
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("a", workers=3)
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    assert cli.state.is_symlink() and os.readlink(cli.state) == str(target)
    assert json.loads(target.read_text())["deployments"]["a"]["spec"]["workers"] == 3
    assert Path(str(target) + ".backup").exists()
    by_link, by_target = StateFile(cli.state), StateFile(target)
    with by_link.locked("yottactl apply (holder)"), pytest.raises(LockHeld, match="holder"), \
            by_target.locked("yottactl apply (second)"):
        pass


@pytest.mark.parametrize("content, words", [
    (b'{"format_version": 1, "lineage": "x", "serial": 3, "deployments": {"\xff": 1}}',
     "is not UTF-8 text"),
])
def test_a_state_that_is_not_utf8_is_refused(cli: Cli, content: bytes, words: str) -> None:
    cli.write("a")
    cli.state.parent.mkdir(parents=True)
    cli.state.write_bytes(content)
    result = cli("apply", str(cli.manifests), "--auto-approve")
    assert result.exit_code == 1 and words in result.stderr and "hint:" in result.stderr
    assert cli.state.read_bytes() == content and cli.client().list() == []


@pytest.mark.parametrize("line", ["[1, 2]", '"intent"', "42", "null"])
def test_journal_lines_that_are_not_objects_are_refused(cli: Cli, line: str) -> None:
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    journal = Path(str(cli.state) + ".journal")
    journal.write_text(line + "\n" + json.dumps({"phase": "state", "deployment": "x"}) + "\n")
    before = _snapshot(cli.state.parent)
    for args in (("apply", str(cli.manifests), "--auto-approve"), ("plan", str(cli.manifests))):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.stderr)
        assert "journal" in result.stderr and "line 1 is not a yottactl journal record" in result.stderr
        assert "Traceback" not in result.stderr and _snapshot(cli.state.parent) == before


def _drop_root_file_powers() -> None:
    """As root, directory permissions are not enforced: drop those powers for the child."""
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def read_only(cli: Cli) -> Iterator[Path]:
    folder = cli.state.parent
    yield folder
    folder.chmod(0o700)


def test_a_read_only_state_folder_is_a_clean_error(cli: Cli, read_only: Path) -> None:
    cli.write("a")
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    cli.write("b")
    before = _snapshot(read_only)
    read_only.chmod(0o500)
    result = subprocess.run([sys.executable, "-m", "reconciler", "apply", str(cli.manifests),
                             "--auto-approve"], env={**os.environ, **cli.env}, capture_output=True,
                            text=True, timeout=60, preexec_fn=_drop_root_file_powers)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Permission denied" in result.stderr and f"make {read_only} writable" in result.stderr
    assert "Traceback" not in result.stderr and _snapshot(read_only) == before
    assert [d.name for d in cli.client().list()] == ["a"]


def _hold(store: StateFile) -> tuple[threading.Event, threading.Thread]:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.locked("yottactl apply (holder)"):
            held.set()
            release.wait(60)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return release, thread


def test_force_unlock_refuses_a_live_holder_on_this_host(cli: Cli) -> None:
    cli.write("a")
    store = StateFile(cli.state)
    release, thread = _hold(store)
    try:
        lock_id = json.loads(store.info_path.read_text())["id"]
        busy = cli("apply", str(cli.manifests), "--auto-approve")
        assert busy.exit_code == 1 and "locked by pid" in busy.stderr
        assert "force-unlock" not in busy.stderr and "--lock-timeout" in busy.stderr
        for args in (("force-unlock", lock_id), ("force-unlock", lock_id, "--force")):
            refused = cli(*args)
            assert refused.exit_code == 1 and "still running on this host" in refused.stderr
            assert store.info_path.exists() and store.lock_path.exists()
    finally:
        release.set()
        thread.join()


def test_a_holder_on_another_host_needs_force_and_is_not_called_dead(cli: Cli) -> None:
    assert socket.gethostname() != "build-runner-7"
    cli.write("a")
    info = Path(str(cli.state) + ".lock.info")
    info.parent.mkdir(parents=True)
    holder = {"id": "remote-id", "pid": os.getpid(), "host": "build-runner-7", "user": "ci",
              "command": "yottactl apply", "started": "2026-01-01"}
    info.write_text(json.dumps(holder))
    refused = cli("force-unlock", "remote-id")
    assert refused.exit_code == 1 and "cannot know whether it is still running" in refused.stderr
    assert "--force" in refused.stderr and info.exists()
    assert cli("force-unlock", "remote-id", "--force").exit_code == 0 and not info.exists()
    info.write_text(json.dumps(holder))
    taken = cli.subprocess("apply", str(cli.manifests), "--auto-approve")
    assert taken.returncode == 0, taken.stderr
    assert "took over the state lock left by pid" in taken.stderr
    assert "no longer running" not in taken.stderr and "cannot know" in taken.stderr
