"""What the executor reports: progress events as it goes, the result at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.ops import StepOutcome
from reconciler.state.model import State

__all__ = ["Event", "Interrupted", "Result"]


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C / SIGTERM) before this step started."""


@dataclass(frozen=True)
class Event:
    name: str
    step: str
    outcome: StepOutcome
    elapsed: float  # seconds since this deployment's first step started
    detail: str = ""
    # STATUS events (each poll of a wait): what the API reported and what is awaited
    status: str | None = None
    running: int | None = None
    wanted: int | None = None
    hint: str = ""  # FAILED events: where to look next


@dataclass
class Result:
    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: list[str] = field(default_factory=list)  # stopped before any step ran
    partial: dict[str, list[str]] = field(default_factory=dict)  # stopped after these steps
    state: State | None = None
    persist_ms: list[float] = field(default_factory=list)
