"""Each command opens one API client and one state backend and closes both when it ends, on
success and on error alike (reconciler/app/session.py, reconciler/app/run.py).

Counted at the libraries' boundaries, not in our code: every ``httpx.Client`` the process
builds (the API client's connection pool) and every ``psycopg.connect`` (a PostgreSQL state).
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from conftest import Cli


class Opened:
    """What a command opened: the httpx clients and PostgreSQL connections, kept (so none is
    closed by the garbage collector instead of the command) to check each was closed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clients: list[httpx.Client] = []
        self.connections: list[Any] = []
        self.interrupt_at: str | None = None  # a request path that "Ctrl-C" interrupts
        opened = self

        class Interrupting(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if opened.interrupt_at and request.url.path.endswith(opened.interrupt_at):
                    raise KeyboardInterrupt
                return super().handle_request(request)

        class CountedClient(httpx.Client):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("transport", Interrupting())
                super().__init__(*args, **kwargs)
                opened.clients.append(self)

        connect = psycopg.connect

        def counted_connect(*args: Any, **kwargs: Any) -> Any:
            conn = connect(*args, **kwargs)
            opened.connections.append(conn)
            return conn

        monkeypatch.setattr(httpx, "Client", CountedClient)
        monkeypatch.setattr(psycopg, "connect", counted_connect)

    def reset(self) -> None:
        self.clients.clear()
        self.connections.clear()

    def assert_one_client_closed(self) -> None:
        assert len(self.clients) == 1, f"{len(self.clients)} API clients built"
        assert self.clients[0].is_closed, "the API client was left open"

    def assert_all_connections_closed(self) -> None:
        assert [c.closed for c in self.connections] == [True] * len(self.connections)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Opened:
    return Opened(monkeypatch)


def test_each_command_builds_one_api_client_and_closes_it(cli: Cli, opened: Opened,
                                                           tmp_path: Any) -> None:
    cli.write("web")
    cli.write("api")
    saved = str(tmp_path / "saved.plan")
    commands: list[tuple[str, ...]] = [
        ("apply", "--auto-approve", str(cli.manifests)),
        ("plan", str(cli.manifests)),
        ("drift", str(cli.manifests)),
        ("get",),
        ("apply", "--auto-approve", "--replace", "web", str(cli.manifests)),
        ("apply", "--refresh-only", "--auto-approve"),
        ("restart", "--auto-approve", "api"),
        ("wait", "api"),
        ("workers", "api"),
        ("plan", "--out", saved, str(cli.manifests)),
        ("apply", "--plan", saved),
        ("destroy", "--auto-approve", "--target", "api", str(cli.manifests)),
    ]
    for command in commands:
        opened.reset()
        result = cli.run(*command)
        assert result.returncode in (0, 2), (command, result.stderr)
        opened.assert_one_client_closed()
    assert opened.connections == []  # a state file: no database was touched


def test_a_command_that_fails_closes_its_client(cli: Cli, opened: Opened) -> None:
    cli.write("web")
    assert cli.run("apply", "--auto-approve", str(cli.manifests)).returncode == 0
    opened.reset()
    # planned and shown, then refused: no terminal to confirm on
    refused = cli.run("destroy", str(cli.manifests))
    assert refused.returncode == 1 and "without confirmation" in refused.stderr
    assert "web" in refused.stdout  # it got as far as the plan: the client was used
    opened.assert_one_client_closed()


def test_ctrl_c_mid_run_closes_the_client_and_releases_the_lock(cli: Cli, opened: Opened) -> None:
    cli.write("web")
    assert cli.run("apply", "--auto-approve", str(cli.manifests)).returncode == 0
    opened.reset()
    opened.interrupt_at = "/list"  # restart's list call, made under the state lock
    interrupted = cli.run("restart", "--auto-approve", "web")
    assert interrupted.returncode == 130 and "interrupted" in interrupted.stderr
    opened.assert_one_client_closed()
    holder = cli.state.with_name(cli.state.name + ".lock.info")  # who holds the lock, while held
    assert not holder.exists(), "the interrupted run left its lock behind"
    opened.interrupt_at = None
    again = cli.run("restart", "--auto-approve", "web")
    assert again.returncode == 0 and "took over the state lock" not in again.stderr, again.stderr


def test_a_postgresql_state_is_one_backend_closed_at_the_end(cli: Cli, opened: Opened,
                                                             pg_state: str) -> None:
    cli.env["YOTTACTL_STATE"] = pg_state
    cli.write("web")
    for command in (("apply", "--auto-approve", str(cli.manifests)),  # into a new state
                    ("plan", str(cli.manifests)),
                    ("destroy", "--auto-approve")):
        opened.reset()
        result = cli.run(*command)
        assert result.returncode == 0, (command, result.stderr)
        opened.assert_one_client_closed()
        assert opened.connections, command  # the state is in the database
        opened.assert_all_connections_closed()
        # one backend: its data connection, and the lock's own session when it locks
        assert len(opened.connections) == (1 if command[0] == "plan" else 2), command
