"""The executor: runs the steps of a Plan, never re-plans. Independent deployments in parallel.

Every mutating call is bracketed by journal records (intent before, outcome after) and the
state is written after each step, so a crash at any moment loses nothing: the next run folds
the journal (see ``recovery``) and plans only what is still outstanding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from reconciler.api.client import YottaClient
from reconciler.api.facts import INITIALIZING, RUNNING, STOPPED, STOPPING
from reconciler.api.models import Deployment
from reconciler.apply import rollout
from reconciler.apply.events import Event, Interrupted, Result
from reconciler.apply.guard import CreateGuard
from reconciler.apply.names import NameOrder, units
from reconciler.apply.polling import Waits
from reconciler.apply.requests import SecretSource, create_request, unmask, update_request
from reconciler.apply.slots import WAITING_THREADS, Slots
from reconciler.apply.waiting import Waiting
from reconciler.errors import ActionNotAllowed, ApiError, NotFound, OutcomeUnknown, YottactlError
from reconciler.ops import StepOutcome
from reconciler.plan.model import Action, Change, Op, Plan, Step
from reconciler.plan.normalize import Essence, Fingerprinter
from reconciler.plan.reasons import Reason
from reconciler.plan.renames import is_rename, release_index
from reconciler.state.model import State, StateEntry
from reconciler.state.protocol import Backend
from reconciler.state.records import IntentRecord, OutcomeRecord, StateRecord, now_iso

MUTATING = {Op.CREATE, Op.UPDATE, Op.SCALE, Op.START, Op.STOP, Op.DELETE}
NOT_FROM_MANIFESTS = frozenset({Reason.REFRESHED, Reason.RESTART_REQUESTED})
CHECKPOINT_SECONDS = 0.5


class Executor:
    def __init__(self, client: YottaClient, store: Backend, state: State, fp: Fingerprinter,
                 secrets: SecretSource, *, parallelism: int = 10, no_wait: bool = False,
                 waiting: Waiting | None = None, on_event: Callable[[Event], None] | None = None,
                 stop: threading.Event | None = None, plan_fingerprint: str = "",
                 keep_failed: bool = False, hook_env: Mapping[str, str] | None = None) -> None:
        self.client, self.store, self.fp, self.secrets = client, store, fp, secrets
        self._saved = state
        self.state = state.model_copy(update={"key_verifier": fp.verifier()})
        self.parallelism = max(1, parallelism)
        client.limiter.set_ceiling(self.parallelism)  # --parallelism caps the adaptive limit
        self.no_wait = no_wait
        self.waiting = waiting or Waiting()
        self.on_event = on_event or (lambda e: None)
        self.stop = stop or threading.Event()
        self.slots = Slots(self.parallelism, self.stop)  # a wait lends its slot (apply/slots.py)
        # polls give way (list_gap apart) while other calls use the rate budget; a slot held
        # without a call (a deployment writing its outcome) does not slow the last waits down
        self.waits = Waits(client, self.waiting, self.stop, self.on_event,
                           busy=lambda: client.limiter.pending > 0)
        self.plan_fingerprint = plan_fingerprint
        self.keep_failed = keep_failed  # a failed rollout's new deployment stays (apply/rollout)
        self.hook_env = dict(hook_env or {})  # what a cutover command inherits (settings.py)
        self._lock = threading.RLock()
        self._checkpointed = time.monotonic()
        self.result = Result()
        # per deployment: when its first step started, and the steps it completed
        self._started: dict[str, float] = {}
        self._done: dict[str, list[str]] = {}
        self._current: dict[str, str] = {}
        self.guard = CreateGuard(client.list)  # a create never finds its name live
        self._gone: set[str] = set()  # ids this run deleted
        self._renamed: dict[str, str] = {}  # id -> the name this run gave it
        self.names = NameOrder(())

    # -- state ------------------------------------------------------------------------------

    def _persist(self, name: str, entry: StateEntry | None) -> None:
        """Record a state change: journal first (durable, O(1)), state file as a checkpoint.

        The journal is the write-ahead log; the state file is rewritten at most every
        CHECKPOINT_SECONDS and at the end, so a fleet of thousands is not rewritten per step.
        """
        with self._lock:
            started = time.perf_counter()
            self.state = (self.state.without(name) if entry is None
                          else self.state.with_entry(name, entry))
            self.store.journal(StateRecord(deployment=name, entry=entry))
            if time.monotonic() - self._checkpointed >= CHECKPOINT_SECONDS:
                self.checkpoint()
            self.result.persist_ms.append((time.perf_counter() - started) * 1000)

    def checkpoint(self, force: bool = False) -> None:
        """Write the state if it changed since the last write (or ``force``)."""
        with self._lock:
            if force or self.state != self._saved:
                self.state = self._saved = self.store.write(self.state)
            self._checkpointed = time.monotonic()

    def _record(self, change: Change, dep_id: str, status: str | None,
                spec: Essence | None = None, live_name: str | None = None,
                retiring: str | None = None) -> None:
        """Record ``dep_id`` as managed; its last-applied spec is the plan's desired one
        unless ``spec`` says otherwise (an adoption records what is live until it is changed)."""
        if spec is None:
            spec = change.desired or Essence()
        previous = self.state.deployments.get(change.name)
        same = previous if previous and previous.id == dep_id else None
        stamp = now_iso()
        entry = StateEntry(
            id=dep_id, spec=spec, sensitive=change.sensitive, fingerprint=self.fp.obj(spec),
            status=status, desired_state=change.desired_state,
            prevent_destroy=change.prevent_destroy, ignore_changes=change.ignore_changes,
            created_at=same.created_at if same else stamp, updated_at=stamp, renamed_from=live_name,
            keep_without_manifest=bool(same and same.keep_without_manifest  # until a manifest
                                       and change.reason_code in NOT_FROM_MANIFESTS),  # records it
            rollout_retiring=retiring)  # a rollout's switch: blue is still to be deleted
        self._persist(change.name, entry)

    def _rekey(self, old: str, new: str) -> None:
        """Move the entry to its live name. Old name first: a crash in between leaves it
        unrecorded (adopted by name next time), never twice (whose old name plans a delete)."""
        entry = self.state.deployments.get(old)
        if entry is None:
            return
        self._persist(old, None)
        self._persist(new, entry.model_copy(update={"renamed_from": None, "updated_at": now_iso()}))

    def _set_status(self, name: str, status: str | None) -> None:
        entry = self.state.deployments.get(name)
        if entry is not None and entry.status != status:
            self._persist(name, entry.model_copy(update={"status": status, "updated_at": now_iso()}))

    # -- steps ------------------------------------------------------------------------------

    def _intent(self, change: Change, op: Op, dep_id: str | None,
                name: str | None = None) -> None:
        record = IntentRecord(deployment=change.name, op=op, id=dep_id, name=name,
                              plan=self.plan_fingerprint)
        if op is Op.CREATE:
            # what recovery records if this create turns out to have happened (masked: no secrets)
            record = record.model_copy(update={
                "spec": change.desired, "sensitive": tuple(change.sensitive),
                "desired_state": change.desired_state, "prevent_destroy": change.prevent_destroy,
                "ignore_changes": tuple(change.ignore_changes)})
        self.store.journal(record)

    def _outcome(self, change: Change, op: Op, dep_id: str | None, *, ok: bool, error: str = "",
                 code: int | None = None) -> None:
        self.store.journal(OutcomeRecord(deployment=change.name, op=op, id=dep_id,
                                         plan=self.plan_fingerprint, ok=ok, error=error, code=code))

    def _call(self, change: Change, step: Step, dep_id: str | None) -> str | None:
        """One mutating API call, bracketed by the journal. Returns the (new) deployment id."""
        if step.op is Op.CREATE:  # a rollout's green takes its own slot name (plan/rollout.py)
            with self._lock:
                state, gone, renamed = self.state, set(self._gone), dict(self._renamed)
            mine = state.without(change.name) if step.role else state  # blue keeps serving
            self.guard.check(step.name or change.name, mine, gone, renamed)
        self._intent(change, step.op, dep_id, step.name)
        try:
            new_id = self._dispatch(change, step, dep_id)
        except ApiError as exc:
            self._outcome(change, step.op, dep_id, ok=False, error=exc.summary, code=exc.code)
            raise exc.with_deployment(change.name) from exc
        self._outcome(change, step.op, new_id or dep_id, ok=True)
        return new_id

    def _dispatch(self, change: Change, step: Step, dep_id: str | None) -> str | None:
        api = self.client
        if step.op is Op.CREATE:
            return self._create(change, step.name or change.name)
        assert dep_id is not None
        try:
            if step.op is Op.UPDATE:
                # the name it gets: a rename's, else the one it lives under (plan/renames.py)
                name = change.name if is_rename(change) else change.holds or change.name
                api.update(dep_id, update_request(step.name or name,
                                                  unmask(change, self.secrets)))
            elif step.op is Op.SCALE:
                api.scale(dep_id, int(step.workers or 1))
            elif step.op is Op.START:
                api.start(dep_id)
            elif step.op is Op.STOP:
                api.stop(dep_id)
            elif step.op is Op.DELETE:
                api.delete(dep_id)
        except NotFound:
            if step.op is not Op.DELETE:  # delete of something already gone: done
                raise
        except ActionNotAllowed:
            # a retried call whose first attempt did land answers 24002: check the status
            status = self.client.detail(dep_id).status
            if not ((step.op is Op.STOP and status in (STOPPING, STOPPED)) or (
                    step.op is Op.START and status in (INITIALIZING, RUNNING))):
                raise
        return None

    def _create(self, change: Change, name: str) -> str:
        """Create, never duplicating: an unknown outcome is resolved by name via list."""
        request = create_request(name, unmask(change, self.secrets))
        known = {e.id for e in self.state.deployments.values()}
        for _ in range(3):
            try:
                return self.client.create(request).id
            except OutcomeUnknown:
                found = [d for d in self.client.list() if d.name == name and d.id not in known]
                if found:
                    return found[0].id
        raise OutcomeUnknown("create did not complete after 3 attempts", operation="create",
                             deployment=change.name)

    def _wait(self, change: Change, step: Step, dep_id: str, started: float,
              confirm: bool = False) -> Deployment:
        """Wait for ``step``; the slot is lent meanwhile unless ``change`` takes its deployment
        down (a stop: --parallelism 1 updates a fleet one deployment at a time, apply/slots.py)."""
        if any(s.op is Op.STOP for s in change.steps):
            return self.waits.until(change.name, step, dep_id, started, confirm)
        with self.slots.lent():  # no API call of this deployment's is due until it settles
            return self.waits.until(change.name, step, dep_id, started, confirm)

    def run_change(self, change: Change) -> None:
        started = self._started[change.name] = time.monotonic()
        done = self._done[change.name] = []
        dep_id = change.id
        steps = list(change.steps)
        if self.no_wait:  # trailing waits only: a wait before a call is part of correctness
            while steps and steps[-1].op is Op.WAIT:
                steps.pop()
        if change.rekeyed_from is not None and dep_id is not None:
            self._rekey(change.rekeyed_from, change.name)
        if change.adopt and dep_id is not None:  # managed from now on, as it is live
            self._record(change, dep_id, change.live_status, change.live_snapshot)
        if change.rollout is not None:  # blue-green: its own loop (apply/rollout.py)
            return rollout.run(self, change, started, done)  # waits even with --no-wait
        releases = release_index(change)
        for index, step in enumerate(steps):
            if self.stop.is_set():
                raise Interrupted()
            if step.after and not self.names.wait(change.name, step.after, self.stop):
                raise Interrupted()
            self._current[change.name] = step.describe()
            self.on_event(Event(change.name, step.describe(), StepOutcome.START, time.monotonic() - started))
            if step.op is Op.FORGET:
                self._persist(change.name, None)
            elif step.op is Op.WAIT:
                assert dep_id is not None
                last = index == len(steps) - 1  # what apply reports done must have settled
                self._set_status(change.name,
                                 self._wait(change, step, dep_id, started, confirm=last).status)
            else:
                new_id = self._call(change, step, dep_id)
                if step.op is Op.CREATE:
                    dep_id = new_id
                    assert dep_id is not None
                    self._record(change, dep_id, INITIALIZING)
                elif step.op is Op.DELETE:
                    assert dep_id is not None
                    with self._lock:
                        self._gone.add(dep_id)
                    self._persist(change.name, None)
                elif step.op in (Op.UPDATE, Op.SCALE):
                    assert dep_id is not None
                    entry = self.state.deployments.get(change.name)
                    if step.op is Op.UPDATE:
                        with self._lock:
                            self._renamed[dep_id] = step.name or change.name
                    # a temporary name is recorded as the live name until the final rename
                    self._record(change, dep_id, entry.status if entry else None,
                                 live_name=step.name if step.op is Op.UPDATE else None)
                else:
                    self._set_status(change.name, STOPPING if step.op is Op.STOP else INITIALIZING)
            done.append(step.describe())
            if index == releases:
                self.names.release(change.name)
            self.on_event(Event(change.name, step.describe(), StepOutcome.OK, time.monotonic() - started))
        if dep_id is not None and change.name in self.state.deployments:
            # every step done: the manifest's spec is now the last-applied one
            status = self.state.deployments[change.name].status
            self._record(change, dep_id, change.live_status if change.action is Action.RECORD
                         else status)
        self.on_event(Event(change.name, "", StepOutcome.DONE, time.monotonic() - started))

    # -- whole plan -------------------------------------------------------------------------

    def settle(self, name: str) -> None:
        """Wait until a deployment an interrupted run touched leaves INITIALIZING/STOPPING:
        apply never reports success while something it changed is still in transition."""
        entry = self.state.deployments.get(name)
        if entry is None:
            return
        started = time.monotonic()
        try:
            status = self.client.detail(entry.id).status
        except NotFound:
            return  # gone: the next plan sees it (deleted, or re-adopted by name)
        until = {INITIALIZING: (RUNNING,), STOPPING: (STOPPED,)}.get(str(status))
        if until is not None:
            step = Step(op=Op.WAIT, until=until)
            change = Change(name=name, id=entry.id, action=Action.NOOP)
            self.on_event(Event(name, step.describe(), StepOutcome.START, 0.0))
            status = self._wait(change, step, entry.id, started, confirm=True).status
            self.on_event(Event(name, step.describe(), StepOutcome.OK, time.monotonic() - started))
        self._set_status(name, status)

    def run(self, plan: Plan, settle: tuple[str, ...] = ()) -> Result:
        """Run the plan's changes; then wait for ``settle`` (deployments a recovered run
        touched) to leave their transitional statuses, unless --no-wait."""
        # longest chains first (an update of a running deployment waits twice), so the one-call
        # changes fill the rate budget at the end instead of a few long chains trailing alone
        pending = sorted(plan.pending, key=lambda c: (-sum(s.op is Op.WAIT for s in c.steps),
                                                      -len(c.steps)))
        # a state on disk before the first journal record (a journal never outlives its state),
        # and proof that it can be written before any API call is made
        self.checkpoint(force=True)
        self.names = NameOrder(pending)
        todo = units(pending)  # threads: slots (--parallelism) + deployments waiting meanwhile
        threads = max(self.parallelism, min(len(todo) + len(settle), WAITING_THREADS))
        with ThreadPoolExecutor(threads, thread_name_prefix="apply") as pool:
            remaining = {pool.submit(self._run_unit, unit) for unit in todo}
            while remaining:
                done, remaining = wait(remaining, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    for change, exc in future.result():
                        self._collect(change, exc)
            if not self.no_wait:
                done_with = set(self.result.failed) | set(self.result.interrupted)
                waits = {pool.submit(self.settle, n): Change(name=n, action=Action.NOOP)
                         for n in settle if n not in done_with}
                for waited in waits:
                    waited.exception()  # wait for it
                    self._collect_settle(waits[waited], waited)
        self.checkpoint()
        self.store.clear_journal()  # folded: everything it recorded is in the state now
        self.result.state = self.state
        return self.result

    def _run_one(self, change: Change) -> BaseException | None:
        try:
            self.run_change(change)
        except Exception as exc:  # reported per deployment by _collect
            return exc
        finally:
            self.names.end(change.name)
        return None

    def _run_unit(self, unit: list[Change]) -> list[tuple[Change, BaseException | None]]:
        """One change, or changes that wait on each other's names, each on its own thread
        (see apply/names.py): the unit takes one slot of --parallelism."""
        try:
            with self.slots.held():
                if len(unit) == 1:
                    return [(unit[0], self._run_one(unit[0]))]
                with ThreadPoolExecutor(len(unit), thread_name_prefix="apply-rename") as pool:
                    return list(zip(unit, pool.map(self._run_one, unit), strict=True))
        except Interrupted as exc:  # stopped while every slot was busy: not started
            return [(change, exc) for change in unit]

    def _collect_settle(self, change: Change, future: Future[None]) -> None:
        if future.exception() is None:
            return  # counted neither as a change nor as a success of its own
        self._collect(change, future.exception())

    def _collect(self, change: Change, exc: BaseException | None) -> None:
        name = change.name
        done = self._done.get(name, [])
        if exc is None:
            self.result.succeeded.append(name)
        elif isinstance(exc, Interrupted):
            if done:  # some calls were made (and recorded): not "not started"
                self.result.partial[name] = list(done)
                self.on_event(Event(name, self._current.get(name, ""), StepOutcome.INTERRUPTED,
                                    time.monotonic() - self._started[name]))
            else:
                self.result.interrupted.append(name)
        else:
            if isinstance(exc, YottactlError):
                message, hint = exc.summary, exc.hint
            else:  # a bug: report it for this deployment, keep the others going
                message, hint = f"internal error: {type(exc).__name__}: {exc}", ""
            self.result.failed[name] = message
            elapsed = time.monotonic() - self._started[name] if name in self._started else 0.0
            self.on_event(Event(name, self._current.get(name, ""), StepOutcome.FAILED, elapsed, message,
                                hint=hint))
