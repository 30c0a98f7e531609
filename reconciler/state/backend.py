"""Local state backend: atomic versioned JSON file, ``.backup``, OS lock, and the journal.

Files, beside ``state/yottactl.state.json``:
  ``.backup``     the previous version, kept on every write
  ``.lock``       the OS-level lock (filelock: released by the kernel when the holder dies)
  ``.lock.info``  who holds it: id, pid, host, user, command, start time
  ``.journal``    append-only JSON lines: an *intent* before each mutating API call and its
                  *outcome* after; folded into the state and removed at the end of a run
All are created with mode 0600. Nothing here ever sees a secret value or the API key.

A state path that is a symbolic link is followed: the files above live beside its target, so
two paths to one state share one lock, and a write updates the target and keeps the link.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

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


def _write_temp(path: Path, text: str) -> str:
    """A complete, fsync'd temp file beside ``path`` (mode 0600); removed again on failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: Path, text: str) -> None:
    """temp file in the same folder, fsync, rename, fsync the folder: all or nothing."""
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _keep_backup(current: Path, backup: Path) -> None:
    """Make ``backup`` a complete copy of ``current`` without ever leaving it half-written:
    a hard link (no data copied) where the file system allows it, else a copied temp file."""
    tmp = backup.with_name(f".{backup.name}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            os.link(current, tmp)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            shutil.copyfile(current, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, backup)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def io_error(action: str, path: Path, exc: OSError) -> StateError:
    """An OSError as a clean StateError: what failed, where, and what to do about it."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        hint = "free disk space (or raise the file size limit) and run the command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"make {path.parent} writable for this user, or pass --state to a writable path"
    else:
        hint = "fix the cause and run the command again"
    return StateError(f"cannot {action} {path}: {reason}",
                      detail="nothing was changed: the previous state and its .backup are intact",
                      hint=hint)


class Journal(Protocol):
    """Where intent/outcome/state records go before and after each API call."""

    def append(self, record: dict[str, Any]) -> None: ...

    def records(self) -> list[dict[str, Any]]: ...

    def clear(self) -> None: ...


class FileJournal:
    """Append-only JSON lines, one fsync per record; a torn last line is expected after a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({"time": now_iso(), **record}, sort_keys=True) + "\n"
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise io_error("append to the journal", self.path, exc) from exc

    def records(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise StateError(f"cannot read the journal {self.path}: {reason}",
                             hint=_JOURNAL_HINT.format(path=self.path)) from exc
        records: list[dict[str, Any]] = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue  # the last line torn by a crash mid-append: it was never acted on
                raise StateError(f"journal {self.path} line {number} is not valid JSON",
                                 hint=_JOURNAL_HINT.format(path=self.path)) from None
            if not isinstance(record, dict):
                raise StateError(f"journal {self.path} line {number} is not a yottactl journal "
                                 f"record (a JSON {type(record).__name__}, not an object)",
                                 hint=_JOURNAL_HINT.format(path=self.path))
            records.append(record)
        return records

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise io_error("remove the journal", self.path, exc) from exc


_JOURNAL_HINT = ("the journal records an interrupted run; yottactl changed nothing. Inspect {path} "
                 "and remove the broken lines (or the file, once `yottactl plan` shows what is live)")


class StateFile:
    def __init__(self, path: str | os.PathLike[str] | None = None,
                 journal: Journal | None = None) -> None:
        given = Path(path or DEFAULT_PATH)  # YOTTACTL_STATE: resolved in reconciler.settings
        # a symlinked state is followed: its target is what is read, written and locked
        self.path = Path(os.path.realpath(given))
        self.backup = self.path.with_name(self.path.name + ".backup")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.info_path = self.path.with_name(self.path.name + ".lock.info")
        self._journal: Journal = journal or FileJournal(self.journal_path)
        self._write_lock = threading.Lock()

    # -- read / write -----------------------------------------------------------------------

    def read(self) -> State | None:
        """The state, or None if there is none yet. Refuses anything it cannot trust."""
        recover = (f"restore the previous version with `cp {self.backup} {self.path}` "
                   "or fix the file by hand; yottactl never overwrites a state it cannot read")
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._refuse_if_lost()
            return None
        except UnicodeDecodeError as exc:
            raise StateError(f"state {self.path} is not UTF-8 text (byte {exc.start})",
                             hint=recover) from exc
        except OSError as exc:
            raise StateError(f"cannot read state {self.path}: {exc.strerror}") from exc
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

    def _refuse_if_lost(self) -> None:
        """No state file is "no state yet" only when nothing says there was one: a .backup or
        a journal beside it means it was lost, and an empty state would forget what is managed."""
        if self.backup.exists():
            raise StateError(
                f"the state {self.path} is missing, but its backup {self.backup} exists",
                detail="starting from an empty state would forget every managed deployment",
                hint=f"restore it with `cp {self.backup} {self.path}` and run the command again")
        if self._journal.records():
            raise StateError(
                f"the state {self.path} is missing, but the journal {self.journal_path} "
                "records a run that used it",
                detail="starting from an empty state would forget every managed deployment",
                hint="restore the state file (from its .backup or your copy), then run the "
                     "command again; the journal is folded into it")

    def write(self, state: State, expected_lineage: str | None = None) -> State:
        """Write the next serial. At every instant a complete state file is at the path: the
        new version is written and fsync'd first, the old one linked to ``.backup``, then an
        atomic rename swaps them. Any failure leaves the state and ``.backup`` as they were."""
        with self._write_lock:
            if expected_lineage and state.lineage != expected_lineage:
                raise StateError("refusing to write a state of another lineage")
            nxt = state.model_copy(update={"serial": state.serial + 1})
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = _write_temp(self.path, nxt.model_dump_json(indent=1) + "\n")
            except OSError as exc:
                raise io_error("write the state", self.path, exc) from exc
            try:
                if self.path.exists():
                    _keep_backup(self.path, self.backup)
                os.replace(tmp, self.path)
            except OSError as exc:
                raise io_error("write the state", self.path, exc) from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)  # gone already after a successful rename
            _fsync_dir(self.path.parent)
            return nxt

    # -- journal ----------------------------------------------------------------------------

    def journal(self, record: dict[str, Any]) -> None:
        self._journal.append(record)

    def journal_records(self) -> list[dict[str, Any]]:
        return self._journal.records()

    def clear_journal(self) -> None:
        self._journal.clear()

    # -- lock -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, command: str, timeout: float = 0.0,
               warn: Any = None) -> Iterator[str]:
        """Hold the state lock for a whole run; yields the lock id."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.lock_path), mode=0o600)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                if timeout <= 0:
                    raise
                if warn is not None:  # say who is waited for, rather than hang silently
                    warn(f"{self._held().summary}; waiting up to {timeout:g}s for it")
                lock.acquire(timeout=timeout)
        except Timeout:
            raise self._held() from None
        except OSError as exc:
            raise io_error("lock the state", self.lock_path, exc) from exc
        try:
            previous = self._info()
            if previous and warn is not None:
                warn(_takeover_message(previous))
            lock_id = str(uuid.uuid4())
            info = {"id": lock_id, "pid": os.getpid(), "host": socket.gethostname(),
                    "user": _user(), "command": command, "started": now_iso()}
            try:
                atomic_write(self.info_path, json.dumps(info) + "\n")
            except OSError as exc:
                raise io_error("lock the state", self.info_path, exc) from exc
            try:
                yield lock_id
            finally:
                with contextlib.suppress(OSError):
                    self.info_path.unlink()
        finally:
            lock.release()

    def _held(self) -> LockHeld:
        info = self._info()
        deadline = time.monotonic() + 0.5
        while not info and time.monotonic() < deadline:  # the holder writes it right after locking
            time.sleep(0.01)
            info = self._info()
        who = (f"pid {info.get('pid')} on {info.get('host')} ({info.get('user')}), "
               f"running `{info.get('command')}` since {info.get('started')}"
               if info else "another process")
        if info and info.get("host") != socket.gethostname():
            hint = ("wait for it to finish, or pass --lock-timeout SECONDS to wait for it; only if "
                    "you know that run on another host is gone for good: "
                    f"`yottactl force-unlock {info.get('id')} --force`")
        else:
            hint = ("wait for it to finish, or pass --lock-timeout SECONDS to wait for it; the lock "
                    "is freed by the system as soon as that process ends, even if it is killed")
        return LockHeld(f"the state is locked by {who}",
                        detail=f"lock id: {info.get('id', '?')}  file: {self.lock_path}", hint=hint)

    def _info(self) -> dict[str, Any]:
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def force_unlock(self, lock_id: str, force: bool = False) -> dict[str, Any]:
        info = self._info()
        if not info:
            raise StateError("the state is not locked", hint="nothing to unlock")
        if info.get("id") != lock_id:
            raise StateError(f"lock id {lock_id} does not match the current lock {info.get('id')}",
                             hint="copy the id from the 'locked by' message")
        holder = f"pid {info.get('pid')} on {info.get('host')} (`{info.get('command')}`)"
        if info.get("host") == socket.gethostname():
            if _alive(info.get("pid")):
                raise StateError(
                    f"refusing to unlock: the holder, {holder}, is still running on this host",
                    detail="breaking a live lock lets two runs change the same deployments at once",
                    hint="wait for it to finish (or stop that process); its lock is freed as soon "
                         "as it ends, even if it is killed")
        elif not force:
            raise StateError(
                f"refusing to unlock: the holder, {holder}, ran on another host",
                detail=f"yottactl cannot know whether it is still running on {info.get('host')}",
                hint=f"make sure that run is gone, then `yottactl force-unlock {lock_id} --force`")
        for path in (self.info_path, self.lock_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise io_error("unlock the state", path, exc) from exc
        return info


def _alive(pid: object) -> bool:
    """Whether a process with this pid exists on this host (signal 0 checks, sends nothing)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _takeover_message(previous: dict[str, Any]) -> str:
    """The lock was free but its info was left behind: its holder ended without cleaning up."""
    holder = f"pid {previous.get('pid')} on {previous.get('host')} (`{previous.get('command')}`)"
    if previous.get("host") == socket.gethostname():
        if _alive(previous.get("pid")):  # the pid was reused, or the lock was broken under it
            return f"took over the state lock left by {holder}, which no longer holds it"
        return f"took over the state lock left by {holder}, which is no longer running"
    return (f"took over the state lock left by {holder}: the lock was free, but yottactl "
            f"cannot know whether that run on another host is still going")


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

