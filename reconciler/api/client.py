"""Typed client for the 10 Elastic Deployment operations (docs/ARCHITECTURE.md §1).

The boundary where httpx exceptions and API envelopes become :mod:`reconciler.errors`.
Constructing a client costs no network activity; pass ``http=`` to inject an ``httpx.Client``
(tests use real HTTP against the emulator or ``httpx.MockTransport``).
"""

from __future__ import annotations

import builtins
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from reconciler import __version__
from reconciler.api import debuglog, envelope, facts
from reconciler.api.answers import OncePerList, check_list, parse, parse_list, path_id
from reconciler.api.connection import connection_options
from reconciler.api.limiter import AdaptiveLimiter, outcome_of
from reconciler.api.models import (
    CreateRequest,
    Deployment,
    GpuType,
    ListedDeployment,
    LogEntry,
    LogPage,
    ScaleRequest,
    UpdateRequest,
    Worker,
)
from reconciler.api.retry import RetryPolicy, run_with_retries
from reconciler.api.transfer import Exchange, Limits, exchange
from reconciler.api.wire import Route, Wire, wire_for
from reconciler.errors import (
    ApiError,
    BadResponse,
    DeadlineExceeded,
    OutcomeUnknown,
    Unavailable,
    UsageError,
)
from reconciler.fields import DEFAULT_API_VERSION
from reconciler.redact import Secrets
from reconciler.trust import is_loopback_host

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


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


