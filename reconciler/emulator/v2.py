"""The v2 façade (``/v2/serverless``, ``/v2/vms/types``): a second HTTP dialect over the same world.

A v2 request is checked against v2's rules (docs/API-V2.md: 1-20 character names that start
with a letter, ``webhook`` of at most 512 characters, ``containerRegistryAuthId`` on create but
``credentialId`` on update, PATCH where an absent field is left alone and ``null`` clears it),
translated to the v1 operation of the same name and run by the one dispatcher, so lifecycle,
faults, rate limits, health and stats are the v1 side's own. Answers are translated back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.emulator import spec
from reconciler.emulator.capacity import Capacity
from reconciler.emulator.world import World

PREFIX = "/v2/"
VM_TYPES = "getVMTypes"  # operationId in YottaML's docs/openapi.yaml

# (method, path template, operation): the v1 operation id wherever v1 has the same operation,
# so /_emulator/stats counts a call the same way whichever version made it
_TABLE = (
    ("GET", "/v2/serverless", "endpointList_1"),
    ("POST", "/v2/serverless", "endpointCreate"),
    ("GET", "/v2/serverless/{id}", "endpointDetail"),
    ("PATCH", "/v2/serverless/{id}", "endpointUpdate"),
    ("DELETE", "/v2/serverless/{id}", "endpointDelete_2"),
    ("POST", "/v2/serverless/{id}/stop", "endpointStop"),
    ("POST", "/v2/serverless/{id}/start", "endpointStart"),
    ("PUT", "/v2/serverless/{id}/workers", "endpointScale"),  # ?count=N: the SDK's form
    ("GET", "/v2/serverless/{id}/workers", "endpointWorkers"),
    ("GET", "/v2/serverless/{id}/workers/{workerId}/logs", "queryWorkerLogs"),
    ("GET", "/v2/vms/types", VM_TYPES),
)


@dataclass(frozen=True)
class Route:
    method: str
    regex: re.Pattern[str]
    operation_id: str


@cache
def routes() -> tuple[Route, ...]:
    return tuple(
        Route(method, re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", path) + "$"), op)
        for method, path, op in _TABLE
    )


def is_v2_path(path: str) -> bool:
    return path.startswith(PREFIX)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes():
        found = route.regex.fullmatch(path)
        if found and route.method == method:
            return route, found.groupdict()
    return None


def path_exists(path: str) -> bool:
    return any(r.regex.fullmatch(path) for r in routes())


# -- request bodies ---------------------------------------------------------------------------

NAME_PATTERN = "^[A-Za-z][A-Za-z0-9@._-]{0,19}$"  # v2: 1-20 characters, a letter first
WEBHOOK_MAX = 512
_INT32 = {"type": "integer", "format": "int32"}
_ID = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0}
_ENV = {"type": "array", "items": {
    "type": "object", "required": ["key", "value"], "additionalProperties": False,
    "properties": {"key": {"type": "string", "minLength": 1},
                   "value": {"type": "string", "minLength": 1}}}}
_COMMON: dict[str, Any] = {
    "name": {"type": "string", "pattern": NAME_PATTERN},
    "resources": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["region", "gpuType", "gpuCount"],
        "properties": {"region": {"type": "string", "minLength": 1},
                       "gpuType": {"type": "string", "minLength": 1}, "gpuCount": _INT32}}},
    "workers": {**_INT32, "minimum": 1},
    "containerVolumeInGb": {**_INT32, "minimum": 20},
    "minSingleCardVramInGb": {**_INT32, "minimum": 0, "maximum": 1536},
    "minSingleCardVcpu": _INT32,
    "minSingleCardRamInGb": {**_INT32, "minimum": 0, "maximum": 1536},
    "initializationCommand": {"type": "string"},
    "environmentVars": _ENV,
    "envVars": _ENV,  # the docs' update example spells it so
    "expose": {"type": "object", "required": ["port"], "properties": {
        "port": {**_INT32, "minimum": 1, "maximum": 65535}, "protocol": {"type": "string"}}},
    "webhook": {"type": "string", "maxLength": WEBHOOK_MAX},
}
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "image", "resources", "workers", "containerVolumeInGb", "serviceMode"],
    "properties": {**_COMMON, "image": {"type": "string", "minLength": 1, "maxLength": 255},
                   "imageRegistry": {"type": "string"}, "containerRegistryAuthId": _ID,
                   "serviceMode": {"enum": ["ALB", "QUEUE", "CUSTOM"]}},
}
UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "resources", "workers", "containerVolumeInGb"],
    "properties": {**_COMMON, "credentialId": _ID},
}
_SCHEMAS = {"create": CREATE_SCHEMA, "update": UPDATE_SCHEMA}
# v1 spellings, and each request's other credential key: named in the error, with v2's word
_MISSPELT = {"webhookUrl": "webhook"}
_MISSPELT_CREATE = {**_MISSPELT, "credentialId": "containerRegistryAuthId"}
_MISSPELT_UPDATE = {**_MISSPELT, "containerRegistryAuthId": "credentialId"}
_TO_V1 = {"containerRegistryAuthId": "credentialId", "webhook": "webhookUrl",
          "envVars": "environmentVars"}


@cache
def _validator(which: str) -> Any:
    return spec.schema_validator(_SCHEMAS[which])


def _check(which: str, body: Any, misspelt: dict[str, str]) -> dict[str, Any]:
    """``body`` without its nulls, once every key (a null one too) is a v2 field of the request
    and the rest satisfies the schema."""
    if not isinstance(body, dict):
        raise spec.RequestInvalid("body: a JSON object is required")
    for wrong, right in misspelt.items():
        if wrong in body:
            raise spec.RequestInvalid(f"{wrong}: not a v2 {which} field; v2 spells it {right!r}")
    if "environmentVars" in body and "envVars" in body:
        raise spec.RequestInvalid("envVars: give environmentVars or envVars, not both")
    unknown = sorted(k for k in body if k not in _SCHEMAS[which]["properties"])
    if unknown:
        raise spec.RequestInvalid(f"{unknown[0]}: not a v2 {which} field")
    given = {k: v for k, v in body.items() if v is not None}
    spec.first_error(_validator(which), given)
    return given


def _v1_names(body: dict[str, Any]) -> dict[str, Any]:
    out = {_TO_V1.get(k, k): v for k, v in body.items()}
    if out.get("credentialId") is not None:
        out["credentialId"] = str(out["credentialId"])  # v1's world keeps ids as strings
    return out


def prepare(op: str, path_values: dict[str, str], query: dict[str, list[str]],
            body: Any) -> tuple[dict[str, Any], Any]:
    """Typed parameters and a body in v1's names (an update's body is a patch: None clears).

    Raises RequestInvalid (answered 400, code 10001) when the request breaks a v2 rule."""
    if op == VM_TYPES:
        return {}, None
    params = spec.parse_params(spec.route_of(op), path_values, query)
    if op == "endpointCreate":  # the SDK leaves out what is None: a null is "not given"
        return params, _v1_names(_check("create", body, _MISSPELT_CREATE))
    if op == "endpointUpdate":  # a patch: a null clears the field
        given = _check("update", body, _MISSPELT_UPDATE)
        return params, _v1_names(given) | {_TO_V1.get(k, k): None for k in body if k not in given}
    if op == "endpointScale":
        counts = query.get("count")
        if not counts or not re.fullmatch(r"[0-9]{1,9}", counts[-1]):
            raise spec.RequestInvalid("count: a non-negative integer query parameter is required")
        return params, {"workers": int(counts[-1])}
    return params, None  # stop/start/delete carry no body (the SDK posts {})


# -- running and answering ----------------------------------------------------------------------

_UPDATABLE = ("minSingleCardVramInGb", "minSingleCardVcpu", "minSingleCardRamInGb",
              "initializationCommand", "environmentVars", "expose", "webhookUrl")


def _current(dep: dict[str, Any]) -> dict[str, Any]:
    """A deployment's configuration as a full v1 update body: what a PATCH starts from."""
    body = {"name": dep["name"], "resources": dep["resources"], "workers": dep["workers_wanted"],
            "containerVolumeInGb": dep["containerVolumeInGb"]}
    body.update({k: dep[k] for k in _UPDATABLE if dep.get(k) not in (None, "", [])})
    if dep.get("credentialId") is not None:
        body["credentialId"] = str(dep["credentialId"])
    return body


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def endpoint_view(world: World, v1: dict[str, Any]) -> dict[str, Any]:
    view = {("webhook" if k == "webhookUrl" else k): v for k, v in v1.items()}
    view["webhook"] = view.get("webhook") or None
    dep = world.deployments.get(str(v1["id"]))
    if dep is not None:
        view["createdAt"] = _ms(dep["created"])
    return view


