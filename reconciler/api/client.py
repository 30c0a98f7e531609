"""Typed client for the 10 Elastic Deployment operations (docs/ARCHITECTURE.md §1).

The boundary where httpx exceptions and API envelopes become :mod:`reconciler.errors`.
Constructing a client costs no network activity; pass ``http=`` to inject an ``httpx.Client``
(tests use real HTTP against the emulator or ``httpx.MockTransport``).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from reconciler import __version__
from reconciler.api import debuglog, envelope, facts
from reconciler.api.limiter import AdaptiveLimiter, outcome_of
from reconciler.api.models import (
    CreateRequest,
    Deployment,
    ListedDeployment,
    LogEntry,
    LogPage,
    ScaleRequest,
    UpdateRequest,
    Worker,
)
from reconciler.api.retry import RetryPolicy, run_with_retries
from reconciler.api.transfer import Exchange, Limits, exchange
from reconciler.errors import (
    ApiError,
    BadResponse,
    DeadlineExceeded,
    OutcomeUnknown,
    Unavailable,
    UsageError,
)
from reconciler.redact import clip
from reconciler.trust import is_loopback_host

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def parse(model: type[M], data: Any, *, operation: str, deployment: str | None = None,
          where: str = "data") -> M:
    """``data`` as ``model``, or a :class:`BadResponse` naming the first wrong field (never
    its value: it may be a secret)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join([where, *(str(p) for p in first["loc"])])
        raise BadResponse(f"unexpected answer: field {field}: {first['msg'].lower()} "
                          f"(got {type(first['input']).__name__})", operation=operation,
                          deployment=deployment) from None


def parse_list(model: type[M], data: Any, *, operation: str,
               deployment: str | None = None) -> builtins.list[M]:
    if data is None:
        return []
    _check_list(data, operation=operation, deployment=deployment)
    return [parse(model, item, operation=operation, deployment=deployment, where=f"data[{i}]")
            for i, item in enumerate(data)]


def _check_list(data: Any, *, operation: str, deployment: str | None) -> None:
    if not isinstance(data, builtins.list):
        raise BadResponse(f"unexpected answer: field data: expected a list, got "
                          f"{type(data).__name__}", operation=operation, deployment=deployment)


class _OncePerList(dict[str, str | None]):
    """id -> name seen in one list answer: an id listed twice (under one name or two) is a
    malformed answer; planning on it would act twice on one deployment. API text is shown
    escaped (repr) and cut short."""

    def check(self, dep_id: str, name: str | None) -> None:
        if dep_id in self:
            first, shown = self[dep_id], clip(repr(name), 60)
            how = (f"twice as {shown}" if first == name
                   else f"as both {clip(repr(first), 60)} and {shown}")
            raise BadResponse(f"unexpected answer: deployment id {clip(repr(dep_id), 60)} is "
                              f"listed {how}; a list names each deployment once", operation="list")
        self[dep_id] = name


def path_id(value: str, *, operation: str, what: str = "deployment") -> int:
    """An id for a URL path: ids are 18-digit numbers (kept exact: never through a float)."""
    text = str(value)
    if not text.isdigit() or not text.isascii():
        raise BadResponse(f"field id: the {what} id {text[:40]!r} is not a number",
                          operation=operation)
    return int(text)


