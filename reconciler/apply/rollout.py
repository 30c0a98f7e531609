"""Running a blue-green rollout (plan/rollout.py has the steps and the live-name scheme).

Green (the new deployment) is created, awaited (RUNNING with every worker), probed and cut over
to; only then does the state map the name to green (``rollout_retiring`` = blue) and blue is
stopped and deleted. Until that switch nothing is sent for blue. A failure before it (green
FAILED, a timeout, the probe, the cutover, Ctrl-C) deletes green (or keeps it with
--keep-failed, recorded as ``rollout_green`` + ``rollout_failed``) and fails the change with
its cause. Every API call is journaled like any other; the probe and the cutover too. The
state records green as soon as it exists (``rollout_green``), so a run killed at any point is
carried on by the next plan (resume, finish or discard), never duplicated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from reconciler.api.client import YottaClient
from reconciler.api.facts import STOPPED
from reconciler.api.models import Deployment
from reconciler.apply.events import Event, Interrupted
from reconciler.apply.hooks import (
    CutoverFailed,
    Interrupt,
    ProbeFailed,
    Switch,
    probe_url,
    run_cutover,
    run_probe,
)
from reconciler.apply.waiting import Waiting
from reconciler.errors import NotFound, YottactlError
from reconciler.ops import StepOutcome
from reconciler.plan.model import Action, Change, Op, Step
from reconciler.plan.normalize import Essence
from reconciler.state.model import State, StateEntry
from reconciler.state.records import now_iso


class Executor(Protocol):
    """What a rollout uses of the executor (apply/executor.py, which runs it): declared here so
    that the rollout steps sit below the executor instead of importing it back."""

    client: YottaClient
    state: State
    waiting: Waiting
    stop: threading.Event
    on_event: Callable[[Event], None]
    keep_failed: bool
    hook_env: dict[str, str]
    _lock: threading.RLock
    _gone: set[str]

    def _persist(self, name: str, entry: StateEntry | None) -> None: ...

    def _record(self, change: Change, dep_id: str, status: str | None,
                spec: Essence | None = None, live_name: str | None = None,
                retiring: str | None = None) -> None: ...

    def _intent(self, change: Change, op: Op, dep_id: str | None,
                name: str | None = None) -> None: ...

    def _outcome(self, change: Change, op: Op, dep_id: str | None, *, ok: bool, error: str = "",
                 code: int | None = None) -> None: ...

    def _call(self, change: Change, step: Step, dep_id: str | None) -> str | None: ...

    def _wait(self, change: Change, step: Step, dep_id: str, started: float,
              confirm: bool = False) -> Deployment: ...


CLEANUP_SECONDS = 900.0  # longest wait for a failed rollout's new deployment to stop


class RolloutFailed(YottactlError):
    """A rollout stopped before its cutover: green deleted (or kept), blue untouched."""


def run(ex: Executor, change: Change, started: float, done: list[str]) -> None:
    RolloutRun(ex, change, started, done).run()


class RolloutRun:
    def __init__(self, ex: Executor, change: Change, started: float, done: list[str]) -> None:
        assert change.rollout is not None
        self.ex, self.change, self.plan = ex, change, change.rollout
        self.started, self.done = started, done
        self.ids: dict[str, str | None] = {"blue": self.plan.blue_id,
                                           "green": self.plan.green_id,
                                           "discard": self.plan.discard_id}
        # nothing new to make healthy (finish, discard, a delete's leftover): blue may go
        self.switched = not any(s.role == "green" for s in change.steps)
        self.green_domain = ""
        self.waiting_green = False  # in green's wait (its errors name the manifest name)

    # -- state ------------------------------------------------------------------------------

    def _entry(self) -> StateEntry | None:
        return self.ex.state.deployments.get(self.change.name)

    def _update(self, **fields: object) -> None:
        entry = self._entry()
        if entry is not None:
            self.ex._persist(self.change.name, entry.model_copy(
                update={**fields, "updated_at": now_iso()}))

    def _switch(self) -> None:
        """The cutover is done: the name is green's; blue is what remains to retire."""
        green = self.ids["green"]
        assert green is not None
        # one record: the name is green's and blue is retiring (a crash cannot split them)
        self.ex._record(self.change, green, "RUNNING", retiring=self.ids["blue"])
        self.switched = True

    # -- steps ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            for step in self.change.steps:
                if self.ex.stop.is_set():
                    raise Interrupted()
                if step.role == "blue" and not self.switched:
                    self._switch()
                self._event(step, StepOutcome.START)
                self._step(step)
                self.done.append(step.describe())
                self._event(step, StepOutcome.OK)
        except Exception as exc:  # Interrupted (Ctrl-C) and the probe's Interrupt included
            if self.switched:
                raise
            self._give_up(exc)
        if not self.switched:  # a rollout with no blue step (cannot happen): never silently
            raise YottactlError(f"{self.change.name}: the rollout plan has no cutover point")
        entry = self._entry()
        if entry is not None:  # finished: the rollout's bookkeeping goes
            self.ex._persist(self.change.name, entry.model_copy(update={
                "rollout_green": None, "rollout_failed": None, "rollout_retiring": None,
                "updated_at": now_iso()}))
        self.ex.on_event(Event(self.change.name, "", StepOutcome.DONE, time.monotonic() - self.started))

    def _event(self, step: Step, outcome: StepOutcome) -> None:
        self.ex.on_event(Event(self.change.name, step.describe(), outcome,
                               time.monotonic() - self.started))

    def _step(self, step: Step) -> None:
        ex, role = self.ex, step.role or "green"
        if step.op is Op.CREATE:
            green = ex._call(self.change, step, None)
            assert green is not None
            self.ids["green"] = green
            self._update(rollout_green=green, rollout_failed=None)
        elif step.op is Op.WAIT:
            dep_id = self.ids[role]
            assert dep_id is not None
            self.waiting_green = role == "green"
            dep = ex._wait(self.change, step, dep_id, self.started, confirm=role == "green")
            self.waiting_green = False
            if role == "green":
                self.green_domain = dep.domain or ""
        elif step.op is Op.PROBE:
            self._journaled(step, self._probe)
        elif step.op is Op.CUTOVER:
            self._journaled(step, self._cutover)
        else:
            dep_id = self.ids[role]
            assert dep_id is not None
            ex._call(self.change, step, dep_id)
            if step.op is Op.DELETE:
                with ex._lock:
                    ex._gone.add(dep_id)
                if role == "blue" and self.change.action is Action.DELETE:
                    ex._persist(self.change.name, None)  # removed from the manifests
                    return
                key = "rollout_retiring" if role == "blue" else "rollout_green"
                self._update(**{key: None}, **({"rollout_failed": None} if role != "blue"
                                               else {}))

    def _journaled(self, step: Step, action: Callable[[], None]) -> None:
        """The probe and the cutover are journaled like API calls (intent, then outcome)."""
        green = self.ids["green"]
        self.ex._intent(self.change, step.op, green)
        try:
            action()
        except YottactlError as exc:  # a command's output is shown, never journaled
            self.ex._outcome(self.change, step.op, green, ok=False,
                             error=getattr(exc, "brief", "") or exc.summary)
            raise
        self.ex._outcome(self.change, step.op, green, ok=True)

    def _green_domain(self) -> str:
        if not self.green_domain and self.ids["green"]:
            self.green_domain = self.ex.client.detail(self.ids["green"]).domain or ""
        return self.green_domain

    def _probe(self) -> None:
        assert self.plan.probe is not None
        domain = self._green_domain()
        if not domain:
            raise YottactlError(f"{self.change.name}: the new deployment has no domain to probe",
                                hint="lifecycle.probe needs an ALB deployment (expose)")
        deadline = time.monotonic() + self.ex.waiting.timeout
        run_probe(probe_url(domain, self.plan.probe.path), self.plan.probe, self.ex.stop,
                  deadline, self.change.name)

    def _cutover(self) -> None:
        assert self.plan.cutover is not None
        blue = self.ids["blue"] or ""
        old_domain = self.plan.old_domain or (  # a plan made from a list without domains
            self.ex.client.detail(blue).domain or "" if blue else "")
        run_cutover(self.plan.cutover, Switch(
            name=self.change.name, old_id=blue, new_id=self.ids["green"] or "",
            old_domain=old_domain, new_domain=self._green_domain()), self.ex.hook_env,
            self.ex.client.secrets)

    # -- failure before the cutover -----------------------------------------------------------

    def _give_up(self, exc: BaseException) -> None:
        """Green goes (or is kept); blue is never touched. Raises RolloutFailed."""
        name, green = self.change.name, self.ids["green"]
        stopped = isinstance(exc, (Interrupted, Interrupt))
        if stopped:
            cause = "interrupted (Ctrl-C / SIGTERM)"
        elif isinstance(exc, YottactlError):
            cause = exc.summary.removeprefix(f"{name}: ")
            if self.waiting_green:  # the wait's words name the manifest name, i.e. blue
                cause = "the new deployment " + cause.removeprefix(f"{name} ")
        else:
            cause = f"internal error: {type(exc).__name__}: {exc}"
        blue = f"{self.plan.blue_name} (id {self.plan.blue_id}) was not touched and keeps serving"
        # a hook's own advice; not a wait's, which points at `NAME` (blue's logs) and `wait`
        told = exc.hint if isinstance(exc, (ProbeFailed, CutoverFailed)) else \
            "raise --timeout if the new deployment is only slow" if "timed out" in cause else ""
        told = f"{told}; " if told else ""
        if green is None:
            raise RolloutFailed(f"{name}: rollout failed: {cause}; {blue}",
                                hint=told + "run `yottactl apply` again to start the release "
                                            "over") from None
        if self.ex.keep_failed:
            brief = getattr(exc, "brief", "") or cause  # a command's output is not kept
            self._update(rollout_green=green, rollout_failed=brief[:500])
            raise RolloutFailed(
                f"{name}: rollout failed: {cause}; the new deployment {self.plan.green_name} "
                f"(id {green}) is kept (--keep-failed); {blue}",
                hint=f"{told}read its logs with `yottactl logs {green}` (and `yottactl workers "
                     f"{green}`); the next apply deletes it first") from None
        try:
            self._delete_green(green)
        except Exception as cleanup:  # the next plan deletes it (rollout_green stays recorded)
            raise RolloutFailed(
                f"{name}: rollout failed: {cause}; deleting the new deployment {green} failed "
                f"too ({cleanup}); {blue}",
                hint=f"{told}run `yottactl apply` again: it deletes the new deployment first; "
                     f"`yottactl logs {green}` shows its logs meanwhile") from None
        raise RolloutFailed(
            f"{name}: rollout failed: {cause}; the new deployment {self.plan.green_name} "
            f"(id {green}) was deleted; {blue}",
            hint=told + ("run `yottactl apply` again to start the release over" if stopped else
                         "its logs went with it: run again with --keep-failed to keep it and "
                         f"read them (`yottactl logs NEW_ID`; `yottactl logs {name}` shows the "
                         "old, serving one)")) from None

    def _delete_green(self, green: str) -> None:
        """Stop (unless STOPPED), wait, delete: with a wait of its own, since Ctrl-C has set
        the run's stop event and this must finish anyway."""
        ex, name = self.ex, self.change.name
        try:
            status = ex.client.detail(green).status
        except NotFound:
            status = None
        if status is not None and status != STOPPED:
            ex._call(self.change, Step(op=Op.STOP, role="green"), green)
            # not --timeout (which may be what just ran out): green must go whatever it was
            pause, deadline = threading.Event(), time.monotonic() + max(ex.waiting.timeout,
                                                                         CLEANUP_SECONDS)
            delay = ex.waiting.first_poll
            while ex.client.detail(green).status != STOPPED:
                if time.monotonic() > deadline:
                    raise YottactlError(f"{name}: the new deployment {green} did not stop")
                pause.wait(delay)
                delay = min(delay * 2, ex.waiting.max_poll)
        if status is not None:
            ex._call(self.change, Step(op=Op.DELETE, role="green"), green)
        with ex._lock:
            ex._gone.add(green)
        self._update(rollout_green=None, rollout_failed=None)
