"""The command line: arguments -> core -> render -> exit code. The only module that talks to users."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

import click

from reconciler import __version__
from reconciler.errors import YottactlError


def use_color(no_color: bool = False, stream: TextIO | None = None) -> bool:
    """The one colour policy (see :func:`reconciler.settings.wants_color`)."""
    from reconciler.settings import wants_color

    return wants_color(no_color, (stream or sys.stdout).isatty())


def report_error(err: YottactlError, color: bool) -> None:
    from reconciler.render.errors import error_text

    click.echo(error_text(err, color), err=True, nl=False)


# Exit codes on every command (docs/ARCHITECTURE.md): scripts and CI jobs rely on them.
EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
EXIT_CODES_HELP = (
    "Exit codes (every command): 0 success; 1 any error, including usage errors such as an "
    "unknown option, a bad value or a missing file; 2 only \"changes pending\" (plan "
    "--detailed-exitcode) or \"drift found\" (drift). A closed standard output (| head) ends "
    "the command quietly, killed by SIGPIPE as git is; apply and destroy first finish and "
    "record every planned step."
)


def _usage_exit(err: click.UsageError) -> click.UsageError:
    # click's default for usage errors is 2, which this CLI reserves for changes/drift
    err.exit_code = EXIT_ERROR  # type: ignore[misc]  # per instance: the class keeps its 2
    return err


class _Command(click.Command):
    """Records the order of --var/--var-file and applies the project file's defaults."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from reconciler.cli.habits import single_dash_long_options
        from reconciler.cli.options import after_parse, record_var_order

        wrong = single_dash_long_options(self, args)
        if wrong is not None and not ctx.resilient_parsing:
            wrong.ctx = ctx
            raise wrong
        record_var_order(ctx, args)
        rest = super().parse_args(ctx, args)
        after_parse(ctx)
        return rest


class StdoutClosed(Exception):
    """Standard output's (or, for apply/destroy, standard error's) reader went away (`| head`):
    the entry point ends quietly, as git does."""


class _Group(click.Group):
    """Turns every YottactlError into a clean message and exit code: never a traceback;
    usage errors (unknown option, bad value, missing file) exit 1, like any other error."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: object) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            raise _usage_exit(err) from None
        except BrokenPipeError:  # `yottactl --help | head -1`
            raise StdoutClosed() from None

    command_class = _Command
    group_class = type

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and ctx.parent is None and not ctx.resilient_parsing \
                and self.get_command(ctx, args[0]) is None:
            from reconciler.cli.habits import foreign_command

            habit = foreign_command(args[0])  # `describe`, `diff`, `scale`: what to type instead
            if habit is not None:
                habit.ctx = ctx
                raise habit
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        # every command writes through the sanitising streams: API text never reaches the
        # terminal raw, whichever command prints it (render/safe.py)
        from reconciler import catalog
        from reconciler.render.safe import install
        from reconciler.settings import catalog_file

        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = install(*saved)
        catalog.configure(catalog_file())  # the user catalog, if any; strict about GPU types
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away is seen here, not at interpreter exit
            if _reader_gone():  # apply/destroy ran to the end without it: end as `get | head`
                raise StdoutClosed()
            return result
        except BrokenPipeError:  # `yottactl get | head`: the reader has what it wanted
            raise StdoutClosed() from None
        except click.UsageError as err:  # raised while parsing a subcommand's arguments
            raise _usage_exit(err) from None
        except YottactlError as err:
            report_error(err, use_color("--no-color" in sys.argv, stream=sys.stderr))
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        finally:
            _warn_unknown_gpus()
            catalog.configure()  # the command's catalog never outlives it (in-process callers)
            sys.stdout, sys.stderr = saved


def output_never_stops() -> None:
    """For apply and destroy: a reader that goes away (`apply --auto-approve | head -1`, a
    closed stderr) must not stop the run between an API call and its record. From here on a
    closed stdout or stderr silently drops output; once the command has finished every step,
    it ends as a closed stdout ends any command (:class:`StdoutClosed`), unless it failed:
    an error keeps its own exit code."""
    from reconciler.render.safe import SafeStream

    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, SafeStream):  # always, under the group (in-process callers too)
            stream.drop_when_closed()


def _reader_gone() -> bool:
    from reconciler.render.safe import SafeStream

    return any(isinstance(s, SafeStream) and s.reader_gone for s in (sys.stdout, sys.stderr))


def _warn_unknown_gpus() -> None:
    from reconciler import catalog

    for name in catalog.unknown_gpus_allowed():
        click.echo(f"Warning: GPU type {name!r} is not in the catalog; allowed by "
                   "--allow-unknown-gpu (the API will accept or refuse it; no price estimate)",
                   err=True)


@click.group(cls=_Group, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="yottactl")
@click.option("--debug", is_flag=True,
              help="One stderr line per HTTP call and retry (method, path, status, code, "
                   "duration; the API key and secrets redacted) [env YOTTACTL_LOG=debug].")
def main(debug: bool) -> None:
    """Declarative reconciler for Yotta Labs Elastic Deployments (serverless GPU endpoints).

    Keep deployments as YAML manifests in Git; `plan` shows the API calls that would make the
    live fleet match them, `apply` runs them after confirmation and records every outcome.
    """
    from reconciler.settings import debug_wanted

    if debug_wanted(debug):
        from reconciler.api import debuglog

        debuglog.configure(True)
    elif "reconciler.api.debuglog" in sys.modules:  # an earlier in-process run turned it on
        sys.modules["reconciler.api.debuglog"].configure(False)


def stop_on_signals(stop: threading.Event, notice: str = "") -> Callable[[], None]:
    """First Ctrl-C/SIGTERM sets ``stop`` (and prints ``notice``); a second exits at once.
    A handler of our own, not KeyboardInterrupt: it also works when the parent started us with
    SIGINT ignored. Returns the function that restores the previous handlers."""
    import os
    import signal

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            os._exit(130)  # the journal is fsync'd per record: it stays consistent
        stop.set()
        if notice:
            click.echo(notice, err=True)

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # embedded use: signals belong to the host program
    previous = (signal.signal(signal.SIGINT, handler), signal.signal(signal.SIGTERM, handler))

    def restore() -> None:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])

    return restore


def _register() -> None:
    # subcommand modules attach themselves to `main` on import
    import importlib

    for module in ("plan", "apply", "state", "observe", "drift", "restart", "emulator", "render",
                   "cleanup", "agent"):
        importlib.import_module(f"reconciler.cli.{module}")


_register()

