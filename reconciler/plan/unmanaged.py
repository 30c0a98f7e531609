"""`yottactl delete-unmanaged ID...`: a plan that stops and deletes live deployments the state
does not manage (the leftovers and duplicates that plan and drift report). Pure, like the
planner: (ids, live, state) -> Plan. A managed id is refused: deleting it is `destroy`'s job.

Each change is keyed ``NAME #ID``: never a state name (names have no blank or ``#``), so the
executor's journal and state records of it can never touch a managed entry, even when the
deployment carries a managed name (a duplicate).
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.api.models import Deployment
from reconciler.plan import steps as S
from reconciler.plan.model import Action, Change, Diagnostic, DiagnosticCode, Plan, error
from reconciler.plan.reasons import Reason, sentence
from reconciler.state.model import State


def change_key(dep: Deployment) -> str:
    return f"{dep.name or '(no name)'} #{dep.id}"


def plan_unmanaged_deletes(ids: Sequence[str], live: Sequence[Deployment],
                           state: State | None) -> Plan:
    by_id = {d.id: d for d in live}
    managed = {e.id: n for n, e in (state.deployments if state else {}).items()}
    changes: list[Change] = []
    problems: list[Diagnostic] = []
    for dep_id in dict.fromkeys(ids):
        dep = by_id.get(dep_id)
        if dep_id in managed:
            name = managed[dep_id]
            problems.append(error(
                DiagnosticCode.MANAGED_ID, name, f"id {dep_id} is managed by this state; "
                "delete-unmanaged only deletes what no state entry maps",
                f"`yottactl destroy --target {name}` deletes it (or `yottactl state rm {name}` "
                "first, to stop managing it)"))
        elif dep is None:
            problems.append(error(
                DiagnosticCode.UNKNOWN_ID, None, f"no live deployment has id {dep_id}",
                "`yottactl get` lists live deployments with their ids"))
        elif change_key(dep) in (state.deployments if state else {}):  # names never hold " #"
            problems.append(error(DiagnosticCode.MANAGED_ID, change_key(dep),
                                  "the state has an entry of this very name"))
        else:
            changes.append(Change(
                name=change_key(dep), id=dep.id, action=Action.DELETE,
                steps=S.delete(dep.status), reason=sentence(Reason.DELETE_UNMANAGED),
                reason_code=Reason.DELETE_UNMANAGED, disruptive=True,
                disruption="deployment is deleted", live_status=dep.status,
                price_before=dep.perHourPrice, price_after=0.0))
    return Plan(state_lineage=state.lineage if state else None,
                state_serial=state.serial if state else 0, changes=tuple(changes),
                diagnostics=tuple(problems))
