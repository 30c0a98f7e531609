"""From a planned Change to API request bodies, with secret values put back.

A Change holds fingerprints where secrets go. ``SecretSource`` supplies the real values:
from the manifests loaded in this process, or (for a saved plan) by re-reading the
``${env:...}`` templates, refusing when a value no longer matches its planned fingerprint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from reconciler.api.models import CreateRequest, UpdateRequest
from reconciler.errors import StalePlanError
from reconciler.fields import FIELDS, DeploymentField, Kind, request_keeps
from reconciler.manifest.interpolate import interpolate
from reconciler.plan.model import SENSITIVE_PREFIX, Change
from reconciler.plan.normalize import Essence, Fingerprinter
from reconciler.redact import Secrets


class SecretSource:
    def __init__(self, fp: Fingerprinter, essences: Mapping[str, Essence] | None = None,
                 environ: Mapping[str, str] | None = None, *, known: Secrets | None = None) -> None:
        self.fp = fp
        self.known = known if known is not None else Secrets()  # the command's: values read join it
        self.essences = essences or {}
        self.environ = os.environ if environ is None else environ

    def value(self, change: Change, path: str, masked: str) -> str:
        head, _, key = path.partition(".")
        real = self.essences.get(change.name)
        if real is not None:
            got = real.top_level(head)
            value = got.get(key) if key and isinstance(got, dict) else got
            if isinstance(value, str) and self.fp.value(value) == masked:
                return value
        template = change.templates.get(path)
        if template is not None:
            read = interpolate(template, self.environ)
            self.known.update(read.env_values)  # an API error echoing it back must not print it
            value = read.value
            if isinstance(value, str) and self.fp.value(value) == masked:
                return value
        raise StalePlanError(
            f"{change.name}: the secret at {path} is not available or changed since the plan",
            hint="export the ${env:...} variables the manifests use, or run `yottactl plan` again")


def unmask(change: Change, secrets: SecretSource) -> Essence:
    """The change's desired essence with real secret values (kept in memory only)."""
    desired = change.desired
    assert desired is not None
    update: dict[str, object] = {}
    env = desired.environmentVars
    for path in change.sensitive:
        head, _, key = path.partition(".")
        if head == "environmentVars" and key:
            masked = env.get(key)
            if masked is not None and masked.startswith(SENSITIVE_PREFIX):
                env = update["environmentVars"] = {**env, key: secrets.value(change, path, masked)}
            continue
        value = desired.top_level(head)
        if isinstance(value, str) and value.startswith(SENSITIVE_PREFIX):
            update[head] = secrets.value(change, path, value)
    return desired.model_copy(update=update) if update else desired


def _body(name: str, e: Essence, fields: Sequence[DeploymentField]) -> dict[str, object]:
    body: dict[str, object] = {"name": name}
    plain = e.plain()
    for f in fields:
        value = plain[f.name]
        if f.kind is Kind.ENV:  # the API's list form, in a stable order
            env = value if isinstance(value, dict) else {}
            value = [{"key": k, "value": v} for k, v in sorted(env.items())]
        if request_keeps(f, value):
            body[f.name] = value
    return body


_CREATE = tuple(FIELDS)
_UPDATE = tuple(f for f in FIELDS if f.updatable)


def create_request(name: str, essence: Essence) -> CreateRequest:
    return CreateRequest.model_validate(_body(name, essence, _CREATE))


def update_request(name: str, essence: Essence) -> UpdateRequest:
    return UpdateRequest.model_validate(_body(name, essence, _UPDATE))
