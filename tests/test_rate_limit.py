"""Finding the API's pace: the adaptive limiter (fake clock) and apply under an emulated rate limit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.api.client import YottaClient
from reconciler.api.limiter import AdaptiveLimiter, FixedLimiter, Outcome, RateController
from reconciler.errors import RateLimited

from conftest import API_KEY, FAST_RETRY, Cli, start_emulator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def send(control: RateController, clock: FakeClock, per_second: float, seconds: float,
         outcome: Outcome = Outcome.OK, latency: float = 0.05) -> None:
    for _ in range(int(per_second * seconds)):
        clock.now += 1 / per_second
        control.sent()
        control.record(outcome, latency)


def test_backs_off_on_429_and_recovers() -> None:
    clock = FakeClock()
    control = RateController(ceiling=20, clock=clock)
    assert control.concurrency == 4  # slow start: a run does not open with a burst
    send(control, clock, per_second=30, seconds=2)
    assert control.rate is None and control.concurrency == 20  # unthrottled: no pacing at all
    assert control.measured_rate == pytest.approx(30, rel=0.1)

    control.record(Outcome.THROTTLED, 0.05)
    assert control.rate == pytest.approx(0.7 * 30, rel=0.1)  # multiplicative decrease
    assert control.concurrency == pytest.approx(14)
    control.record(Outcome.THROTTLED, 0.05, sent_at=clock.now - 0.01)  # same congestion event
    assert control.rate == pytest.approx(0.7 * 30, rel=0.1)
    assert control.decreases == 1

    # calls keep succeeding at the paced rate: the rate climbs back to where it was throttled,
    # lingers there (cubic plateau), then probes beyond it; concurrency returns to the ceiling
    send(control, clock, per_second=21, seconds=1)
    assert control.rate is not None and control.rate < 28
    send(control, clock, per_second=25, seconds=2)
    send(control, clock, per_second=30, seconds=2)
    assert control.rate is not None and control.rate > 30
    assert control.concurrency == 20


def test_a_429_at_the_new_pace_decreases_again() -> None:
    """Only calls paced before a decrease belong to it: one paced after it is fresh evidence."""
    clock = FakeClock()
    control = RateController(ceiling=20, clock=clock)
    send(control, clock, per_second=60, seconds=1)  # a burst far above the API's limit
    control.record(Outcome.THROTTLED, 0.05)
    first = control.rate
    assert first is not None and first == pytest.approx(0.7 * 60, rel=0.1)
    clock.now += 0.05
    control.record(Outcome.THROTTLED, 0.05, sent_at=clock.now - 0.01)  # paced at the new rate
    assert control.decreases == 2
    assert control.rate is not None and control.rate < 0.8 * first


def test_rising_latency_lowers_concurrency_then_it_recovers() -> None:
    clock = FakeClock()
    control = RateController(ceiling=10, clock=clock)
    send(control, clock, per_second=10, seconds=1, latency=0.05)
    assert control.concurrency == 10 and not control.slow_start
    send(control, clock, per_second=10, seconds=1, latency=0.5)  # 10x the baseline: a queue
    assert control.concurrency < 5
    send(control, clock, per_second=10, seconds=6, latency=0.05)  # additive increase
    assert control.concurrency == 10


def test_limiter_paces_calls_after_a_throttle() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(ceiling=4, clock=clock, sleep=clock.sleep)
    for _ in range(40):  # 40 calls in one second, then the API says 429
        clock.now += 0.025
        with limiter.slot() as report:
            report(Outcome.OK)
    assert clock.slept == []
    with limiter.slot() as report:
        report(Outcome.THROTTLED)
    rate = limiter.control.rate
    assert rate is not None and 20 < rate < 35
    for _ in range(3):
        with limiter.slot() as report:
            report(Outcome.OK)
    # back-to-back calls are now spaced 1/rate apart instead of going out at once
    assert len(clock.slept) >= 2 and all(s == pytest.approx(1 / rate, rel=0.2) for s in clock.slept[1:])


def test_calls_waiting_at_the_old_pace_queue_again_after_a_decrease() -> None:
    """A call paused for its send time when the API throttles takes a new place at the new pace,
    instead of going out at the old one into an empty bucket."""
    clock = FakeClock()
    limiter = AdaptiveLimiter(ceiling=4, clock=clock)
    limiter.control.rate = 40.0
    with limiter.slot() as report:  # takes the first send time; the next is 1/40 s later
        report(Outcome.OK)
    pauses: list[float] = []

    def throttled_meanwhile(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:  # another thread's call is refused while this one waits
            limiter.control.record(Outcome.THROTTLED, 0.05)
        clock.now += seconds

    limiter._sleep = throttled_meanwhile
    with limiter.slot() as report:
        report(Outcome.OK)
    assert limiter.control.decreases == 1
    new_rate = limiter.control.rate
    assert new_rate is not None and new_rate < 40
    assert len(pauses) == 2, pauses  # queued again after the decrease
    assert pauses[1] == pytest.approx(1 / new_rate, rel=0.3)


def test_an_interrupt_in_the_pacing_pause_gives_the_slot_back() -> None:
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    limiter = AdaptiveLimiter(ceiling=1, clock=clock, sleep=interrupted)
    limiter.control.rate = 1.0  # paced: a second call must pause
    with limiter.slot() as report:
        report(Outcome.OK)
    with pytest.raises(KeyboardInterrupt), limiter.slot():
        pass
    assert limiter._in_flight == 0  # else every later call would wait for a slot forever
    assert limiter.pending == 0  # else apply's waits would think calls compete for the budget


def test_pending_counts_the_calls_that_use_the_rate_budget() -> None:
    """apply's shared polls give way (apply/polling.py) only while calls hold or wait for a
    slot: a deployment that holds its --parallelism slot to record its outcome makes no call."""
    limiter = AdaptiveLimiter(ceiling=1, clock=FakeClock(), sleep=lambda s: None)
    assert limiter.pending == 0
    with limiter.slot() as report:
        assert limiter.pending == 1
        report(Outcome.OK)
    assert limiter.pending == 0
    fixed = FixedLimiter(4)
    with fixed.slot(), fixed.slot():
        assert fixed.pending == 2
    assert fixed.pending == 0


def test_emulator_rate_limit_answers_429_with_retry_after() -> None:
    server = start_emulator(rate_limit=5)
    try:
        no_retry = FAST_RETRY.__class__(attempts=1)
        with YottaClient(API_KEY, server.url, retry=no_retry) as api:
            outcomes = []
            for _ in range(10):
                try:
                    api.list()
                    outcomes.append("ok")
                except RateLimited as exc:
                    outcomes.append("429")
                    assert exc.retry_after is not None and exc.retry_after >= 1
        stats = httpx.get(f"{server.url}/_emulator/stats").json()
        assert "429" in outcomes and outcomes[0] == "ok"
        assert stats["throttled"] == outcomes.count("429")
        assert stats["calls"]["endpointList_1"] == outcomes.count("ok")  # refused = not served
    finally:
        server.stop()


@pytest.mark.slow
def test_apply_50_creates_under_a_rate_limit(tmp_path: Path) -> None:
    """50 creates against 10 requests/s: every action succeeds and few calls are throttled."""
    server = start_emulator(rate_limit=10)
    try:
        cli = Cli(server, tmp_path)
        for i in range(50):
            cli.write(f"svc-{i:02d}", workers=1)
        result = cli("apply", str(cli.manifests), "--auto-approve", "--parallelism", "20")
        assert result.exit_code == 0, result.output
        live = cli.client().list()
        assert sorted(d.name for d in live) == [f"svc-{i:02d}" for i in range(50)]
        stats = httpx.get(f"{server.url}/_emulator/stats").json()
        served = sum(stats["calls"].values())
        assert stats["calls"]["endpointCreate"] == 50
        # a fixed parallelism of 20 gets about 40% of its calls throttled here
        assert stats["throttled"] <= 0.2 * (served + stats["throttled"]), stats
    finally:
        server.stop()
