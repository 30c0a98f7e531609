"""Blue-green rollouts (``lifecycle.rollout: blueGreen``): the live-name scheme and the steps.
Pure, like the planner.

The live-name scheme: a deployment managed as NAME is live under one of two slot names, NAME
itself or its alternate ``alternate_name(NAME)`` (NAME + "@alt", shortened with a hash when that
would pass the API's name limit). A rollout creates the new deployment (green) under the slot the
serving one (blue) does not use, and never renames anything: Yotta allows updates (a rename is
one) only on STOPPED deployments, so a serving deployment keeps its name. Successive rollouts
alternate between the two slots. Both slot names are NAME to the planner: no rename is planned
and drift reports none; after a lost or restored state the deployment live under either slot is
re-adopted by name (a new state asks for --adopt). ``@alt`` is reserved in manifest names, so no
manifest's deployment can hold another's rollout slot.

Steps of a rollout (``role`` says which deployment a step acts on):
create green → wait RUNNING with every worker → probe → cutover → stop blue → wait STOPPED →
delete blue. Nothing touches blue before the cutover succeeded; the executor (apply/rollout.py)
deletes green (or keeps it with --keep-failed) when a step before that fails.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, Protocol

from reconciler.api.facts import FAILED, QUEUE, RUNNING, STOPPED
from reconciler.manifest.schema import RESERVED_NAME_SUFFIX
from reconciler.plan import steps as S
from reconciler.plan.basis import ChangeBasis
from reconciler.plan.desired import Desired
from reconciler.plan.diff import diff
from reconciler.plan.live import LiveDeployment
from reconciler.plan.model import (
    Action,
    Change,
    CutoverSpec,
    Diagnostic,
    DiagnosticCode,
    Op,
    ProbeSpec,
    RolloutPlan,
    Step,
    error,
)
from reconciler.plan.normalize import Essence, Fingerprinter, mask
from reconciler.plan.reasons import Reason, sentence
from reconciler.state.model import StateEntry

if TYPE_CHECKING:
    from reconciler.manifest.schema import Lifecycle

V1_NAME_LIMIT = 50  # the API's name pattern allows 1-50 characters
V2_NAME_LIMIT = 20  # the v2 API, which yottactl will speak later
ALTERNATE_SUFFIX = RESERVED_NAME_SUFFIX  # '@' is allowed in names; manifests may not end so

# Expected durations (seconds) of a rollout's overlap on Yotta, for the plan's cost estimate:
# a cold start of a model server (3 to 8 minutes for a 7B model) and a stop.
EXPECTED_START_SECONDS = 300.0
EXPECTED_STOP_SECONDS = 60.0


def specs(life: Lifecycle) -> tuple[ProbeSpec | None, CutoverSpec | None]:
    """A manifest's lifecycle.probe and lifecycle.cutover as the plan carries them."""
    probe = None if life.probe is None else ProbeSpec(
        path=life.probe.path, expect_status=life.probe.expectStatus,
        timeout_seconds=life.probe.timeoutSeconds, interval_seconds=life.probe.intervalSeconds,
        successes=life.probe.successes)
    cutover = None if life.cutover is None else CutoverSpec(
        command=life.cutover.command, webhook=life.cutover.webhook,
        timeout_seconds=life.cutover.timeoutSeconds)
    return probe, cutover


def alternate_name(name: str, limit: int = V1_NAME_LIMIT) -> str:
    """The second slot name of ``name``: ``name@alt``, or, when that would pass ``limit``, the
    name cut short plus 6 hex digits of its SHA-256 (so two long names never share it)."""
    if len(name) + len(ALTERNATE_SUFFIX) <= limit:
        return name + ALTERNATE_SUFFIX
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    keep = max(1, limit - len(ALTERNATE_SUFFIX) - len(digest) - 1)
    return f"{name[:keep]}-{digest}{ALTERNATE_SUFFIX}"


def slot_names(name: str) -> tuple[str, str]:
    return name, alternate_name(name)


def is_slot(name: str, live_name: str | None) -> bool:
    """Does a deployment live as ``live_name`` carry manifest name ``name`` (either slot)?"""
    return live_name in slot_names(name)


def green_name(name: str, blue_live_name: str | None) -> str:
    """The slot a new deployment takes: the one the serving deployment does not use."""
    return name if blue_live_name == alternate_name(name) else alternate_name(name)


def wait_running(essence: Essence, role: str) -> Step:
    workers = None if essence.serviceMode == QUEUE else essence.workers
    return Step(op=Op.WAIT, until=(RUNNING,), workers=workers, role=role)


