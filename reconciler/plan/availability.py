"""GPU capacity as ``GET /v2/vms/types`` shows it (issue 27), and what new workers risk when
the GPU type and region they ask for show none. Pure data and arithmetic: the client fetches,
:mod:`reconciler.plan.capacity` marks the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from reconciler.api.models import GpuType
    from reconciler.essence import ResourceEssence

# (gpuType, region) -> does the endpoint show capacity there now?
Availability = Mapping[tuple[str, str], bool]


def availability_of(types: Iterable[GpuType]) -> dict[tuple[str, str], bool]:
    """What the endpoint says per (GPU type, region); a region it lists without saying is left
    out (unknown, never "unavailable")."""
    return {(t.gpuType, r.region): r.available for t in types for r in t.regions
            if r.available is not None}


class ResourceAvailability(BaseModel):
    """One resources[] entry of a manifest and what the endpoint shows for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    gpuType: str
    region: str
    available: bool | None = None  # None: the endpoint does not say (not listed, or no flag)

    def describe(self) -> str:
        return f"{self.gpuType} in {self.region}"


class CapacityRisk(BaseModel):
    """A change needing new workers, at risk: entries showing no capacity, and the other
    entries the manifest already allows (with what the endpoint shows for each)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    unavailable: tuple[ResourceAvailability, ...]
    alternatives: tuple[ResourceAvailability, ...] = ()

    def message(self) -> str:
        shown = ", ".join(r.describe() for r in self.unavailable)
        return f"at risk: GET /v2/vms/types shows no capacity for {shown}"

    def hint(self) -> str:
        if not self.alternatives:
            return ("the manifest allows no other GPU type or region: add another resources[] "
                    "entry, or plan again later")
        def state(r: ResourceAvailability) -> str:
            return {True: "shows capacity", False: "shows none", None: "unknown"}[r.available]
        listed = ", ".join(f"{r.describe()} ({state(r)})" for r in self.alternatives)
        return f"the manifest also allows {listed}"


def entries_of(resources: Iterable[ResourceEssence],
               shown: Availability) -> list[ResourceAvailability]:
    """Each resources[] entry with what the endpoint shows for it."""
    return [ResourceAvailability(gpuType=r.gpuType, region=r.region,
                                 available=shown.get((r.gpuType, r.region)))
            for r in resources if r.gpuType is not None and r.region is not None]


def unconfirmed(resources: Iterable[ResourceEssence],
                shown: Availability) -> tuple[ResourceAvailability, ...]:
    """The entries whose capacity the endpoint does not confirm (not listed, or no flag)."""
    return tuple(e for e in entries_of(resources, shown) if e.available is None)


def risk(resources: Iterable[ResourceEssence], shown: Availability) -> CapacityRisk | None:
    """The risk of new workers on ``resources`` (None: none shows unavailable).
    An entry the endpoint does not list is not called unavailable: it is unknown there."""
    entries = entries_of(resources, shown)
    unavailable = tuple(e for e in entries if e.available is False)
    if not unavailable:
        return None
    return CapacityRisk(unavailable=unavailable,
                        alternatives=tuple(e for e in entries if e not in unavailable))
