"""The manifest format (README "Manifests"; fields from ``reconciler/fields.py``) as immutable
pydantic models. Pure: no YAML, no I/O.

Field names are the manifest's keys (camelCase, matching the API) so that validation error
locations map straight back to YAML positions and to the API's fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.catalog import catalog_in
from reconciler.fields import NAMES, PLAIN_FIELDS, DeploymentField, Kind
from reconciler.scalars import (
    BOOL_WORDS,
    NULL_WORDS,
    FromEnv,
    FromVariable,
    PlainText,
    Unresolved,
)

API_VERSION = "yottactl/v1"
KIND = "ElasticDeployment"
# Python's `$` also matches before a trailing newline ("abc\n" would pass): use fullmatch in
# code. NAME_PATTERN is for JSON Schema (ECMA-262, where `$` is the end): its `(?!\n)` makes
# Python-based validators (jsonschema, pydantic) agree with editors.
NAME_RE = re.compile(r"(?=[A-Za-z])[A-Za-z0-9@._-]{1,50}")
NAME_PATTERN = r"^(?=[A-Za-z])[A-Za-z0-9@._-]{1,50}$(?!\n)"
# A blue-green rollout of NAME creates its new deployment as NAME@alt (plan/rollout.py): a
# manifest named so would take another deployment's rollout name, so the suffix is reserved
RESERVED_NAME_SUFFIX = "@alt"
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
ENV_TEMPLATE_PATTERN = r"^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$(?!\n)"


def _whole_number(placeholder: int) -> Callable[[object], object]:
    """Number fields are strict (`true` and "2" are errors) but take a whole `${env:NAME}`."""

    def convert(value: object) -> object:
        if isinstance(value, Unresolved):
            return placeholder  # unknown here; the loader reports (or --skip-env skips) it
        if isinstance(value, FromVariable) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
            return int(value)  # --var workers=3 is text; the field says it is a number
        if isinstance(value, FromEnv):
            if re.fullmatch(r"[+-]?[0-9]+", value.strip()):
                return int(value)
            raise PydanticCustomError(  # never echo the value: it came from the environment
                "env_not_a_number", f"${{env:{value.variable}}} is not a whole number")
        return value

    return convert


# a whole number in [ge, le]; the lower bound stands in for an unresolved ${env:...}
GpuCount = Annotated[int, Field(ge=1, le=8, strict=True), BeforeValidator(_whole_number(1))]
Port = Annotated[int, Field(ge=1, le=65535, strict=True), BeforeValidator(_whole_number(1))]
Workers = Annotated[int, Field(ge=1, le=100, strict=True), BeforeValidator(_whole_number(1))]
VolumeGb = Annotated[int, Field(ge=20, strict=True), BeforeValidator(_whole_number(20))]


def _optional_bounded(low: int, high: int) -> object:
    """An optional whole number in [low, high] (a whole ${env:X} value fills it too)."""
    number = Annotated[int, Field(ge=low, le=high, strict=True), BeforeValidator(_whole_number(low))]
    return number | None


StrictBool = Annotated[bool, Field(strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


class Metadata(_Model):
    name: str = Field(pattern=NAME_PATTERN, description="Deployment name (its identity)")

    @field_validator("name")
    @classmethod
    def _whole_name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):  # belt and braces beside the pattern's lookahead
            raise ValueError(f"{value!r} is not a valid deployment name")
        if value.endswith(RESERVED_NAME_SUFFIX):
            raise ValueError(f"{value!r} ends in {RESERVED_NAME_SUFFIX}, which is reserved: "
                             f"NAME{RESERVED_NAME_SUFFIX} is where a blue-green rollout of NAME "
                             "runs its new deployment")
        return value


class ResourceSpec(_Model):
    region: str = Field(min_length=1)
    gpuType: str = Field(min_length=1)
    gpuCount: GpuCount

    @field_validator("gpuType", "region", mode="before")
    @classmethod
    def _in_catalog(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, Unresolved) or not isinstance(value, str):
            return value  # the type check reports non-strings
        catalog = catalog_in(info.context)  # the command's (manifest/loader.py)
        known, what = (catalog.gpu_types, "GPU type") if info.field_name == "gpuType" else (
            catalog.regions, "region")
        if value in known:
            return value
        if info.field_name == "gpuType" and catalog.accept_unknown_gpu(value):
            return value  # --allow-unknown-gpu: the real API is the final judge (CLI warns)
        raise ValueError(f"unknown {what} {value!r}{_suggest_catalog(value, known)}")


class Expose(_Model):
    port: Port
    protocol: str = Field(default="HTTP", min_length=1)


class EnvVar(_Model):
    key: str = Field(min_length=1)
    value: str = Field(min_length=1)

    def __repr__(self) -> str:  # values may be secrets
        return f"EnvVar(key={self.key!r}, value=<hidden>)"

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str) -> str:
        if not ENV_KEY_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid environment variable name")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _as_written(cls, value: object) -> object:
        # The API takes strings: a plain scalar is sent as the text the user wrote (the YAML
        # reader keeps it as PlainText). Plain words YAML reads as null or booleans are errors:
        # `yes`/`true` silently becoming "True" (or "yes" in one tool and true in another) is
        # rarely what was meant.
        if isinstance(value, PlainText):
            if value in NULL_WORDS:
                shown = f"{value} is" if value else "an empty value is"
                raise PydanticCustomError("env_null", f"{shown} null in YAML, not a string")
            if value in BOOL_WORDS:
                raise PydanticCustomError("env_bool", f"{value} is a boolean in YAML, not a string")
            return str(value)
        if value is None:  # ~, null or nothing (in an overlay, null deletes the variable)
            raise PydanticCustomError("env_null", "null (~, null or no value) is not a string")
        if isinstance(value, bool):
            raise PydanticCustomError("env_bool", "a boolean is not a string")
        if isinstance(value, int | float):  # from an alias or an explicit tag: no source text
            return str(value)
        return value


class _SpecCore(_Model):
    """The hand-typed fields and the rules; the table's plain rows are added by Spec's base."""

    image: str = Field(min_length=1, max_length=255, description="Container image (with tag)")
    imageRegistry: str | None = Field(default=None, description="Registry URL (default Docker Hub)")
    credentialId: str | None = Field(default=None, description="Registry credential id")
    resources: tuple[ResourceSpec, ...] = Field(min_length=1)
    workers: Workers
    containerVolumeInGb: VolumeGb
    serviceMode: Literal["ALB", "QUEUE", "CUSTOM"]
    expose: Expose | None = None
    initializationCommand: str | None = None
    environmentVars: tuple[EnvVar, ...] = ()

    @field_validator("credentialId", mode="before")
    @classmethod
    def _cred_str(cls, value: object) -> object:
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{value} is not a numeric credential id")
            return str(value)
        if isinstance(value, str) and not re.fullmatch("[0-9]*", value):
            raise ValueError(f"{value!r} is not a numeric credential id")
        return value

    @field_validator("environmentVars", mode="before")
    @classmethod
    def _env_forms(cls, value: object) -> object:
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
    def _documented_rules(self) -> _SpecCore:
        if len(self.resources) == 1 and (self.serviceMode != "ALB" or self.expose is not None):
            return self  # one resource cannot disagree with itself: the rules below all hold
        problems = rule_violations({"serviceMode": self.serviceMode, "expose": self.expose,
                                    "resources": [{"region": r.region, "gpuType": r.gpuType,
                                                   "gpuCount": r.gpuCount} for r in self.resources]})
        if problems:
            where, message = problems[0]
            raise PydanticCustomError(RULE_ERROR, "{field}: {message}", {"field": where, "message": message})
        return self


def _plain_field(f: DeploymentField) -> object:
    if f.kind is Kind.INT:
        low, high = f.bounds or (0, 2**31 - 1)
        return _optional_bounded(low, high), None
    return str | None, None


if TYPE_CHECKING:  # mypy sees the hand-typed fields; the plain ones are read by name
    _SpecFields = _SpecCore
else:
    _SpecFields = create_model("_SpecFields", __base__=_SpecCore,
                               **{f.name: _plain_field(f) for f in PLAIN_FIELDS})


class Spec(_SpecFields):
    state: Literal["running", "stopped"] = "running"


RULE_ERROR = "spec_rule"  # the error type of the cross-field rules below


def rule_violations(spec: object) -> list[tuple[str, str]]:
    """(field, message) for every cross-field rule ``spec`` breaks. Tolerates wrong types, so
    the loader also runs it on a document whose fields have errors: all errors in one run."""
    if not isinstance(spec, Mapping):
        return []
    resources = spec.get("resources")
    items = [r for r in resources if isinstance(r, Mapping)] if isinstance(resources, list | tuple) else []
    out = []
    counts = {c for r in items if isinstance(c := r.get("gpuCount"), int) and not isinstance(c, bool)}
    if len(counts) > 1:
        out.append(("resources", f"every entry must have the same gpuCount (found {sorted(counts)})"))
    pairs = [(str(r.get("region")), str(r.get("gpuType"))) for r in items]
    dupes = sorted({p for p in pairs if pairs.count(p) > 1})
    if dupes:
        out.append(("resources", f"{dupes[0][0]}/{dupes[0][1]} is listed more than once"))
    if spec.get("serviceMode") == "ALB" and spec.get("expose") is None:
        out.append(("serviceMode", "ALB requires expose (e.g. expose: {port: 8000})"))
    return out


# Paths `lifecycle.ignoreChanges` may name: spec fields, plus env vars and expose sub-fields.
IGNORABLE = frozenset(NAMES) | {"expose.port", "expose.protocol"}


# an HTTP path on the new deployment's own domain: it cannot name another host or carry spaces
PROBE_PATH_PATTERN = r"^/(?!/)[^\s\\#]{0,1023}$(?!\n)"
WEBHOOK_PATTERN = r"^https?://[^\s]{1,2040}$(?!\n)"
Seconds = Annotated[float, Field(gt=0, le=3600)]


class Probe(_Model):
    """An HTTP GET against the new deployment's domain (lifecycle.rollout: blueGreen) that must
    pass ``successes`` times in a row before the cutover."""

    path: str = Field(pattern=PROBE_PATH_PATTERN, description="Path on the new deployment's "
                      "domain, e.g. /health")
    expectStatus: int = Field(default=200, ge=100, le=599, strict=True)
    timeoutSeconds: Seconds = Field(default=5.0, description="Per request")
    intervalSeconds: Seconds = Field(default=2.0, description="Between requests")
    successes: int = Field(default=3, ge=1, le=100, strict=True,
                           description="Passes in a row needed")

    @field_validator("path", mode="before")
    @classmethod
    def _a_path(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(PROBE_PATH_PATTERN[1:-7], value):
            raise ValueError(f"{value!r} is not a path on the deployment's domain: it starts "
                             "with one / and has no spaces, \\ or # (e.g. /health)")
        return value


class Cutover(_Model):
    """What moves clients from the old domain to the new one (DNS, gateway, secret store). Runs
    only inside `apply`. A command is an argv list (no shell) run with a minimal environment; a
    webhook gets a POST with a JSON body. Neither is handed the API key or secret values; a
    command can still read what the user running apply can (apply/hooks.py says what)."""

    command: tuple[Annotated[str, Field(min_length=1, max_length=4096)], ...] | None = Field(
        default=None, min_length=1, max_length=256, description="argv list, no shell")
    webhook: str | None = Field(default=None, pattern=WEBHOOK_PATTERN,
                                description="http(s) URL; POST with a JSON body")
    timeoutSeconds: Seconds = Field(default=60.0)

    @model_validator(mode="after")
    def _one_way(self) -> Cutover:
        if (self.command is None) == (self.webhook is None):
            raise ValueError("give exactly one of command (an argv list) or webhook (a URL)")
        return self


ROLLOUTS = ("blueGreen", "recreate")


class Lifecycle(_Model):
    preventDestroy: StrictBool = False
    ignoreChanges: tuple[str, ...] = ()
    # None: the project file's defaults.rollout (an environment's rollout), else recreate
    rollout: Literal["blueGreen", "recreate"] | None = None
    probe: Probe | None = None
    cutover: Cutover | None = None

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

    @model_validator(mode="after")
    def _probe_needs_a_domain(self) -> Manifest:
        if self.lifecycle.probe is not None and self.spec.serviceMode != "ALB":
            raise PydanticCustomError(  # not RULE_ERROR: the loader re-derives those from spec
                "lifecycle_rule", "needs serviceMode ALB (only an ALB deployment "
                "has a domain to probe)")
        return self

    @property
    def name(self) -> str:
        return self.metadata.name


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _suggest_catalog(word: str, choices: Iterable[str]) -> str:
    """A spelling close to a catalog name, else the names holding what was typed (`A100` ->
    NVIDIA_A100_80G: the GPU model without vendor and memory), else every known name."""
    import re

    known = sorted(choices)
    close = _suggest(word, known)
    if close:
        return close
    typed = re.sub(r"[^0-9a-z]", "", word.lower())
    holding = [c for c in known if len(typed) >= 2 and re.search(r"\d", typed)
               and typed in re.sub(r"[^0-9a-z]", "", c.lower())]
    if 0 < len(holding) <= 4:
        return f"; did you mean {' or '.join(repr(c) for c in holding)}?"
    return f"; known: {', '.join(known)}."


# The model a YAML location belongs to, for "did you mean" on unknown keys.
SECTION_MODELS: dict[str, type[BaseModel]] = {
    "": Manifest, "metadata": Metadata, "spec": Spec, "lifecycle": Lifecycle,
    "spec.resources": ResourceSpec, "spec.expose": Expose, "spec.environmentVars": EnvVar,
    "lifecycle.probe": Probe, "lifecycle.cutover": Cutover,
}


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
