"""The last check before a create is sent: no live deployment carries the name, and the state
maps none to a live id (ARCHITECTURE.md §3: a name is never live twice).

The API has no create-if-absent, so the executor looks at a list of live deployments taken
moments before. One list serves every create that asks while it is fresh: a wave of creates
costs one list call, not one each (300 creates at --parallelism 10 make a few lists, not 300).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from reconciler.api.models import Deployment
from reconciler.errors import YottactlError
from reconciler.state.model import State

FRESH_SECONDS = 2.0  # a list this recent is "the moment the create is sent"


class NameTaken(YottactlError):
    """A create was refused: its name is live (or mapped) already."""


class CreateGuard:
    def __init__(self, list_live: Callable[[], Sequence[Deployment]],
                 fresh_seconds: float = FRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._list_live, self._fresh, self._clock = list_live, fresh_seconds, clock
        self._cond = threading.Condition()
        self._live: Sequence[Deployment] | None = None
        self._taken_at = 0.0
        self._listing = False
        self.lists = 0  # list calls made (for tests and benches)

    def _snapshot(self) -> Sequence[Deployment]:
        """A list taken at most ``fresh_seconds`` before the caller asked; concurrent callers
        share one list call."""
        asked = self._clock()
        with self._cond:
            while True:
                if self._live is not None and self._taken_at >= asked - self._fresh:
                    return self._live
                if not self._listing:
                    self._listing = True
                    break
                self._cond.wait()
        try:
            live = self._list_live()
        except BaseException:
            with self._cond:
                self._listing = False
                self._cond.notify_all()
            raise
        with self._cond:
            # fresh from when it arrived: a list slower than the window (a huge fleet) still
            # serves the creates behind it instead of making each wait for a list of its own
            self.lists += 1
            self._live, self._taken_at, self._listing = live, self._clock(), False
            self._cond.notify_all()
            return live

    def check(self, name: str, state: State, gone: Collection[str],
              renamed: Mapping[str, str] | None = None) -> None:
        """Raise :class:`NameTaken` unless ``name`` may be created now. ``gone``: ids this run
        deleted (a replace deletes the old deployment of the name before it creates);
        ``renamed``: id -> the name this run gave it since (a swap moved it off the name)."""
        live = [d for d in self._snapshot() if d.id not in gone]
        renamed = renamed or {}
        holders = sorted(d.id for d in live if renamed.get(d.id, d.name) == name)
        entry = state.deployments.get(name)
        if entry is not None and any(d.id == entry.id for d in live):
            holders = sorted({*holders, entry.id})
        if holders:
            raise NameTaken(
                f"{name}: not created: live deployment {', '.join(holders)} already carries "
                "the name or is managed under it; creating it would make a second deployment "
                "of this name",
                hint="run `yottactl plan` again: it adopts the live deployment or reports it")
