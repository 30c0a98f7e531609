"""Inventory management: `import`, `state list|show|rm|history|pull|migrate`, `force-unlock`."""

from __future__ import annotations

import click

from reconciler.cli import main
from reconciler.cli.options import (
    api_options,
    catalog_option,
    complete_names,
    lock_option,
    settings,
    state_option,
    var_options,
)
from reconciler.cli.run import warn


@main.command(name="import")
@click.argument("name")
@click.argument("deployment_id", metavar="ID")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--allow-unmanaged", is_flag=True,
              help="Import NAME although no manifest names it: plans then keep it ('not in "
                   "manifests: kept') instead of deleting it.")
@lock_option
@var_options
@api_options
@catalog_option
def import_(name: str, deployment_id: str, paths: tuple[str, ...], allow_unmanaged: bool,
            lock_timeout: float, endpoint: str | None, api_key: str | None,
            state_path: str | None) -> None:
    """Record live deployment ID in the state under NAME (start managing it).

    NAME must be the metadata.name of a manifest (in PATH..., default the project's manifests),
    as Terraform's import needs the resource in the configuration: a state entry no manifest
    names is deleted by the next apply. --allow-unmanaged records it as kept instead.
    """
    from reconciler.app.state import import_deployment

    live, kept = import_deployment(settings(endpoint, api_key, state_path), name, deployment_id,
                                   lock_timeout, warn, paths, allow_unmanaged)
    then = ("no manifest names it: plans keep it (never delete it) and report its drift" if
            kept else "run `yottactl plan` to compare it with its manifest")
    click.echo(f"Imported {name} (id {live.id}, {live.status}); {then}.")


@main.group()
def state() -> None:
    """Inspect and edit the state (the inventory of managed deployments)."""


@state.command(name="list")
@state_option
def state_list(state_path: str | None) -> None:
    """List managed deployments: name, id, last observed status."""
    from reconciler.app.state import listing

    current, missing = listing(settings(None, None, state_path))
    entries = sorted((current.deployments if current else {}).items())
    if not entries:
        click.echo(f"No deployments in the state: {missing}." if missing else
                   "No deployments in the state.", err=True)
        return
    click.echo("NAME\tID\tSTATUS")
    for name, entry in entries:
        click.echo(f"{name}\t{entry.id}\t{entry.status or '-'}")


@state.command(name="show")
@click.argument("name", shell_complete=complete_names)
@state_option
def state_show(name: str, state_path: str | None) -> None:
    """Show what the state records for NAME (secret values are fingerprints)."""
    import json

    from reconciler.app.state import entry_of

    entry = entry_of(settings(None, None, state_path), name)
    click.echo(json.dumps({"name": name, **entry.model_dump(mode="json")}, indent=2))


@state.command(name="rm")
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@lock_option
@state_option
def state_rm(names: tuple[str, ...], lock_timeout: float, state_path: str | None) -> None:
    """Stop managing NAME without deleting it (it becomes unmanaged)."""
    from reconciler.app.state import forget

    forget(settings(None, None, state_path), names, lock_timeout, warn)
    for name in names:
        click.echo(f"Removed {name} from the state; the live deployment was not touched.")


@state.command(name="mv")
@click.argument("old", shell_complete=complete_names)
@click.argument("new")
@lock_option
@state_option
def state_mv(old: str, new: str, lock_timeout: float, state_path: str | None) -> None:
    """Record managed deployment OLD under the name NEW (after renaming its manifest).

    The live deployment is not touched: the next plan renames it in place (an update),
    instead of deleting OLD and creating NEW.
    """
    from reconciler.app.state import rename

    entry = rename(settings(None, None, state_path), old, new, lock_timeout, warn)
    click.echo(f"Moved {old} to {new} (id {entry.id}); the next plan renames the live deployment "
               "in place.")


@main.command(name="force-unlock")
@click.argument("lock_id")
@click.option("--force", is_flag=True,
              help="Unlock although the holder ran on another host (yottactl cannot check "
                   "whether it is still running there).")
