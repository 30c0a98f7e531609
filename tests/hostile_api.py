"""A small hostile Yotta API for tests: its own HTTP server (not the emulator), answering each
path with whatever a test sets: control characters, wrong types, slow drips, huge bodies.

    api = HostileApi().start()
    api.answer("/list", [deployment(101, "evil\\x1b[2J")])
    api.answer("/101", body=b"...", drip_seconds=0.2)    # one byte per 0.2 s
    api.answer("/101/workers", huge_bytes=8 * 1024 * 1024)
    api.answer_in_turn("/101", deployment(101, "web"), deployment(101, "web", "INITIALIZING"))
    api.stop()
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reconciler.api.facts import API_PREFIX, CODE_OK, CODE_RECORD_NOT_FOUND
from reconciler.emulator.server import STOP_POLL_SECONDS

if TYPE_CHECKING:
    from click.testing import Result


@dataclass
class Reply:
    body: bytes
    status: int = 200
    drip_seconds: float = 0.0  # pause between single bytes
    huge_bytes: int = 0  # stream this many filler bytes inside a JSON string


def envelope(data: Any, code: int = CODE_OK, message: str = "success") -> bytes:
    return json.dumps({"code": code, "message": message, "data": data}).encode()


def deployment(dep_id: Any, name: Any, status: Any = "RUNNING", **extra: Any) -> dict[str, Any]:
    body = {
        "id": dep_id, "name": name, "status": status, "image": "vllm/vllm-openai:v0.6.3",
        "imageRegistry": "https://index.docker.io/v1", "serviceMode": "ALB",
        "resources": [{"region": "us-east-1", "gpuType": "NVIDIA_RTX_4090_24G", "gpuCount": 1}],
        "totalWorkers": 2, "runningWorkers": 2, "containerVolumeInGb": 50,
        "expose": {"port": 8000, "protocol": "HTTP"},
        "environmentVars": [{"key": "MODEL", "value": "llama"}],
        "perHourPrice": 0.9, "initializationCommand": "", "webhookUrl": "",
    }
    body.update(extra)
    return body


class HostileApi:
    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.cycles: dict[str, list[Reply]] = {}  # answered in turn, forever (answer_in_turn)
        self.requests: list[str] = []
        self.bodies: list[bytes] = []  # request bodies (e.g. a --notify webhook's)
        self._stopping = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()  # headers and body go out in separate writes: no Nagle delay
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    api.bodies.append(self.rfile.read(length))
                path = urlsplit(self.path).path
                api.requests.append(self.path)
                key = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path
                cycle = api.cycles.get(key)
                if cycle:  # round and round
                    reply = cycle.pop(0)
                    cycle.append(reply)
                else:
                    reply = api.replies.get(key) or Reply(
                        envelope(None, CODE_RECORD_NOT_FOUND, "no such record"))
                try:
                    api._write(self, reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (deadline or size cap): that is the point

            do_GET = do_POST = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _write(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        head, tail = reply.body, b""
        if reply.huge_bytes:
            head, tail = b'{"code": 10000, "message": "success", "data": "', b'"}'
        size = len(head) + reply.huge_bytes + len(tail)
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        if reply.drip_seconds:
            for i in range(len(head)):
                if self._stopping.wait(reply.drip_seconds):
                    return
                handler.wfile.write(head[i:i + 1])
                handler.wfile.flush()
            return
        handler.wfile.write(head)
        chunk = b"x" * 65536
        left = reply.huge_bytes
        while left > 0 and not self._stopping.is_set():
            handler.wfile.write(chunk[:left])
            left -= len(chunk)
        handler.wfile.write(tail)

    def answer(self, path: str, data: Any = None, *, body: bytes | None = None, status: int = 200,
               drip_seconds: float = 0.0, huge_bytes: int = 0) -> None:
        """Answer requests to ``API_PREFIX + path`` (query ignored) from now on."""
        self.replies[path] = Reply(envelope(data) if body is None else body, status, drip_seconds,
                                   huge_bytes)

    def answer_in_turn(self, path: str, *data: Any) -> None:
        """Answer successive requests to ``path`` with each of ``data`` in turn, forever
        (e.g. a status that flips back and forth)."""
        self.cycles[path] = [Reply(envelope(d)) for d in data]

    def start(self) -> HostileApi:
        threading.Thread(target=self._server.serve_forever, daemon=True,
                     kwargs={"poll_interval": STOP_POLL_SECONDS}).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


class HostileCli:
    """yottactl in-process against a :class:`HostileApi`, with one manifest ``name`` in
    ``tmp/manifests`` and a state file in ``tmp``; ``env`` adds settings (deadlines, caps)."""

    def __init__(self, api: HostileApi, tmp: Path, name: str, **env: str) -> None:
        from conftest import manifest_text

        self.api, self.tmp = api, tmp
        self.manifests = tmp / "manifests"
        self.manifests.mkdir()
        (self.manifests / f"{name}.yaml").write_text(manifest_text(name))
        self.state = tmp / "state.json"
        self.env = {"YOTTA_API_URL": api.url, "YOTTA_API_KEY": "k", "YOTTACTL_STATE": str(self.state),
                    "HF_TOKEN": "hf_x", "NO_COLOR": "1", **env}

    def __call__(self, *args: str) -> Result:
        from click.testing import CliRunner

        from reconciler.cli import main

        argv = [a.format(manifests=self.manifests, tmp=self.tmp) for a in args]
        # catch_exceptions=False: a traceback fails the test instead of hiding in the result
        return CliRunner().invoke(main, argv, env=self.env, catch_exceptions=False)

