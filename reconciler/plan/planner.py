"""The planner: a pure function ``(desired, live, state) -> Plan``. No I/O, no printing, no clock.
Each deployment goes down a ladder of early returns, one case per rung (``plan_desired``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace

from reconciler.api.facts import FAILED
from reconciler.api.models import Deployment
from reconciler.catalog import Catalog, builtin_catalog
from reconciler.fields import REPLACE_FIELDS
from reconciler.manifest.schema import DesiredDeployment as DesiredManifest
from reconciler.plan import renames
from reconciler.plan import rollout as R
from reconciler.plan import steps as S
from reconciler.plan.basis import ChangeBasis, estimate_price, lifecycle_changes
from reconciler.plan.desired import Desired
from reconciler.plan.diff import diff
from reconciler.plan.drift import find_drift
from reconciler.plan.live import LiveDeployment, live_view, waiting_since
from reconciler.plan.model import (
    Action,
    Change,
    Diagnostic,
    DriftItem,
    DriftKind,
    FieldChange,
    Plan,
    Unmanaged,
    error,
    warning,
)
from reconciler.plan.model import DiagnosticCode as D
from reconciler.plan.normalize import (
    Essence,
    Fingerprinter,
    apply_ignored,
    essence_from_spec,
    hide_undeclared,
    mask,
    status_fingerprint,
)
from reconciler.plan.reasons import Reason, sentence
from reconciler.state.model import State, StateEntry

# what the planner accepts as live objects: the API's models or their lean view
Live = Deployment | LiveDeployment


@dataclass(frozen=True)
class Options:
    targets: frozenset[str] = frozenset()
    allow_mass_delete: bool = False
    destroying: bool = False
    # lifecycle.preventDestroy of manifests given to `destroy PATH...` (they plan no change)
    prevent_destroy: Mapping[str, bool] = field(default_factory=dict)
    replace: frozenset[str] = frozenset()  # `apply --replace NAME`: replace even if unchanged
    catalog: Catalog = field(default_factory=builtin_catalog)  # the command's: price estimates


class _Planner:
    def __init__(self, desired: Sequence[Desired], live: Sequence[Live], state: State,
                 fp: Fingerprinter, options: Options) -> None:
        self.desired = {d.name: d for d in desired}
        self.live_by_id = {d.id: live_view(d) for d in live}
        self.live_by_name: dict[str, list[LiveDeployment]] = {}
        for d in self.live_by_id.values():
            self.live_by_name.setdefault(d.name or "", []).append(d)
        self.state, self.fp, self.options = state, fp, options
        self.lineage: str | None = None
        self.diagnostics: list[Diagnostic] = []
        # ids the state maps (with a rollout's new or retiring deployment)
        self.managed_ids = {i for e in state.deployments.values()
                            for i in (e.id, e.rollout_green, e.rollout_retiring) if i}
        # desired name -> the other state name whose recorded id is live under it
        self.rekey = renames.rekeyed(self.desired, self.live_by_id, state)
        self.rekeyed_from = {old: new for new, old in self.rekey.items()}

    def wanted(self, name: str) -> bool:
        return not self.options.targets or name in self.options.targets

    # -- rungs for a desired deployment ----------------------------------------------------

    def plan_desired(self, want: Desired) -> Change | None:
        old_name = self.rekey.get(want.name)
        entry = self.state.deployments.get(old_name or want.name)
        secret = want.sensitive | set(entry.sensitive if entry else ())
        running = want.state == "running"
        live, adopt = self._match(want.name, entry)
        # 1. Nothing live carries this identity (or an ambiguity already reported): create.
        if live is None:
            if adopt:  # several live deployments have the name: error recorded by _match
                return None
            if self.name_live_elsewhere(want.name):  # never create while the name is live
                return None
            code = Reason.DELETED_OUTSIDE if entry is not None else Reason.NOT_FOUND
            return replace(self._basis(want, secret), price_before=0.0).change(
                action=Action.CREATE, steps=S.create(want.essence, running),
                reason=sentence(code), reason_code=code, price_estimated=True,
                price_after=estimate_price(want.essence, running, self.options.catalog))

        since = waiting_since(entry, adopt, live)
        # lifecycle settings are state-only changes, shown with the others
        lifecycle = () if entry is None or adopt else lifecycle_changes(entry, want)
        # 5, early (most of a fleet): equal before masking is equal after (masking is a
        # function of the values), so an unchanged deployment is planned without its copies
        if not (lifecycle or adopt or old_name or want.ignore_changes) and entry is not None \
                and want.essence == live.essence and R.is_slot(want.name, live.name) \
                and (same := self._unchanged(want, entry, live, want.essence)) is not None:
            return self._noop(want, live, same, since)
        base = self._basis(want, secret)  # after rung 5's early exit: most of a fleet skips it
        real_live = mask(live.essence, secret, self.fp)
        compared = apply_ignored(base.desired, real_live, want.ignore_changes)
        # env vars in no manifest (added in the console) are shown hidden, never their values
        masked_live = hide_undeclared(real_live, compared.environmentVars, self.fp)
        changes = diff(masked_live, compared, secret)
        if not R.is_slot(want.name, live.name):  # renamed in the console (or imported so)
            changes = (FieldChange(path="name", before=live.name, after=want.name), *changes)
        if not (changes or lifecycle or adopt or old_name) and entry is not None and (
                same := self._unchanged(want, entry, live, compared)) is not None:
            return self._noop(want, live, same, since)  # 5, early: without the basis
        price_after = estimate_price(want.essence, running, self.options.catalog)
        base = replace(
            base, id=live.id, adopt=adopt, changes=(*changes, *lifecycle),
            live_name=live.name if live.name != want.name else None,
            live_status=live.status, waiting_since=since,
            live_fingerprint=status_fingerprint(self.fp, masked_live, live.status),
            live_snapshot=masked_live, price_before=live.perHourPrice, desired=compared,
            # typed: tools need not parse the sentence
            readopted_from=entry.id if adopt and entry is not None else None,
            rekeyed_from=old_name)
        fields = {c.path.split(".")[0].split("[")[0] for c in changes}
        adopting = ""
        if old_name is not None:
            adopting = f"the state records live deployment {live.id} as {old_name}; "
        if adopt:
            adopting = (f"re-adopting live deployment {live.id} of that name (the state's id "
                        f"{entry.id} is gone); " if entry is not None
                        else "adopting the live deployment of that name; ")
        replaced = fields & set(REPLACE_FIELDS)
        forced = want.name in self.options.replace
        # 1b. lifecycle.rollout: blueGreen, and what earlier rollouts left (plan/rollout.py).
        if (rolled := R.rung(self, want, None if adopt else entry, live, base, fields, replaced,
                             forced, adopting, price_after)) is not None:
            return rolled or None
        # 2. A field the update request cannot carry changed, or `--replace NAME`: replace
        #    (new id and domain).
        if replaced or forced:
            if want.prevent_destroy:
                why = (f"changed: {', '.join(sorted(replaced))}" if replaced
                       else "asked with --replace")
                self.diagnostics.append(error(
                    D.PREVENT_DESTROY_REPLACE, want.name,
                    f"lifecycle.preventDestroy forbids replacing it ({why})"))
                return None
            code = Reason.REPLACE_FIELDS if replaced else Reason.REPLACE_REQUESTED
            return base.change(action=Action.REPLACE,
                               steps=S.replace(live.status, compared, running),
                               reason=adopting + sentence(code, replaced), reason_code=code,
                               disruptive=True, disruption="new id and domain",
                               price_after=price_after, price_estimated=True)

        # 3. The rest depends on where the live status must go; see steps.converge.
        outcome = S.converge(live.status, compared, running, fields)
        if outcome is None:
            self.diagnostics.append(error(
                D.UNKNOWN_STATUS, want.name, f"live status {live.status!r} is unknown to yottactl",
                "wait for it to settle or check `yottactl get`"))
            return None
        action, steps, disruption, code = outcome
        # 4. Only lifecycle settings or the entry's name changed: the state alone records it.
        if (lifecycle or old_name) and action is Action.NOOP:
            action = Action.RECORD
            code = Reason.LIFECYCLE_CHANGED if lifecycle else Reason.REKEYED
        why = sentence(code, fields, status=live.status, since=since)
        # 5. Up to date and already managed: a lean record (nothing will consume the rest).
        if action is Action.NOOP and not adopt:
            return self._noop(want, live, code, since)  # converge's NOOP: no field changed
        estimated = action not in (Action.NOOP, Action.RECORD)
        return base.change(action=action, steps=steps, reason=adopting + why, reason_code=code,
                           disruptive=bool(disruption), disruption=disruption,
                           failed=live.status == FAILED,
                           price_after=price_after if estimated else live.perHourPrice,
                           price_estimated=estimated)

    def _basis(self, want: Desired, secret: Set[str]) -> ChangeBasis:
        """What every change of ``want`` records, its secrets masked."""
        return ChangeBasis(name=want.name, desired=mask(want.essence, secret, self.fp),
                           desired_state=want.state, sensitive=tuple(sorted(secret)),
                           templates=want.templates, prevent_destroy=want.prevent_destroy,
                           ignore_changes=want.ignore_changes)

    @staticmethod
    def _noop(want: Desired, live: LiveDeployment, code: Reason, since: str | None) -> Change:
        """Rung 5's lean record of an up-to-date managed deployment."""
        return Change(name=want.name, id=live.id, action=Action.NOOP, reason_code=code,
                      reason=sentence(code, set(), status=live.status, since=since),
                      live_status=live.status, price_before=live.perHourPrice,
                      price_after=live.perHourPrice)

    def _unchanged(self, want: Desired, entry: StateEntry, live: LiveDeployment,
                   compared: Essence) -> Reason | None:
        """The reason when rung 5 plans this unchanged, managed deployment (no rollout
        leftover live, no --replace, a status needing no step); else None."""
        if want.name in self.options.replace or any(self.live_by_id.get(i or "") is not None
                                                    for i in (entry.rollout_retiring, entry.rollout_green)):
            return None
        outcome = S.converge(live.status, compared, want.state == "running", set())
        return outcome[3] if outcome is not None and outcome[0] is Action.NOOP else None

    def _match(self, name: str, entry: StateEntry | None) -> tuple[LiveDeployment | None, bool]:
        """(live object, adopting?). The state's id is the identity while it is live; else live
        evidence wins over the state: a live deployment carrying the name (and mapped to no
        other name) is adopted, so a second one of that name is never created."""
        if entry is not None and entry.id in self.live_by_id:
            return self.live_by_id[entry.id], False
        candidates = self.adoptable(name)
        if len(candidates) > 1:
            ids = ", ".join(sorted(d.id for d in candidates))
            gone = (f"the state's id {entry.id} is gone live and " if entry is not None else "")
            self.diagnostics.append(error(
                D.AMBIGUOUS_NAME, name,
                f"{gone}{len(candidates)} live deployments have this name ({ids})",
                f"choose the one to manage with `yottactl import {name} ID`"
                + (f" (or stop managing the name with `yottactl state rm {name}`)"
                   if entry is not None else "")))
            return None, True
        return (candidates[0], True) if candidates else (None, False)

    def name_live_elsewhere(self, name: str) -> bool:
        """A live deployment carries ``name`` but the state manages it under another name:
        creating ``name`` now would make two of one name. Recorded as an error."""
        carried = {d.id for d in self.live_by_name.get(name, [])}
        if not carried:
            return False
        holders = sorted((n, e.id) for n, e in self.state.deployments.items() if e.id in carried)
        owned = ", ".join(f"{i} (managed as {n})" for n, i in holders)
        kept = [n for n, _ in holders if n in self.desired]
        self.diagnostics.append(error(
            D.NAME_LIVE_ELSEWHERE, name,
            f"the name is live on {owned}: creating it now would make a second deployment of "
            "this name",
            f"run `yottactl apply --target {kept[0]}` first (it gives the live deployment its "
            "manifest name back)" if kept else
            "keep one in the state (`yottactl state rm NAME` for the others) so it is "
            "managed under its live name"))
        return True

    def adoptable(self, name: str) -> list[LiveDeployment]:
        """Live deployments named ``name`` or its rollout name ``name@alt`` that the state maps
        to no name. ``@alt`` is reserved in manifest names (manifest/schema.py), so a live
        ``name@alt`` is ``name``'s rollout, adopted after a lost or restored state like a live
        ``name`` is (a new state asks for --adopt); never a second deployment beside it."""
        return [d for slot in R.slot_names(name) for d in self.live_by_name.get(slot, [])
                if d.id not in self.managed_ids]

    # -- rungs for a deployment that left the manifests -------------------------------------

    def plan_removed(self, name: str, entry: StateEntry) -> Change | None:
        if name in self.rekeyed_from:  # managed on under its live name: see rekeyed()
            return None
        live = self.live_by_id.get(entry.id)
        destroying = self.options.destroying
        why, gone_reason = ((Reason.DESTROY, Reason.DESTROY_GONE) if destroying
                            else (Reason.REMOVED, Reason.REMOVED_GONE))
        # 1. Already gone live: only the state forgets it.
        if live is None:
            return Change(name=name, id=entry.id, action=Action.DELETE, steps=S.forget(),
                          reason=sentence(gone_reason), reason_code=gone_reason,
                          price_before=0.0, price_after=0.0)
        if entry.keep_without_manifest and not destroying:  # 2. `import --allow-unmanaged`
            return Change(name=name, id=entry.id, action=Action.NOOP, live_status=live.status,
                          reason=sentence(Reason.KEPT), reason_code=Reason.KEPT)
        # 3. Protected (by the manifest when it is given, e.g. `destroy PATH`; else the state).
        if self.options.prevent_destroy.get(name, entry.prevent_destroy):
            self.diagnostics.append(error(
                D.PREVENT_DESTROY_DELETE, name, "lifecycle.preventDestroy forbids deleting it",
                "remove preventDestroy first (or `yottactl state rm` to stop managing it)"))
            return None
        # 4. Stop (if needed) and delete (with a rollout's leftover: plan/rollout.py).
        masked_live = hide_undeclared(mask(live.essence, entry.sensitive, self.fp), (), self.fp)
        return R.with_leftover(entry, self.live_by_id, Change(
                      name=name, id=entry.id, action=Action.DELETE, steps=S.delete(live.status),
                      sensitive=entry.sensitive, live_name=live.name if live.name != name else None,
                      reason=sentence(why), reason_code=why, disruptive=True,
                      disruption="deployment is deleted", live_status=live.status,
                      live_fingerprint=status_fingerprint(self.fp, masked_live, live.status),
                      live_snapshot=masked_live, price_before=live.perHourPrice, price_after=0.0))

    # -- whole plan -------------------------------------------------------------------------

    def guard_mass_delete(self, changes: list[Change]) -> None:
        managed = self.state.deployments
        # a name carried live counts as found: the endpoint and key are right, the state stale
        found = sum(1 for n, e in managed.items()
                    if e.id in self.live_by_id or self.adoptable(n))
        if self.options.allow_mass_delete or len(managed) < 2:
            return
        if found * 2 < len(managed):
            self.diagnostics.append(error(
                D.STATE_NOT_LIVE, None,
                f"the API lists only {found} of the {len(managed)} deployments recorded in the "
                "state: the credentials or endpoint may be wrong. Refusing to plan their "
                "re-creation or deletion",
                "check YOTTA_API_URL / YOTTA_API_KEY, or pass --allow-mass-delete if they really "
                "were deleted"))
            return
        deletes = [c for c in changes if c.action is Action.DELETE and c.steps != S.forget()]
        if not self.options.destroying and len(deletes) >= 2 and len(deletes) * 2 >= len(managed):
            self.diagnostics.append(error(
                D.MASS_DELETE, None,
                f"this plan deletes {len(deletes)} of the {len(managed)} managed deployments "
                "(were the right manifest paths given?)",
                "pass --allow-mass-delete if intended"))

    def unmanaged(self, changes: list[Change]) -> tuple[tuple[Unmanaged, ...], tuple[DriftItem, ...]]:
        """Every live deployment the state does not map and the plan does not adopt; those
        carrying the name of a managed (or adopted) deployment are also duplicate findings."""
        adopted = {c.id for c in changes if c.adopt}
        in_hand = {n: e.id for n, e in self.state.deployments.items() if e.id in self.live_by_id}
        in_hand.update({c.name: c.id for c in changes if (c.adopt or c.rekeyed_from) and c.id})
        for old in self.rekeyed_from:
            in_hand.pop(old, None)
        unmanaged: list[Unmanaged] = []
        duplicates: list[DriftItem] = []
        for d in sorted(self.live_by_id.values(), key=lambda d: (d.name or "", d.id)):
            if d.id in self.managed_ids or d.id in adopted:
                continue
            name = d.name or ""
            twin = in_hand.get(name)
            unmanaged.append(Unmanaged(id=d.id, name=name, status=d.status,
                                       duplicate=twin is not None))
            if twin is not None and self.wanted(name):
                duplicates.append(DriftItem(
                    name=name, id=d.id, kind=DriftKind.DUPLICATE,
                    detail=f"a second live deployment named {name} (id {d.id}, {d.status}) "
                           f"besides the managed one (id {twin}); apply never touches it and it "
                           f"keeps billing: `yottactl delete-unmanaged {d.id}` deletes a leftover"))
        return tuple(unmanaged), tuple(duplicates)

    def plan(self) -> Plan:
        changes: list[Change] = []
        for name in sorted(self.options.replace - set(self.desired)):
            self.diagnostics.append(error(
                D.UNKNOWN_REPLACE, name, "--replace names no deployment in the manifests",
                "check the name (`yottactl state list` shows managed ones)"))
        for name in sorted(self.desired):
            if self.wanted(name):
                change = self.plan_desired(self.desired[name])
                if change is not None:
                    changes.append(change)
        for name in sorted(self.state.deployments):
            if name not in self.desired and self.wanted(name):
                change = self.plan_removed(name, self.state.deployments[name])
                if change is not None:
                    changes.append(change)
        changes = renames.order(changes, self.live_by_name, self.diagnostics)
        self.guard_mass_delete(changes)
        unmanaged, duplicates = self.unmanaged(changes)
        readopted = {c.name: c.id for c in changes if c.adopt and c.id
                     and c.name in self.state.deployments}
        ignored = {n: d.ignore_changes for n, d in self.desired.items()}
        drift = find_drift(self.state, self.live_by_id, self.fp, self.wanted,
                           readopted=readopted, ignored=ignored,
                           rekeyed=self.rekeyed_from) + duplicates
        if self.state.key_verifier and self.state.key_verifier != self.fp.verifier():
            self.diagnostics.append(warning(
                D.FINGERPRINT_KEY_CHANGED, None,
                "the fingerprint key differs from the one that wrote the state: secret values "
                "cannot be checked for drift", "set YOTTACTL_FINGERPRINT_KEY to the original key"))
        return Plan(state_lineage=self.lineage, state_serial=self.state.serial,
                    changes=tuple(changes), drift=drift, unmanaged=unmanaged,
                    diagnostics=tuple(self.diagnostics))


def make_plan(desired: Sequence[Desired], live: Sequence[Live], state: State | None,
              fp: Fingerprinter, options: Options | None = None) -> Plan:
    """The plan that makes ``live`` match ``desired``, given what ``state`` manages."""
    planner = _Planner(desired, live, state or State.empty(), fp, options or Options())
    planner.lineage = state.lineage if state is not None else None  # no state yet: no lineage
    return planner.plan()


__all__ = ["Desired", "FieldChange", "Options", "estimate_price", "make_plan"]

def desired_from_manifest(item: DesiredManifest, default_rollout: str | None = None) -> Desired:
    """The planner's view of one loaded manifest (``default_rollout``: the project file's
    defaults.rollout for manifests that set no lifecycle.rollout)."""
    m = item.manifest
    life = m.lifecycle
    probe, cutover = R.specs(life)
    return Desired(name=m.metadata.name, essence=essence_from_spec(m.spec),
                   sensitive=item.sensitive, templates=dict(item.templates), state=m.spec.state,
                   prevent_destroy=life.preventDestroy, ignore_changes=life.ignoreChanges,
                   rollout=life.rollout or default_rollout or "recreate", probe=probe,
                   cutover=cutover)
