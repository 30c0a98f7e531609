"""Reading manifest files: each a regular file of at most MAX_FILE_BYTES (hostile paths, a FIFO
or a symlink to /dev/zero, are refused by the shared reader, reconciler.localfile), decoded as
UTF-8, problems as located issues. The loader (manifest/loader.py) parses what this reads."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler import localfile
from reconciler.errors import ManifestIssue

MAX_FILE_BYTES = localfile.MANIFEST_CAP
READ_AHEAD_BYTES = 32 * 1024 * 1024  # manifests read before the first is parsed (read_ahead)


def read_manifest_bytes(file: Path) -> tuple[bytes | None, ManifestIssue | None]:
    """The file's bytes, if it is a regular file of at most MAX_FILE_BYTES: hostile paths (a
    FIFO, a symlink to /dev/zero) are refused by the shared reader, reconciler.localfile."""
    try:
        return localfile.read_bytes(file, MAX_FILE_BYTES), None
    except localfile.UnreadableFile as exc:
        reason = exc.reason.replace("cannot read it:", "cannot read file:").removeprefix("it is ")
        hint = ("manifests are ordinary *.yaml files; remove or rename this one"
                if reason.startswith("not a regular file") else
                "split the manifests into smaller files" if "larger than" in reason else
                "check the path and its permissions")
        return None, ManifestIssue(str(file), 1, 1, "", reason, hint)


def decode(path: str, data: bytes) -> tuple[str | None, ManifestIssue | None]:
    if b"\x00" in data[:8192]:
        return None, ManifestIssue(path, 1, 1, "", "binary file, not YAML",
                                   "only pass YAML manifests (*.yaml, *.yml)")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, ManifestIssue(path, line, col, "", f"invalid UTF-8 byte 0x{data[exc.start]:02x}",
                                   "save the file as UTF-8")


def read_ahead(files: Sequence[Path], budget: int = READ_AHEAD_BYTES,
               ) -> Iterator[tuple[Path, bytes | None, ManifestIssue | None]]:
    """Each file with its bytes (or why not), the first ``budget`` bytes of them read before any
    is parsed. Planning waits for its list call on another thread; each read releases the GIL,
    and while that thread decodes the answer, every release made this one wait for its turn:
    reading between parses cost 3x the reads' own time at 10,000 files. Bounded, so a tree of
    large files is still held one file at a time past the budget."""
    ahead: deque[tuple[Path, bytes | None, ManifestIssue | None]] = deque()
    held, rest = 0, iter(files)
    for file in rest:
        data, problem = read_manifest_bytes(file)
        ahead.append((file, data, problem))
        held += len(data or b"")
        if held >= budget:
            break
    while ahead:
        yield ahead.popleft()  # handed on, no longer held here
    for file in rest:
        yield (file, *read_manifest_bytes(file))
