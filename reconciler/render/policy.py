"""The policy results of a plan (reconciler/policy): a text block after the plan, the
"Policy" block that leads the Markdown PR comment, and one line per violation for errors.
Names, images and other values come from manifests and the API: escaped for each format."""

from __future__ import annotations

from typing import TextIO

from reconciler.policy.report import PolicyReport, Violation, money
from reconciler.render.markdown import code, prose
from reconciler.render.safe import clean
from reconciler.render.style import Style


def budget_line(report: PolicyReport) -> str | None:
    """"Budget: $34.80/h of $40.00/h (today $30.00/h)", when a maxHourlyCost rule is checked."""
    limit = report.limits.get("maxHourlyCost")
    if limit is None:
        return None
    today = f" (today {money(report.before)})" if report.before != report.after else ""
    return f"Budget: {money(report.after)} of {money(limit)}{today}"


def _label(v: Violation) -> str:
    return "overridden" if v.overridden else v.level


def headline(report: PolicyReport) -> str:
    where = f" ({report.environment})" if report.environment else ""
    n, blocked = len(report.violations), len(report.blocked)
    unchecked = (f"not checked: {', '.join(report.unchecked[:5])}"
                 + (" and more" if len(report.unchecked) > 5 else "")
                 + " (configuration unknown here)") if report.unchecked else ""
    if not n:
        rules = f"{len(report.rules)} rule{'s' if len(report.rules) != 1 else ''}"
        return f"Policy{where}: " + (f"{rules} passed" if not unchecked
                                     else f"no violation of {rules}; {unchecked}")
    parts = [f"{n} violation{'s' if n != 1 else ''}"]
    if unchecked:
        parts.append(unchecked)
    if blocked:
        parts.append(f"{blocked} mandatory: the plan cannot be applied")
    if report.overrides:
        parts.append("overridden for this run: " + ", ".join(report.overrides))
    return f"Policy{where}: " + "; ".join(parts)


def render_text(report: PolicyReport, out: TextIO, style: Style) -> None:
    colour = "red" if report.blocked else "yellow" if report.violations else "green"
    out.write("\n" + style(clean(headline(report)), fg=colour, bold=True) + "\n")
    line = budget_line(report)
    if line:
        out.write(f"  {line}\n")
    for v in report.violations:
        mark = style("✗", fg="red") if v.blocks else style("!", fg="yellow")
        out.write(f"  {mark} {_label(v)} [{v.code}] {clean(v.text)}\n")


def render_markdown(report: PolicyReport, out: TextIO) -> None:
    """The block a PR comment leads with: the verdict, the budget, every violation."""
    icon = "⛔" if report.blocked else "⚠️" if report.violations else "✅"
    out.write(f"#### {icon} {prose(headline(report))}\n\n")
    line = budget_line(report)
    if line:
        out.write(f"**{prose(line)}**\n\n")
    for v in report.violations:
        who = f"{code(v.deployment)}: " if v.deployment else ""
        out.write(f"- **{_label(v)}** {code(v.code)} {who}{prose(v.message)}"
                  + (f" — _{prose(v.hint)}_" if v.hint else "") + "\n")
    if report.violations:
        out.write("\n")
