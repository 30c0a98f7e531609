"""Terraform-like text render of a Plan onto an injected stream. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from reconciler.fields import REPLACE_FIELDS
from reconciler.plan.model import Action, Change, FieldChange, Plan
from reconciler.plan.reasons import Reason
from reconciler.render.rollout import downtime_note, rollout_lines
from reconciler.render.rollout import verb as rollout_verb
from reconciler.render.safe import clean, clean_tree
from reconciler.render.spec import padded
from reconciler.render.style import Style

SYMBOLS = {
    Action.CREATE: "+", Action.UPDATE: "~", Action.SCALE: "~", Action.REPLACE: "-/+",
    Action.DELETE: "-", Action.START: ">", Action.STOP: "■", Action.RECORD: "~",
    Action.RESTART: "↻", Action.WAIT: "…", Action.ROLLOUT: "+/-",
    Action.NOOP: "=",
}
COLORS = {
    Action.CREATE: "green", Action.UPDATE: "yellow", Action.SCALE: "yellow",
    Action.REPLACE: "red", Action.DELETE: "red", Action.START: "cyan", Action.STOP: "cyan",
    Action.RECORD: "yellow", Action.RESTART: "cyan", Action.WAIT: "cyan", Action.NOOP: "white",
    Action.ROLLOUT: "green",
}
VERBS = {
    Action.CREATE: "will be created", Action.UPDATE: "will be updated",
    Action.SCALE: "will be scaled in place", Action.REPLACE: "must be replaced",
    Action.DELETE: "will be deleted", Action.START: "will be started",
    Action.STOP: "will be stopped", Action.RESTART: "will be restarted",
    Action.RECORD: "changes in the state only (no API call)", Action.NOOP: "is up to date",
    Action.WAIT: "is not yet in its declared status; apply waits for it (nothing is sent)",
    Action.ROLLOUT: "will be rolled out blue-green (the new deployment serves before the old "
                    "one stops)",
}
ORDER = (Action.CREATE, Action.UPDATE, Action.SCALE, Action.REPLACE, Action.DELETE, Action.START,
         Action.STOP)


def field_line(c: FieldChange) -> str:
    return clean(c.line())  # values may come from the API


def displayable(plan: Plan) -> Plan:
    """The plan with every string cleaned of control characters (names, statuses and messages
    can come from the API); field values are cleaned by :func:`field_line` as it formats them."""
    return clean_tree(plan, keep=frozenset({"before", "after"}))


NOT_NEW = (Reason.ROLLOUT_FINISH, Reason.ROLLOUT_DISCARD)  # rollouts that create nothing
# what a disruption means for whoever uses the deployment (the plan stores the short label,
# so plan files of every version render the same)
_CONSEQUENCES = {
    "workers restart": "stops serving for the restart (new workers)",
    "deployment is deleted": "deployment and its domain are deleted",
}


def consequence(c: Change, downtime: bool = False) -> str:
    """What the change means for users; ``downtime``: with recreate's outage note (the list of
    disruptive changes, read first)."""
    note = f"; {downtime_note(c)}" if downtime and downtime_note(c) else ""
    if c.action is Action.REPLACE and c.live_status not in ("STOPPED", None):
        return f"{c.disruption}; stops serving until the new one is RUNNING{note}"
    return _CONSEQUENCES.get(c.disruption, c.disruption) + note


def money(v: float | None) -> str:
    return "?" if v is None else f"${v:,.2f}/h"


def totals(plan: Plan) -> tuple[float | None, float | None, bool]:
    """Total $/h before and after, None when a deployment's price is unknown (never $0)."""
    befores = [c.price_before for c in plan.changes]
    afters = [c.price_after for c in plan.changes]
    before = None if None in befores else sum(p or 0.0 for p in befores)
    after = None if None in afters else sum(p or 0.0 for p in afters)
    estimated = any(c.price_estimated for c in plan.changes)
    return before, after, estimated


def cost_change(plan: Plan, bold: str = "") -> str:
    """``Hourly cost: $1.00/h → $2.50/h (+$1.50/h, estimated)``; unknown prices say so."""
    before, after, estimated = totals(plan)
    if before is None or after is None:
        unknown = sum(1 for c in plan.changes if c.price_before is None or c.price_after is None)
        return (f"Hourly cost: {total_money(before)} → {total_money(after)} (change unknown: "
                f"no price for {unknown} deployment{'s' if unknown != 1 else ''})")
    delta = after - before
    return (f"Hourly cost: {money(before)} → {money(after)} ({bold}{'+' if delta >= 0 else '-'}"
            f"${abs(delta):,.2f}/h{bold}{', estimated' if estimated else ''})")


def total_money(v: float | None) -> str:
    return "unknown" if v is None else money(v)


def summary_line(plan: Plan) -> str:
    counts = plan.summary
    # restarts only come from `yottactl restart`: counted when there are some
    shown = (*ORDER, Action.RESTART) if counts[Action.RESTART.value] else ORDER
    parts = [f"{counts[a.value]} to {a.value}" for a in shown]
    if counts[Action.RECORD.value]:  # state-only changes: named only when there are some
        parts.append(f"{counts[Action.RECORD.value]} to record in the state")
    if counts[Action.WAIT.value]:  # unfinished transitions: named only when there are some
        parts.append(f"{counts[Action.WAIT.value]} to wait for")
    if counts.get(Action.ROLLOUT.value):  # blue-green: named only when there are some
        parts.append(f"{counts[Action.ROLLOUT.value]} to roll out")
    return "Plan: " + ", ".join(parts) + "."


