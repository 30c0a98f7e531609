"""Plumbing for --project/--env/--var/--var-file: they never appear in a command's signature;
their values are kept in the click context and read back by :func:`current_inputs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:  # the project module imports pydantic: only when a command runs
    from reconciler.project import Context, Inputs
    from reconciler.settings import Settings

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

    context = context_for(opts.get("project_file"), opts.get("env_name") or None)
    ctx.meta[_INPUTS] = Inputs(context, ctx.meta.get(_ORDER, ()) if "vars" in opts else ())
    for key, param in _DEFAULTS.items():
        value = getattr(context.defaults, key)
        if value is not None and param in ctx.params and \
                ctx.get_parameter_source(param) is ParameterSource.DEFAULT:
            ctx.params[param] = value


def current_inputs() -> Inputs:
    from reconciler.project import Inputs

    ctx = click.get_current_context(silent=True)
    inputs = ctx.meta.get(_INPUTS) if ctx is not None else None
    return inputs if isinstance(inputs, Inputs) else Inputs()


def project_settings(inputs: Inputs, endpoint: str | None, api_key: str | None,
                     state_path: str | None) -> Settings:
    """Settings with the project file as the lowest layer, except that a selected environment's
    own endpoint and state beat an exported YOTTA_API_URL / YOTTACTL_STATE: a variable left
    over in the shell must never send prod's plan to staging's API or state. Flags beat all."""
    from dataclasses import replace

    from reconciler.settings import resolve

    context = inputs.context
    fallback = {k: v for k, v in (("endpoint", context.endpoint), ("state_path", context.state)) if v}
    settings = replace(resolve(endpoint=endpoint, api_key=api_key, state_path=state_path,
                               fallback=fallback), inputs=inputs)
    if context.project is None or context.environment is None:
        return settings
    env = context.project.config.environments[context.environment]
    chosen = settings.endpoint
    if endpoint is None and env.endpoint and chosen != context.endpoint:
        _note_ignored("YOTTA_API_URL", context.endpoint, context.environment)
        chosen = context.endpoint
    state = _environment_state(context, env.state is not None, state_path, settings.state_path)
    return replace(settings, endpoint=chosen, state_path=state)


def _environment_state(context: Context, own: bool, flag: str | None,
                       resolved: str | None) -> str | None:
    from reconciler.errors import UsageError
    from reconciler.project import is_database_url, with_state_name

    name = context.environment or ""
    if flag is not None:
        return with_state_name(flag, name)
    if resolved == context.state or resolved is None:
        return context.state
    if own:  # YOTTACTL_STATE is set, but the environment names its own state
        _note_ignored("YOTTACTL_STATE", context.state, name)
        return context.state
    if is_database_url(resolved):  # one database for every environment: ?state=NAME
        return with_state_name(resolved, name)
    raise UsageError(f"YOTTACTL_STATE names one state file, but environment {name!r} needs its own",
                     hint=f"set environments.{name}.state in yottactl.yaml, pass --state, or unset "
                          "YOTTACTL_STATE (the default is state/NAME.state.json beside yottactl.yaml)")


def _note_ignored(var: str, used: str | None, environment: str | None) -> None:
    click.echo(f"Note: {var} is ignored: environment {environment!r} sets {used}", err=True)
