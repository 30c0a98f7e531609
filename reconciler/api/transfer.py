"""One HTTP exchange under a total deadline and a body-size cap.

httpx's timeouts bound each socket operation, not the whole answer: a server dripping one byte
every few seconds never trips them. Here the body is streamed, counted against the cap, and a
watchdog shuts the socket down when the call's deadline passes, so a read blocked inside httpx
returns at once. Raises ``TimeoutError`` (deadline) or ``OverflowError`` (cap); the client turns
them into :mod:`reconciler.errors`.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.errors import UsageError

MIB = 1024 * 1024
DEFAULT_DEADLINE_SECONDS = 60.0
DEFAULT_MAX_BODY_MB = 64.0
TIMEOUT_VAR = "YOTTACTL_HTTP_TIMEOUT"
MAX_BODY_VAR = "YOTTACTL_HTTP_MAX_BODY_MB"


def positive(name: str, raw: str | None, default: float) -> float:
    """A setting that must be a positive number (``raw`` as given), else a usage error."""
    text = (raw or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or math.isinf(value):
        raise UsageError(f"{name}={text!r} is not a positive number",
                         hint=f"e.g. {name}={default:g}")
    return value


@dataclass(frozen=True)
class Limits:
    deadline: float = DEFAULT_DEADLINE_SECONDS  # seconds per API call, retries included
    max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * MIB)

    @classmethod
    def parse(cls, timeout: str | None, max_body_mb: str | None) -> Limits:
        """From settings text (flags / environment), defaults where absent."""
        return cls(positive(TIMEOUT_VAR, timeout, DEFAULT_DEADLINE_SECONDS),
                   int(positive(MAX_BODY_VAR, max_body_mb, DEFAULT_MAX_BODY_MB) * MIB))

    def describe(self) -> str:
        return f"{self.deadline:g} s ({TIMEOUT_VAR})"

    def describe_body(self) -> str:
        return f"{self.max_body_bytes / MIB:g} MiB ({MAX_BODY_VAR})"


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    json: Any = None
    params: Any = None
    headers: Mapping[str, str] | None = None


class _Watchdog:
    """Shuts the response's socket down at the deadline (wakes a blocked read)."""

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self.fired = False
        stream = response.extensions.get("network_stream")
        self._socket = stream.get_extra_info("socket") if stream is not None else None
        self._timer: threading.Timer | None = None
        if self._socket is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        except OSError:
            pass

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def exchange(http: httpx.Client, request: Exchange, deadline: float,
             max_body_bytes: int) -> httpx.Response:
    """The response, its body read in full, within ``deadline`` (a ``time.monotonic()`` value)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed before the request was sent")
    with http.stream(request.method, request.url, json=request.json, params=request.params,
                     headers=request.headers, timeout=httpx.Timeout(remaining)) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            raise OverflowError(f"Content-Length {declared}")
        watchdog = _Watchdog(response, deadline)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():  # decoded: a compressed bomb is capped too
                size += len(chunk)
                if size > max_body_bytes:
                    raise OverflowError(f"more than {max_body_bytes} bytes")
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError("body not complete at the deadline")
        except httpx.HTTPError as exc:
            if watchdog.fired:
                raise TimeoutError("body not complete at the deadline") from exc
            raise
        finally:
            watchdog.cancel()
        if watchdog.fired:
            raise TimeoutError("body not complete at the deadline")
    # a plain response holding the body we read (already decoded: no Content-Encoding)
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                          request=response.request, extensions={"reason_phrase":
                                                                response.reason_phrase.encode()})
