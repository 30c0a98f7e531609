"""The Plan: inert, typed, serialisable data. Rendering and applying are separate consumers.

Plan file format (``format_version`` 3), JSON:

    {format_version, created_by, yottactl_version, state_lineage, state_serial,
     [environment, endpoint,]  (only when a project file yottactl.yaml is in use)
     [api_version,]  ("v1" | "v2": with a project file, or when not v1)
     changes: [Change...], drift: [DriftItem...], unmanaged: [Unmanaged...],
     diagnostics: [{severity, code, deployment, message, hint}...],
     warnings: [text...], errors: [text...], summary: {action: count}}

``policy`` (with a project's policies: the results, ``schema/policy-report-v1.schema.json``) is
derived too. ``yottactl_version`` (the version that wrote the file: for whoever reads a plan artifact
later), ``warnings``, ``errors`` and ``summary`` are derived (for readers of the JSON), not read
back.
Version 2 added ``Change.reason_code`` and the typed ``diagnostics``; a version-1 file (which
stored only sentences) still loads: its codes read as ``unspecified``. Version 3 added the
``wait`` action (a managed deployment not yet in its declared status: apply waits for it) and
``Change.waiting_since``; older files load unchanged.

A ``Change`` carries everything the executor needs except secret values: sensitive fields hold
keyed fingerprints (``"sensitive:<hmac>"``) and the manifest templates (``${env:NAME}``) from
which apply re-reads them, refusing if a value no longer matches its fingerprint.
``load(save(plan)) == plan``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.essence import Essence
from reconciler.ops import Op as Op  # re-exported: a plan's steps are written in it
from reconciler.plan.availability import CapacityRisk
from reconciler.plan.reasons import Reason

FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
SENSITIVE_PREFIX = "sensitive:"


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    SCALE = "scale"
    START = "start"
    STOP = "stop"
    REPLACE = "replace"
    DELETE = "delete"
    RECORD = "record"  # only the state changes (e.g. lifecycle settings): no API call
    RESTART = "restart"  # `yottactl restart NAME`: stop, then start with new workers
    # live status not yet the declared one (INITIALIZING, STOPPING) and nothing else to do:
    # unfinished work, which apply waits for
    WAIT = "wait"
    # lifecycle.rollout: blueGreen: a new deployment (green) is made healthy and cut over to
    # before the serving one (blue) is stopped and deleted (plan/rollout.py)
    ROLLOUT = "rollout"
    NOOP = "no-op"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Frozen):
    op: Op
    until: tuple[str, ...] = ()  # wait: acceptable statuses
    workers: int | None = None  # wait: running workers expected; scale: the new count
    # the name it sends when not the change's own: an update's temporary name that breaks a
    # swap or cycle of renames (plan/renames.py), a rollout create's slot name (plan/rollout.py)
    name: str | None = None
    # create/update that gives a deployment a name: the changes (by name) whose deployment
    # must have left that name first (renamed away or deleted): no name is live twice
    after: tuple[str, ...] = ()
    # blue-green rollout: which deployment the step acts on ("blue": the serving one being
    # replaced, "green": the new one, "discard": a green left by an earlier rollout); None:
    # the change's own deployment, as for every other change
    role: str | None = None

    def describe(self) -> str:
        if self.role is not None:
            return _describe_role(self)
        if self.op is Op.UPDATE and self.name is not None:
            return f"update (temporary name {self.name})"
        if self.after:  # gives a name that these changes' deployments must leave first
            return f"{self.op.value} (after {', '.join(self.after)})"
        if self.op is Op.WAIT:
            extra = f" ({self.workers} worker{'s' if self.workers != 1 else ''})" if self.workers else ""
            return f"wait {'|'.join(self.until)}{extra}"
        if self.op is Op.SCALE:
            return f"scale to {self.workers}"
        return str(self.op.value)


def _describe_role(step: Step) -> str:
    if step.op is Op.CREATE:
        return f"create green {step.name}"
    if step.op in (Op.PROBE, Op.CUTOVER):
        return str(step.op.value)
    plain: str = step.model_copy(update={"role": None}).describe()
    return f"{plain} ({step.role})"


class ProbeSpec(_Frozen):
    """lifecycle.probe as the executor runs it."""

    path: str
    expect_status: int = 200
    timeout_seconds: float = 5.0
    interval_seconds: float = 2.0
    successes: int = 3

    def describe(self) -> str:
        return (f"GET {self.path} → {self.expect_status}, {self.successes}x in a row "
                f"(every {self.interval_seconds:g}s, {self.timeout_seconds:g}s per request)")


class CutoverSpec(_Frozen):
    """lifecycle.cutover: an argv list (no shell) or a webhook URL. Never holds secrets: a
    manifest's lifecycle cannot read ${env:...} (manifest/loader.py)."""

    command: tuple[str, ...] | None = None
    webhook: str | None = None
    timeout_seconds: float = 60.0

    def describe(self) -> str:
        if self.command is not None:
            import shlex

            return "command " + shlex.join(self.command)
        return f"webhook POST {self.webhook}"


