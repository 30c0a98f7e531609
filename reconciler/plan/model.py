"""The Plan: inert, typed, serialisable data. Rendering and applying are separate consumers.

Plan file format (``format_version`` 1), JSON:

    {format_version, created_by, state_lineage, state_serial, summary: {action: count},
     changes: [Change...], drift: [DriftItem...], unmanaged: [Unmanaged...], warnings: [...],
     errors: [...]}

A ``Change`` carries everything the executor needs except secret values: sensitive fields hold
keyed fingerprints (``"sensitive:<hmac>"``) and the manifest templates (``${env:NAME}``) from
which apply re-reads them, refusing if a value no longer matches its fingerprint.
``load(save(plan)) == plan``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
SENSITIVE_PREFIX = "sensitive:"


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    SCALE = "scale"
    START = "start"
    STOP = "stop"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


class Op(str, Enum):
    """One executor step: an API call, or a wait that polls ``detail``."""

    CREATE = "create"
    UPDATE = "update"
    SCALE = "scale"
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    WAIT = "wait"
    FORGET = "forget"  # drop from the state only (already gone live)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Frozen):
    op: Op
    until: tuple[str, ...] = ()  # wait: acceptable statuses
    workers: int | None = None  # wait: running workers expected; scale: the new count

    def describe(self) -> str:
        if self.op is Op.WAIT:
            extra = f" ({self.workers} worker{'s' if self.workers != 1 else ''})" if self.workers else ""
            return f"wait {'|'.join(self.until)}{extra}"
        if self.op is Op.SCALE:
            return f"scale to {self.workers}"
        return str(self.op.value)


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


def _json(v: Any) -> str:
    if v == "(absent)":
        return "(absent)"
    import json

    return json.dumps(v, sort_keys=True, ensure_ascii=False)


class Change(_Frozen):
    name: str
    id: str | None = None  # None: known after apply
    action: Action
    adopt: bool = False
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    steps: tuple[Step, ...] = ()
    disruptive: bool = False
    disruption: str = ""
    live_fingerprint: str | None = None
    live_snapshot: dict[str, Any] | None = None  # masked live essence the plan was made against
    live_status: str | None = None
    price_before: float | None = None
    price_after: float | None = None
    price_estimated: bool = False
    desired: dict[str, Any] | None = None  # masked essence the create/update calls send
    desired_state: str = "running"
    sensitive: tuple[str, ...] = ()  # paths in `desired` holding fingerprints
    templates: dict[str, str] = Field(default_factory=dict)  # path -> manifest template
    prevent_destroy: bool = False
    failed: bool = False  # live status FAILED: shown prominently


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


class Plan(_Frozen):
    format_version: int = FORMAT_VERSION
    created_by: str = "yottactl"
    state_lineage: str | None = None
    state_serial: int = 0
    changes: tuple[Change, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP or c.adopt)

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    def to_json(self) -> str:
        data = self.model_dump(mode="json")
        data["summary"] = self.summary
        import json

        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        import json

        data = json.loads(text)
        data.pop("summary", None)
        return cls.model_validate(data)
