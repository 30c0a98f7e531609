"""Settings, resolved once: the only module that reads the process environment for settings.

Precedence for each setting: the command-line flag, then the environment variable, then the
default. Everything downstream (the client,
the state file, the fingerprinter) receives explicit values from :class:`Settings`. With a
project file, :func:`for_project` adds who may decide where the credentials go.
(Manifest ``${env:...}`` interpolation reads the environment as *data*, not as settings.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reconciler.fields import API_VERSIONS, DEFAULT_API_VERSION

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.plan.normalize import Fingerprinter
    from reconciler.project import Context, Inputs
    from reconciler.redact import Secrets
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
    "api_version": "YOTTA_API_VERSION",
}
# Yotta's own CLI reads YOTTA_BASE_URL: an alias of YOTTA_API_URL, which wins when both are set
# (README "Settings"). The alias gets exactly YOTTA_API_URL's treatment everywhere below.
ENDPOINT_ALIAS = "YOTTA_BASE_URL"
# who holds the credentials allows a repository file's endpoint / database (reconciler/trust.py)
ALLOWED_ENDPOINTS, ALLOWED_STATES = "YOTTACTL_ALLOWED_ENDPOINTS", "YOTTACTL_ALLOWED_STATES"


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
    api_version: str = DEFAULT_API_VERSION  # v1 or v2 (api/wire.py): only the client knows
    inputs: Inputs = field(default_factory=lambda: _no_project())  # yottactl.yaml, --env, --var

    def __repr__(self) -> str:
        from reconciler.state.backend import redact_url

        state = redact_url(self.state_path) if self.state_path else None
        return f"Settings(endpoint={self.endpoint!r}, state_path={state!r})"

    def key(self) -> str:
        return self.api_key or ""

    def client(self, secrets: Secrets | None = None) -> YottaClient:
        """The API client; ``secrets``: the command's, which it adds the key to and redacts."""
        from reconciler.api.client import YottaClient
        from reconciler.api.transfer import Limits

        limits = Limits.parse(self.http_timeout, self.http_max_body_mb)
        return YottaClient(self.key(), self.endpoint, allow_insecure=self.allow_insecure,
                           timeout=limits.deadline, max_body_bytes=limits.max_body_bytes,
                           api_version=self.api_version, secrets=secrets)

    def state_file(self) -> Backend:
        """The state backend: a file path (None: the default path) or a postgresql:// URL."""
        from reconciler.state.backend import open_backend

        return open_backend(self.state_path)

    def fingerprinter(self) -> Fingerprinter:
        """Keyed fingerprints for secrets: the fingerprint key, else derived from the API key.
        The key itself is never written anywhere."""
        import hashlib  # here, not at the top: `yottactl CMD --help` never needs it (start-up)

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
    api_version: str | None = None,
) -> Settings:
    """Settings from flags (the arguments) and the environment. A project file's endpoint and
    state come in only through :func:`for_project`, which judges them."""
    env = os.environ if environ is None else environ

    def pick(name: str, flag: str | None) -> str | None:
        return flag or env.get(ENV_VARS[name]) or None

    return Settings(
        endpoint=endpoint or exported_endpoint(env)[0],
        api_key=pick("api_key", api_key),
        state_path=pick("state_path", state_path),
        fingerprint_key=pick("fingerprint_key", None),
        allow_insecure=pick("allow_insecure", None) == "1",
        http_timeout=pick("http_timeout", None),
        http_max_body_mb=pick("http_max_body_mb", None),
        api_version=chosen_api_version(api_version, None, env),
    )


def chosen_api_version(flag: str | None, project: str | None,
                       environ: Mapping[str, str] | None = None) -> str:
    """The API version: --api-version, then YOTTA_API_VERSION, then the project file's `api`
    (the environment's, else the global one), then v1."""
    env = os.environ if environ is None else environ
    exported = env.get(ENV_VARS["api_version"], "").strip() or None
    if exported is not None and exported not in API_VERSIONS:
        from reconciler.errors import UsageError

        raise UsageError(f"{ENV_VARS['api_version']}={exported!r} is not an API version",
                         hint=f"use one of {', '.join(API_VERSIONS)}, or unset it "
                              f"(default {DEFAULT_API_VERSION})")
    return flag or exported or project or DEFAULT_API_VERSION


