"""A parse cache for repeated runs in one checkout: YAML text -> the reader's documents.

``plan``, ``apply`` and ``drift`` read every manifest on every run; most of them have not changed
since the last run. The cache keeps what :func:`fastyaml.load_all` made of each file, keyed by
a hash of the file's text and of the reader's own source, so an edited file, or a new yottactl
that reads YAML differently, is simply a miss. Only that first stage is cached: variables,
overlays, ``${env:...}`` values and validation run every time (they depend on the environment),
so no secret value is ever written here.

The cache is an SQLite database (one file, atomic updates, safe when two runs share it) in
``.yottactl/cache/`` beside the project file (else in the working directory), or in
``YOTTACTL_CACHE_DIR``; ``YOTTACTL_CACHE_DIR=off`` turns it off. It is safe to delete at any time.

Trust: the keys are keyed hashes (BLAKE2b) under a per-user secret kept *outside* the checkout
(``~/.cache/yottactl/parse-cache.key``, 0600, made on first use), so a cache that came from
anywhere else (committed to a repository, copied from someone's checkout) can only ever miss: it
never makes a plan show what the manifests do not say. The folder must be this user's and
writable by no one else (no one can slip a journal or a file in beside the database), the
database a regular 0600 file of ours, and ``.gitignore`` is never written through a symlink.
A cache that cannot be opened, read or written is ignored: the run parses the files instead and
never fails because of it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.manifest import fastyaml, scalars
from reconciler.manifest.scalars import PlainText

if TYPE_CHECKING:
    import sqlite3

FILE = "parse.sqlite3"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
DISABLED = frozenset({"off", "0", "false", "no"})
BATCH = 500  # new entries held before they are written
PRUNE_ABOVE = 1000  # rows beyond twice the files of this run (plus this) are pruned
PRUNE_BYTES = 256 * 1024 * 1024  # ... and so is a cache grown this big (edited large manifests)


def _reader_version() -> bytes:
    """What the cached documents depend on besides the text: the reader's and PlainText's
    source, the YAML parser's versions, the value encoding, and the Python version (marshal)."""
    import ruamel.yaml

    try:
        from _ruamel_yaml import get_version_string as libyaml
    except ImportError:  # pragma: no cover - ruamel.yaml.clib is a declared dependency
        def libyaml() -> str:
            return "none"
    digest = hashlib.blake2b(digest_size=16)
    for module in (fastyaml, scalars):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(f"v1 {sys.version_info[:2]} {marshal.version} {ruamel.yaml.__version__} "
                  f"{libyaml()}".encode())
    return digest.digest()


def _only_ours(info: os.stat_result, kind: Callable[[int], bool], closed_to_others: int) -> bool:
    """Of this ``kind`` (stat.S_ISREG, S_ISDIR), owned by this user, with none of the
    ``closed_to_others`` permission bits set."""
    owner = getattr(os, "geteuid", lambda: info.st_uid)()
    return (kind(info.st_mode) and info.st_uid == owner
            and stat.S_IMODE(info.st_mode) & closed_to_others == 0)


def _private_folder(path: Path) -> bool:
    """A real directory (not a symlink) of ours that no one else can write into."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return _only_ours(info, stat.S_ISDIR, 0o022)


def user_secret(path: Path) -> bytes | None:
    """The per-user secret that keys the cache (made on first use); None when it cannot be
    made or is not trustworthy (not ours, readable by others, not a regular file)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            secret = handle.read(33)
    except OSError:
        return None
    if not (_only_ours(info, stat.S_ISREG, 0o077) and len(secret) == 32):
        return None
    return secret


def _encode(document: Any) -> Any:
    """PlainText (a str subclass marshal cannot keep) as a 1-tuple: YAML makes no tuples.
    Shared nodes (YAML aliases) stay shared, so an alias-heavy document stays small."""
    return _encoded(document, {})


def _encoded(node: Any, seen: dict[int, Any]) -> Any:
    # module functions, not recursive closures: a closure that calls itself is a reference
    # cycle that keeps every document alive while planning defers the cyclic GC
    if type(node) is PlainText:
        return (str(node),)
    if isinstance(node, (dict, list)):
        done = seen.get(id(node))
        if done is not None:
            return done
        out: Any = {} if isinstance(node, dict) else []
        seen[id(node)] = out
        if isinstance(node, dict):
            for key, value in node.items():
                out[key] = _encoded(value, seen)
        else:
            out.extend(_encoded(value, seen) for value in node)
        return out
    return node


def _decode(document: Any) -> Any:
    return _decoded(document, {})


