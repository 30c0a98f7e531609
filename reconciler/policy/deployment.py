"""The per-deployment rules: GPU types, regions, workers, GPUs, images, preventDestroy and
rollout, for one deployment as it will be (or is). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.essence import Essence
from reconciler.policy.image import check_image
from reconciler.policy.report import Violation
from reconciler.project_schema import (
    AllowedGpuTypes,
    AllowedRegions,
    ImagePolicy,
    MaxGpuCount,
    MaxWorkers,
    RequireRollout,
)

ROLLOUT_MODES = ("ALB", "CUSTOM")  # requireRollout: the modes a blue-green release serves


@dataclass(slots=True)  # not frozen: made per deployment, and a frozen init costs 2x
class Subject:
    """A deployment as it will be after the run (or as it is live, for drift)."""

    name: str
    essence: Essence | None  # None: unknown here (its rules are not checked)
    sensitive: frozenset[str] = frozenset()
    prevent_destroy: bool | None = None
    rollout: str | None = None  # None: unknown (an unchanged deployment in a saved plan)


class Checker:
    """The per-deployment rules for many deployments: deployments alike in everything the
    rules read (image, resources, workers, service mode, lifecycle) are judged once, and the
    verdict is stamped with each one's name (a fleet of 1,000 shares a few images and shapes:
    bench/policy_bench.py)."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        self.rules = rules
        self._verdicts: dict[tuple[Any, ...], list[Violation]] = {}

    def __call__(self, s: Subject) -> list[Violation]:
        e = s.essence
        if e is None:
            return []
        key = (e.image, e.imageRegistry, s.sensitive & {"image", "imageRegistry"}, e.resources,
               e.workers, e.serviceMode, s.prevent_destroy, s.rollout)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = check_deployment(s, self.rules)
        return [Violation(v.code, v.rule, v.level, s.name, v.message, v.hint, v.values)
                for v in verdict]


def check_deployment(s: Subject, rules: Mapping[str, Any]) -> list[Violation]:
    """The per-deployment rules for one deployment (its configuration unknown: none)."""
    out: list[Violation] = []
    e = s.essence
    if e is None:
        return out

    def add(code: str, rule: Any, name: str, message: str, hint: str, **values: Any) -> None:
        out.append(Violation(code, name, rule.level, s.name, message, hint, values))

    if isinstance(r := rules.get("allowedGpuTypes"), AllowedGpuTypes):
        for res in e.resources:
            if res.gpuType not in r.types:
                add("gpu-type-not-allowed", r, "allowedGpuTypes",
                    f"gpuType {res.gpuType} is not in allowedGpuTypes ({', '.join(r.types)})",
                    "use an allowed GPU type, or add it to allowedGpuTypes",
                    gpuType=res.gpuType, allowed=list(r.types))
    if isinstance(r := rules.get("allowedRegions"), AllowedRegions):
        for res in e.resources:
            if res.region not in r.regions:
                add("region-not-allowed", r, "allowedRegions",
                    f"region {res.region} is not in allowedRegions ({', '.join(r.regions)})",
                    "use an allowed region, or add it to allowedRegions",
                    region=res.region, allowed=list(r.regions))
    if isinstance(r := rules.get("maxWorkers"), MaxWorkers) and (e.workers or 0) > r.max:
        add("max-workers", r, "maxWorkers", f"workers {e.workers} is over maxWorkers {r.max}",
            "lower spec.workers, or raise maxWorkers", workers=e.workers, limit=r.max)
    if isinstance(r := rules.get("maxGpuCount"), MaxGpuCount):
        for res in e.resources:
            if (res.gpuCount or 0) > r.max:
                add("max-gpu-count", r, "maxGpuCount",
                    f"gpuCount {res.gpuCount} ({res.gpuType}) is over maxGpuCount {r.max}",
                    "lower resources[].gpuCount, or raise maxGpuCount",
                    gpuCount=res.gpuCount, gpuType=res.gpuType, limit=r.max)
    if isinstance(r := rules.get("imagePolicy"), ImagePolicy):
        out += check_image(s.name, e.image, e.imageRegistry, s.sensitive, r)
    pd = rules.get("requirePreventDestroy")
    if pd is not None and s.prevent_destroy is False:
        add("prevent-destroy-required", pd, "requirePreventDestroy",
            "lifecycle.preventDestroy is not set", "add `lifecycle: {preventDestroy: true}` to "
            "its manifest (or an overlay of this environment)", preventDestroy=False)
    if (isinstance(r := rules.get("requireRollout"), RequireRollout) and s.rollout is not None
            and e.serviceMode in ROLLOUT_MODES and s.rollout != r.strategy):
        add("rollout-required", r, "requireRollout",
            f"serviceMode {e.serviceMode} releases with lifecycle.rollout {s.rollout}, not "
            f"{r.strategy} (each replacement stops serving)",
            f"set `lifecycle: {{rollout: {r.strategy}}}` (or defaults.rollout / the "
            "environment's rollout in yottactl.yaml)",
            serviceMode=e.serviceMode, rollout=s.rollout, required=r.strategy)
    return out
