"""`yottactl agent`: continuous reconciliation until stopped (README "Agent").

Parses flags over the project file's ``agent:`` keys, starts the HTTP listener
(``cli/agent_http.py``), runs ``app.agent_loop.AgentLoop`` and logs one line per event.
SIGTERM/SIGINT: the current step finishes and is recorded, the lock is released, exit 0.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import click

from reconciler.cli import main, stop_on_signals
from reconciler.cli.options import api_options, catalog_option, settings, var_options

if TYPE_CHECKING:
    from reconciler.app.agent import AgentOptions, Log
    from reconciler.project_schema import Agent


def event_logger(fmt: str) -> Log:
    """log(event, **fields): one JSON object per line (``json``), else a readable line; both
    on stderr, API text escaped (a hostile name cannot forge log lines or move the cursor)."""
    import json
    import time

    from reconciler.app.agent import iso
    from reconciler.render.safe import clean, clean_tree

    lock = threading.Lock()

    def log(event: str, **fields: object) -> None:
        if fmt == "json":
            line = json.dumps({"time": iso(time.time()), "event": event, **clean_tree(fields)},
                              ensure_ascii=True, default=str)
        else:
            shown = " ".join(f"{k}={v}" for k, v in fields.items() if v not in ("", [], {}, None))
            line = clean(f"agent: {event}{' ' + shown if shown else ''}")
        with lock:
            click.echo(line, err=True)

    return log


def options_from(agent: Agent, mode: str | None, interval: float | None) -> AgentOptions:
    from reconciler.agent_rules import parse_window
    from reconciler.app.agent import AgentOptions

    return AgentOptions(mode=mode or agent.mode or "observe",
                        interval=interval or agent.interval or 60.0,
                        prune=bool(agent.prune), heals_per_hour=agent.maxHealsPerHour or 6,
                        windows=tuple(parse_window(w.allow) for w in agent.syncWindows or ()))


@main.command()
@click.option("--mode", type=click.Choice(["observe", "heal"]),
              help="observe: plan and drift only, never a change; heal: apply changes and "
                   "drift [default: agent.mode, else observe].")
@click.option("--interval", type=click.FloatRange(min=1.0), metavar="SECONDS",
              help="Seconds between cycles, ±10% jitter [default: agent.interval, else 60].")
@click.option("--source", metavar="PATH|GIT-URL",
              help="Manifest folder (read every cycle), or a Git repository fetched every "
                   "cycle [default: agent.source, else the project's manifests].")
@click.option("--branch", metavar="NAME", help="Branch of a Git --source [default: main].")
@click.option("--source-path", default="", metavar="FOLDER",
              help="Folder inside the Git --source that holds the manifests.")
@click.option("--work-dir", type=click.Path(file_okay=False), default=".yottactl-agent",
              show_default=True, help="Where a Git --source is checked out (the agent's own).")
@click.option("--listen", default="127.0.0.1:9440", show_default=True, metavar="HOST:PORT",
              help="Address of /healthz, /readyz, /metrics and the status page (\"off\": none).")
@click.option("--token-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Bearer token the HTTP listener requires (needed off loopback).")
@click.option("--once", is_flag=True,
              help="Run one cycle and exit (1 if it failed): a CI step or a cron job's agent.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one JSON object per event on stderr.")
@var_options
@api_options
@catalog_option
def agent(mode: str | None, interval: float | None, source: str | None, branch: str | None,
          source_path: str, work_dir: str, listen: str, token_file: str | None,
          once: bool, log_format: str, endpoint: str | None, api_key: str | None,
          state_path: str | None) -> None:
    """Reconcile continuously until stopped: plan every interval, report drift, and (heal)
    apply what changed. SIGTERM/SIGINT finish the current step and exit 0."""
    from pathlib import Path

    from reconciler.app.agent import Reconciler
    from reconciler.app.agent_loop import AgentLoop
    from reconciler.app.agent_source import GitSource, open_source
    from reconciler.errors import UsageError
    from reconciler.state.backend import command_line

    s = settings(endpoint, api_key, state_path)
    configured = s.inputs.context.agent
    options = options_from(configured, mode, interval)
    the_source = open_source(source or configured.source, branch or configured.branch or "main",
                             Path(work_dir), source_path, from_project=source is None)
    if not isinstance(the_source, GitSource) and (branch or source_path):
        raise UsageError(f"--{'branch' if branch else 'source-path'} needs a Git --source; "
                         f"{the_source.describe()} is a folder",
                         hint="pass --source GIT-URL, or name the manifest folder itself "
                              "with --source FOLDER")
    log = event_logger(log_format)
    server = None
    reconciler = Reconciler(s, the_source, options, log=log)
    if listen != "off":
        from reconciler.cli.agent_http import serve

        server = serve(listen, token_file, reconciler)
        log("listening", address=server.address)
    stop = threading.Event()
    restore = stop_on_signals(stop)
    log("started", mode=options.mode, interval=options.interval, source=the_source.describe())
    loop = AgentLoop(reconciler, command=command_line(), max_cycles=1 if once else None)
    try:
        loop.run(stop)
    finally:
        restore()
        if server is not None:
            server.close()
        reconciler.close()
    if not stop.is_set():  # the loop ends only when stopped
        raise UsageError("the agent stopped unexpectedly")
    sys.exit(1 if once and not loop.last_ok else 0)  # --once: the cycle's outcome (logged)
