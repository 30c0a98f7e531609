"""Step sequences for each lifecycle situation (DESIGN §1): what the executor will run, in order.

Rules of the API: update and delete only when STOPPED; start only from STOPPED (new workers);
scale applies at once when RUNNING and is only recorded when STOPPED.
"""

from __future__ import annotations

from reconciler.api.facts import FAILED, INITIALIZING, QUEUE, RUNNING, STOPPED, STOPPING
from reconciler.plan.model import Action, Op, Step
from reconciler.plan.normalize import Essence

STOP = (Step(op=Op.STOP), Step(op=Op.WAIT, until=(STOPPED,)))


def wait_running(essence: Essence) -> Step:
    # QUEUE mode varies running workers with load: only the status is awaited
    workers = None if essence.get("serviceMode") == QUEUE else essence.get("workers")
    return Step(op=Op.WAIT, until=(RUNNING,), workers=workers)


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


Outcome = tuple[Action, tuple[Step, ...], str, str]  # action, steps, disruption, reason


def converge(status: str | None, essence: Essence, running: bool,
             fields: set[str]) -> Outcome | None:
    """Steps from the live status to the desired one, applying ``fields`` on the way."""
    lead, now = settle(status)
    only_workers = fields == {"workers"}
    restart = (Step(op=Op.START), wait_running(essence))
    update = (Step(op=Op.UPDATE),)
    what = ", ".join(sorted(fields))
    if now == FAILED:
        # a failed deployment comes back through STOPPED: stop, (update), start
        fix = update if fields else ()
        if running:
            action = Action.UPDATE if fields else Action.START
            return action, (*lead, *STOP, *fix, *restart), "workers restart", (
                f"live status is FAILED; {'updating ' + what + ' and ' if fields else ''}restarting")
        return (Action.UPDATE if fields else Action.STOP), (*lead, *STOP, *fix), "", (
            "live status is FAILED; stopping as the manifest asks")
    if now == RUNNING and running:
        if not fields:
            return Action.NOOP, (), "", "up to date" + (" (initializing)" if lead else "")
        if only_workers:
            return Action.SCALE, (*lead, Step(op=Op.SCALE, workers=essence["workers"]),
                                  wait_running(essence)), "", "workers changed; scaled in place"
        return Action.UPDATE, (*lead, *STOP, *update, *restart), "workers restart", (
            f"{what} changed; updates need STOPPED, so it is stopped, updated and started")
    if now == RUNNING and not running:
        if fields:
            return Action.UPDATE, (*lead, *STOP, *update), "stops serving", (
                f"{what} changed and the manifest asks for state: stopped")
        return Action.STOP, (*lead, *STOP), "stops serving", "manifest asks for state: stopped"
    if now == STOPPED and running:
        if fields:
            return Action.UPDATE, (*lead, *update, *restart), "", (
                f"{what} changed; updated while stopped, then started")
        return Action.START, (*lead, *restart), "", "manifest asks for state: running"
    if now == STOPPED and not running:
        if not fields:
            return Action.NOOP, (), "", "up to date (stopped)"
        if only_workers:
            return Action.SCALE, (*lead, Step(op=Op.SCALE, workers=essence["workers"])), "", (
                "workers changed; recorded while stopped")
        return Action.UPDATE, (*lead, *update), "", f"{what} changed; updated while stopped"
    return None
