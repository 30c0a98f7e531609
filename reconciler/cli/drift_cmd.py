"""`yottactl drift`: a read-only drift report for cron jobs. Exit 0 clean, 2 drift, 1 error."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click

from reconciler.cli import (
    api_options,
    catalog_option,
    color_option,
    main,
    report_error,
    settings,
    use_color,
    var_options,
)
from reconciler.errors import PlanError, YottactlError


def _displayable(data: dict[str, Any]) -> dict[str, Any]:
    """The report with API-supplied strings cleaned; field values are formatted (and cleaned)
    by :func:`_field_line`."""
    from reconciler.render.safe import clean_tree

    return clean_tree(data, keep=frozenset({"before", "after"}))  # type: ignore[no-any-return]


def _field_line(change: dict[str, Any]) -> str:
    from reconciler.plan.model import FieldChange
    from reconciler.render.plan_text import field_line

    return field_line(FieldChange.model_validate(change))


def _render_text(data: dict[str, Any], color: bool) -> None:
    data = _displayable(data)
    bold = (lambda t: click.style(t, bold=True)) if color else (lambda t: t)
    if not data["findings"]:
        click.echo("No drift: live deployments match the manifests and the state.")
    for f in data["findings"]:
        mark = "acknowledged" if f["acknowledged"] else "!"
        click.echo(f"{mark} {bold(f['deployment'])}: {f['type']}: {f['detail']}"
                   + (f"  (ack: {f['ack_reason']})" if f["acknowledged"] else ""))
        for c in f["fields"]:
            click.echo(f"    ~ {_field_line(c)}")
    for label in data["acks"]["expired"]:
        click.echo(f"expired acknowledgement (no longer silences): {label}")
    for label in data["acks"]["unmatched"]:
        click.echo(f"unmatched acknowledgement (nothing to silence): {label}")
    click.echo(data["text"])


def _render_markdown(data: dict[str, Any]) -> str:
    data = _displayable(data)
    lines = ["<!-- yottactl-drift -->\n### yottactl drift report\n",
             ("✅ " if data["clean"] else "⚠️ ") + data["text"] + "\n"]
    if data["findings"]:
        lines.append("| deployment | finding | detail | acknowledged |\n|---|---|---|---|")
        for f in data["findings"]:
            ack = f"yes: {f['ack_reason']}" if f["acknowledged"] else "no"
            lines.append(f"| `{f['deployment']}` | {f['type']} | {f['detail'].replace('|', '/')} "
                         f"| {ack} |")
    for kind in ("expired", "unmatched"):
        for label in data["acks"][kind]:
            lines.append(f"\n> {kind} acknowledgement: {label}")
    return "".join(line + "\n" for line in lines)


def _notify(url: str, data: dict[str, Any]) -> str | None:
    import httpx

    try:
        response = httpx.post(url, json=data, timeout=15.0,
                              headers={"User-Agent": "yottactl-drift"})
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}"
    return None


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text for people, json (the report format) or markdown "
              "(an issue body).")
@click.option("--notify", "notify_url", metavar="URL",
              help="POST the JSON report (with a `text` field for chat webhooks) when there "
                   "are findings.")
@click.option("--ack", "ack_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML list of {deployment, type, reason, expires} that silence findings.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False),
              help="Also write the JSON report to FILE (whatever --output is).")
@click.option("--max-chars", type=click.IntRange(min=2000), metavar="N",
              help="Markdown only: truncate whole lines (with a note) to fit N characters; "
                   "GitHub issue bodies hold at most 65536.")
@var_options
@api_options
@color_option
@catalog_option
def drift(paths: tuple[str, ...], output: str, notify_url: str | None, ack_file: str | None,
          report_file: str | None, max_chars: int | None, endpoint: str | None,
          api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """Report drift and pending changes; never changes anything (no lock, no state write).

    Exit codes for cron: 0 clean (or all acknowledged), 2 findings, 1 error.
    """
    from reconciler.driftreport import apply_acks, findings_from, parse_acks, report
    from reconciler.workflow import build_plan

    s = settings(endpoint, api_key, state_path)
    acks = []
    if ack_file:
        from reconciler.manifest.fastyaml import load_all

        try:
            docs = load_all(Path(ack_file).read_text(encoding="utf-8"))
        except Exception as exc:  # any YAML problem is a usage error with the file's name
            raise YottactlError(f"{ack_file}: not valid YAML ({exc})") from exc
        acks = parse_acks(docs[0] if docs else [], ack_file)
    run = build_plan(s, paths)  # read-only: one list call, the state read without a lock
    if run.plan.errors:
        raise PlanError("cannot compute drift: " + "; ".join(run.plan.errors))
    findings = findings_from(run.plan, run.state)
    ack_report = apply_acks(findings, acks, date.today())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = report(findings, ack_report, stamp,
                  [u.model_dump(mode="json") for u in run.plan.unmanaged])
    if report_file:
        Path(report_file).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "markdown":
        from reconciler.render.fit import fit_markdown

        text = _render_markdown(data)
        click.echo(fit_markdown(text, max_chars, "drift report") if max_chars else text, nl=False)
    else:
        _render_text(data, use_color(no_color))
    code = 0 if data["clean"] else 2
    if notify_url and not data["clean"]:
        problem = _notify(notify_url, data)
        if problem:
            report_error(YottactlError(f"notification to the webhook failed: {problem}",
                                       hint="the findings above are still valid"),
                         use_color(no_color, sys.stderr))
            code = 1
    sys.exit(code)
