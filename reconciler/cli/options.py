"""The options commands share (`--endpoint`, `--api-key`, `--state`, `--project`, `--env`,
`--var`, `--lock-timeout`...) and the settings they resolve to, in one place: command modules
import these, never each other (the `cli-commands` contract in .importlinter).

--project/--env/--var/--var-file never appear in a command's signature; their values are kept
in the click context and read back by :func:`current_inputs`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:  # the project module imports pydantic: only when a command runs
    from reconciler.catalog import Catalog
    from reconciler.project import Inputs
    from reconciler.settings import Settings

_CATALOG = "yottactl.catalog"
_OPTS = "yottactl.project_opts"
_ORDER = "yottactl.var_order"
_INPUTS = "yottactl.inputs"
# project file `defaults` key -> the command parameter it sets when the flag is not given
_DEFAULTS = {"parallelism": "parallelism", "timeout": "timeout", "lockTimeout": "lock_timeout"}


V = TypeVar("V")


def remember(ctx: click.Context, param: click.Parameter, value: V) -> V:
    ctx.meta.setdefault(_OPTS, {})[param.name] = value
    return value


def record_var_order(ctx: click.Context, args: list[str]) -> None:
    """--var and --var-file in the order given: the later one wins (click keeps each option's
    values apart, so the interleaving is read from the raw arguments)."""
    order: list[tuple[str, str]] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            break
        for flag in ("--var", "--var-file"):
            if token == flag:
                value = next(tokens, None)
                if value is not None:
                    order.append((flag, value))
            elif token.startswith(flag + "="):
                order.append((flag, token[len(flag) + 1 :]))
    ctx.meta[_ORDER] = tuple(order)


def after_parse(ctx: click.Context) -> None:
    """Resolve the project file for this command and fill unset flags from its `defaults`."""
    opts = ctx.meta.get(_OPTS)
    if opts is None:
        return  # this command takes no project options
    from reconciler.project import Inputs, context_for

    catalog = command_catalog(ctx)
    context = context_for(opts.get("project_file"), opts.get("env_name") or None, catalog)
    ctx.meta[_INPUTS] = Inputs(context, ctx.meta.get(_ORDER, ()) if "vars" in opts else (),
                               catalog)
    for key, param in _DEFAULTS.items():
        value = getattr(context.defaults, key)
        if value is not None and param in ctx.params and \
                ctx.get_parameter_source(param) is ParameterSource.DEFAULT:
            ctx.params[param] = value


def api_version_flag() -> str | None:
    """--api-version as given on the command line (None: not given)."""
    ctx = click.get_current_context(silent=True)
    value = (ctx.meta.get(_OPTS) or {}).get("api_version") if ctx is not None else None
    return value if isinstance(value, str) else None


def inputs_for_validation() -> Inputs:
    """:func:`current_inputs` with the API version chosen as for the API commands (the flag,
    YOTTA_API_VERSION, the project file): `validate` checks the manifests against it."""
    from dataclasses import replace

    from reconciler.settings import chosen_api_version

    inputs = current_inputs()
    version = chosen_api_version(api_version_flag(), inputs.context.api_version)
    return replace(inputs, context=replace(inputs.context, api_version=version))


def current_inputs() -> Inputs:
    from reconciler.project import Inputs

    ctx = click.get_current_context(silent=True)
    inputs = ctx.meta.get(_INPUTS) if ctx is not None else None
    return inputs if isinstance(inputs, Inputs) else Inputs(catalog=command_catalog(ctx))


def command_catalog(ctx: click.Context | None = None) -> Catalog:
    """This command's catalog: made on first use from YOTTACTL_CATALOG, kept in the click
    context, gone with it."""
    from reconciler.catalog import Catalog, builtin_catalog
    from reconciler.settings import catalog_file

    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return builtin_catalog()
    catalog = ctx.meta.get(_CATALOG)
    if not isinstance(catalog, Catalog):
        catalog = ctx.meta[_CATALOG] = Catalog(catalog_file())
    return catalog


def unknown_gpus_allowed(ctx: click.Context) -> list[str]:
    """The GPU types missing from the catalog that --allow-unknown-gpu let through (none when
    the command made no catalog)."""
    catalog: Catalog | None = ctx.meta.get(_CATALOG)
    return catalog.unknown_gpus_allowed() if catalog is not None else []


def project_settings(inputs: Inputs, endpoint: str | None, api_key: str | None,
                     state_path: str | None, uses_api: bool = True) -> Settings:
    """Settings with the project file (reconciler.settings.for_project), its notes on stderr."""
    from reconciler.settings import for_project

    resolution = for_project(inputs, endpoint=endpoint, api_key=api_key, state_path=state_path,
                             uses_api=uses_api, api_version=api_version_flag())
    for note in resolution.notes:
        click.echo(f"Note: {note}", err=True)
    return resolution.settings


F = TypeVar("F", bound=Callable[..., object])  # a command function, decorated by click


def state_option(func: F) -> F:
    """--state (+ YOTTACTL_STATE) for every command that reads or writes the state."""
    func = project_options(func)
    return click.option("--state", "state_path", metavar="FILE|URL",
                        help="State file, or postgresql://USER@HOST/DB?state=NAME for a shared "
                             "PostgreSQL state [env YOTTACTL_STATE; default "
                             "state/yottactl.state.json]."
                        )(func)


_KEY_FILE = "yottactl.api_key_file"  # ctx.meta: the key read by --api-key-file
_KEY_WARNED = "yottactl.api_key_warned"  # root ctx.meta: warn once per invocation


def _api_key_flag(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--api-key -`` reads the key from standard input; a key given literally works but is
    visible to every local user in the process list: warn once."""
    if value is None:
        return None
    if value == "-":
        from reconciler.errors import UsageError

        key = sys.stdin.readline().strip()
        if not key:
            raise UsageError("--api-key -: standard input held no key",
                             hint="e.g. `pass show yotta | yottactl get --api-key -`")
        return key
    root = ctx.find_root()
    if not root.meta.get(_KEY_WARNED):
        root.meta[_KEY_WARNED] = True
        click.echo("Warning: --api-key KEY is visible to other local users in the process list; "
                   "prefer YOTTA_API_KEY, --api-key-file FILE or --api-key - (standard input)",
                   err=True)
    return value


