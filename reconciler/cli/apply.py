"""`apply` and `destroy`: the only commands that change deployments. Confirmation lives here."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING

import click

from reconciler.cli import (
    F,
    api_options,
    catalog_option,
    color_option,
    complete_names,
    main,
    output_never_stops,
    settings,
    stop_on_signals,
    use_color,
    var_options,
)
from reconciler.cli.plan import policy_override_option, render_plan
from reconciler.errors import ApplyError, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from reconciler.app.apply import ApplyOptions, Recovered
    from reconciler.essence import Essence
    from reconciler.plan.model import Plan
    from reconciler.policy.report import PolicyReport
    from reconciler.settings import Settings
    from reconciler.state.model import State
    from reconciler.state.protocol import Backend

# what `apply` runs once confirmed: the plan, the real essences and the policy results
Prepared = tuple["Plan", "Mapping[str, Essence]", "PolicyReport | None"]

PROMPT = "Do you want to perform these actions? Only 'yes' will be accepted:"


def lock_option(func: F) -> F:
    return click.option("--lock-timeout", default=0.0, show_default=True, type=float,
                        metavar="SECONDS",
                        help="Wait this long for another run's state lock before failing.")(func)


def warn(message: str) -> None:
    from reconciler.render.style import Style

    label = Style(use_color(stream=sys.stderr))("Warning: ", fg="yellow", bold=True)
    click.echo(label + message, err=True)


def confirm(auto_approve: bool, verb: str = "apply", adopting: Sequence[str] = (),
            adopt: bool = False) -> None:
    """'yes' or nothing. Without a terminal, only --auto-approve proceeds; adopting live
    deployments into a new state (``adopting``) needs --adopt there, or the prompt says it."""
    if adopting and not adopt and (auto_approve or not sys.stdin.isatty()):
        refuse_adoption(adopting)
    if auto_approve:
        return
    if adopting and not adopt:
        click.echo(f"\nThis is a new state, and applying adopts {len(adopting)} live deployment(s) "
                   f"already running under the manifests' names ({', '.join(adopting)}): this "
                   "state will manage (and change) them from now on.")
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
        click.echo(f"{verb.capitalize()} cancelled; nothing was changed.", err=True)
        sys.exit(1)


def refuse_adoption(adopting: Sequence[str]) -> None:
    shown = ", ".join(adopting[:5]) + (", …" if len(adopting) > 5 else "")
    raise UsageError(
        f"this run starts a new state and would adopt {len(adopting)} live deployment(s) "
        f"into it ({shown}); --auto-approve alone does not confirm that",
        detail="they already run under the manifests' names. If another state manages them (a "
               "mistyped --state or ?state=NAME, a run outside the project's folder), two "
               "states would then change the same deployments; nothing was changed",
        hint="check the state location (the plan's warning names the states that exist); if "
             "adopting them is intended, run again with --adopt")


def run_plan(s: Settings, store: Backend, state: State | None, the_plan: Plan,
             essences: Mapping[str, Essence], options: ApplyOptions, color: bool,
             output: str = "text", verb: str = "apply") -> None:
    """Execute with live progress and signal handling, then render the outcome."""
    from reconciler.app.apply import execute
    from reconciler.render.apply_summary import ApplySummary, render_summary
    from reconciler.render.progress import JsonProgress, TextProgress
    from reconciler.render.style import Style
    from reconciler.settings import heartbeat_seconds

    stop = threading.Event()
    restore = stop_on_signals(stop, "\nInterrupt received: finishing in-flight calls, starting "
                                    "no new steps (again to exit at once)")
    started = time.monotonic()
    actions = {c.name: c.action.value for c in the_plan.pending}
    heartbeat = heartbeat_seconds()
    progress = (JsonProgress(sys.stdout, actions, heartbeat) if output == "json" else
                TextProgress(sys.stdout, actions, heartbeat, tty=sys.stdout.isatty(),
                             style=Style(color)))
    try:
        with progress:
            outcome = execute(s, store, state, the_plan, essences, options, progress, stop)
    finally:
        restore()
    result = outcome.result
    summary = ApplySummary(time.monotonic() - started, result.succeeded, result.failed,
                           result.partial, result.interrupted, outcome.outputs,
                           verb=verb.capitalize())
    if isinstance(progress, JsonProgress):
        progress.write(summary.to_json())
    else:
        render_summary(summary, sys.stdout, sys.stderr)
    if outcome.stopped_early:
        sys.exit(130)
    if result.failed:
        raise ApplyError(f"{len(result.failed)} of {len(the_plan.pending)} changes failed",
                         hint="the state records what succeeded; fix the cause and run "
                              "`yottactl apply` again: only what is outstanding will be done")


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
@lock_option
@var_options
@api_options
@color_option
@catalog_option
def apply(paths: tuple[str, ...], plan_file: str | None, auto_approve: bool, parallelism: int,
          no_wait: bool, timeout: float, targets: tuple[str, ...], allow_mass_delete: bool,
          refresh_only: bool, replace: tuple[str, ...], output: str, adopt: bool,
          keep_failed: bool, policy_override: tuple[str, ...], lock_timeout: float,
          endpoint: str | None, api_key: str | None, state_path: str | None,
          no_color: bool) -> None:
    """Plan, confirm, and make live deployments match the manifests.

    With policies in yottactl.yaml, the plan (new or saved) is checked again before the first
    API call: a mandatory violation refuses it (--policy-override RULE passes one rule once).
    """
    from reconciler.app.apply import ApplyOptions, Recovered, recover_state
    from reconciler.app.policy import check_overrides, record_overrides
    from reconciler.state.backend import command_line

    _check_apply_flags(paths, plan_file, refresh_only, replace, output, auto_approve)
    output_never_stops()
    s = settings(endpoint, api_key, state_path)
    overrides = check_overrides(s, policy_override)
    color = use_color(no_color)
    store = s.state_file()

    def prepared(recovered: Recovered) -> Prepared | None:
        """The plan to run, shown, checked against the policies and confirmed; None: nothing
        to do."""
        essences: Mapping[str, Essence] = {}
        report = None
        if refresh_only:  # records live values in the state: no change to check
            the_plan = _refresh_plan(s, recovered.state, targets, paths, output, color)
        elif plan_file:
            the_plan, report = _saved_plan(s, plan_file, recovered.state, output, overrides,
                                           color)
        else:
            the_plan, essences, report = _new_plan(s, paths, recovered.state, targets,
                                                   allow_mass_delete, replace, output, color,
                                                   overrides)
        go = _confirm_apply(the_plan, recovered, bool(plan_file), refresh_only or not no_wait,
                            auto_approve, adopt)
        return (the_plan, essences, report) if go else None

    def run(recovered: Recovered, the_plan: Plan, essences: Mapping[str, Essence],
            report: PolicyReport | None) -> None:
        options = ApplyOptions(parallelism=parallelism, no_wait=no_wait, timeout=timeout,
                               settle=recovered.touched, keep_failed=keep_failed)
        state = record_overrides(recovered.state, report) if the_plan.has_changes \
            else recovered.state
        run_plan(s, store, state, the_plan, essences, options, color, output)

    def against_the_state() -> None:  # under the lock
        recovered = recover_state(s, store, warn)
        found = prepared(recovered)
        if found is not None:
            run(recovered, *found)

    if _nothing_stored(store):
        # a new state is planned and confirmed before the lock is taken: a refusal ("nothing
        # was changed") leaves no lock file nor folder behind. Under the lock the state must
        # still not exist; if another run wrote it meanwhile, this one plans again against it.
        new = prepared(Recovered(None))
        if new is None:
            return
        with store.locked(command_line(), lock_timeout, warn=warn):
            if _nothing_stored(store):
                run(Recovered(None), *new)
                return
            warn(f"the state {store.location} was written by another run while this one was "
                 "planned: planning again against it (the plan above is not applied)")
            against_the_state()
        return
    with store.locked(command_line(), lock_timeout, warn=warn):
        against_the_state()


def _nothing_stored(store: Backend) -> bool:
    """Neither a state nor an interrupted run's journal (read without the lock, as plan does)."""
    state, records = store.read_with_journal()
    return state is None and not records


