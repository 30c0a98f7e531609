"""The project file's format (``yottactl.yaml``): its pydantic models, the JSON Schema editors
get (``yottactl schema --project``), and validation errors described with a hint. Reading the
file and resolving an environment is ``reconciler/project.py``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reconciler.manifest.variables import VAR_NAME_RE

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

ENV_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,49}$")


Loc = tuple[str | int, ...]  # where in the file, as pydantic's errors say it


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _paths(value: object) -> object:
    return [value] if isinstance(value, str) else value


VarName = Annotated[str, StringConstraints(pattern=VAR_NAME_RE.pattern)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME_RE.pattern)]


Rollout = Literal["blueGreen", "recreate"]
ApiVersion = Literal["v1", "v2"]  # fields.API_VERSIONS


class Defaults(_Model):
    """Defaults for command flags; a flag given on the command line always wins."""

    parallelism: int | None = Field(default=None, ge=1, le=100, description="apply/destroy --parallelism")
    timeout: float | None = Field(default=None, gt=0, description="apply/destroy --timeout (seconds)")
    lockTimeout: float | None = Field(default=None, ge=0, description="--lock-timeout (seconds)")
    rollout: Rollout | None = Field(default=None, description="lifecycle.rollout of manifests "
                                    "that do not set it [default: recreate]")


Level = Literal["mandatory", "advisory", "off"]
_LEVEL = ("mandatory: a violation blocks plan and apply (exit 1) unless --policy-override NAME; "
          "advisory: a warning; off: not checked (an environment turns a global rule off)")


# a rule's settings, strictly typed: a number is a number (never true, "40" or .inf), a count a
# whole number (never 8.0), a list entry a non-empty word (an empty registry blocks every image)
Usd = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]


def _tag(value: str) -> str:
    if not re.fullmatch(r"[\w][\w.-]{0,127}", value):
        raise ValueError(f"{value!r} is not an image tag (a letter, digit or _, then up to 127 "
                         "of those, . and -)")
    return value


def _prefix(value: str) -> str:
    if not value.strip() or value != value.strip() or "://" in value or value.startswith("/"):
        raise ValueError(f"{value!r} is not a registry or a path prefix (e.g. ghcr.io/acme, "
                         "docker.io/vllm)")
    return value


Tag = Annotated[str, Field(strict=True), AfterValidator(_tag)]
Prefix = Annotated[str, Field(strict=True), AfterValidator(_prefix)]


class _Rule(_Model):
    level: Level = Field(default="mandatory", description=_LEVEL)


class MaxHourlyCost(_Rule):
    """The environment's total $/h after apply (managed deployments)."""

    max: Usd = Field(description="USD per hour")


class MaxHourlyIncrease(_Rule):
    """How much one run may raise the total $/h: absolute (max) or relative (maxPercent)."""

    max: Usd | None = Field(default=None, description="USD per hour")
    maxPercent: Usd | None = Field(default=None, description="percent of today's total")

    @model_validator(mode="after")
    def _one_limit(self) -> MaxHourlyIncrease:
        if (self.max is None) == (self.maxPercent is None):
            raise ValueError("give exactly one of max (USD per hour) and maxPercent")
        return self


def _known_gpu(value: str, info: ValidationInfo) -> str:
    """A GPU type of the command's catalog (a typo would make every deployment a violation),
    or one let through by --allow-unknown-gpu, as in manifests."""
    from reconciler.catalog import catalog_in
    from reconciler.manifest.schema import _suggest_catalog

    catalog = catalog_in(info.context)
    if value in catalog.gpu_types or catalog.accept_unknown_gpu(value):
        return value
    raise ValueError(f"unknown GPU type {value!r}{_suggest_catalog(value, catalog.gpu_types)}")


def _known_region(value: str, info: ValidationInfo) -> str:
    from reconciler.catalog import catalog_in
    from reconciler.manifest.schema import _suggest_catalog

    regions = catalog_in(info.context).regions
    if value in regions:
        return value
    raise ValueError(f"unknown region {value!r}{_suggest_catalog(value, regions)}")


class AllowedGpuTypes(_Rule):
    types: tuple[Annotated[str, AfterValidator(_known_gpu)], ...] = Field(
        min_length=1, description="catalog GPU type names")

    _one = field_validator("types", mode="before")(_paths)


