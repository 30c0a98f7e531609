"""The probe's answer comes from the image being released, so it is bounded (R-23 finding 3):
a big body is not read whole, a dripping answer ends at its total time and at apply's
deadline, and Ctrl-C (the stop event) ends a request in flight. Against a real local HTTP
server over real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reconciler.apply.hooks import Interrupt, ProbeFailed, run_probe
from reconciler.emulator.server import STOP_POLL_SECONDS
from reconciler.plan.model import ProbeSpec

BIG = 64 * 1024 * 1024  # the body the server offers: far more than the probe may read
DRIP_SECONDS = 0.05  # between two bytes of a dripping answer (each read returns in time)
DRIP_FOR = 100  # bytes: a dripping answer lasts DRIP_FOR * DRIP_SECONDS = 5 s


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.sent = 0  # body bytes the big answer got out
        self.arrived = threading.Event()  # a request reached the handler
        self.closing = threading.Event()


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.server.arrived.set()
        self.send_response(200)
        if self.path == "/big":
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                while self.server.sent < BIG:
                    self.wfile.write(chunk)
                    self.server.sent += len(chunk)
            except OSError:  # the probe hung up: what this test wants
                pass
            return
        self.send_header("Content-Length", str(DRIP_FOR))  # /drip
        self.end_headers()
        try:
            for _ in range(DRIP_FOR):
                if self.server.closing.wait(DRIP_SECONDS):  # paced; ends with the test
                    return
                self.wfile.write(b".")
                self.wfile.flush()
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    threading.Thread(target=srv.serve_forever, daemon=True,
                     kwargs={"poll_interval": STOP_POLL_SECONDS}).start()
    yield srv
    srv.closing.set()
    srv.shutdown()
    srv.server_close()


def url(srv: Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def spec(timeout: float = 5.0, interval: float = 0.05) -> ProbeSpec:
    return ProbeSpec(path="/", expect_status=200, timeout_seconds=timeout,
                     interval_seconds=interval, successes=1)


def test_a_big_body_is_not_read_whole(server: Server) -> None:
    attempts = run_probe(url(server, "/big"), spec(), threading.Event(),
                         time.monotonic() + 30, "web")
    assert attempts == 1
    server.closing.set()
    server.shutdown()  # waits for nothing but the accept loop: the handler ends on its own
    assert 0 < server.sent < BIG // 2, server.sent  # the probe hung up early


def test_a_dripping_answer_ends_at_its_timeout(server: Server) -> None:
    began = time.monotonic()
    with pytest.raises(ProbeFailed, match=r"no complete answer within timeoutSeconds \(0.3s\)"):
        run_probe(url(server, "/drip"), spec(timeout=0.3, interval=1), threading.Event(),
                  time.monotonic() + 1, "web")  # one attempt: 0.3 s + 1 s > 1 s
    assert time.monotonic() - began < 1.5  # the answer drips on for 5 s


def test_a_dripping_answer_ends_at_applys_deadline(server: Server) -> None:
    began = time.monotonic()
    with pytest.raises(ProbeFailed, match=r"no complete answer before the deadline"):
        run_probe(url(server, "/drip"), spec(timeout=30), threading.Event(),
                  time.monotonic() + 0.4, "web")
    assert time.monotonic() - began < 1.5


def test_ctrl_c_ends_a_request_in_flight(server: Server) -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: server.arrived.wait(10) and stop.set(), daemon=True).start()
    began = time.monotonic()
    with pytest.raises(Interrupt):
        run_probe(url(server, "/drip"), spec(timeout=30), stop, time.monotonic() + 60, "web")
    assert server.arrived.is_set() and time.monotonic() - began < 1.5
