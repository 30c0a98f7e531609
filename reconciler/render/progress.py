"""Apply progress, from executor events, onto an injected stream.

* TTY: one live line per deployment, redrawn in place (step, status, elapsed), refreshed each tick.
* Otherwise (CI logs): plain timestamped lines, no control codes, and while a deployment waits a
  heartbeat at least every ``heartbeat`` seconds (``settings.heartbeat_seconds``, default 10):
  ``llama: still creating… [1m20s elapsed] status INITIALIZING, workers 1/3``.
* JSON (``apply -o json``): one object per line (``format_version`` 1) for pipelines.

A failed step says how long it really ran, what it waited for and where to look next.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar, Protocol, TextIO

from reconciler.ops import StepOutcome
from reconciler.render.safe import clean

if TYPE_CHECKING:
    from reconciler.plan.model import Plan
from reconciler.policy.report import PolicyReport

EVENTS_FORMAT_VERSION = 1
GERUNDS = {"create": "creating", "replace": "replacing", "update": "updating",
           "scale": "scaling", "start": "starting", "stop": "stopping", "delete": "deleting",
           "no-op": "adopting", "restart": "restarting", "wait": "waiting"}


class ProgressEvent(Protocol):
    """What the executor reports (``reconciler.apply.executor.Event``; render does not import
    the executor, so the shape is declared here and checked by mypy where the two meet)."""

    @property
    def name(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def outcome(self) -> StepOutcome: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def detail(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def running(self) -> int | None: ...
    @property
    def wanted(self) -> int | None: ...
    @property
    def hint(self) -> str: ...


JsonRecord = dict[str, object]


def plan_event(the_plan: Plan, policy: PolicyReport | None = None) -> JsonRecord:
    """The first object of `apply -o json`: what is about to happen (with the project's
    policies: their results, as in `plan -o json`)."""
    changes = [{"deployment": c.name, "action": c.action.value, "id": c.id, "reason": c.reason,
                "disruptive": c.disruptive, "disruption": c.disruption}
               for c in the_plan.pending]
    event: JsonRecord = {"format_version": EVENTS_FORMAT_VERSION, "type": "plan",
                         "summary": the_plan.summary, "changes": changes,
                         "errors": list(the_plan.errors)}
    if policy is not None:
        event["policy"] = policy.to_dict()
    return event


def duration(seconds: float) -> str:
    """1m20s / 42.1s / 2h05m: what a person reads in a log."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def wait_text(name: str, target: str, reached: bool, description: str, elapsed: float) -> str:
    """One line of `yottactl wait`: reached, or still waiting (on a change or a heartbeat)."""
    if reached:
        return f"{name}: {description} [{duration(elapsed)}]"
    return f"{name}: waiting for {target}… [{duration(elapsed)} elapsed] {description}"


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Track:
    """What is known of one deployment's run: enough for a heartbeat or a live line."""

    verb: str
    started: float
    step: str = ""
    status: str | None = None
    running: int | None = None
    wanted: int | None = None
    last_line: float = 0.0
    active: bool = True
    line: str = ""