class RolloutPlan(_Frozen):
    """What a blue-green change needs besides its steps (plan/rollout.py)."""

    green_name: str  # the name the new deployment is created under (the other slot)
    blue_id: str | None = None  # the serving deployment it replaces (or the one retiring)
    blue_name: str | None = None
    green_id: str | None = None  # a green an interrupted run created: resumed, not re-created
    discard_id: str | None = None  # a green of an earlier rollout, deleted first
    old_domain: str | None = None  # blue's; green's is known after apply
    probe: ProbeSpec | None = None
    cutover: CutoverSpec | None = None
    overlap_seconds: float = 0.0  # expected time both bill (create to blue deleted)
    extra_per_hour: float | None = None  # green's hourly price while both run
    overlap_cost: float | None = None  # extra_per_hour over overlap_seconds


class FieldChange(_Frozen):
    """One field-level difference. Sensitive values never appear: before/after are masked."""

    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False

    def line(self) -> str:
        """``path: before → after`` (values as JSON); a sensitive change only says so."""
        if self.sensitive:
            return f"{self.path}: (sensitive value changed)"
        return f"{self.path}: {_json(self.before)} → {_json(self.after)}"


def _json(v: object) -> str:
    if v == "(absent)":
        return "(absent)"
    if isinstance(v, str) and v.startswith(SENSITIVE_PREFIX):  # e.g. an env var in no manifest
        return f"(value hidden, fingerprint {v[len(SENSITIVE_PREFIX):][:12]})"
    import json

    return json.dumps(v, sort_keys=True, ensure_ascii=False)


class Change(_Frozen):
    name: str
    id: str | None = None  # None: known after apply
    action: Action
    adopt: bool = False
    readopted_from: str | None = None  # adopting by name because this recorded id is gone live
    # the state records this live id under that other name (restored from before `state mv`):
    # apply moves the entry to `name`; the old name plans no delete
    rekeyed_from: str | None = None
    # the name its deployment carries live, when not `name` (renamed by this change, or a
    # deleted deployment that `state mv` moved): what the change releases
    live_name: str | None = None
    reason: str = ""  # the sentence, rendered from reason_code by plan.reasons.sentence
    reason_code: Reason = Reason.UNSPECIFIED
    changes: tuple[FieldChange, ...] = ()
    steps: tuple[Step, ...] = ()
    disruptive: bool = False
    disruption: str = ""
    live_fingerprint: str | None = None
    live_snapshot: Essence | None = None  # masked live essence the plan was made against
    live_status: str | None = None
    price_before: float | None = None
    price_after: float | None = None
    price_estimated: bool = False
    desired: Essence | None = None  # masked essence the create/update calls send
    desired_state: str = "running"
    sensitive: tuple[str, ...] = ()  # paths in `desired` holding fingerprints
    templates: dict[str, str] = Field(default_factory=dict)  # path -> manifest template
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()
    failed: bool = False  # live status FAILED: shown prominently
    # live status transitional (not yet the declared one) since this time, when the state
    # recorded yottactl starting that transition (ISO 8601, UTC); None when unknown
    waiting_since: str | None = None
    rollout: RolloutPlan | None = None  # Action.ROLLOUT: see plan/rollout.py
    capacity: CapacityRisk | None = None  # v2: no capacity shown (plan/capacity.py)

    @property
    def holds(self) -> str | None:
        """The name its deployment carries live as planned (None: nothing live yet)."""
        if self.id is None or (self.steps and self.steps[0].op is Op.FORGET):
            return None
        return self.live_name or self.name


class DriftKind(str, Enum):
    CONFIG = "config-changed"
    SCALED = "scaled"
    STOPPED = "stopped"
    STARTED = "started"
    DELETED = "deleted"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # a second live deployment carrying a managed name


class DriftItem(_Frozen):
    name: str
    id: str | None
    kind: DriftKind
    changes: tuple[FieldChange, ...] = ()
    detail: str = ""


class Unmanaged(_Frozen):
    id: str
    name: str
    status: str | None = None
    duplicate: bool = False  # carries the name of a managed (or adopted) deployment


class Severity(str, Enum):
    ERROR = "error"  # the plan cannot be applied
    WARNING = "warning"


