"""`validate`, `schema`, `plan`: read-only commands over manifests."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from reconciler.cli import main, use_color
from reconciler.cli.options import (
    api_version_option,
    catalog_option,
    color_option,
    command_catalog,
    complete_names,
    manifest_api_options,
    policy_override_option,
    project_options,
    settings,
    var_options,
)

if TYPE_CHECKING:
    from reconciler.plan.model import Plan
    from reconciler.policy.report import PolicyReport


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people; json: a list of {file, line, column, path, "
              "message, hint}.")
@click.option("--skip-env", is_flag=True,
              help="Do not require ${env:...} variables to be set (pre-commit, PR checks).")
@click.option("--all-envs", is_flag=True,
              help="Validate as yottactl.yaml's global settings and each of its environments read "
                   "the manifests (overlays, variables): pre-commit, PR checks. --env is ignored.")
@var_options
@project_options
@api_version_option
@catalog_option
def validate(paths: tuple[str, ...], output: str, skip_env: bool, all_envs: bool) -> None:
    """Validate manifests offline (no API key needed). Exit 0 valid, 1 invalid.

    Without PATH: the project file's manifests (yottactl.yaml), else manifests/ or deploy/.
    """
    from reconciler.app.plan import load_manifests
    from reconciler.app.policy import check_manifests
    from reconciler.cli.options import inputs_for_validation
    from reconciler.errors import ManifestError
    from reconciler.redact import Secrets

    if all_envs:
        _validate_every_environment(paths, output, skip_env)
        return
    try:
        inputs = inputs_for_validation()
        secrets = Secrets()  # the ${env:...} values: never in what the policies say
        result = load_manifests(paths, inputs, require_env=not skip_env, secrets=secrets)
        result.warnings += check_manifests(inputs, result.deployments, secrets)  # offline
    except ManifestError as err:
        if output == "json":
            from reconciler.render.manifests import issues_json

            click.echo(issues_json(err.issues))
            sys.exit(1)
        raise
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if output == "json":
        click.echo("[]")
    else:
        n = len(result.deployments)
        click.echo(f"{n} deployment{'s' if n != 1 else ''} valid")


def _validate_every_environment(paths: tuple[str, ...], output: str, skip_env: bool) -> None:
    """`validate --all-envs`: the project's global settings, then each environment; every
    failure is shown under its environment's name, and any failure exits 1."""
    import json
    from dataclasses import replace

    from reconciler.app.plan import load_manifests
    from reconciler.app.policy import check_manifests
    from reconciler.cli import report_error
    from reconciler.cli.options import api_version_flag, current_inputs
    from reconciler.errors import ManifestError
    from reconciler.project import Inputs, resolve
    from reconciler.redact import Secrets
    from reconciler.render.manifests import issues_json
    from reconciler.settings import chosen_api_version

    inputs = current_inputs()
    project = inputs.context.project
    names = [None, *(project.config.environments if project else ())]
    issues: list[dict[str, object]] = []
    failed = False
    for name in names:
        label = f"environment {name}" if name else "no environment"
        context = resolve(project, name)
        version = chosen_api_version(api_version_flag(), context.api_version)
        each = Inputs(replace(context, api_version=version), inputs.cli_vars)
        try:
            secrets = Secrets()  # the ${env:...} values: never in what the policies say
            result = load_manifests(paths, each, require_env=not skip_env, secrets=secrets)
            result.warnings += check_manifests(each, result.deployments, secrets)  # offline
        except ManifestError as err:
            failed = True
            if output == "json":
                issues += [{"environment": name, **issue}
                           for issue in json.loads(issues_json(err.issues))]
            else:
                click.echo(f"{label}:", err=True)
                report_error(err, use_color(stream=sys.stderr))
            continue
        for warning in result.warnings:
            click.echo(f"Warning: {label}: {warning}", err=True)
        if output != "json":
            n = len(result.deployments)
            click.echo(f"{n} deployment{'s' if n != 1 else ''} valid ({label})")
    if output == "json":
        click.echo(json.dumps(issues, indent=2))
    if failed:
        sys.exit(1)


