"""Capacity before approval (issue 27): under v2, `plan` marks every create or replacement
whose GPU type and region ``GET /v2/vms/types`` shows unavailable as at risk, naming the other
resources[] entries the manifest already allows; ``--require-capacity`` makes that an error.
Pure: the availability is fetched by the use case (app/plan.py)."""

from __future__ import annotations

from reconciler.plan.availability import Availability, risk
from reconciler.plan.model import Action, Change, DiagnosticCode, Plan, error, warning

# the changes that ask the platform for new workers on a resources[] entry
CREATING = (Action.CREATE, Action.REPLACE, Action.ROLLOUT)


def mark_capacity(plan: Plan, shown: Availability, *, required: bool = False) -> Plan:
    changes: list[Change] = []
    found = []
    for change in plan.changes:
        resuming = change.rollout is not None and change.rollout.green_id is not None
        if change.action in CREATING and change.desired is not None and not resuming:
            at_risk = risk(change.desired.resources, shown)
            if at_risk is not None:
                change = change.model_copy(update={"capacity": at_risk})
                if required:
                    found.append(error(DiagnosticCode.CAPACITY_AT_RISK, change.name,
                                       at_risk.message(), at_risk.hint() +
                                       "; without --require-capacity this is a warning"))
                else:
                    found.append(warning(DiagnosticCode.CAPACITY_AT_RISK, change.name,
                                         at_risk.message(), at_risk.hint()))
        changes.append(change)
    if not found:
        return plan
    return plan.model_copy(update={"changes": tuple(changes),
                                   "diagnostics": (*plan.diagnostics, *found)})
