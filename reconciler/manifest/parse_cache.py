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

Trust: a cache is only read if this user made it: a regular file, owned by us, with mode 0600.
Git cannot check out a file with that mode, so a cache committed to a repository (say, in a pull
request, to make a plan show something the manifests do not say) is never read. A cache that
cannot be opened, read or written is ignored: the run parses the files instead and never fails
because of it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.manifest import fastyaml, scalars
from reconciler.manifest.scalars import PlainText

if TYPE_CHECKING:
    import sqlite3

FILE = "parse.sqlite3"
DISABLED = frozenset({"off", "0", "false", "no"})
BATCH = 500  # new entries held before they are written
PRUNE_ABOVE = 1000  # rows beyond twice the files of this run (plus this) are pruned


def _reader_version() -> bytes:
    """What the cached documents depend on besides the text: the reader's and PlainText's
    source, the value encoding, and the Python version (marshal's format)."""
    digest = hashlib.blake2b(digest_size=16)
    for module in (fastyaml, scalars):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(f"v1 {sys.version_info[:2]} {marshal.version}".encode())
    return digest.digest()


def _encode(document: Any) -> Any:
    """PlainText (a str subclass marshal cannot keep) as a 1-tuple: YAML makes no tuples.
    Shared nodes (YAML aliases) stay shared, so an alias-heavy document stays small."""
    seen: dict[int, Any] = {}

    def walk(node: Any) -> Any:
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
                    out[key] = walk(value)
            else:
                out.extend(walk(value) for value in node)
            return out
        return node

    return walk(document)


def _decode(document: Any) -> Any:
    seen: dict[int, Any] = {}

    def walk(node: Any) -> Any:
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
                        node[key] = walk(value)
            else:
                for i, value in enumerate(node):
                    if type(value) in (tuple, dict, list):
                        node[i] = walk(value)
        return node

    return walk(document)


def _trusted(path: Path) -> bool:
    """Ours to read: a regular file, owned by this user, readable and writable by no one else."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True  # not made yet: we create it
    except OSError:
        return False
    owner = getattr(os, "geteuid", lambda: info.st_uid)()
    return (stat.S_ISREG(info.st_mode) and info.st_uid == owner
            and stat.S_IMODE(info.st_mode) & 0o077 == 0)


class ParseCache:
    """``parse(text, max_depth)`` is :func:`fastyaml.load_all`, answered from the cache when it
    can be; :meth:`close` stores what was parsed afresh."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
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
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        ignore = self.folder / ".gitignore"
        if not ignore.exists():  # never committed by accident (as pytest does for its cache)
            ignore.write_text("# made by yottactl: a parse cache, safe to delete\n*\n")
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
        self._salt = _reader_version()
        self._db = db

    def parse(self, text: str, max_depth: int) -> list[Any]:
        db = self._db
        if db is None:
            return fastyaml.load_all(text, max_depth)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20,
                              key=self._salt + max_depth.to_bytes(4, "big")).digest()
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
        once there are many more of them than files (old versions of edited manifests)."""
        (rows,) = db.execute("SELECT count(*) FROM documents").fetchone()
        if rows <= 2 * len(self._used) + PRUNE_ABOVE:
            return
        db.execute("CREATE TEMP TABLE used (key BLOB PRIMARY KEY)")
        db.executemany("INSERT OR IGNORE INTO used VALUES (?)", ((k,) for k in self._used))
        db.execute("DELETE FROM documents WHERE key NOT IN (SELECT key FROM used)")
