"""Writing a local file all or nothing (temp file, fsync, rename, fsync the folder), and an
OSError as a clean StateError. Below the file backend and its lock, which both write files."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from reconciler.errors import StateError


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(path: Path, text: str) -> str:
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
    tmp = write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


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
