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


def is_postgres_url(location: str) -> bool:
    return location.lower().startswith(_SCHEMES)


def redact_url(text: str) -> str:
    """``text`` with every password in a PostgreSQL URL or ``password=`` parameter as ``***``."""
    return _KW_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def open_backend(location: str | None = None, journal: Journal | None = None) -> Backend:
    location = location or DEFAULT_PATH  # YOTTACTL_STATE: resolved in reconciler.settings
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
