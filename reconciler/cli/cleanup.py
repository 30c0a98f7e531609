"""`delete-unmanaged ID...`: delete live deployments that the state does not manage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from reconciler.cli import main, use_color
from reconciler.cli.options import (
    api_options,
    auto_approve_option,
    color_option,
    lock_option,
    parallelism_option,
    settings,
    timeout_option,
)
from reconciler.cli.run import confirm, execute, show_plan, warn

if TYPE_CHECKING:
    from reconciler.errors import PlanError


@main.command(name="delete-unmanaged")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@auto_approve_option
@timeout_option("Longest wait for one deployment to stop before it is deleted.")
@parallelism_option("deleted")
@lock_option
@api_options
@color_option
def delete_unmanaged(ids: tuple[str, ...], auto_approve: bool, timeout: float, parallelism: int,
                     lock_timeout: float, endpoint: str | None, api_key: str | None,
                     state_path: str | None, no_color: bool) -> None:
    """Stop and delete live deployments ID... that the state does not manage.

    For the leftovers and duplicates that `plan` and `drift` list as unmanaged. Shows what it
    deletes and asks first (--auto-approve for scripts); journaled like an apply. A managed id
    is refused: `yottactl destroy --target NAME` deletes those.
    """
    from reconciler.app.apply import ApplyOptions
    from reconciler.app.cleanup import check_ids
    from reconciler.app.run import DeleteUnmanagedPlan, Run

    check_ids(ids)
    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    with Run(s, lock_timeout=lock_timeout, warn=warn) as run:  # locked: no apply adopts them
        planned = run.plan(DeleteUnmanagedPlan(ids))
        if planned.plan.errors:  # all or nothing: no plan to show, its summary would be a refusal's
            raise refusal(planned.plan.errors)
        show_plan(planned.plan, color)
        confirm(auto_approve, "delete")
        execute(run, planned, ApplyOptions(parallelism=parallelism, timeout=timeout), color,
                verb="delete")


def refusal(errors: tuple[str, ...]) -> PlanError:
    """Ids that cannot be deleted here (managed, unknown): the whole command is refused."""
    from reconciler.errors import PlanError

    if len(errors) == 1:
        return PlanError(f"{errors[0]}; nothing was deleted")
    return PlanError(f"{len(errors)} of the ids cannot be deleted here; nothing was deleted",
                     detail="\n".join(errors))
