"""`yottactl agent`'s loop: cycles every interval (±jitter), leadership through the state lock,
and a clean stop.

* ``observe``: no lock (a read-only database role is enough); every agent cycles.
* ``heal``: the agent that holds the state lock leads and cycles; the others stand by, trying
  the lock every ``poll`` seconds, and serve health and status meanwhile. A PostgreSQL lock is a
  session advisory lock: a leader killed with ``kill -9`` loses its session and the lock with it,
  and a standby takes over at its next try. A leader checks its lock before each cycle and the
  journal refuses a write once the lock session is gone (before the API call it records), so a
  leader that lost its session stops acting. A file state's lock cannot tell a standby when its
  holder died on another machine: a file state allows one agent only.
* A stop (SIGTERM/SIGINT, set by the caller on ``stop``) lets the current step finish and be
  recorded; then the lock is released and :meth:`AgentLoop.run` returns.
"""

from __future__ import annotations

import random
import threading

from reconciler.agent_rules import jittered
from reconciler.agent_status import HistoryEntry
from reconciler.app.agent import CycleResult, Reconciler, iso
from reconciler.errors import LockHeld, StateError, UsageError
from reconciler.process import release_free_heap

TAKEOVER_POLL = 1.0  # seconds between a standby's tries of the lock (takeover within ~2 s)


class AgentLoop:
    def __init__(self, reconciler: Reconciler, *, poll: float = TAKEOVER_POLL,
                 rng: random.Random | None = None, command: str = "yottactl agent",
                 max_cycles: int | None = None) -> None:
        self.rec, self.poll = reconciler, poll
        self.rng = rng or random.Random()
        self.command = command
        self.max_cycles = max_cycles  # `--once`: 1 (then stops as if signalled); None: forever
        self.cycles = 0
        self.last_ok = True

    def next_delay(self, result: CycleResult) -> float:
        """The interval ±jitter; after failures, at least the backoff (2 s ×3, cap 300 s)."""
        options = self.rec.options
        delay = jittered(options.interval, options.jitter, self.rng.random())
        if not result.ok:
            delay = max(delay, options.backoff.delay(self.rec.failures))
        return delay

    def run(self, stop: threading.Event) -> None:
        rec = self.rec
        try:
            if rec.options.mode == "observe":
                rec.board.update(role="observer", leader="")
                rec.metrics.leader.set(0)
                self._cycles(stop, acting=False)
                return
            while not stop.is_set():
                self._contend(stop)
        finally:
            rec.metrics.leader.set(0)
            rec.board.update(role="stopped")
            rec.log("stopped")

    def _contend(self, stop: threading.Event) -> None:
        rec = self.rec
        try:
            with rec.store.locked(self.command, 0.0,
                                  warn=lambda message: rec.log("warning", message=message)):
                self._lead(stop)
        except LockHeld as exc:
            if self.max_cycles is not None:  # a bounded run does not stand by
                raise UsageError(f"{exc}: another agent or run leads",
                                 hint="run --once when no agent holds the state, or read the "
                                      "leader's status page") from None
            if not _shared(rec):
                raise UsageError(f"{exc}: a file state allows one agent only",
                                 detail="a file lock cannot tell a standby agent that its "
                                        "holder died; standby agents need a PostgreSQL state",
                                 hint="stop the other agent (or run), or use a PostgreSQL state "
                                      "(--state postgresql://…) for several agents") from None
            self._standby(stop)
        except StateError as exc:  # the lock session ended while leading: contend again
            rec.log("lock_lost", message=str(exc))
            rec.board.note(HistoryEntry(iso(rec.clock.time()), "standby",
                                        "lost the state lock: standing by"))
            rec.metrics.leader.set(0)
            rec.clock.wait(stop, self.poll)

    def _lead(self, stop: threading.Event) -> None:
        rec = self.rec
        rec.metrics.leader.set(1)
        rec.board.update(role="leader", leader="this agent")
        rec.board.note(HistoryEntry(iso(rec.clock.time()), "leader", "took the state lock: "
                                    "leading"))
        rec.log("leader")
        try:
            self._cycles(stop, acting=True)
        finally:
            rec.metrics.leader.set(0)

    def _cycles(self, stop: threading.Event, *, acting: bool) -> None:
        rec = self.rec
        while not stop.is_set():
            if acting and not rec.store.still_locked():
                raise StateError("the state lock's database session ended")
            started = rec.clock.time()
            result = rec.cycle(stop, acting=acting)
            release_free_heap()  # what the cycle parsed and freed, back to the system
            self.cycles += 1
            self.last_ok = result.ok
            if self.max_cycles is not None and self.cycles >= self.max_cycles:
                stop.set()
                return
            # the interval runs from cycle start to cycle start (a 1 s cycle every 60 s, not
            # every 61 s); a backoff runs from the failure
            elapsed = rec.clock.time() - started if result.ok else 0.0
            if stop.is_set() or rec.clock.wait(stop, max(0.0, self.next_delay(result) - elapsed)):
                return

    def _standby(self, stop: threading.Event) -> None:
        rec = self.rec
        rec.metrics.leader.set(0)
        holder = None
        try:
            holder = rec.store.holder()
        except StateError:
            pass
        who = holder.who() if holder else "another agent"
        if rec.board.read().role != "standby":
            rec.board.note(HistoryEntry(iso(rec.clock.time()), "standby", f"standing by: {who} "
                                        "leads"))
            rec.log("standby", leader=who)
        rec.board.update(role="standby", leader=who, ready=True)
        rec.clock.wait(stop, self.poll)


def _shared(rec: Reconciler) -> bool:
    """Several agents can share this state (a database: a dead holder frees the lock)."""
    from reconciler.state.backend import is_postgres_url

    return is_postgres_url(rec.settings.state_path or "")
