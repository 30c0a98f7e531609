"""`wait` (kubectl's `rollout status`) and `restart` (kubectl's `rollout restart`)."""

from __future__ import annotations

import sys

import click

from reconciler.cli import api_options, color_option, complete_names, main, settings, use_color
from reconciler.cli.apply import confirm, lock_option, run_plan, warn


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
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--no-wait", is_flag=True, help="Return once the API accepted the start calls.")
@click.option("--timeout", default=900.0, show_default=True, type=float, metavar="SECONDS",
              help="Longest wait for one deployment to reach a status.")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Deployments restarted at the same time.")
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
    from reconciler.app.apply import ApplyOptions, recover_state
    from reconciler.app.restart import restart_plan
    from reconciler.cli.plan import render_plan
    from reconciler.state.backend import command_line

    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        recovered = recover_state(s, store, warn)
        state = recovered.state
        the_plan = restart_plan(s, names, state)
        render_plan(the_plan, "text", color)
        if the_plan.errors:
            sys.exit(1)
        confirm(auto_approve, "restart")
        run_plan(s, store, state, the_plan, {},
                 ApplyOptions(parallelism=parallelism, no_wait=no_wait, timeout=timeout,
                              settle=recovered.touched), color, verb="restart")