class AllowedRegions(_Rule):
    regions: tuple[Annotated[str, AfterValidator(_known_region)], ...] = Field(
        min_length=1, description="catalog region names")

    _one = field_validator("regions", mode="before")(_paths)


class MaxWorkers(_Rule):
    max: int = Field(ge=0, strict=True, description="workers per deployment")


class MaxGpuCount(_Rule):
    max: int = Field(ge=1, strict=True, description="gpuCount of each resource (GPUs per worker)")


class ImagePolicy(_Rule):
    forbidTags: tuple[Tag, ...] = Field(default=(), description="tags refused, e.g. [latest]")
    forbidUntagged: bool = Field(default=False, strict=True,
                                 description="refuse images with no tag and no digest")
    requireDigest: bool = Field(default=False, strict=True, description="require IMAGE@sha256:...")
    registries: tuple[Prefix, ...] = Field(
        default=(), description="allowed registries or prefixes (docker.io for Docker Hub "
                                "names such as vllm/vllm-openai)")

    _one = field_validator("forbidTags", "registries", mode="before")(_paths)


class RequirePreventDestroy(_Rule):
    """Every deployment sets lifecycle.preventDestroy: true."""


class RequireRollout(_Rule):
    """Deployments with serviceMode ALB or CUSTOM use lifecycle.rollout: blueGreen."""

    strategy: Literal["blueGreen"] = "blueGreen"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"strategy": value} if isinstance(value, str) else value


class Policies(_Model):
    """Guardrails a plan must pass (README "Policies"). An environment's ``policies`` extend the
    global ones by rule name: a rule it names replaces the global rule of that name."""

    maxHourlyCost: MaxHourlyCost | None = None
    maxHourlyIncrease: MaxHourlyIncrease | None = None
    allowedGpuTypes: AllowedGpuTypes | None = None
    allowedRegions: AllowedRegions | None = None
    maxWorkers: MaxWorkers | None = None
    maxGpuCount: MaxGpuCount | None = None
    imagePolicy: ImagePolicy | None = None
    requirePreventDestroy: RequirePreventDestroy | None = None
    requireRollout: RequireRollout | None = None

    def merged(self, over: Policies) -> Policies:
        """These rules with ``over``'s replacing them by name (an environment's over the global)."""
        return Policies(**{name: getattr(over, name) or getattr(self, name)
                           for name in Policies.model_fields})

    def active(self) -> dict[str, _Rule]:
        """The rules to check, by name (level off left out)."""
        rules = {name: getattr(self, name) for name in Policies.model_fields}
        return {name: rule for name, rule in rules.items()
                if rule is not None and rule.level != "off"}


RULE_MODELS: dict[str, type[_Rule]] = {
    name: next(t for t in get_args(field.annotation) if t is not type(None))
    for name, field in Policies.model_fields.items()}
RULE_EXAMPLES = {
    "maxHourlyCost": "{max: 40}", "maxHourlyIncrease": "{max: 5} or {maxPercent: 20}",
    "allowedGpuTypes": "{types: [NVIDIA_L4_24G]}", "allowedRegions": "{regions: [us-east-1]}",
    "maxWorkers": "{max: 8}", "maxGpuCount": "{max: 2}",
    "imagePolicy": "{forbidTags: [latest], forbidUntagged: true}",
    "requirePreventDestroy": "{level: mandatory}", "requireRollout": "blueGreen",
}
AgentMode = Literal["observe", "heal"]


def _window(value: str) -> str:
    from reconciler.agent_rules import parse_window

    parse_window(value)  # ValueError: reported at the key, with the format
    return value


def _folder(value: str) -> str:
    if "://" in value or "::" in value or re.match(r"^[\w.-]+@[\w.-]+:", value):
        raise ValueError("agent.source in the project file is a folder: a Git repository is "
                         "named with `yottactl agent --source URL` (a file anyone can edit in a "
                         "pull request must not choose where the agent fetches manifests from)")
    return value


class SyncWindow(_Model):
    allow: Annotated[str, AfterValidator(_window)] = Field(
        description='When the agent may heal, e.g. "Mon-Fri 08:00-18:00"; outside every window '
                    "it only observes")


