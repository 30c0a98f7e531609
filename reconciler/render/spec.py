"""The full desired spec of a create or replace, flattened to display lines (Terraform's `+`).

Shared by the text and Markdown plans. Reads only the plan's masked essence: sensitive values
are fingerprints there and show as ``(sensitive)``; nothing secret is ever in reach.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.plan.model import SENSITIVE_PREFIX, Change

# display order: what it runs, where, how big, how it serves, what it is given, how it starts
_ORDER = ("image", "imageRegistry", "credentialId", "resources", "workers", "containerVolumeInGb",
          "minSingleCardVramInGb", "minSingleCardVcpu", "minSingleCardRamInGb", "serviceMode",
          "expose", "webhookUrl", "environmentVars", "initializationCommand")


def _scalar(value: object) -> str:
    if isinstance(value, str) and value.startswith(SENSITIVE_PREFIX):
        return "(sensitive)"
    return json.dumps(value, ensure_ascii=False)


def spec_lines(change: Change) -> Iterator[tuple[str, str]]:
    """(path, shown value) for every configured field of the desired spec, then ``state``."""
    desired: dict[str, Any] = change.desired.plain() if change.desired else {}
    for key in (*_ORDER, *sorted(k for k in desired if k not in _ORDER)):
        value = desired.get(key)
        if value in (None, "", {}, []):
            continue  # not configured: the API default applies
        if key == "resources":
            for res in value:
                yield f"resources[{res.get('region')}]", (
                    f"{res.get('gpuType')} × {res.get('gpuCount')}")
        elif key == "expose":
            yield "expose", f"{value.get('port')}/{value.get('protocol')}"
        elif key == "environmentVars":
            for env_key in sorted(value):
                yield f"environmentVars.{env_key}", _scalar(value[env_key])
        else:
            yield key, _scalar(value)
    yield "state", _scalar(change.desired_state)


def padded(change: Change) -> list[tuple[str, str]]:
    """``spec_lines`` with paths padded to one column, as Terraform aligns its ``=``."""
    lines = list(spec_lines(change))
    width = max((len(path) for path, _ in lines), default=0)
    return [(path.ljust(width), shown) for path, shown in lines]
