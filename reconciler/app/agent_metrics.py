"""The agent's Prometheus metrics (``prometheus_client``), on a registry of its own: one agent
per process, and tests build several agents side by side."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_OPERATIONS = frozenset({"create", "update", "stop", "start", "scale", "delete", "detail",
                         "list", "workers", "logs"})


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.drift = Gauge("yottactl_agent_drift_findings", "Drift findings of the last cycle, "
                           "by type", ["type"], registry=r)
        self.duration = Histogram("yottactl_agent_reconcile_duration_seconds", "Duration of "
                                  "one reconcile cycle", registry=r,
                                  buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900))
        self.last_success = Gauge("yottactl_agent_last_success_timestamp_seconds", "When the "
                                  "last cycle succeeded (Unix time)", registry=r)
        self.api_calls = Counter("yottactl_agent_api_calls", "API calls by operation and HTTP "
                                 "status", ["operation", "status"], registry=r)
        self.leader = Gauge("yottactl_agent_leader", "1 while this agent leads (acts), else 0",
                            registry=r)
        self.cost = Gauge("yottactl_agent_fleet_cost_per_hour", "The managed fleet's hourly "
                          "cost, USD", registry=r)
        self.heals = Counter("yottactl_agent_heals", "Deployments healed (changes applied)",
                             registry=r)
        self.failures = Counter("yottactl_agent_failures", "Failed cycles and failed heals",
                                ["kind"], registry=r)
        self.cycles = Counter("yottactl_agent_cycles", "Reconcile cycles run", registry=r)
        self._known_types: set[str] = set()

    def set_drift(self, counts: dict[str, int]) -> None:
        """This cycle's findings; a type seen before and absent now reads 0, not its old value."""
        self._known_types |= set(counts)
        for kind in self._known_types:
            self.drift.labels(type=kind).set(counts.get(kind, 0))

    def api_call(self, operation: str, status: int | None) -> None:
        """One API call's attempt (``status`` None: no answer); labels stay a bounded set."""
        op = operation if operation in _OPERATIONS else "other"
        self.api_calls.labels(operation=op, status=str(status or "none")).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)


def counted(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out
