"""Is a saved plan still valid? Only the deployments it touches matter (by fingerprint)."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.models import Deployment
from reconciler.plan.diff import diff
from reconciler.plan.model import Plan
from reconciler.plan.normalize import (
    Essence,
    Fingerprinter,
    essence_from_live,
    hide_undeclared,
    mask,
    status_fingerprint,
)
from reconciler.state.model import State


def stale_reasons(plan: Plan, live: Sequence[Deployment], state: State | None,
                  fp: Fingerprinter) -> list[str]:
    by_id = {d.id: d for d in live}
    managed = {e.id for e in state.deployments.values()} if state else set()
    reasons: list[str] = []
    for change in plan.pending:
        if change.id is None:
            clash = [d.id for d in live if d.name == change.name and d.id not in managed]
            if clash:
                reasons.append(f"{change.name}: now exists live (id {', '.join(clash)}); "
                               "creating it again would duplicate it")
            continue
        current = by_id.get(change.id)
        if current is None:
            if change.steps and change.steps[0].op.value == "forget":
                continue
            reasons.append(f"{change.name}: deployment {change.id} no longer exists")
            continue
        declared = change.desired.environmentVars if change.desired else {}  # as the planner did
        masked = hide_undeclared(mask(essence_from_live(current), change.sensitive, fp), declared,
                                 fp)
        if status_fingerprint(fp, masked, current.status) == change.live_fingerprint:
            continue
        what = [c.line() for c in diff(change.live_snapshot or Essence(), masked, change.sensitive)]
        if change.live_status != current.status:
            what.append(f"status: {change.live_status} → {current.status}")
        reasons.append(f"{change.name}: changed since the plan ({'; '.join(what) or 'fields'})")
    return reasons
