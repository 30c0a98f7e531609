"""Print a pip constraints file that pins every dependency declared in pyproject.toml (runtime
and every extra) at its declared minimum, so CI proves the floors we publish actually work.

A dependency without a `>=` floor is an error: an untested lower bound is how `deepdiff>=8`
once allowed a release that crashed every plan.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the venv's pip vendors a TOML reader
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def floors(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _REQ.match(requirement)
        if not match:
            raise SystemExit(f"cannot read requirement {requirement!r}")
        name, specifiers = match.group(1).lower(), match.group(3)
        floor = re.search(r"(?:>=|==)\s*([0-9][^,\s]*)", specifiers)  # an exact pin is its own floor
        if not floor:
            raise SystemExit(f"{name}: no `>=` floor declared in pyproject.toml")
        pins[name] = floor.group(1)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print("\n".join(floors(root / "pyproject.toml")))
