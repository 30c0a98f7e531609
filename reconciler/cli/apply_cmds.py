"""`apply` and `destroy`: the only commands that change deployments. Confirmation lives here."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

import click

from reconciler.cli import (
    api_options,
    catalog_option,
    color_option,
    complete_names,
    main,
    settings,
    use_color,
    var_options,
)
from reconciler.cli.plan_cmds import render_plan
from reconciler.errors import ApplyError, StalePlanError, StateError, UsageError

PROMPT = "Do you want to perform these actions? Only 'yes' will be accepted:"


def lock_option(func: Any) -> Any:
    return click.option("--lock-timeout", default=0.0, show_default=True, type=float,
                        metavar="SECONDS",
                        help="Wait this long for another run's state lock before failing.")(func)


def warn(message: str) -> None:
    click.echo(click.style("Warning: ", fg="yellow", bold=True) + message, err=True)


def confirm(auto_approve: bool, verb: str = "apply") -> None:
    """'yes' or nothing. Without a terminal, only --auto-approve proceeds."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        saved = ", or apply a saved plan with --plan FILE" if verb == "apply" else ""
        raise UsageError(f"refusing to {verb} without confirmation: stdin is not a terminal",
                         hint="review the plan, then pass --auto-approve (GitOps jobs must say so "
                              f"explicitly){saved}")
    click.echo(f"\n{PROMPT} ", nl=False)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if answer.strip() != "yes":
        click.echo("Apply cancelled; nothing was changed.", err=True)
        sys.exit(1)


