"""Done means the declared status, seen twice: a deployment one list shows settled (RUNNING or
STOPPED, as declared) is confirmed by a second list before `apply` says "No changes", as a wait
confirms with two polls in a row (apply/polling.py). A status that flips would otherwise
pass every other run: one snapshot RUNNING, "No changes", exit 0, while it is not serving.

Pure: the caller makes the second list call and plans again with what this returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from reconciler.plan.live import LiveDeployment
from reconciler.plan.model import Action, Plan


def settled_ids(plan: Plan) -> frozenset[str]:
    """Ids of the managed deployments ``plan`` leaves alone: up to date and settled."""
    return frozenset(c.id for c in plan.changes
                     if c.action is Action.NOOP and not c.adopt and c.id is not None)


def unconfirmed(plan: Plan, live: Sequence[LiveDeployment],
                again: Mapping[str, str | None]) -> list[LiveDeployment] | None:
    """``live`` with the status a second list (``again``: id -> status) shows for each
    deployment ``plan`` took as settled whose status changed in between; None when every one
    held (the plan stands). A deployment missing from the second list keeps the first answer
    (the next run sees it gone)."""
    settled = settled_ids(plan)
    changed = False
    out = []
    for dep in live:
        status = again.get(dep.id, dep.status)
        if dep.id in settled and status != dep.status:
            dep, changed = dataclasses.replace(dep, status=status), True
        out.append(dep)
    return out if changed else None
