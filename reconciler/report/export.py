"""Live deployment -> manifest text, so a console-built fleet can move into Git.

An environment value that looks secret (by its key, e.g. ``HF_TOKEN``, or by its shape, e.g.
``hf_...``, a JWT or a URL with a password), or that the state marks sensitive, is never
written: it becomes ``${env:<NAME>_<KEY>}`` (scoped by deployment so two deployments' values
cannot collide) and is listed for the user. Other values (``LANG: en``, a model name) are
written as they are, as a person would write them.
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
# key names and value shapes of secrets (a false positive only costs an ${env:} to fill in)
_SECRET_KEY = re.compile(r"TOKEN|SECRET|PASS(WORD|WD)?($|_)|PWD|API_?KEY|ACCESS_?KEY|PRIVATE|"
                         r"CREDENTIAL|AUTH|COOKIE|SESSION|SIGNATURE|SALT|DSN|(^|_)KEY$",
                         re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"^(hf_|sk-|sk_live_|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abprs]-|AKIA|ASIA|AIza)"  # vendors
    r"|^eyJ[\w-]+\.[\w-]+\."  # a JWT
    r"|://[^/@\s]*:[^/@\s]*@"  # a URL with a password
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def looks_secret(key: str, value: str) -> bool:
    """An environment variable a person would keep out of Git: by its key, its value's shape,
    or a long random-looking value (a key or token of 32+ letters and digits, no spaces)."""
    if _SECRET_KEY.search(key) or _SECRET_VALUE.search(value):
        return True
    return (len(value) >= 32 and re.fullmatch(r"[A-Za-z0-9+=_-]+", value) is not None
            and re.search(r"\d", value) is not None and re.search(r"[A-Za-z]", value) is not None)


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


def manifest_for(dep: Deployment, sensitive: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """(YAML text, environment variables the user must provide). ``sensitive``: the keys of
    environment values the state marks sensitive (they came from ``${env:}``)."""
    e = essence_from_live(dep).plain()
    name = dep.name or dep.id
    spec: dict[str, Any] = {}
    variables: list[str] = []
    for f in FIELDS:  # in the table's order; optional fields only when set
        value = e[f.name]
        if f.kind is Kind.REGISTRY and value == DEFAULT_IMAGE_REGISTRY:
            continue
        if f.kind is Kind.ENV and isinstance(value, dict) and value:
            hidden = [k for k in sorted(value) if k in sensitive or looks_secret(k, value[k])]
            value = {key: f"${{env:{variable_name(name, key)}}}" if key in hidden
                     else literal(value[key]) for key in sorted(value)}
            variables += [variable_name(name, key) for key in hidden]
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
