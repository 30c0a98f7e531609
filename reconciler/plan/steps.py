"""Step sequences for each lifecycle situation (docs/ARCHITECTURE.md §1): what the executor runs.

Rules of the API: update and delete only when STOPPED; start only from STOPPED (new workers);
scale applies at once when RUNNING and is only recorded when STOPPED.
"""

from __future__ import annotations

from reconciler.api.facts import FAILED, INITIALIZING, QUEUE, RUNNING, STOPPED, STOPPING
from reconciler.plan.model import Action, Op, Step
from reconciler.plan.normalize import Essence
from reconciler.plan.reasons import Reason

R = Reason

STOP = (Step(op=Op.STOP), Step(op=Op.WAIT, until=(STOPPED,)))
RESTARTS = "workers restart"  # the disruption of stop + start (render/plan_text says more)
_START, _UPDATE = Step(op=Op.START), (Step(op=Op.UPDATE),)  # shared, as STOP: immutable


def wait_running(essence: Essence) -> Step:
    # QUEUE mode varies running workers with load: only the status is awaited
    workers = None if essence.serviceMode == QUEUE else essence.workers
    return Step(op=Op.WAIT, until=(RUNNING,), workers=workers)


def _restart(essence: Essence) -> tuple[Step, Step]:
    return _START, wait_running(essence)


def settle(status: str | None) -> tuple[tuple[Step, ...], str | None]:
    """Leading wait for a transitional status, and the status expected after it."""
    if status == INITIALIZING:
        return (Step(op=Op.WAIT, until=(RUNNING, FAILED)),), RUNNING
    if status == STOPPING:
        return (Step(op=Op.WAIT, until=(STOPPED,)),), STOPPED
    return (), status


def create(essence: Essence, running: bool) -> tuple[Step, ...]:
    steps = (Step(op=Op.CREATE), wait_running(essence))
    return steps if running else (*steps, *STOP)


def forget() -> tuple[Step, ...]:
    return (Step(op=Op.FORGET),)


def delete(status: str | None) -> tuple[Step, ...]:
    lead, now = settle(status)
    stop = () if now == STOPPED else STOP
    return (*lead, *stop, Step(op=Op.DELETE))


def replace(status: str | None, essence: Essence, running: bool) -> tuple[Step, ...]:
    return (*delete(status), *create(essence, running))


Outcome = tuple[Action, tuple[Step, ...], str, Reason]  # action, steps, disruption, reason


def converge(status: str | None, essence: Essence, running: bool,
             fields: set[str]) -> Outcome | None:
    """Steps from the live status to the desired one, applying ``fields`` on the way."""
    lead, now = settle(status)
    only_workers = fields == {"workers"}
    update = _UPDATE
    if now == FAILED:
        # a failed deployment comes back through STOPPED: stop, (update), start
        fix = update if fields else ()
        if running:
            action = Action.UPDATE if fields else Action.START
            return action, (*lead, *STOP, *fix, *_restart(essence)), RESTARTS, (
                R.FAILED_UPDATE_RESTART if fields else R.FAILED_RESTART)
        return (Action.UPDATE if fields else Action.STOP), (*lead, *STOP, *fix), "", R.FAILED_STOP
    if now == RUNNING and running:
        if not fields and lead:  # not done until RUNNING: a FAILED end is an error
            return Action.WAIT, (wait_running(essence),), "", R.WAITING_RUNNING
        if not fields:
            return Action.NOOP, (), "", R.UP_TO_DATE
        if only_workers:
            return Action.SCALE, (*lead, Step(op=Op.SCALE, workers=essence.workers),
                                  wait_running(essence)), "", R.SCALE_RUNNING
        return Action.UPDATE, (*lead, *STOP, *update, *_restart(essence)), RESTARTS, R.UPDATE_RESTART
    if now == RUNNING and not running:
        if fields:
            return Action.UPDATE, (*lead, *STOP, *update), "stops serving", R.UPDATE_AND_STOP
        return Action.STOP, (*lead, *STOP), "stops serving", R.STOP_REQUESTED
    if now == STOPPED and running:
        if fields:
            return Action.UPDATE, (*lead, *update, *_restart(essence)), "", R.UPDATE_THEN_START
        return Action.START, (*lead, *_restart(essence)), "", R.START_REQUESTED
    if now == STOPPED and not running:
        if not fields and lead:
            return Action.WAIT, lead, "", R.WAITING_STOPPED
        if not fields:
            return Action.NOOP, (), "", R.UP_TO_DATE_STOPPED
        if only_workers:
            return Action.SCALE, (*lead, Step(op=Op.SCALE, workers=essence.workers)), "", (
                R.SCALE_STOPPED)
        return Action.UPDATE, (*lead, *update), "", R.UPDATE_STOPPED
    return None
