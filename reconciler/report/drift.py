"""The drift report: typed findings for cron jobs, acknowledgements, the versioned JSON shape.

Report format (``format_version`` 1):

    {format_version: 1, kind: "yottactl-drift-report", generated_at, clean: bool,
     summary: {type: count}, text: "one line for chat webhooks",
     findings: [{deployment, id, type, detail, fields: [{path, before, after, sensitive}],
                 acknowledged, ack_reason}],
     acks: {expired: [...], unmatched: [...]},
     unmanaged: [{id, name, status, duplicate}]}

Finding types: config-changed, scaled, stopped, started, deleted, failed, duplicate, unmanaged,
not-ready, pending, policy. ``not-ready``: a deployment not yet in its declared status (INITIALIZING or
STOPPING on the way, or stuck there), with how long when the state recorded when it began.
``pending``: a change the plan shows and no other finding explains. ``policy``: the live fleet
breaks a mandatory rule of yottactl.yaml's policies (spend or workers raised in the console;
deployment ``*`` when the rule is about the fleet's total). ``unmanaged`` lists every
live deployment the state does not map, duplicates of a managed name included (those are also
``duplicate`` findings).
Pure: the caller passes today's date and the current time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypedDict

from reconciler.manifest.schema import NAME_RE
from reconciler.plan.model import Action, Change, Diagnostic, Op, Plan, Severity
from reconciler.plan.reasons import Reason
from reconciler.policy.report import PolicyReport
from reconciler.state.model import State, StateEntry

TYPES = ("config-changed", "scaled", "stopped", "started", "deleted", "failed", "duplicate",
         "unmanaged", "not-ready", "pending", "policy")
FLEET = "*"  # the deployment of a finding about the whole fleet (a policy's total $/h)
_TRANSITIONAL = ("INITIALIZING", "STOPPING")


@dataclass
class Finding:
    deployment: str
    id: str | None
    type: str
    detail: str
    fields: list[dict[str, object]] = field(default_factory=list)
    acknowledged: bool = False
    ack_reason: str = ""


class FindingJson(TypedDict):
    deployment: str
    id: str | None
    type: str
    detail: str
    fields: list[dict[str, object]]  # plan.model.FieldChange as JSON
    acknowledged: bool
    ack_reason: str


class AcksJson(TypedDict):
    expired: list[str]
    unmatched: list[str]


class DriftReport(TypedDict):
    """The report format above (``format_version`` 1), as mypy sees it."""

    format_version: int
    kind: str
    generated_at: str
    clean: bool
    summary: dict[str, int]
    text: str
    findings: list[FindingJson]
    acks: AcksJson
    unmanaged: list[dict[str, object]]


@dataclass(frozen=True)
class Ack:
    deployment: str
    type: str
    reason: str
    expires: date


def findings_from(plan: Plan, state: State | None, now: datetime | None = None) -> list[Finding]:
    """The plan's drift, unmanaged deployments and pending changes as findings. Every change
    the plan would make (or wait for) is a finding: drift and plan agree on what is pending.
    ``now`` (aware, UTC) turns a not-ready deployment's start into how long it has waited."""
    out = [Finding(d.name, d.id, d.kind.value, d.detail,
                   [c.model_dump(mode="json") for c in d.changes]) for d in plan.drift]
    out += [Finding(u.name, u.id, "unmanaged", f"live deployment not in any manifest or the "
                    f"state ({u.status}); `yottactl delete-unmanaged {u.id}` deletes a leftover")
            for u in plan.unmanaged if not u.duplicate]
    explained = {d.name for d in plan.drift}
    deleted = {f.deployment: f for f in out if f.type == "deleted"}
    entries = state.deployments if state else {}
    for change in plan.pending:
        entry = entries.get(change.name)
        if change.live_status in _TRANSITIONAL and change.action is not Action.DELETE:
            out.append(Finding(change.name, change.id, "not-ready", _not_ready(change, now)))
        if change.action is Action.WAIT:
            continue
        leftover = _rollout_leftover(change, entry)
        if leftover is not None:
            out.append(leftover)
        gone = deleted.get(change.name)
        forget_only = all(step.op is Op.FORGET for step in change.steps)
        if change.action is Action.DELETE and gone is not None and forget_only:
            # gone live and from the manifests: one finding, not also a pending delete
            gone.detail += "; removed from the manifests too: the next apply drops it from the state"
            continue
        if change.action is Action.DELETE:
            out.append(Finding(change.name, change.id, "pending",
                               "removed from the manifests; not yet deleted"))
        elif change.rekeyed_from is not None:
            out.append(Finding(change.name, change.id, "pending",
                               f"the state records it as {change.rekeyed_from}; the next apply "
                               "moves the entry to this name"))
        elif entry is None:
            what = "adopted" if change.adopt else "created"
            why = "" if state is not None else " (the state does not exist)"
            out.append(Finding(change.name, change.id, "pending",
                               f"in the manifests; not yet {what} by yottactl{why}"))
        elif change.name not in explained or change.action is Action.RECORD or (
            change.desired is not None and (change.desired != entry.spec
                                            or change.desired_state != entry.desired_state)
        ):
            # no claim that the manifest changed: after `apply --refresh-only` the state holds
            # live values, so the difference may be on the live side
            out.append(Finding(change.name, change.id, "pending",
                               f"not yet applied: {change.reason}",
                               [c.model_dump(mode="json") for c in change.changes]))
    # a deployment the next apply refuses (its rollout name taken, its name live twice, ...):
    # its change is pending and blocked, which is drift to report, not a failure of drift
    out += [Finding(d.deployment or "", None, "pending", f"not yet applied, and apply refuses it: "
                    f"{d.message}" + (f"; {d.hint}" if d.hint else ""))
            for d in blocking(plan)]
    return sorted(out, key=lambda f: (f.deployment, TYPES.index(f.type)))


