"""Waiting for a deployment to settle: how long to wait, what is awaited, and how long waits
of one kind usually take in this run (so apply skips polls that cannot succeed yet)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from reconciler.api.facts import FAILED, RUNNING
from reconciler.api.models import Deployment
from reconciler.errors import YottactlError
from reconciler.plan.model import Step

__all__ = ["PollDelay", "SettleTimes", "Waiting", "awaited", "check_wait"]


@dataclass(frozen=True)
class Waiting:
    timeout: float = 900.0
    first_poll: float = 0.05
    max_poll: float = 5.0
    list_gap: float = 0.5  # seconds between list calls that poll several waits at once


class PollDelay:
    """How long to pause before the next poll of one wait: short after progress (a status and
    worker count not seen before in this wait), doubling up to ``max_poll`` otherwise. A status
    that flips back and forth only revisits what was seen, so it backs off like no change: a
    reset on every flip polled a flapping deployment ~18 times a second until the deadline
    (16,000 calls at --timeout 900, the rate limit's budget)."""

    def __init__(self, waiting: Waiting) -> None:
        self._first, self._max = waiting.first_poll, waiting.max_poll
        self._next = self._first
        self._seen: set[object] = set()

    def after(self, observed: object, asked: bool = True) -> float | None:
        """The pause after a poll that saw ``observed``; None (keep the schedule) after an
        answer this wait did not ask for yet (``asked`` False: a poll shared with other waits)
        that shows nothing new, so other waits' polls do not stretch this one's backoff."""
        if observed not in self._seen:  # progress: look again soon
            self._seen.add(observed)
            self._next = self._first
        elif not asked:
            return None
        delay, self._next = self._next, min(self._next * 2, self._max)
        return delay


class SettleTimes:
    """How long waits of one kind usually take in this run, to skip polls that cannot succeed.

    The expectation is 80% of the fastest recent settle time, so an early finisher is still
    caught; with no observation yet it is 0 (poll at once).
    """

    def __init__(self) -> None:
        self._recent: dict[object, list[float]] = {}
        self._lock = threading.Lock()

    def expected(self, kind: object) -> float:
        with self._lock:
            recent = self._recent.get(kind)
            return 0.8 * min(recent) if recent else 0.0

    def observe(self, kind: object, seconds: float) -> None:
        with self._lock:
            recent = self._recent.setdefault(kind, [])
            recent.append(seconds)
            del recent[:-16]


def awaited(step: Step) -> str:
    """What a wait step waits for, in words: "3 running workers" or "status STOPPED"."""
    if step.workers and RUNNING in step.until:
        return f"{step.workers} running worker{'s' if step.workers != 1 else ''}"
    return f"status {'|'.join(step.until)}"


def check_wait(name: str, step: Step, dep: Deployment, deadline: float, timeout: float,
               left_again: int) -> None:
    """A wait that cannot succeed any more (FAILED) or ran out of time (``deadline``, on the
    monotonic clock) is a clean error; ``left_again``: how often it reached the awaited status
    and left it (a status that flips)."""
    if dep.status == FAILED and FAILED not in step.until:
        raise YottactlError(f"{name} ended FAILED while waiting for {awaited(step)}",
                            hint=f"see why with `yottactl logs {name}` and "
                                 f"`yottactl workers {name} --all`")
    if time.monotonic() <= deadline:
        return
    flipping = (f"; it reached {awaited(step)} {left_again}x but left it again each time"
                if left_again else "")
    raise YottactlError(
        f"{name}: timed out after {timeout:g}s waiting for {awaited(step)} (status "
        f"{dep.status}, {dep.runningWorkers or 0} running){flipping}",
        hint=f"look at `yottactl logs {name}` and `yottactl workers {name}`; raise --timeout "
             f"if it is only slow, or follow it with `yottactl wait {name}`")
