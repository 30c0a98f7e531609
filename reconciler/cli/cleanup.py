"""`delete-unmanaged ID...`: delete live deployments that the state does not manage."""

from __future__ import annotations

import click

from reconciler.cli import api_options, color_option, main, settings, use_color
from reconciler.cli.apply import confirm, lock_option, run_plan, warn
from reconciler.errors import PlanError


@main.command(name="delete-unmanaged")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--timeout", default=900.0, show_default=True, type=float, metavar="SECONDS",
              help="Longest wait for one deployment to stop before it is deleted.")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Deployments deleted at the same time.")
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
    from reconciler.app.apply import ApplyOptions, recover_state
    from reconciler.app.cleanup import check_ids, delete_unmanaged_plan
    from reconciler.cli.plan import render_plan
    from reconciler.state.backend import command_line

    check_ids(ids)
    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):  # no apply adopts it meanwhile
        recovered = recover_state(s, store, warn)
        state = recovered.state
        the_plan = delete_unmanaged_plan(s, ids, state)
        if the_plan.errors:  # all or nothing: no plan to show, its summary would be a refusal's
            raise refusal(the_plan.errors)
        render_plan(the_plan, "text", color)
        confirm(auto_approve, "delete")
        run_plan(s, store, state, the_plan, {},
                 ApplyOptions(parallelism=parallelism, timeout=timeout, settle=recovered.touched),
                 color, verb="delete")


def refusal(errors: tuple[str, ...]) -> PlanError:
    """Ids that cannot be deleted here (managed, unknown): the whole command is refused."""
    if len(errors) == 1:
        return PlanError(f"{errors[0]}; nothing was deleted")
    return PlanError(f"{len(errors)} of the ids cannot be deleted here; nothing was deleted",
                     detail="\n".join(errors))
