"""Plumbing for --project/--env/--var/--var-file: they never appear in a command's signature;
their values are kept in the click context and read back by :func:`current_inputs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:  # the project module imports pydantic: only when a command runs
    from reconciler.project import Inputs
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
    return inputs if isinstance(inputs, Inputs) else Inputs()


def project_settings(inputs: Inputs, endpoint: str | None, api_key: str | None,
                     state_path: str | None, uses_api: bool = True) -> Settings:
    """Settings with the project file (reconciler.settings.for_project), its notes on stderr."""
    from reconciler.settings import for_project

    resolution = for_project(inputs, endpoint=endpoint, api_key=api_key, state_path=state_path,
                             uses_api=uses_api, api_version=api_version_flag())
    for note in resolution.notes:
        click.echo(f"Note: {note}", err=True)
    return resolution.settings
