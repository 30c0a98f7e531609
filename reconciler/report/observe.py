"""Read-side views for `get`, `output`, `wait`, `logs`: masking, URLs, wait states, log lines.

Pure (no client calls, no printing): :mod:`reconciler.app.observe` fetches, ``render/`` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import TypedDict

from reconciler.api.facts import FAILED, QUEUE, RUNNING, STOPPED
from reconciler.api.models import Deployment
from reconciler.errors import UsageError

MASK = "********"


class WaitTarget(str, Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    DELETED = "deleted"


@dataclass(frozen=True)
class WaitState:
    """Where one deployment stands relative to what `yottactl wait` waits for."""

    status: str | None  # None: not live
    running: int | None = None
    wanted: int | None = None
    reached: bool = False
    failed: bool = False

    def key(self) -> tuple[object, ...]:
        return (self.status, self.running)

    def describe(self) -> str:
        if self.status is None:
            return "deleted (not live)"
        workers = f", workers {self.running or 0}/{self.wanted}" if self.wanted is not None else ""
        return f"status {self.status}{workers}"


def wait_state(dep: Deployment | None, target: WaitTarget) -> WaitState:
    """Pure: has ``dep`` reached ``target``, or can it no longer get there (FAILED, deleted)?"""
    if dep is None:
        return WaitState(None, reached=target is WaitTarget.DELETED,
                         failed=target is not WaitTarget.DELETED)
    state = WaitState(dep.status, dep.runningWorkers, dep.totalWorkers)
    if target is WaitTarget.RUNNING:
        all_up = dep.serviceMode == QUEUE or (dep.runningWorkers or 0) >= (dep.totalWorkers or 0)
        reached = dep.status == RUNNING and all_up
    elif target is WaitTarget.STOPPED:
        reached = dep.status == STOPPED
    else:
        reached = False
    failed = dep.status == FAILED and target is not WaitTarget.DELETED
    return WaitState(state.status, state.running, state.wanted, reached=reached, failed=failed)


def url_of(dep: Deployment) -> str | None:
    """Where the deployment serves (its domain as an https URL); None without a domain."""
    domain = (dep.domain or "").strip()
    if not domain:
        return None
    return domain if "://" in domain else f"https://{domain}"


class OutputRecord(TypedDict):
    """One deployment in `yottactl output` and in the outputs after an apply."""

    name: str
    id: str
    found: bool
    status: str | None
    domain: str | None
    url: str | None
    runningWorkers: int | None
    workers: int | None


def output_record(name: str, dep_id: str, dep: Deployment | None) -> OutputRecord:
    """What `yottactl output` and the apply summary say about one managed deployment."""
    if dep is None:
        return {"name": name, "id": dep_id, "found": False, "status": None, "domain": None,
                "url": None, "runningWorkers": None, "workers": None}
    return {"name": name, "id": dep.id, "found": True, "status": dep.status,
            "domain": dep.domain or None, "url": url_of(dep),
            "runningWorkers": dep.runningWorkers, "workers": dep.totalWorkers}


def masked_view(dep: Deployment, show_secrets: bool = False) -> dict[str, object]:
    """The API's fields, environment values masked unless asked otherwise."""
    data: dict[str, object] = dep.model_dump(mode="json", exclude_none=True)
    if not show_secrets:
        data["environmentVars"] = [{"key": e.key, "value": MASK} for e in dep.environmentVars]
    return data


_RELATIVE = re.compile(r"(\d+)([smhd])")  # fullmatch: `$` would pass "10m\n"


def parse_when(value: str | None, now: datetime | None = None) -> str | None:
    """`--since 10m` / ISO 8601 / epoch ms -> an API time (epoch ms string)."""
    if not value:
        return None
    now = now or datetime.now(timezone.utc)
    m = _RELATIVE.fullmatch(value.strip())
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        when = now - timedelta(**{unit: int(m.group(1))})
        return str(int(when.timestamp() * 1000))
    if value.isdigit():
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"cannot read time {value!r}",
                         hint="use a duration like 10m / 2h / 1d, ISO 8601, or epoch ms") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return str(int(parsed.timestamp() * 1000))


@dataclass(frozen=True, order=True)
class LogLine:
    timestamp: str
    worker: str
    offset: int
    line: str
