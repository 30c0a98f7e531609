"""Typed journal records: what a run writes before and after each API call.

  IntentRecord   before a mutating call (a create carries what recovery would record)
  OutcomeRecord  right after it: ok, or the error it ended with
  StateRecord    the state change that followed (the write-ahead log of the state)

Both backends store the same JSON for each record, so recovery folds them the same way.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from reconciler.essence import Essence
from reconciler.ops import Op
from reconciler.state.model import StateEntry


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Record(BaseModel):
    # extra keys are ignored, not refused: recovery must never fail on a field it does not need
    model_config = ConfigDict(frozen=True, extra="ignore")

    time: str = Field(default_factory=now_iso)
    deployment: str


class IntentRecord(_Record):
    phase: Literal["intent"] = "intent"
    op: Op
    id: str | None = None
    # an update that renames to a temporary name (a swap of names): the name it sends
    name: str | None = None
    plan: str = ""
    # a create's masked spec (secrets fingerprinted): recorded if the create turns out to have happened
    spec: Essence | None = None
    sensitive: tuple[str, ...] = ()
    desired_state: str = "running"
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()


class OutcomeRecord(_Record):
    phase: Literal["outcome"] = "outcome"
    op: Op
    id: str | None = None
    plan: str = ""
    ok: bool
    error: str = ""
    code: int | None = None


class StateRecord(_Record):
    phase: Literal["state"] = "state"
    entry: StateEntry | None = None  # None: the deployment left the state


JournalRecord = Annotated[IntentRecord | OutcomeRecord | StateRecord, Field(discriminator="phase")]
RECORD: TypeAdapter[JournalRecord] = TypeAdapter(JournalRecord)


def record_json(record: JournalRecord) -> str:
    if isinstance(record, IntentRecord) and record.name is None:  # records read as before
        return record.model_dump_json(exclude={"name"})
    return record.model_dump_json(exclude_none=False)


def parse_record(data: object) -> JournalRecord:
    """A record from decoded JSON; raises ValueError for anything that is not one."""
    return RECORD.validate_python(data)
