"""Shared by the agent tests: a clock the test drives (no sleeping), an agent built over the
`Cli` fixture's emulator and state, and a subprocess agent whose JSON log lines are read as
they come (waiting on a line, never on time)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from reconciler.app.agent import AgentOptions, Reconciler
from reconciler.app.agent_loop import AgentLoop
from reconciler.app.agent_source import open_source
from reconciler.settings import resolve

from conftest import API_KEY, Cli

MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc).timestamp()
SATURDAY_NOON = datetime(2026, 12, 12, 12, 0, tzinfo=timezone.utc).timestamp()


@dataclass
class FakeClock:
    """Time moves only when the agent waits; ``on_wait(clock)`` runs at each wait (the test
    changes the world there) and the loop stops after ``cycles`` waits."""

    now: float = MONDAY_NOON
    cycles: int = 1
    on_wait: Callable[[FakeClock], None] | None = None
    waits: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def time(self) -> float:
        return self.now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        if len(self.waits) >= self.cycles:
            stop.set()
        elif self.on_wait is not None:
            self.on_wait(self)
        return stop.is_set()


def reconciler(cli: Cli, clock: FakeClock, state: str | None = None, **options: Any) -> Reconciler:
    return _agent(cli.server.url, state or str(cli.state), cli.manifests, cli.folder / "work",
                  clock, **options)


def observer_of(api_url: str, folder: Path) -> Reconciler:
    """An observe agent (a fake clock, an empty manifest folder, its state in ``folder``) on
    the API at ``api_url``: for API answers no emulator would give."""
    (folder / "manifests").mkdir()
    return _agent(api_url, str(folder / "state.json"), folder / "manifests", folder / "work",
                  FakeClock(), mode="observe")


def _agent(api_url: str, state: str, manifests: Path, work: Path, clock: FakeClock,
           **options: Any) -> Reconciler:
    settings = resolve(endpoint=api_url, api_key=API_KEY, state_path=state, environ={})
    os.environ.setdefault("HF_TOKEN", "hf_CANARY_c4n4ry_SECRET_9d2e")
    return Reconciler(settings, open_source(str(manifests), "main", work),
                      AgentOptions(**options), clock=clock)


def kept_scaling(cli: Cli, name: str) -> Callable[[FakeClock], None]:
    """Apply ``name`` at 2 workers, scale it to 5 by hand, and return an ``on_wait`` that
    scales it to 5 again at every wait (someone keeps scaling it by hand)."""
    assert cli("apply", str(cli.manifests), "--auto-approve").exit_code == 0
    api = cli.client()
    deployment_id = next(d.id for d in api.list() if d.name == name)
    api.scale(deployment_id, 5)
    return lambda clock: api.scale(deployment_id, 5)


def run_loop(rec: Reconciler, clock: FakeClock, seed: int = 1) -> AgentLoop:
    import random

    loop = AgentLoop(rec, rng=random.Random(seed), poll=0.05)
    loop.run(clock.stop)
    return loop


class AgentProcess:
    """`yottactl agent` as a real process; its JSON log lines read on a thread."""

    @staticmethod
    def argv(*args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", "agent", "--log-format", "json", *args]

    @staticmethod
    def environ(cli: Cli, env: dict[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **cli.env, **(env or {})}

    def __init__(self, cli: Cli, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(self.argv(*args), env=self.environ(cli, env),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=cli.folder)
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                self.other.append(line)
        self.lines.put(None)

    def wait_for(self, event: str, timeout: float = 30.0,
                 match: Callable[[dict[str, Any]], bool] = lambda e: True) -> dict[str, Any]:
        while True:
            item = self.lines.get(timeout=timeout)
            if item is None:
                raise AssertionError(f"agent exited before {event!r}: {self.seen[-5:]} "
                                     f"{''.join(self.other)[-2000:]}")
            self.seen.append(item)
            if item.get("event") == event and match(item):
                return item

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=60)
