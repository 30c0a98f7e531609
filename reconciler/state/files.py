"""The file state backend (the embedded default): a versioned JSON file, its journal, its lock.

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
import json
import os
import shutil
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from reconciler import __version__, fastjson, localfile
from reconciler.errors import StateError
from reconciler.state.atomic import fsync_dir, io_error, write_temp
from reconciler.state.file_lock import FileStateLock
from reconciler.state.model import FORMAT_VERSION, OLDEST_FORMAT_VERSION, State, migrate
from reconciler.state.protocol import Backend, Journal, Version, changes_between
from reconciler.state.records import JournalRecord, parse_record, record_json

DEFAULT_PATH = "state/yottactl.state.json"


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


_JOURNAL_HINT = ("the journal records an interrupted run; yottactl changed nothing. Inspect {path} "
                 "and remove the broken lines (or the file, once `yottactl plan` shows what is live)")


class FileJournal:
    """Append-only JSON lines, one fsync per record; a torn last line is expected after a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: JournalRecord) -> None:
        line = record_json(record) + "\n"
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

    def records(self) -> list[JournalRecord]:
        try:
            lines = localfile.read_text(self.path, localfile.STATE_CAP).splitlines()
        except localfile.UnreadableFile as exc:
            if exc.missing:
                return []
            raise StateError(f"cannot read the journal {self.path}: {exc.reason}",
                             hint=_JOURNAL_HINT.format(path=self.path)) from None
        records: list[JournalRecord] = []
        for number, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
            except (ValueError, RecursionError):  # JSONDecodeError, too deep, a 4,300+ digit int
                if number == len(lines):
                    continue  # the last line torn by a crash mid-append: it was never acted on
                raise StateError(f"journal {self.path} line {number} is not valid JSON",
                                 hint=_JOURNAL_HINT.format(path=self.path)) from None
            if not isinstance(data, dict):
                raise StateError(f"journal {self.path} line {number} is not a yottactl journal "
                                 f"record (a JSON {type(data).__name__}, not an object)",
                                 hint=_JOURNAL_HINT.format(path=self.path))
            try:
                records.append(parse_record(data))
            except ValidationError as exc:
                raise StateError(f"journal {self.path} line {number} is not a yottactl journal "
                                 f"record: {exc.errors()[0]['msg']}",
                                 hint=_JOURNAL_HINT.format(path=self.path)) from None
        return records

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise io_error("remove the journal", self.path, exc) from exc


def _why_not_json(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"


def parse_state(text: str, where: str, hint: str) -> State:
    """A state document, or a StateError saying why it cannot be trusted."""
    try:
        data = fastjson.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"state {where} is not valid JSON (line {exc.lineno})", hint=hint) from exc
    except (ValueError, RecursionError) as exc:  # nested too deeply; an integer of 4,300+ digits
        raise StateError(f"state {where} is not valid JSON ({_why_not_json(exc)})", hint=hint) from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if type(version) is int and version > FORMAT_VERSION:
        raise StateError(f"state {where} has format_version {version}, a newer format than this "
                         f"yottactl {__version__} understands (up to {FORMAT_VERSION}); nothing "
                         "was changed",
                         hint="upgrade yottactl (pip install -U yotta-reconciler) to the release "
                              "that wrote it, or newer")
    if type(version) is not int or version < OLDEST_FORMAT_VERSION:
        raise StateError(f"state {where} has format_version {version!r}; this yottactl reads "
                         f"versions {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}", hint=hint)
    if version < FORMAT_VERSION and isinstance(data, dict):  # a version was read: it is one
        data = migrate(data, version)
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        raise StateError(f"state {where} is malformed: {exc.errors()[0]['msg']}", hint=hint) from exc