def _confirm_apply(the_plan: Plan, recovered: Recovered, saved: bool, waits: bool,
                   auto_approve: bool, adopt: bool) -> bool:
    """Whether to run ``the_plan``, asked (or refused) before anything changes: a saved plan
    was reviewed when it was made, but adopting into a new state needs its own word (--adopt).
    No changes: run only to wait for what an interrupted run left in transition."""
    from reconciler.new_state import adoptions

    adopting = adoptions(recovered.state, the_plan)
    if saved:
        if adopting and not adopt:
            refuse_adoption(adopting)
        return True
    if not the_plan.has_changes:
        return bool(recovered.touched) and waits
    confirm(auto_approve, adopting=adopting, adopt=adopt)
    return True


def _check_apply_flags(paths: tuple[str, ...], plan_file: str | None, refresh_only: bool,
                       replace: tuple[str, ...], output: str, auto_approve: bool) -> None:
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


def _refresh_plan(s: Settings, state: State | None, targets: tuple[str, ...],
                  paths: tuple[str, ...], output: str, color: bool) -> Plan:
    from reconciler.app.apply import refresh
    from reconciler.render.progress import plan_event

    the_plan = refresh(s, state, targets, paths)
    if output == "json":  # the stream starts with the plan, as for any apply -o json
        click.echo(json.dumps(plan_event(the_plan)))
    else:
        render_plan(the_plan, "text", color)
    return the_plan


