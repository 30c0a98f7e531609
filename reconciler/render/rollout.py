"""What a plan says about blue-green rollouts and recreate's downtime (text and Markdown
share these lines). Decides nothing: it lays out what the plan holds."""

from __future__ import annotations

from reconciler.plan.model import Action, Change, Op
from reconciler.plan.reasons import Reason
from reconciler.render.safe import clean

# the expected outage of a recreate on Yotta (render only: the plan stores no guess for it)
DOWNTIME = "the stop plus a cold start, 3 to 8 minutes for a 7B model on Yotta"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f}s"


def downtime_note(c: Change) -> str:
    """For a recreate that stops a RUNNING deployment: how long it stops serving, and that
    blueGreen avoids it ('' otherwise)."""
    if c.live_status != "RUNNING" or c.desired_state != "running":
        return ""
    if c.action is Action.REPLACE or (c.action is Action.UPDATE and any(
            s.op is Op.STOP for s in c.steps)):
        return f"down for {DOWNTIME}; lifecycle.rollout: blueGreen avoids it"
    return ""


def rollout_lines(c: Change) -> list[str]:
    """The rollout's details, one line each (without indentation)."""
    r = c.rollout
    if r is None:
        return []
    if c.action is Action.DELETE:
        return [f"rollout: first deletes its rollout's other deployment {r.green_name} "
                f"(id {r.discard_id})"]
    if c.reason_code is Reason.ROLLOUT_DISCARD:
        return [f"rollout: the earlier rollout's {r.green_name} (id {r.discard_id}) is deleted; "
                f"{r.blue_name} (id {r.blue_id}) keeps serving"]
    if c.reason_code is Reason.ROLLOUT_FINISH:
        return [f"rollout: serving on {r.green_name} (id {c.id}); the old deployment "
                f"{r.blue_name} (id {r.blue_id}) is stopped and deleted"]
    green = f"id {r.green_id}" if r.green_id else "id known after apply"
    out = [f"rollout: green {r.green_name} ({green}) is made healthy before blue "
           f"{r.blue_name} (id {r.blue_id}) is stopped and deleted; a failure before that "
           "deletes green and leaves blue serving"]
    if r.discard_id:
        out.append(f"first deletes the earlier rollout's deployment (id {r.discard_id})")
    out.append("probe: " + (r.probe.describe() if r.probe else "none (RUNNING with every "
                                                               "worker is enough)"))
    out.append("cutover: " + (clean(r.cutover.describe()) if r.cutover else
                              "none (clients must follow the new domain: `yottactl output`)"))
    out.append(f"domain: {clean(r.old_domain or '(the current one)')} → (known after apply)")
    if r.extra_per_hour is not None:
        cost = f" (about ${r.overlap_cost:,.2f})" if r.overlap_cost is not None else ""
        out.append(f"overlap: both run for about {minutes(r.overlap_seconds)}: "
                   f"+${r.extra_per_hour:,.2f}/h while they do{cost}")
    return out


def verb(c: Change) -> str | None:
    """What the heading says of a rollout that creates nothing (None: the action's verb)."""
    if c.reason_code is Reason.ROLLOUT_FINISH:
        return "finishes its blue-green rollout (the old deployment is deleted)"
    if c.reason_code is Reason.ROLLOUT_DISCARD:
        return "has an earlier rollout's new deployment deleted (it keeps serving)"
    return None
