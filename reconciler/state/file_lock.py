"""The file backend's lock: an OS lock (filelock; the kernel frees it when its holder dies,
even by ``kill -9``) plus a ``.lock.info`` file naming the holder."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from reconciler.errors import LockHeld, StateError
from reconciler.state.atomic import atomic_write, io_error
from reconciler.state.protocol import LockInfo, Warn
from reconciler.state.records import now_iso


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def alive(pid: object) -> bool:
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


def lock_info(data: Mapping[str, object]) -> LockInfo:
    pid = data.get("pid")
    return LockInfo(id=str(data.get("id", "?")), pid=pid if isinstance(pid, int) else None,
                    host=str(data.get("host", "")), user=str(data.get("user", "")),
                    command=str(data.get("command", "")), started=str(data.get("started", "")))


class FileStateLock:
    def __init__(self, path: Path, lock_path: Path, info_path: Path) -> None:
        self.path, self.lock_path, self.info_path = path, lock_path, info_path

    @contextlib.contextmanager
    def locked(self, command: str, timeout: float = 0.0, warn: Warn | None = None) -> Iterator[str]:
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
                warn(_takeover_message(lock_info(previous)))
            lock_id = str(uuid.uuid4())
            info = {"id": lock_id, "pid": os.getpid(), "host": socket.gethostname(),
                    "user": current_user(), "command": command, "started": now_iso()}
            try:
                atomic_write(self.info_path, json.dumps(info) + "\n")
            except OSError as exc:
                raise io_error("lock the state", self.info_path, exc) from exc
            self._sweep_temp_files()
            try:
                yield lock_id
            finally:
                with contextlib.suppress(OSError):
                    self.info_path.unlink()
        finally:
            lock.release()

    def _sweep_temp_files(self) -> None:
        """Temp files of a write that was killed before its rename (the state itself is whole:
        see files.py). Only the lock holder writes, so under the lock none is in flight."""
        name = self.path.name
        for pattern in (f".{name}.*.tmp", f".{name}.backup.*.tmp"):
            for leftover in self.path.parent.glob(pattern):
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def _held(self) -> LockHeld:
        data = self._info()
        deadline = time.monotonic() + 0.5
        while not data and time.monotonic() < deadline:  # the holder writes it right after locking
            time.sleep(0.01)
            data = self._info()
        info = lock_info(data)
        who = info.who() if data else "another process"
        if data and info.host != socket.gethostname():
            hint = ("wait for it to finish, or pass --lock-timeout SECONDS to wait for it; only if "
                    "you know that run on another host is gone for good: "
                    f"`yottactl force-unlock {info.id} --force`")
        else:
            hint = ("wait for it to finish, or pass --lock-timeout SECONDS to wait for it; the lock "
                    "is freed by the system as soon as that process ends, even if it is killed")
        return LockHeld(f"the state is locked by {who}",
                        detail=f"lock id: {info.id}  file: {self.lock_path}", hint=hint)

    def _info(self) -> dict[str, object]:
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def force_unlock(self, lock_id: str, force: bool = False) -> LockInfo:
        data = self._info()
        if not data:
            raise StateError("the state is not locked", hint="nothing to unlock")
        info = lock_info(data)
        if info.id != lock_id:
            raise StateError(f"lock id {lock_id} does not match the current lock {info.id}",
                             hint="copy the id from the 'locked by' message")
        holder = f"pid {info.pid} on {info.host} (`{info.command}`)"
        if info.host == socket.gethostname():
            if alive(info.pid):
                raise StateError(
                    f"refusing to unlock: the holder, {holder}, is still running on this host",
                    detail="breaking a live lock lets two runs change the same deployments at once",
                    hint="wait for it to finish (or stop that process); its lock is freed as soon "
                         "as it ends, even if it is killed")
        elif not force:
            raise StateError(
                f"refusing to unlock: the holder, {holder}, ran on another host",
                detail=f"yottactl cannot know whether it is still running on {info.host}",
                hint=f"make sure that run is gone, then `yottactl force-unlock {lock_id} --force`")
        for path in (self.info_path, self.lock_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise io_error("unlock the state", path, exc) from exc
        return info


def _takeover_message(previous: LockInfo) -> str:
    """The lock was free but its info was left behind: its holder ended without cleaning up."""
    holder = f"pid {previous.pid} on {previous.host} (`{previous.command}`)"
    if previous.host == socket.gethostname():
        if alive(previous.pid):  # the pid was reused, or the lock was broken under it
            return f"took over the state lock left by {holder}, which no longer holds it"
        return f"took over the state lock left by {holder}, which is no longer running"
    return (f"took over the state lock left by {holder}: the lock was free, but yottactl "
            f"cannot know whether that run on another host is still going")
