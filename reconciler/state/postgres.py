"""The PostgreSQL state backend (Terraform's `pg` backend is the precedent). Several named states
share one database (``?state=NAME``, default ``default``); tables are created on first use and
carry a schema version (a newer one is refused).

  yottactl_state_versions  one row per written version: unique (name, serial); a write of
                           serial N+1 commits only if the latest is N of the same lineage
  yottactl_journal         intent / outcome / state records, each committed on its own
  yottactl_locks           the holder row (lock id, pid, host, user, command, started)

The lock is a session-level advisory lock held on its own connection for the whole run: a holder
that dies, however, loses its connection and with it the lock. psycopg is imported only here, on
first use (``pip install 'yotta-reconciler[postgres]'``); libpq reads PGPASSWORD, ~/.pgpass,
sslmode= etc. as usual. No message ever contains the password.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import ValidationError

from reconciler.errors import StateError
from reconciler.state.backend import redact_url
from reconciler.state.file_lock import current_user
from reconciler.state.files import parse_state
from reconciler.state.model import State
from reconciler.state.protocol import Backend, Version, changes_between
from reconciler.state.records import JournalRecord, parse_record, record_json

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


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise StateError("the PostgreSQL state backend needs psycopg, which is not installed",
                         hint=EXTRA_HINT) from exc
    return psycopg


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
    return urlunsplit(parts._replace(query=urlencode(rest))), name


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
        self._conn: Any = None
        # the backend pid of the session holding this run's state lock (postgres_lock.py), set
        # while it is held: journal and state writes are made only while that session still
        # holds the lock (checked in the writing statement itself: no extra round trip)
        self.lock_session: int | None = None
        self._schema_ready = False  # the tables exist, in a schema version this yottactl reads

    def held(self) -> tuple[str, dict[str, Any]]:
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

    def connect(self) -> Any:
        psycopg = _psycopg()
        try:
            return psycopg.connect(self.conninfo, autocommit=True, application_name="yottactl")
        except psycopg.Error as exc:
            raise self.error("connect to", exc) from None

    @contextlib.contextmanager
    def session(self, action: str) -> Iterator[Any]:
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

    def _connection(self) -> Any:
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
                    version, body, seqs, records = conn.execute(_SNAPSHOT, {"name": self.name}).fetchone()
                except psycopg.errors.UndefinedTable:
                    return None, []
                self._refuse_newer(version)
                self._schema_ready = True
                return body, list(zip(seqs, records, strict=True))
            except psycopg.Error as exc:
                raise self.error("read", exc) from None

    def rows(self, action: str, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
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

    def _ensure_schema(self, conn: Any) -> None:
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
        self._refuse_newer(row[0])

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


def _who() -> str:
    return f"{current_user()}@{socket.gethostname()} pid {os.getpid()}"


class PostgresStore:
    def __init__(self, db: _Db) -> None:
        self.db = db
        self._last: State | None = None  # the version this process last read or wrote

    def _where(self) -> str:
        return f"{self.db.location} (state {self.db.name!r})"

    def read(self) -> State | None:
        return self.parse(self.db.snapshot()[0])

    def parse(self, body: str | None) -> State | None:
        """The latest version's body as a State (remembered: a fenced write starts from it)."""
        self._last = None if body is None else parse_state(
            body, self._where(), "restore a good version: `yottactl state history`, then "
                                 "`yottactl state pull --serial N`")
        return self._last

    def write(self, state: State) -> State:
        from reconciler.state.backend import command_line

        nxt = state.model_copy(update={"serial": state.serial + 1})
        last = self._last if self._last and self._last.serial == state.serial else None
        psycopg = _psycopg()
        with self.db.session("write") as conn:
            try:
                with conn.transaction():  # a run that lost its lock hears that, not "fenced"
                    held, params = self.db.held()
                    latest = conn.execute(
                        f"SELECT serial, lineage, {held} FROM yottactl_state_versions WHERE name = "
                        "%(name)s ORDER BY serial DESC LIMIT 1", {"name": self.db.name, **params}
                    ).fetchone()
                    if latest is not None and not latest[2]:
                        raise self.db.lock_lost("write")
                    if latest is not None and latest[:2] != (state.serial, state.lineage):
                        raise self._fenced(latest[0], latest[1], state)
                    inserted = conn.execute(
                        "INSERT INTO yottactl_state_versions (name, serial, lineage, body, written_by, "
                        "command, changes) SELECT %(name)s, %(serial)s, %(lineage)s, %(body)s, "
                        f"%(who)s, %(command)s, %(changes)s WHERE {held}",
                        {"name": self.db.name, "serial": nxt.serial, "lineage": nxt.lineage,
                         "body": nxt.model_dump_json(), "who": _who(), "command": command_line(),
                         "changes": changes_between(last, nxt), **params})
                    if inserted.rowcount != 1:
                        raise self.db.lock_lost("write")
            except psycopg.errors.UniqueViolation:
                raise self._fenced(nxt.serial, state.lineage, state) from None
        self._last = nxt
        return nxt

    def _fenced(self, serial: int, lineage: str, state: State) -> StateError:
        return StateError(
            f"refusing to write the state {self._where()}: it changed since this run read it "
            f"(stored: lineage {lineage} serial {serial}; this run has lineage {state.lineage} "
            f"serial {state.serial})",
            detail="another run wrote a newer version; nothing was overwritten, and this run's "
                   "journal stays in the database for the next run to recover",
            hint="run the command again: it starts from the newer state")

    def put(self, state: State, *, force: bool = False) -> None:
        from reconciler.state.backend import command_line

        with self.db.session("write") as conn, conn.transaction():
            held = conn.execute("SELECT count(*) FROM yottactl_state_versions WHERE name = %s",
                                (self.db.name,)).fetchone()[0]
            if held and not force:
                raise StateError(f"{self._where()} already holds a state ({held} versions)",
                                 hint="pass --force to replace it (its versions and journal are deleted)")
            conn.execute("DELETE FROM yottactl_state_versions WHERE name = %s", (self.db.name,))
            conn.execute("DELETE FROM yottactl_journal WHERE name = %s", (self.db.name,))
            conn.execute(
                "INSERT INTO yottactl_state_versions (name, serial, lineage, body, written_by, "
                "command, changes) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (self.db.name, state.serial, state.lineage, state.model_dump_json(), _who(),
                 command_line(), "migrated"))
        self._last = state

    def history(self, limit: int) -> list[Version]:
        rows = self.db.rows(
            "read the history of",
            "SELECT serial, lineage, to_char(written_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), written_by, command, changes "
            "FROM yottactl_state_versions WHERE name = %s ORDER BY serial DESC LIMIT %s",
            (self.db.name, limit)) or []
        return [Version(serial=r[0], lineage=r[1], written_at=r[2], written_by=r[3], command=r[4],
                        changes=r[5]) for r in rows]

    def version(self, serial: int) -> State | None:
        rows = self.db.rows("read", "SELECT body FROM yottactl_state_versions WHERE name = %s AND "
                                    "serial = %s", (self.db.name, serial))
        return parse_state(rows[0][0], self._where(), "") if rows else None


