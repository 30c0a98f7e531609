"""Reading the API's answers into the models: the first wrong field named (never its value),
an id listed twice refused, ids for URL paths checked (docs/ARCHITECTURE.md §1)."""

from __future__ import annotations

import builtins
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.errors import BadResponse
from reconciler.redact import clip

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object, *, operation: str, deployment: str | None = None,
          where: str = "data") -> M:
    """``data`` as ``model``, or a :class:`BadResponse` naming the first wrong field (never
    its value: it may be a secret)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join([where, *(str(p) for p in first["loc"])])
        raise BadResponse(f"unexpected answer: field {field}: {first['msg'].lower()} "
                          f"(got {type(first['input']).__name__})", operation=operation,
                          deployment=deployment) from None


def parse_list(model: type[M], data: object, *, operation: str,
               deployment: str | None = None) -> builtins.list[M]:
    if data is None:
        return []
    items = check_list(data, operation=operation, deployment=deployment)
    return [parse(model, item, operation=operation, deployment=deployment, where=f"data[{i}]")
            for i, item in enumerate(items)]


def check_list(data: object, *, operation: str, deployment: str | None) -> builtins.list[object]:
    """``data`` itself, known to be a list; else a :class:`BadResponse`."""
    if not isinstance(data, builtins.list):
        raise BadResponse(f"unexpected answer: field data: expected a list, got "
                          f"{type(data).__name__}", operation=operation, deployment=deployment)
    return data


class OncePerList(dict[str, str | None]):
    """id -> name seen in one list answer: an id listed twice (under one name or two) is a
    malformed answer; planning on it would act twice on one deployment. API text is shown
    escaped (repr) and cut short."""

    def check(self, dep_id: str, name: str | None) -> None:
        if dep_id in self:
            first, shown = self[dep_id], clip(repr(name), 60)
            how = (f"twice as {shown}" if first == name
                   else f"as both {clip(repr(first), 60)} and {shown}")
            raise BadResponse(f"unexpected answer: deployment id {clip(repr(dep_id), 60)} is "
                              f"listed {how}; a list names each deployment once", operation="list")
        self[dep_id] = name


def path_id(value: str, *, operation: str, what: str = "deployment") -> int:
    """An id for a URL path: ids are 18-digit numbers (kept exact: never through a float)."""
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise BadResponse(f"field id: the {what} id {text[:40]!r} is not a number",
                          operation=operation)
    return int(text)