def _masked(method: Callable[Concatenate[YottaClient, P], R]) -> Callable[Concatenate[YottaClient, P], R]:
    """Every error leaving an operation is masked with the client's secrets: the envelope masks
    the API's message as it reads it; this also covers what an answer's other fields put in an
    error (an id or a name quoted by a BadResponse)."""

    @functools.wraps(method)
    def masked(self: YottaClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except ApiError as exc:
            raise exc.masked(self.secrets) from exc.__cause__

    return masked


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
        api_version: str = DEFAULT_API_VERSION,
        secrets: Secrets | None = None,
    ) -> None:
        # explicit values only: the environment is read once, in reconciler.settings
        key = api_key or ""
        if not key:
            raise UsageError(
                "no API key", hint="set YOTTA_API_KEY or pass --api-key (the emulator accepts any)"
            )
        self.base_url = resolve_endpoint(base_url, allow_insecure=allow_insecure)
        # the one place that knows the API version: everything above speaks the v1 models
        self.wire: Wire = wire_for(api_version)
        self.secrets = secrets if secrets is not None else Secrets()  # the command's
        self.secrets.add(key)
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
        # told (operation, HTTP status or None) after every attempt: the agent's metrics
        self.observer: Callable[[str, int | None], None] | None = None

    def __repr__(self) -> str:  # never show the key
        return f"YottaClient(base_url={self.base_url!r}, api={self.wire.version})"

    @property
    def api_version(self) -> str:
        return self.wire.version

    @property
    def http(self) -> httpx.Client:
        if self._http is None:  # lazily: constructing the client costs no network activity
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
            verify, trust_env = connection_options(self.base_url)
            self._http = httpx.Client(timeout=self.limits.deadline, limits=limits,
                                      verify=verify, trust_env=trust_env)
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
        route: Route,
        *,
        deployment: str | None = None,
        idempotent: bool = True,
    ) -> object:
        method, path = route.method, route.path
        url = f"{self.base_url}{path}"
        http = self.http  # built first (TLS set-up is ours, not the server's time)
        request = Exchange(method, url, json=route.json, params=route.params,
                           headers=self._headers)
        # the deadline starts when the first attempt gets its slot (our own pacing is not the
        # server's slowness) and bounds every attempt and every pause between them
        started: list[float] = []

        def deadline() -> float:
            return started[0] + self.limits.deadline if started else float("inf")

        def attempt() -> object:
            began = time.perf_counter()
            try:
                response = send()
                data = envelope.unwrap(response, operation=operation, deployment=deployment,
                                       secrets=self.secrets)
            except ApiError as exc:
                if route.unserved and exc.http_status == 404:  # another version, not deleted
                    exc.hint = route.unserved
                debuglog.call(self.secrets, method, path, exc.http_status, exc.code,
                              time.perf_counter() - began, type(exc).__name__)
                if self.observer is not None:
                    self.observer(operation, exc.http_status)
                raise
            debuglog.call(self.secrets, method, path, response.status_code, facts.CODE_OK,
                          time.perf_counter() - began)
            if self.observer is not None:
                self.observer(operation, response.status_code)
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
        return run_with_retries(attempt, policy, idempotent=idempotent, deadline=deadline,
                                secrets=self.secrets)

    @staticmethod
    def _id(value: str, operation: str, what: str = "deployment") -> int:
        return path_id(value, operation=operation, what=what)

    # -- the 10 operations ------------------------------------------------------------------

    @_masked
    def create(self, request: CreateRequest) -> Deployment:
        """Create. Never blindly retried: a lost response raises :class:`OutcomeUnknown`."""
        data = self._call("create", self.wire.create(request.to_wire()),
                          deployment=request.name, idempotent=False)
        return parse(Deployment, self.wire.deployment(data), operation="create",
                     deployment=request.name)

    @_masked
    def update(self, deployment_id: str, request: UpdateRequest) -> Deployment | None:
        route = self.wire.update(self._id(deployment_id, "update"), request.to_wire())
        data = self._call("update", route, deployment=deployment_id)
        return (parse(Deployment, self.wire.deployment(data), operation="update")
                if isinstance(data, dict) else None)

    @_masked
    def stop(self, deployment_id: str) -> None:
        self._call("stop", self.wire.stop(self._id(deployment_id, "stop")),
                   deployment=deployment_id)

    @_masked
    def start(self, deployment_id: str) -> None:
        self._call("start", self.wire.start(self._id(deployment_id, "start")),
                   deployment=deployment_id)

    @_masked
    def scale(self, deployment_id: str, workers: int) -> None:
        count = ScaleRequest(workers=workers).workers
        self._call("scale", self.wire.scale(self._id(deployment_id, "scale"), count),
                   deployment=deployment_id)

    @_masked
    def delete(self, deployment_id: str) -> None:
        self._call("delete", self.wire.delete(self._id(deployment_id, "delete")),
                   deployment=deployment_id)

    @_masked
    def detail(self, deployment_id: str) -> Deployment:
        data = self._call("detail", self.wire.detail(self._id(deployment_id, "detail")),
                          deployment=deployment_id)
        return parse(Deployment, self.wire.deployment(data), operation="detail",
                     deployment=deployment_id)

    @_masked
    def list(self, status: Sequence[str] = ()) -> builtins.list[Deployment]:
        data = self._call("list", self.wire.list(status))
        if isinstance(data, builtins.list):
            data = [self.wire.deployment(item) for item in data]
        out, seen = parse_list(Deployment, data, operation="list"), OncePerList()
        for dep in out:
            seen.check(dep.id, dep.name)
        return out

    @_masked
    def list_each(self, keep: Callable[[ListedDeployment], T]) -> builtins.list[T]:
        """``list`` for planning a fleet: each item validated as a :class:`ListedDeployment`
        (only what a plan reads), handed to ``keep`` and its raw JSON dropped at once, so the
        parsed answer and the full models never exist side by side."""
        data = self._call("list", self.wire.list())
        if data is None:
            return []
        items = check_list(data, operation="list", deployment=None)
        out, seen = [], OncePerList()
        for i, item in enumerate(items):
            items[i] = None  # garbage from here on: its memory serves the next items
            listed = parse(ListedDeployment, self.wire.deployment(item), operation="list",
                           where=f"data[{i}]")
            seen.check(listed.id, listed.name)
            out.append(keep(listed))
        return out

    @_masked
    def workers(self, deployment_id: str, status: Sequence[str] = ()) -> builtins.list[Worker]:
        route = self.wire.workers(self._id(deployment_id, "workers"), status)
        data = self._call("workers", route, deployment=deployment_id)
        if isinstance(data, builtins.list):
            data = [self.wire.worker(item) for item in data]
        return parse_list(Worker, data, operation="workers", deployment=deployment_id)

    @_masked
    def gpu_types(self) -> builtins.list[GpuType]:
        """``GET /v2/vms/types``: each GPU type's availability per region (v2's endpoint,
        whichever version the deployments are managed with)."""
        data = self._call("gpu types", self.wire.vm_types())
        return parse_list(GpuType, data, operation="gpu types")

    @_masked
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
        route = self.wire.logs(self._id(deployment_id, "logs"),
                               self._id(worker_id, "logs", what="worker"), params)
        data = self._call("logs", route, deployment=deployment_id)
        return parse(LogPage, self.wire.log_page(data) or {}, operation="logs",
                     deployment=deployment_id)

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
