"""`yottactl render`: the final manifests after variables and overlays, for review."""

from __future__ import annotations

import json
import sys

import click

from reconciler.cli import main, project_options, var_options


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
    from reconciler.cli.project_opts import current_inputs
    from reconciler.workflow import load_manifests

    loaded = load_manifests(paths, current_inputs(), require_env=False, keep_documents=True)
    for warning in loaded.warnings:
        click.echo(f"Warning: {warning}", err=True)
    documents = loaded.documents or []
    if output == "json":
        click.echo(json.dumps([doc for _, _, doc in documents], indent=2, ensure_ascii=False))
        return
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    for n, (file, index, doc) in enumerate(documents):
        name = doc.get("metadata", {}).get("name", "")
        source = f"{file}" + (f" (document {index + 1})" if index else "")
        patched = loaded.overlays.get(name)
        if n:
            sys.stdout.write("---\n")
        sys.stdout.write(f"# source: {source}\n")
        if patched:
            sys.stdout.write(f"# overlays: {', '.join(patched)}\n")
        yaml.dump(doc, sys.stdout)
    sys.stdout.flush()
