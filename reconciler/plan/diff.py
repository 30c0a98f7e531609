"""Field-level differences of two essences, as our own :class:`FieldChange` values.

deepdiff finds the differences; its output format stops here. Sensitive paths are masked:
the change says *that* the value changed, never what it was or became.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.fields import field_path
from reconciler.plan.model import FieldChange
from reconciler.plan.normalize import Essence, is_sensitive

_MISSING = "(absent)"


class _Absent:
    """A key one side lacks (a sentinel: "(absent)" could be a real value)."""


_ABSENT = _Absent()



def diff(before: Essence, after: Essence, sensitive: Iterable[str] = ()) -> tuple[FieldChange, ...]:
    """Differences from ``before`` to ``after``; empty when equal (deepdiff is not even called)."""
    if before == after:
        return ()
    old_plain, new_plain = before.plain(), after.plain()
    found = _flat_changes(old_plain, new_plain)
    if found is None:
        found = _deep_changes(old_plain, new_plain)
    secret = tuple(sensitive)
    changes = []
    for path in sorted(found):
        old, new = found[path]
        hidden = is_sensitive(path, secret)
        changes.append(FieldChange(path=path, before=None if hidden else _plain(old),
                                   after=None if hidden else _plain(new), sensitive=hidden))
    return tuple(changes)


def _deep_changes(before: dict[str, object], after: dict[str, object]
                  ) -> dict[str, tuple[object, object]]:
    """Every difference, found by deepdiff: path -> (before, after), _MISSING for absent."""
    from deepdiff import DeepDiff  # imported only when something nested differs

    changes: dict[str, tuple[object, object]] = {}
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    for kind in tree:
        for level in tree[kind]:
            path = field_path(level.path(output_format="list"))
            changes[path] = (_MISSING if kind.endswith("_added") else level.t1,
                             _MISSING if kind.endswith("_removed") else level.t2)
    return changes


def _flat_changes(before: dict[str, object], after: dict[str, object],
                  ) -> dict[str, tuple[object, object]] | None:
    """The common case without deepdiff (its import is ~7% of a 1,000-deployment plan): only
    top-level values and environment variables differ. None when anything else does (a
    resource, the expose block, a value turning into a collection): deepdiff decides those.
    ``tests/test_diff_differential.py`` holds this to deepdiff's answers."""
    changes: dict[str, tuple[object, object]] = {}
    for key, old in before.items():
        new = after.get(key, _ABSENT)
        if old == new and type(old) is type(new):
            continue
        if key == "environmentVars" and type(old) is dict and type(new) is dict:
            names = old.keys() | new.keys()
            if len(names) > 1 and len(old.keys() & new.keys()) < 0.5 * len(names):
                return None  # deepdiff shows a mostly new mapping whole (threshold_to_diff_deeper)
            for name in names:
                was, now = old.get(name, _ABSENT), new.get(name, _ABSENT)
                if was == now:
                    continue
                if not isinstance(was, (str, _Absent)) or not isinstance(now, (str, _Absent)):
                    return None
                changes[field_path([key, name])] = (_MISSING if was is _ABSENT else was,
                                               _MISSING if now is _ABSENT else now)
            continue
        if isinstance(old, (dict, list, tuple)) or isinstance(new, (dict, list, tuple, _Absent)):
            return None
        changes[key] = (old, new)
    if after.keys() - before.keys():
        return None
    return changes


def _plain(value: object) -> object:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)
