"""Observability over every read endpoint: `get`, `workers`, `logs`; and `export`."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from typing import Any

import click

from reconciler.cli import api_options, color_option, complete_names, main, settings, use_color

STATUS_COLORS = {"RUNNING": "green", "INITIALIZING": "cyan", "INITIALIZE": "cyan",
                 "STOPPING": "yellow", "STOPPED": "white", "FAILED": "red", "TERMINATED": "white",
                 "TERMINATING": "yellow"}


def _table(headers: list[str], rows: list[list[str]], color: bool, status_col: int) -> None:
    from reconciler.render.table import render_table

    def style(col: int, text: str) -> str:
        if color and col == status_col:
            return click.style(text, fg=STATUS_COLORS.get(text.strip()))
        return text

    # fit a terminal; on a pipe print whole cells (scripts parse them)
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 10_000
    render_table(headers, rows, sys.stdout, width=width, style=style)


def _yaml(data: Any) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, sys.stdout)


@main.command()
@click.argument("name", required=False, shell_complete=complete_names)
@click.option("--status", "statuses", multiple=True, metavar="S",
              help="Only deployments with this status (repeatable).")
@click.option("--output", "-o", type=click.Choice(["table", "json", "yaml"]), default="table",
              show_default=True, help="table for people; json or yaml for scripts.")
@click.option("--show-secrets", is_flag=True, help="Show environment values (masked by default).")
@api_options
@color_option
def get(name: str | None, statuses: tuple[str, ...], output: str, show_secrets: bool,
        endpoint: str | None, api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """List deployments, or show one in full (NAME or id)."""
    from reconciler.observe import masked_view, resolve, url_of

    s = settings(endpoint, api_key, state_path)
    client = s.client()
    if name:
        dep = client.detail(resolve(client, name).id)
        view = masked_view(dep, show_secrets)
        if output == "json":
            click.echo(json.dumps(view, indent=2))
        else:
            _yaml(view)
        return
    live = client.list(status=[x.upper() for x in statuses])
    state = s.state_file().read()
    managed = {e.id: n for n, e in (state.deployments if state else {}).items()}
    if output != "table":
        views = [dict(masked_view(d, show_secrets), managed=d.id in managed) for d in live]
        click.echo(json.dumps(views, indent=2)) if output == "json" else _yaml(views)
        return
    rows = []
    for d in sorted(live, key=lambda d: (d.name or "", d.id)):
        gpu = d.resources[0] if d.resources else None
        rows.append([
            d.name or "", d.id, d.status or "?", f"{d.runningWorkers or 0}/{d.totalWorkers or 0}",
            f"{gpu.gpuType} ×{gpu.gpuCount}" if gpu else "-",
            ",".join(sorted({r.region or "" for r in d.resources})),
            f"{d.perHourPrice or 0:.2f}", "yes" if d.id in managed else "no", url_of(d) or "-",
        ])
    _table(["NAME", "ID", "STATUS", "WORKERS", "GPU", "REGIONS", "$/H", "MANAGED", "URL"], rows,
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
    from reconciler.errors import StateError, YottactlError
    from reconciler.observe import output_record

    s = settings(endpoint, api_key, state_path)
    state = s.state_file().read()
    managed = dict(sorted((state.deployments if state else {}).items()))
    if name is not None and name not in managed:
        raise StateError(f"{name!r} is not managed by yottactl (not in the state)",
                         hint="`yottactl state list` shows managed names; `yottactl get` "
                              "shows every live deployment")
    live = {d.id: d for d in s.client().list()}
    records = {n: output_record(n, e.id, live.get(e.id)) for n, e in managed.items()
               if name is None or n == name}
    if name is not None and not records[name]["found"]:
        raise YottactlError(f"managed deployment {name} (id {managed[name].id}) is not live",
                            hint="`yottactl plan` shows how to bring it back")
    if output == "json":
        click.echo(json.dumps(records[name] if name else records, indent=2))
        return
    if name is not None:
        for key, value in records[name].items():
            click.echo(f"{key} = {'-' if value is None else value}")
        return
    rows = [[r["name"], r["id"], r["status"] or "NOT FOUND",
             f"{r['runningWorkers'] or 0}/{r['workers'] or 0}" if r["found"] else "-",
             r["url"] or "-"] for r in records.values()]
    _table(["NAME", "ID", "STATUS", "WORKERS", "URL"], rows, False, 2)


@main.command()
@click.argument("name", shell_complete=complete_names)
@click.option("--status", "statuses", multiple=True, metavar="S",
              help="Only workers with this status, e.g. RUNNING (repeatable).")
@click.option("--all", "show_all", is_flag=True, help="Include TERMINATED workers.")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for scripts.")
@api_options
@color_option
def workers(name: str, statuses: tuple[str, ...], show_all: bool, output: str,
            endpoint: str | None, api_key: str | None, state_path: str | None,
            no_color: bool) -> None:
    """List the workers of deployment NAME."""
    from reconciler.api.facts import WORKER_TERMINATED
    from reconciler.observe import resolve
    from reconciler.render.table import human_duration

    client = settings(endpoint, api_key, state_path).client()
    dep = resolve(client, name)
    found = client.workers(dep.id, status=[x.upper() for x in statuses])
    if not show_all and not statuses:
        found = [w for w in found if w.status != WORKER_TERMINATED]
    if output == "json":
        click.echo(json.dumps([w.model_dump(mode="json", exclude_none=True) for w in found],
                              indent=2))
        return
    if not found:
        why = f"deployment is {dep.status}" if dep.status != "RUNNING" else "none match"
        hidden = "" if show_all or statuses else "; `--all` includes TERMINATED workers"
        click.echo(f"no workers ({why}){hidden}")
        return
    rows = [[w.id, w.status or "?", w.region or "", f"{w.gpuType} ×{w.gpuCount}",
             human_duration(w.uptime), f"{w.cost or 0:.4f}"] for w in found]
    _table(["ID", "STATUS", "REGION", "GPU", "UPTIME", "COST $"], rows, use_color(no_color), 1)


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
    from reconciler.errors import UsageError
    from reconciler.observe import collect, parse_when, resolve
    from reconciler.observe import follow as follow_lines
    from reconciler.render.safe import clean

    if worker_id and all_workers:
        raise UsageError("use --worker ID or --all-workers, not both")
    client = settings(endpoint, api_key, state_path).client()
    dep = resolve(client, name)
    known = client.workers(dep.id)
    current = [w.id for w in known]
    if worker_id and worker_id not in current:
        listed = ", ".join(f"{w.id} ({w.status})" for w in known)
        raise UsageError(f"{name} has no worker {worker_id}",
                         hint=f"its workers: {listed}" if listed
                         else f"{name} has no workers (deployment is {dep.status})")
    ids = [worker_id] if worker_id else current
    prefix = len(ids) > 1 or not worker_id

    def emit(line: Any) -> None:
        if output == "json":
            click.echo(json.dumps({"timestamp": line.timestamp, "worker": line.worker,
                                   "offset": line.offset, "line": line.line}))
            return
        # a log line is whatever the workload printed: never raw to the terminal
        text = (f"[{clean(line.worker)}] {clean(line.timestamp)} {clean(line.line)}" if prefix
                else f"{clean(line.timestamp)} {clean(line.line)}")
        click.echo(text)

    seen = collect(client, dep.id, ids, since=parse_when(since), until=parse_when(until),
                   grep=grep, tail=tail)
    for line in seen:
        emit(line)
    if not follow:
        return
    stop = threading.Event()
    try:
        for line in follow_lines(client, dep.id, worker_id, seen, grep=grep, stop=stop,
                                 interval=poll_interval):
            emit(line)
            sys.stdout.flush()
    except KeyboardInterrupt:
        stop.set()  # Ctrl-C ends --follow normally: exit 0, no traceback


@main.command()
@click.argument("names", nargs=-1)
@click.option("--dir", "directory", default=".", show_default=True,
              type=click.Path(file_okay=False), help="Where to write NAME.yaml files.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist in --dir.")
@api_options
def export(names: tuple[str, ...], directory: str, force: bool, endpoint: str | None,
           api_key: str | None, state_path: str | None) -> None:
    """Write manifests for live deployments (all, or NAME...), secrets as ${env:...}.

    Never overwrites an existing file without --force, and never writes outside --dir (a live
    name that is not a valid deployment name is refused; file names are sanitised too).
    """
    import re
    from pathlib import Path

    from reconciler.api.models import NAME_PATTERN
    from reconciler.errors import UsageError
    from reconciler.export import file_name, manifest_for, write_new
    from reconciler.observe import resolve

    client = settings(endpoint, api_key, state_path).client()
    deployments = [resolve(client, n) for n in names] if names else client.list()
    counts: dict[str, int] = {}
    for d in deployments:
        counts[d.name or ""] = counts.get(d.name or "", 0) + 1
    for d in deployments:  # the name becomes a file name and metadata.name: it must be one
        if not re.fullmatch(NAME_PATTERN.removeprefix("^").removesuffix("$"), d.name or ""):
            raise UsageError(f"live deployment {d.id} has {d.name!r}, which is not a valid "
                             "deployment name", hint="rename it in the console, then export it")
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:
        raise UsageError(f"several live deployments share the name(s) {', '.join(dupes)}",
                         hint="export them one at a time by id and rename the files' metadata.name")
    folder = Path(directory)
    targets = {d.id: folder / file_name(d.name or d.id) for d in deployments}
    clashes = sorted({str(p) for p in targets.values()
                      if list(targets.values()).count(p) > 1})
    if clashes:
        raise UsageError(f"several deployments would be written to {', '.join(clashes)}",
                         hint="export them one at a time with --dir")
    existing = sorted(str(p) for p in targets.values() if p.exists() or p.is_symlink())
    if existing and not force:
        raise UsageError(f"refusing to overwrite {', '.join(existing)}",
                         hint="pass --force to overwrite, or choose another --dir")
    folder.mkdir(parents=True, exist_ok=True)
    needed: list[str] = []
    for d in sorted(deployments, key=lambda d: d.name or ""):
        text, variables = manifest_for(d)
        target = targets[d.id]
        write_new(folder, target, text, overwrite=force)
        needed += variables
        click.echo(f"wrote {target}")
    if needed:
        click.echo("\nEnvironment values were not exported. Provide these variables "
                   "(e.g. from your CI secret store) before `plan`:")
        for var in needed:
            click.echo(f"  {var}")
