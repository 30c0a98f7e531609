"""`yottactl drift`: a read-only drift report for cron jobs. Exit 0 clean, 2 drift, 1 error."""

from __future__ import annotations

import sys

import click

from reconciler.cli import main, report_error, use_color
from reconciler.cli.options import (
    manifest_api_options,
    settings,
)
from reconciler.cli.run import warn


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
@manifest_api_options
def drift(paths: tuple[str, ...], output: str, notify_url: str | None, ack_file: str | None,
          report_file: str | None, max_chars: int | None, endpoint: str | None,
          api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """Report drift and pending changes; never changes anything (no lock, no state write).

    Exit codes for cron: 0 clean (or all acknowledged), 2 findings, 1 error.
    """
    from reconciler.app.drift import drift_report, notify, read_acks, report_json, write_report

    s = settings(endpoint, api_key, state_path)
    data = drift_report(s, paths, read_acks(ack_file) if ack_file else [], warn=warn)
    if report_file:
        write_report(report_file, data)
    if output == "json":
        click.echo(report_json(data))
    elif output == "markdown":
        from reconciler.render.drift import render_drift_markdown
        from reconciler.render.fit import fit_markdown

        text = render_drift_markdown(data)
        click.echo(fit_markdown(text, max_chars, "drift report") if max_chars else text, nl=False)
    else:
        from reconciler.render.drift import render_drift_text

        render_drift_text(data, sys.stdout, use_color(no_color))
    code = 0 if data["clean"] else 2
    if notify_url and not data["clean"]:
        problem = notify(notify_url, data)
        if problem:
            from reconciler.errors import YottactlError

            report_error(YottactlError(f"notification to the webhook failed: {problem}",
                                       hint="the findings above are still valid"),
                         use_color(no_color, sys.stderr))
            code = 1
    sys.exit(code)
