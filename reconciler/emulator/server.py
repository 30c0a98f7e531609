"""HTTP front of the emulator: routing, auth, envelope, fault injection, control endpoints.

Standard library ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive), so the emulator adds no
dependency and serves concurrent requests; the world is guarded by one lock.
"""

from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator import logs as logbook
from reconciler.emulator import serving, spec, v2
from reconciler.emulator.capacity import Capacity
from reconciler.emulator.limits import Faults, RateLimit
from reconciler.emulator.world import INVALID, NOT_ALLOWED, ApiFailure, Timings, World

API_VERSIONS = ("v1", "v2")

MUTATING = frozenset(
    {"endpointCreate", "endpointUpdate", "endpointStop", "endpointStart", "endpointScale",
     "endpointDelete_2"}
)


class Emulator:
    """The world plus request dispatch; independent of the HTTP plumbing."""

    def __init__(self, world: World, api_key: str | None = None, faults: Faults | None = None,
                 rate_limit: float = 0.0, apis: tuple[str, ...] = API_VERSIONS):
        self.world = world
        self.apis = apis  # the API versions served; the other one's paths answer 404
        self.capacity = Capacity()  # GPU availability per region (GET /v2/vms/types)
        self.versions: Counter[str] = Counter()  # API calls by version
        self.api_key = api_key
        self.faults = faults or Faults()
        self.calls: Counter[str] = Counter()
        self.rate_limit = RateLimit(rate_limit)
        self.throttled = 0  # requests refused by the rate limit (not counted in ``calls``)
        self.served: Counter[str] = Counter()  # answers of deployments' domains, by HTTP status
        # mutating calls that named a deployment, by id ("zero calls to blue" is countable)
        self.mutated: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self._fault_lock = threading.Lock()

    def pick_fault(self) -> str | None:
        with self._fault_lock:
            if self.faults.fault_rate and self.faults.rng.random() < self.faults.fault_rate:
                return self.faults.rng.choice(self.faults.kinds)
        return None

    def dispatch(self, op: str, params: dict[str, Any], body: Any) -> Any:
        world = self.world
        with world.lock:
            if op == "endpointList_1":
                return [world.detail_view(d) for d in world.list(params.get("statusList"))]
            if op == "endpointDetail":
                return world.detail_view(world.get(params["id"]))
            if op == "endpointWorkers":
                dep = world.get(params["id"])
                wanted = params.get("statusList")
                views = [world.worker_view(dep, w) for w in dep["workers"]]
                return [v for v in views if not wanted or v["status"] in wanted]
            if op == "queryWorkerLogs":
                dep = world.get(params["id"])
                worker = next((w for w in dep["workers"] if w["id"] == str(params["workerId"])),
                              None)
                if worker is None:
                    raise ApiFailure(10007, f"record not found: worker {params['workerId']}")
                lines = logbook.worker_lines(worker, dep, world.clock(),
                                             world.timings.log_interval_seconds)
                try:
                    return logbook.query(lines, params)
                except ValueError as exc:
                    raise ApiFailure(INVALID, str(exc), 400) from exc
            result: Any = None
            if op == "endpointCreate":
                result = world.detail_view(world.create(body))
            elif op == "endpointUpdate":
                result = world.detail_view(world.update(params["id"], body))
            elif op == "endpointStop":
                world.stop(params["id"])
            elif op == "endpointStart":
                world.start(params["id"])
            elif op == "endpointScale":
                world.scale(params["id"], body["workers"])
            elif op == "endpointDelete_2":
                world.delete(params["id"])
            world.save()
            return result

    def seed(self, payload: dict[str, Any]) -> list[str]:
        """Bulk-create deployments (benchmarks, tests); each body is a create request.
        Optional ``ids`` and ``statuses`` (one per body) give each its id and a status it then
        keeps (the parity suite seeds every planner case so, tests/test_api_parity.py)."""
        route = next(r for r in spec.routes() if r.operation_id == "endpointCreate")
        ids = []
        bodies = payload.get("deployments", [])
        wanted_ids = payload.get("ids") or [None] * len(bodies)
        statuses = payload.get("statuses") or [payload.get("status", "RUNNING")] * len(bodies)
        with self.world.lock:
            for raw, wanted_id, status in zip(bodies, wanted_ids, statuses, strict=True):
                body = spec.coerce_numbers_to_strings(route.body_schema, raw)
                spec.validate_body(route, body)
                dep = self.world.create(body)
                if wanted_id is not None:
                    self.world.rekey(dep, str(wanted_id))
                if status == "RUNNING":
                    dep["status"], dep["phase_next"] = "RUNNING", None
                    for w in dep["workers"]:
                        w["status"], w["ready"] = "RUNNING", w["created"]
                elif payload.get("statuses"):
                    self.world.hold(dep, status)
                ids.append(dep["id"])
            self.world.save()
        return ids


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _envelope(self, status: int, code: int, message: str, data: Any = None,
                  headers: dict[str, str] | None = None) -> None:
        # business errors (HTTP 200, code != 10000) carry "data": null too, as Yotta's own SDK
        # mocks and the emulator's 401/404 bodies do
        payload: dict[str, Any] = {"code": code, "message": message, "data": data}
        self._send(status, payload, headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return json.loads(raw)

    def _control(self, method: str, path: str) -> None:
        emu = self.server.emulator
        if method == "GET" and path == "/_emulator/stats":
            self._send(200, {"calls": dict(emu.calls), "throttled": emu.throttled,
                             "served": dict(emu.served), "mutated": dict(emu.mutated),
                             "versions": dict(emu.versions)})
        elif method == "POST" and path == "/_emulator/reset":
            emu.world.reset()
            emu.calls.clear()
            emu.served.clear()
            emu.mutated.clear()
            emu.versions.clear()
            emu.capacity.reset()
            emu.rate_limit.reset()
            emu.throttled = 0
            self._send(200, {"ok": True})
        elif method == "POST" and path == "/_emulator/seed":
            try:
                ids = emu.seed(self._read_body() or {})
            except (spec.RequestInvalid, ApiFailure, ValueError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, {"ids": ids})
        elif path == "/_emulator/capacity" and method in ("GET", "POST"):
            try:
                if method == "POST":
                    emu.capacity.change(self._read_body() or {})
            except ValueError as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, {"unavailable": emu.capacity.unavailable()})
        else:
            self._send(404, {"error": "unknown control endpoint"})

    def _handle(self, method: str) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        if url.path.startswith("/_emulator/"):
            self._control(method, url.path)
            return
        if serving.is_serve_path(url.path):  # a deployment's domain: no key, no rate limit
            self._read_body_quietly()
            status, payload = serving.answer(emu.world, url.path)
            with emu.stats_lock:
                emu.served[str(status)] += 1
            self._send(status, payload)
            return
        version = "v2" if v2.is_v2_path(url.path) else "v1"
        served = version in emu.apis
        found = (v2.match if version == "v2" else spec.match)(method, url.path) if served else None
        if found is None:
            exists = served and (v2.path_exists if version == "v2" else spec.path_exists)(url.path)
            self._read_body_quietly()
            self._envelope(405 if exists else 404, 14000, f"endpoint not found: {method} {url.path}")
            return
        route, path_values = found
        key = self.headers.get("X-Api-Key")
        if not key or (emu.api_key is not None and key != emu.api_key):
            self._read_body_quietly()
            self._envelope(401, 401, "unauthorized: missing or invalid X-Api-Key")
            return
        wait = emu.rate_limit.admit(key)
        if wait is not None:
            self._read_body_quietly()
            with emu.stats_lock:
                emu.throttled += 1
            self._envelope(429, 429, "too many requests: rate limit exceeded", None,
                           {"Retry-After": str(max(1, math.ceil(wait)))})
            return
        emu.calls[route.operation_id] += 1
        emu.versions[version] += 1
        if route.operation_id in MUTATING and "id" in path_values:
            with emu.stats_lock:
                emu.mutated[path_values["id"]] += 1
        if emu.faults.latency_ms:
            time.sleep(emu.faults.latency_ms / 1000)
        fault = emu.pick_fault()
        try:
            if isinstance(route, v2.Route):
                params, body = v2.prepare(route.operation_id, path_values, parse_qs(url.query),
                                          self._read_body())
            else:
                body = spec.coerce_numbers_to_strings(route.body_schema, self._read_body())
                params = spec.parse_params(route, path_values, parse_qs(url.query))
                spec.validate_body(route, body if route.body_schema else None)
        except (spec.RequestInvalid, ValueError) as exc:
            self._envelope(400, INVALID, f"invalid parameters: {exc}")
            return
        if fault in ("500", "503", "429"):
            headers = {"Retry-After": f"{emu.faults.retry_after:g}"} if fault == "429" else None
            if fault == "503":  # proxies answer with HTML, not the envelope
                data = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
                self.send_response(503)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            message = "system error" if fault == "500" else "too many requests"
            self._envelope(int(fault), 10002 if fault == "500" else 429, message, None, headers)
            return
        try:
            if isinstance(route, v2.Route):
                data = v2.run(emu.dispatch, emu.world, emu.capacity, route.operation_id, params,
                              body)
            else:
                data = emu.dispatch(route.operation_id, params, body)
        except ApiFailure as exc:
            if fault == "drop":
                self._drop()
                return
            self._envelope(exc.http_status, exc.code, exc.message)
            return
        if emu.faults.response_delay_ms and route.operation_id in MUTATING:
            time.sleep(emu.faults.response_delay_ms / 1000)
        if fault == "drop" and route.operation_id in MUTATING:
            self._drop()  # the change is committed, but the client never hears so
            return
        self._envelope(200, 10000, "success", data)

    def _read_body_quietly(self) -> None:
        try:
            self._read_body()
        except ValueError:
            pass

    def __getattr__(self, name: str) -> Any:
        # every HTTP method (GET, POST, ..., TRACE, QUERY) goes through the router: unknown
        # method/path pairs get the API's 404/405 envelope instead of http.server's HTML 501
        if name.startswith("do_"):
            return lambda: self._handle(name[3:])
        raise AttributeError(name)