def retire(role: str, status: str | None = RUNNING) -> tuple[Step, ...]:
    """Stop (unless STOPPED) and delete the deployment of ``role``."""
    stop = () if status == STOPPED else (Step(op=Op.STOP, role=role),
                                         Step(op=Op.WAIT, until=(STOPPED,), role=role))
    return (*stop, Step(op=Op.DELETE, role=role))


def steps(essence: Essence, green: str, probe: ProbeSpec | None, cutover: CutoverSpec | None,
          *, resume: bool = False, discard_status: str | None = None,
          discard: bool = False) -> tuple[Step, ...]:
    """The steps of a rollout. ``resume``: green exists already (an interrupted run made it);
    ``discard``: a green of an earlier rollout (failed, kept, or of another spec) goes first."""
    out: list[Step] = []
    if discard:
        status = STOPPED if discard_status == STOPPED else RUNNING
        out += retire("discard", status)
    if not resume:
        out.append(Step(op=Op.CREATE, name=green, role="green"))
    out.append(wait_running(essence, "green"))
    if probe is not None:
        out.append(Step(op=Op.PROBE, role="green"))
    if cutover is not None:
        out.append(Step(op=Op.CUTOVER, role="green"))
    out += retire("blue")
    return tuple(out)


def overlap_seconds(probe: ProbeSpec | None, cutover: CutoverSpec | None,
                    resume: bool = False) -> float:
    """Expected time green and blue both run (and bill): green's start, the probe's passes,
    the cutover, blue's stop."""
    start = 0.0 if resume else EXPECTED_START_SECONDS
    checks = probe.successes * probe.interval_seconds if probe is not None else 0.0
    return start + checks + (cutover.timeout_seconds / 2 if cutover else 0.0) + \
        EXPECTED_STOP_SECONDS


def usable_green(status: str | None, failed_kept: str | None) -> bool:
    """May an interrupted run's green be resumed? Not when FAILED or kept after a failure."""
    return status not in (FAILED, STOPPED, None) and failed_kept is None


def kind(fields: set[str], replaced: set[str], forced: bool, would_stop: bool) -> Reason | None:
    """Why a RUNNING blue-green deployment rolls out (None: it does not: workers-only changes
    scale in place, and changes that do not stop it are made in place)."""
    if replaced:
        return Reason.ROLLOUT_REPLACE
    if forced:
        return Reason.ROLLOUT_REQUESTED
    if would_stop and fields:
        return Reason.ROLLOUT_UPDATE
    return None


def would_stop(outcome_steps: tuple[Step, ...]) -> bool:
    return any(s.op is Op.STOP for s in outcome_steps)


def plan_change(base: ChangeBasis, *, name: str, essence: Essence, live: LiveDeployment,
                reason: Reason, fields: set[str], probe: ProbeSpec | None,
                cutover: CutoverSpec | None, price_after: float | None,
                green: LiveDeployment | None = None, resume: bool = False,
                prefix: str = "") -> Change:
    """The ROLLOUT change replacing ``live`` (blue); ``green``: an earlier rollout's new
    deployment, resumed (``resume``) or deleted first."""
    slot = green.name if resume and green is not None else green_name(name, live.name)
    rollout = RolloutPlan(
        green_name=slot or green_name(name, live.name), blue_id=live.id, blue_name=live.name,
        green_id=green.id if resume and green is not None else None,
        discard_id=green.id if green is not None and not resume else None,
        old_domain=live.domain, probe=probe, cutover=cutover,
        overlap_seconds=overlap_seconds(probe, cutover, resume), extra_per_hour=price_after,
        overlap_cost=None if price_after is None
        else round(price_after * overlap_seconds(probe, cutover, resume) / 3600, 4))
    return base.change(action=Action.ROLLOUT, rollout=rollout,
                       steps=steps(essence, rollout.green_name, probe, cutover, resume=resume,
                                   discard=rollout.discard_id is not None,
                                   discard_status=green.status if green is not None else None),
                       reason=prefix + sentence(reason, fields), reason_code=reason,
                       disruption="new id and domain", price_after=price_after,
                       price_estimated=True)


def finish_change(base: ChangeBasis, live: LiveDeployment,
                  retiring: LiveDeployment) -> Change:
    """Cut over already: stop and delete the old deployment (``retiring``)."""
    rollout = RolloutPlan(green_name=live.name or "", blue_id=retiring.id,
                          blue_name=retiring.name, old_domain=retiring.domain)
    return base.change(action=Action.ROLLOUT, rollout=rollout,
                       steps=retire("blue", retiring.status),
                       reason=sentence(Reason.ROLLOUT_FINISH), reason_code=Reason.ROLLOUT_FINISH,
                       price_after=live.perHourPrice)


