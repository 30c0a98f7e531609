"""Capacity before approval (issue 27): under v2, `plan` marks every change that asks the
platform for new workers (a create, replacement or rollout; a start, which an update of a
running deployment ends with; a scale-up of a running one) whose GPU type and region
``GET /v2/vms/types`` shows unavailable as at risk, naming the other resources[] entries the
manifest already allows; ``--require-capacity`` makes that an error. Pure: the availability is
fetched by the use case (app/plan.py)."""

from __future__ import annotations

from reconciler.ops import Op
from reconciler.plan.availability import Availability, risk, unconfirmed
from reconciler.plan.model import Action, Change, DiagnosticCode, Plan, error, warning

# the changes that ask the platform for new workers on a resources[] entry
CREATING = (Action.CREATE, Action.REPLACE, Action.ROLLOUT)
WARNING_WITHOUT = "; without --require-capacity this is a warning"


def needs_workers(change: Change) -> bool:
    """Does applying ``change`` ask for new workers: a create (not a rollout's, resumed, whose
    new deployment exists), a start (stopped or failed to running, an update's restart), or a
    scale of a running deployment to more workers than it has?"""
    if change.desired is None:
        return False
    if change.action in CREATING:
        return change.rollout is None or change.rollout.green_id is None
    had = change.live_snapshot.workers if change.live_snapshot is not None else None
    for step in change.steps:
        if step.op in (Op.CREATE, Op.START):
            return True
        if step.op is Op.SCALE and change.desired_state == "running" and \
                step.workers is not None and (had is None or step.workers > had):
            return True
    return False


def mark_capacity(plan: Plan, shown: Availability, *, required: bool = False) -> Plan:
    """Each change needing new workers: at risk where a pair shows unavailable; else, where a
    pair is not listed or shows no flag, capacity not confirmed (unknown, never called
    unavailable): a warning, an error with --require-capacity, which needs every pair shown."""
    make = error if required else warning
    changes: list[Change] = []
    found = []
    for change in plan.changes:
        if needs_workers(change):
            assert change.desired is not None  # needs_workers says so
            at_risk = risk(change.desired.resources, shown)
            unknown = unconfirmed(change.desired.resources, shown)
            if at_risk is not None:
                change = change.model_copy(update={"capacity": at_risk})
                found.append(make(DiagnosticCode.CAPACITY_AT_RISK, change.name, at_risk.message(),
                                  at_risk.hint() + (WARNING_WITHOUT if required else "")))
            elif unknown:
                pairs = ", ".join(e.describe() for e in unknown)
                found.append(make(
                    DiagnosticCode.CAPACITY_UNKNOWN, change.name,
                    f"capacity not confirmed: GET /v2/vms/types does not say whether {pairs} "
                    "has capacity (not listed, or listed without `available`)",
                    "--require-capacity needs every resources[] entry of a change asking for "
                    "new workers to show available; plan again later" + WARNING_WITHOUT
                    if required else "--require-capacity makes this an error"))
        changes.append(change)
    if not found:
        return plan
    return plan.model_copy(update={"changes": tuple(changes),
                                   "diagnostics": (*plan.diagnostics, *found)})