STOP_POLL_SECONDS = 0.01  # how soon a background server notices stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True
    emulator: Emulator
    verbose: bool = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a CLI that ended while a call was in flight)
        is the client's business, as it is for any web server: no traceback on the terminal
        (in-process, it landed in whatever a test was capturing). Anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EmulatorServer:
    """Run an emulator on a loopback port in a background thread (tests, demos)."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0,
                 verbose: bool = False) -> None:
        self.emulator = emulator
        self.httpd = _Server((host, port), _Handler)
        self.httpd.emulator = emulator
        self.httpd.verbose = verbose
        bound, bound_port = self.httpd.server_address[:2]
        # deployments' domains point here; a wildcard address is reached through loopback
        reach = "127.0.0.1" if bound in ("0.0.0.0", "::", "") else bound
        emulator.world.serve_base = f"http://{reach!s}:{bound_port}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        # stop() (shutdown) waits for the serving loop's next look at its flag, every
        # poll_interval: the default 0.5 s made each test pay up to half a second to stop its
        # emulator (160 s of the suite's summed time). A wake-up per 10 ms costs no measurable CPU.
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": STOP_POLL_SECONDS}, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def build(
    *, transition_seconds: float = 3.0, log_interval_seconds: float = 2.0,
    data_file: str | None = None, api_key: str | None = None, latency_ms: float = 0.0,
    fault_rate: float = 0.0, retry_after: float = 1.0, seed: int | None = None,
    response_delay_ms: float = 0.0, rate_limit: float = 0.0,
    failing_images: tuple[str, ...] = (), unhealthy_images: tuple[str, ...] = (),
    api: str = "both",
) -> Emulator:
    """``api``: "v1", "v2" or "both" (one port, one world; docs/API-V2.md)."""
    world = World(Timings(transition_seconds, log_interval_seconds), data_file, seed or 0,
                  failing_images=tuple(failing_images), unhealthy_images=tuple(unhealthy_images))
    faults = Faults(latency_ms=latency_ms, fault_rate=fault_rate, retry_after=retry_after,
                    seed=seed, response_delay_ms=response_delay_ms)
    apis = API_VERSIONS if api == "both" else (api,)
    if not set(apis) <= set(API_VERSIONS):
        raise ValueError(f"api must be v1, v2 or both, not {api!r}")
    return Emulator(world, api_key=api_key, faults=faults, rate_limit=rate_limit, apis=apis)


__all__ = ["API_VERSIONS", "NOT_ALLOWED", "Emulator", "EmulatorServer", "Faults", "build"]
