"""The state as an inventory: `import`, `state rm|mv|migrate`. Each edit runs under the state
lock; ``warn`` receives the lock's waiting notice and other warnings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.app.session import Session
from reconciler.errors import StateError, UsageError
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.api.models import Deployment
    from reconciler.state.model import State, StateEntry
    from reconciler.state.protocol import LockInfo, Version

Warn = Callable[[str], None]


def import_deployment(settings: Settings, name: str, deployment_id: str, lock_timeout: float,
                      warn: Warn, paths: Sequence[str] = (),
                      allow_unmanaged: bool = False) -> tuple[Deployment, bool]:
    """Record live deployment ``deployment_id`` as ``name``; returns what the API reported,
    and whether it is kept without a manifest.
    ``name`` must be a manifest's (at ``paths``, default the project's), as Terraform's import
    needs a resource block: otherwise the next plan deletes what was just imported. With
    ``allow_unmanaged`` a name in no manifest is recorded as kept (never deleted by apply)."""
    from reconciler.manifest.schema import NAME_RE
    from reconciler.plan.normalize import essence_from_live, mask
    from reconciler.state.backend import command_line, now_iso
    from reconciler.state.model import State, StateEntry

    with Session(settings) as session:
        if not deployment_id.isdigit():
            raise UsageError(f"{deployment_id!r} is not a deployment id",
                             hint="ids are 18-digit numbers; `yottactl get` lists them")
        if not NAME_RE.fullmatch(name):
            raise UsageError(f"{name!r} is not a valid deployment name",
                             hint="1-50 characters: letters, digits, @ . _ -, starting with a letter")
        keep = _without_manifest(settings, name, paths, allow_unmanaged)
        store = session.store
        with store.locked(command_line(), lock_timeout, warn=warn):
            state = store.read() or State.empty()
            live = session.client.detail(deployment_id)
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
            fp = session.fingerprinter
            spec = mask(essence, sensitive, fp)
            stamp = now_iso()
            entry = StateEntry(id=live.id, spec=spec, sensitive=sensitive, fingerprint=fp.obj(spec),
                               status=live.status,
                               desired_state="stopped" if live.status in ("STOPPED", "STOPPING")
                               else "running", created_at=stamp, updated_at=stamp,
                               keep_without_manifest=keep)
            store.write(state.with_entry(name, entry).model_copy(update={"key_verifier": fp.verifier()}))
        return live, keep


def _without_manifest(settings: Settings, name: str, paths: Sequence[str],
                      allow_unmanaged: bool) -> bool:
    """True when ``name`` is in no manifest and that is allowed; refused when not allowed."""
    from reconciler.app.plan import load_manifests
    from reconciler.errors import ManifestError

    try:  # names only: ${env:...} values are not needed
        loaded = load_manifests(paths, settings.inputs, require_env=False).deployments
    except (ManifestError, UsageError):
        if allow_unmanaged:  # no readable manifests at all: kept without one, as asked
            return True
        raise
    if name in {d.manifest.metadata.name for d in loaded}:
        return False
    if allow_unmanaged:
        return True
    where = ", ".join(paths) if paths else "the project's manifests"
    raise UsageError(
        f"no manifest in {where} is named {name!r}: importing it would make the next plan "
        "delete it (the state's deployments that no manifest names are deleted)",
        hint=f"write its manifest first (`yottactl export {name}` writes one from the live "
             "deployment) and import again, or pass --allow-unmanaged to manage it without a "
             "manifest (plans keep it, never delete it)")


def read_state(settings: Settings) -> State | None:
    with Session(settings) as session:
        return session.store.read()


def listing(settings: Settings) -> tuple[State | None, str]:
    """`state list`: the state, or (when it does not exist) a sentence saying so and naming
    the states that do: a mistyped state is not an empty one."""
    from reconciler.new_state import missing

    with Session(settings) as session:
        current = session.store.read()
        if current is not None:
            return current, ""
        location, did_you_mean = missing(settings, session.store)
    return None, f"the state {location} does not exist" + (
        f"; {did_you_mean}" if did_you_mean else "")


def entry_of(settings: Settings, name: str) -> StateEntry:
    current = read_state(settings)
    entry = current.deployments.get(name) if current else None
    if entry is None:
        raise StateError(f"{name!r} is not in the state", hint="`yottactl state list` shows names")
    return entry


def forget(settings: Settings, names: Sequence[str], lock_timeout: float, warn: Warn) -> None:
    """`state rm`: stop managing ``names`` (the live deployments are not touched)."""
    from reconciler.state.backend import command_line

    with Session(settings) as session:
        store = session.store
        with store.locked(command_line(), lock_timeout, warn=warn):
            current = store.read()
            missing = [n for n in names if not current or n not in current.deployments]
            if missing or current is None:
                raise StateError(f"not in the state: {', '.join(missing)}")
            for name in names:
                current = current.without(name)
            store.write(current)


def rename(settings: Settings, old: str, new: str, lock_timeout: float,
           warn: Warn) -> StateEntry:
    """`state mv`: record ``old`` under ``new``; the next plan renames it in place."""
    from reconciler.manifest.schema import NAME_RE
    from reconciler.state.backend import command_line

    with Session(settings) as session:
        if not NAME_RE.fullmatch(new):
            raise UsageError(f"{new!r} is not a valid deployment name",
                             hint="1-50 characters: letters, digits, @ . _ -, starting with a letter")
        store = session.store
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
            # moves chained before an apply: the live deployment still carries the first name
            live_name = entry.renamed_from or old
            store.write(current.without(old).with_entry(new, entry.model_copy(
                update={"renamed_from": None if new == live_name else live_name})))
        return entry


@dataclass(frozen=True)
class Migrated:
    state: State
    source: str
    destination: str  # its location, credentials redacted


def migrate(settings: Settings, target: str, force: bool, lock_timeout: float,
            warn: Warn) -> Migrated:
    """`state migrate`: copy the state (lineage and serial kept) to another backend, both
    locked meanwhile."""
    from reconciler.state.backend import command_line, open_backend, redact_url

    with Session(settings) as session, contextlib.closing(open_backend(target)) as destination:
        source = session.store
        if destination.location == source.location:
            raise UsageError("--to names the state being migrated", hint="give another file or URL")
        with source.locked(command_line(), lock_timeout, warn=warn), \
                destination.locked(command_line(), lock_timeout, warn=warn):
            if source.journal_records():
                raise StateError(f"{source.location} has the journal of an interrupted run",
                                 hint="run `yottactl apply` first: it folds the journal into "
                                      "the state")
            current = source.read()
            if current is None:
                raise StateError(f"{source.location} holds no state to migrate")
            destination.put(current, force=force)
        return Migrated(current, source.location, redact_url(destination.location))


def force_unlock(settings: Settings, lock_id: str, force: bool) -> LockInfo:
    """`force-unlock`: remove a lock its holder left behind."""
    with Session(settings) as session:
        return session.store.force_unlock(lock_id, force=force)


def history(settings: Settings, limit: int) -> tuple[list[Version], State | None]:
    """`state history`: the stored versions, newest first, and the latest state (it keeps the
    --policy-override records; a state file keeps only two versions)."""
    with Session(settings) as session:
        versions = session.store.history(limit)
        return versions, session.store.read() if versions else None


def version(settings: Settings, serial: int | None) -> State | None:
    """`state pull`: the state, or its version ``serial``."""
    with Session(settings) as session:
        return session.store.read() if serial is None else session.store.version(serial)