@main.command()
@click.option("--project", "project_schema", is_flag=True,
              help="The project file's (yottactl.yaml) schema instead of the manifests'.")
def schema(project_schema: bool) -> None:
    """Print the JSON Schema of the manifest format, or of yottactl.yaml (for editors)."""
    import json

    if project_schema:
        from reconciler.project_schema import json_schema as project_json_schema

        click.echo(json.dumps(project_json_schema(), indent=2))
        return
    from reconciler.manifest.editor_schema import json_schema

    click.echo(json.dumps(json_schema(command_catalog()), indent=2))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_file", type=click.Path(dir_okay=False),
              help="Save the plan for `yottactl apply --plan FILE`.")
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text for people, json (the plan file format) or markdown "
              "(a PR comment).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes (0 none, 1 error).")
@click.option("--target", "targets", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Only plan these deployments (repeatable).")
@click.option("--allow-mass-delete", is_flag=True,
              help="Allow plans that delete or re-create most managed deployments.")
@click.option("--max-chars", type=click.IntRange(min=2000), metavar="N",
              help="Markdown only: truncate whole lines (with a note) to fit N characters; "
                   "GitHub comments hold at most 65536.")
@click.option("--replace", "replace", multiple=True, shell_complete=complete_names, metavar="NAME",
              help="Plan NAME's replacement (new id and domain) even if unchanged (repeatable).")
@policy_override_option
@click.option("--require-capacity", is_flag=True,
              help="v2 API: a change needing new workers (create, replacement, start, scale-up) "
                   "whose GPU type and region show no capacity (GET /v2/vms/types) is an error "
                   "(exit 1), not a warning.")
@manifest_api_options
def plan(paths: tuple[str, ...], out_file: str | None, output: str, detailed_exitcode: bool,
         targets: tuple[str, ...], allow_mass_delete: bool, max_chars: int | None,
         replace: tuple[str, ...], policy_override: tuple[str, ...],
         require_capacity: bool,
         endpoint: str | None,
         api_key: str | None, state_path: str | None, no_color: bool) -> None:
    """Show the API calls that would make live deployments match the manifests.

    Reads manifests, the state and ONE list call; changes nothing anywhere. With policies in
    yottactl.yaml, checks every rule: a mandatory violation exits 1 after the whole plan.
    """
    from reconciler.app.plan import build_plan
    from reconciler.app.policy import check_overrides, overriding, refuse_if_blocked

    s = settings(endpoint, api_key, state_path)
    overrides = check_overrides(s, policy_override)
    run = build_plan(s, paths, targets=targets, allow_mass_delete=allow_mass_delete,
                     replace=replace, capacity="require" if require_capacity else "warn")
    report = overriding(run.policy, overrides)
    render_plan(run.plan, output, use_color(no_color), max_chars=max_chars, policy=report)
    if run.plan.errors:
        sys.exit(1)
    refuse_if_blocked(report, "the plan cannot be applied")
    if out_file:
        from reconciler.app.plan import save_plan

        save_plan(run.plan, out_file, report)
        if output == "text":
            click.echo(f"\nSaved the plan to {out_file}; run `yottactl apply --plan {out_file}`.")
    sys.exit(2 if detailed_exitcode and run.plan.has_changes else 0)


@main.command()
@click.argument("plan_file", metavar="PLANFILE", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="Render as text, the plan file's JSON, or Markdown.")
@color_option
def show(plan_file: str, output: str, no_color: bool) -> None:
    """Render a saved plan (from `plan --out`) without calling the API."""
    from reconciler.app.apply import read_plan_file

    render_plan(read_plan_file(plan_file), output, use_color(no_color))


def render_plan(the_plan: Plan, output: str, color: bool, max_chars: int | None = None,
                policy: PolicyReport | None = None) -> None:
    """The plan on standard output (see :func:`reconciler.render.plan_output.write_plan`)."""
    from reconciler.render.plan_output import write_plan

    write_plan(the_plan, output, sys.stdout, color, max_chars, policy)

