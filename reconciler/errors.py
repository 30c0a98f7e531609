"""The one exception tree of yottactl.

Every error a user can see derives from :class:`YottactlError` and carries three parts:
``summary`` (one line: what went wrong), ``detail`` (where / which object / what the API said)
and ``hint`` (how to fix it). The CLI group (``reconciler/cli/__init__.py``) prints those parts
(``render/errors.py``) and maps the class to an exit code;
no other exception should ever reach the user as a traceback.

    YottactlError
    ├── UsageError              bad flags, missing API key, refused plain-HTTP endpoint
    ├── ManifestError           one or more manifest problems (carries ManifestIssue list)
    │   └── ProjectFileError    the project file (yottactl.yaml) is invalid
    ├── PlanError               the planner refuses (preventDestroy, ambiguous names, mass delete)
    ├── PolicyError             the plan breaks a mandatory policy of yottactl.yaml (not overridden)
    ├── StalePlanError          a saved plan no longer matches the live objects it touches
    ├── StateError              corrupt / foreign / future-format state; lock held
    │   └── LockHeld
    ├── ApplyError              one or more changes failed during apply (others may have succeeded)
    └── ApiError                any failed call to the Yotta API
        ├── NotFound            10007, 14000, 24001, HTTP 404
        ├── ActionNotAllowed    24002: the deployment's status does not allow the operation
        ├── InvalidRequest      10001, HTTP 400
        ├── AuthError           HTTP 401 / 403
        ├── RateLimited         HTTP 429            (RetryHinted: carries retry_after)
        ├── ServerError         HTTP 5xx, 10002     (RetryHinted: carries retry_after)
        │   └── BadResponse     an answer that breaks the contract (types, size); never retried
        ├── Unavailable         connect / read failures, timeouts
        │   └── DeadlineExceeded  no complete answer within YOTTACTL_HTTP_TIMEOUT
        └── OutcomeUnknown      a mutating call whose response was lost: it may have happened

Secrets: no exception built here ever receives the API key; an API message is untrusted (a
server may echo the key or a secret back, or send megabytes): the client redacts it with its
command's secrets (:class:`reconciler.redact.Secrets`) before it builds the error, which cuts
it to a sane size (:func:`reconciler.redact.clip`).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.redact import Secrets, clip


class YottactlError(Exception):
    """Base class. ``str(err)`` is the summary; ``detail`` and ``hint`` are optional."""

    exit_code = 1

    def __init__(self, summary: str, *, detail: str = "", hint: str = "") -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.hint = hint


class UsageError(YottactlError):
    """The command line or environment is wrong (e.g. no API key)."""


@dataclass(frozen=True, order=True)
class ManifestIssue:
    """One problem in one manifest, with its position (1-based line and column)."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def format(self) -> str:
        # a file name is the one part of the line the user did not write as YAML: a newline in
        # it would start a forged line of its own, so every unprintable character is escaped
        shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in self.file)
        where = f"{shown}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


class ManifestError(YottactlError):
    """Invalid manifests: every issue found in every file, sorted by position."""

    def __init__(self, issues: list[ManifestIssue]) -> None:
        self.issues = sorted(issues)
        n = len(self.issues)
        super().__init__(
            f"{n} manifest error{'s' if n != 1 else ''}",
            detail="\n".join(i.format() for i in self.issues),
            hint="fix the manifests above and run `yottactl validate` again",
        )


class PlanError(YottactlError):
    """The planner refuses to produce a plan for some deployments."""


class PolicyError(YottactlError):
    """The plan breaks a mandatory policy (reconciler/policy): refused before any API call."""


class StalePlanError(YottactlError):
    """A saved plan was made against objects that have changed since."""


class StateError(YottactlError):
    """The state file cannot be used as it is."""


class LockHeld(StateError):
    """Another yottactl process holds the state lock."""


class OutputError(YottactlError):
    """Standard output or error cannot be written (a full disk, an I/O error): not a closed
    pipe, which ends a command quietly (reconciler/render/safe.py)."""

    @classmethod
    def of(cls, stream: str, exc: OSError) -> OutputError:
        return cls(f"cannot write standard {stream}: {exc.strerror or exc}",
                   hint="check the disk or device it is redirected to")


