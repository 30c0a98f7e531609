"""Read-side helpers for `get`, `workers`, `logs`: name resolution, masking, log merging.

No printing: the CLI renders what these return.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypedDict

from reconciler.api.client import YottaClient
from reconciler.api.facts import FAILED, LOG_BACKWARD, LOG_PAGE_MAX, QUEUE, RUNNING, STOPPED
from reconciler.api.models import Deployment, LogEntry
from reconciler.errors import NotFound, UsageError

MASK = "********"


def resolve(client: YottaClient, name: str) -> Deployment:
    """The live deployment called ``name`` (or with that id), through one list call."""
    live = client.list()
    exact = [d for d in live if d.name == name or d.id == name]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        ids = ", ".join(f"{d.id} ({d.status})" for d in exact)
        raise UsageError(f"{len(exact)} live deployments are named {name!r}: {ids}",
                         hint="pass the id instead of the name")
    names = sorted({d.name or "" for d in live})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = (f"did you mean {', '.join(repr(c) for c in close)}?" if close
            else f"live deployments: {', '.join(names[:20]) or 'none'}")
    raise NotFound(f"no live deployment named {name!r}", operation="resolve", hint=hint)


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


def masked_view(dep: Deployment, show_secrets: bool = False) -> dict[str, Any]:
    """The API's fields, environment values masked unless asked otherwise."""
    data = dep.model_dump(mode="json", exclude_none=True)
    if not show_secrets:
        data["environmentVars"] = [{"key": e["key"], "value": MASK}
                                   for e in data.get("environmentVars", [])]
    return data


_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_when(value: str | None, now: datetime | None = None) -> str | None:
    """`--since 10m` / ISO 8601 / epoch ms -> an API time (epoch ms string)."""
    if not value:
        return None
    now = now or datetime.now(timezone.utc)
    m = _RELATIVE.match(value.strip())
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


def _as_lines(entries: Iterable[LogEntry], worker: str) -> list[LogLine]:
    return [LogLine(e.timestamp or "", worker, e.offset or 0, e.log or "") for e in entries]


def _page_lines(client: YottaClient, dep_id: str, worker: str, **query: Any) -> list[LogLine]:
    return _as_lines(client.iter_logs(dep_id, worker, **query), worker)


def collect(client: YottaClient, dep_id: str, workers: Sequence[str], *, since: str | None,
            until: str | None, grep: str | None, tail: int | None) -> list[LogLine]:
    """Every matching line of ``workers``, merged by timestamp (the last ``tail`` if given)."""
    lines: list[LogLine] = []
    for worker in workers:
        if tail:
            page = client.logs(dep_id, worker, page_size=min(tail, LOG_PAGE_MAX), keyword=grep,
                               start_time=since, end_time=until, direction=LOG_BACKWARD)
            lines += _as_lines(page.logs, worker)
        else:
            lines += _page_lines(client, dep_id, worker, keyword=grep, start_time=since,
                                 end_time=until, page_size=LOG_PAGE_MAX)
    lines.sort()
    return lines[-tail:] if tail else lines


def follow(client: YottaClient, dep_id: str, fixed_worker: str | None, seen: Sequence[LogLine],
           *, grep: str | None, stop: threading.Event, interval: float = 1.0,
           max_interval: float = 5.0) -> Iterator[LogLine]:
    """New lines as they appear; with no fixed worker, new workers (after a restart) join in."""
    cursors: dict[str, tuple[str, int]] = {}
    for line in seen:
        cursors[line.worker] = (_ms(line.timestamp), line.offset)
    delay = interval
    while not stop.is_set():
        workers = [fixed_worker] if fixed_worker else [w.id for w in client.workers(dep_id)]
        fresh: list[LogLine] = []
        for worker in workers:
            after_time, after_offset = cursors.get(worker, (None, None))
            got = _page_lines(client, dep_id, worker, keyword=grep, page_size=LOG_PAGE_MAX,
                              search_after_time=after_time, search_after_offset=after_offset)
            if got:
                cursors[worker] = (_ms(got[-1].timestamp), got[-1].offset)
                fresh += got
        fresh.sort()
        yield from fresh
        delay = interval if fresh else min(delay * 1.5, max_interval)
        stop.wait(delay)


def _ms(timestamp: str) -> Any:
    try:
        return str(int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000))
    except ValueError:
        return timestamp
