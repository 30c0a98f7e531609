"""A wait step: poll a deployment until it has the status the step awaits (ARCHITECTURE.md §3:
done means the declared status, seen by two polls in a row when apply will report it done).

Waits share their polls (:class:`StatusBoard`): N deployments waiting at once cost one ``list``
call per poll, not N ``detail`` calls, so the rate budget goes to creates and updates.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from reconciler.api.client import YottaClient
from reconciler.api.facts import RUNNING
from reconciler.api.models import Deployment
from reconciler.apply.events import Event, Interrupted
from reconciler.apply.waiting import PollDelay, SettleTimes, Waiting, check_wait
from reconciler.ops import StepOutcome
from reconciler.plan.model import Step

__all__ = ["StatusBoard", "Waits"]

IDLE_SHARE = 0.2  # of list_gap between lists when only waits are left (0.1 s: 10 lists/s at most)
_PATIENCE = 0.5  # seconds between looks at the stop event while a poll is awaited


class StatusBoard:
    """Status polls shared by every wait of one apply.

    Each wait names the deployment it watches and when it wants a poll at the latest; the first
    wait that is due polls for all: one ``list`` call while two or more deployments are watched
    (one call however many deployments exist), else one ``detail`` call. Every watched
    deployment takes its status from that poll. While some deployment makes calls (``busy``),
    lists are at least ``Waiting.list_gap`` apart, so waits due at different moments share one
    and the rate budget goes to the calls; when only waits are left, a list is made as soon as
    a wait is due, at most every ``IDLE_SHARE`` x ``list_gap`` seconds. A wait takes an
    answer only from a poll started after it began (after the call it waits for returned).
    """

    def __init__(self, client: YottaClient, waiting: Waiting,
                 busy: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._gap, self._busy, self._clock = client, waiting.list_gap, busy, clock
        self._cond = threading.Condition()
        self._watched: Counter[str] = Counter()  # id -> how many waits watch it
        self._seen: dict[str, tuple[int, Deployment | None]] = {}  # id -> (poll number, answer)
        self._started = 0  # polls started so far (the next poll's number)
        self._polling = False
        self._listed_at = float("-inf")

    def mark(self) -> int:
        """The number of the next poll: a wait beginning now takes answers from it on."""
        with self._cond:
            return self._started

    def observe(self, dep_id: str, newer: int, due: float,
                stop: threading.Event) -> tuple[int, Deployment]:
        """``dep_id`` as a poll numbered ``newer`` or later showed it, with that number; a poll
        is started at ``due`` (monotonic) unless one comes sooner."""
        with self._cond:
            self._watched[dep_id] += 1
            try:
                while (seen := self._seen.get(dep_id)) is None or seen[0] < newer:
                    if stop.is_set():
                        raise Interrupted()
                    gap = self._gap if self._busy() else self._gap * IDLE_SHARE
                    start_at = max(due, self._listed_at + gap) if len(self._watched) > 1 else due
                    now = self._clock()
                    if not self._polling and now >= start_at:
                        self._poll(set(self._watched))
                    else:
                        self._cond.wait(_PATIENCE if self._polling
                                        else min(start_at - now, _PATIENCE))
            finally:
                self._watched[dep_id] -= 1
                if not self._watched[dep_id]:
                    del self._watched[dep_id]
                    self._seen.pop(dep_id, None)  # nobody watches it: forget the answer
        number, dep = seen
        # not in the list (a list that lags a create): ask for it alone (NotFound if gone)
        return number, dep if dep is not None else self._client.detail(dep_id)

    def _poll(self, ids: set[str]) -> None:
        """One poll for ``ids``; called with the lock held, which it gives up for the call."""
        self._polling, number = True, self._started
        self._started += 1
        answers: dict[str, Deployment | None] = {}
        sent = self._clock()
        self._cond.release()
        try:
            if len(ids) > 1:
                live = {d.id: d for d in self._client.list()}
                answers = {i: live.get(i) for i in ids}
            else:
                answers = {i: self._client.detail(i) for i in ids}
        finally:
            self._cond.acquire()
            self._polling = False
            self._cond.notify_all()
        if len(ids) > 1:
            self._listed_at = sent
        for i, dep in answers.items():
            self._seen[i] = (number, dep)


class Waits:
    """Every wait of one apply: the shared polls, and how long waits of each kind take."""

    def __init__(self, client: YottaClient, waiting: Waiting, stop: threading.Event,
                 on_event: Callable[[Event], None],
                 busy: Callable[[], bool] = lambda: True) -> None:
        self.waiting, self.stop, self.on_event = waiting, stop, on_event
        self.board = StatusBoard(client, waiting, busy)
        self._settle = SettleTimes()

    def until(self, name: str, step: Step, dep_id: str, started: float,
              confirm: bool = False) -> Deployment:
        """Poll until the deployment reaches what ``step`` awaits. ``confirm`` (the last step
        of a change: apply reports it done): two polls in a row must show it, so a status
        that flips back and forth ends in an error at the deadline, never in success."""
        began = time.monotonic()
        deadline = began + self.waiting.timeout
        kind = (step.until, step.workers is not None)
        newer = self.board.mark()
        # a poll before the usual settle time cannot succeed: don't spend the rate limit on it
        due = began + self._settle.expected(kind)
        pause = PollDelay(self.waiting)
        in_a_row = left_again = 0
        while True:
            number, dep = self.board.observe(dep_id, newer, due, self.stop)
            newer = number + 1  # the next answer comes from a later poll
            if dep.status in step.until and (
                step.workers is None or dep.status != RUNNING
                or (dep.runningWorkers or 0) >= step.workers
            ):
                in_a_row += 1
                if in_a_row > 1 or not confirm:
                    self._settle.observe(kind, time.monotonic() - began)
                    return dep
                # one confirming poll, even past the deadline (it is one call)
            else:
                left_again += in_a_row > 0
                in_a_row = 0
                check_wait(name, step, dep, deadline, self.waiting.timeout, left_again)
            self.on_event(Event(name, step.describe(), StepOutcome.STATUS,
                                time.monotonic() - started, str(dep.status), status=dep.status,
                                running=dep.runningWorkers, wanted=step.workers))
            now = time.monotonic()
            delay = pause.after((dep.status, dep.runningWorkers), asked=now >= due)
            due = due if delay is None else now + delay
