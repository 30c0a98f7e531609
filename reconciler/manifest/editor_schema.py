"""The JSON Schema editors and `check-jsonschema` use, made to agree with `yottactl validate`.

It starts from the pydantic models and adds what pydantic cannot express by itself: the
environment-variable mapping form, ``${env:NAME}`` in number fields, the catalog's GPU types and
regions, and the cross-field rules (equal gpuCount, unique resources, ALB needs expose).
`tests/test_schema_agreement.py` checks every manifest case file against both.

Two things JSON Schema cannot see are only checked by `validate`: a YAML value's quoting (a
plain ``yes`` under environmentVars is refused, ``"yes"`` is fine; editors see the same string)
and rules across documents or files (duplicate names), plus duplicate keys in the list form of
environmentVars and unset variables.
"""

from __future__ import annotations

from typing import Any

from reconciler.catalog import Catalog, builtin_catalog
from reconciler.manifest.schema import (
    ENV_KEY_RE,
    ENV_TEMPLATE_PATTERN,
    IGNORABLE,
    Manifest,
)

ENV_TEMPLATE = {"type": "string", "pattern": ENV_TEMPLATE_PATTERN,
                "description": "${env:NAME}: the value comes from the environment"}
ENV_KEY_PATTERN = f"^{ENV_KEY_RE.pattern}$(?!\\n)"
ENV_VALUE: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}],
    "description": "a string; a plain number is sent exactly as written (3.10 stays \"3.10\"). "
                   "Quote yes/no/on/off/true/false/null to mean the word.",
}


def _with_env(prop: dict[str, object]) -> dict[str, object]:
    """An integer property that also accepts a whole ``${env:NAME}``."""
    if prop.get("type") == "integer":
        core = {k: prop.pop(k) for k in ("type", "minimum", "maximum") if k in prop}
        return {**prop, "anyOf": [core, ENV_TEMPLATE]}
    options = prop.get("anyOf")
    if isinstance(options, list) and any(
            isinstance(option, dict) and option.get("type") == "integer" for option in options):
        prop["anyOf"] = [*options, ENV_TEMPLATE]
    return prop


def json_schema(catalog: Catalog | None = None) -> dict[str, object]:
    """JSON Schema of one manifest document, for editors (yaml-language-server); GPU types
    and regions from the command's ``catalog`` (None: the built-in one)."""
    catalog = catalog or builtin_catalog()
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:yottactl:manifest:v1"
    schema["title"] = "yottactl ElasticDeployment manifest"
    schema["description"] = ("One document; a file may hold several, separated by ---, and "
                             "editors check each against this schema.")
    defs = schema["$defs"]
    for model in defs.values():
        for name, prop in model.get("properties", {}).items():
            model["properties"][name] = _with_env(prop)
    resource = defs["ResourceSpec"]["properties"]
    for name, known in (("gpuType", catalog.gpu_types), ("region", catalog.regions)):
        resource[name] = {"anyOf": [{"enum": sorted(known)}, ENV_TEMPLATE],
                          "description": f"one of the catalog's {name} values"}
    spec = defs["Spec"]
    props = spec["properties"]
    props["credentialId"] = {
        "anyOf": [{"type": "string", "pattern": "^[0-9]*$(?!\\n)"}, {"type": "integer", "minimum": 0},
                  ENV_TEMPLATE, {"type": "null"}],
        "default": None, "description": "Registry credential id (the number in the console)"}
    resources = props["resources"]
    resources["uniqueItems"] = True  # equal gpuCount makes a repeated region/gpuType identical
    resources["anyOf"] = [
        {"items": {"properties": {"gpuCount": {"anyOf": [{"const": count}, {"type": "string"}]}}}}
        for count in range(1, 9)
    ]
    resources["description"] = "every entry has the same gpuCount; each region/gpuType once"
    env_list = props["environmentVars"]
    defs["EnvVar"]["properties"]["value"] = ENV_VALUE
    defs["EnvVar"]["properties"]["key"]["pattern"] = ENV_KEY_PATTERN
    props["environmentVars"] = {
        "anyOf": [env_list, {"type": "object", "additionalProperties": ENV_VALUE,
                             "propertyNames": {"pattern": ENV_KEY_PATTERN}}],
        "description": "KEY: value mapping, or the API's list of {key, value}",
    }
    spec["allOf"] = [{
        "if": {"properties": {"serviceMode": {"const": "ALB"}}, "required": ["serviceMode"]},
        "then": {"required": ["expose"], "properties": {"expose": {"type": "object"}}},
    }]
    defs["Cutover"]["oneOf"] = [{"required": ["command"]}, {"required": ["webhook"]}]
    schema["allOf"] = [{  # a probe needs a domain: only ALB deployments have one
        "if": {"properties": {"lifecycle": {"required": ["probe"],
                                            "properties": {"probe": {"type": "object"}}}},
               "required": ["lifecycle"]},
        "then": {"properties": {"spec": {"properties": {"serviceMode": {"const": "ALB"}}}}},
    }]
    ignore = defs["Lifecycle"]["properties"]["ignoreChanges"]
    ignore["items"] = {"anyOf": [{"enum": sorted(IGNORABLE)},
                                 {"type": "string", "pattern": "^environmentVars\\."}]}
    return schema
