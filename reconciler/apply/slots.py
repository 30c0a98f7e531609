"""--parallelism as slots: how many deployments are being changed at the same time.

A deployment that waits for its status gives its slot back for the wait and takes one again
before its next call, so a wait (seconds to minutes of a GPU cold start) never keeps another
deployment's create or scale from being sent. Before, 120 creates at --parallelism 10 spent
most of their time with all ten slots held by waits while the rate budget went unused (1.7x the
time the API's rate limit needs for their calls; 1.08x at --parallelism 32). A change that
stops its deployment (an update of a running one, a restart, a delete) keeps its slot through
its waits: at most N deployments are down for a change at once (--parallelism 1 updates a
fleet one deployment at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.apply.events import Interrupted

__all__ = ["WAITING_THREADS", "Slots"]

WAITING_THREADS = 256  # deployments in progress at once (most of them waiting), at most
_PATIENCE = 0.5  # seconds between looks at the stop event while a slot is busy


class Slots:
    def __init__(self, parallelism: int, stop: threading.Event) -> None:
        self._free = threading.Semaphore(max(1, parallelism))
        self._stop = stop
        self._mine = threading.local()

    def _take(self) -> None:
        while not self._free.acquire(timeout=_PATIENCE):
            if self._stop.is_set():
                raise Interrupted()
        self._mine.held = True

    def _give(self) -> None:
        if getattr(self._mine, "held", False):
            self._mine.held = False
            self._free.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        """One slot for this thread until the block ends (raises Interrupted if stopped while
        every slot is busy)."""
        self._take()
        try:
            yield
        finally:
            self._give()

    @contextmanager
    def lent(self) -> Iterator[None]:
        """This thread's slot is free for others during the block (a wait); taken back after.
        A thread holding none (a rename unit's own threads: the unit holds one) lends nothing."""
        if not getattr(self._mine, "held", False):
            yield
            return
        self._give()
        yield  # an error ends the deployment's work: no slot to take back (held() gives none)
        self._take()
