"""`wait` (kubectl's `rollout status`) and `restart` (kubectl's `rollout restart`)."""

from __future__ import annotations

import sys

import click

from reconciler.cli import main, use_color
from reconciler.cli.options import (
    api_options,
    auto_approve_option,
    color_option,
    complete_names,
    lock_option,
    parallelism_option,
    settings,
    timeout_option,
)
from reconciler.cli.run import confirm, execute, show_plan, warn


@main.command(name="wait")
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@click.option("--for", "target", type=click.Choice(["running", "stopped", "deleted"]),
              default="running", show_default=True,
              help="running: RUNNING with every worker up (QUEUE mode: the status only); "
                   "stopped: STOPPED; deleted: gone from the API.")
@click.option("--timeout", default=900.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS", help="Give up (exit 1) after this long.")
@api_options
def wait_cmd(names: tuple[str, ...], target: str, timeout: float, endpoint: str | None,
             api_key: str | None, state_path: str | None) -> None:
    """Wait until deployments NAME... reach a status (after `apply --no-wait`).

    Exit 0 when all have, 1 when one FAILED or the timeout passed. Managed names are
    followed by their id, so a rename or a replace cannot fool it.
    """
    from reconciler.app.restart import wait_for
    from reconciler.render.progress import wait_text
    from reconciler.settings import heartbeat_seconds

    s = settings(endpoint, api_key, state_path)
    for line in wait_for(s, names, target, timeout, heartbeat_seconds()):
        click.echo(wait_text(line.name, target, line.reached, line.description, line.elapsed))


@main.command()
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@auto_approve_option
@click.option("--no-wait", is_flag=True, help="Return once the API accepted the start calls.")
@timeout_option("Longest wait for one deployment to reach a status.")
@parallelism_option("restarted")
@lock_option
@api_options
@color_option
def restart(names: tuple[str, ...], auto_approve: bool, no_wait: bool, timeout: float,
            parallelism: int, lock_timeout: float, endpoint: str | None, api_key: str | None,
            state_path: str | None, no_color: bool) -> None:
    """Stop and start running managed deployments NAME... (new workers), after confirmation.

    Like kubectl's `rollout restart`: nothing in the spec changes; it is planned, shown and
    recorded like any apply.
    """
    from reconciler.app.apply import ApplyOptions
    from reconciler.app.run import RestartPlan, Run

    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    with Run(s, lock_timeout=lock_timeout, warn=warn) as run:
        planned = run.plan(RestartPlan(names))
        show_plan(planned.plan, color)
        if planned.plan.errors:
            sys.exit(1)
        confirm(auto_approve, "restart")
        execute(run, planned, ApplyOptions(parallelism=parallelism, no_wait=no_wait,
                                           timeout=timeout), color, verb="restart")
