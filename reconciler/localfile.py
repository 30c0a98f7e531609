"""Reading and writing local files the user names, safely against hostile paths.

Every input file (manifests, overlays, var files, the API key file, a state file, a saved
plan) is read through :func:`read_bytes` / :func:`read_text`: the open does not wait for a FIFO
writer, only regular files are read (the type is checked on the opened descriptor, so a
symlink to /dev/zero is refused too), and the read stops at a cap (a device or /proc file's
st_size says nothing). Output files (``plan --out``, ``drift --report``) go through
:func:`check_writable_target`: an existing target that is not a regular file is never replaced.

Caps, per input, with headroom over the largest real input:
  manifests, overlays 10 MiB  (a manifest file of hundreds of deployments is well under 1 MiB)
  var file, key file   1 MiB  (a few NAME: value lines; a key is under 1 KiB)
  state, plan file   256 MiB  (10,000 deployments is ~10-20 MB of state: >10x headroom)
Imports only the standard library: every layer may use it.
"""

from __future__ import annotations

import os
import stat

MIB = 1024 * 1024
MANIFEST_CAP = 10 * MIB
OVERLAY_CAP = 10 * MIB
SMALL_CAP = 1 * MIB  # --var-file, --api-key-file
STATE_CAP = 256 * MIB  # state files and saved plans: headroom over 10,000 deployments

_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISDIR, "a directory"))


class UnreadableFile(Exception):
    """Why a local file was not read; callers turn it into their own error (it names no file:
    the caller knows what the file is for)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing  # the path does not exist (some callers treat that as "none yet")


def _size_text(cap: int) -> str:
    return f"{cap // MIB} MiB" if cap >= MIB else f"{cap} bytes"


def not_regular(mode: int) -> str | None:
    """What a file of this mode is, when it is not a regular file."""
    if stat.S_ISREG(mode):  # the file types are exclusive: no other test can match
        return None
    kind = next((what for test, what in _NOT_REGULAR if test(mode)), None)
    if kind is None and not stat.S_ISREG(mode):
        return "special file"
    return kind


def read_bytes(path: str | os.PathLike[str], cap: int) -> bytes:
    """The file's bytes, if it is a regular file of at most ``cap`` bytes; else UnreadableFile."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableFile("cannot read it: No such file or directory", missing=True) from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    try:  # the descriptor read directly: a buffered file object per manifest costs ~10%
        info = os.fstat(fd)
        kind = not_regular(info.st_mode)
        if kind is not None:
            raise UnreadableFile(f"it is not a regular file: {kind}")
        if info.st_size > cap:  # refused before a byte is read (or a buffer allocated)
            raise UnreadableFile(f"it is larger than {_size_text(cap)}")
        try:
            # the regular file's size (+1 to notice it growing, or a /proc file's content
            # behind its size 0) sizes the buffer; never more than the cap
            size = min(info.st_size, cap)
            data = _read_up_to(fd, size + 1)
            if len(data) > size:  # it grew while we read: read on, still capped
                data += _read_up_to(fd, cap + 1 - len(data))
        except OSError as exc:
            raise UnreadableFile(f"cannot read it: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise UnreadableFile(f"it is larger than {_size_text(cap)}")
    return data


def _read_up_to(fd: int, n: int) -> bytes:
    """Up to ``n`` bytes from ``fd``: fewer only at the end of the file."""
    chunks, total = [], 0
    while total < n and (chunk := os.read(fd, n - total)):
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_text(path: str | os.PathLike[str], cap: int) -> str:
    """:func:`read_bytes` decoded as UTF-8; UnreadableFile when it is not UTF-8 text."""
    data = read_bytes(path, cap)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"it is not UTF-8 text (byte {exc.start})") from None


def check_writable_target(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` must not be replaced by an output file (None: it may). A device, FIFO,
    socket or directory at the path is refused: renaming a file over /dev/null would break it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot check it: {exc.strerror or exc}"
    kind = not_regular(info.st_mode)
    return None if kind is None else f"it exists and is not a regular file ({kind})"
