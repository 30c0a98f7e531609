"""The command line: arguments -> core -> render -> exit code. The only module that talks to users."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import YottactlError


def use_color(no_color: bool = False, stream: Any = None) -> bool:
    """Colour only on a TTY, never with --no-color or NO_COLOR (https://no-color.org)."""
    import os

    stream = stream or sys.stdout
    return not no_color and not os.environ.get("NO_COLOR") and stream.isatty()


def report_error(err: YottactlError, color: bool) -> None:
    red = (lambda t: click.style(t, fg="red", bold=True)) if color else (lambda t: t)
    click.echo(f"{red('Error:')} {err.summary}", err=True)
    if err.detail:
        click.echo(err.detail, err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


class _Group(click.Group):
    """Turns every YottactlError into a clean message and exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except YottactlError as err:
            report_error(err, use_color(stream=sys.stderr))
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


F = Any  # a click-decorated command function


def api_options(func: F) -> F:
    """--endpoint / --api-key / --state (+ env fallbacks) for every command that needs them."""
    func = click.option("--state", "state_path", envvar="YOTTACTL_STATE", metavar="FILE",
                        help="State file [env YOTTACTL_STATE; default state/yottactl.state.json]."
                        )(func)
    func = click.option("--api-key", envvar="YOTTA_API_KEY", metavar="KEY",
                        help="Yotta API key [env YOTTA_API_KEY].")(func)
    func = click.option("--endpoint", envvar="YOTTA_API_URL", metavar="URL",
                        help="API base URL [env YOTTA_API_URL; default https://api.yottalabs.ai]."
                        )(func)
    return func


def color_option(func: F) -> F:
    return click.option("--no-color", is_flag=True, envvar="NO_COLOR",
                        help="No ANSI colours [env NO_COLOR].")(func)


def settings(endpoint: str | None, api_key: str | None, state_path: str | None) -> Any:
    from reconciler.workflow import Settings

    return Settings(endpoint=endpoint, api_key=api_key, state_path=state_path)


@click.group(cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="yottactl")
def main() -> None:
    """Declarative reconciler for Yotta Labs Elastic Deployments (serverless GPU endpoints).

    Keep deployments as YAML manifests in Git; `plan` shows the API calls that would make the
    live fleet match them, `apply` runs them after confirmation and records every outcome.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--data", "data_file", type=click.Path(dir_okay=False),
              help="Keep the world in this JSON file so separate runs see the same deployments.")
@click.option("--api-key", "api_key", default=None,
              help="Require this key in X-Api-Key (default: accept any non-empty key).")
@click.option("--transition-seconds", default=3.0, show_default=True, type=float,
              help="Duration of INITIALIZING/STOPPING and worker transitions.")
@click.option("--log-interval", default=2.0, show_default=True, type=float,
              help="Seconds between request log lines of a running worker.")
@click.option("--latency-ms", default=0.0, show_default=True, type=float)
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of API calls answered with 500/503/429 or a dropped connection.")
@click.option("--retry-after", default=1.0, show_default=True, type=float,
              help="Retry-After seconds sent with injected 429s.")
@click.option("--seed", default=None, type=int, help="Seed for ids and faults (reproducible).")
@click.option("--verbose", is_flag=True, help="Log every request.")
def emulator(host: str, port: int, data_file: str | None, api_key: str | None,
             transition_seconds: float, log_interval: float, latency_ms: float,
             fault_rate: float, retry_after: float, seed: int | None, verbose: bool) -> None:
    """Run a local Yotta API emulator (all 10 operations, lifecycle, logs, faults)."""
    from reconciler.emulator.server import EmulatorServer, build

    emu = build(transition_seconds=transition_seconds, log_interval_seconds=log_interval,
                data_file=data_file, api_key=api_key, latency_ms=latency_ms,
                fault_rate=fault_rate, retry_after=retry_after, seed=seed)
    try:
        server = EmulatorServer(emu, host=host, port=port, verbose=verbose)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    click.echo(f"yottactl emulator listening on {server.url}  (Ctrl-C to stop)", err=True)
    click.echo(f"  export YOTTA_API_URL={server.url} YOTTA_API_KEY=any-key", err=True)
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--skip-env", is_flag=True,
              help="Do not require ${env:...} variables to be set (pre-commit, PR checks).")
def validate(paths: tuple[str, ...], output: str, skip_env: bool) -> None:
    """Validate manifests offline (no API key needed). Exit 0 valid, 1 invalid."""
    from reconciler.errors import ManifestError
    from reconciler.manifest.loader import load

    try:
        loaded = load(list(paths) or ["."], require_env=not skip_env)
    except ManifestError as err:
        if output == "json":
            click.echo(json.dumps([
                {"file": i.file, "line": i.line, "column": i.column, "path": i.path,
                 "message": i.message, "hint": i.hint} for i in err.issues], indent=2))
            sys.exit(1)
        raise
    if output == "json":
        click.echo("[]")
    else:
        n = len(loaded)
        click.echo(f"{n} deployment{'s' if n != 1 else ''} valid")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the manifest format (for editors)."""
    from reconciler.manifest.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Save the plan for `yottactl apply --plan FILE`.")
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes (0 none, 1 error).")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Only plan these deployments (repeatable).")
@click.option("--allow-mass-delete", is_flag=True,
              help="Allow plans that delete or re-create most managed deployments.")
@api_options
@color_option
def plan(paths: tuple[str, ...], out_file: str | None, output: str, detailed_exitcode: bool,
         targets: tuple[str, ...], allow_mass_delete: bool, endpoint: str | None,
         api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """Show the API calls that would make live deployments match the manifests.

    Reads manifests, the state and ONE list call; changes nothing anywhere.
    """
    from reconciler.workflow import build_plan

    run = build_plan(settings(endpoint, api_key, state_path), paths, targets=targets,
                     allow_mass_delete=allow_mass_delete)
    render_plan(run.plan, output, use_color(no_color))
    if run.plan.errors:
        sys.exit(1)
    if out_file:
        from pathlib import Path

        from reconciler.state.backend import atomic_write

        atomic_write(Path(out_file), run.plan.to_json())
        if output == "text":
            click.echo(f"\nSaved the plan to {out_file}; run `yottactl apply --plan {out_file}`.")
    sys.exit(2 if detailed_exitcode and run.plan.has_changes else 0)


def render_plan(the_plan: Any, output: str, color: bool) -> None:
    stream = sys.stdout
    if output == "json":
        stream.write(the_plan.to_json())
    elif output == "markdown":
        from reconciler.render.plan_markdown import render_markdown

        render_markdown(the_plan, stream)
    else:
        from reconciler.render.plan_text import render_text

        render_text(the_plan, stream, color=color)
    stream.flush()
