"""What the planner keeps of a live deployment: identity, status, price and its essence.

A plan of 10,000 deployments holds one of these per listed deployment instead of a full API
model (plus the essence computed from it again): ~0.5 KB against ~6.5 KB each.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.api.models import Deployment, ListedDeployment
from reconciler.plan.essence import Essence
from reconciler.plan.normalize import essence_from_live


@dataclass(frozen=True, slots=True)
class LiveDeployment:
    id: str
    name: str | None
    status: str | None
    perHourPrice: float | None  # the API's name, as on Deployment
    essence: Essence  # configured fields, normalised (secrets not yet masked)


def live_view(dep: Deployment | ListedDeployment | LiveDeployment) -> LiveDeployment:
    """The planner's view of a listed (or fetched) deployment."""
    if isinstance(dep, LiveDeployment):
        return dep
    return LiveDeployment(dep.id, dep.name, dep.status, dep.perHourPrice, essence_from_live(dep))
