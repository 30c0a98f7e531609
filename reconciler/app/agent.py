"""`yottactl agent`, one cycle: read the source, plan against ONE list call, report drift,
and in ``heal`` mode apply what the heal rules allow (``reconciler/agent_rules.py``).

The cycle reuses the commands' own use cases: ``app.plan.build_plan`` (as `plan` and `drift`
do), ``report.drift.findings_from`` (as `drift`), and ``app.apply.execute`` (as `apply`), so the
agent plans, guards and journals exactly as a person running `yottactl apply` would. The loop,
leadership and signals are ``reconciler/app/agent_loop.py``. Nothing here prints: events go to
the caller's ``log`` and the :class:`~reconciler.agent_status.StatusBoard`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from reconciler.agent_rules import BackoffPolicy, HealCap, Window, in_windows
from reconciler.agent_status import FleetRow, HistoryEntry, StatusBoard, fleet_cost
from reconciler.app.agent_metrics import AgentMetrics, counted
from reconciler.app.agent_source import FolderSource, GitSource, Snapshot
from reconciler.app.apply import ApplyOptions
from reconciler.app.session import Session
from reconciler.errors import YottactlError
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.app.plan import PlanRun
    from reconciler.plan.model import Plan
    from reconciler.report.drift import Finding

Log = Callable[..., None]  # log(event, **fields): one line per event (text or JSON)


class Clock(Protocol):
    """Time for the agent: tests pass one they drive (no sleeping in tests)."""

    def time(self) -> float: ...  # Unix time: sync windows, the heal cap, history

    def wait(self, stop: threading.Event, seconds: float) -> bool: ...  # True: stop was set


class SystemClock:
    def time(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))


@dataclass(frozen=True)
class AgentOptions:
    mode: str = "observe"  # observe | heal
    interval: float = 60.0
    jitter: float = 0.1  # ± this share of the interval
    prune: bool = False
    heals_per_hour: int = 6
    windows: tuple[Window, ...] = ()
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    apply: ApplyOptions = field(default_factory=lambda: ApplyOptions(no_wait=True))


@dataclass(frozen=True)
class CycleResult:
    ok: bool
    commit: str | None = None
    drift: dict[str, int] = field(default_factory=dict)
    healed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    held_back: str = ""  # why pending changes were not applied (observe, window, backoff, cap)
    error: str = ""


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reconciler:
    """One agent's cycles against one state; remembers failures, heals and last changes."""

    def __init__(self, settings: Settings, source: FolderSource | GitSource,
                 options: AgentOptions, *, clock: Clock | None = None,
                 metrics: AgentMetrics | None = None, board: StatusBoard | None = None,
                 log: Log | None = None) -> None:
        self.settings, self.source, self.options = settings, source, options
        self.clock = clock or SystemClock()
        self.metrics = metrics or AgentMetrics()
        self.board = board or StatusBoard()
        self.log: Log = log or (lambda event, **fields: None)
        self.session = Session(settings)  # one client and one backend for the agent's life
        self.client = self.session.client
        self.client.observer = self.metrics.api_call  # every call counted by operation, status
        self.store = self.session.store
        self.cap = HealCap(options.heals_per_hour)
        self.failures = 0
        self.backoff_until = 0.0
        self.last_change: dict[str, tuple[str, str]] = {}  # name -> (when, commit)
        self.board.update(mode=options.mode, source=source.describe(), interval=options.interval)

    def close(self) -> None:
        self.session.close()

    # -- one cycle -----------------------------------------------------------------------

    def cycle(self, stop: threading.Event, *, acting: bool) -> CycleResult:
        """Plan, report drift, and heal if ``acting`` (the leader in heal mode) and allowed."""
        started = time.perf_counter()
        self.metrics.cycles.inc()
        try:
            result = self._cycle(stop, acting)
        except YottactlError as exc:
            result = CycleResult(False, error=_one_line(exc))
        finally:
            self.metrics.duration.observe(time.perf_counter() - started)
        self._record(result)
        return result

    def _cycle(self, stop: threading.Event, acting: bool) -> CycleResult:
        from reconciler.app.plan import build_plan
        from reconciler.report.drift import findings_from

        snapshot = self.source.checkout()
        state = None
        if acting:
            from reconciler.app.apply import recover_state

            def warn(message: str) -> None:
                self.log("warning", message=message)

            state = recover_state(self.session, warn).state
        run = build_plan(self.settings, list(snapshot.paths), state=state, session=self.session)
        plan, left_alone = run.plan, ""
        if not self.options.prune:  # a removed manifest's deployment is left alone: not an error
            plan, left_alone = _leave_removed(plan)
        now = self.clock.time()
        findings = findings_from(plan, run.state, datetime.fromtimestamp(now, timezone.utc))
        drift = counted(f.type for f in findings)
        self.metrics.set_drift(drift)
        self._publish(run, plan, findings, snapshot)
        if plan.errors:
            return CycleResult(False, snapshot.commit, drift, error="; ".join(plan.errors))
        work = [c for c in plan.pending if c.action.value != "wait"]
        if not work:
            return CycleResult(True, snapshot.commit, drift, held_back=left_alone)
        why = self._held_back(acting, now)
        if why:
            return CycleResult(True, snapshot.commit, drift, held_back=_join(why, left_alone))
        result = self._heal(run, plan, snapshot, stop, drift)
        return replace(result, held_back=_join(result.held_back, left_alone))

    def _held_back(self, acting: bool, now: float) -> str:
        if self.options.mode != "heal":
            return "observe mode"
        if not acting:
            return "standby: another agent leads"
        if not in_windows(self.options.windows, datetime.fromtimestamp(now, timezone.utc)):
            return "outside the sync windows"
        if now < self.backoff_until:
            return f"backing off after {self.failures} failure(s) until {iso(self.backoff_until)}"
        return ""

    def _heal(self, run: PlanRun, plan: Plan, snapshot: Snapshot, stop: threading.Event,
              drift: dict[str, int]) -> CycleResult:
        from reconciler.app.apply import desired_essences, execute
        from reconciler.app.policy import refuse_if_blocked
        from reconciler.new_state import adoptions
        from reconciler.state.model import State

        now = self.clock.time()
        names = [c.name for c in plan.pending if c.action.value != "wait"]
        held = []
        if not self.options.prune:
            deletes = {c.name for c in plan.pending if c.action.value == "delete"}
            held += [f"{n}: delete (prune is off)" for n in sorted(deletes)]
            names = [n for n in names if n not in deletes]
        recorded = run.state.agent_heals if run.state else {}  # durable: the state's
        capped = [n for n in names if not self.cap.allows(recorded, n, now)]
        held += [f"{n}: healed {self.options.heals_per_hour} times in the last hour"
                 for n in capped]
        names = [n for n in names if n not in capped]
        if adoptions(run.state, plan):
            return CycleResult(False, snapshot.commit, drift, error=(
                "the state does not exist yet and the plan adopts live deployments: run "
                "`yottactl apply` once (a person confirms adoptions), then start the agent"))
        if not names:
            return CycleResult(True, snapshot.commit, drift, held_back="; ".join(held))
        refuse_if_blocked(run.policy, "heal")  # a mandatory policy violation: no heal, an error
        if len(names) < len(plan.pending):
            plan = _only(run, plan, names, self.session)
        self.store.note_in_history(f" (commit {snapshot.commit})" if snapshot.commit else "")
        self.log("heal", changes=len(plan.pending), names=names, commit=snapshot.commit or "")
        # each heal started counts against the cap, recorded by the apply's own state writes
        state = (run.state or State.empty()).model_copy(
            update={"agent_heals": self.cap.record(recorded, names, now)})
        outcome = execute(self.session, state, plan, desired_essences(run),
                          self.options.apply, lambda event: None, stop)
        result = outcome.result
        for name in result.succeeded:
            self.last_change[name] = (iso(now), snapshot.commit or "")
        self.metrics.heals.inc(len(result.succeeded))
        left = sorted([*result.interrupted, *result.partial])
        if left:  # stopped (SIGTERM/SIGINT) before these were done: said, not hidden
            held.append(f"stopped after healing {len(result.succeeded)} of {len(names)}: left "
                        f"{', '.join(left)} (the next run or cycle picks them up)")
        failed = tuple(sorted(result.failed))
        if failed:
            detail = "; ".join(f"{n}: {result.failed[n]}" for n in failed)
            return CycleResult(False, snapshot.commit, drift, tuple(result.succeeded), failed,
                               error=f"heal failed: {detail}")
        return CycleResult(True, snapshot.commit, drift, tuple(result.succeeded),
                           held_back="; ".join(held))

    # -- bookkeeping ---------------------------------------------------------------------

    def _record(self, result: CycleResult) -> None:
        """Backoff, metrics, status and history for one finished cycle."""
        now = self.clock.time()
        if result.ok:
            self.failures, self.backoff_until = 0, 0.0
            self.metrics.last_success.set(now)
        else:
            self.metrics.failures.labels(kind="heal" if result.failed else "cycle").inc()
            self.failures += 1
            self.backoff_until = now + self.options.backoff.delay(self.failures)
        self.board.update(last_cycle=iso(now), errors=(result.error,) if result.error else (),
                          ready=result.ok or self.failures <= 3,
                          consecutive_failures=self.failures,
                          backoff_until=iso(self.backoff_until) if self.backoff_until else "",
                          **({"last_success": iso(now)} if result.ok else {}),
                          **({"commit": result.commit} if result.commit else {}))
        commit = result.commit or ""
        if result.healed:
            self.board.note(HistoryEntry(iso(now), "heal", "healed " + ", ".join(result.healed),
                                         commit))
        if result.error:
            self.board.note(HistoryEntry(iso(now), "error", result.error, commit))
        elif result.held_back:
            self.board.note(HistoryEntry(iso(now), "held", result.held_back, commit))
        self.log("cycle", ok=result.ok, drift=result.drift, healed=list(result.healed),
                 held_back=result.held_back, error=result.error, commit=commit)

    def _publish(self, run: PlanRun, plan: Plan, findings: list[Finding],
                 snapshot: Snapshot) -> None:
        """The fleet and the plan as the status page shows them (no secret values: essences
        are summarised to workers; names and statuses are escaped when rendered)."""
        by_name: dict[str, list[str]] = {}
        for finding in findings:
            by_name.setdefault(finding.deployment, []).append(finding.type)
        managed = run.state.deployments if run.state else {}
        ids = {entry.id: name for name, entry in managed.items()}
        rows = []
        for live in run.live:
            name = ids.get(live.id) or live.name or live.id
            when, commit = self.last_change.get(name, ("", ""))
            rows.append(FleetRow(name, live.status or "?", live.essence.workers,
                                 live.perHourPrice, tuple(by_name.get(name, ())), when, commit,
                                 managed=live.id in ids))
        self.metrics.cost.set(fleet_cost(rows))  # as the page's total: managed, known prices
        lines = tuple(f"{c.action.value} {c.name}: {c.reason}" for c in plan.pending)
        self.board.update(fleet=tuple(sorted(rows, key=lambda r: r.name)),
                          plan_summary=tuple((k, v) for k, v in plan.summary.items() if v),
                          plan_lines=lines[:200], commit=snapshot.commit or "")