class _Base:
    def __init__(self, out: TextIO, actions: dict[str, str], heartbeat: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.actions, self.heartbeat, self.clock = out, actions, heartbeat, clock
        self.tracks: dict[str, _Track] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle: a ticker thread drives heartbeats / live refreshes ------------------------

    def __enter__(self) -> _Base:
        self._thread = threading.Thread(target=self._tick_loop, name="progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _tick_loop(self) -> None:
        step = self.heartbeat / 20
        while not self._stop.wait(step):
            with self._lock:
                self.tick(self.clock(), step)

    # -- events from executor threads ---------------------------------------------------------

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            now = self.clock()
            track = self.tracks.get(event.name)
            if track is None:
                verb = GERUNDS.get(self.actions.get(event.name, ""), "applying")
                track = self.tracks[event.name] = _Track(verb, now - event.elapsed, last_line=now)
            if event.step:
                track.step = event.step
            if event.outcome is StepOutcome.STATUS:
                track.status, track.running, track.wanted = event.status, event.running, event.wanted
            elif event.outcome is StepOutcome.START:
                track.status = track.running = track.wanted = None
            if event.outcome in (StepOutcome.FAILED, StepOutcome.INTERRUPTED, StepOutcome.DONE):
                track.active = False
            self.event(event, track, now)

    def event(self, event: ProgressEvent, track: _Track, now: float) -> None:
        raise NotImplementedError

    def tick(self, now: float, step: float) -> None:
        raise NotImplementedError

    def waiting(self, track: _Track) -> str:
        if track.status is None:
            return f"step {track.step}" if track.step else ""
        text = f"status {clean(track.status)}"
        if track.wanted is not None or track.running is not None:
            wanted = f"/{track.wanted}" if track.wanted is not None else ""
            text += f", workers {track.running or 0}{wanted}"
        return text


class TextProgress(_Base):
    def __init__(self, out: TextIO, actions: dict[str, str], heartbeat: float, *, tty: bool,
                 style: Callable[[str, str | None], str] = lambda t, fg: t,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(out, actions, heartbeat, clock)
        self.tty, self.style = tty, style
        self._drawn = 0

    def _emit(self, text: str) -> None:
        self.out.write(f"{_stamp()} {text}\n")
        self.out.flush()

    def event(self, event: ProgressEvent, track: _Track, now: float) -> None:
        elapsed = duration(now - track.started)
        step = f"{event.step} " if event.step else ""
        if event.outcome is StepOutcome.FAILED:
            body = f"{step}failed after {elapsed}: {clean(event.detail)}"
            if event.hint and not self.tty:
                body += f"\n    next: {clean(event.hint)}"
        elif event.outcome is StepOutcome.INTERRUPTED:
            body = f"interrupted during {step}[{elapsed}]"
        elif event.outcome is StepOutcome.DONE:
            body = f"complete [{elapsed}]"
        elif event.outcome is StepOutcome.START:
            body = f"{step}… [{elapsed}]"
        elif event.outcome is StepOutcome.OK:
            body = f"{step}done [{elapsed}]"
        else:  # a poll: shown by the live view and the heartbeat, not as a line of its own
            body = self._live_text(track, now) if self.tty else ""
        if self.tty:
            track.line = body
            self._redraw()
        elif body:
            track.last_line = now
            self._emit(f"{clean(event.name)}: {body}")

    def _live_text(self, track: _Track, now: float) -> str:
        about = self.waiting(track)
        return f"{track.step} …{' ' + about if about else ''} [{duration(now - track.started)}]"

    def _redraw(self) -> None:
        lines = []
        for name, track in self.tracks.items():
            failed = "failed after" in track.line
            fg = "red" if failed else ("green" if not track.active else None)
            lines.append(self.style(f"{clean(name)}: {track.line}", fg))
        out = f"\x1b[{self._drawn}F" if self._drawn else ""
        out += "".join(f"\x1b[2K{line}\n" for line in lines)
        self.out.write(out)
        self.out.flush()
        self._drawn = len(lines)

    def tick(self, now: float, step: float) -> None:
        if self.tty:
            refreshed = False
            for track in self.tracks.values():
                if track.active and track.step:  # the elapsed time keeps counting
                    track.line = self._live_text(track, now)
                    refreshed = True
            if refreshed:
                self._redraw()
            return
        for name, track in self.tracks.items():
            if track.active and now - track.last_line >= self.heartbeat - step:
                track.last_line = now
                about = self.waiting(track)
                self._emit(f"{clean(name)}: still {track.verb}… [{duration(now - track.started)} "
                           f"elapsed]{' ' + about if about else ''}")


class JsonProgress(_Base):
    """`apply -o json`: one JSON object per line; ``waiting`` objects are the heartbeat."""

    KINDS: ClassVar[dict[StepOutcome, str]] = {
        StepOutcome.START: "step_started", StepOutcome.OK: "step_finished",
        StepOutcome.FAILED: "step_failed", StepOutcome.INTERRUPTED: "interrupted",
        StepOutcome.DONE: "deployment_finished"}

    def write(self, record: JsonRecord) -> None:
        line = {"format_version": EVENTS_FORMAT_VERSION, "time": _stamp(), **record}
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    def event(self, event: ProgressEvent, track: _Track, now: float) -> None:
        kind = self.KINDS.get(event.outcome)
        if kind is None:
            return
        record: JsonRecord = {"type": kind, "deployment": event.name,
                                  "action": self.actions.get(event.name), "step": event.step,
                                  "elapsed": round(now - track.started, 3)}
        if event.outcome is StepOutcome.FAILED:
            record.update(error=event.detail, hint=event.hint)
        track.last_line = now
        self.write(record)

    def tick(self, now: float, step: float) -> None:
        for name, track in self.tracks.items():
            if track.active and now - track.last_line >= self.heartbeat - step:
                track.last_line = now
                self.write({"type": "waiting", "deployment": name,
                            "action": self.actions.get(name), "step": track.step,
                            "elapsed": round(now - track.started, 3), "status": track.status,
                            "runningWorkers": track.running, "wantedWorkers": track.wanted})
