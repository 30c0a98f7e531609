"""``${env:NAME}`` interpolation plus the size/depth guard, in one pass over a loaded document.

Pure: takes the environment as a mapping. Every string that received a value from the
environment is recorded as *sensitive* by its path, so later stages never print it.
``$${`` escapes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 64
MAX_NODES = 100_000  # a manifest has ~50 values; alias bombs expand to billions

Path = tuple[str | int, ...]
_TOKEN = re.compile(r"\$\$\{|\$\{env:([^}]*)\}")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DocumentTooComplex(Exception):
    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class Interpolated:
    value: Any
    sensitive: set[Path] = field(default_factory=set)
    templates: dict[Path, str] = field(default_factory=dict)  # sensitive path -> raw text
    missing: list[tuple[Path, str]] = field(default_factory=list)


def interpolate(document: Any, environ: Mapping[str, str]) -> Interpolated:
    """A copy of ``document`` with variables substituted; raises :class:`DocumentTooComplex`."""
    result = Interpolated(None)
    budget = [MAX_NODES]

    def sub(text: str, path: Path) -> str:
        if "$" not in text:
            return text
        used = False

        def replace(match: re.Match[str]) -> str:
            nonlocal used
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if not _VAR.match(name) or name not in environ:
                result.missing.append((path, name))
                return match.group(0)  # keep validating the rest of the document
            used = True
            return environ[name]

        out = _TOKEN.sub(replace, text)
        if used:
            result.sensitive.add(path)
            result.templates[path] = text
        return out

    def walk(node: Any, path: Path, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise DocumentTooComplex(
                f"document expands to more than {MAX_NODES} values (YAML alias bomb?)", path
            )
        if depth > MAX_DEPTH:
            raise DocumentTooComplex(f"nesting deeper than {MAX_DEPTH} levels", path)
        if isinstance(node, dict):
            return {k: walk(v, (*path, str(k)), depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i), depth + 1) for i, v in enumerate(node)]
        if isinstance(node, str):
            return sub(node, path)
        return node

    result.value = walk(document, (), 0)
    return result