def discard_change(base: ChangeBasis, live: LiveDeployment, green: LiveDeployment,
                   failed: str | None) -> Change:
    """Only a leftover green to delete (the manifest no longer asks for a rollout)."""
    rollout = RolloutPlan(green_name=green.name or "", blue_id=live.id, blue_name=live.name,
                          discard_id=green.id)
    why = sentence(Reason.ROLLOUT_DISCARD) + (f" (it failed: {failed})" if failed else "")
    both = (live.perHourPrice or 0.0) + (green.perHourPrice or 0.0)
    return replace(base, price_before=both).change(
        action=Action.ROLLOUT, rollout=rollout,
        steps=retire("discard", STOPPED if green.status == STOPPED else RUNNING),
        reason=why, reason_code=Reason.ROLLOUT_DISCARD, price_after=live.perHourPrice)


def with_leftover(entry: StateEntry, live_by_id: dict[str, LiveDeployment],
                  change: Change) -> Change:
    """A deleted deployment's rollout leftover (a kept green, or an old one still retiring)
    is deleted first, so no deployment is left behind unmanaged."""
    leftover = live_by_id.get(entry.rollout_green or "") or live_by_id.get(
        entry.rollout_retiring or "")
    if leftover is None:
        return change
    rollout = RolloutPlan(green_name=leftover.name or "", blue_id=change.id,
                          blue_name=change.live_name or change.name, discard_id=leftover.id)
    mine = tuple(s.model_copy(update={"role": "blue"}) for s in change.steps)
    return change.model_copy(update={
        "rollout": rollout, "steps": (*retire("discard", leftover.status), *mine),
        "price_before": (change.price_before or 0.0) + (leftover.perHourPrice or 0.0)})


class PlannerView(Protocol):
    """What the rollout rung reads of the planner (plan/planner.py)."""

    live_by_id: dict[str, LiveDeployment]
    live_by_name: dict[str, list[LiveDeployment]]
    managed_ids: set[str]
    fp: Fingerprinter
    diagnostics: list[Diagnostic]


def rung(p: PlannerView, want: Desired, entry: StateEntry | None, live: LiveDeployment,
         base: ChangeBasis, fields: set[str], replaced: set[str], forced: bool,
         adopting: str, price_after: float | None) -> Change | Literal[False] | None:
    """The rollout rung: a ROLLOUT change, False (an error was recorded), or None (the rungs
    below plan it as usual). ``entry``: the state's (None while adopting)."""
    green = None
    if entry is not None:
        retiring = p.live_by_id.get(entry.rollout_retiring or "")
        if retiring is not None:  # cut over already: finish before anything else
            return finish_change(base, live, retiring)
        green = p.live_by_id.get(entry.rollout_green or "")
    running = want.state == "running"
    failed = entry.rollout_failed if entry is not None else None
    if want.rollout == "blueGreen" and live.status == RUNNING and running:
        outcome = S.converge(live.status, want.essence, running, fields)
        why = kind(fields, replaced, forced, would_stop(outcome[1] if outcome else ()))
        if why is not None:
            secret = frozenset(base.sensitive)
            resume = green is not None and usable_green(green.status, failed) and not diff(
                mask(green.essence, secret, p.fp), base.desired, secret)
            return _rollout(p, want, live, base, fields, why, green, resume, adopting,
                            price_after)
    if green is not None:  # an earlier rollout's green, not wanted any more
        return discard_change(base, live, green, failed)
    return None


def _rollout(p: PlannerView, want: Desired, live: LiveDeployment, base: ChangeBasis,
             fields: set[str], why: Reason, green: LiveDeployment | None, resume: bool,
             adopting: str, price_after: float | None) -> Change | Literal[False]:
    if want.prevent_destroy:
        p.diagnostics.append(error(
            DiagnosticCode.PREVENT_DESTROY_REPLACE, want.name,
            "lifecycle.preventDestroy forbids replacing it (a blue-green rollout deletes the "
            "old deployment once the new one serves)",
            "remove preventDestroy for this release, or use lifecycle.rollout: recreate"))
        return False
    slot = green.name if resume and green is not None else green_name(want.name, live.name)
    mine = {live.id, green.id if green is not None else ""}
    others = sorted(d.id for d in p.live_by_name.get(slot or "", []) if d.id not in mine)
    if others:
        p.diagnostics.append(error(
            DiagnosticCode.NAME_LIVE_ELSEWHERE, want.name,
            f"its rollout name {slot} is live on {', '.join(others)}, which it does not "
            "manage: creating the new deployment would make two of that name",
            "delete that deployment (`yottactl delete-unmanaged ID`) or rename it"))
        return False
    return plan_change(
        base, name=want.name, essence=want.essence, live=live,
        reason=Reason.ROLLOUT_RESUME if resume else why, fields=fields,
        probe=want.probe, cutover=want.cutover, green=green, resume=resume,
        price_after=price_after, prefix=adopting)
