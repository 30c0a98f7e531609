"""Local state backend: atomic versioned JSON file, ``.backup``, OS lock, and the journal.

Files, beside ``state/yottactl.state.json``:
  ``.backup``     the previous version, kept on every write
  ``.lock``       the OS-level lock (filelock: released by the kernel when the holder dies)
  ``.lock.info``  who holds it: id, pid, host, user, command, start time
  ``.journal``    append-only JSON lines: an *intent* before each mutating API call and its
                  *outcome* after; folded into the state and removed at the end of a run
All are created with mode 0600. Nothing here ever sees a secret value or the API key.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.errors import LockHeld, StateError
from reconciler.state.model import FORMAT_VERSION, State

DEFAULT_PATH = "state/yottactl.state.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str) -> None:
    """temp file in the same folder, fsync, rename, fsync the folder: all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


class StateFile:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or os.environ.get("YOTTACTL_STATE") or DEFAULT_PATH)
        self.backup = self.path.with_name(self.path.name + ".backup")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.info_path = self.path.with_name(self.path.name + ".lock.info")
        self._write_lock = threading.Lock()

    # -- read / write -----------------------------------------------------------------------

    def read(self) -> State | None:
        """The state, or None if there is none yet. Refuses anything it cannot trust."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state {self.path}: {exc.strerror}") from exc
        recover = (f"restore the previous version with `cp {self.backup} {self.path}` "
                   "or fix the file by hand; yottactl never overwrites a state it cannot read")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateError(f"state {self.path} is not valid JSON (line {exc.lineno})",
                             hint=recover) from exc
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise StateError(
                f"state {self.path} has format_version {version!r}; this yottactl reads "
                f"version {FORMAT_VERSION}", hint="use the yottactl version that wrote it")
        try:
            return State.model_validate(data)
        except ValidationError as exc:
            raise StateError(f"state {self.path} is malformed: {exc.errors()[0]['msg']}",
                             hint=recover) from exc

    def write(self, state: State, expected_lineage: str | None = None) -> State:
        """Write the next serial atomically, keeping the previous file as ``.backup``."""
        with self._write_lock:
            if expected_lineage and state.lineage != expected_lineage:
                raise StateError("refusing to write a state of another lineage")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            nxt = state.model_copy(update={"serial": state.serial + 1})
            if self.path.exists():
                with contextlib.suppress(OSError):
                    os.replace(self.path, self.backup)  # rename: the backup is the old inode
            atomic_write(self.path, nxt.model_dump_json(indent=1) + "\n")
            return nxt

    # -- journal ----------------------------------------------------------------------------

    def journal(self, record: dict[str, Any]) -> None:
        if os.environ.get("YOTTACTL_DISABLE_JOURNAL") == "1":  # crash tests prove it matters
            return
        line = json.dumps({"time": now_iso(), **record}, sort_keys=True) + "\n"
        with self._write_lock:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def journal_records(self) -> list[dict[str, Any]]:
        try:
            lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            with contextlib.suppress(json.JSONDecodeError):  # a torn last line is expected
                records.append(json.loads(line))
        return records

    def clear_journal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.journal_path.unlink()

    # -- lock -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, command: str, timeout: float = 0.0,
               warn: Any = None) -> Iterator[str]:
        """Hold the state lock for a whole run; yields the lock id."""
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path), mode=0o600)
        try:
            lock.acquire(timeout=max(timeout, 0.0))
        except Timeout:
            info = self._info()
            for _ in range(50):  # the holder writes its info right after taking the lock
                if info:
                    break
                time.sleep(0.01)
                info = self._info()
            who = (f"pid {info.get('pid')} on {info.get('host')} ({info.get('user')}), "
                   f"running `{info.get('command')}` since {info.get('started')}"
                   if info else "another process")
            raise LockHeld(f"the state is locked by {who}",
                           detail=f"lock id: {info.get('id', '?')}  file: {self.lock_path}",
                           hint="wait for it to finish (or pass --lock-timeout SECONDS); if "
                                "that process is gone, run `yottactl force-unlock LOCK_ID`") from None
        previous = self._info()
        if previous and warn is not None:
            warn(f"took over the state lock left by pid {previous.get('pid')} on "
                 f"{previous.get('host')} (`{previous.get('command')}`), which is no longer running")
        lock_id = str(uuid.uuid4())
        info = {"id": lock_id, "pid": os.getpid(), "host": socket.gethostname(),
                "user": _user(), "command": command, "started": now_iso()}
        atomic_write(self.info_path, json.dumps(info) + "\n")
        try:
            yield lock_id
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.info_path.unlink()
            lock.release()

    def _info(self) -> dict[str, Any]:
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, json.JSONDecodeError):
            return {}

    def force_unlock(self, lock_id: str) -> dict[str, Any]:
        info = self._info()
        if not info:
            raise StateError("the state is not locked", hint="nothing to unlock")
        if info.get("id") != lock_id:
            raise StateError(f"lock id {lock_id} does not match the current lock {info.get('id')}",
                             hint="copy the id from the 'locked by' message")
        for path in (self.info_path, self.lock_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return info


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def command_line() -> str:
    """This process's command line for the lock info, with --api-key values redacted."""
    args, hide = [], False
    for arg in sys.argv[1:]:
        if hide:
            args.append("***")
        elif arg.startswith("--api-key="):
            arg = "--api-key=***"
        if not hide:
            args.append(arg)
        hide = arg == "--api-key"
    return " ".join(["yottactl", *args])[:200]

