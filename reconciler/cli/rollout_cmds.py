"""`wait` (kubectl's `rollout status`) and `restart` (kubectl's `rollout restart`)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from reconciler.cli import api_options, color_option, complete_names, main, settings, use_color
from reconciler.cli.apply_cmds import confirm, lock_option, run_plan, warn
from reconciler.errors import UsageError, YottactlError


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
    from reconciler.observe import WaitTarget, wait_state
    from reconciler.render.progress import duration
    from reconciler.settings import heartbeat_seconds

    s = settings(endpoint, api_key, state_path)
    client = s.client()
    ids = _ids(s, client, names, target)
    heartbeat = heartbeat_seconds()
    started = time.monotonic()
    deadline = started + timeout
    delay, last_line = 0.05, dict.fromkeys(names, started)
    seen: dict[str, tuple[object, ...]] = {}
    pending = list(names)
    while pending:
        live = {d.id: d for d in client.list()}
        now = time.monotonic()
        for name in list(pending):
            dep_id = ids[name]
            dep = live.get(dep_id) if dep_id else None
            state = wait_state(dep, WaitTarget(target))
            elapsed = duration(now - started)
            if state.reached:
                click.echo(f"{name}: {state.describe()} [{elapsed}]")
                pending.remove(name)
            elif state.failed:
                raise YottactlError(f"{name} ended {state.describe()} while waiting for "
                                    f"{target}", hint=f"see why with `yottactl logs {name}`")
            elif seen.get(name) != state.key() or now - last_line[name] >= heartbeat:
                seen[name], last_line[name] = state.key(), now
                click.echo(f"{name}: waiting for {target}… [{elapsed} elapsed] "
                           f"{state.describe()}")
        if not pending:
            return
        if now > deadline:
            raise YottactlError(f"timed out after {timeout:g}s waiting for "
                                f"{', '.join(pending)} to be {target}",
                                hint=f"look at `yottactl logs {pending[0]}` and `yottactl "
                                     f"workers {pending[0]}`")
        time.sleep(min(delay, max(0.0, deadline - now)))  # poll interval, not a test sleep
        delay = min(delay * 1.5, 2.0)


def _ids(s: Any, client: Any, names: tuple[str, ...], target: str) -> dict[str, str | None]:
    """Managed names by the state's id; others by their live name (one list call)."""
    from reconciler.observe import resolve

    state = s.state_file().read()
    managed = state.deployments if state else {}
    out: dict[str, str | None] = {}
    for name in names:
        if name in managed:
            out[name] = managed[name].id
        elif target == "deleted":
            live = [d for d in client.list() if d.name == name or d.id == name]
            out[name] = live[0].id if len(live) == 1 else None
            if len(live) > 1:
                raise UsageError(f"{len(live)} live deployments are named {name!r}",
                                 hint="pass the id instead of the name")
        else:
            out[name] = resolve(client, name).id
    return out


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
    from reconciler.cli.plan_cmds import render_plan
    from reconciler.plan.restart import plan_restart
    from reconciler.state.backend import command_line

    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        recovered = recover_state(s, store, warn)
        state = recovered.state
        the_plan = plan_restart(names, s.client().list(), state)
        render_plan(the_plan, "text", color)
        if the_plan.errors:
            sys.exit(1)
        confirm(auto_approve, "restart")
        run_plan(s, store, state, the_plan, {},
                 ApplyOptions(parallelism=parallelism, no_wait=no_wait, timeout=timeout,
                              settle=recovered.touched), color)
