"""`yottactl restart NAME`: a plan that stops and starts running deployments (kubectl's
`rollout restart`), so they get new workers. Pure, like the planner: (names, live, state) -> Plan.

The spec recorded in the state stays the last-applied one: a restart changes no field.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.facts import QUEUE, RUNNING
from reconciler.api.models import Deployment
from reconciler.plan import steps as S
from reconciler.plan.model import Action, Change, Diagnostic, DiagnosticCode, Op, Plan, Step, error
from reconciler.plan.reasons import Reason, sentence
from reconciler.state.model import State


def plan_restart(names: Sequence[str], live: Sequence[Deployment], state: State | None) -> Plan:
    by_id = {d.id: d for d in live}
    managed = state.deployments if state else {}
    changes: list[Change] = []
    problems: list[Diagnostic] = []
    for name in sorted(set(names)):
        entry = managed.get(name)
        dep = by_id.get(entry.id) if entry else None
        if entry is None:
            problems.append(error(DiagnosticCode.NOT_MANAGED, name, "is not managed by yottactl",
                                  "`yottactl state list` shows managed names"))
        elif dep is None:
            problems.append(error(DiagnosticCode.STATE_NOT_LIVE, name,
                                  f"is not live (id {entry.id})",
                                  "`yottactl plan` shows how to bring it back"))
        elif dep.status != RUNNING:
            problems.append(error(DiagnosticCode.NOT_RESTARTABLE, name,
                                  f"is {dep.status}; only a RUNNING deployment is restarted",
                                  "start it with `yottactl apply` (state: running)"))
        else:
            workers = None if dep.serviceMode == QUEUE else dep.totalWorkers
            steps = (*S.STOP, Step(op=Op.START),
                     Step(op=Op.WAIT, until=(RUNNING,), workers=workers))
            changes.append(Change(
                name=name, id=dep.id, action=Action.RESTART, reason_code=Reason.RESTART_REQUESTED,
                reason=sentence(Reason.RESTART_REQUESTED), steps=steps, disruptive=True,
                disruption=S.RESTARTS, live_status=dep.status, desired=entry.spec,
                sensitive=entry.sensitive, desired_state="running",
                prevent_destroy=entry.prevent_destroy, price_before=dep.perHourPrice,
                price_after=dep.perHourPrice))
    return Plan(state_lineage=state.lineage if state else None,
                state_serial=state.serial if state else 0, changes=tuple(changes),
                diagnostics=tuple(problems))
