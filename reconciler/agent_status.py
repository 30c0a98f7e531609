"""What the agent knows about itself and the fleet, for /readyz and the status page: plain
data, replaced as a whole under a lock (the HTTP thread reads a consistent copy). Never a
secret: the fleet rows carry names, statuses and numbers only, the plan its summary."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class FleetRow:
    name: str
    status: str
    workers: int | None
    per_hour: float | None
    drift: tuple[str, ...] = ()  # finding types
    last_change: str = ""  # when this agent last healed it (UTC)
    last_commit: str = ""  # and from which commit
    managed: bool = False  # recorded in the state (counted in the fleet's cost)


def fleet_cost(rows: tuple[FleetRow, ...] | list[FleetRow]) -> float:
    """$/h of the managed deployments with a known price: the status page's total and the
    ``yottactl_agent_fleet_cost_per_hour`` metric (the same number). Prices are the API
    models': NaN, infinite or negative ones already read as unknown (api.models.Price)."""
    return sum(r.per_hour or 0.0 for r in rows if r.managed)


@dataclass(frozen=True)
class HistoryEntry:
    at: str  # UTC time
    kind: str  # cycle | heal | error | leader | standby | skip
    text: str
    commit: str = ""


@dataclass(frozen=True)
class Status:
    mode: str = "observe"
    role: str = "starting"  # leader | standby | single | starting | stopping
    leader: str = ""  # who leads (this agent, or the lock holder a standby sees)
    source: str = ""
    commit: str = ""
    interval: float = 60.0
    fleet: tuple[FleetRow, ...] = ()
    plan_summary: tuple[tuple[str, int], ...] = ()
    plan_lines: tuple[str, ...] = ()  # "action name: reason" per pending change
    errors: tuple[str, ...] = ()  # the last cycle's
    last_cycle: str = ""
    last_success: str = ""
    ready: bool = False
    backoff_until: str = ""
    consecutive_failures: int = 0
    history: tuple[HistoryEntry, ...] = ()


HISTORY = 50


@dataclass
class StatusBoard:
    """The current :class:`Status`, updated by the loop and read by the HTTP thread."""

    _status: Status = field(default_factory=Status)
    _history: deque[HistoryEntry] = field(default_factory=lambda: deque(maxlen=HISTORY))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> Status:
        with self._lock:
            return replace(self._status, history=tuple(reversed(self._history)))

    def update(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def note(self, entry: HistoryEntry) -> None:
        with self._lock:
            self._history.append(entry)
