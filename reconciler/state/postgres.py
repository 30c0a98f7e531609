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

import json
import os
import socket

from pydantic import ValidationError

from reconciler.errors import StateError
from reconciler.state.file_lock import current_user
from reconciler.state.files import parse_state
from reconciler.state.locations import command_line
from reconciler.state.model import State
from reconciler.state.pg_connection import _Db, _psycopg, one
from reconciler.state.postgres_lock import PostgresLock
from reconciler.state.protocol import Backend, LockInfo, Version, changes_between
from reconciler.state.records import JournalRecord, parse_record, record_json


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
                         "body": nxt.model_dump_json(), "who": _who(),
                         "command": (command_line() + self.db.note)[:300],
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
        with self.db.session("write") as conn, conn.transaction():
            held = one(conn.execute("SELECT count(*) FROM yottactl_state_versions WHERE name = %s",
                                    (self.db.name,)).fetchone())[0]
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

        self.pg_store, self.pg_journal = PostgresStore(self.db), PostgresJournal(self.db)
        self.pg_lock = PostgresLock(self.db)
        super().__init__(f"{self.db.location} (state {self.db.name!r})", self.pg_store,
                         self.pg_journal, self.pg_lock)

    def read_with_journal(self) -> tuple[State | None, list[JournalRecord]]:
        body, rows = self.db.snapshot()
        return self.pg_store.parse(body), self.pg_journal.parse(rows)

    def close(self) -> None:
        self.db.close()

    def still_locked(self) -> bool:
        held, params = self.db.held()
        with self.db.session("check the lock of") as conn:
            return bool(one(conn.execute(f"SELECT {held}", params).fetchone())[0])

    def holder(self) -> LockInfo | None:
        return self.pg_lock.holder()

    def note_in_history(self, note: str) -> None:
        self.db.note = note

    def other_states(self) -> list[str]:  # read-only: no tables yet, no states
        return [r[0] for r in self.db.rows("list the states of", "SELECT DISTINCT name FROM "
                "yottactl_state_versions WHERE name <> %s ORDER BY name LIMIT 50", (self.db.name,)) or ()]
