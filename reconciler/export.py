"""Live deployment -> manifest text, so a console-built fleet can move into Git.

Environment values are never written: each becomes ``${env:<NAME>_<KEY>}`` (scoped by
deployment so two deployments' MODEL values cannot collide) and is listed for the user.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

from reconciler.api.facts import DEFAULT_IMAGE_REGISTRY
from reconciler.api.models import Deployment
from reconciler.fields import FIELDS, Kind
from reconciler.plan.normalize import essence_from_live

HEADER = "# Check it with `yottactl validate`; `yottactl schema` prints the JSON Schema.\n"


def variable_name(deployment: str, key: str) -> str:
    raw = f"{deployment}_{key}".upper()
    name = re.sub(r"[^A-Z0-9_]", "_", raw)
    return name if re.match(r"^[A-Z_]", name) else f"_{name}"


def literal(value: object) -> object:
    """Live text as manifest text: ``${`` escaped as ``$${``, so a live value that looks like a
    ``${env:X}``/``${var:X}`` reference stays data (it must never make a plan read a secret)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [literal(v) for v in value]
    return value


def manifest_for(dep: Deployment) -> tuple[str, list[str]]:
    """(YAML text, environment variables the user must provide)."""
    e = essence_from_live(dep).plain()
    name = dep.name or dep.id
    spec: dict[str, Any] = {}
    variables: list[str] = []
    for f in FIELDS:  # in the table's order; optional fields only when set
        value = e[f.name]
        if f.kind is Kind.REGISTRY and value == DEFAULT_IMAGE_REGISTRY:
            continue
        if f.kind is Kind.ENV and value:
            value = {key: f"${{env:{variable_name(name, key)}}}" for key in sorted(value)}
            variables += [variable_name(name, key) for key in sorted(e[f.name])]
        else:
            value = literal(value)
        if f.required or value not in (None, "", {}):
            spec[f.name] = value
    if dep.status in ("STOPPED", "STOPPING"):
        spec["state"] = "stopped"
    document = {"apiVersion": "yottactl/v1", "kind": "ElasticDeployment",
                "metadata": {"name": name}, "spec": spec}
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = False  # a bidi override from the API shows as "\u202E" in review
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep key order
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    comment = f"# Exported from live deployment {dep.id} by `yottactl export`.\n"
    return HEADER + comment + buffer.getvalue(), variables


_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]")


def file_name(name: str) -> str:
    """``NAME.yaml`` for a live name, made safe: API text is untrusted, and a name such as
    ``../../evil`` or ``/etc/x`` must not pick the path. Separators and other characters become
    ``_``; a name that would be hidden or empty gets a ``deployment-`` prefix."""
    safe = _UNSAFE.sub("_", name)[:100]
    if not safe or safe.startswith("."):
        safe = f"deployment-{safe}"
    return f"{safe}.yaml"


def write_new(folder: Path, target: Path, text: str, *, overwrite: bool) -> None:
    """Write ``target`` inside ``folder``. Without ``overwrite`` the file must not exist (checked
    by the kernel: O_EXCL); with it, a temp file is renamed over it, so a symlink at ``target``
    is replaced, never followed out of the folder."""
    from reconciler.errors import UsageError

    if target.parent.resolve() != folder.resolve():  # defence in depth beside file_name()
        raise UsageError(f"{target} is outside {folder}", hint="export to a plain folder")
    data = text.encode("utf-8")
    if not overwrite:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise UsageError(f"refusing to overwrite {target}", hint="pass --force") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, target)
