"""Live deployment -> manifest text, so a console-built fleet can move into Git.

Environment values are never written: each becomes ``${env:<NAME>_<KEY>}`` (scoped by
deployment so two deployments' MODEL values cannot collide) and is listed for the user.
"""

from __future__ import annotations

import io
import re
from typing import Any

from reconciler.api.facts import DEFAULT_IMAGE_REGISTRY
from reconciler.api.models import Deployment
from reconciler.plan.normalize import essence_from_live

HEADER = "# Check it with `yottactl validate`; `yottactl schema` prints the JSON Schema.\n"


def variable_name(deployment: str, key: str) -> str:
    raw = f"{deployment}_{key}".upper()
    name = re.sub(r"[^A-Z0-9_]", "_", raw)
    return name if re.match(r"^[A-Z_]", name) else f"_{name}"


def manifest_for(dep: Deployment) -> tuple[str, list[str]]:
    """(YAML text, environment variables the user must provide)."""
    e = essence_from_live(dep)
    name = dep.name or dep.id
    spec: dict[str, Any] = {"image": e["image"]}
    if e["imageRegistry"] != DEFAULT_IMAGE_REGISTRY:
        spec["imageRegistry"] = e["imageRegistry"]
    if e["credentialId"]:
        spec["credentialId"] = e["credentialId"]
    spec["resources"] = e["resources"]
    spec["workers"] = e["workers"]
    spec["containerVolumeInGb"] = e["containerVolumeInGb"]
    spec["serviceMode"] = e["serviceMode"]
    if e["expose"]:
        spec["expose"] = e["expose"]
    if e["initializationCommand"]:
        spec["initializationCommand"] = e["initializationCommand"]
    variables = []
    if e["environmentVars"]:
        env = {}
        for key in sorted(e["environmentVars"]):
            var = variable_name(name, key)
            env[key] = f"${{env:{var}}}"
            variables.append(var)
        spec["environmentVars"] = env
    for key in ("minSingleCardVramInGb", "minSingleCardVcpu", "minSingleCardRamInGb"):
        if e[key] is not None:
            spec[key] = e[key]
    if e["webhookUrl"]:
        spec["webhookUrl"] = e["webhookUrl"]
    if dep.status in ("STOPPED", "STOPPING"):
        spec["state"] = "stopped"
    document = {"apiVersion": "yottactl/v1", "kind": "ElasticDeployment",
                "metadata": {"name": name}, "spec": spec}
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep key order
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    comment = f"# Exported from live deployment {dep.id} by `yottactl export`.\n"
    return HEADER + comment + buffer.getvalue(), variables
