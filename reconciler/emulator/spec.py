"""Request validation against the vendored OpenAPI document (``openapi.json``).

Deliberately independent of the client's pydantic models: a schema mistake must not hide on both
sides. Routes, parameter types and body schemas all come from the document itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SPEC_URI = "urn:yotta-elastic-v1"


class RequestInvalid(Exception):
    """A request that does not satisfy the spec: message says which field and which rule."""


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation_id: str
    regex: re.Pattern[str]
    params: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    path_names: tuple[str, ...] = field(default=())


@cache
def spec() -> dict[str, Any]:
    text = resources.files("reconciler.emulator").joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _registry() -> Any:
    resource = Resource.from_contents(spec(), default_specification=_draft())
    return Registry().with_resource(SPEC_URI, resource)


def _draft() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


_FORMATS = FormatChecker()


@_FORMATS.checks("int32")  # type: ignore[untyped-decorator]
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")  # type: ignore[untyped-decorator]
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """`pattern` with ECMA-262 semantics, as OpenAPI/JSON Schema define it: a final `$` is the
    end of the string. Python's `$` also matches before a trailing newline, which let a name
    such as "abc\\n" through."""
    if not validator.is_type(instance, "string"):
        return
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
    if not re.search(python, instance):
        from jsonschema import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator_class() -> Any:
    from jsonschema import validators

    return validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema that is not in the document (the v2 façade's), with the same
    ECMA-262 patterns and integer formats."""
    validator: Draft202012Validator = _validator_class()(schema, format_checker=_FORMATS)
    return validator


def first_error(validator: Draft202012Validator, body: Any) -> None:
    """Raise RequestInvalid for the first violation, naming the field and the rule."""
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "body"
        raise RequestInvalid(f"{where}: {first.message} (rule: {first.validator})")


@cache
def _validator(ref: str) -> Draft202012Validator:
    validator: Draft202012Validator = _validator_class()(
        {"$ref": f"{SPEC_URI}{ref}"}, registry=_registry(), format_checker=_FORMATS
    )
    return validator


@cache
def routes() -> tuple[Route, ...]:
    found: list[Route] = []
    for template, item in spec()["paths"].items():
        names = tuple(re.findall(r"{(\w+)}", template))
        pattern = "^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", template) + "$"
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(
                Route(
                    method=method.upper(),
                    template=template,
                    operation_id=op["operationId"],
                    regex=re.compile(pattern),
                    params=tuple(op.get("parameters", ())),
                    body_schema=body.get("schema"),
                    path_names=names,
                )
            )
    # literal segments win over {id}: /list must not be read as an id
    found.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
    return tuple(found)


def route_of(operation_id: str) -> Route:
    return next(r for r in routes() if r.operation_id == operation_id)


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a request, or None. A path that matches with another method is not a match."""
    for route in routes():
        m = route.regex.fullmatch(path)
        if m and route.method == method:
            return route, m.groupdict()
    return None


def path_exists(path: str) -> bool:
    return any(r.regex.fullmatch(path) for r in routes())


def _coerce(name: str, raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            raise RequestInvalid(f"{name}: {raw!r} is not an integer") from None
        if schema.get("format") == "int64" and not -(2**63) <= value < 2**63:
            raise RequestInvalid(f"{name}: {raw} is out of int64 range")
        if schema.get("format") == "int32" and not -(2**31) <= value < 2**31:
            raise RequestInvalid(f"{name}: {raw} is out of int32 range")
        return value
    return raw


def parse_params(
    route: Route, path_values: dict[str, str], query: dict[str, list[str]]
) -> dict[str, Any]:
    """Typed parameters, validated against the spec. Arrays accept repeated and comma forms."""
    out: dict[str, Any] = {}
    for param in route.params:
        name, where, schema = param["name"], param["in"], param.get("schema", {})
        if where == "path":
            out[name] = _coerce(name, path_values[name], schema)
            continue
        values = query.get(name)
        if not values:
            if param.get("required"):
                raise RequestInvalid(f"{name}: required query parameter is missing")
            continue
        if schema.get("type") == "array":
            items = [v for raw in values for v in raw.split(",") if v != ""]
            out[name] = [_coerce(name, v, schema.get("items", {})) for v in items]
        else:
            out[name] = _coerce(name, values[-1], schema)
    return out


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = spec()["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def coerce_numbers_to_strings(schema: dict[str, Any] | None, value: Any) -> Any:
    """``value`` with JSON integers turned into strings wherever ``schema`` says string.

    Yotta's backend is Java/Spring, whose JSON binding coerces a number to a String field, and
    Yotta's own SDK sends ``credentialId`` as an integer (361530338086227968). Python's json
    keeps such integers exact, so ``str`` gives the same 18 digits (never through a float)."""
    if schema is None:
        return value
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "string" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: coerce_numbers_to_strings(props.get(k), v) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce_numbers_to_strings(schema["items"], v) for v in value]
    return value


def validate_body(route: Route, body: Any) -> None:
    if route.body_schema is None:
        return
    first_error(_validator(route.body_schema.get("$ref", "")), body)