def _signals(stop: threading.Event) -> Any:
    """First Ctrl-C/SIGTERM: finish in-flight calls, start nothing new. Second: exit now."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            os._exit(130)  # the journal is fsync'd per record: it stays consistent
        stop.set()
        click.echo("\nInterrupt received: finishing in-flight calls, starting no new steps "
                   "(again to exit at once)", err=True)

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # embedded use: signals belong to the host program
    previous = (signal.signal(signal.SIGINT, handler), signal.signal(signal.SIGTERM, handler))

    def restore() -> None:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

    return restore


def run_plan(s: Any, store: Any, state: Any, the_plan: Any, essences: dict[str, Any],
             parallelism: int, no_wait: bool, timeout: float, color: bool,
             output: str = "text", settle: tuple[str, ...] = ()) -> None:
    from reconciler.apply.executor import Executor, Waiting
    from reconciler.apply.requests import SecretSource
    from reconciler.render.apply_summary import ApplySummary, render_summary
    from reconciler.render.progress import JsonProgress, TextProgress
    from reconciler.settings import heartbeat_seconds
    from reconciler.state.model import State

    fp = s.fingerprinter()
    stop = threading.Event()
    restore = _signals(stop)
    started = time.monotonic()
    actions = {c.name: c.action.value for c in the_plan.pending}
    heartbeat = heartbeat_seconds()
    progress = (JsonProgress(sys.stdout, actions, heartbeat) if output == "json" else
                TextProgress(sys.stdout, actions, heartbeat, tty=sys.stdout.isatty(),
                             style=lambda t, fg: click.style(t, fg=fg) if color and fg else t))
    client = s.client()
    executor = Executor(client, store, state or State.empty(), fp,
                        SecretSource(fp, essences), parallelism=parallelism, no_wait=no_wait,
                        waiting=Waiting(timeout=timeout), stop=stop, on_event=progress,
                        plan_fingerprint=fp.obj(the_plan.to_json()))
    try:
        with progress:
            result = executor.run(the_plan, settle)
    finally:
        restore()
    summary = ApplySummary(time.monotonic() - started, result.succeeded, result.failed,
                           result.partial, result.interrupted,
                           _outputs(client, the_plan, result))
    if isinstance(progress, JsonProgress):
        progress.write(summary.to_json())
    else:
        render_summary(summary, sys.stdout, sys.stderr)
    if result.interrupted or result.partial:
        sys.exit(130)
    if result.failed:
        raise ApplyError(f"{len(result.failed)} of {len(the_plan.pending)} changes failed",
                         hint="the state records what succeeded; fix the cause and run "
                              "`yottactl apply` again: only what is outstanding will be done")


def _outputs(client: Any, the_plan: Any, result: Any) -> list[dict[str, Any]]:
    """Id, status, workers and URL of what now serves (one list call; none if nothing does)."""
    from reconciler.errors import ApiError
    from reconciler.observe import output_record
    from reconciler.render.apply_summary import OUTPUT_ACTIONS

    done = set(result.succeeded) | set(result.partial)
    managed = result.state.deployments if result.state else {}
    names = [c.name for c in the_plan.pending
             if c.action.value in OUTPUT_ACTIONS and c.name in done and c.name in managed]
    if not names:
        return []
    try:
        live = {d.id: d for d in client.list()}
    except ApiError:  # the changes are done and recorded; outputs are a courtesy
        return []
    return [output_record(n, managed[n].id, live.get(managed[n].id)) for n in sorted(names)]


def _recover(s: Any, store: Any) -> tuple[Any, tuple[str, ...]]:
    """The state with an interrupted run's journal folded in, and the deployments that run
    touched (apply waits for them to settle before it reports success)."""
    from reconciler.apply.recovery import recover
    from reconciler.state.model import State

    state = store.read()
    if not store.journal_records():
        return state, ()
    state, report = recover(store, state or State.empty(), s.client(), s.fingerprinter())
    for message in report.messages:
        warn(message)
    return state, tuple(report.touched)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="Run exactly this saved plan (from `plan --out`), without prompting.")
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Deployments changed at the same time.")
@click.option("--no-wait", is_flag=True, help="Return once the API accepted the calls.")
@click.option("--timeout", default=900.0, show_default=True, type=float, metavar="SECONDS",
              help="Longest wait for one deployment to reach a status.")
@click.option("--target", "targets", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Only apply these deployments (repeatable); an unknown name is an error.")
@click.option("--allow-mass-delete", is_flag=True,
              help="Allow plans that delete or re-create most managed deployments.")
@click.option("--refresh-only", is_flag=True,
              help="Record the live values of managed deployments in the state (no API call "
                   "that changes anything): accepts out-of-band changes so drift stops "
                   "reporting them. Reads no manifests.")
@click.option("--replace", "replace", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Force NAME to be replaced (stop, delete, create: new id and domain), "
                   "even if nothing changed (repeatable).")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: a JSON event stream on stdout, one object per line (needs "
                   "--auto-approve or --plan).")
@lock_option
@var_options
@api_options
@color_option
@catalog_option
def apply(paths: tuple[str, ...], plan_file: str | None, auto_approve: bool, parallelism: int,
          no_wait: bool, timeout: float, targets: tuple[str, ...], allow_mass_delete: bool,
          refresh_only: bool, replace: tuple[str, ...], output: str, lock_timeout: float,
          endpoint: str | None, api_key: str | None, state_path: str | None,
          no_color: bool) -> None:
    """Plan, confirm, and make live deployments match the manifests."""
    from reconciler.state.backend import command_line
    from reconciler.workflow import build_plan

    if plan_file and paths:
        raise UsageError("give manifest paths or --plan FILE, not both")
    if refresh_only and (plan_file or paths):
        raise UsageError("--refresh-only reads no manifests and no saved plan",
                         hint="run `yottactl apply --refresh-only` (optionally --target NAME)")
    if plan_file and replace:
        raise UsageError("--replace applies to a new plan, not to a saved --plan FILE",
                         hint=f"run `yottactl plan --replace {replace[0]} --out FILE` instead")
    if output == "json" and not (auto_approve or plan_file):
        raise UsageError("apply -o json needs --auto-approve or --plan FILE",
                         hint="the JSON stream is for pipelines: nobody reviews a prompt there")
    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        state, touched = _recover(s, store)
        if refresh_only:
            the_plan = _refresh(s, state, targets, color)
            if the_plan.has_changes:
                confirm(auto_approve)
            if the_plan.has_changes or touched:
                run_plan(s, store, state, the_plan, {}, parallelism, no_wait, timeout, color,
                         output, settle=touched)
            return
        if plan_file:
            the_plan = _saved_plan(s, plan_file, state, quiet=output == "json")
            essences: dict[str, Any] = {}
            if output == "json":
                _plan_event(the_plan)
        else:
            run = build_plan(s, paths, targets=targets, allow_mass_delete=allow_mass_delete,
                             state=state, replace=replace)
            the_plan = run.plan
            if output == "json":
                _plan_event(the_plan)
            else:
                render_plan(the_plan, "text", color)
            if the_plan.errors:
                if output == "json":
                    for error in the_plan.errors:
                        click.echo(f"Error: {error}", err=True)
                sys.exit(1)
            if not the_plan.has_changes and (no_wait or not touched):
                return
            if the_plan.has_changes:
                confirm(auto_approve)
            essences = _essences(run)
        run_plan(s, store, state, the_plan, essences, parallelism, no_wait, timeout, color,
                 output, settle=touched)


def _plan_event(the_plan: Any) -> None:
    """The first object of `apply -o json`: what is about to happen."""
    import json

    from reconciler.render.progress import EVENTS_FORMAT_VERSION

    changes = [{"deployment": c.name, "action": c.action.value, "id": c.id, "reason": c.reason,
                "disruptive": c.disruptive, "disruption": c.disruption}
               for c in the_plan.pending]
    click.echo(json.dumps({"format_version": EVENTS_FORMAT_VERSION, "type": "plan",
                           "summary": the_plan.summary, "changes": changes,
                           "errors": list(the_plan.errors)}))


def _refresh(s: Any, state: Any, targets: tuple[str, ...], color: bool) -> Any:
    from reconciler.plan.refresh import refresh_plan

    the_plan = refresh_plan(s.client().list(), state, s.fingerprinter(), frozenset(targets))
    render_plan(the_plan, "text", color)
    return the_plan


def _essences(run: Any) -> dict[str, Any]:
    from reconciler.plan.normalize import essence_from_spec

    return {name: essence_from_spec(d.manifest.spec) for name, d in run.desired.items()}


def _saved_plan(s: Any, plan_file: str, state: Any, quiet: bool = False) -> Any:
    from reconciler.apply.stale import stale_reasons
    from reconciler.cli.plan_cmds import read_plan_file

    the_plan = read_plan_file(plan_file)
    if the_plan.errors:
        raise UsageError(f"{plan_file} contains plan errors and cannot be applied")
    environment = s.inputs.context.environment
    if the_plan.environment != environment and (the_plan.environment or environment):
        raise UsageError(f"{plan_file} was planned for environment {the_plan.environment!r}, "
                         f"not {environment!r}",
                         hint=f"apply it with --env {the_plan.environment}" if the_plan.environment
                         else "apply it without --env / YOTTACTL_ENV")
    lineage = state.lineage if state else None
    if the_plan.state_lineage and lineage and the_plan.state_lineage != lineage:
        raise StateError(f"{plan_file} was made from another state (lineage "
                         f"{the_plan.state_lineage}, this state is {lineage})",
                         hint="plan again against this state")
    reasons = stale_reasons(the_plan, s.client().list(), state, s.fingerprinter())
    if reasons:
        raise StalePlanError(f"{plan_file} is stale: deployments it touches changed",
                             detail="\n".join(f"  {r}" for r in reasons),
                             hint="run `yottactl plan --out FILE` again")
    click.echo(f"Applying saved plan {plan_file}: {len(the_plan.pending)} change(s).", err=quiet)
    return the_plan


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Deployments deleted at the same time.")
@click.option("--timeout", default=900.0, show_default=True, type=float, metavar="SECONDS",
              help="Longest wait for one deployment to stop before it is deleted.")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Only destroy these deployments (repeatable); an unknown name is an error.")
@lock_option
@var_options
@api_options
@color_option
@catalog_option
def destroy(paths: tuple[str, ...], auto_approve: bool, parallelism: int, timeout: float,
            targets: tuple[str, ...], lock_timeout: float, endpoint: str | None,
            api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """Delete every managed deployment (or those the given manifests name).

    Respects lifecycle.preventDestroy. Unmanaged deployments are never touched.
    """
    from reconciler.state.backend import command_line
    from reconciler.workflow import build_plan

    s = settings(endpoint, api_key, state_path)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        state, touched = _recover(s, store)
        run = build_plan(s, paths or None, targets=targets, destroying=True, state=state)
        render_plan(run.plan, "text", color)
        if run.plan.errors:
            sys.exit(1)
        if not run.plan.has_changes and not touched:
            return
        if run.plan.has_changes:
            confirm(auto_approve, "destroy")
        run_plan(s, store, state, run.plan, {}, parallelism, False, timeout, color,
                 settle=touched)
