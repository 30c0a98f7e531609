"""Settings, resolved once: the only module that reads the process environment for settings.

Precedence for each setting: the command-line flag, then the environment variable, then the
``fallback`` layer (e.g. a project file), then the default. Everything downstream (the client,
the state file, the fingerprinter) receives explicit values from :class:`Settings`.
(Manifest ``${env:...}`` interpolation reads the environment as *data*, not as settings.)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.plan.normalize import Fingerprinter
    from reconciler.project import Inputs
    from reconciler.state.protocol import Backend

# setting -> environment variable
ENV_VARS = {
    "endpoint": "YOTTA_API_URL",
    "api_key": "YOTTA_API_KEY",
    "state_path": "YOTTACTL_STATE",
    "fingerprint_key": "YOTTACTL_FINGERPRINT_KEY",
    "allow_insecure": "YOTTACTL_ALLOW_INSECURE",
    "http_timeout": "YOTTACTL_HTTP_TIMEOUT",
    "http_max_body_mb": "YOTTACTL_HTTP_MAX_BODY_MB",
}


@dataclass(frozen=True)
class Settings:
    """Where to talk to and where the state lives. Secrets never appear in the repr."""

    endpoint: str | None = None
    api_key: str | None = None
    state_path: str | None = None
    fingerprint_key: str | None = None
    allow_insecure: bool = False
    http_timeout: str | None = None  # seconds per API call, retries included (default 60)
    http_max_body_mb: str | None = None  # largest answer accepted, MiB (default 64)
    inputs: Inputs = field(default_factory=lambda: _no_project())  # yottactl.yaml, --env, --var

    def __repr__(self) -> str:
        from reconciler.state.backend import redact_url

        state = redact_url(self.state_path) if self.state_path else None
        return f"Settings(endpoint={self.endpoint!r}, state_path={state!r})"

    def key(self) -> str:
        return self.api_key or ""

    def client(self) -> YottaClient:
        from reconciler.api.client import YottaClient
        from reconciler.api.transfer import Limits

        limits = Limits.parse(self.http_timeout, self.http_max_body_mb)
        return YottaClient(self.key(), self.endpoint, allow_insecure=self.allow_insecure,
                           timeout=limits.deadline, max_body_bytes=limits.max_body_bytes)

    def state_file(self) -> Backend:
        """The state backend: a file path (None: the default path) or a postgresql:// URL."""
        from reconciler.state.backend import open_backend

        return open_backend(self.state_path)

    def fingerprinter(self) -> Fingerprinter:
        """Keyed fingerprints for secrets: the fingerprint key, else derived from the API key.
        The key itself is never written anywhere."""
        from reconciler.plan.normalize import Fingerprinter

        secret = self.fingerprint_key or self.key()
        return Fingerprinter(hashlib.sha256(b"yottactl-fingerprint-v1:" + secret.encode()).digest())


def _no_project() -> Inputs:
    from reconciler.project import Inputs

    return Inputs()


def resolve(
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    state_path: str | None = None,
    environ: Mapping[str, str] | None = None,
    fallback: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from flags (the arguments), the environment and a lower-precedence ``fallback``."""
    env = os.environ if environ is None else environ
    low = fallback or {}

    def pick(name: str, flag: str | None) -> str | None:
        return flag or env.get(ENV_VARS[name]) or low.get(name) or None

    return Settings(
        endpoint=pick("endpoint", endpoint),
        api_key=pick("api_key", api_key),
        state_path=pick("state_path", state_path),
        fingerprint_key=pick("fingerprint_key", None),
        allow_insecure=pick("allow_insecure", None) == "1",
        http_timeout=pick("http_timeout", None),
        http_max_body_mb=pick("http_max_body_mb", None),
    )


def catalog_file(environ: Mapping[str, str] | None = None,
                 fallback: Mapping[str, str] | None = None) -> str | None:
    """The user catalog file that extends the built-in GPU types and regions: YOTTACTL_CATALOG,
    then the ``fallback`` layer's ``catalog`` (the project file's setting)."""
    env = os.environ if environ is None else environ
    return env.get("YOTTACTL_CATALOG") or (fallback or {}).get("catalog") or None


def wants_color(no_color_flag: bool, isatty: bool) -> bool:
    """The one colour policy: only on a terminal, never with --no-color or NO_COLOR
    (https://no-color.org: any non-empty value)."""
    return not no_color_flag and not os.environ.get("NO_COLOR") and isatty


def debug_wanted(flag: bool, environ: Mapping[str, str] | None = None) -> bool:
    """`--debug`, or YOTTACTL_LOG=debug: log every HTTP call (reconciler.api.debuglog)."""
    env = os.environ if environ is None else environ
    return flag or env.get("YOTTACTL_LOG", "").strip().lower() == "debug"


def heartbeat_seconds(environ: Mapping[str, str] | None = None, default: float = 10.0) -> float:
    """How often a waiting apply says it is still waiting without a TTY
    (YOTTACTL_HEARTBEAT_SECONDS; tests use a fraction of a second)."""
    env = os.environ if environ is None else environ
    try:
        value = float(env.get("YOTTACTL_HEARTBEAT_SECONDS") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``overrides``: for commands we start (`yottactl demo`)."""
    return {**os.environ, **overrides}
