"""`delete-unmanaged ID...`: the plan that deletes live deployments no state entry maps (the
leftovers and duplicates `plan` and `drift` report). Executed like any apply: journaled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.app.session import Session
    from reconciler.plan.model import Plan
    from reconciler.state.model import State


def check_ids(ids: Sequence[str]) -> None:
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise UsageError(f"{bad[0]!r} is not a deployment id",
                         hint="ids are 18-digit numbers; `yottactl get` lists them (plan and "
                              "drift name the unmanaged ones)")


def delete_unmanaged_plan(session: Session, ids: Sequence[str], state: State | None) -> Plan:
    """Stop-and-delete changes for ``ids`` (one list call); unknown or managed ids are errors."""
    from reconciler.plan.unmanaged import plan_unmanaged_deletes

    if state is None:  # a mistyped --state would make every managed deployment look unmanaged
        raise UsageError(f"the state {session.store.location} does not exist, so every "
                         "live deployment would look unmanaged; nothing was deleted",
                         hint="check --state / YOTTACTL_STATE (`yottactl state list`); a "
                              "deployment no yottactl state knows is deleted in the console")
    return plan_unmanaged_deletes(ids, session.client.list(), state)
