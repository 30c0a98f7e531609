"""The agent's one HTTP listener: ``/healthz`` (the process answers), ``/readyz`` (the last
cycle succeeded, or failures are still within the backoff's first steps), ``/metrics``
(Prometheus text) and ``/`` (the read-only status page, ``render/agent_page.py``).

Read-only by construction: GET and HEAD only, no route changes anything. Off loopback the
listener requires a bearer token (``--token-file``) for ``/`` and ``/metrics`` and refuses to
start without one: the page names deployments, and /metrics the fleet's cost. ``/healthz`` and
``/readyz`` (probes; they say only ok/ready) answer without it.
"""

from __future__ import annotations

import hmac
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.app.agent import Reconciler

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # probes: no token needed, nothing secret


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {value!r} is not HOST:PORT",
                         hint="e.g. --listen 127.0.0.1:9440, or --listen off")
    return host, int(port)


def read_token(token_file: str) -> str:
    from reconciler import localfile

    try:
        token = localfile.read_text(token_file, localfile.SMALL_CAP).strip()
    except localfile.UnreadableFile as exc:
        raise UsageError(f"--token-file {token_file}: {exc.reason}") from None
    if len(token) < 16 or any(c.isspace() for c in token):
        raise UsageError(f"--token-file {token_file}: the token must be one word of at least "
                         "16 characters", hint="e.g. `openssl rand -hex 32 > FILE`")
    return token


class AgentServer:
    def __init__(self, httpd: ThreadingHTTPServer) -> None:
        self.httpd = httpd
        host, port = httpd.server_address[:2]
        self.address = f"[{host!s}]:{port}" if ":" in str(host) else f"{host!s}:{port}"
        self.thread = threading.Thread(target=httpd.serve_forever, name="agent-http",
                                       kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(listen: str, token_file: str | None, reconciler: Reconciler) -> AgentServer:
    from reconciler.trust import is_loopback_host

    host, port = parse_listen(listen)
    token = read_token(token_file) if token_file else None
    if token is None and not is_loopback_host(host):
        raise UsageError(f"--listen {listen}: off loopback the status page and metrics need a "
                         "bearer token, and none was given",
                         hint="pass --token-file FILE (clients send `Authorization: Bearer "
                              "TOKEN`), or listen on 127.0.0.1")
    handler = type("Handler", (_Handler,), {"reconciler": reconciler, "token": token})
    family_host = host if host != "localhost" else "127.0.0.1"
    try:
        server = _Server6 if ":" in family_host else ThreadingHTTPServer  # [::1]:PORT
        httpd = server((family_host, port), handler)
    except OSError as exc:
        raise UsageError(f"--listen {listen}: cannot listen there: {exc.strerror or exc}",
                         hint="pick a free port, or --listen off") from None
    httpd.daemon_threads = True
    return AgentServer(httpd)


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    reconciler: Reconciler
    token: str | None
    server_version = "yottactl-agent"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:
        pass  # the agent logs its own events; request lines would drown them

    def _authorised(self, path: str) -> bool:
        if self.token is None or path in OPEN_PATHS:
            return True
        scheme, _, given = self.headers.get("Authorization", "").strip().partition(" ")
        # RFC 7235: the scheme is case-insensitive (`bearer` as well as `Bearer`)
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                   self.token.encode())

    def _send(self, code: int, body: bytes, content_type: str, head: bool = False,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get()

    def _refuse(self) -> None:
        self._send(405, b"read-only: GET and HEAD only\n", "text/plain; charset=utf-8",
                   extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def _get(self, head: bool = False) -> None:
        from reconciler.app.agent_metrics import CONTENT_TYPE

        path = self.path.split("?", 1)[0]
        if not self._authorised(path):
            self._send(401, b"bearer token required\n", "text/plain; charset=utf-8", head,
                       {"WWW-Authenticate": 'Bearer realm="yottactl-agent"'})
            return
        rec = self.reconciler
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8", head)
        elif path == "/readyz":
            ready = rec.board.read().ready
            self._send(200 if ready else 503, b"ready\n" if ready else b"not ready\n",
                       "text/plain; charset=utf-8", head)
        elif path == "/metrics":
            self._send(200, rec.metrics.text(), CONTENT_TYPE, head)
        elif path == "/":
            from reconciler.render.agent_page import CSP, page

            self._send(200, page(rec.board.read()).encode(), "text/html; charset=utf-8", head,
                       {"Content-Security-Policy": CSP})
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", head)
