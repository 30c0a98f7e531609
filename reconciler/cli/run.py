"""The command line's side of a run (``reconciler/app/run.py``) that `apply`, `destroy`,
`restart` and `delete-unmanaged` share: the prompt, warnings, and executing a confirmed plan with
live progress and signal handling, then its summary."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from reconciler.cli import stop_on_signals, use_color

if TYPE_CHECKING:
    from reconciler.app.apply import ApplyOptions
    from reconciler.app.run import Planned, Run
    from reconciler.plan.model import Plan
    from reconciler.policy.report import PolicyReport

PROMPT = "Do you want to perform these actions? Only 'yes' will be accepted:"


def show_plan(the_plan: Plan, color: bool, policy: PolicyReport | None = None) -> None:
    """The plan as text on standard output, as `plan` shows it (with its policy results)."""
    from reconciler.render.plan_output import write_plan

    write_plan(the_plan, "text", sys.stdout, color, None, policy)


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
        from reconciler.errors import UsageError

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
    from reconciler.errors import UsageError

    shown = ", ".join(adopting[:5]) + (", …" if len(adopting) > 5 else "")
    raise UsageError(
        f"this run starts a new state and would adopt {len(adopting)} live deployment(s) "
        f"into it ({shown}); --auto-approve alone does not confirm that",
        detail="they already run under the manifests' names. If another state manages them (a "
               "mistyped --state or ?state=NAME, a run outside the project's folder), two "
               "states would then change the same deployments; nothing was changed",
        hint="check the state location (the plan's warning names the states that exist); if "
             "adopting them is intended, run again with --adopt")


def execute(run: Run, planned: Planned, options: ApplyOptions, color: bool,
            output: str = "text", verb: str = "apply") -> None:
    """Run the confirmed ``planned`` with live progress and signal handling, then render the
    outcome."""
    from reconciler.errors import ApplyError
    from reconciler.render.apply_summary import ApplySummary, render_summary
    from reconciler.render.progress import JsonProgress, TextProgress
    from reconciler.render.style import Style
    from reconciler.settings import heartbeat_seconds

    stop = threading.Event()
    restore = stop_on_signals(stop, "\nInterrupt received: finishing in-flight calls, starting "
                                    "no new steps (again to exit at once)")
    started = time.monotonic()
    the_plan = planned.plan
    actions = {c.name: c.action.value for c in the_plan.pending}
    heartbeat = heartbeat_seconds()
    progress = (JsonProgress(sys.stdout, actions, heartbeat) if output == "json" else
                TextProgress(sys.stdout, actions, heartbeat, tty=sys.stdout.isatty(),
                             style=Style(color)))
    try:
        with progress:
            outcome = run.execute(planned, options, progress, stop)
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