class PostgresJournal:
    """Journal rows of one state. ``clear`` deletes only the rows this run read (and so folded)
    or appended: a run whose database session, and with it the lock, was lost may still be
    journaling, and its rows must survive the other run's clear for the next recovery."""

    def __init__(self, db: _Db) -> None:
        self.db = db
        self._mine: set[int] = set()  # seq of the rows read or appended here

    def append(self, record: JournalRecord) -> None:
        with self.db.session("append to the journal of") as conn:
            held, params = self.db.held()
            row = conn.execute(f"INSERT INTO yottactl_journal (name, record) SELECT %(name)s, "
                               f"%(record)s WHERE {held} RETURNING seq",
                               {"name": self.db.name, "record": record_json(record), **params}
                               ).fetchone()
            if row is None:
                raise self.db.lock_lost("append to the journal of")
            self._mine.add(row[0])

    def records(self) -> list[JournalRecord]:
        return self.parse(self.db.snapshot()[1])

    def parse(self, rows: list[tuple[int, str]]) -> list[JournalRecord]:
        """Journal rows as records; they count as read here (``clear`` deletes them)."""
        out = []
        for seq, text in rows:
            try:
                out.append(parse_record(json.loads(text)))
            except (ValueError, ValidationError) as exc:
                raise StateError(f"journal row {seq} of state {self.db.name!r} is not a yottactl "
                                 f"journal record", detail=str(exc).splitlines()[0],
                                 hint="inspect the yottactl_journal table; yottactl changed nothing"
                                 ) from None
        with self.db.mutex:
            self._mine.update(seq for seq, _ in rows)
        return out

    def clear(self) -> None:
        with self.db.session("clear the journal of") as conn:
            if self._mine:
                conn.execute("DELETE FROM yottactl_journal WHERE name = %s AND seq = ANY(%s)",
                             (self.db.name, sorted(self._mine)))
            self._mine.clear()


class PostgresBackend(Backend):
    def __init__(self, url: str) -> None:
        self.db = _Db(url)
        from reconciler.state.postgres_lock import PostgresLock  # it imports this module

        self.pg_store, self.pg_journal = PostgresStore(self.db), PostgresJournal(self.db)
        super().__init__(f"{self.db.location} (state {self.db.name!r})", self.pg_store,
                         self.pg_journal, PostgresLock(self.db))

    def read_with_journal(self) -> tuple[State | None, list[JournalRecord]]:
        body, rows = self.db.snapshot()
        return self.pg_store.parse(body), self.pg_journal.parse(rows)

    def close(self) -> None:
        self.db.close()

    def other_states(self) -> list[str]:  # read-only: no tables yet, no states
        return [r[0] for r in self.db.rows("list the states of", "SELECT DISTINCT name FROM "
                "yottactl_state_versions WHERE name <> %s ORDER BY name LIMIT 50", (self.db.name,)) or ()]
