"""The refresh-only plan (`apply --refresh-only`, Terraform's ``-refresh-only``): record what is
live for each managed deployment in the state, with no API call, so that an accepted
out-of-band change stops being reported as drift.

Pure, like the planner: ``(live, state) -> Plan`` whose changes are all ``record`` actions.
Given the manifests (``apply --refresh-only PATH...``), only the deployments they declare are
refreshed, and the fields their ``lifecycle.ignoreChanges`` lists keep the recorded values:
drift never reports those, so there is nothing to accept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.api.models import Deployment
from reconciler.essence import Essence
from reconciler.plan import steps as S
from reconciler.plan.diff import diff
from reconciler.plan.drift import with_recorded_secrets
from reconciler.plan.model import (
    SENSITIVE_PREFIX,
    Action,
    Change,
    FieldChange,
    Plan,
    Unmanaged,
    warning,
)
from reconciler.plan.model import DiagnosticCode as D
from reconciler.plan.normalize import (
    Fingerprinter,
    apply_ignored,
    essence_from_live,
    hide_undeclared,
    mask,
    status_fingerprint,
)
from reconciler.plan.reasons import Reason, sentence
from reconciler.state.model import State, StateEntry


def _hidden(entry: StateEntry, masked: Essence, fp: Fingerprinter,
            ) -> tuple[Essence, tuple[str, ...]]:
    """``masked`` with every variable no manifest declared (one added in the console, say)
    hidden as plan and drift hide it, and the sensitive paths grown by those variables: the
    state then records only their fingerprint, and later runs keep treating them as secrets."""
    declared = [k for k, v in entry.spec.environmentVars.items()
                if not v.startswith(SENSITIVE_PREFIX)]  # a recorded fingerprint declares nothing
    hidden = hide_undeclared(masked, declared, fp)
    extra = tuple(f"environmentVars.{k}" for k, v in sorted(hidden.environmentVars.items())
                  if k not in declared and v.startswith(SENSITIVE_PREFIX)
                  and f"environmentVars.{k}" not in entry.sensitive)
    return hidden, (*entry.sensitive, *extra)


def _refresh_one(name: str, entry: StateEntry, live: Deployment | None, fp: Fingerprinter,
                 key_ok: bool, ignored: tuple[str, ...]) -> Change | None:
    if live is None:  # what Terraform does: the state forgets what is gone
        return Change(name=name, id=entry.id, action=Action.RECORD, steps=S.forget(),
                      reason=sentence(Reason.REFRESH_GONE), reason_code=Reason.REFRESH_GONE,
                      price_before=0.0, price_after=0.0)
    current, sensitive = _hidden(entry, mask(essence_from_live(live), entry.sensitive, fp), fp)
    if not key_ok:  # secrets cannot be read back with another key: keep the recorded ones
        current = with_recorded_secrets(entry.spec, current, sensitive)
    current = apply_ignored(current, entry.spec, ignored)
    changes = diff(entry.spec, current, entry.sensitive)
    if live.status != entry.status:
        changes = (*changes, FieldChange(path="status", before=entry.status, after=live.status))
    if not changes:
        return None
    return Change(name=name, id=entry.id, action=Action.RECORD, changes=changes,
                  reason=sentence(Reason.REFRESHED), reason_code=Reason.REFRESHED,
                  live_status=live.status, live_snapshot=current, desired=current,
                  live_fingerprint=status_fingerprint(fp, current, live.status),
                  desired_state=entry.desired_state, sensitive=sensitive,
                  prevent_destroy=entry.prevent_destroy, ignore_changes=entry.ignore_changes,
                  price_before=live.perHourPrice, price_after=live.perHourPrice)


def refresh_plan(live: Sequence[Deployment], state: State | None, fp: Fingerprinter,
                 targets: frozenset[str] = frozenset(),
                 manifests: Mapping[str, tuple[str, ...]] | None = None) -> Plan:
    """``record`` changes for every managed deployment (or ``targets``) whose live values
    differ from the state; unmapped live deployments are listed as usual. ``manifests``
    (name -> lifecycle.ignoreChanges), when given, limits the refresh to the deployments
    they declare and overrides the state's ignoreChanges."""
    state = state or State.empty()
    by_id = {d.id: d for d in live}
    key_ok = not state.key_verifier or state.key_verifier == fp.verifier()
    changes = []
    for name in sorted(state.deployments):
        if (targets and name not in targets) or (manifests is not None and name not in manifests):
            continue
        entry = state.deployments[name]
        ignored = entry.ignore_changes if manifests is None else manifests[name]
        change = _refresh_one(name, entry, by_id.get(entry.id), fp, key_ok, ignored)
        if change is not None:
            changes.append(change)
    managed = {e.id: n for n, e in state.deployments.items()}
    held = {n for n, e in state.deployments.items() if e.id in by_id}
    unmanaged = tuple(Unmanaged(id=d.id, name=d.name or "", status=d.status,
                                duplicate=(d.name or "") in held)
                      for d in sorted(live, key=lambda d: (d.name or "", d.id))
                      if d.id not in managed)
    diagnostics = () if key_ok else (warning(
        D.FINGERPRINT_KEY_CHANGED, None, "the fingerprint key differs from the one that wrote "
        "the state: secret values are kept as recorded",
        "set YOTTACTL_FINGERPRINT_KEY to the original key"),)
    return Plan(state_lineage=state.lineage, state_serial=state.serial, changes=tuple(changes),
                unmanaged=unmanaged, diagnostics=diagnostics)
