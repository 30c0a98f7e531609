"""The steps of a run (``app/run.py``): recover an interrupted run, check a saved plan, refresh,
run the changes, and collect what now serves. Each step uses the run's one client and backend
(a :class:`~reconciler.app.session.Session`). No printing: warnings go to the caller's ``warn``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.errors import StalePlanError, StateError, UsageError
from reconciler.plan.model import Plan

if TYPE_CHECKING:
    from reconciler.api.client import YottaClient
    from reconciler.app.plan import PlanRun
    from reconciler.app.session import Session
    from reconciler.apply.events import Event, Result
    from reconciler.essence import Essence
    from reconciler.policy.report import PolicyReport
    from reconciler.report.observe import OutputRecord
    from reconciler.state.model import State

# actions after which a deployment serves somewhere worth printing in the outputs
OUTPUT_ACTIONS = frozenset({"create", "replace", "start", "update", "scale", "restart", "wait"})


@dataclass(frozen=True)
class Recovered:
    """The state with an interrupted run's journal folded in, and the deployments that run
    touched (apply waits for them to settle before it reports success)."""

    state: State | None
    touched: tuple[str, ...] = ()


def recover_state(session: Session, warn: Callable[[str], None]) -> Recovered:
    """Read the state under the caller's lock; fold in the journal of an interrupted run."""
    from reconciler.apply.recovery import recover
    from reconciler.state.model import State

    store = session.store
    state, records = store.read_with_journal()  # PostgreSQL: one round trip
    if not records:
        return Recovered(state)
    state, report = recover(store, state or State.empty(), session.client,
                            session.fingerprinter)
    for message in report.messages:
        warn(message)
    return Recovered(state, tuple(report.touched))


def read_plan_file(plan_file: str) -> Plan:
    """A saved plan, or a clear error saying what the file is not."""
    from reconciler import localfile
    from reconciler.plan.model import FORMAT_VERSION

    try:
        text = localfile.read_text(plan_file, localfile.STATE_CAP)
    except localfile.UnreadableFile as exc:
        raise UsageError(f"cannot read plan file {plan_file}: {exc.reason}",
                         hint="create one with `yottactl plan --out FILE`") from exc
    refusal = UsageError(f"{plan_file} is not a yottactl plan file (format {FORMAT_VERSION})",
                         hint="create one with `yottactl plan --out FILE`")
    try:
        return Plan.from_json(text)  # checks format_version: `{}` is refused too
    except ValueError as exc:
        raise refusal from exc


def saved_plan(session: Session, plan_file: str,
               state: State | None) -> tuple[Plan, PolicyReport | None]:
    """A plan file from `plan --out`, refused when it has errors, was planned for another
    environment or state, or is stale for any deployment it touches; with the project's
    policies checked against it as they are now (the caller refuses a violation)."""
    from reconciler.app.policy import check_saved
    from reconciler.apply.stale import stale_reasons

    the_plan = read_plan_file(plan_file)
    if the_plan.errors:
        raise UsageError(f"{plan_file} contains plan errors and cannot be applied")
    environment = session.settings.inputs.context.environment
    if the_plan.environment != environment and (the_plan.environment or environment):
        raise UsageError(f"{plan_file} was planned for environment {the_plan.environment!r}, "
                         f"not {environment!r}",
                         hint=f"apply it with --env {the_plan.environment}" if the_plan.environment
                         else "apply it without --env / YOTTACTL_ENV")
    speaks = session.client.api_version  # its steps are the same; its checks (capacity) not
    if the_plan.api_version != speaks:
        raise UsageError(f"{plan_file} was planned against API {the_plan.api_version}; this apply "
                         f"speaks {speaks}",
                         hint=f"apply it with --api-version {the_plan.api_version}, or plan again")
    lineage = state.lineage if state else None
    if the_plan.state_lineage and lineage and the_plan.state_lineage != lineage:
        raise StateError(f"{plan_file} was made from another state (lineage "
                         f"{the_plan.state_lineage}, this state is {lineage})",
                         hint="plan again against this state")
    listed = session.client.list()  # one list: the staleness check and the policies'
    reasons = stale_reasons(the_plan, listed, state, session.fingerprinter)
    if reasons:
        if state is not None and state.serial != the_plan.state_serial:
            reasons.append(f"the state changed since the plan was made (serial "
                           f"{the_plan.state_serial} → {state.serial})")
        raise StalePlanError(f"{plan_file} is stale: deployments it touches changed",
                             detail="\n".join(f"  {r}" for r in reasons),
                             hint="run `yottactl plan --out FILE` again")
    return the_plan, check_saved(session.settings, the_plan, listed, state, session.secrets)


