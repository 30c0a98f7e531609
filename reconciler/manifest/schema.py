"""The manifest format (DESIGN §4) as immutable pydantic models. Pure: no YAML, no I/O.

Field names are the manifest's keys (camelCase, matching the API) so that validation error
locations map straight back to YAML positions and to the API's fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reconciler.catalog import gpu_types, regions
from reconciler.fields import NAMES

API_VERSION = "yottactl/v1"
KIND = "ElasticDeployment"
NAME_RE = re.compile(r"^(?=[A-Za-z])[A-Za-z0-9@._-]{1,50}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


class Metadata(_Model):
    name: str = Field(pattern=NAME_RE.pattern, description="Deployment name (its identity)")


class ResourceSpec(_Model):
    region: str = Field(min_length=1, examples=sorted(regions()))
    gpuType: str = Field(min_length=1, examples=sorted(gpu_types()))
    gpuCount: int = Field(ge=1, le=8)

    @field_validator("gpuType", "region")
    @classmethod
    def _in_catalog(cls, value: str, info: ValidationInfo) -> str:
        known, what = (gpu_types(), "GPU type") if info.field_name == "gpuType" else (
            regions(), "region")
        if value not in known:
            raise ValueError(f"unknown {what} {value!r}{_suggest(value, known)}")
        return value


class Expose(_Model):
    port: int = Field(ge=1, le=65535)
    protocol: str = Field(default="HTTP", min_length=1)


class EnvVar(_Model):
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)

    def __repr__(self) -> str:  # values may be secrets
        return f"EnvVar(key={self.key!r}, value=<hidden>)"

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        if not ENV_KEY_RE.match(value):
            raise ValueError(f"{value!r} is not a valid environment variable name")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _scalar_to_str(cls, value: Any) -> Any:
        # YAML reads `PORT: 8000` as an int; the API wants strings. Booleans stay an error:
        # `yes`/`true` would silently become "True", which is rarely what was meant.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        return value


class Spec(_Model):
    image: str = Field(min_length=1, max_length=255, description="Container image (with tag)")
    imageRegistry: str | None = Field(default=None, description="Registry URL (default Docker Hub)")
    credentialId: str | None = Field(default=None, description="Registry credential id")
    resources: tuple[ResourceSpec, ...] = Field(min_length=1)
    workers: int = Field(ge=1, le=100)
    containerVolumeInGb: int = Field(ge=20)
    serviceMode: Literal["ALB", "QUEUE", "CUSTOM"]
    expose: Expose | None = None
    initializationCommand: str | None = None
    environmentVars: tuple[EnvVar, ...] = ()
    minSingleCardVramInGb: int | None = Field(default=None, ge=0, le=1536)
    minSingleCardVcpu: int | None = Field(default=None, ge=0, le=1536)
    minSingleCardRamInGb: int | None = Field(default=None, ge=0, le=1536)
    webhookUrl: str | None = None
    state: Literal["running", "stopped"] = "running"

    @field_validator("credentialId", mode="before")
    @classmethod
    def _cred_str(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value and not value.isdigit():
            raise ValueError(f"{value!r} is not a numeric credential id")
        return value

    @field_validator("environmentVars", mode="before")
    @classmethod
    def _env_forms(cls, value: Any) -> Any:
        # a mapping (KEY: value) or the API's list form [{key, value}]; keys must be unique
        if value is None:
            return ()
        if isinstance(value, Mapping):
            return tuple({"key": k, "value": v} for k, v in value.items())
        if isinstance(value, list | tuple):
            seen: set[Any] = set()
            for item in value:
                key = item.get("key") if isinstance(item, Mapping) else None
                if key in seen:
                    raise ValueError(f"environment variable {key!r} is defined twice")
                seen.add(key)
        return value

    @model_validator(mode="after")
    def _documented_rules(self) -> Spec:
        counts = {r.gpuCount for r in self.resources}
        if len(counts) > 1:
            raise ValueError(
                f"resources: every entry must have the same gpuCount (found {sorted(counts)})"
            )
        pairs = [(r.region, r.gpuType) for r in self.resources]
        dupes = sorted({p for p in pairs if pairs.count(p) > 1})
        if dupes:
            raise ValueError(f"resources: {dupes[0][0]}/{dupes[0][1]} is listed more than once")
        if self.serviceMode == "ALB" and self.expose is None:
            raise ValueError("serviceMode: ALB requires expose (e.g. expose: {port: 8000})")
        return self


# Paths `lifecycle.ignoreChanges` may name: spec fields, plus env vars and expose sub-fields.
IGNORABLE = frozenset(NAMES) | {"expose.port", "expose.protocol"}


class Lifecycle(_Model):
    preventDestroy: bool = False
    ignoreChanges: tuple[str, ...] = ()

    @field_validator("ignoreChanges")
    @classmethod
    def _real_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if path in IGNORABLE or path.startswith("environmentVars."):
                continue
            raise ValueError(f"{path!r} is not a spec field{_suggest(path, IGNORABLE)}")
        return value


class Manifest(_Model):
    apiVersion: Literal["yottactl/v1"]
    kind: Literal["ElasticDeployment"]
    metadata: Metadata
    spec: Spec
    lifecycle: Lifecycle = Lifecycle()

    @property
    def name(self) -> str:
        return self.metadata.name


def _suggest(word: str, choices: Any) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# The model a YAML location belongs to, for "did you mean" on unknown keys.
SECTION_MODELS: dict[str, type[BaseModel]] = {
    "": Manifest, "metadata": Metadata, "spec": Spec, "lifecycle": Lifecycle,
    "spec.resources": ResourceSpec, "spec.expose": Expose, "spec.environmentVars": EnvVar,
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of one manifest document, for editors (yaml-language-server)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:yottactl:manifest:v1"
    schema["title"] = "yottactl ElasticDeployment manifest"
    # environmentVars also accepts the friendlier mapping form
    env = schema["$defs"]["Spec"]["properties"]["environmentVars"]
    schema["$defs"]["Spec"]["properties"]["environmentVars"] = {
        "anyOf": [env, {"type": "object", "additionalProperties": {"type": ["string", "integer"]}}],
        "description": "KEY: value mapping, or the API's list of {key, value}",
    }
    return schema


@dataclass(frozen=True)
class DesiredDeployment:
    """One validated manifest, where it came from, and which spec paths hold secrets."""

    manifest: Manifest
    file: str
    index: int  # document number in its file
    sensitive: frozenset[str]  # spec-relative paths, e.g. "environmentVars.HF_TOKEN"
    templates: Mapping[str, str] = field(default_factory=dict)  # path -> "${env:...}" text

    @property
    def name(self) -> str:
        return self.manifest.metadata.name