@state_option
def force_unlock(lock_id: str, force: bool, state_path: str | None) -> None:
    """Remove a state lock whose holder is gone but left it behind (use with care).

    Refuses while the holder is still running on this host. A holder on another host cannot
    be checked: that needs --force, once you know that run is gone.
    """
    from reconciler.app.state import force_unlock as unlock

    info = unlock(settings(None, None, state_path), lock_id, force)
    click.echo(f"Unlocked (was held by pid {info.pid} on {info.host}, `{info.command}`).")


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Commands, options and managed deployment names (from the state) complete with Tab:
    `eval "$(yottactl completion bash)"` in ~/.bashrc, `eval "$(yottactl completion zsh)"` in
    ~/.zshrc, `yottactl completion fish | source` in ~/.config/fish/config.fish.
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    click.echo(cls(main, {}, "yottactl", "_YOTTACTL_COMPLETE").source())


@state.command(name="history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="Show at most this many versions, newest first.")
@state_option
def state_history(limit: int, state_path: str | None) -> None:
    """List the stored versions of the state: serial, time, who, command, what changed.

    PostgreSQL keeps every version; a state file keeps two (the file and its .backup).
    Then the --policy-override records the state keeps: when, who, which rule, what it passed.
    """
    from reconciler.app.state import history

    versions, latest = history(settings(None, None, state_path), limit)
    if not versions:
        click.echo("No state yet.")
        return
    from reconciler.render.safe import clean

    click.echo("SERIAL\tWRITTEN\tBY\tCOMMAND\tCHANGES")
    for v in versions:  # stored text: anyone with write access to the state may have put it there
        fields = [str(v.serial), v.written_at, v.written_by, v.command, v.changes]
        click.echo("\t".join(clean(f or "-") for f in fields))
    if latest is not None and latest.policy_overrides:  # the latest state keeps them
        click.echo("\nPOLICY OVERRIDES (newest last)\nAT\tBY\tENVIRONMENT\tRULE\tPASSED")
        for o in latest.policy_overrides[-limit:]:
            fields = [o.at, o.by, o.environment or "-", o.rule, " | ".join(o.passed)]
            click.echo("\t".join(clean(f or "-") for f in fields))


@state.command(name="pull")
@click.option("--serial", type=click.IntRange(0), metavar="N",
              help="Print this version instead of the latest (see `state history`).")
@state_option
def state_pull(serial: int | None, state_path: str | None) -> None:
    """Print the state (or one version of it) as JSON; secret values are fingerprints."""
    from reconciler.app.state import version
    from reconciler.errors import StateError

    current = version(settings(None, None, state_path), serial)
    if current is None:
        raise StateError("no state yet" if serial is None else f"no version with serial {serial}",
                         hint="`yottactl state history` lists the stored versions")
    click.echo(current.model_dump_json(indent=1))


@state.command(name="migrate")
@click.option("--to", "target", required=True, metavar="FILE|URL",
              help="Where to copy the state: a file path or a postgresql:// URL.")
@click.option("--force", is_flag=True, help="Replace a state the target already holds.")
@lock_option
@state_option
def state_migrate(target: str, force: bool, lock_timeout: float, state_path: str | None) -> None:
    """Copy the current state, with its lineage and serial, to another backend.

    Both states are locked meanwhile. Refuses when the target already holds a state (unless
    --force) and when an interrupted run's journal has not been folded yet. Afterwards, point
    --state / YOTTACTL_STATE at the target.
    """
    from reconciler.app.state import migrate
    from reconciler.state.backend import redact_url

    done = migrate(settings(None, None, state_path), target, force, lock_timeout, warn)
    current = done.state
    click.echo(f"Migrated the state (lineage {current.lineage}, serial {current.serial}, "
               f"{len(current.deployments)} deployments) from {done.source} to "
               f"{done.destination}. Use --state {redact_url(target)} from now on.")