def _only(run: PlanRun, plan: Plan, names: list[str], session: Session) -> Plan:
    """The plan again (pure, from the same list call) for ``names`` only."""
    from reconciler.plan.planner import Options, make_plan

    again = make_plan(list(run.desired.values()), run.live, run.state, session.fingerprinter,
                      Options(targets=frozenset(names), catalog=session.settings.inputs.catalog))
    return again.model_copy(update={"environment": plan.environment, "endpoint": plan.endpoint})


def _leave_removed(plan: Plan) -> tuple[Plan, str]:
    """With prune off, a deployment whose manifest was removed is left alone: its
    preventDestroy refusal (the planner's error, for a delete that prune would not make
    anyway) becomes a note, so the cycle succeeds and /readyz stays ready."""
    from reconciler.plan.model import DiagnosticCode

    removed = [d for d in plan.diagnostics if d.code is DiagnosticCode.PREVENT_DESTROY_DELETE]
    if not removed:
        return plan, ""
    kept = tuple(d for d in plan.diagnostics if d not in removed)
    note = "; ".join(f"{d.deployment}: manifest removed, left alone (prune is off)"
                     for d in removed)
    return plan.model_copy(update={"diagnostics": kept}), note


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _one_line(exc: YottactlError) -> str:
    """Summary and detail on one line (the status page and the log show it whole)."""
    text = f"{exc}: {exc.detail}" if exc.detail else str(exc)
    return " ".join(text.split())[:500]