class Agent(_Model):
    """`yottactl agent` (README "Agent"); an environment's keys override the global ones, and
    the flags --mode, --interval and --source override both."""

    mode: AgentMode | None = Field(default=None, description="observe (plan and drift only) or "
                                   "heal (apply changes and drift) [default: observe]")
    interval: float | None = Field(default=None, ge=1, le=86400,
                                   description="Seconds between cycles, ±10% [default: 60]")
    source: Annotated[str, AfterValidator(_folder)] | None = Field(
        default=None, min_length=1, description="Manifest folder "
                               "(relative to yottactl.yaml) [default: the manifests]")
    branch: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9._/-]+$",
                               description="Branch of a Git --source [default: main]")
    prune: bool | None = Field(default=None, description="heal may delete managed deployments "
                               "whose manifest is gone [default: false]")
    maxHealsPerHour: int | None = Field(default=None, ge=1, le=3600, description="Heals of one "
                                        "deployment in any hour [default: 6]")
    syncWindows: tuple[SyncWindow, ...] | None = Field(default=None, description="When heal "
                                                       "may act (UTC) [default: always]")


class Environment(_Model):
    endpoint: str | None = Field(default=None, min_length=1, description="API base URL")
    state: str | None = Field(default=None, min_length=1,
                              description="State file (relative to yottactl.yaml) or PostgreSQL URL")
    variables: dict[VarName, Any] = Field(default_factory=dict,
                                          description="Overrides global variables")
    overlays: tuple[str, ...] = Field(default=(), description="Overlay files, applied in order")
    varFiles: tuple[str, ...] = Field(default=(), description="YAML files of ${var:NAME} "
                                      "values, read in order after `variables`")
    manifests: tuple[str, ...] | None = Field(default=None, description="Replaces the global list")
    rollout: Rollout | None = Field(default=None, description="Overrides defaults.rollout")
    api: ApiVersion | None = Field(default=None, description="Overrides the global api")
    policies: Policies = Field(default_factory=Policies,
                               description="Extends the global policies (a rule named here "
                                           "replaces the global one)")
    agent: Agent = Field(default_factory=Agent, description="Overrides the global agent keys")

    _paths = field_validator("overlays", "varFiles", "manifests", mode="before")(_paths)


class ProjectFile(_Model):
    manifests: tuple[str, ...] = Field(default=(), description="Manifest files or folders "
                                       "[default: manifests/ or deploy/ beside this file]")
    endpoint: str | None = Field(default=None, min_length=1, description="API base URL")
    state: str | None = Field(default=None, min_length=1,
                              description="State file (relative to yottactl.yaml) or PostgreSQL URL")
    defaults: Defaults = Defaults.model_construct()  # not Defaults(): that builds its validator at import
    variables: dict[VarName, Any] = Field(default_factory=dict, description="${var:NAME} values")
    varFiles: tuple[str, ...] = Field(default=(), description="YAML files of ${var:NAME} values "
                                      "(relative to this file), read in order after `variables`")
    environments: dict[EnvName, Environment] = Field(default_factory=dict)
    api: ApiVersion | None = Field(default=None, description="Yotta API version: v1 or v2 "
                                   "(--api-version and YOTTA_API_VERSION win) [default: v1]")
    policies: Policies = Field(default_factory=Policies,
                               description="Guardrails for every run (README \"Policies\")")
    agent: Agent = Field(default_factory=Agent, description="`yottactl agent` settings")

    _paths = field_validator("manifests", "varFiles", mode="before")(_paths)


_SECTIONS: dict[str, type[BaseModel]] = {"": ProjectFile, "defaults": Defaults,
                                         "environments.*": Environment, "policies": Policies,
                                         "agent": Agent}
_SECTIONS.update({f"policies.{name}": model for name, model in RULE_MODELS.items()})


def dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc)


def _allowed(loc: Loc) -> list[str]:
    if len(loc) >= 2 and loc[0] == "environments":
        loc = ("environments.*", *loc[2:]) if len(loc) == 2 else loc[2:]
    section = ".".join(str(p) for p in loc)
    model = _SECTIONS.get(section)
    return list(model.model_fields) if model else []


