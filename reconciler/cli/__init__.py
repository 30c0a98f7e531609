"""The command line: arguments -> core -> render -> exit code. The only module that talks to users."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import TYPE_CHECKING, TextIO

import click

from reconciler import __version__

if TYPE_CHECKING:
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


class _Context(click.Context):
    def make_formatter(self) -> click.HelpFormatter:
        # the width click's formatter works out, without its `import shutil` (which imports
        # zlib, bz2 and lzma: a tenth of `python -c pass` on every --help)
        from click import formatting

        width = self.terminal_width
        if width is None:
            width = formatting.FORCED_WIDTH
        if width is None:
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the width of the terminal standard
    output goes to, else 80."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no stdout, closed, not a terminal
        return 80


class _Command(click.Command):
    """Records the order of --var/--var-file, applies the project file's defaults and, as the
    command starts, turns --debug's HTTP log on or off."""

    context_class = _Context

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from reconciler.cli.habits import kubectl_filename, single_dash_long_options
        from reconciler.cli.options import after_parse, record_var_order

        wrong = single_dash_long_options(self, args) or kubectl_filename(self, args)
        if wrong is not None and not ctx.resilient_parsing:
            wrong.ctx = ctx
            raise wrong
        record_var_order(ctx, args)
        rest = super().parse_args(ctx, args)
        after_parse(ctx)
        return rest

    def invoke(self, ctx: click.Context) -> object:
        _log_http_calls(ctx.find_root().params.get("debug", False))
        from reconciler.process import gc_on_after_quiet_phase

        gc_on_after_quiet_phase()  # off during start-up (entry.py); commands make cycles
        return super().invoke(ctx)


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
        except OSError as err:  # `yottactl --help > /dev/full`: an error, never a traceback
            from reconciler.errors import OutputError

            report_error(OutputError.of("output", err), color=False)
            sys.exit(EXIT_ERROR)

    context_class = _Context
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

    def list_commands(self, ctx: click.Context) -> list[str]:
        if isinstance(self.commands, _LazyCommands):  # the names, without importing a module
            return sorted(COMMANDS.keys() | self.commands.loaded().keys())
        return super().list_commands(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if not isinstance(self.commands, _LazyCommands):
            super().format_commands(ctx, formatter)
            return
        # the table's summaries for commands not imported yet: the same rows click writes
        loaded = self.commands.loaded()
        commands = [(name, loaded.get(name) or click.Command(name, help=COMMANDS[name][1]))
                    for name in self.list_commands(ctx)]
        commands = [(name, command) for name, command in commands if not command.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit))
                                    for name, command in commands])

    def invoke(self, ctx: click.Context) -> object:
        # every command writes through the sanitising streams: API text never reaches the
        # terminal raw, whichever command prints it (render/safe.py)
        from reconciler.cli.options import unknown_gpus_allowed
        from reconciler.render.safe import install

        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = install(*saved)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away is seen here, not at interpreter exit
            _end_if_output_was_lost()  # apply/destroy ran to the end without their output
            return result
        except BrokenPipeError:  # `yottactl get | head`: the reader has what it wanted
            raise StdoutClosed() from None
        except click.UsageError as err:  # raised while parsing a subcommand's arguments
            raise _usage_exit(err) from None
        except click.exceptions.Exit:  # --help, an exit code: no error, nothing to import
            raise
        except Exception as err:
            _exit_if_ours(ctx, err)
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        finally:
            _warn_unknown_gpus(unknown_gpus_allowed(ctx))
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


def _exit_if_ours(ctx: click.Context, err: Exception) -> None:
    """A YottactlError ends the command with its message and exit code, never a traceback."""
    from reconciler.errors import YottactlError

    if isinstance(err, YottactlError):
        report_error(err, use_color("--no-color" in sys.argv, stream=sys.stderr))
        ctx.exit(err.exit_code)


def _end_if_output_was_lost() -> None:
    """A stream that failed (a full disk) is an error, exit 1; a reader that went away ends the
    command as `get | head` does (StdoutClosed)."""
    from reconciler.render.safe import SafeStream

    streams = [s for s in (sys.stdout, sys.stderr) if isinstance(s, SafeStream)]
    for stream in streams:
        if stream.failure:
            raise stream.failure
    if any(stream.reader_gone for stream in streams):
        raise StdoutClosed()


