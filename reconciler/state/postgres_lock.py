"""The PostgreSQL backend's lock: a session-level advisory lock keyed by the state name, held on
its own connection for the whole run, plus a holder row (lock id, pid, host, user, command,
started) saying who holds it. A holder that dies, however, loses its connection and with it
the lock: no force-unlock is needed then."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from reconciler.errors import LockHeld, StateError
from reconciler.state.file_lock import current_user
from reconciler.state.pg_connection import _Db, _psycopg, one
from reconciler.state.protocol import LockInfo, Warn
from reconciler.state.records import now_iso

if TYPE_CHECKING:
    from reconciler.state.pg_connection import Connection


class PostgresLock:
    def __init__(self, db: _Db) -> None:
        self.db = db

    def holder(self) -> LockInfo | None:
        with self.db.session("read the lock of") as conn:
            row = conn.execute("SELECT lock_id, pid, host, username, command, started FROM "
                               "yottactl_locks WHERE name = %s", (self.db.name,)).fetchone()
        return None if row is None else LockInfo(id=row[0], pid=row[1], host=row[2], user=row[3],
                                                 command=row[4], started=row[5])

    @contextlib.contextmanager
    def locked(self, command: str, timeout: float = 0.0, warn: Warn | None = None) -> Iterator[str]:
        psycopg = _psycopg()
        with self.db.session("lock"):
            pass  # the schema exists before the lock connection needs the tables
        conn = self.db.connect()
        try:
            if not self._acquire(conn, 0):
                if timeout <= 0:
                    raise self._held()
                if warn is not None:  # say who is waited for, rather than hang silently
                    warn(f"{self._held().summary}; waiting up to {timeout:g}s for it")
                if not self._acquire(conn, timeout):
                    raise self._held()
            previous = self.holder()
            if previous is not None and warn is not None:
                warn(f"took over the state lock left by pid {previous.pid} on {previous.host} "
                     f"(`{previous.command}`): its database session had ended, so it no longer "
                     "holds the lock")
            lock_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO yottactl_locks (name, lock_id, pid, host, username, command, started) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
                "lock_id = EXCLUDED.lock_id, pid = EXCLUDED.pid, host = EXCLUDED.host, "
                "username = EXCLUDED.username, command = EXCLUDED.command, started = EXCLUDED.started",
                (self.db.name, lock_id, os.getpid(), socket.gethostname(), current_user(),
                 command, now_iso()))
            self.db.lock_session = conn.info.backend_pid  # writes check it still holds it
            try:
                yield lock_id
            finally:
                self.db.lock_session = None
                with contextlib.suppress(psycopg.Error):
                    conn.execute("DELETE FROM yottactl_locks WHERE name = %s AND lock_id = %s",
                                 (self.db.name, lock_id))
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.db.key,))
        except psycopg.Error as exc:
            raise self.db.error("lock", exc) from None
        finally:
            conn.close()

    def _acquire(self, conn: Connection, timeout: float) -> bool:
        psycopg = _psycopg()
        if timeout <= 0:
            return bool(one(conn.execute("SELECT pg_try_advisory_lock(%s)", (self.db.key,)).fetchone())[0])
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(timeout * 1000)}ms",))
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (self.db.key,))
        except psycopg.errors.LockNotAvailable:
            return False
        conn.execute("SELECT set_config('lock_timeout', '0', false)")
        return True

    def _held(self) -> LockHeld:
        holder = self.holder()
        deadline = time.monotonic() + 0.5
        while holder is None and time.monotonic() < deadline:  # written right after locking
            time.sleep(0.01)
            holder = self.holder()
        who = holder.who() if holder else "another process"
        return LockHeld(f"the state is locked by {who}",
                        detail=f"lock id: {holder.id if holder else '?'}  state: {self.db.name!r} "
                               f"at {self.db.location}",
                        hint="wait for it to finish, or pass --lock-timeout SECONDS to wait for it; "
                             "the lock is freed as soon as that run's database session ends, even "
                             "if it is killed")

    def force_unlock(self, lock_id: str, force: bool = False) -> LockInfo:
        holder = self.holder()
        if holder is None:
            raise StateError("the state is not locked", hint="nothing to unlock")
        if holder.id != lock_id:
            raise StateError(f"lock id {lock_id} does not match the current lock {holder.id}",
                             hint="copy the id from the 'locked by' message")
        conn = self.db.connect()
        try:
            if not one(conn.execute("SELECT pg_try_advisory_lock(%s)", (self.db.key,)).fetchone())[0]:
                raise StateError(
                    f"refusing to unlock: the holder, pid {holder.pid} on {holder.host} "
                    f"(`{holder.command}`), still has its database session",
                    detail="PostgreSQL frees the lock by itself when that session ends (the run "
                           "finishes, is killed, or loses its connection); yottactl never breaks a "
                           "live lock",
                    hint="wait for it to finish, or stop that run")
            conn.execute("DELETE FROM yottactl_locks WHERE name = %s AND lock_id = %s",
                         (self.db.name, lock_id))
        finally:
            conn.close()
        return holder
