"""Adaptive pacing of API calls: find the API's rate limit instead of guessing a parallelism.

Two controls share one budget for every call a client makes (mutations and wait polls alike):

* a **concurrency limit** (AIMD, like TCP congestion control and Netflix's concurrency-limits)
  under a ceiling (``--parallelism``): TCP's slow start takes it from a few calls to the ceiling
  within a few round trips (so a big apply does not open with a burst of 429s); after that it
  grows by about one per round trip while calls succeed at their usual latency, and shrinks
  multiplicatively on 429/503 or when latency rises well above the best latency seen recently
  (a queue is building somewhere);
* a **send-rate limit** (CUBIC, as in botocore's "adaptive" retry mode): off until the API first
  throttles; then the rate drops to ``BETA`` x the measured send rate and grows back along a cubic
  curve that is flat around the rate that was throttled and probes beyond it only slowly, so a
  client settles just under the API's limit with few 429s.

One throttle event, one decrease: a 429 for a call that was paced *before* the last decrease is
part of the event already answered (TCP cuts its window once per round trip, not once per lost
packet). Without this a single burst cascaded the rate down to a fraction of the limit. Calls
still waiting for their send time when the rate drops queue again at the new pace, spaced from
the last send, instead of going out at the old pace into an empty bucket.

The waiting that ``Retry-After`` asks for happens in the retrying caller *outside* any slot, so a
throttled call never holds up unrelated work; the rate limit slows everyone down a little instead.

:class:`RateController` is the arithmetic on an injected clock (unit-tested with a fake clock);
:class:`AdaptiveLimiter` adds the blocking gate around real calls.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

BETA = 0.7  # multiplicative decrease of the send rate on a throttle (botocore, CUBIC)
PLATEAU = 0.9  # the cubic lingers at this share of the throttled rate (fewer 429s than at 1.0)
CUBIC_C = 0.4  # CUBIC scaling constant (rates in calls/s, time in s)
MIN_RATE = 0.5  # calls/s: never pace slower than this
LATENCY_TOLERANCE = 2.0  # latency above this multiple of the recent best = congestion
RATE_WINDOW = 1.0  # seconds over which the send rate is measured
SLOW_START = 4  # concurrency a run opens with; +1 per success (doubling per round trip)


class Outcome(enum.Enum):
    OK = "ok"
    THROTTLED = "throttled"  # 429 / 503: the API asks us to slow down
    ERROR = "error"  # anything else: says nothing about the API's capacity


@dataclass
class Snapshot:
    concurrency: float
    rate: float | None  # None: no send-rate limit (never throttled yet)
    measured_rate: float


class RateController:
    """The numbers: concurrency limit and send rate, updated from call outcomes."""

    def __init__(self, ceiling: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ceiling = max(1, ceiling)
        self.concurrency = float(min(self.ceiling, SLOW_START))
        self.slow_start = True
        self.rate: float | None = None
        self._w_max = 0.0
        self.decreases = 0  # throttle events answered so far (queued calls re-pace after one)
        self._throttled_at = float("-inf")
        self._best_latency: float | None = None
        self._best_since = clock()
        self._sends: deque[float] = deque()

    def set_ceiling(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.concurrency = min(self.concurrency, float(self.ceiling))

    @property
    def measured_rate(self) -> float:
        """Calls sent in the last RATE_WINDOW seconds, per second (over at least a quarter
        second, so a run's first calls do not read as an enormous rate)."""
        now = self.clock()
        self._trim(now)
        if not self._sends:
            return 0.0
        return len(self._sends) / max(min(RATE_WINDOW, now - self._sends[0]), 0.25)

    def _trim(self, now: float) -> None:
        while self._sends and self._sends[0] <= now - RATE_WINDOW:
            self._sends.popleft()

    @property
    def last_sent(self) -> float:
        return self._sends[-1] if self._sends else float("-inf")

    def sent(self) -> float:
        """Count one call towards the measured send rate; returns its send time."""
        now = self.clock()
        self._sends.append(now)
        self._trim(now)
        return now

    def _cubic(self, now: float) -> float:
        k = float(((self._w_max * (1 - BETA)) / CUBIC_C) ** (1 / 3))
        return CUBIC_C * (now - self._throttled_at - k) ** 3 + self._w_max

    def record(self, outcome: Outcome, latency: float, sent_at: float | None = None) -> None:
        now = self.clock()
        if outcome is Outcome.THROTTLED:
            if sent_at is not None and sent_at <= self._throttled_at:
                return  # paced before we last slowed down: that congestion was already answered
            # the API said "too fast": remember where, and drop below it (from the lower of the
            # pace we had set and what we actually sent: a burst can exceed a pace, a pace can
            # exceed the work there was)
            sending = max(MIN_RATE, self.measured_rate)
            base = sending if self.rate is None else min(self.rate, sending)
            self._w_max = base * PLATEAU  # where the cubic flattens: just under the throttle point
            self._throttled_at = now
            self.decreases += 1
            self.rate = max(MIN_RATE, base * BETA)
            self.concurrency = max(1.0, self.concurrency * BETA)
            self.slow_start = False
            return
        if outcome is Outcome.ERROR:
            return
        self._observe_latency(now, latency)
        if self.rate is not None:
            # grow along the cubic, but never past twice what we actually manage to send
            cap = max(2 * self.measured_rate, MIN_RATE)
            self.rate = max(MIN_RATE, min(self._cubic(now), cap))

    def _observe_latency(self, now: float, latency: float) -> None:
        # the best latency of the last 30 s is the uncongested baseline
        if self._best_latency is None or latency < self._best_latency or now - self._best_since > 30:
            self._best_latency, self._best_since = latency, now
        if latency > LATENCY_TOLERANCE * self._best_latency and latency > 0.05:
            self.concurrency = max(1.0, self.concurrency * 0.9)  # a queue is building: ease off
            self.slow_start = False
        else:
            step = 1.0 if self.slow_start else 1 / self.concurrency
            self.concurrency = min(float(self.ceiling), self.concurrency + step)
            self.slow_start = self.slow_start and self.concurrency < self.ceiling

    def snapshot(self) -> Snapshot:
        return Snapshot(self.concurrency, self.rate, self.measured_rate)


class AdaptiveLimiter:
    """Blocking gate in front of every API call: a concurrency slot, then a send time."""

    def __init__(self, ceiling: int = 16, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.control = RateController(ceiling, clock)
        self._clock, self._sleep = clock, sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self.pending = 0  # calls that hold or wait for a slot: someone is using the rate budget
        self._next_send = 0.0
        self._paced_epoch = 0

    def set_ceiling(self, ceiling: int) -> None:
        with self._cond:
            self.control.set_ceiling(ceiling)
            self._cond.notify_all()

    def _take_send_time(self) -> tuple[float, int, float]:
        """(now, the decrease count, the pause before sending) for a new call; under the lock."""
        now = self._clock()
        delay = 0.0
        rate = self.control.rate
        if rate is not None:
            if self._paced_epoch != self.control.decreases:  # slowed down: space from the last send
                self._paced_epoch = self.control.decreases
                self._next_send = self.control.last_sent + 1 / rate
            send_at = max(now, self._next_send)
            self._next_send = send_at + 1 / rate
            delay = send_at - now
        return now, self.control.decreases, delay

    @contextmanager
    def slot(self) -> Iterator[Callable[[Outcome], None]]:
        """Hold a slot for one HTTP attempt; report its outcome through the yielded callable."""
        with self._cond:
            self.pending += 1
            try:
                while self._in_flight >= max(1, int(self.control.concurrency)):
                    self._cond.wait(0.5)
            except BaseException:
                self.pending -= 1
                raise
            self._in_flight += 1
            granted, epoch, delay = self._take_send_time()
        outcome = [Outcome.ERROR]
        started: float | None = None
        try:  # from here on the slot is ours: any exit (even Ctrl-C in the pause) gives it back
            while delay > 0:
                self._sleep(delay)
                with self._cond:
                    if self.control.decreases == epoch:
                        break
                    # the API throttled while we waited at the old pace: queue again at the new one
                    granted, epoch, delay = self._take_send_time()
            with self._cond:
                started = self.control.sent()
            yield lambda o: outcome.__setitem__(0, o)
        finally:
            with self._cond:
                self._in_flight -= 1
                self.pending -= 1
                if started is not None:
                    self.control.record(outcome[0], self._clock() - started, granted)
                self._cond.notify_all()


class FixedLimiter(AdaptiveLimiter):
    """A fixed parallelism with no adaptation (benchmarks compare against it)."""

    def __init__(self, ceiling: int = 16) -> None:
        super().__init__(ceiling)

    @contextmanager
    def slot(self) -> Iterator[Callable[[Outcome], None]]:
        with self._cond:
            self.pending += 1
        try:
            yield lambda o: None
        finally:
            with self._cond:
                self.pending -= 1


def outcome_of(status: int) -> Outcome:
    if status in (429, 503):
        return Outcome.THROTTLED
    return Outcome.OK if status < 500 else Outcome.ERROR