def resolve_endpoint(url: str | None, *, allow_insecure: bool = False) -> str:
    """The base URL to use; plain http is refused unless loopback or explicitly allowed."""
    base = (url or facts.DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid API endpoint {base!r}",
            hint="use a URL such as https://api.yottalabs.ai or http://127.0.0.1:8787",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not allow_insecure:
        raise UsageError(
            f"refusing plain http:// to non-loopback host {parts.hostname!r}: the API key "
            "would travel unencrypted",
            hint="use https://, or set YOTTACTL_ALLOW_INSECURE=1 if you really mean it",
        )
    return base


class YottaClient:
    """All 10 operations. Every method raises a subclass of :class:`ApiError` on failure."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        allow_insecure: bool = False,
        limiter: AdaptiveLimiter | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        # explicit values only: the environment is read once, in reconciler.settings
        key = api_key or ""
        if not key:
            raise UsageError(
                "no API key", hint="set YOTTA_API_KEY or pass --api-key (the emulator accepts any)"
            )
        self.base_url = resolve_endpoint(base_url, allow_insecure=allow_insecure)
        debuglog.add_secret(key)
        self._headers = {
            facts.AUTH_HEADER: key,
            "User-Agent": f"yottactl/{__version__}",
            "Accept": "application/json",
        }
        self._http = http
        self._owns_http = http is None
        # one deadline per API call, retries included; bodies capped (hostile or broken servers)
        defaults = Limits()
        self.limits = Limits(defaults.deadline if timeout is None else timeout,
                             defaults.max_body_bytes if max_body_bytes is None else max_body_bytes)
        self.retry = retry or RetryPolicy()
        # one budget for every call this client makes: mutations and wait polls alike
        self.limiter = limiter or AdaptiveLimiter()

    def __repr__(self) -> str:  # never show the key
        return f"YottaClient(base_url={self.base_url!r})"

    @property
    def http(self) -> httpx.Client:
        if self._http is None:  # lazily: constructing the client costs no network activity
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
            self._http = httpx.Client(timeout=self.limits.deadline, limits=limits)
        return self._http

    def close(self) -> None:
        if self._http is not None and self._owns_http:
            self._http.close()

    def __enter__(self) -> YottaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Any = None,
        deployment: str | None = None,
        idempotent: bool = True,
    ) -> Any:
        url = f"{self.base_url}{facts.API_PREFIX}{path}"
        http = self.http  # built first (TLS set-up is ours, not the server's time)
        request = Exchange(method, url, json=json, params=params, headers=self._headers)
        # the deadline starts when the first attempt gets its slot (our own pacing is not the
        # server's slowness) and bounds every attempt and every pause between them
        started: list[float] = []

        def deadline() -> float:
            return started[0] + self.limits.deadline if started else float("inf")

        def attempt() -> Any:
            began = time.perf_counter()
            try:
                response = send()
                data = envelope.unwrap(response, operation=operation, deployment=deployment)
            except ApiError as exc:
                debuglog.call(method, facts.API_PREFIX + path, exc.http_status, exc.code,
                              time.perf_counter() - began, type(exc).__name__)
                raise
            debuglog.call(method, facts.API_PREFIX + path, response.status_code, facts.CODE_OK,
                          time.perf_counter() - began)
            return data

        def send() -> httpx.Response:
            try:
                with self.limiter.slot() as report:
                    if not started:
                        started.append(time.monotonic())
                    response = exchange(http, request, deadline(), self.limits.max_body_bytes)
                    report(outcome_of(response.status_code))
            except httpx.ConnectError as exc:  # never reached the server: always safe to retry
                raise Unavailable(
                    f"cannot connect to {self.base_url}", operation=operation, deployment=deployment
                ) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
                    TimeoutError) as exc:
                kind = type(exc).__name__
                late = isinstance(exc, TimeoutError) or time.monotonic() >= deadline()
                why = f"no complete answer within {self.limits.describe()}" if late else kind
                if not idempotent:
                    raise OutcomeUnknown(
                        f"response lost ({why}); the request may have been applied",
                        operation=operation,
                        deployment=deployment,
                    ) from exc
                if late:
                    raise DeadlineExceeded(
                        why,
                        operation=operation, deployment=deployment,
                    ) from exc
                raise Unavailable(
                    f"connection failed ({kind})", operation=operation, deployment=deployment
                ) from exc
            except OverflowError as exc:
                raise BadResponse(
                    f"response body larger than {self.limits.describe_body()}",
                    operation=operation, deployment=deployment,
                    hint="raise YOTTACTL_HTTP_MAX_BODY_MB if the answer is really that large",
                ) from exc
            return response

        policy = replace(self.retry, total_seconds=min(self.retry.total_seconds,
                                                       self.limits.deadline))
        return run_with_retries(attempt, policy, idempotent=idempotent, deadline=deadline)

    @staticmethod
    def _id(value: str, operation: str, what: str = "deployment") -> int:
        return path_id(value, operation=operation, what=what)

    # -- the 10 operations ------------------------------------------------------------------

    def create(self, request: CreateRequest) -> Deployment:
        """Create. Never blindly retried: a lost response raises :class:`OutcomeUnknown`."""
        data = self._call(
            "create", "POST", "/create", json=request.to_wire(), deployment=request.name,
            idempotent=False,
        )
        return parse(Deployment, data, operation="create", deployment=request.name)

    def update(self, deployment_id: str, request: UpdateRequest) -> Deployment | None:
        data = self._call(
            "update", "POST", f"/{self._id(deployment_id, 'update')}/update",
            json=request.to_wire(), deployment=deployment_id,
        )
        return parse(Deployment, data, operation="update") if isinstance(data, dict) else None

    def stop(self, deployment_id: str) -> None:
        path = f"/{self._id(deployment_id, 'stop')}/stop"
        self._call("stop", "POST", path, deployment=deployment_id)

    def start(self, deployment_id: str) -> None:
        path = f"/{self._id(deployment_id, 'start')}/start"
        self._call("start", "POST", path, deployment=deployment_id)

    def scale(self, deployment_id: str, workers: int) -> None:
        body = ScaleRequest(workers=workers).to_wire()
        path = f"/{self._id(deployment_id, 'scale')}/workers"
        self._call("scale", "POST", path, json=body, deployment=deployment_id)

    def delete(self, deployment_id: str) -> None:
        path = f"/{self._id(deployment_id, 'delete')}"
        self._call("delete", "DELETE", path, deployment=deployment_id)

    def detail(self, deployment_id: str) -> Deployment:
        path = f"/{self._id(deployment_id, 'detail')}"
        data = self._call("detail", "GET", path, deployment=deployment_id)
        return parse(Deployment, data, operation="detail", deployment=deployment_id)

    def list(self, status: Sequence[str] = ()) -> builtins.list[Deployment]:
        params = [("statusList", s) for s in status] or None
        data = self._call("list", "GET", "/list", params=params)
        out, seen = parse_list(Deployment, data, operation="list"), _OncePerList()
        for dep in out:
            seen.check(dep.id, dep.name)
        return out

    def list_each(self, keep: Callable[[ListedDeployment], T]) -> builtins.list[T]:
        """``list`` for planning a fleet: each item validated as a :class:`ListedDeployment`
        (only what a plan reads), handed to ``keep`` and its raw JSON dropped at once, so the
        parsed answer and the full models never exist side by side."""
        data = self._call("list", "GET", "/list")
        if data is None:
            return []
        _check_list(data, operation="list", deployment=None)
        out, seen = [], _OncePerList()
        for i, item in enumerate(data):
            data[i] = None  # garbage from here on: its memory serves the next items
            listed = parse(ListedDeployment, item, operation="list", where=f"data[{i}]")
            seen.check(listed.id, listed.name)
            out.append(keep(listed))
        return out

    def workers(self, deployment_id: str, status: Sequence[str] = ()) -> builtins.list[Worker]:
        params = [("statusList", s) for s in status] or None
        data = self._call(
            "workers", "GET", f"/{self._id(deployment_id, 'workers')}/workers", params=params,
            deployment=deployment_id,
        )
        return parse_list(Worker, data, operation="workers", deployment=deployment_id)

    def logs(
        self,
        deployment_id: str,
        worker_id: str,
        *,
        page_size: int | None = None,
        keyword: str | None = None,
        start_time: str | int | None = None,
        end_time: str | int | None = None,
        search_after_time: str | None = None,
        search_after_offset: str | int | None = None,
        direction: str | None = None,
    ) -> LogPage:
        """One page of a worker's logs (``queryWorkerLogs``)."""
        raw = {
            "pageSize": page_size,
            "keyword": keyword,
            "startTime": start_time,
            "endTime": end_time,
            "searchAfterTime": search_after_time,
            "searchAfterOffset": search_after_offset,
            "direction": direction,
        }
        params = {k: str(v) for k, v in raw.items() if v is not None}
        path = (f"/{self._id(deployment_id, 'logs')}/workers/"
                f"{self._id(worker_id, 'logs', what='worker')}/logs")
        data = self._call("logs", "GET", path, params=params, deployment=deployment_id)
        return parse(LogPage, data or {}, operation="logs", deployment=deployment_id)

    def iter_logs(
        self,
        deployment_id: str,
        worker_id: str,
        *,
        direction: str = facts.LOG_FORWARD,
        page_size: int | None = None,
        keyword: str | None = None,
        start_time: str | int | None = None,
        end_time: str | int | None = None,
        search_after_time: str | None = None,
        search_after_offset: str | int | None = None,
    ) -> Iterator[LogEntry]:
        """Every log line, following the cursor until ``hasMore`` is false (docs/ARCHITECTURE.md §1)."""
        cursor_time, cursor_offset = search_after_time, search_after_offset
        while True:
            page = self.logs(
                deployment_id, worker_id, page_size=page_size, keyword=keyword,
                start_time=start_time, end_time=end_time, search_after_time=cursor_time,
                search_after_offset=cursor_offset, direction=direction,
            )
            yield from page.logs
            if not page.hasMore or page.nextSearchAfterTime is None:
                return
            cursor_time, cursor_offset = page.nextSearchAfterTime, page.nextSearchAfterOffset


__all__ = ["ApiError", "YottaClient", "resolve_endpoint"]