class FileStore:
    def __init__(self, path: Path, journal: Journal) -> None:
        self.path = path
        self.backup = path.with_name(path.name + ".backup")
        self._journal = journal
        self._write_lock = threading.Lock()

    def _load(self, path: Path) -> State | None:
        recover = (f"restore the previous version with `cp {self.backup} {self.path}` "
                   "or fix the file by hand; yottactl never overwrites a state it cannot read")
        try:
            text = localfile.read_text(path, localfile.STATE_CAP)
        except localfile.UnreadableFile as exc:
            if exc.missing:
                return None
            if "not a regular file" in exc.reason:  # restoring a .backup over a device is no fix
                recover = "pass --state (or YOTTACTL_STATE) naming a regular JSON file"
            raise StateError(f"state {path}: {exc.reason}", hint=recover) from None
        return parse_state(text, str(path), recover)

    def read(self) -> State | None:
        """The state, or None if there is none yet. Refuses anything it cannot trust."""
        state = self._load(self.path)
        if state is None:
            self._refuse_if_lost()
        return state

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
                f"the state {self.path} is missing, but its journal records a run that used it",
                detail="starting from an empty state would forget every managed deployment",
                hint="restore the state file (from its .backup or your copy), then run the "
                     "command again; the journal is folded into it")

    def write(self, state: State) -> State:
        """Write the next serial, fenced: only over the version ``state`` was read from."""
        with self._write_lock:
            stored = self._load(self.path)
            if stored is not None and (stored.lineage, stored.serial) != (state.lineage, state.serial):
                raise StateError(
                    f"refusing to write {self.path}: it changed since this run read it (stored: "
                    f"lineage {stored.lineage} serial {stored.serial}; this run has lineage "
                    f"{state.lineage} serial {state.serial})",
                    detail="another run wrote a newer state; nothing was overwritten, and this "
                           "run's journal is kept for the next run to recover",
                    hint="run the command again: it starts from the newer state")
            nxt = state.model_copy(update={"serial": state.serial + 1})
            self._replace(nxt, keep_backup=True)
            return nxt

    def put(self, state: State, *, force: bool = False) -> None:
        with self._write_lock:
            if not force and self.path.exists():
                raise StateError(f"{self.path} already holds a state",
                                 hint="pass --force to replace it (its old version is kept as .backup)")
            self._replace(state, keep_backup=True)

    def _replace(self, state: State, *, keep_backup: bool) -> None:
        """At every instant a complete state file is at the path: the new version is written
        and fsync'd first, the old one linked to ``.backup``, then an atomic rename swaps
        them. Any failure leaves the state and ``.backup`` as they were."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = write_temp(self.path, state.model_dump_json(indent=1) + "\n")
        except OSError as exc:
            raise io_error("write the state", self.path, exc) from exc
        try:
            if keep_backup and self.path.exists():
                _keep_backup(self.path, self.backup)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise io_error("write the state", self.path, exc) from exc
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # gone already after a successful rename
        fsync_dir(self.path.parent)

    def history(self, limit: int) -> list[Version]:
        """A file keeps two versions: the current one and its .backup."""
        current, previous = self._load(self.path), self._load(self.backup)
        out = []
        for state, path, before in ((current, self.path, previous), (previous, self.backup, None)):
            if state is not None:
                stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                out.append(Version(serial=state.serial, lineage=state.lineage,
                                   written_at=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   changes=changes_between(before, state) if before else ""))
        return out[:limit]

    def version(self, serial: int) -> State | None:
        for path in (self.path, self.backup):
            state = self._load(path)
            if state is not None and state.serial == serial:
                return state
        return None


class StateFile(Backend):
    """The file backend: ``StateFile(path)``; ``journal`` may be injected (tests do)."""

    def __init__(self, path: str | os.PathLike[str] | None = None,
                 journal: Journal | None = None) -> None:
        given = Path(path or DEFAULT_PATH)  # YOTTACTL_STATE: resolved in reconciler.settings
        # a symlinked state is followed: its target is what is read, written and locked
        self.path = Path(os.path.realpath(given))
        self.backup = self.path.with_name(self.path.name + ".backup")
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.info_path = self.path.with_name(self.path.name + ".lock.info")
        journal = journal or FileJournal(self.journal_path)
        super().__init__(str(self.path), FileStore(self.path, journal), journal,
                         FileStateLock(self.path, self.lock_path, self.info_path))

    def other_states(self) -> list[str]:
        """The ``*.state.json`` files beside this one (each environment's, say)."""
        try:
            found = sorted(p for p in self.path.parent.glob("*.state.json")
                           if p != self.path and p.is_file())
        except OSError:
            return []
        return [str(p) for p in found[:20]]
