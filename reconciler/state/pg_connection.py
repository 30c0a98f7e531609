"""The PostgreSQL state backend's connection: the schema it creates, the URL it accepts
(``?state=NAME`` split off), and one serialised data connection. Below both the backend
(``state/postgres.py``) and its lock (``state/postgres_lock.py``), which share it; psycopg is
imported only here, on first use."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from reconciler.errors import StateError
from reconciler.state.locations import redact_url

if TYPE_CHECKING:  # psycopg is imported only when a PostgreSQL state is used
    from psycopg import Connection as _Connection
    from psycopg.rows import TupleRow

    Connection = _Connection[TupleRow]

SCHEMA_VERSION = 1
_SCHEMA_LOCK = 0x796F747461  # advisory key serialising table creation ("yotta")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS yottactl_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS yottactl_state_versions (
  name text NOT NULL, serial bigint NOT NULL, lineage text NOT NULL, body text NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(), written_by text NOT NULL DEFAULT '',
  command text NOT NULL DEFAULT '', changes text NOT NULL DEFAULT '',
  PRIMARY KEY (name, serial));
CREATE TABLE IF NOT EXISTS yottactl_journal (
  seq bigserial PRIMARY KEY, name text NOT NULL, record text NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS yottactl_journal_name ON yottactl_journal (name, seq);
CREATE TABLE IF NOT EXISTS yottactl_locks (
  name text PRIMARY KEY, lock_id text NOT NULL, pid integer, host text NOT NULL DEFAULT '',
  username text NOT NULL DEFAULT '', command text NOT NULL DEFAULT '', started text NOT NULL DEFAULT '');
INSERT INTO yottactl_meta VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
"""
_SNAPSHOT = """
SELECT (SELECT value FROM yottactl_meta WHERE key = 'schema_version'),
  (SELECT body FROM yottactl_state_versions WHERE name = %(name)s ORDER BY serial DESC LIMIT 1),
  ARRAY(SELECT seq FROM yottactl_journal WHERE name = %(name)s ORDER BY seq),
  ARRAY(SELECT record FROM yottactl_journal WHERE name = %(name)s ORDER BY seq)
"""
_HELD = ("EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
         "pid = %(lock_session)s AND classid::bigint = %(lock_high)s AND "
         "objid::bigint = %(lock_low)s AND objsubid = 1)")
EXTRA_HINT = "install it with: pip install 'yotta-reconciler[postgres]'"


def _psycopg() -> ModuleType:
    try:
        import psycopg
    except ImportError as exc:
        raise StateError("the PostgreSQL state backend needs psycopg, which is not installed",
                         hint=EXTRA_HINT) from exc
    return psycopg


def one(row: TupleRow | None) -> TupleRow:
    """The row of a query that always answers one (a function call, an aggregate)."""
    if row is None:  # never for such a query: a clear error rather than a TypeError
        raise StateError("the PostgreSQL server answered no row where one is always returned")
    return row


