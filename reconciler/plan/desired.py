"""What the planner needs of one manifest: below the planner and its rollout rung, which both
read it (``plan/planner.desired_from_manifest`` builds it). Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.essence import Essence
from reconciler.plan.model import CutoverSpec, ProbeSpec


@dataclass(frozen=True, slots=True)
class Desired:
    """What the planner needs of one manifest (built by ``desired_from_manifest``)."""

    name: str
    essence: Essence  # real values: never rendered, only masked copies are
    sensitive: frozenset[str] = frozenset()
    templates: dict[str, str] = field(default_factory=dict)
    state: str = "running"
    prevent_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()
    rollout: str = "recreate"  # lifecycle.rollout (or the project's default): plan/rollout.py
    probe: ProbeSpec | None = None
    cutover: CutoverSpec | None = None