def _saved_plan(s: Settings, plan_file: str, state: State | None, output: str,
                overrides: frozenset[str], color: bool) -> tuple[Plan, PolicyReport | None]:
    from reconciler.app.apply import saved_plan
    from reconciler.app.policy import overriding, refuse_if_blocked
    from reconciler.render.progress import plan_event

    the_plan, report = saved_plan(s, plan_file, state)
    report = overriding(report, overrides)
    refuse_if_blocked(report, "refusing to apply")  # nothing printed yet: the error lists them
    click.echo(f"Applying saved plan {plan_file}: {len(the_plan.pending)} change(s).",
               err=output == "json")
    if output == "json":
        click.echo(json.dumps(plan_event(the_plan)))
    elif report is not None:
        from reconciler.render.policy import render_text
        from reconciler.render.style import Style

        render_text(report, sys.stdout, Style(color))
    return the_plan, report


def _new_plan(s: Settings, paths: tuple[str, ...], state: State | None,
              targets: tuple[str, ...], allow_mass_delete: bool, replace: tuple[str, ...],
              output: str, color: bool,
              overrides: frozenset[str]) -> tuple[Plan, dict[str, Essence], PolicyReport | None]:
    """Plan from the manifests and show it; a plan with errors exits 1 here, one that breaks
    a mandatory policy is refused here (before any API call that changes anything)."""
    from reconciler.app.apply import desired_essences
    from reconciler.app.plan import build_plan
    from reconciler.app.policy import overriding, refuse_if_blocked
    from reconciler.render.progress import plan_event

    run = build_plan(s, paths, targets=targets, allow_mass_delete=allow_mass_delete,
                     state=state, replace=replace, confirm_settled=True, capacity="warn")
    report = overriding(run.policy, overrides)
    if output == "json":
        click.echo(json.dumps(plan_event(run.plan)))
        for error in run.plan.errors:
            click.echo(f"Error: {error}", err=True)
    else:
        render_plan(run.plan, "text", color, policy=report)
    if run.plan.errors:
        sys.exit(1)
    refuse_if_blocked(report, "refusing to apply")
    return run.plan, desired_essences(run), report


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")
@click.option("--parallelism", default=10, show_default=True, type=click.IntRange(1, 100),
              help="Deployments deleted at the same time.")
@click.option("--timeout", default=900.0, show_default=True, type=float, metavar="SECONDS",
              help="Longest wait for one deployment to stop before it is deleted.")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Only destroy these deployments (repeatable); an unknown name is an error.")
@policy_override_option
@lock_option
@var_options
@api_options
@color_option
@catalog_option
def destroy(paths: tuple[str, ...], auto_approve: bool, parallelism: int, timeout: float,
            targets: tuple[str, ...], policy_override: tuple[str, ...], lock_timeout: float,
            endpoint: str | None, api_key: str | None, state_path: str | None,
            no_color: bool) -> None:
    """Delete every managed deployment (or those the given manifests name).

    Respects lifecycle.preventDestroy. Unmanaged deployments are never touched.
    """
    from reconciler.app.apply import ApplyOptions, recover_state
    from reconciler.app.plan import build_plan
    from reconciler.app.policy import check_overrides, overriding, record_overrides, refuse_if_blocked
    from reconciler.state.backend import command_line

    output_never_stops()
    s = settings(endpoint, api_key, state_path)
    overrides = check_overrides(s, policy_override)
    color = use_color(no_color)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        recovered = recover_state(s, store, warn)
        state, touched = recovered.state, recovered.touched
        run = build_plan(s, paths or None, targets=targets, destroying=True, state=state)
        report = overriding(run.policy, overrides)
        render_plan(run.plan, "text", color, policy=report)
        if run.plan.errors:
            sys.exit(1)
        refuse_if_blocked(report, "refusing to destroy")
        if not run.plan.has_changes and not touched:
            return
        if run.plan.has_changes:
            confirm(auto_approve, "destroy")
            state = record_overrides(state, report)
        run_plan(s, store, state, run.plan, {},
                 ApplyOptions(parallelism=parallelism, timeout=timeout, settle=touched), color,
                 verb="destroy")
