"""The drift report (``reconciler.report.drift`` format 1) as text for people or as Markdown
for an issue body. API strings are cleaned; field values are formatted (and cleaned) by
:func:`reconciler.render.plan_text.field_line`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from reconciler.render.style import Style

if TYPE_CHECKING:
    from reconciler.report.drift import DriftReport


def _displayable(data: DriftReport) -> DriftReport:
    from reconciler.render.safe import clean_tree

    return clean_tree(data, keep=frozenset({"before", "after"}))


def _field_line(change: dict[str, object]) -> str:
    from reconciler.plan.model import FieldChange
    from reconciler.render.plan_text import field_line

    return field_line(FieldChange.model_validate(change))


def render_drift_text(data: DriftReport, out: TextIO, color: bool) -> None:
    data = _displayable(data)
    style = Style(color)
    lines = [] if data["findings"] else [
        "No drift: live deployments match the manifests and the state."]
    for f in data["findings"]:
        mark = "acknowledged" if f["acknowledged"] else "!"
        lines.append(f"{mark} {style(f['deployment'], bold=True)}: {f['type']}: {f['detail']}"
                     + (f"  (ack: {f['ack_reason']})" if f["acknowledged"] else ""))
        lines += [f"    ~ {_field_line(c)}" for c in f["fields"]]
    lines += [f"expired acknowledgement (no longer silences): {label}"
              for label in data["acks"]["expired"]]
    lines += [f"unmatched acknowledgement (nothing to silence): {label}"
              for label in data["acks"]["unmatched"]]
    lines.append(data["text"])
    out.write("".join(line + "\n" for line in lines))
    out.flush()


def render_drift_markdown(data: DriftReport) -> str:
    """The report for an issue body. Names, details and acknowledgement reasons come from the
    API or from files a pull request can edit: each is made inert (reconciler.render.markdown),
    the summary line included (the report's ``text`` is plain text for chat webhooks)."""
    from reconciler.render.markdown import cell, code, prose

    data = _displayable(data)
    open_ = [f for f in data["findings"] if not f["acknowledged"]]
    if open_:
        counts = ", ".join(f"{n} {prose(t)}" for t, n in data["summary"].items())
        named = "; ".join(f"{code(f['deployment'])}: {prose(f['type'])}" for f in open_[:10])
        summary = f"⚠️ yottactl drift: {counts} — {named}"
    else:
        summary = "✅ yottactl drift: no unacknowledged drift"
    lines = ["<!-- yottactl-drift -->\n### yottactl drift report\n", summary + "\n"]
    if data["findings"]:
        lines.append("| deployment | finding | detail | acknowledged |\n|---|---|---|---|")
        for f in data["findings"]:
            ack = f"yes: {cell(f['ack_reason'])}" if f["acknowledged"] else "no"
            lines.append(f"| {cell(f['deployment'], as_code=True)} | {cell(f['type'])} | "
                         f"{cell(f['detail'])} | {ack} |")
    for label in data["acks"]["expired"]:
        lines.append(f"\n> expired acknowledgement: {prose(label)}")
    for label in data["acks"]["unmatched"]:
        lines.append(f"\n> unmatched acknowledgement: {prose(label)}")
    return "".join(line + "\n" for line in lines)