def split_url(url: str) -> tuple[str, str]:
    """(libpq connection URL without our ``state`` parameter, state name)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # validates the port now, not inside libpq
    except ValueError as exc:
        raise StateError(f"invalid PostgreSQL URL {redact_url(url)}: {exc}",
                         hint="the form is postgresql://USER[:PASSWORD]@HOST[:PORT]/DB?state=NAME"
                         ) from None
    if parts.netloc.count("@") > 1:  # libpq and Python split such a URL differently
        raise StateError(f"invalid PostgreSQL URL {redact_url(url)}: '@' in the user or password",
                         hint="percent-encode it (@ is %40), or leave the password out of the URL "
                              "and use PGPASSWORD or ~/.pgpass")
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [v for k, v in query if k == "state"]
    name = names[-1] if names else "default"
    if not name or len(name) > 200:
        raise StateError(f"invalid state name {name!r} in {redact_url(url)}",
                         hint="use ?state=NAME with 1-200 characters, e.g. ?state=prod")
    rest = [(k, v) for k, v in query if k != "state"]
    if not any(k == "connect_timeout" for k, _ in rest):
        rest.append(("connect_timeout", "10"))
    # joined by hand: urlunsplit drops the `//` of an empty authority, and libpq reads
    # `postgresql:/db?host=/socket` as a keyword string (postgresql:///db?host=... is valid)
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(rest)}{fragment}", name


class _Db:
    """One data connection (autocommit), opened on first use; every use is serialised, since
    the executor journals from several threads and a write is a multi-statement transaction."""

    def __init__(self, url: str) -> None:
        self.conninfo, self.name = split_url(url)
        self.location = redact_url(url)
        self.password = unquote(urlsplit(url).password or "")
        self.key = int.from_bytes(hashlib.sha256(f"yottactl:{self.name}".encode()).digest()[:8],
                                  "big", signed=True)
        self.mutex = threading.RLock()
        self._conn: Connection | None = None
        # the backend pid of the session holding this run's state lock (postgres_lock.py), set
        # while it is held: journal and state writes are made only while that session still
        # holds the lock (checked in the writing statement itself: no extra round trip)
        self.lock_session: int | None = None
        self.note = ""  # appended to the command in state history (the agent's source commit)
        self._schema_ready = False  # the tables exist, in a schema version this yottactl reads

    def held(self) -> tuple[str, dict[str, int]]:
        """SQL that is true while this run's lock session still holds the state's advisory lock
        (a bigint key shows in pg_locks as classid = high 32 bits, objid = low 32 bits), and its
        parameters; always true when this run took no lock."""
        if self.lock_session is None:
            return "true", {}
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        return (_HELD, {"lock_session": self.lock_session, "lock_high": unsigned >> 32,
                        "lock_low": unsigned & 0xFFFFFFFF})

    def lock_lost(self, action: str) -> StateError:
        return StateError(
            f"cannot {action} the PostgreSQL state {self.name!r} at {self.location}: this run "
            "lost its state lock (its lock session ended: network, server restart, or "
            "pg_terminate_backend)",
            detail="nothing more was written and no further API call is made; another run may "
                   "hold the lock now. The journal keeps what this run did",
            hint="run the command again: it recovers from the journal and the live deployments")

    def error(self, action: str, exc: Exception) -> StateError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        text = redact_url(text)
        if self.password:
            text = text.replace(self.password, "***")
        return StateError(f"cannot {action} the PostgreSQL state {self.name!r} at {self.location}: {text}",
                          hint="check the URL, that the server is reachable and the user's "
                               "privileges (libpq reads PGPASSWORD, ~/.pgpass, sslmode=)")

    def connect(self) -> Connection:
        psycopg = _psycopg()
        try:
            conn: Connection = psycopg.connect(self.conninfo, autocommit=True, application_name="yottactl")
        except psycopg.Error as exc:
            raise self.error("connect to", exc) from None
        return conn

    @contextlib.contextmanager
    def session(self, action: str) -> Iterator[Connection]:
        """The shared connection, tables created if missing, psycopg errors translated."""
        psycopg = _psycopg()
        with self.mutex:
            try:
                conn = self._connection()
                if not self._schema_ready:
                    self._ensure_schema(conn)
                    self._schema_ready = True
                yield conn
            except psycopg.Error as exc:
                raise self.error(action, exc) from None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
            self._schema_ready = False
        return self._conn

    def snapshot(self) -> tuple[str | None, list[tuple[int, str]]]:
        """(latest body, journal rows) in ONE round trip, schema version checked in the same
        query; creates nothing, so read-only commands (plan, drift) work with a read-only role.
        No tables yet: no state and no journal."""
        psycopg = _psycopg()
        with self.mutex:
            try:
                conn = self._connection()
                try:
                    found = conn.execute(_SNAPSHOT, {"name": self.name}).fetchone()
                    version, body, seqs, records = one(found)
                except psycopg.errors.UndefinedTable:
                    return None, []
                self._refuse_newer(version)
                self._schema_ready = True
                return body, list(zip(seqs, records, strict=True))
            except psycopg.Error as exc:
                raise self.error("read", exc) from None

    def rows(self, action: str, query: str, params: tuple[object, ...]) -> list[TupleRow] | None:
        """A read-only query's rows; None when there are no tables yet (creates nothing)."""
        psycopg = _psycopg()
        with self.mutex:
            try:
                conn = self._connection()
                try:
                    if not self._schema_ready:
                        row = conn.execute("SELECT value FROM yottactl_meta "
                                           "WHERE key = 'schema_version'").fetchone()
                        self._refuse_newer(row[0] if row else None)
                        self._schema_ready = True
                    return list(conn.execute(query, params).fetchall())
                except psycopg.errors.UndefinedTable:
                    return None
            except psycopg.Error as exc:
                raise self.error(action, exc) from None

    def _ensure_schema(self, conn: Connection) -> None:
        psycopg = _psycopg()
        try:
            row = conn.execute("SELECT value FROM yottactl_meta WHERE key = 'schema_version'").fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
        if row is None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute(_SCHEMA)
            row = conn.execute("SELECT value FROM yottactl_meta WHERE key = 'schema_version'").fetchone()
        self._refuse_newer(one(row)[0])

    def _refuse_newer(self, version: str | None) -> None:
        if version is not None and int(version) > SCHEMA_VERSION:
            raise StateError(
                f"the database at {self.location} has yottactl schema version {version}; this "
                f"yottactl understands version {SCHEMA_VERSION}",
                hint="upgrade yottactl to the version that created these tables")

    def close(self) -> None:
        with self.mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
