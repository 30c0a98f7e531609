"""Observability over every read endpoint: `get`, `output`, `workers`, `logs`; and `export`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import click

from reconciler.api import facts
from reconciler.cli import main, stop_on_signals, use_color
from reconciler.cli.options import (
    api_options,
    color_option,
    complete_names,
    settings,
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], color: bool,
           status_col: int) -> None:
    import shutil

    from reconciler.render.observe import WHOLE_CELLS, status_table

    # fit a terminal; on a pipe print whole cells (scripts parse them)
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else WHOLE_CELLS
    status_table(headers, rows, sys.stdout, color=color, status_col=status_col, width=width)


def _echo_json(value: object) -> None:
    import json

    click.echo(json.dumps(value, indent=2))


@main.command()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(facts.DEPLOYMENT_STATUSES, case_sensitive=False),
              help="Only deployments with this status (repeatable).")
@click.option("--output", "-o", type=click.Choice(["table", "json", "yaml"]), default="table",
              show_default=True, help="table for people; json or yaml for scripts.")
@click.option("--show-secrets", is_flag=True, help="Show environment values (masked by default).")
@api_options
@color_option
def get(name: str | None, statuses: tuple[str, ...], output: str, show_secrets: bool,
        endpoint: str | None, api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """List deployments, or show one in full (NAME or id)."""
    from reconciler.app.observe import detail, listing
    from reconciler.render.observe import DEPLOYMENT_HEADERS, deployment_rows, write_yaml
    from reconciler.report.observe import masked_view

    s = settings(endpoint, api_key, state_path)
    if name:
        view = masked_view(detail(s, name), show_secrets)
        if output == "json":
            _echo_json(view)
        else:
            write_yaml(view, sys.stdout)
        return
    found = listing(s, statuses)
    if output != "table":
        views = [dict(masked_view(d, show_secrets), managed=d.id in found.managed_ids)
                 for d in found.live]
        _echo_json(views) if output == "json" else write_yaml(views, sys.stdout)
        return
    _table(DEPLOYMENT_HEADERS, deployment_rows(found.live, found.managed_ids),
           use_color(no_color), 2)


@main.command()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object for NAME, else an object keyed by name.")
@api_options
def output(name: str | None, output: str, endpoint: str | None, api_key: str | None,
           state_path: str | None) -> None:
    """Id, status, workers and domain/URL of managed deployments, from the live API.

    For scripts: `$(yottactl output llama -o json | jq -r .url)`. One list call.
    """
    from reconciler.app.observe import output_records
    from reconciler.render.observe import OUTPUT_HEADERS, output_lines, output_rows

    records = output_records(settings(endpoint, api_key, state_path), name)
    if output == "json":
        _echo_json(records[name] if name else records)
    elif name is not None:
        click.echo(output_lines(records[name]), nl=False)
    else:
        _table(OUTPUT_HEADERS, output_rows(records.values()), False, 2)


@main.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(facts.WORKER_STATUSES, case_sensitive=False),
              help="Only workers with this status (repeatable).")
@click.option("--all", "show_all", is_flag=True, help="Include TERMINATED workers.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for scripts.")
@api_options
@color_option
def workers(name: str, statuses: tuple[str, ...], show_all: bool, output: str,
            endpoint: str | None, api_key: str | None, state_path: str | None,
            no_color: bool) -> None:
    """List the workers of deployment NAME."""
    from reconciler.app.observe import workers_of
    from reconciler.render.observe import WORKER_HEADERS, worker_rows

    dep, found = workers_of(settings(endpoint, api_key, state_path), name, statuses, show_all)
    if output == "json":
        _echo_json([w.model_dump(mode="json", exclude_none=True) for w in found])
        return
    if not found:
        why = f"deployment is {dep.status}" if dep.status != "RUNNING" else "none match"
        hidden = "" if show_all or statuses else "; `--all` includes TERMINATED workers"
        click.echo(f"no workers ({why}){hidden}")
        return
    _table(WORKER_HEADERS, worker_rows(found), use_color(no_color), 1)


@main.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--worker", "worker_id", metavar="ID", help="Only this worker.")
@click.option("--all-workers", is_flag=True, help="Every worker, merged by time (default).")
@click.option("--since", metavar="T", help="10m, 2h, 1d, ISO 8601 or epoch ms.")
@click.option("--until", metavar="T", help="Only lines before T (same forms as --since).")
@click.option("--grep", metavar="WORD", help="Only lines containing WORD (server-side).")
@click.option("--tail", type=click.IntRange(1, 100000), metavar="N", help="Only the last N lines.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text lines, or one JSON object per line.")
@click.option("--poll-interval", default=1.0, show_default=True, type=float, hidden=True,
              help="Seconds between polls with --follow (tests shorten it).")
@api_options
def logs(name: str, worker_id: str | None, all_workers: bool, since: str | None,
         until: str | None, grep: str | None, tail: int | None, follow: bool, output: str,
         poll_interval: float, endpoint: str | None, api_key: str | None,
         state_path: str | None) -> None:
    """Print worker logs of deployment NAME (paging is followed transparently)."""
    from reconciler.app.observe import LogQuery
    from reconciler.app.observe import logs as read_logs
    from reconciler.errors import UsageError
    from reconciler.render.observe import log_line

    if worker_id and all_workers:
        raise UsageError("use --worker ID or --all-workers, not both")
    stop = threading.Event()
    restore = stop_on_signals(stop) if follow else (lambda: None)  # before any line is out
    try:
        with read_logs(settings(endpoint, api_key, state_path), name,
                       LogQuery(worker_id, since, until, grep, tail, poll_interval)) as session:
            for line in session.lines:
                click.echo(log_line(line, output, session.several_workers))
            if not follow:
                return
            for line in session.follow(stop):
                click.echo(log_line(line, output, session.several_workers))
                sys.stdout.flush()
    except KeyboardInterrupt:
        stop.set()  # Ctrl-C ends --follow normally: exit 0, no traceback
    finally:
        restore()



@main.command()
@click.argument("names", nargs=-1)
@click.option("--dir", "directory", default=None, type=click.Path(file_okay=False),
              help="Where to write NAME.yaml files [default: the manifest folder: yottactl.yaml's, "
                   "else manifests/ or deploy/, else a new manifests/].")
@click.option("--force", is_flag=True, help="Overwrite files that already exist in --dir.")
@api_options
def export(names: tuple[str, ...], directory: str | None, force: bool, endpoint: str | None,
           api_key: str | None, state_path: str | None) -> None:
    """Write manifests for live deployments (all, or NAME...), secrets as ${env:...}.

    Environment values that look secret (HF_TOKEN, hf_..., a password in a URL, a long random
    token) or that the state marks sensitive become ${env:NAME_KEY}; the others are written.

    Never overwrites an existing file without --force, and never writes outside --dir (file
    names are sanitised too). Exporting all, a live deployment whose name is not a valid,
    unique deployment name is skipped with a warning and the rest are written; the exit code is
    then 1 (the export is incomplete). NAME... is all or nothing.
    """
    from reconciler.app.observe import export as export_manifests
    from reconciler.errors import YottactlError

    exported = export_manifests(settings(endpoint, api_key, state_path), names, directory, force,
                                on_written=lambda path: click.echo(f"wrote {path}"))
    for skipped in exported.skipped:
        click.echo(f"Warning: skipped {skipped.why}; {skipped.hint}", err=True)
    if exported.variables:
        click.echo("\nEnvironment values were not exported. Provide these variables "
                   "(e.g. from your CI secret store) before `plan`:")
        for var in exported.variables:
            click.echo(f"  {var}")
    if exported.skipped:  # like `kubectl apply -f DIR`: the rest is done, the run still failed
        left = sum(len(s.ids) for s in exported.skipped)
        raise YottactlError(f"export incomplete: {left} live deployment{'s' if left != 1 else ''}"
                            f" skipped (warnings above), {len(exported.files)} written",
                            hint="fix the skipped ones as the warnings say and export again "
                                 "(--force overwrites the files written now)")

