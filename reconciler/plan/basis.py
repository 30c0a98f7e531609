"""What every change planned for a desired deployment carries before a rung picks its action.

The planner fills a ``ChangeBasis`` as it learns (the manifest's side first, then the matched
live deployment's) and each rung turns it into a ``Change`` with typed keyword arguments, so
mypy checks every field name and type (no dict splatted into ``Change(**...)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.plan.model import Action, Change, FieldChange, RolloutPlan, Step
from reconciler.plan.normalize import Essence
from reconciler.plan.reasons import Reason

if TYPE_CHECKING:
    from reconciler.catalog import Catalog
    from reconciler.plan.desired import Desired
    from reconciler.state.model import StateEntry


@dataclass(frozen=True)
class ChangeBasis:
    name: str
    desired: Essence  # masked: the essence the create/update calls send
    desired_state: str
    sensitive: tuple[str, ...]
    templates: dict[str, str]
    prevent_destroy: bool
    ignore_changes: tuple[str, ...]
    # known once a live deployment matches (see Change for what each means)
    id: str | None = None
    adopt: bool = False
    changes: tuple[FieldChange, ...] = ()
    live_name: str | None = None
    live_status: str | None = None
    waiting_since: str | None = None
    live_fingerprint: str | None = None
    live_snapshot: Essence | None = None
    price_before: float | None = None
    readopted_from: str | None = None
    rekeyed_from: str | None = None

    def change(self, *, action: Action, steps: tuple[Step, ...], reason: str,
               reason_code: Reason, price_after: float | None, price_estimated: bool = False,
               disruptive: bool = False, disruption: str = "", failed: bool = False,
               rollout: RolloutPlan | None = None) -> Change:
        return Change(
            name=self.name, id=self.id, action=action, adopt=self.adopt,
            readopted_from=self.readopted_from, rekeyed_from=self.rekeyed_from,
            live_name=self.live_name, reason=reason, reason_code=reason_code,
            changes=self.changes, steps=steps, disruptive=disruptive, disruption=disruption,
            live_fingerprint=self.live_fingerprint, live_snapshot=self.live_snapshot,
            live_status=self.live_status, price_before=self.price_before,
            price_after=price_after, price_estimated=price_estimated, desired=self.desired,
            desired_state=self.desired_state, sensitive=self.sensitive,
            templates=self.templates, prevent_destroy=self.prevent_destroy,
            ignore_changes=self.ignore_changes, failed=failed,
            waiting_since=self.waiting_since, rollout=rollout)


def lifecycle_changes(entry: StateEntry, want: Desired) -> tuple[FieldChange, ...]:
    """Lifecycle settings that differ from the state's record (state-only changes)."""
    out = []
    if entry.prevent_destroy != want.prevent_destroy:
        out.append(FieldChange(path="lifecycle.preventDestroy", before=entry.prevent_destroy,
                               after=want.prevent_destroy))
    if sorted(entry.ignore_changes) != sorted(want.ignore_changes):
        out.append(FieldChange(path="lifecycle.ignoreChanges", before=list(entry.ignore_changes),
                               after=list(want.ignore_changes)))
    return tuple(out)


def estimate_price(essence: Essence, running: bool, catalog: Catalog) -> float | None:
    if not running:
        return 0.0
    res = essence.resources[0]
    # a manifest always sets these (they are required); 0 only keeps mypy honest
    return catalog.hourly_price(res.gpuType or "", res.gpuCount or 0, essence.containerVolumeInGb or 0,
                        essence.workers or 0)
