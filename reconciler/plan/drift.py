"""Drift: what changed outside yottactl since the last apply (live vs the state's record).

Pure. Only configured fields count; observed ones (running workers, cost, domain) never do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from reconciler.api.facts import FAILED, INITIALIZING, RUNNING, STOPPED, STOPPING
from reconciler.plan.diff import diff
from reconciler.plan.live import LiveDeployment
from reconciler.plan.model import DriftItem, DriftKind, FieldChange
from reconciler.plan.normalize import (
    Essence,
    Fingerprinter,
    hide_undeclared,
    mask,
)
from reconciler.plan.rollout import slot_names
from reconciler.state.model import State

_UP = (RUNNING, INITIALIZING)
_DOWN = (STOPPED, STOPPING)


def find_drift(state: State, live_by_id: Mapping[str, LiveDeployment], fp: Fingerprinter,
               wanted: Callable[[str], bool] = lambda _: True,
               readopted: Mapping[str, str] | None = None,
               ignored: Mapping[str, tuple[str, ...]] | None = None,
               rekeyed: Mapping[str, str] | None = None,
               ) -> tuple[DriftItem, ...]:
    """Drift of every managed deployment; ``readopted`` maps a name whose recorded id is gone
    to the live deployment carrying that name, which the plan adopts instead. ``ignored``
    overrides the state's lifecycle.ignoreChanges per name (the manifest's, when given).
    ``rekeyed`` maps a state name to the manifest name its live deployment already carries (the
    plan moves the entry): that name is no drift."""
    key_ok = not state.key_verifier or state.key_verifier == fp.verifier()
    items: list[DriftItem] = []
    for name in sorted(state.deployments):
        if not wanted(name):
            continue
        entry = state.deployments[name]
        live = live_by_id.get(entry.id)
        if live is None:
            successor = (readopted or {}).get(name)
            detail = "deleted outside yottactl" + (
                f"; live deployment {successor} carries the name and is re-adopted"
                if successor else "")
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.DELETED, detail=detail))
            continue
        current = hide_undeclared(mask(live.essence, entry.sensitive, fp),
                                  list(entry.spec.environmentVars), fp)
        if not key_ok:  # secrets cannot be compared with another key: take them as unchanged
            current = with_recorded_secrets(entry.spec, current, entry.sensitive)
        changes = diff(entry.spec, current, entry.sensitive)  # () for most of a fleet
        if changes:
            skip = (ignored or {}).get(name, entry.ignore_changes)
            changes = tuple(c for c in changes if not _is_ignored(c.path, skip))
        # either slot name of a blue-green deployment is its name (plan/rollout.py)
        if live.name != name and live.name not in (*slot_names(name), entry.renamed_from,
                                                   (rekeyed or {}).get(name)):
            changes = (FieldChange(path="name", before=name, after=live.name), *changes)
        scaled = tuple(c for c in changes if c.path == "workers") if changes else ()
        config = tuple(c for c in changes if c.path != "workers") if changes else ()
        if config:
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.CONFIG, changes=config,
                                   detail="configured fields changed outside yottactl"))
        if scaled:
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.SCALED, changes=scaled,
                                   detail=f"workers {scaled[0].before} → {scaled[0].after} "
                                          "outside yottactl"))
        if live.status == FAILED:
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.FAILED,
                                   detail="live status is FAILED"))
        elif entry.status in _UP and live.status in _DOWN:
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.STOPPED,
                                   detail=f"stopped outside yottactl (now {live.status})"))
        elif entry.status in _DOWN and live.status in _UP:
            items.append(DriftItem(name=name, id=entry.id, kind=DriftKind.STARTED,
                                   detail=f"started outside yottactl (now {live.status})"))
    return tuple(items)


def _is_ignored(path: str, ignore: tuple[str, ...]) -> bool:
    return any(path == i or path.startswith((i + ".", i + "[")) for i in ignore)


def with_recorded_secrets(recorded: Essence, current: Essence, paths: Iterable[str]) -> Essence:
    """``current`` with the sensitive values the state recorded (taken as unchanged)."""
    source, target = recorded.plain(), current.plain()
    for path in paths:
        head, _, key = path.partition(".")
        if key:
            src, dst = source.get(head), target.get(head)
            if isinstance(src, dict) and isinstance(dst, dict) and key in src:
                dst = target[head] = dict(dst)
                dst[key] = src[key]
        elif head in source:
            target[head] = source[head]
    return Essence.model_validate(target)
