"""A plan in the form a command asked for: text for people, the plan file's JSON, or Markdown
for a pull-request comment (optionally cut to fit a size limit)."""

from __future__ import annotations

from typing import TextIO

from reconciler.plan.model import Plan
from reconciler.policy.report import PolicyReport


def write_plan(the_plan: Plan, output: str, out: TextIO, color: bool,
               max_chars: int | None = None, policy: PolicyReport | None = None) -> None:
    """``policy``: the plan's policy results (with a project's policies), in every format."""
    if output == "json":
        out.write(the_plan.to_json({"policy": policy.to_dict()} if policy else None))
    elif output == "markdown":
        import io

        from reconciler.render.fit import fit_markdown
        from reconciler.render.plan_markdown import render_markdown

        buffer = io.StringIO()
        render_markdown(the_plan, buffer, policy)
        text = buffer.getvalue()
        out.write(fit_markdown(text, max_chars, "plan") if max_chars else text)
    else:
        from reconciler.render.plan_text import render_text

        render_text(the_plan, out, color=color)
        if policy is not None:
            from reconciler.render.policy import render_text as policy_text
            from reconciler.render.style import Style

            policy_text(policy, out, Style(color))
    out.flush()
