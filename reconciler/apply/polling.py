"""A wait step: poll a deployment until it has the status the step awaits (ARCHITECTURE.md §3:
done means the declared status, seen by two polls in a row when apply will report it done)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reconciler.api.client import YottaClient
from reconciler.api.facts import RUNNING
from reconciler.api.models import Deployment
from reconciler.apply.events import Event, Interrupted
from reconciler.apply.waiting import PollDelay, SettleTimes, Waiting, check_wait
from reconciler.ops import StepOutcome
from reconciler.plan.model import Step

__all__ = ["Waits"]


class Waits:
    """Every wait of one apply: the polls, and how long waits of each kind take in this run."""

    def __init__(self, client: YottaClient, waiting: Waiting, stop: threading.Event,
                 on_event: Callable[[Event], None]) -> None:
        self.client, self.waiting, self.stop, self.on_event = client, waiting, stop, on_event
        self._settle = SettleTimes()

    def until(self, name: str, step: Step, dep_id: str, started: float,
              confirm: bool = False) -> Deployment:
        """Poll until the deployment reaches what ``step`` awaits. ``confirm`` (the last step
        of a change: apply reports it done): two polls in a row must show it, so a status
        that flips back and forth ends in an error at the deadline, never in success."""
        began = time.monotonic()
        deadline = began + self.waiting.timeout
        kind = (step.until, step.workers is not None)
        # a poll before the usual settle time cannot succeed: don't spend the rate limit on it
        if self.stop.wait(self._settle.expected(kind)):
            raise Interrupted()
        pause = PollDelay(self.waiting)
        in_a_row = left_again = 0
        while True:
            dep = self.client.detail(dep_id)
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
            if self.stop.wait(pause.after((dep.status, dep.runningWorkers))):
                raise Interrupted()
