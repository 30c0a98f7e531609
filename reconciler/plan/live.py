"""What the planner keeps of a live deployment: identity, status, price and its essence.

A plan of 10,000 deployments holds one of these per listed deployment instead of a full API
model (plus the essence computed from it again): ~0.5 KB against ~6.5 KB each.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.api.facts import INITIALIZING, STOPPING
from reconciler.api.models import Deployment, ListedDeployment
from reconciler.essence import Essence
from reconciler.plan.normalize import essence_from_live
from reconciler.state.model import StateEntry


@dataclass(frozen=True, slots=True)
class LiveDeployment:
    id: str
    name: str | None
    status: str | None
    perHourPrice: float | None  # the API's name, as on Deployment
    essence: Essence  # configured fields, normalised (secrets not yet masked)
    domain: str | None = None  # observed: where it serves (a blue-green rollout's "old domain")


def live_view(dep: Deployment | ListedDeployment | LiveDeployment) -> LiveDeployment:
    """The planner's view of a listed (or fetched) deployment."""
    if isinstance(dep, LiveDeployment):
        return dep
    return LiveDeployment(dep.id, dep.name, dep.status, dep.perHourPrice, essence_from_live(dep),
                          getattr(dep, "domain", None) or None)


def waiting_since(entry: StateEntry | None, adopt: bool, live: LiveDeployment) -> str | None:
    """When a deployment in transition (INITIALIZING, STOPPING) entered it, as far as the state
    knows: the time yottactl recorded that status (it sent the create, start or stop). The API
    lists no timestamps; a status the state did not record began at an unknown time."""
    if entry is None or adopt or live.status not in (INITIALIZING, STOPPING):
        return None
    return entry.updated_at or None if entry.status == live.status else None