def describe(error: ErrorDetails) -> tuple[Loc, str, str, bool]:
    loc: Loc = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    kind = error["type"]
    if loc and loc[-1] == "[key]":  # a mapping key: a variable or environment name
        loc = loc[:-1]
        what = "environment" if len(loc) == 2 and loc[0] == "environments" else "variable"
        hint = ("environment names start with a letter: letters, digits, - and _ (at most 50)"
                if what == "environment" else
                "variable names are letters, digits and _ (not starting with a digit)")
        return loc, f"{loc[-1]!r} is not a valid {what} name", hint, True
    if kind == "extra_forbidden":
        parent, bad = loc[:-1], str(loc[-1])
        allowed = _allowed(parent)
        import difflib

        close = difflib.get_close_matches(bad, allowed, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}?" if close else "allowed here: " + ", ".join(allowed)
        return loc, f"unknown key {bad!r}", hint, True
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc and loc[-1] == "api":
        return loc, message, ("api is v1 (the default) or v2: the Yotta API yottactl speaks; "
                              "--api-version and YOTTA_API_VERSION override it"), False
    hints = {
        "valid dictionary": "use a YAML mapping (key: value)",
        "valid tuple": "use a YAML list (- item) or a single string",
        "valid string": "quote the value to make it a string",
        "valid integer": "use a whole number",
        "valid number": "use a number of seconds",
        "finite number": "use a finite number (not .inf, .nan or one past a float's range)",
        "valid boolean": "use true or false, unquoted",
    }
    hint = next((h for words, h in hints.items() if words in message),
                "`yottactl schema --project` lists every key")
    rule = _rule_named(loc)
    if rule is not None and kind in ("model_type", "dict_type"):
        message = f"{rule} must be a mapping of its settings"
        hint = f"write it as {rule}: {RULE_EXAMPLES[rule]}"
    elif rule is not None and "valid number" in message:
        hint = "use a number, unquoted (not true or false)"
    elif rule is not None and "valid integer" in message:
        hint = "use a whole number, unquoted (not 8.0, true or false)"
    elif rule is not None and message.startswith(("unknown GPU type", "unknown region")):
        hint = ("names of the catalog (`yottactl schema` lists them; YOTTACTL_CATALOG adds "
                "your own" + ("; --allow-unknown-gpu passes others)" if "GPU" in message
                              else ")"))
    elif rule is not None and hint.startswith("`yottactl schema"):
        hint = f"write it as {rule}: {RULE_EXAMPLES[rule]}"
    return loc, message, hint, False


def _rule_named(loc: Loc) -> str | None:
    """The policy rule a location is in (policies.RULE... or environments.E.policies.RULE...)."""
    inner = loc[2:] if loc[:1] == ("environments",) else loc
    if len(inner) >= 2 and inner[0] == "policies" and inner[1] in RULE_EXAMPLES:
        return str(inner[1])
    return None


def json_schema() -> dict[str, object]:
    """JSON Schema of ``yottactl.yaml`` for editors (yaml-language-server)."""
    # (the field default Defaults.model_construct() is of a deferred model: pydantic 2.12 fails
    Defaults.model_rebuild()  # to write it until its serializer is built, TypeError MockValSer)
    schema = ProjectFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:yottactl:project:v1"
    schema["title"] = "yottactl project file (yottactl.yaml)"
    for model in (schema, schema["$defs"]["Environment"]):
        props = model["properties"]
        for key in ("manifests", "overlays"):
            if key in props:
                props[key] = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                              "description": props[key].get("description", "")}
        props["variables"]["additionalProperties"] = False  # names must match the pattern
    schema["properties"]["environments"]["additionalProperties"] = False
    for model_name, key in (("AllowedGpuTypes", "types"), ("AllowedRegions", "regions"),
                            ("ImagePolicy", "forbidTags"), ("ImagePolicy", "registries")):
        prop = schema["$defs"][model_name]["properties"][key]
        prop["anyOf"] = [{"type": "string"}, {k: prop.pop(k) for k in ("type", "items")}]
    rollout = schema["$defs"]["Policies"]["properties"]["requireRollout"]
    rollout["anyOf"].insert(0, {"const": "blueGreen"})  # the shorthand requireRollout: blueGreen
    return schema