def worker_view(dep: dict[str, Any], v1: dict[str, Any]) -> dict[str, Any]:
    created = next((w["created"] for w in dep["workers"] if w["id"] == v1["id"]), 0.0)
    rest = {k: v for k, v in v1.items() if k != "id"}
    return {"workerId": v1["id"], **rest, "createdAt": _ms(created)}


def run(dispatch: Callable[[str, dict[str, Any], Any], Any], world: World, capacity: Capacity,
        op: str, params: dict[str, Any], body: Any) -> Any:
    """The ``data`` of the answer to a prepared v2 request (ApiFailure for business errors)."""
    if op == VM_TYPES:
        return capacity.vm_types()
    with world.lock:  # a PATCH reads and writes the deployment in one step
        if op == "endpointUpdate":
            merged = _current(world.get(params["id"]))
            for key, value in body.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            body = merged
        data = dispatch(op, params, body)
        if op in ("endpointCreate", "endpointUpdate", "endpointDetail"):
            return endpoint_view(world, data)
        if op == "endpointList_1":
            return [endpoint_view(world, d) for d in data]
        if op == "endpointWorkers":
            dep = world.get(params["id"])
            return [worker_view(dep, w) for w in data]
        if op == "queryWorkerLogs":
            return data
        return True  # stop, start, delete, scale: OpenAPI's SuccessResponse
