"""`apply` and `destroy`: the only commands that change deployments. They show the plan a
:class:`~reconciler.app.run.Run` makes, ask, and show what the run did (``cli/run.py``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from reconciler.cli import main, output_never_stops, use_color
from reconciler.cli.options import (
    auto_approve_option,
    complete_names,
    lock_option,
    manifest_api_options,
    parallelism_option,
    policy_override_option,
    settings,
    timeout_option,
)
from reconciler.cli.run import confirm, execute, refuse_adoption, show_plan, warn

if TYPE_CHECKING:
    from reconciler.app.run import Planned


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="Run exactly this saved plan (from `plan --out`), without prompting.")
@auto_approve_option
@parallelism_option("changed")
@click.option("--no-wait", is_flag=True, help="Return once the API accepted the calls.")
@timeout_option("Longest wait for one deployment to reach a status.")
@click.option("--target", "targets", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Only apply these deployments (repeatable); an unknown name is an error.")
@click.option("--allow-mass-delete", is_flag=True,
              help="Allow plans that delete or re-create most managed deployments.")
@click.option("--refresh-only", is_flag=True,
              help="Record the live values of managed deployments in the state (no API call "
                   "that changes anything): accepts out-of-band changes so drift stops "
                   "reporting them. Given PATH..., only the deployments those manifests "
                   "declare, keeping the fields their ignoreChanges lists.")
@click.option("--replace", "replace", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Force NAME to be replaced (stop, delete, create: new id and domain), "
                   "even if nothing changed (repeatable).")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: a JSON event stream on stdout, one object per line (needs "
                   "--auto-approve or --plan).")
@click.option("--adopt", is_flag=True,
              help="Confirm adopting live deployments into a state that does not exist yet "
                   "(--auto-approve alone is refused then: a mistyped --state would take over "
                   "what another state manages).")
@click.option("--keep-failed", is_flag=True,
              help="lifecycle.rollout: blueGreen: keep the new deployment of a failed rollout "
                   "for inspection (recorded in the state; the next apply deletes it first) "
                   "instead of deleting it. The old one keeps serving either way.")
@policy_override_option
@click.option("--require-capacity", is_flag=True,
              help="v2 API: a change needing new workers whose GPU type and region show no "
                   "capacity, or whose capacity is not confirmed, is an error (exit 1) before "
                   "anything changes. Not with --plan FILE (use `plan --require-capacity`).")
@lock_option
@manifest_api_options
def apply(paths: tuple[str, ...], plan_file: str | None, auto_approve: bool, parallelism: int,
          no_wait: bool, timeout: float, targets: tuple[str, ...], allow_mass_delete: bool,
          refresh_only: bool, replace: tuple[str, ...], output: str, adopt: bool,
          keep_failed: bool, policy_override: tuple[str, ...], require_capacity: bool,
          lock_timeout: float, endpoint: str | None, api_key: str | None,
          state_path: str | None, no_color: bool) -> None:
    """Plan, confirm, and make live deployments match the manifests.

    With policies in yottactl.yaml, the plan (new or saved) is checked again before the first
    API call: a mandatory violation refuses it (--policy-override RULE passes one rule once).
    """
    from reconciler.app.apply import ApplyOptions
    from reconciler.app.plan import check_capacity_gate
    from reconciler.app.policy import check_overrides
    from reconciler.app.run import NewPlan, RefreshOnly, Run, SavedPlan, Wanted
    from reconciler.errors import UsageError

    _check_apply_flags(paths, plan_file, refresh_only, replace, output, auto_approve)
    if require_capacity and (plan_file or refresh_only):
        raise UsageError("--require-capacity checks a new plan's changes, not "
                         + ("a saved plan" if plan_file else "--refresh-only"),
                         hint="gate the saved plan when it is made: `yottactl plan "
                              "--require-capacity --out FILE`" if plan_file else
                              "drop --require-capacity: --refresh-only starts no workers")
    output_never_stops()
    s = settings(endpoint, api_key, state_path)
    if require_capacity:  # under v1: refused before the first API call
        check_capacity_gate(s)
    overrides = check_overrides(s, policy_override)
    color = use_color(no_color)
    wanted: Wanted = (RefreshOnly(targets, paths) if refresh_only else
                      SavedPlan(plan_file, overrides) if plan_file else
                      NewPlan(paths, targets, allow_mass_delete, replace, overrides,
                              require_capacity))
    with Run(s, lock_timeout=lock_timeout, warn=warn) as run:
        planned = run.plan(wanted)
        while True:
            _show(planned, output, color)
            if not _confirm_apply(planned, refresh_only or not no_wait, auto_approve, adopt):
                return
            locked = run.confirmed(planned)
            if locked.plan is planned.plan:
                break
            planned = locked  # another run wrote the state meanwhile: planned again, ask again
        options = ApplyOptions(parallelism=parallelism, no_wait=no_wait, timeout=timeout,
                               keep_failed=keep_failed)
        execute(run, locked, options, color, output)


def _show(planned: Planned, output: str, color: bool) -> None:
    """The plan as the kind of apply shows it; a new plan with errors exits 1 here, one that
    breaks a mandatory policy is refused here (before any API call that changes anything)."""
    import json

    from reconciler.app.policy import refuse_if_blocked
    from reconciler.app.run import NewPlan, SavedPlan
    from reconciler.render.progress import plan_event

    the_plan, wanted, report = planned.plan, planned.wanted, planned.policy
    if isinstance(wanted, SavedPlan):
        refuse_if_blocked(report, "refusing to apply")  # nothing printed yet: the error lists them
        click.echo(f"Applying saved plan {wanted.file}: {len(the_plan.pending)} change(s).",
                   err=output == "json")
    if output == "json":  # the stream starts with the plan, as for any apply -o json
        click.echo(json.dumps(plan_event(the_plan, report)))
        if isinstance(wanted, NewPlan):
            for error in the_plan.errors:
                click.echo(f"Error: {error}", err=True)
    elif isinstance(wanted, SavedPlan):
        if report is not None:
            from reconciler.render.policy import render_text
            from reconciler.render.style import Style

            render_text(report, sys.stdout, Style(color))
    else:
        show_plan(the_plan, color, report)
    if isinstance(wanted, NewPlan):
        if the_plan.errors:
            sys.exit(1)
        refuse_if_blocked(report, "refusing to apply")


def _confirm_apply(planned: Planned, waits: bool, auto_approve: bool, adopt: bool) -> bool:
    """Whether to run the plan, asked (or refused) before anything changes: a saved plan
    was reviewed when it was made, but adopting into a new state needs its own word (--adopt).
    No changes: run only to wait for what an interrupted run left in transition."""
    from reconciler.app.run import SavedPlan

    adopting = planned.adopting
    if isinstance(planned.wanted, SavedPlan):
        if adopting and not adopt:
            refuse_adoption(adopting)
        return True
    if not planned.plan.has_changes:
        return planned.worth_running(waits)
    confirm(auto_approve, adopting=adopting, adopt=adopt)
    return True


def _check_apply_flags(paths: tuple[str, ...], plan_file: str | None, refresh_only: bool,
                       replace: tuple[str, ...], output: str, auto_approve: bool) -> None:
    from reconciler.errors import UsageError

    if plan_file and paths:
        raise UsageError("give manifest paths or --plan FILE, not both")
    if refresh_only and plan_file:
        raise UsageError("--refresh-only reads no saved plan",
                         hint="run `yottactl apply --refresh-only [PATH...]` (optionally "
                              "--target NAME)")
    if plan_file and replace:
        raise UsageError("--replace applies to a new plan, not to a saved --plan FILE",
                         hint=f"run `yottactl plan --replace {replace[0]} --out FILE` instead")
    if output == "json" and not (auto_approve or plan_file):
        raise UsageError("apply -o json needs --auto-approve or --plan FILE",
                         hint="the JSON stream is for pipelines: nobody reviews a prompt there")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@auto_approve_option
@parallelism_option("deleted")
@timeout_option("Longest wait for one deployment to stop before it is deleted.")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Only destroy these deployments (repeatable); an unknown name is an error.")
@policy_override_option
@lock_option
@manifest_api_options
def destroy(paths: tuple[str, ...], auto_approve: bool, parallelism: int, timeout: float,
            targets: tuple[str, ...], policy_override: tuple[str, ...], lock_timeout: float,
            endpoint: str | None, api_key: str | None, state_path: str | None,
            no_color: bool) -> None:
    """Delete every managed deployment (or those the given manifests name).

    Respects lifecycle.preventDestroy. Unmanaged deployments are never touched.
    """
    from reconciler.app.apply import ApplyOptions
    from reconciler.app.policy import check_overrides, refuse_if_blocked
    from reconciler.app.run import DestroyPlan, Run

    output_never_stops()
    s = settings(endpoint, api_key, state_path)
    overrides = check_overrides(s, policy_override)
    color = use_color(no_color)
    with Run(s, lock_timeout=lock_timeout, warn=warn) as run:
        planned = run.plan(DestroyPlan(paths, targets, overrides))
        show_plan(planned.plan, color, planned.policy)
        if planned.plan.errors:
            sys.exit(1)
        refuse_if_blocked(planned.policy, "refusing to destroy")
        if not planned.worth_running():
            return
        if planned.plan.has_changes:
            confirm(auto_approve, "destroy")
        execute(run, planned, ApplyOptions(parallelism=parallelism, timeout=timeout), color,
                verb="destroy")
