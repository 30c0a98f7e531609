"""Inventory management: `import`, `state list|show|rm|history|pull|migrate`, `force-unlock`."""

from __future__ import annotations

import json

import click

from reconciler.cli import api_options, complete_names, main, settings, state_option
from reconciler.cli.apply_cmds import lock_option, warn
from reconciler.errors import StateError, UsageError


@main.command(name="import")
@click.argument("name")
@click.argument("deployment_id", metavar="ID")
@lock_option
@api_options
def import_(name: str, deployment_id: str, lock_timeout: float, endpoint: str | None,
            api_key: str | None, state_path: str | None) -> None:
    """Record live deployment ID in the state under NAME (start managing it)."""
    from reconciler.plan.normalize import essence_from_live, mask
    from reconciler.state.backend import command_line, now_iso
    from reconciler.state.model import State, StateEntry

    if not deployment_id.isdigit():
        raise UsageError(f"{deployment_id!r} is not a deployment id",
                         hint="ids are 18-digit numbers; `yottactl get` lists them")
    s = settings(endpoint, api_key, state_path)
    store = s.state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        state = store.read() or State.empty()
        live = s.client().detail(deployment_id)
        if live.name != name:
            warn(f"the live deployment is named {live.name!r}, not {name!r}; it is recorded "
                 f"as {name!r} (a manifest named {name!r} will manage it)")
        owner = next((n for n, e in state.deployments.items() if e.id == deployment_id), None)
        if owner and owner != name:
            raise StateError(f"deployment {deployment_id} is already managed as {owner!r}",
                             hint=f"run `yottactl state rm {owner}` first")
        essence = essence_from_live(live)
        # every env value may be a secret: the state only ever holds their fingerprints
        sensitive = tuple(sorted(f"environmentVars.{k}" for k in essence.environmentVars))
        fp = s.fingerprinter()
        spec = mask(essence, sensitive, fp)
        stamp = now_iso()
        entry = StateEntry(id=live.id, spec=spec, sensitive=sensitive, fingerprint=fp.obj(spec),
                           status=live.status,
                           desired_state="stopped" if live.status in ("STOPPED", "STOPPING")
                           else "running", created_at=stamp, updated_at=stamp)
        store.write(state.with_entry(name, entry).model_copy(update={"key_verifier": fp.verifier()}))
    click.echo(f"Imported {name} (id {live.id}, {live.status}); run `yottactl plan` to compare it "
               "with its manifest.")


@main.group()
def state() -> None:
    """Inspect and edit the state (the inventory of managed deployments)."""


@state.command(name="list")
@state_option
def state_list(state_path: str | None) -> None:
    """List managed deployments: name, id, last observed status."""
    current = settings(None, None, state_path).state_file().read()
    entries = sorted((current.deployments if current else {}).items())
    if not entries:
        click.echo("No deployments in the state.", err=True)
        return
    click.echo("NAME\tID\tSTATUS")
    for name, entry in entries:
        click.echo(f"{name}\t{entry.id}\t{entry.status or '-'}")


@state.command(name="show")
@click.argument("name", shell_complete=complete_names)
@state_option
def state_show(name: str, state_path: str | None) -> None:
    """Show what the state records for NAME (secret values are fingerprints)."""
    current = settings(None, None, state_path).state_file().read()
    entry = current.deployments.get(name) if current else None
    if entry is None:
        raise StateError(f"{name!r} is not in the state", hint="`yottactl state list` shows names")
    click.echo(json.dumps({"name": name, **entry.model_dump(mode="json")}, indent=2))


@state.command(name="rm")
@click.argument("names", nargs=-1, required=True, shell_complete=complete_names)
@lock_option
@state_option
def state_rm(names: tuple[str, ...], lock_timeout: float, state_path: str | None) -> None:
    """Stop managing NAME without deleting it (it becomes unmanaged)."""
    from reconciler.state.backend import command_line

    store = settings(None, None, state_path).state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        current = store.read()
        missing = [n for n in names if not current or n not in current.deployments]
        if missing or current is None:
            raise StateError(f"not in the state: {', '.join(missing)}")
        for name in names:
            current = current.without(name)
        store.write(current)
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
    from reconciler.manifest.schema import NAME_RE
    from reconciler.state.backend import command_line

    if not NAME_RE.match(new):
        raise UsageError(f"{new!r} is not a valid deployment name",
                         hint="1-50 characters: letters, digits, @ . _ -, starting with a letter")
    store = settings(None, None, state_path).state_file()
    with store.locked(command_line(), lock_timeout, warn=warn):
        if store.journal_records():
            raise StateError("an interrupted apply left a journal that names deployments",
                             hint="run `yottactl apply` first (it folds the journal into the "
                                  "state), then move")
        current = store.read()
        entry = current.deployments.get(old) if current else None
        if current is None or entry is None:
            raise StateError(f"{old!r} is not in the state", hint="`yottactl state list` shows names")
        if new in current.deployments:
            raise StateError(f"{new!r} is already in the state (id {current.deployments[new].id})",
                             hint=f"remove it first with `yottactl state rm {new}` if it is stale")
        moved = entry.model_copy(update={"renamed_from": old})
        store.write(current.without(old).with_entry(new, moved))
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
    info = settings(None, None, state_path).state_file().force_unlock(lock_id, force=force)
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
    """
    versions = settings(None, None, state_path).state_file().history(limit)
    if not versions:
        click.echo("No state yet.")
        return
    from reconciler.render.safe import clean

    click.echo("SERIAL\tWRITTEN\tBY\tCOMMAND\tCHANGES")
    for v in versions:  # stored text: anyone with write access to the state may have put it there
        fields = [str(v.serial), v.written_at, v.written_by, v.command, v.changes]
        click.echo("\t".join(clean(f or "-") for f in fields))


@state.command(name="pull")
@click.option("--serial", type=click.IntRange(0), metavar="N",
              help="Print this version instead of the latest (see `state history`).")
@state_option
def state_pull(serial: int | None, state_path: str | None) -> None:
    """Print the state (or one version of it) as JSON; secret values are fingerprints."""
    store = settings(None, None, state_path).state_file()
    current = store.read() if serial is None else store.version(serial)
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
    from reconciler.state.backend import command_line, open_backend, redact_url

    source = settings(None, None, state_path).state_file()
    destination = open_backend(target)
    if destination.location == source.location:
        raise UsageError("--to names the state being migrated", hint="give another file or URL")
    with source.locked(command_line(), lock_timeout, warn=warn), \
            destination.locked(command_line(), lock_timeout, warn=warn):
        if source.journal_records():
            raise StateError(f"{source.location} has the journal of an interrupted run",
                             hint="run `yottactl apply` first: it folds the journal into the state")
        current = source.read()
        if current is None:
            raise StateError(f"{source.location} holds no state to migrate")
        destination.put(current, force=force)
    click.echo(f"Migrated the state (lineage {current.lineage}, serial {current.serial}, "
               f"{len(current.deployments)} deployments) from {source.location} to "
               f"{redact_url(destination.location)}. Use --state {redact_url(target)} from now on.")
