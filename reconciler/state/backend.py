"""Which state backend a command uses, chosen by ``--state`` / ``YOTTACTL_STATE``:

  a path                                   the file backend (default state/yottactl.state.json)
  postgresql://…  or  postgres://…          the PostgreSQL backend; ``?state=NAME`` picks one of
                                           several states in one database (default ``default``)

The password in a URL is never printed: :func:`redact_url` is used for every message.
"""

from __future__ import annotations

import re
import sys

from reconciler.state.files import DEFAULT_PATH, StateFile, atomic_write
from reconciler.state.protocol import Backend, Journal
from reconciler.state.records import now_iso

__all__ = ["DEFAULT_PATH", "Backend", "StateFile", "atomic_write", "command_line", "is_postgres_url",
           "now_iso", "open_backend", "redact_url"]

_SCHEMES = ("postgresql://", "postgres://")
# scheme://user:PASSWORD@ ; also the password=... keyword anywhere in a connection string
# (up to the LAST @ of the authority: a raw @ in a password must not leave its tail visible)
_URL_PASSWORD = re.compile(r"(?i)(postgres(?:ql)?://[^:/@?#\s]*:)[^/?#\s]*@")
_KW_PASSWORD = re.compile(r"(?i)\b(password=)[^&\s]*")
# libpq's keyword/value connection string (`host=db dbname=infra password=...`): not a path.
# Keywords from https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS
_LIBPQ_KEYWORDS = frozenset({
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service", "sslmode",
    "sslcert", "sslkey", "sslrootcert", "sslpassword", "connect_timeout", "application_name",
    "options", "target_session_attrs", "channel_binding", "gssencmode", "require_auth",
    "client_encoding", "keepalives", "krbsrvname", "load_balance_hosts"})
# `key=` at the start, after a blank, or after a folder separator (a project file's relative
# value is placed beside the file: `/repo/host=db password=...`)
_KEYWORD_PAIR = re.compile(r"(?:^|[\s/\\])([A-Za-z_]+)\s*=")


def is_postgres_url(location: str) -> bool:
    return location.lower().startswith(_SCHEMES)


def redact_url(text: str) -> str:
    """``text`` with every password in a PostgreSQL URL or ``password=`` parameter as ``***``."""
    return _KW_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def keyword_names(location: str) -> list[str]:
    """The libpq keywords in ``location`` if it reads as a keyword/value connection string
    (empty for a URL or an ordinary path)."""
    if is_postgres_url(location):
        return []
    found = [m.group(1).lower() for m in _KEYWORD_PAIR.finditer(location)]
    return list(dict.fromkeys(k for k in found if k in _LIBPQ_KEYWORDS))


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
    if is_postgres_url(location):
        from reconciler.state.postgres import PostgresBackend

        return PostgresBackend(location)
    return StateFile(location, journal=journal)


def command_line() -> str:
    """This process's command line for lock info and history: --api-key values and URL
    passwords redacted."""
    args, hide = [], False
    for arg in sys.argv[1:]:
        if hide:
            args.append("***")
        elif arg.startswith("--api-key="):
            arg = "--api-key=***"
        if not hide:
            args.append(redact_url(arg))
        hide = arg == "--api-key"
    return " ".join(["yottactl", *args])[:200]
