"""The state: yottactl's inventory of managed deployments. Pure data, versioned format.

    {format_version: 2, lineage: uuid, serial: int, key_verifier: str|null,
     deployments: {name: {id, spec, sensitive, fingerprint, status, desired_state,
                          prevent_destroy, ignore_changes, created_at, updated_at,
                          renamed_from[, keep_without_manifest, rollout_green,
                          rollout_failed, rollout_retiring]}}
     [, policy_overrides: [{rule, by, at, environment, passed}]]
     [, agent_heals: {name: [UTC time, ...]}]}

``spec`` is the last-applied essence with secret values replaced by keyed fingerprints.

Format history (every older format is read, migrated in memory, and written as the current one;
a newer format is refused: the build that wrote it knows fields this one would drop):

1. the first release (no ``ignore_changes`` / ``renamed_from``); later builds added those two
   fields to entries but still wrote 1, so a format-1 file may hold them.
2. the same shape; the bump tells builds that read only format 1 to refuse these files as
   newer instead of as "malformed".
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.dataclasses import dataclass

from reconciler.essence import Essence

FORMAT_VERSION = 2
OLDEST_FORMAT_VERSION = 1


def _from_1(data: dict[str, object]) -> dict[str, object]:
    return data  # format 2 only added optional entry fields, and format 1 files may hold them


# format N -> N+1, applied in turn to a document read from an older file
_MIGRATIONS = {1: _from_1}


def migrate(data: dict[str, object], version: int) -> dict[str, object]:
    """A state document of an older ``version`` as the current format (the caller has checked
    ``OLDEST_FORMAT_VERSION <= version <= FORMAT_VERSION``)."""
    for step in range(version, FORMAT_VERSION):
        data = _MIGRATIONS[step](data)
    return {**data, "format_version": FORMAT_VERSION}


@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class StateEntry:
    """One managed deployment. A slotted pydantic dataclass, not a BaseModel: a state of
    10,000 deployments held ~1.4 KB more per entry as models (see essence.py)."""

    id: str
    spec: Essence = dataclasses.field(default_factory=Essence)
    sensitive: tuple[str, ...] = ()
    fingerprint: str = ""
    status: str | None = None
    desired_state: str = "running"
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()  # lifecycle.ignoreChanges as last applied
    created_at: str = ""
    updated_at: str = ""
    # `state mv OLD NEW` sets OLD here: the live deployment still has that name until the next
    # apply renames it, which is a planned change, not drift. Cleared by the next record.
    renamed_from: str | None = None
    # `import NAME ID --allow-unmanaged`: no manifest names it, and plans keep it ("not in
    # manifests: kept") instead of deleting it. Written only when true, so files without it
    # keep their bytes. Cleared when a manifest takes it over (apply records it anew).
    keep_without_manifest: bool = Field(default=False, exclude_if=lambda keep: not keep)
    # Blue-green rollouts (plan/rollout.py), each written only when set (files keep their bytes):
    # the new deployment a rollout created and has not cut over to yet (an interrupted run's,
    # or one kept by `apply --keep-failed`); why it failed, when kept; and, after the cutover
    # (``id`` is then the new one), the old deployment still to be stopped and deleted.
    rollout_green: str | None = Field(default=None, exclude_if=lambda v: v is None)
    rollout_failed: str | None = Field(default=None, exclude_if=lambda v: v is None)
    rollout_retiring: str | None = Field(default=None, exclude_if=lambda v: v is None)

    def model_copy(self, *, update: Mapping[str, object]) -> StateEntry:
        """A copy with the fields in ``update`` replaced, validated by pydantic (its __init__):
        each value is checked against its field's type at run time, not by mypy."""
        values: dict[str, Any] = dict(update)
        return dataclasses.replace(self, **values)

    def model_dump(self, *, mode: Literal["json", "python"] = "python") -> dict[str, object]:
        out: dict[str, object] = _entry_adapter().dump_python(self, mode=mode)
        return out


@functools.cache
def _entry_adapter() -> TypeAdapter[StateEntry]:
    return TypeAdapter(StateEntry)


@dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class PolicyOverride:
    """One `--policy-override RULE` a run used: who, when, where and what it passed."""

    rule: str
    by: str
    at: str
    environment: str | None = None
    passed: tuple[str, ...] = ()  # the violations' texts


class State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    lineage: str
    serial: int = 0
    key_verifier: str | None = None
    deployments: dict[str, StateEntry] = Field(default_factory=dict)
    # --policy-override records, newest last; written only when there are some (files keep
    # their bytes)
    policy_overrides: tuple[PolicyOverride, ...] = Field(default=(), exclude_if=lambda v: not v)
    # `yottactl agent`'s heals of each deployment in the last hour (its maxHealsPerHour cap
    # survives a restart or a takeover); written only when there are some
    agent_heals: dict[str, tuple[str, ...]] = Field(default_factory=dict,
                                                    exclude_if=lambda v: not v)

    @classmethod
    def empty(cls, lineage: str | None = None) -> State:
        return cls(lineage=lineage or str(uuid.uuid4()))

    def with_entry(self, name: str, entry: StateEntry) -> State:
        return self.model_copy(update={"deployments": {**self.deployments, name: entry}})

    def without(self, name: str) -> State:
        rest = {k: v for k, v in self.deployments.items() if k != name}
        return self.model_copy(update={"deployments": rest})
