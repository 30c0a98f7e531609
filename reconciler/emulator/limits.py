"""The emulator's misbehaviour on purpose: injected faults and a per-key rate limit."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency_ms: float = 0.0
    response_delay_ms: float = 0.0  # mutating calls: committed first, answered this much later
    fault_rate: float = 0.0
    retry_after: float = 1.0
    kinds: tuple[str, ...] = ("500", "503", "429", "drop")
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


class RateLimit:
    """Per-API-key token bucket: ``rate`` requests/s with a small burst (a quarter second's worth).

    A request that finds the bucket empty is refused with 429 and a ``Retry-After`` (whole
    seconds, as HTTP requires) and never reaches the world.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate / 4)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def admit(self, key: str) -> float | None:
        """None when admitted, else the seconds until a token is free."""
        if self.rate <= 0:
            return None
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