def exported_endpoint(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The endpoint exported in the environment and the variable that named it: YOTTA_API_URL,
    else its alias YOTTA_BASE_URL (Yotta's own CLI's name)."""
    for name in (ENV_VARS["endpoint"], ENDPOINT_ALIAS):
        if environ.get(name):
            return environ[name], name
    return None, ENV_VARS["endpoint"]


@dataclass(frozen=True)
class Resolution:
    """The settings for one command, and the notes to show about how they were chosen."""

    settings: Settings
    notes: tuple[str, ...] = ()


def for_project(inputs: Inputs, *, endpoint: str | None = None, api_key: str | None = None,
                state_path: str | None = None, environ: Mapping[str, str] | None = None,
                uses_api: bool = True, api_version: str | None = None) -> Resolution:
    """Settings for a command run with a project file (``inputs.context``).

    Flags win. A selected environment's own endpoint and state beat an exported YOTTA_API_URL /
    YOTTACTL_STATE (a variable left over in the shell must never send prod's plan to staging),
    otherwise the environment beats the project file. But an endpoint or database named only in
    the project file is used only if whoever holds the credentials allows it (README "Who
    decides where credentials go"); in CI (``CI=true``) the exported value then wins, anywhere
    else it is an error before any request. ``uses_api=False`` (the state commands): the project
    file's endpoint is not judged, and not used either."""
    env = os.environ if environ is None else environ
    base = replace(resolve(endpoint=endpoint, api_key=api_key, state_path=state_path,
                           environ=env), inputs=inputs)
    guard = _Guard(inputs.context, env)
    exported, guard.endpoint_variable = exported_endpoint(env)
    chosen_endpoint = endpoint or (guard.endpoint(exported) if uses_api else exported)
    chosen_state = guard.state(state_path, env.get(ENV_VARS["state_path"]) or None)
    version = chosen_api_version(api_version, inputs.context.api_version, env)
    # the loader reads the chosen version from the context (per-version validation)
    inputs = replace(inputs, context=replace(inputs.context, api_version=version))
    return Resolution(replace(base, endpoint=chosen_endpoint, state_path=chosen_state,
                              api_version=version, inputs=inputs), tuple(guard.notes))


# set by CI services that do not all set CI=true (Jenkins, Azure Pipelines, TeamCity, ...)
CI_MARKERS = ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "CIRCLECI", "TF_BUILD",
              "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ID")


class _Guard:
    """The rule of :func:`for_project`, for one context and environment."""

    def __init__(self, context: Context, environ: Mapping[str, str]) -> None:
        from reconciler import trust

        self.context, self.notes = context, list[str]()
        self.endpoint_variable = ENV_VARS["endpoint"]  # or its alias, whichever was exported
        self.ci = environ.get("CI", "").strip().lower() in ("true", "1", "yes") or any(
            environ.get(marker) for marker in CI_MARKERS)
        self.allowed_endpoints = trust.split_list(environ.get(ALLOWED_ENDPOINTS))
        self.allowed_states = trust.split_list(environ.get(ALLOWED_STATES))
        project, name = context.project, context.environment
        section = project.config.environments[name] if project and name else None
        self.own_endpoint = section is not None and section.endpoint is not None
        self.own_state = section is not None and section.state is not None

    def _key(self, setting: str, own: bool) -> str:
        file = self.context.project.path.name if self.context.project else "yottactl.yaml"
        return f"{file} {f'environments.{self.context.environment}.' if own else ''}{setting}"

    def endpoint(self, exported: str | None) -> str | None:
        from reconciler import trust
        from reconciler.api.facts import DEFAULT_BASE_URL

        named = self.context.endpoint
        if named is None or (exported and not self.own_endpoint):
            return exported  # the project file is the lowest layer
        allowed = (*self.allowed_endpoints, DEFAULT_BASE_URL, *((exported,) if exported else ()))
        # a loopback endpoint (the emulator) only when the key holder exported none: an exported
        # URL says where the key goes, and another local port may be anyone's (ssh -L, a
        # port-forward, another user)
        loopback_ok = not self.ci and not exported and trust.is_loopback_url(named)
        if trust.endpoint_allowed(named, allowed) or loopback_ok:
            if exported and exported != named:
                self.notes.append(f"{self.endpoint_variable} is ignored: environment "
                                  f"{self.context.environment!r} sets {named}")
            return named
        key = self._key("endpoint", self.own_endpoint)
        if self.ci and exported:
            self.notes.append(f"{key} ({named}) is not in {ALLOWED_ENDPOINTS}: using "
                              f"{self.endpoint_variable} ({exported})")
            return exported
        instead = f"{self.endpoint_variable} is {exported}" if exported else \
            f"the default is {DEFAULT_BASE_URL}"
        from reconciler.errors import UsageError

        detail = ""
        if trust.is_loopback_url(named):
            detail = ("; loopback is not exempt in CI" if self.ci else
                      f"; loopback is not exempt when {self.endpoint_variable} is exported")
        unusable = trust.unusable_endpoints(self.allowed_endpoints)
        import shlex

        if unusable:  # e.g. a host without https://: it allows nothing
            detail += f"; {ALLOWED_ENDPOINTS} entries that are not URLs: {', '.join(unusable)}"
        raise UsageError(
            f"{key} sends the API key to {named}, which the environment does not allow "
            f"({instead}{detail})",
            # quoted: a hint is copied into a shell, and the value is the repository's text
            hint=f"an endpoint from a repository file is used only if whoever holds the key allows "
                 f"it: if it is yours, export {ALLOWED_ENDPOINTS}={shlex.quote(named)} (comma list "
                 f"of URL prefixes) or YOTTA_API_URL=…, or pass --endpoint …")

    def state(self, flag: str | None, exported: str | None) -> str | None:
        from reconciler.project import with_state_name

        name = self.context.environment
        if flag is not None:
            return with_state_name(flag, name) if name else flag
        named = self.context.state
        if named is None or (exported and name is None):
            return exported  # the project file is the lowest layer
        if named == exported:
            return named
        if exported and not self.own_state:
            return self._exported_state(exported)  # one database URL for every environment
        if self._state_allowed(named, exported):
            if exported and exported != named:
                self.notes.append(f"YOTTACTL_STATE is ignored: environment {name!r} sets "
                                  f"{_redacted(named)}")
            return named
        key = self._key("state", self.own_state)
        if self.ci and exported:
            from reconciler import trust

            why = f"is not in {ALLOWED_STATES}" if trust.is_database(named) else \
                "is a file, and in CI the job's state wins"
            self.notes.append(f"{key} ({_redacted(named)}) {why}: using YOTTACTL_STATE")
            return self._exported_state(exported)
        from reconciler.errors import UsageError

        raise UsageError(
            f"{key} names the state {_redacted(named)}, which the environment does not allow "
            f"({'YOTTACTL_STATE is ' + _redacted(exported) if exported else 'no YOTTACTL_STATE'})"
            f"; a database URL would receive the PostgreSQL credentials of this environment",
            hint=f"a database named in a repository file is used only if whoever holds the "
                 f"credentials allows it: if it is yours, export {ALLOWED_STATES}=URL (comma list) "
                 f"or YOTTACTL_STATE=URL, or pass --state URL")

    def _state_allowed(self, named: str, exported: str | None) -> bool:
        from reconciler import trust

        if trust.is_database(named):
            # the exported database, whichever ?state= it names: the state is not who gets in
            allowed = (*self.allowed_states, *((trust.any_state(exported),) if exported else ()))
            return trust.state_allowed(named, allowed)
        return not (self.ci and exported)  # a file carries no credentials; in CI the job's wins

    def _exported_state(self, exported: str) -> str:
        from reconciler import trust
        from reconciler.errors import UsageError
        from reconciler.project import with_state_name

        name = self.context.environment or ""
        if trust.is_database(exported):
            return with_state_name(exported, name)
        raise UsageError(f"YOTTACTL_STATE names one state file, but environment {name!r} needs "
                         "its own",
                         hint=f"set environments.{name}.state in yottactl.yaml, pass --state, or "
                              "unset YOTTACTL_STATE (the default is state/NAME.state.json beside "
                              "yottactl.yaml)")


def _redacted(location: str) -> str:
    from reconciler.state.backend import redact_url

    return redact_url(location)


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


# what a cutover command (lifecycle.cutover.command, from a file a pull request can edit)
# inherits from yottactl's environment: where programs are and the locale, never a credential
HOOK_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def hook_environment() -> dict[str, str]:
    """The part of this process's environment a cutover command gets (``HOOK_ENVIRONMENT``)."""
    return {k: os.environ[k] for k in HOOK_ENVIRONMENT if k in os.environ}


# yottactl's own credentials: the API key, the fingerprint key and the state location (a
# database URL may carry a password); the agent's `git` needs none of them
CREDENTIAL_VARIABLES = (ENV_VARS["api_key"], ENV_VARS["fingerprint_key"], ENV_VARS["state_path"])


def git_environment() -> dict[str, str]:
    """What the agent's `git` runs with: this process's environment (git's own credentials,
    SSH agent, HOME for its config) less yottactl's credentials, never prompting, C locale
    (its messages are read), and only the https, ssh, git and file transports."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    return {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C",
            "GIT_ALLOW_PROTOCOL": "https:ssh:git:file"}  # never ext:: (runs a command) or fd::


def child_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``overrides``: for commands we start (`yottactl demo`)."""
    return {**os.environ, **overrides}
