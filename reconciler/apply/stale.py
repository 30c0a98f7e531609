"""Is a saved plan still valid? Only the deployments it touches matter (by fingerprint), and
no create it holds may find its name taken: a live deployment carrying the name, or a state
entry mapping it to a live id (the plan was applied already, or another apply created it)."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.models import Deployment
from reconciler.plan.diff import diff
from reconciler.plan.model import Action, Change, Op, Plan
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
    reasons: list[str] = []
    for change in plan.pending:
        if any(s.op is Op.CREATE for s in change.steps):
            taken = name_taken(change, plan, live, state)
            if taken:
                reasons.append(taken)
                continue
        if change.id is None:
            continue
        current = by_id.get(change.id)
        if current is None:
            if change.steps and change.steps[0].op is Op.FORGET:
                continue
            reasons.append(f"{change.name}: deployment {change.id} no longer exists")
            continue
        planned_name = change.live_name or change.name
        if current.name != planned_name:
            reasons.append(f"{change.name}: renamed since the plan ({planned_name!r} → "
                           f"{current.name!r})")
            continue
        declared = change.desired.environmentVars if change.desired else {}  # as the planner did
        masked = hide_undeclared(mask(essence_from_live(current), change.sensitive, fp), declared,
                                 fp)
        if status_fingerprint(fp, masked, current.status) == change.live_fingerprint:
            continue
        if _settled(change, current.status) and \
                status_fingerprint(fp, masked, change.live_status) == change.live_fingerprint:
            continue  # only waited for, and got there meanwhile: the wait is already done
        what = [c.line() for c in diff(change.live_snapshot or Essence(), masked, change.sensitive)]
        if change.live_status != current.status:
            what.append(f"status: {change.live_status} → {current.status}")
        reasons.append(f"{change.name}: changed since the plan ({'; '.join(what) or 'fields'})")
    return reasons


def _settled(change: Change, status: str | None) -> bool:
    """A change that only waits (Action.WAIT) for a status the deployment now has."""
    return change.action is Action.WAIT and any(
        s.op is Op.WAIT and status in s.until for s in change.steps)


def name_taken(change: Change, plan: Plan, live: Sequence[Deployment],
               state: State | None) -> str:
    """Why creating ``change.name`` now would make a second deployment of it ('' if it would
    not). The deployments the plan itself deletes or renames away from the name (a replace's
    own, a swap's other side) do not count: the plan releases the name before it creates."""
    create = next((s for s in change.steps if s.op is Op.CREATE), None)
    wanted = create.name if create is not None and create.name else change.name  # a rollout's
    released = {c.id for c in plan.pending if c.holds == wanted}
    holders = sorted(d.id for d in live if d.name == wanted and d.id not in released)
    entry = state.deployments.get(change.name) if state else None
    if entry is not None and entry.id != change.id and any(d.id == entry.id for d in live):
        return (f"{change.name}: the state now manages it as live deployment {entry.id}: this "
                "plan was applied already, or another apply created it since; creating it "
                "again would make a second deployment of this name")
    if holders:
        what = change.name if wanted == change.name else f"{change.name}: {wanted}"
        return (f"{what}: now exists live (id {', '.join(holders)}); creating it again "
                "would make a second deployment of this name")
    return ""