def _warn_unknown_gpus(allowed: list[str]) -> None:
    for name in allowed:
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
    # --debug takes effect when the subcommand starts (_Command.invoke), not for its --help


def _log_http_calls(debug: bool) -> None:
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


# Every command: the module under reconciler/cli/ that defines it, and the first paragraph of its
# help, which `yottactl --help` lists. A command's module is imported only when the command is
# looked up (to run, to complete, or for its own --help), so start-up pays for one module, not
# all of them (bench/startup_bench.py). tests/test_startup.py checks this table against the
# commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "agent": ("agent", "Reconcile continuously until stopped: plan every interval, report drift, "
                       "and (heal) apply what changed. SIGTERM/SIGINT finish the current step and "
                       "exit 0."),
    "apply": ("apply", "Plan, confirm, and make live deployments match the manifests."),
    "catalog": ("catalog", "The GPU types and regions `validate` accepts: `catalog refresh` adds "
                           "what GET /v2/vms/types lists to the user catalog."),
    "completion": ("state", "Print the shell completion script for SHELL (bash, zsh or fish)."),
    "delete-unmanaged": ("cleanup", "Stop and delete live deployments ID... that the state does "
                                    "not manage."),
    "demo": ("emulator", "Try yottactl with no account: plan -> apply -> plan on a local emulator."),
    "destroy": ("apply", "Delete every managed deployment (or those the given manifests name)."),
    "drift": ("drift", "Report drift and pending changes; never changes anything (no lock, no "
                       "state write)."),
    "emulator": ("emulator", "Run a local Yotta API emulator (v1's 10 operations and v2's, "
                             "lifecycle, logs, faults)."),
    "export": ("observe", "Write manifests for live deployments (all, or NAME...), secrets as "
                          "${env:...}."),
    "force-unlock": ("state", "Remove a state lock whose holder is gone but left it behind (use "
                              "with care)."),
    "get": ("observe", "List deployments, or show one in full (NAME or id)."),
    "import": ("state", "Record live deployment ID in the state under NAME (start managing it)."),
    "logs": ("observe", "Print worker logs of deployment NAME (paging is followed transparently)."),
    "output": ("observe", "Id, status, workers and domain/URL of managed deployments, from the "
                          "live API."),
    "plan": ("plan", "Show the API calls that would make live deployments match the manifests."),
    "render": ("render", "Print the manifests as `plan` would read them: after ${var:...} and the "
                         "environment's overlays. Secrets stay `${env:NAME}` (their values are "
                         "neither needed nor shown)."),
    "restart": ("restart", "Stop and start running managed deployments NAME... (new workers), "
                           "after confirmation."),
    "schema": ("plan", "Print the JSON Schema of the manifest format, or of yottactl.yaml (for "
                       "editors)."),
    "show": ("plan", "Render a saved plan (from `plan --out`) without calling the API."),
    "state": ("state", "Inspect and edit the state (the inventory of managed deployments)."),
    "validate": ("plan", "Validate manifests offline (no API key needed). Exit 0 valid, 1 invalid."),
    "wait": ("restart", "Wait until deployments NAME... reach a status (after `apply --no-wait`)."),
    "workers": ("observe", "List the workers of deployment NAME."),
}


class _LazyCommands(dict[str, click.Command]):
    """``main.commands``: a command's module is imported when the command is first looked up;
    listing them all (iteration, ``items()``) imports every module."""

    def _load(self, name: str) -> None:
        if name in COMMANDS and not super().__contains__(name):
            import importlib

            importlib.import_module(f"reconciler.cli.{COMMANDS[name][0]}")  # attaches itself

    def _load_all(self) -> None:
        for name in COMMANDS:
            self._load(name)

    def loaded(self) -> dict[str, click.Command]:
        """The commands imported so far (imports nothing)."""
        return dict(super().items())

    def get(self, name: str, default: click.Command | None = None) -> click.Command | None:  # type: ignore[override]
        self._load(name)
        return super().get(name, default)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._load_all()
        return super().__len__()

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self._load_all()
        return super().keys()

    def values(self) -> ValuesView[click.Command]:  # type: ignore[override]
        self._load_all()
        return super().values()

    def items(self) -> ItemsView[str, click.Command]:  # type: ignore[override]
        self._load_all()
        return super().items()


main.commands = _LazyCommands(main.commands)
