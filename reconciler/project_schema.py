"""The project file's format (``yottactl.yaml``): its pydantic models, the JSON Schema editors
get (``yottactl schema --project``), and validation errors described with a hint. Reading the
file and resolving an environment is ``reconciler/project.py``."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from reconciler.manifest.variables import VAR_NAME_RE

ENV_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,49}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _paths(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


VarName = Annotated[str, StringConstraints(pattern=VAR_NAME_RE.pattern)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME_RE.pattern)]


Rollout = Literal["blueGreen", "recreate"]


class Defaults(_Model):
    """Defaults for command flags; a flag given on the command line always wins."""

    parallelism: int | None = Field(default=None, ge=1, le=100, description="apply/destroy --parallelism")
    timeout: float | None = Field(default=None, gt=0, description="apply/destroy --timeout (seconds)")
    lockTimeout: float | None = Field(default=None, ge=0, description="--lock-timeout (seconds)")
    rollout: Rollout | None = Field(default=None, description="lifecycle.rollout of manifests "
                                    "that do not set it [default: recreate]")


class Environment(_Model):
    endpoint: str | None = Field(default=None, min_length=1, description="API base URL")
    state: str | None = Field(default=None, min_length=1,
                              description="State file (relative to yottactl.yaml) or PostgreSQL URL")
    variables: dict[VarName, Any] = Field(default_factory=dict,
                                          description="Overrides global variables")
    overlays: tuple[str, ...] = Field(default=(), description="Overlay files, applied in order")
    manifests: tuple[str, ...] | None = Field(default=None, description="Replaces the global list")
    rollout: Rollout | None = Field(default=None, description="Overrides defaults.rollout")

    _paths = field_validator("overlays", "manifests", mode="before")(_paths)


class ProjectFile(_Model):
    manifests: tuple[str, ...] = Field(default=(), description="Manifest files or folders "
                                       "[default: manifests/ or deploy/ beside this file]")
    endpoint: str | None = Field(default=None, min_length=1, description="API base URL")
    state: str | None = Field(default=None, min_length=1,
                              description="State file (relative to yottactl.yaml) or PostgreSQL URL")
    defaults: Defaults = Defaults()
    variables: dict[VarName, Any] = Field(default_factory=dict, description="${var:NAME} values")
    environments: dict[EnvName, Environment] = Field(default_factory=dict)

    _paths = field_validator("manifests", mode="before")(_paths)


_SECTIONS: dict[str, type[BaseModel]] = {"": ProjectFile, "defaults": Defaults,
                                         "environments.*": Environment}


def dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    section = ".".join(str(p) for p in loc)
    if len(loc) == 2 and loc[0] == "environments":
        section = "environments.*"
    model = _SECTIONS.get(section)
    return list(model.model_fields) if model else []


def describe(error: Any) -> tuple[tuple[Any, ...], str, str, bool]:
    loc: tuple[Any, ...] = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
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
    hints = {
        "valid dictionary": "use a YAML mapping (key: value)",
        "valid tuple": "use a YAML list (- item) or a single string",
        "valid string": "quote the value to make it a string",
        "valid integer": "use a whole number",
        "valid number": "use a number of seconds",
    }
    hint = next((h for words, h in hints.items() if words in message),
                "`yottactl schema --project` lists every key")
    return loc, message, hint, False


def json_schema() -> dict[str, Any]:
    """JSON Schema of ``yottactl.yaml`` for editors (yaml-language-server)."""
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
    return schema
