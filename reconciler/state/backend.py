"""Which state backend a command uses, chosen by ``--state`` / ``YOTTACTL_STATE``:

  a path                                   the file backend (default state/yottactl.state.json)
  postgresql://…  or  postgres://…          the PostgreSQL backend; ``?state=NAME`` picks one of
                                           several states in one database (default ``default``)

The password in a URL is never printed: :func:`redact_url` is used for every message.
"""

from __future__ import annotations

from reconciler.state.atomic import atomic_write
from reconciler.state.files import DEFAULT_PATH, StateFile
from reconciler.state.locations import (
    command_line,
    foreign_scheme,
    is_postgres_url,
    keyword_names,
    redact_url,
)
from reconciler.state.protocol import Backend, Journal
from reconciler.state.records import now_iso

__all__ = ["DEFAULT_PATH", "Backend", "StateFile", "atomic_write", "command_line", "is_postgres_url",
           "now_iso", "open_backend", "redact_url"]


def open_backend(location: str | None = None, journal: Journal | None = None) -> Backend:
    location = location or DEFAULT_PATH  # YOTTACTL_STATE: resolved in reconciler.settings
    keywords = keyword_names(location)
    if keywords:  # taken as a path, apply would create a file named after the password
        from reconciler.errors import UsageError

        raise UsageError(  # the value itself is never shown: it may hold a password
            "the state location is a libpq keyword connection string "
            f"({', '.join(k + '=…' for k in keywords)}), not a file path or a URL",
            detail="from --state, YOTTACTL_STATE or the project file's `state:`; nothing was "
                   "read or written",
            hint="use the URL form postgresql://USER@HOST:PORT/DBNAME?state=NAME and give the "
                 "password in PGPASSWORD or ~/.pgpass")
    scheme = foreign_scheme(location)
    if scheme is not None:  # taken as a path, apply would create folders named after the password
        from reconciler.errors import UsageError

        raise UsageError(  # the value itself is never shown: it may hold a password
            f"the state location is a {scheme}:// URL; only postgresql:// and postgres:// URLs "
            "name a database, and a URL is never taken as a file path",
            detail="from --state, YOTTACTL_STATE or the project file's `state:`; nothing was "
                   "read or written",
            hint="use postgresql://USER@HOST:PORT/DBNAME?state=NAME (the password in PGPASSWORD "
                 "or ~/.pgpass), or a file path such as state/yottactl.state.json")
    if is_postgres_url(location):
        from reconciler.state.postgres import PostgresBackend

        return PostgresBackend(location)
    return StateFile(location, journal=journal)