def _change(out: TextIO, c: Change, st: Style) -> None:
    sym = SYMBOLS[c.action]
    verb = rollout_verb(c) or VERBS[c.action]
    if c.adopt:
        verb = f"will be adopted (imported by name) and {verb}" if c.action is not Action.NOOP \
            else "will be adopted (imported by name); no changes"
    head = f"  # {c.name} {verb}"
    if c.disruptive:
        head += st(f"  [disruptive: {consequence(c)}]", "red", bold=True)
    if c.failed:
        head += st("  [live status FAILED]", "red", bold=True)
    out.write(st(head, bold=True) + "\n")
    ident = c.id or "(known after apply)"
    out.write(st(f"  {sym} {c.name}", COLORS[c.action], bold=True) + f"  id {ident}")
    if c.live_name:  # live under another name (a rollout's NAME@alt, a rename): say which
        out.write(f"  live as {c.live_name}")
    if c.live_status:
        out.write(f"  status {c.live_status}")
    out.write("\n")
    if c.reason:
        out.write(f"      reason: {c.reason}\n")
    for fc in c.changes:
        forces = c.action is Action.REPLACE and fc.path.split(".")[0] in REPLACE_FIELDS
        out.write("      " + st("~ ", "yellow") + field_line(fc)
                  + ("  # forces replacement" if forces else "") + "\n")
    for line in rollout_lines(c):
        out.write(f"      {line}\n")
    if c.action in (Action.CREATE, Action.REPLACE, Action.ROLLOUT) and c.desired is not None \
            and not (c.rollout and c.rollout.green_id) and c.reason_code not in NOT_NEW:
        if c.action is not Action.CREATE:
            out.write("      the new deployment:\n")
        for path, shown in padded(c):
            out.write("      " + st("+ ", "green") + f"{path} = {shown}\n")
    if c.steps:
        out.write("      steps: " + " → ".join(s.describe() for s in c.steps) + "\n")
    if c.price_before != c.price_after:
        est = " (estimated)" if c.price_estimated else ""
        out.write(f"      cost: {money(c.price_before)} → {money(c.price_after)}{est}\n")
    out.write("\n")


def header(plan: Plan) -> str:
    """"Environment: prod · endpoint URL · API v1" when a project file is in use, "API v2"
    for v2 without one, else empty."""
    api = f"API {plan.api_version}" if plan.names_api_version else ""
    if plan.endpoint is None and plan.environment is None:
        return api
    env = plan.environment or "(none: the project's global settings)"
    return f"Environment: {env} · endpoint {plan.endpoint} · {api}"


def render_text(plan: Plan, out: TextIO, color: bool = False) -> None:
    plan = displayable(plan)
    st = Style(color)
    _problems(plan, out, st)
    pending = plan.pending
    _disruptive(pending, out, st)
    if pending:
        out.write("yottactl will perform the following actions:\n\n")
        for c in sorted(pending, key=lambda c: (not c.disruptive, c.name)):
            _change(out, c, st)
    _drift_and_unmanaged(plan, out, st)
    for warning in plan.warnings:
        out.write(st("Warning: ", "yellow", bold=True) + warning + "\n")
    if not pending and not plan.errors:
        out.write("No changes. Live deployments match the manifests.\n")
        return
    out.write(st(summary_line(plan), bold=True) + "\n")
    out.write(cost_change(plan) + "\n")


def _problems(plan: Plan, out: TextIO, st: Style) -> None:
    """The environment header, plan errors and deployments FAILED live: read before the rest."""
    if header(plan):
        out.write(st(header(plan), bold=True) + "\n\n")
    for error in plan.errors:
        out.write(st("Error: ", "red", bold=True) + error + "\n")
    if plan.errors:
        out.write("\n")
    failed = [c for c in plan.changes if c.failed]
    for c in failed:
        out.write(st(f"! {c.name} is FAILED live; the plan below brings it back", "red",
                     bold=True) + "\n")
    if failed:
        out.write("\n")


def _disruptive(pending: Sequence[Change], out: TextIO, st: Style) -> None:
    disruptive = sorted((c for c in pending if c.disruptive), key=lambda c: c.name)
    if disruptive:
        out.write(st("Disruptive changes (read these first):", "red", bold=True) + "\n")
        for c in disruptive:
            out.write(f"  ! {c.name} {VERBS[c.action]}: {consequence(c, downtime=True)}\n")
        out.write("\n")


def _drift_and_unmanaged(plan: Plan, out: TextIO, st: Style) -> None:
    kept = plan.kept
    if kept:
        out.write("Not in manifests, kept (imported with --allow-unmanaged; never deleted):\n")
        for c in kept:
            out.write(f"  = {c.name}  id {c.id}  {c.live_status or ''}\n")
        out.write("\n")
    if plan.drift:
        out.write(st("Drift since the last apply (changed outside yottactl):", "magenta",
                     bold=True) + "\n")
        for d in plan.drift:
            out.write(f"  ! {d.name}: {d.kind.value}: {d.detail}\n")
            for fc in d.changes:
                out.write(f"      ~ {field_line(fc)}\n")
        out.write("\n")
    if plan.unmanaged:
        out.write("Unmanaged live deployments (not mapped by the state; never touched):\n")
        for u in plan.unmanaged:
            dup = st("  [duplicate of a managed name]", "red", bold=True) if u.duplicate else ""
            out.write(f"  ? {u.name}  id {u.id}  {u.status or ''}{dup}\n")
        out.write("  (a leftover is deleted with `yottactl delete-unmanaged ID...`)\n\n")