def _decoded(node: Any, seen: dict[int, Any]) -> Any:
    kind = type(node)
    if kind is tuple:
        return PlainText(node[0])
    if kind is dict or kind is list:
        done = seen.get(id(node))
        if done is not None:
            return done
        seen[id(node)] = node
        if kind is dict:
            for key, value in node.items():
                if type(value) in (tuple, dict, list):
                    node[key] = _decoded(value, seen)
        else:
            for i, value in enumerate(node):
                if type(value) in (tuple, dict, list):
                    node[i] = _decoded(value, seen)
    return node


def _trusted(path: Path) -> bool:
    """Ours to read: a regular file, owned by this user, readable and writable by no one else."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True  # not made yet: we create it
    except OSError:
        return False
    return _only_ours(info, stat.S_ISREG, 0o077)


class ParseCache:
    """``parse(text, max_depth)`` is :func:`fastyaml.load_all`, answered from the cache when it
    can be; :meth:`close` stores what was parsed afresh."""

    def __init__(self, folder: Path, secret_file: Path) -> None:
        self.folder, self.secret_file = folder, secret_file
        self.hits = self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._new: list[tuple[bytes, bytes]] = []  # written in batches (bounded memory)
        self._wrote = False
        self._used: list[bytes] = []
        self._salt = b""
        try:
            self._open()
        except Exception:  # a cache that cannot open is no cache, never an error
            self._db = None

    def _open(self) -> None:
        import sqlite3

        path = self.folder / FILE
        secret = user_secret(self.secret_file)
        if secret is None:
            return
        top = self.folder.parent
        if top.name == ".yottactl":  # checked before anything is made in it: it may be a symlink
            top.mkdir(mode=0o700, exist_ok=True)
            if not _private_folder(top):
                return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private_folder(self.folder):
            return  # a folder others can write to (or a symlink someone committed): no cache
        try:  # never committed by accident (as pytest does for its cache); never via a symlink
            fd = os.open(self.folder / ".gitignore",
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write("# made by yottactl: a parse cache, safe to delete\n*\n")
        if not _trusted(path):
            return
        old = os.umask(0o077)  # the database (and its journal) are created 0600
        try:
            db = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        finally:
            os.umask(old)
        db.execute("CREATE TABLE IF NOT EXISTS documents (key BLOB PRIMARY KEY, value BLOB)")
        if not _trusted(path):  # raced with someone else's file
            db.close()
            return
        self._salt = hashlib.blake2b(_reader_version(), key=secret, digest_size=32).digest()
        self._db = db

    def parse(self, text: str, max_depth: int) -> list[Any]:
        db = self._db
        if db is None:
            return fastyaml.load_all(text, max_depth)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20,
                              key=self._salt + max_depth.to_bytes(4, "big"),
                              ).digest()
        self._used.append(key)
        try:
            row = db.execute("SELECT value FROM documents WHERE key = ?", (key,)).fetchone()
            if row is not None:
                documents = _decode(marshal.loads(row[0]))
                if isinstance(documents, list):
                    self.hits += 1
                    return documents
        except Exception:  # a damaged row: parse the text instead
            pass
        documents = fastyaml.load_all(text, max_depth)  # errors propagate: never cached
        self.misses += 1
        try:
            self._new.append((key, marshal.dumps(_encode(documents))))
        except ValueError:
            pass  # a value marshal cannot keep (a YAML timestamp, say): this file is not cached
        if len(self._new) >= BATCH:
            self._write(db, prune=False)
        return documents

    def close(self) -> None:
        """Store the new entries (one transaction), prune old ones; errors are ignored."""
        db, self._db = self._db, None
        if db is None:
            return
        try:
            self._write(db, prune=True)
        finally:
            db.close()

    def _write(self, db: sqlite3.Connection, *, prune: bool) -> None:
        new, self._new = self._new, []
        if not new and not self._wrote:
            return
        self._wrote = True
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?)", new)
                if prune:
                    self._prune(db)
        except Exception:  # busy or read-only: the next run tries again
            pass

    def _prune(self, db: sqlite3.Connection) -> None:
        """Keep the cache near the size of the checkout: drop entries this run did not use
        once there are many more of them than files, or they are large (old versions of edited
        manifests)."""
        rows, size = db.execute("SELECT count(*), total(length(value)) FROM documents").fetchone()
        if rows <= 2 * len(self._used) + PRUNE_ABOVE and size <= PRUNE_BYTES:
            return
        db.execute("CREATE TEMP TABLE used (key BLOB PRIMARY KEY)")
        db.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in self._used))
        db.execute("DELETE FROM documents WHERE key NOT IN (SELECT key FROM used)")