def _api_key_file_flag(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from reconciler import localfile
    from reconciler.errors import UsageError

    try:
        key = localfile.read_text(value, localfile.SMALL_CAP).strip()
    except localfile.UnreadableFile as exc:
        # the reason only: never a byte of the file's content (it is the key)
        raise UsageError(f"--api-key-file {value}: {exc.reason}",
                         hint="give a readable file holding only the key") from None
    if not key:
        raise UsageError(f"--api-key-file {value}: the file is empty",
                         hint="give a readable file holding only the key")
    ctx.meta[_KEY_FILE] = key


def project_options(func: F) -> F:
    """--project / --env (+ YOTTACTL_ENV): which yottactl.yaml and which of its environments.
    Not passed to the command function: :func:`project_context` reads them from the context."""
    func = click.option("--env", "env_name", envvar="YOTTACTL_ENV", metavar="NAME",
                        expose_value=False, callback=remember,
                        help="Environment from yottactl.yaml [env YOTTACTL_ENV].")(func)
    return click.option("--project", "project_file", metavar="FILE", expose_value=False,
                        callback=remember, type=click.Path(dir_okay=False),
                        help="Project file [default: yottactl.yaml here or in a parent folder].")(func)


def var_options(func: F) -> F:
    """--var / --var-file for commands that read manifests (order on the command line matters)."""
    func = click.option("--var-file", "var_files", multiple=True, metavar="FILE",
                        expose_value=False, callback=remember,
                        help="YAML mapping of ${var:NAME} values (repeatable).")(func)
    return click.option("--var", "vars", multiple=True, metavar="NAME=VALUE", expose_value=False,
                        callback=remember,
                        help="Set ${var:NAME} (repeatable; later --var/--var-file win) "
                             "[env YOTTACTL_VAR_NAME].")(func)


def complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion: managed deployment names from the state (never the API: fast, and a
    completion must not need credentials). Any problem completes nothing."""
    try:
        root = ctx.find_root().params
        state_path = ctx.params.get("state_path") or root.get("state_path")
        from reconciler.app.state import read_state

        state = read_state(settings(None, None, state_path))
    except Exception:  # a broken state must not break the user's shell
        return []
    return sorted(n for n in (state.deployments if state else {}) if n.startswith(incomplete))


def api_version_option(func: F) -> F:
    """--api-version (+ YOTTA_API_VERSION, the project file's `api`): which Yotta API to speak.
    Not passed to the command function: the settings read it from the context."""
    return click.option("--api-version", "api_version", type=click.Choice(["v1", "v2"]),
                        expose_value=False, callback=remember,
                        help="Yotta API version [env YOTTA_API_VERSION; yottactl.yaml `api`; "
                             "default v1].")(func)


def api_options(func: F) -> F:
    """--endpoint / --api-key / --api-key-file / --api-version / --state (+ env fallbacks) for
    every command that needs them."""
    func = api_version_option(state_option(func))
    func = click.option("--api-key-file", metavar="FILE", expose_value=False,
                        callback=_api_key_file_flag,
                        help="Read the API key from FILE (keeps it out of the process list)."
                        )(func)
    func = click.option("--api-key", metavar="KEY", callback=_api_key_flag,
                        help="Yotta API key, or - to read it from standard input [env "
                             "YOTTA_API_KEY, the recommended way].")(func)
    func = click.option("--endpoint", metavar="URL",
                        help="API base URL [env YOTTA_API_URL, or YOTTA_BASE_URL as Yotta's CLI "
                             "names it; default https://api.yottalabs.ai]."
                        )(func)
    return func


def _allow_unknown_gpu_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        command_catalog(ctx).allow_unknown_gpu = True


def catalog_option(func: F) -> F:
    """--allow-unknown-gpu for every command that reads manifests."""
    return click.option("--allow-unknown-gpu", is_flag=True, expose_value=False,
                        callback=_allow_unknown_gpu_flag,
                        help="Accept GPU types missing from the catalog, with a warning (the API "
                             "decides; extend the catalog with YOTTACTL_CATALOG=FILE).")(func)




def color_option(func: F) -> F:
    # NO_COLOR is read by use_color(), not as the flag's envvar: any non-empty value disables
    # colour (https://no-color.org), while click would reject values that are not booleans.
    return click.option("--no-color", is_flag=True,
                        help="No ANSI colours (also when NO_COLOR is set to any non-empty value)."
                        )(func)


def settings(endpoint: str | None, api_key: str | None, state_path: str | None) -> Settings:
    """Flags + environment + the project file (+ defaults), resolved once per command
    (environment variables are read only in :mod:`reconciler.settings`)."""
    from reconciler.cli.options import current_inputs, project_settings

    ctx = click.get_current_context(silent=True)
    from_file = ctx.meta.get(_KEY_FILE) if ctx is not None else None
    if from_file and api_key:
        from reconciler.errors import UsageError

        raise UsageError("give the API key once: --api-key or --api-key-file, not both")
    # commands without --endpoint (the state commands) never talk to the API
    uses_api = ctx is None or any(p.name == "endpoint" for p in ctx.command.params)
    return project_settings(current_inputs(), endpoint, api_key or from_file, state_path, uses_api)


def lock_option(func: F) -> F:
    return click.option("--lock-timeout", default=0.0, show_default=True, type=float,
                        metavar="SECONDS",
                        help="Wait this long for another run's state lock before failing.")(func)


def auto_approve_option(func: F) -> F:
    return click.option("--auto-approve", is_flag=True, help="Skip the confirmation prompt.")(func)


def parallelism_option(what: str) -> Callable[[F], F]:
    """--parallelism: ``what`` is changed (deleted, restarted) at the same time."""
    return click.option("--parallelism", default=10, show_default=True,
                        type=click.IntRange(1, 100),
                        help=f"Deployments {what} at the same time (one that only waits "
                             "for its status, not stopped for the change, does not count).")


def timeout_option(help_text: str) -> Callable[[F], F]:
    return click.option("--timeout", default=900.0, show_default=True, type=float,
                        metavar="SECONDS", help=help_text)


def policy_override_option(func: F) -> F:
    return click.option(
        "--policy-override", "policy_override", multiple=True, metavar="RULE",
        help="Pass this mandatory policy rule of yottactl.yaml for this run only (repeatable); "
             "apply records it in the state, with who ran it.")(func)


def manifest_api_options(func: F) -> F:
    """The flags of every command that plans from manifests against the API (plan, apply,
    destroy, drift): --var/--var-file, the API and state flags, --no-color, --allow-unknown-gpu."""
    return var_options(api_options(color_option(catalog_option(func))))
