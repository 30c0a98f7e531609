"""Essences: the configured fields of a deployment, normalised so that equal means equal.

Both sides (manifest and live API object) become the same typed :class:`Essence`: server-owned and
observed fields dropped, env vars as an order-free mapping, resources reduced to
region/gpuType/gpuCount and sorted, ids as strings, defaults filled, protocol upper-cased.
Secrets are replaced by keyed fingerprints (HMAC) before anything is stored or shown.
Pure: no I/O.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from typing import Any

from reconciler.api.facts import DEFAULT_IMAGE_REGISTRY
from reconciler.api.models import (
    Deployment,
    ExposePortResponse,
    KeyValuePair,
    ListedDeployment,
    ResourceResponse,
)
from reconciler.essence import Essence, ExposeEssence, ResourceEssence, trusted
from reconciler.fields import FIELDS, Kind
from reconciler.manifest.schema import EnvVar, Expose, ResourceSpec, Spec
from reconciler.plan.model import SENSITIVE_PREFIX

__all__ = ["Essence", "ExposeEssence", "Fingerprinter", "ResourceEssence"]


class Fingerprinter:
    """Keyed fingerprints (HMAC-SHA256). The key never leaves memory: it is not stored in the
    state, the plan or the journal (only :meth:`verifier`, which identifies it)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        # secret -> fingerprint: a plan masks each secret on both sides (manifest, live, state),
        # and one value (an HF token) is usually shared by many deployments
        self._values: dict[str, str] = {}

    def __repr__(self) -> str:
        return "Fingerprinter(<key hidden>)"

    def value(self, secret: str) -> str:
        known = self._values.get(secret)
        if known is None:
            digest = hmac.digest(self._key, secret.encode(), "sha256").hex()
            known = self._values[secret] = f"{SENSITIVE_PREFIX}{digest[:32]}"
        return known

    def obj(self, data: object) -> str:
        if isinstance(data, Essence):
            data = data.stored()  # an unset field added since does not change it
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        return hmac.digest(self._key, canonical.encode(), "sha256").hex()[:32]

    def verifier(self) -> str:
        """Identifies the key (not the secrets): lets the state notice a changed key."""
        return self.obj("yottactl-fingerprint-key-check")


def _registry(value: str | None) -> str:
    return (value or DEFAULT_IMAGE_REGISTRY).rstrip("/")


def _resources(items: Iterable[ResourceSpec | ResourceResponse]) -> tuple[ResourceEssence, ...]:
    out = [trusted(ResourceEssence, {"region": r.region, "gpuType": r.gpuType, "gpuCount": r.gpuCount})
           for r in items]
    # a live object may leave any part out: None sorts first instead of failing the sort
    return tuple(sorted(out, key=lambda r: (r.region or "", r.gpuType or "", r.gpuCount or 0)))


def _expose(value: Expose | ExposePortResponse | None) -> ExposeEssence | None:
    if not value or not value.port:
        return None
    return trusted(ExposeEssence, {"port": value.port, "protocol": (value.protocol or "HTTP").upper()})


def _env(items: Iterable[EnvVar | KeyValuePair]) -> dict[str, str]:
    return {e.key: e.value for e in items}


_NORMALISE: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEXT: lambda v: v or "",
    Kind.OPTIONAL_TEXT: lambda v: v or None,
    Kind.REGISTRY: _registry,
    Kind.INT: lambda v: v,
    Kind.RESOURCES: _resources,
    Kind.EXPOSE: _expose,
    Kind.ENV: _env,
}
# (essence key, manifest attribute, detail-response attribute, normaliser), from the field table
_RULES = tuple((f.name, f.name, f.response_name, _NORMALISE[f.kind]) for f in FIELDS)


def _essence(src: Spec | Deployment | ListedDeployment, live: bool) -> Essence:
    # manifest specs and API objects share the API's field names, except where the table says;
    # both are validated models, whose values the normalisers turn into the essence's types
    return Essence.from_valid({key: norm(getattr(src, live_attr if live else attr))
                               for key, attr, live_attr, norm in _RULES})


def essence_from_spec(spec: Spec) -> Essence:
    return _essence(spec, live=False)


def essence_from_live(dep: Deployment | ListedDeployment) -> Essence:
    return _essence(dep, live=True)


def mask(essence: Essence, sensitive: Iterable[str], fp: Fingerprinter) -> Essence:
    """A copy with every sensitive value replaced by its keyed fingerprint."""
    update: dict[str, object] = {}
    env = essence.environmentVars
    for path in sensitive:
        head, _, key = path.partition(".")
        if head == "environmentVars" and key:
            if key in env and not env[key].startswith(SENSITIVE_PREFIX):
                env = update["environmentVars"] = {**env, key: fp.value(env[key])}
            continue
        value = essence.top_level(head)
        if isinstance(value, str) and value and not value.startswith(SENSITIVE_PREFIX):
            update[head] = fp.value(value)
    return essence.with_values(**update) if update else essence  # strings for strings


def hide_undeclared(live: Essence, declared: Iterable[str], fp: Fingerprinter) -> Essence:
    """``live`` with the value of every environment variable not in ``declared`` (one added in
    the console, say) replaced by its keyed fingerprint: no manifest says it is not a secret, so
    plans, drift reports and notifications show it as hidden, as `get` does."""
    env = live.environmentVars
    known = set(declared)
    extra = [k for k, v in env.items() if k not in known and not v.startswith(SENSITIVE_PREFIX)]
    if not extra:
        return live
    return live.with_values(  # strings for strings
        environmentVars={k: fp.value(v) if k in extra else v for k, v in env.items()})


def is_sensitive(path: str, sensitive: Iterable[str]) -> bool:
    return any(path == s or path.startswith(s + ".") for s in sensitive)


def apply_ignored(desired: Essence, live: Essence, ignore: Iterable[str]) -> Essence:
    """``desired`` with each ignored path taking the live value (so it never shows as a diff)."""
    paths = tuple(ignore)
    if not paths:
        return desired
    out, theirs = desired.plain(), live.plain()
    for path in paths:
        head, _, sub = path.partition(".")
        if not sub:
            out[head] = theirs.get(head)
        elif isinstance(current := out.get(head), dict) or current is None:
            section = dict(current or {})
            live_section = theirs.get(head)
            if isinstance(live_section, dict) and sub in live_section:
                section[sub] = live_section[sub]
            else:
                section.pop(sub, None)
            # an expose without a port is no expose
            out[head] = (section if "port" in section else None) if head == "expose" else section
    return Essence.model_validate(out)


def status_fingerprint(fp: Fingerprinter, masked_live: Essence, status: str | None) -> str:
    """What a saved plan checks before it runs: configured fields + status of the live object."""
    return fp.obj({"essence": masked_live.stored(), "status": status})
