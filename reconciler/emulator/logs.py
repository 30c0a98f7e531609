"""Deterministic, realistic worker logs with the API's cursor paging (docs/ARCHITECTURE.md §1).

Line ``i`` of a worker is a pure function of (worker id, i): a startup sequence, then one request
line every ``log_interval_seconds`` while the worker runs, so logs grow with uptime and two reads
of the same range always agree.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

STARTUP = (
    "Pulling image {image}",
    "Image pulled in 41.2s",
    "Starting container (gpu={gpu} x{count})",
    "CUDA driver 560.35.03, CUDA 12.6 detected",
    "Running initialization command",
    "INFO  Initializing model engine",
    "INFO  Loading model weights: shard 1/4",
    "INFO  Loading model weights: shard 2/4",
    "INFO  Loading model weights: shard 3/4",
    "INFO  Loading model weights: shard 4/4",
    "INFO  Model weights loaded in 63.8s (15.2 GiB)",
    "INFO  KV cache: 28,416 blocks allocated",
    "INFO  CUDA graphs captured in 9.1s",
    "INFO  Warmup request completed in 812ms",
    "INFO  Started server process [1]",
    "INFO  Waiting for application startup.",
    "INFO  Application startup complete.",
    "INFO  Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)",
    "INFO  Health check passed",
    "INFO  Worker registered with load balancer",
)
ROUTES = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/health", "/v1/models")
STARTUP_SPACING_MS = 10


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


def parse_time(value: str) -> int:
    """Epoch milliseconds from epoch ms or ISO 8601; ValueError otherwise."""
    value = value.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def _line(worker: dict[str, Any], dep: dict[str, Any], i: int) -> str:
    if i < len(STARTUP):
        port = (dep.get("expose") or {}).get("port", 8000)
        return STARTUP[i].format(
            image=dep["image"], gpu=worker["gpuType"], count=worker["gpuCount"], port=port
        )
    digest = hashlib.sha256(f"{worker['id']}:{i}".encode()).digest()
    route = ROUTES[digest[0] % len(ROUTES)]
    status = 200 if digest[1] > 8 else (429 if digest[1] > 3 else 500)
    latency = 20 + int.from_bytes(digest[2:4], "big") % 1900
    tokens = int.from_bytes(digest[4:6], "big") % 2048
    return (
        f'INFO  10.0.{digest[6]}.{digest[7]}:0 - "POST {route} HTTP/1.1" {status} '
        f"latency={latency}ms tokens={tokens}"
    )


def worker_lines(
    worker: dict[str, Any], dep: dict[str, Any], now: float, interval: float
) -> list[dict[str, Any]]:
    """Every line this worker has written by ``now``, oldest first."""
    start_ms = int(worker["created"] * 1000)
    ready_ms = int(worker["ready"] * 1000)
    end = worker["ended"] if worker.get("ended") is not None else now
    end_ms = int(min(end, now) * 1000)
    lines: list[dict[str, Any]] = []
    for i in range(len(STARTUP)):
        ts = min(start_ms + i * STARTUP_SPACING_MS, ready_ms + i)
        if ts > end_ms:
            return lines
        lines.append({"timestamp": ts, "offset": i, "log": _line(worker, dep, i)})
    step_ms = max(1, int(interval * 1000))
    count = max(0, (end_ms - ready_ms) // step_ms) if worker["status"] != "INITIALIZE" else 0
    last: int = lines[-1]["timestamp"]
    for k in range(min(count, 100_000)):
        i = len(STARTUP) + k
        last = max(last + 1, ready_ms + (k + 1) * step_ms)  # strictly increasing timestamps
        if last > end_ms:
            break
        lines.append({"timestamp": last, "offset": i, "log": _line(worker, dep, i)})
    return lines


def query(lines: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """One page of ``lines`` per the query parameters: filters, direction and cursor."""
    size = params.get("pageSize", 100)
    if not 1 <= size <= 1000:
        raise ValueError("pageSize: must be between 1 and 1000")
    direction = params.get("direction", "Forward")
    if direction not in ("Forward", "Backward"):
        raise ValueError("direction: must be Forward or Backward")
    keyword = params.get("keyword")
    lo = parse_time(params["startTime"]) if params.get("startTime") else None
    hi = parse_time(params["endTime"]) if params.get("endTime") else None
    after_t = parse_time(params["searchAfterTime"]) if params.get("searchAfterTime") else None
    after_o = params.get("searchAfterOffset", -1 if direction == "Forward" else 2**62)
    selected = [
        ln for ln in lines
        if (lo is None or ln["timestamp"] >= lo)
        and (hi is None or ln["timestamp"] <= hi)
        and (not keyword or keyword in ln["log"])
    ]
    if direction == "Backward":
        selected.reverse()
    if after_t is not None:
        key = (after_t, after_o)
        if direction == "Forward":
            selected = [ln for ln in selected if (ln["timestamp"], ln["offset"]) > key]
        else:
            selected = [ln for ln in selected if (ln["timestamp"], ln["offset"]) < key]
    page, more = selected[:size], len(selected) > size
    last = page[-1] if page else None
    return {
        "logs": [{"timestamp": _iso(ln["timestamp"]), "log": ln["log"], "offset": ln["offset"]}
                 for ln in page],
        "hasMore": more,
        "nextSearchAfterTime": str(last["timestamp"]) if last else "",
        "nextSearchAfterOffset": str(last["offset"]) if last else "",
    }