class ApplyError(YottactlError):
    """Some changes failed during apply; the state records those that succeeded."""


class ApiError(YottactlError):
    """A failed call to the Yotta API. Names the operation, deployment, HTTP status, code, message."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        deployment: str | None = None,
        http_status: int | None = None,
        code: int | None = None,
        hint: str = "",
    ) -> None:
        self.operation = operation
        self.deployment = deployment
        self.http_status = http_status
        self.code = code
        self.api_message = message = clip(message)  # redacted by the client (api/envelope.py)
        target = f" {deployment}" if deployment else ""
        bits = [f"HTTP {http_status}" if http_status else "", f"code {code}" if code else ""]
        status = ", ".join(b for b in bits if b)
        summary = f"{operation}{target} failed: {message}" + (f" ({status})" if status else "")
        super().__init__(summary, hint=hint or self.default_hint)

    default_hint = ""

    def with_deployment(self, deployment: str) -> ApiError:
        """The same error, naming the deployment (the client knows ids, callers know names)."""
        clone = type(self)(
            self.api_message,
            operation=self.operation,
            deployment=deployment,
            http_status=self.http_status,
            code=self.code,
            hint=self.hint,
        )
        clone.__cause__ = self.__cause__
        return clone

    def masked(self, secrets: Secrets) -> ApiError:
        """The same error with ``secrets`` blanked again: for one raised on another thread
        while the manifests (which add ``${env:...}`` values) were still being read."""
        clone = Exception.__new__(type(self))  # every attribute (retry_after...) carried over
        clone.__dict__.update(self.__dict__)
        clone.api_message, clone.summary = secrets.redact(self.api_message), secrets.redact(self.summary)
        clone.args = (clone.summary,)
        return clone


class NotFound(ApiError):
    default_hint = "the deployment may have been deleted; run `yottactl get` to see what exists"


class ActionNotAllowed(ApiError):
    default_hint = "the deployment's current status does not allow this operation; check `yottactl get NAME`"


class InvalidRequest(ApiError):
    default_hint = "the API rejected the request; check the manifest values it names"


class AuthError(ApiError):
    default_hint = "check YOTTA_API_KEY (or --api-key) and the endpoint (YOTTA_API_URL / --endpoint)"


class RetryHinted(ApiError):
    """An error that may say when to retry: ``retry_after`` seconds from HTTP ``Retry-After``."""

    retry_after: float | None = None

    def with_deployment(self, deployment: str) -> ApiError:
        clone = super().with_deployment(deployment)
        assert isinstance(clone, RetryHinted)
        clone.retry_after = self.retry_after
        return clone


class RateLimited(RetryHinted):
    default_hint = "the API is rate limiting; retry later or lower --parallelism"


class ServerError(RetryHinted):
    default_hint = "the API had an internal error; retry later"


class BadResponse(ServerError):
    default_hint = ("the API's answer does not match its specification; check the endpoint "
                    "(YOTTA_API_URL / --endpoint) and report it if it is Yotta's")


class Unavailable(ApiError):
    default_hint = "check the endpoint URL and your network; `yottactl emulator` runs a local API"


class DeadlineExceeded(Unavailable):
    default_hint = ("the API answered too slowly; retry later, or raise YOTTACTL_HTTP_TIMEOUT "
                    "(seconds per API call, retries included)")


class OutcomeUnknown(ApiError):
    default_hint = "the request may have succeeded; the next plan/apply looks the deployment up before acting"


class VarFileError(ManifestError):
    """An invalid ``--var-file``: every issue, with positions (the manifests are not at fault)."""

    def __init__(self, issues: list[ManifestIssue]) -> None:
        super().__init__(issues)
        n = len(self.issues)
        self.summary = f"{n} error{'s' if n != 1 else ''} in the var file"
        self.args = (self.summary,)
        self.hint = "fix the var file above (one YAML mapping of NAME: value lines)"


class ProjectFileError(ManifestError):
    """An invalid project file (yottactl.yaml): every issue, with positions."""

    def __init__(self, issues: list[ManifestIssue]) -> None:
        super().__init__(issues)
        n = len(self.issues)
        self.summary = f"{n} error{'s' if n != 1 else ''} in the project file"
        self.args = (self.summary,)
        self.hint = "fix the project file (`yottactl schema --project` lists its keys)"
