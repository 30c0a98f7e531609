"""Builders shared by planner tests: manifests, live API objects and state entries from a
compact spec-override form."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.api.models import Deployment
from reconciler.manifest.schema import DesiredDeployment, Manifest
from reconciler.plan.normalize import Fingerprinter, essence_from_spec, mask
from reconciler.plan.planner import Desired, desired_from_manifest
from reconciler.state.model import State, StateEntry

FP = Fingerprinter(b"test-fingerprint-key")
BASE_SPEC: dict[str, Any] = {
    "image": "vllm/vllm-openai:v0.6.3",
    "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_H100_80G", "gpuCount": 1}],
    "workers": 2,
    "containerVolumeInGb": 100,
    "serviceMode": "ALB",
    "expose": {"port": 8000},
    "environmentVars": {"MODEL": "llama"},
}


def spec(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = copy.deepcopy(BASE_SPEC)
    merged.update(copy.deepcopy(overrides or {}))
    return merged


def manifest(name: str, overrides: dict[str, Any] | None = None,
             lifecycle: dict[str, Any] | None = None) -> Manifest:
    return Manifest.model_validate({"apiVersion": "yottactl/v1", "kind": "ElasticDeployment",
                                    "metadata": {"name": name}, "spec": spec(overrides),
                                    "lifecycle": lifecycle or {}})


def desired(item: dict[str, Any]) -> Desired:
    m = manifest(item["name"], item.get("spec"), item.get("lifecycle"))
    sensitive = frozenset(item.get("sensitive", ()))
    return desired_from_manifest(DesiredDeployment(m, "case.yaml", 0, sensitive))


def live(item: dict[str, Any]) -> Deployment:
    s = manifest("live", item.get("spec")).spec  # any live name (web@alt is no manifest's)
    status = item.get("status", "RUNNING")
    wire: dict[str, Any] = {
        "id": item["id"], "name": item["name"], "status": status, "image": s.image,
        "imageRegistry": s.imageRegistry or "https://index.docker.io/v1",
        "serviceMode": s.serviceMode,
        "resources": [r.model_dump() for r in s.resources],
        "totalWorkers": s.workers, "runningWorkers": s.workers if status == "RUNNING" else 0,
        "containerVolumeInGb": s.containerVolumeInGb,
        "environmentVars": [{"key": e.key, "value": e.value} for e in s.environmentVars],
        "initializationCommand": s.initializationCommand or "",
        "webhookUrl": s.webhookUrl or "", "perHourPrice": 1.0 if status == "RUNNING" else 0.0,
        "creator": "someone@example.com", "domain": "", "cost": 0.5,
    }
    if s.expose:
        wire["expose"] = s.expose.model_dump()
    if s.credentialId:
        wire["credentialId"] = int(s.credentialId)
    wire.update(item.get("raw", {}))
    return Deployment.model_validate(wire)


def state(items: list[dict[str, Any]]) -> State:
    out = State.empty("11111111-2222-3333-4444-555555555555")
    for item in items:
        m = manifest(item["name"], item.get("spec"))
        sensitive = tuple(item.get("sensitive", ()))
        entry = StateEntry(
            id=item["id"], spec=mask(essence_from_spec(m.spec), sensitive, FP),
            sensitive=sensitive, status=item.get("status", "RUNNING"),
            desired_state=item.get("desired_state", "running"),
            prevent_destroy=item.get("prevent_destroy", False),
            ignore_changes=tuple(item.get("ignore_changes", ())),
            updated_at=item.get("updated_at", ""),
            keep_without_manifest=item.get("keep_without_manifest", False),
            rollout_green=item.get("rollout_green"), rollout_failed=item.get("rollout_failed"),
            rollout_retiring=item.get("rollout_retiring"),
        )
        out = out.with_entry(item["name"], entry)
    return out.model_copy(update={"key_verifier": FP.verifier()})
