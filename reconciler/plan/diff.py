"""Field-level differences of two essences, as our own :class:`FieldChange` values.

deepdiff finds the differences; its output format stops here. Sensitive paths are masked:
the change says *that* the value changed, never what it was or became.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.plan.model import FieldChange
from reconciler.plan.normalize import Essence, is_sensitive

_MISSING = "(absent)"


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def diff(before: Essence, after: Essence, sensitive: Iterable[str] = ()) -> tuple[FieldChange, ...]:
    """Differences from ``before`` to ``after``; empty when equal (deepdiff is not even called)."""
    if before == after:
        return ()
    from deepdiff import DeepDiff  # imported only when something differs

    secret = tuple(sensitive)
    changes: dict[str, FieldChange] = {}
    tree = DeepDiff(before.plain(), after.plain(), view="tree", verbose_level=2)
    for kind in tree:
        for level in tree[kind]:
            parts = level.path(output_format="list")
            path = _path(parts)
            old = _MISSING if kind.endswith("_added") else level.t1
            new = _MISSING if kind.endswith("_removed") else level.t2
            hidden = is_sensitive(path, secret)
            changes[path] = FieldChange(
                path=path,
                before=None if hidden else _plain(old),
                after=None if hidden else _plain(new),
                sensitive=hidden,
            )
    return tuple(changes[p] for p in sorted(changes))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)
