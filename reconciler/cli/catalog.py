"""`catalog refresh`: the user catalog from the endpoint's GPU types and regions."""

from __future__ import annotations

import click

from reconciler.cli import main
from reconciler.cli.options import api_options, settings


@main.group()
def catalog() -> None:
    """The GPU types and regions `validate` accepts: `catalog refresh` adds what GET
    /v2/vms/types lists to the user catalog."""


@catalog.command("refresh")
@click.option("--file", "path", metavar="FILE", type=click.Path(dir_okay=False),
              help="The user catalog to write [default: YOTTACTL_CATALOG].")
@api_options
def catalog_refresh(path: str | None, endpoint: str | None, api_key: str | None,
                    state_path: str | None) -> None:
    """Add the GPU types and regions GET /v2/vms/types lists to the user catalog (kept entries
    and prices stay; new types have no price until you add one)."""
    from reconciler.app.catalog import refresh_catalog

    done = refresh_catalog(settings(endpoint, api_key, state_path), path)
    click.echo(f"{done.path}: the endpoint lists {done.listed_types} GPU types in "
               f"{done.listed_regions} regions")
    for what, names in (("GPU types", done.added_types), ("regions", done.added_regions)):
        click.echo(f"  added {what}: {', '.join(names)}" if names else f"  no new {what}")
    if done.skipped:
        click.echo(f"Warning: skipped {done.skipped} GPU type(s) whose name or region is not a "
                   "plain name (letters, digits, _ . -)", err=True)
