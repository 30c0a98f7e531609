"""Where a state lives, as text: is it a PostgreSQL URL, its password hidden for every message,
a libpq keyword string or a URL of another scheme mistaken for a path; and this process's
command line (redacted) for lock info and history. Pure text functions, below every backend."""

from __future__ import annotations

import re
import sys

_SCHEMES = ("postgresql://", "postgres://")
# scheme://user:PASSWORD@ ; also the password=... keyword anywhere in a connection string
# (up to the LAST @ of the authority: a raw @ in a password must not leave its tail visible)
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/@?#\s]*:)[^/?#\s]*@")
# scheme://USERINFO@ (a Git URL's `user:token@` or bare `token@`): all of it may be a secret
_USERINFO = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
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
# `scheme://` (RFC 3986 scheme characters): a URL, never a file path, whichever scheme it names
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_postgres_url(location: str) -> bool:
    return location.lower().startswith(_SCHEMES)


def foreign_scheme(location: str) -> str | None:
    """The scheme of ``location`` if it is a URL no state backend reads (``pg://``,
    ``postgresql+psycopg://``): taken as a path, it would become a folder named after the
    password."""
    match = _SCHEME.match(location)
    if match is None or is_postgres_url(location):
        return None
    return match.group(1)


def redact_url(text: str) -> str:
    """``text`` with every password in a URL (``scheme://user:PASSWORD@``) or ``password=``
    parameter as ``***``."""
    return _KW_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def without_userinfo(text: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x``: a Git URL's credentials (a
    bare ``token@`` too) stay out of every message and record."""
    return _USERINFO.sub(r"\1***@", text)


def keyword_names(location: str) -> list[str]:
    """The libpq keywords in ``location`` if it reads as a keyword/value connection string
    (empty for a URL or an ordinary path)."""
    if is_postgres_url(location):
        return []
    found = [m.group(1).lower() for m in _KEYWORD_PAIR.finditer(location)]
    return list(dict.fromkeys(k for k in found if k in _LIBPQ_KEYWORDS))


def command_line() -> str:
    """This process's command line for lock info and history: --api-key values, URL
    passwords and a Git URL's userinfo (`yottactl agent --source https://user:token@…`)
    redacted."""
    args, hide = [], False
    for arg in sys.argv[1:]:
        if hide:
            args.append("***")
        elif arg.startswith("--api-key="):
            arg = "--api-key=***"
        if not hide:
            args.append(without_userinfo(redact_url(arg)))
        hide = arg == "--api-key"
    return " ".join(["yottactl", *args])[:200]
