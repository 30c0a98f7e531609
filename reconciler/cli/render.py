"""`yottactl render`: the final manifests after variables and overlays, for review."""

from __future__ import annotations

import sys

import click

from reconciler.cli import main
from reconciler.cli.options import (
    project_options,
    var_options,
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--output", "-o", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="YAML documents (with source comments) or a JSON list.")
@var_options
@project_options
def render(paths: tuple[str, ...], output: str) -> None:
    """Print the manifests as `plan` would read them: after ${var:...} and the environment's
    overlays. Secrets stay `${env:NAME}` (their values are neither needed nor shown).

    Without PATH: the project file's manifests (yottactl.yaml), else the current folder.
    """
    from reconciler.app.plan import load_manifests
    from reconciler.cli.options import current_inputs

    loaded = load_manifests(paths, current_inputs(), require_env=False, keep_documents=True)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning}", err=True)
    from reconciler.render.manifests import write_documents

    write_documents(loaded.documents or [], loaded.overlays, output, sys.stdout)