def refresh(session: Session, state: State | None, targets: Sequence[str],
            paths: Sequence[str] = ()) -> Plan:
    """`apply --refresh-only`: record live values of managed deployments (one list call).
    With manifest ``paths``: only the deployments they declare, with their ignoreChanges."""
    from reconciler.app.plan import load_desired
    from reconciler.plan.refresh import refresh_plan

    manifests = None
    if paths:
        loaded = load_desired(paths, session.settings.inputs, session.secrets).deployments
        manifests = {d.name: d.ignore_changes for d in loaded}
    return refresh_plan(session.client.list(), state, session.fingerprinter,
                        frozenset(targets), manifests)


def desired_essences(run: PlanRun) -> dict[str, Essence]:
    """Real (unmasked) essences of the loaded manifests: where apply finds secret values."""
    return {name: d.essence for name, d in run.desired.items()}


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 10
    no_wait: bool = False
    timeout: float = 900.0
    settle: tuple[str, ...] = ()  # touched by an interrupted run: wait for these too
    keep_failed: bool = False  # a failed blue-green rollout keeps its new deployment


@dataclass
class Outcome:
    """What a run did (the executor's result) and what now serves (for the summary)."""

    result: Result
    outputs: list[OutputRecord] = field(default_factory=list)

    @property
    def stopped_early(self) -> bool:
        return bool(self.result.interrupted or self.result.partial)


def execute(session: Session, state: State | None, the_plan: Plan,
            essences: Mapping[str, Essence], options: ApplyOptions,
            on_event: Callable[[Event], None], stop: threading.Event) -> Outcome:
    """Run the plan's pending changes; the executor journals and records every outcome."""
    from reconciler.apply.executor import Executor
    from reconciler.apply.requests import SecretSource
    from reconciler.apply.waiting import Waiting
    from reconciler.settings import hook_environment
    from reconciler.state.model import State

    fp = session.fingerprinter
    client = session.client
    executor = Executor(client, session.store, state or State.empty(), fp,
                        SecretSource(fp, essences, known=session.secrets),
                        parallelism=options.parallelism,
                        no_wait=options.no_wait, waiting=Waiting(timeout=options.timeout),
                        stop=stop, on_event=on_event, plan_fingerprint=fp.obj(the_plan.to_json()),
                        keep_failed=options.keep_failed, hook_env=hook_environment())
    result = executor.run(the_plan, options.settle)
    return Outcome(result, outputs(client, the_plan, result))


def outputs(client: YottaClient, the_plan: Plan, result: Result) -> list[OutputRecord]:
    """Id, status, workers and URL of what now serves (one list call; none if nothing does)."""
    from reconciler.errors import ApiError
    from reconciler.report.observe import output_record

    done = set(result.succeeded) | set(result.partial)
    managed = result.state.deployments if result.state else {}
    names = [c.name for c in the_plan.pending
             if c.action.value in OUTPUT_ACTIONS and c.name in done and c.name in managed]
    if not names:
        return []
    try:
        live = {d.id: d for d in client.list()}
    except ApiError:  # the changes are done and recorded; outputs are a courtesy
        return []
    return [output_record(n, managed[n].id, live.get(managed[n].id)) for n in sorted(names)]
