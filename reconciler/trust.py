"""Which endpoints and states a repository file may name (README "Who decides where credentials
go"). Pure: the values to judge and the allow lists come in as arguments; reading them from the
environment is :mod:`reconciler.settings`' job.

The API key and the PostgreSQL credentials (PGPASSWORD, ~/.pgpass, client certificates) belong
to whoever runs yottactl, while ``yottactl.yaml`` belongs to whoever last edited the repository:
in a pull request's plan job, anyone who can push a branch. So an endpoint or a database URL that
only a repository file names is used only when the credentials' holder allowed it.

Matching is on parsed parts, never on text: an allowed ``https://api.yottalabs.ai`` covers
``https://api.yottalabs.ai/v1`` but not ``https://api.yottalabs.ai.evil.com`` nor
``https://api.yottalabs.ai@evil.com``; a database matches on every connection parameter libpq
would use (host, port, database, ``sslmode``, ``host=`` in the query...), only the user, the
password and our own ``state`` parameter aside.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def split_list(value: str | None) -> tuple[str, ...]:
    """A comma list from the environment: entries stripped, empty ones dropped."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def is_database(location: str) -> bool:
    """As the state backend decides (reconciler/state/backend.py): the scheme in any case."""
    return location.lower().startswith(DATABASE_SCHEMES)


def is_loopback_url(url: str) -> bool:
    parsed = _endpoint(url)
    return parsed is not None and is_loopback_host(parsed.host)


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (IPv6 with or without its brackets)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Endpoint:
    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash


def _endpoint(url: str) -> _Endpoint | None:
    """The parts of an API base URL, or None when it is not a plain http(s) URL. Parsed twice,
    by the standard library and by httpx (which sends the requests): any disagreement between
    the two (backslashes, several @, odd ports) is refused rather than guessed at."""
    import httpx

    try:
        mine, theirs = urlsplit(url.strip()), httpx.URL(url.strip())
        port = mine.port
    except (ValueError, httpx.InvalidURL):
        return None
    if mine.scheme not in DEFAULT_PORTS or not mine.hostname or mine.username is not None \
            or mine.password is not None or mine.query or mine.fragment or "\\" in url:
        return None
    host, port = mine.hostname.lower(), port or DEFAULT_PORTS[mine.scheme]
    if (theirs.scheme, theirs.host.lower(), theirs.port or DEFAULT_PORTS[mine.scheme]) != \
            (mine.scheme, host.strip("[]"), port) or theirs.userinfo:
        return None
    return _Endpoint(mine.scheme, host, port, mine.path.rstrip("/"))


def unusable_endpoints(allowed: Iterable[str]) -> list[str]:
    """Entries of an allow list that can never match (no scheme, a typo): worth saying so."""
    return [entry for entry in allowed if _endpoint(entry) is None]


def endpoint_allowed(url: str, allowed: Iterable[str]) -> bool:
    """``url`` is under one of the ``allowed`` URL prefixes: same scheme, host and port, and
    a path that is the prefix's path or below it (whole segments: /v1 does not cover /v10)."""
    candidate = _endpoint(url)
    if candidate is None:
        return False
    for entry in allowed:
        prefix = _endpoint(entry)
        if prefix is None:
            continue
        if (prefix.scheme, prefix.host, prefix.port) == (candidate.scheme, candidate.host,
                                                         candidate.port) and \
                (candidate.path == prefix.path or candidate.path.startswith(prefix.path + "/")):
            return True
    return False


def any_state(url: str) -> str:
    """A database URL as an allow entry for every state in that database."""
    return _without_state(url)[0]


def _without_state(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    states = [v for k, v in query if k == "state"]
    rest = urlencode([(k, v) for k, v in query if k != "state"])
    return urlunsplit(parts._replace(query=rest)), (states[-1] if states else None)


_WHO = ("user", "password")  # who connects, not where to: the allowed server sees them anyway


def _connection(url: str) -> dict[str, str] | None:
    """Every connection parameter libpq would read from ``url`` (its own parser, so that what
    is compared is what would be used), or None when it cannot be parsed."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # without psycopg no database state can be opened either
        return None
    try:
        scheme_fixed = "postgresql://" + url.split("://", 1)[1]
        params = conninfo_to_dict(scheme_fixed)
    except Exception:  # psycopg.ProgrammingError and friends: not a URL libpq accepts
        return None
    found = {k: str(v) for k, v in params.items() if k not in _WHO}
    found["port"] = found.get("port") or "5432"
    found["host"] = found.get("host", "").lower()
    return found


def state_allowed(url: str, allowed: Iterable[str]) -> bool:
    """A database URL is allowed when an ``allowed`` entry names the same connection (every
    parameter but the user and password equal) and, if the entry has ``?state=NAME``, the same
    state. A file path is not a URL and is not judged here."""
    if not is_database(url):
        return False
    base, state = _without_state(url)
    candidate = _connection(base)
    if candidate is None:
        return False
    for entry in allowed:
        if not is_database(entry):
            continue
        entry_base, entry_state = _without_state(entry)
        if entry_state is not None and entry_state != (state or "default"):
            continue
        if _connection(entry_base) == candidate:
            return True
    return False