def _rollout_leftover(change: Change, entry: StateEntry | None) -> Finding | None:
    """A new deployment an earlier rollout left (kept by --keep-failed, or interrupted), which
    the change deletes first: live and billing, so a finding of its own (unless deleting it is
    all the change does, which its pending finding says)."""
    kept = change.rollout.discard_id if change.rollout is not None else None
    if kept is None or change.reason_code is Reason.ROLLOUT_DISCARD:
        return None
    why = (f"kept after a failed rollout (--keep-failed: {entry.rollout_failed})"
           if entry is not None and entry.rollout_failed else "left by an interrupted rollout")
    return Finding(change.name, kept, "pending",
                   f"the new deployment {kept} is {why}; it keeps billing until the next apply, "
                   "which deletes it first")


def blocking(plan: Plan) -> list[Diagnostic]:
    """The plan's errors about one deployment (the rest make drift itself fail)."""
    return [d for d in plan.diagnostics if d.severity is Severity.ERROR and d.deployment]


def _not_ready(change: Change, now: datetime | None) -> str:
    target = "STOPPED" if change.desired_state == "stopped" else "RUNNING"
    head = f"{change.live_status}, not yet {target}"
    since = change.waiting_since
    if since is None:
        return f"{head} (since an unknown time: yottactl did not record this status)"
    try:
        began = datetime.fromisoformat(since)
    except ValueError:  # a hand-edited state: show what it says
        began = None
    if now is None or began is None or began.tzinfo is None:
        return f"{head} (since {since})"
    return f"{head} for {_duration((now - began).total_seconds())} (since {since})"


def _duration(seconds: float) -> str:
    """``45s``, ``12m05s``, ``3h02m``, ``2d04h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def parse_acks(data: object, source: str) -> list[Ack]:
    """Acks from the loaded YAML: a list of {deployment, type, reason, expires}."""
    from reconciler.errors import UsageError

    items = data.get("acknowledgements", data.get("acks")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise UsageError(f"{source}: expected a list of acknowledgements",
                         hint="- {deployment: NAME, type: scaled, reason: ..., expires: 2026-12-31}")
    acks = []
    for i, item in enumerate(items):
        try:
            expires = item["expires"]
            if isinstance(expires, str):
                expires = date.fromisoformat(expires)
            if item["type"] not in (*TYPES, "*"):
                raise ValueError(f"unknown finding type {item['type']!r}")
            acks.append(Ack(str(item["deployment"]), str(item["type"]), str(item["reason"]),
                            expires))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{source}: acknowledgement #{i + 1} is invalid ({exc})",
                             hint="each needs deployment, type, reason and expires "
                                  "(YYYY-MM-DD); type is one of " + ", ".join(TYPES)) from None
    return acks


def apply_acks(findings: list[Finding], acks: list[Ack], today: date) -> AcksJson:
    """Mark acknowledged findings; return expired and unmatched acks for the report."""
    expired, unmatched = [], []
    for ack in acks:
        label = f"{ack.deployment}/{ack.type} (expires {ack.expires.isoformat()}: {ack.reason})"
        matches = [f for f in findings if f.deployment == ack.deployment
                   and ack.type in (f.type, "*")]
        if ack.expires < today:
            expired.append(label)
            continue
        if not matches:
            unmatched.append(label)
        for f in matches:
            f.acknowledged, f.ack_reason = True, ack.reason
    return {"expired": expired, "unmatched": unmatched}


def _finding_json(f: Finding) -> FindingJson:
    return {"deployment": f.deployment, "id": f.id, "type": f.type, "detail": f.detail,
            "fields": f.fields, "acknowledged": f.acknowledged, "ack_reason": f.ack_reason}


def _chat_name(name: str) -> str:
    """A deployment name for the chat ``text`` line, which Slack and Discord read as markup
    (``<!channel>``, ``@everyone``, links): a valid name (no <, >, &, backtick or space) in an
    inline code span, where neither pings nor links; anything else from the API is not shown."""
    if name == FLEET:
        return "the fleet"
    return f"`{name}`" if NAME_RE.fullmatch(name) else "(a name that is not valid: see findings)"


def policy_findings(report: PolicyReport | None) -> list[Finding]:
    """The live fleet's mandatory policy violations (advisory ones are the plan's warnings)."""
    if report is None:
        return []
    return [Finding(v.deployment or FLEET, None, "policy",
                    f"[{v.code}] {v.message}" + (f"; {v.hint}" if v.hint else ""))
            for v in report.violations if v.level == "mandatory"]


def report(findings: list[Finding], acks: AcksJson, generated_at: str,
           unmanaged: list[dict[str, object]] | None = None) -> DriftReport:
    open_ = [f for f in findings if not f.acknowledged]
    summary: dict[str, int] = {}
    for f in open_:
        summary[f.type] = summary.get(f.type, 0) + 1
    text = ("yottactl drift: no unacknowledged drift" if not open_ else
            "yottactl drift: " + ", ".join(f"{n} {t}" for t, n in summary.items()) + " — "
            + "; ".join(f"{_chat_name(f.deployment)}: {f.type}" for f in open_[:10]))
    return {
        "format_version": 1, "kind": "yottactl-drift-report", "generated_at": generated_at,
        "clean": not open_, "summary": summary, "text": text,
        "findings": [_finding_json(f) for f in findings], "acks": acks,
        "unmanaged": unmanaged or [],
    }
