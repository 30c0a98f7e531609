"""Running renames in the planner's order (plan/renames.py): a step that gives a deployment a
name waits until the changes named in its ``after`` have let go of that name.

Changes that wait on each other run as one unit, each on its own thread: a unit holds one
slot of ``--parallelism``, so a swap at ``--parallelism 1`` cannot wait on a change that never
gets a thread. A rename can only let go of its name from a thread of its own: a swap's two
sides both stop, then the first goes through its temporary name and the second follows.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

from reconciler.errors import YottactlError
from reconciler.plan.model import Change

POLL_STOP_SECONDS = 0.2  # how soon a waiting rename notices Ctrl-C


class NameOrder:
    """Which planned changes have let go of the name their deployment carried live."""

    def __init__(self, changes: Collection[Change]) -> None:
        self._planned = {c.name for c in changes}
        self._released: set[str] = set()
        self._ended: set[str] = set()
        self._cond = threading.Condition()

    def release(self, name: str) -> None:
        with self._cond:
            self._released.add(name)
            self._cond.notify_all()

    def end(self, name: str) -> None:
        """``name``'s change finished (or failed, or was interrupted)."""
        with self._cond:
            self._ended.add(name)
            self._cond.notify_all()

    def wait(self, name: str, after: Sequence[str], stop: threading.Event) -> bool:
        """Wait until every change in ``after`` has released its name. False: ``stop`` was
        set first. Raises if one of them ended without releasing it (it failed)."""
        with self._cond:
            while True:
                pending = [a for a in after if a in self._planned and a not in self._released]
                if not pending:
                    return True
                stuck = [a for a in pending if a in self._ended]
                if stuck:
                    raise YottactlError(
                        f"{name}: not renamed: the deployment of {stuck[0]} still carries the "
                        f"name {name} (its change did not get that far), and two live "
                        "deployments must never share a name",
                        hint="fix what stopped that change and run `yottactl apply` again")
                if stop.is_set():
                    return False
                self._cond.wait(POLL_STOP_SECONDS)


def units(changes: Sequence[Change]) -> list[list[Change]]:
    """The changes grouped by who waits on whom (in their given order): one list per group."""
    parent = {c.name: c.name for c in changes}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for change in changes:
        for step in change.steps:
            for other in step.after:
                if other in parent:
                    parent[root(other)] = root(change.name)
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(root(change.name), []).append(change)
    return list(groups.values())