class DiagnosticCode(str, Enum):
    AMBIGUOUS_NAME = "ambiguous-name"  # several live deployments carry a desired name
    NAME_LIVE_ELSEWHERE = "name-live-elsewhere"  # a desired name is live on an id managed as another
    # NAME@alt is live, but the state records it neither as NAME's rollout nor as imported
    PREVENT_DESTROY_REPLACE = "prevent-destroy-replace"
    PREVENT_DESTROY_DELETE = "prevent-destroy-delete"
    UNKNOWN_STATUS = "unknown-status"  # a live status the planner has no rule for
    STATE_NOT_LIVE = "state-not-live"  # most state entries are missing live: wrong endpoint/key?
    MASS_DELETE = "mass-delete"  # the plan deletes most managed deployments
    FINGERPRINT_KEY_CHANGED = "fingerprint-key-changed"
    UNUSED_VARIABLE = "unused-variable"  # a declared ${var:NAME} no manifest uses
    UNKNOWN_REPLACE = "unknown-replace"  # `--replace NAME` names no desired deployment
    NOT_MANAGED = "not-managed"  # `restart NAME`: NAME is not in the state
    NOT_RESTARTABLE = "not-restartable"  # `restart NAME`: NAME is not RUNNING
    UNKNOWN_ID = "unknown-id"  # `delete-unmanaged ID`: no live deployment has the id
    MANAGED_ID = "managed-id"  # `delete-unmanaged ID`: the state manages it (destroy's job)
    NEW_STATE = "new-state"  # the state does not exist yet: this run starts it (adopting?)
    CAPACITY_AT_RISK = "capacity-at-risk"  # v2: new workers on a GPU/region showing unavailable
    CAPACITY_UNKNOWN = "capacity-unknown"  # v2: GET /v2/vms/types failed, or left a pair unsaid
    UNSPECIFIED = "unspecified"  # read from a format-1 plan file, which stored only the text


class Diagnostic(_Frozen):
    """A plan error or warning: a code for tools and tests, the deployment, text and a hint."""

    severity: Severity
    code: DiagnosticCode
    deployment: str | None = None
    message: str
    hint: str = ""

    @property
    def text(self) -> str:
        """One line: ``deployment: message; hint``."""
        head = f"{self.deployment}: " if self.deployment else ""
        return head + self.message + (f"; {self.hint}" if self.hint else "")


def error(code: DiagnosticCode, deployment: str | None, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(severity=Severity.ERROR, code=code, deployment=deployment, message=message,
                      hint=hint)


def warning(code: DiagnosticCode, deployment: str | None, message: str,
            hint: str = "") -> Diagnostic:
    return Diagnostic(severity=Severity.WARNING, code=code, deployment=deployment,
                      message=message, hint=hint)


class Plan(_Frozen):
    format_version: int = FORMAT_VERSION
    created_by: str = "yottactl"
    state_lineage: str | None = None
    state_serial: int = 0
    environment: str | None = None  # the project file's environment (--env), if any
    endpoint: str | None = None  # set when a project file is in use: the header names it
    api_version: str = "v1"  # the Yotta API the plan was made against (fields.API_VERSIONS)
    changes: tuple[Change, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(d.text for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(d.text for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        if not counts[Action.ROLLOUT.value]:  # plans without rollouts read as before
            del counts[Action.ROLLOUT.value]
        return counts

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP or c.adopt)

    @property
    def kept(self) -> tuple[Change, ...]:
        """Imported with --allow-unmanaged, in no manifest: kept, never deleted."""
        return tuple(c for c in self.changes if c.reason_code is Reason.KEPT)

    @property
    def names_api_version(self) -> bool:  # with a project file's header, or when not v1
        return self.api_version != "v1" or self.endpoint is not None or bool(self.environment)

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    def to_json(self, extra: dict[str, object] | None = None) -> str:
        """The plan file; ``extra``: derived sections (``policy``) appended, not read back."""
        from reconciler import __version__

        dumped = self.model_dump(mode="json")
        data = {"format_version": dumped.pop("format_version"),
                "created_by": dumped.pop("created_by"), "yottactl_version": __version__, **dumped}
        data["warnings"], data["errors"] = list(self.warnings), list(self.errors)
        data["summary"] = self.summary
        data.update(extra or {})
        for key in ("environment", "endpoint"):  # only with a project file: plans stay as before
            if data[key] is None:
                del data[key]
        if not self.names_api_version:
            del data["api_version"]
        for change in data["changes"]:  # later, optional fields: omitted when unused
            for key in ("live_name", "rollout", "capacity"):
                if change[key] is None:
                    del change[key]
            for step in change["steps"]:
                for key in ("name", "role"):
                    if step[key] is None:
                        del step[key]
                if not step["after"]:
                    del step["after"]
        import json

        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        import json

        try:
            data = json.loads(text)
        except RecursionError:  # hostile nesting: callers refuse a ValueError cleanly
            raise ValueError("plan JSON is nested too deeply") from None
        version = data.get("format_version") if isinstance(data, dict) else None
        if version not in READABLE_VERSIONS:
            raise ValueError(f"plan format_version {version!r} is not one of {READABLE_VERSIONS}")
        if isinstance(data, dict):
            data.pop("yottactl_version", None)  # who wrote it, not part of the plan
        if isinstance(data, dict):
            data.pop("policy", None)  # checked again by apply against the rules of that run
        for derived in ("summary", "warnings", "errors"):
            texts = data.pop(derived, None)
            if version == 1 and derived != "summary":  # v1 kept only the text
                severity = Severity.WARNING if derived == "warnings" else Severity.ERROR
                data.setdefault("diagnostics", []).extend(
                    {"severity": severity, "code": DiagnosticCode.UNSPECIFIED, "message": t}
                    for t in texts or ())
        data["format_version"] = FORMAT_VERSION
        return cls.model_validate(data)
