"""Markdown render of a Plan for pull-request comments: a compact header (counts, cost delta,
disruptive changes first), then collapsed per-deployment details."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TextIO

from reconciler.plan.model import Action, Change, Plan
from reconciler.policy.report import PolicyReport
from reconciler.render.markdown import cell, code, html_code, prose
from reconciler.render.plan_text import (
    NOT_NEW,
    ORDER,
    SYMBOLS,
    consequence,
    cost_change,
    displayable,
    field_line,
    money,
)
from reconciler.render.rollout import rollout_lines
from reconciler.render.spec import padded

MARKER = "<!-- yottactl-plan -->"


def render_markdown(plan: Plan, out: TextIO, policy: PolicyReport | None = None) -> None:
    plan = displayable(plan)
    _heading(plan, out)
    if policy is not None:  # leads the comment: what a reviewer must know first
        from reconciler.render.policy import render_markdown as policy_block

        policy_block(policy, out)
    pending = sorted(plan.pending, key=lambda c: (not c.disruptive, c.name))
    _summary(plan, pending, out)
    if pending:
        _table(pending, out)
        for c in pending:
            _details(c, out)
    _drift_and_unmanaged(plan, out)
    if plan.warnings:  # a blank line first: text right after </details> would be raw HTML
        out.write("\n")
    for warning in plan.warnings:
        out.write(f"> **Warning:** {prose(warning)}\n")


def _heading(plan: Plan, out: TextIO) -> None:
    if plan.environment:  # one sticky comment per environment (a saved plan's name is data)
        marker = re.sub(r"[^A-Za-z0-9_-]", "_", plan.environment)
        out.write(f"<!-- yottactl-plan env={marker} -->\n### yottactl plan: "
                  f"{prose(plan.environment)}\n\n")
    else:
        out.write(f"{MARKER}\n### yottactl plan\n\n")
    if plan.endpoint is not None or plan.environment is not None:
        env = code(plan.environment) if plan.environment else "(none: the project's global settings)"
        out.write(f"Environment: {env} · endpoint {code(str(plan.endpoint))} · "
                  f"API {code(plan.api_version)}\n\n")
    elif plan.names_api_version:
        out.write(f"API {code(plan.api_version)}\n\n")
    for error in plan.errors:
        out.write(f"> **Error:** {prose(error)}\n")
    if plan.errors:
        out.write("\n")


def _summary(plan: Plan, pending: Sequence[Change], out: TextIO) -> None:
    counts = plan.summary
    badges = " · ".join(f"**{counts[a.value]}** to "
                        + ("roll out" if a is Action.ROLLOUT else a.value)
                        + (" for" if a is Action.WAIT else "")
                        for a in (*ORDER, Action.RECORD, Action.RESTART, Action.WAIT,
                                  Action.ROLLOUT)
                        if counts.get(a.value))
    out.write(f"{badges or 'No changes.'}  \n")
    out.write(cost_change(plan, bold="**") + "\n\n")  # our numbers: nothing to escape
    disruptive = [c for c in pending if c.disruptive]
    if disruptive:
        out.write("**Disruptive:** " + ", ".join(
            f"{code(c.name)} ({prose(consequence(c, downtime=True))})" for c in disruptive)
            + "\n\n")


def _table(pending: Sequence[Change], out: TextIO) -> None:
    out.write("| | deployment | action | reason | cost/h |\n|---|---|---|---|---|\n")
    for c in pending:
        action = c.action.value + (" (adopt)" if c.adopt else "")
        if c.disruptive:
            action += " ⚠️"
        out.write(f"| `{SYMBOLS[c.action]}` | {cell(c.name, as_code=True)} | {action} | "
                  f"{cell(c.reason)} | "
                  f"{money(c.price_before)} → {money(c.price_after)} |\n")
    out.write("\n")


def _details(c: Change, out: TextIO) -> None:
    out.write(f"<details><summary>{html_code(c.name)}: {c.action.value}</summary>\n\n")
    out.write(f"- id: {code(c.id or 'known after apply')}"
              + (f", live as {code(c.live_name)}" if c.live_name else "") + "\n")
    for fc in c.changes:
        out.write(f"- {code(field_line(fc))}\n")
    for line in rollout_lines(c):
        if c.rollout and c.rollout.cutover and line.startswith("cutover: "):
            line = "cutover: " + code(c.rollout.cutover.describe())  # argv: one code span
            out.write(f"- {line}\n")  # (prose pairs backticks inside it as spans of their own)
            continue
        out.write(f"- {prose(line)}\n")
    if c.action in (Action.CREATE, Action.REPLACE, Action.ROLLOUT) and c.desired is not None \
            and not (c.rollout and c.rollout.green_id) and c.reason_code not in NOT_NEW:
        title = "spec" if c.action is Action.CREATE else "the new deployment"
        body = "".join(f"+ {path} = {shown}\n" for path, shown in padded(c))
        fence = "`" * max([3, *(len(run) + 1 for run in re.findall("`+", body))])
        out.write(f"- {title}:\n\n{fence}diff\n{body}{fence}\n")
    if c.steps:
        out.write("- steps: " + prose(" → ".join(s.describe() for s in c.steps)) + "\n")
    out.write("\n</details>\n\n")


def _drift_and_unmanaged(plan: Plan, out: TextIO) -> None:
    kept = plan.kept
    if kept:
        out.write("#### Not in manifests, kept (imported with `--allow-unmanaged`)\n\n")
        for c in kept:
            out.write(f"- {code(c.name)} ({prose(str(c.id))}, {prose(str(c.live_status))})\n")
        out.write("\n")
    if plan.drift:
        out.write("#### Drift since the last apply\n\n")
        for d in plan.drift:
            out.write(f"- {code(d.name)}: **{d.kind.value}** — {prose(d.detail)}\n")
        out.write("\n")
    if plan.unmanaged:
        out.write(f"<details><summary>{len(plan.unmanaged)} unmanaged live deployment(s)"
                  "</summary>\n\n")
        for u in plan.unmanaged:
            out.write(f"- {code(u.name)} ({prose(u.id)}, {prose(str(u.status))})"
                      + (" **duplicate of a managed name**" if u.duplicate else "") + "\n")
        out.write("\nA leftover is deleted with `yottactl delete-unmanaged ID...`.\n")
        out.write("\n</details>\n")


__all__ = ["Action", "render_markdown"]
