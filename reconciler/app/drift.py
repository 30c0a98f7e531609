"""`drift`: the read-only report (no lock, no state write) and its webhook."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.app.session import Session
from reconciler.errors import PlanError, YottactlError
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.plan.live import LiveDeployment
    from reconciler.report.drift import Ack, DriftReport, Finding
    from reconciler.state.model import State


def read_acks(ack_file: str) -> list[Ack]:
    """The acknowledgements file: a YAML list of {deployment, type, reason, expires}."""
    from reconciler import localfile
    from reconciler.fastyaml import YamlStructureError, load_all
    from reconciler.report.drift import parse_acks

    try:
        text = localfile.read_text(ack_file, localfile.SMALL_CAP)
    except localfile.UnreadableFile as exc:
        raise YottactlError(f"cannot read {ack_file}: {exc.reason}") from None
    try:
        docs = load_all(text)
    except YamlStructureError as exc:  # depth, aliases, duplicate keys: with the position
        raise YottactlError(f"{ack_file}:{exc.line}:{exc.column}: {exc}",
                            hint=exc.hint) from None
    except Exception as exc:  # any YAML problem is a usage error with the file's name
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise YottactlError(f"{ack_file}{at}: not valid YAML "
                            f"({getattr(exc, 'problem', None) or exc})") from None
    return parse_acks(docs[0] if docs else [], ack_file)


def drift_report(settings: Settings, paths: Sequence[str], acks: list[Ack],
                 today: date | None = None,
                 warn: Callable[[str], None] = lambda message: None) -> DriftReport:
    """Manifests + state + one list call -> the drift report (acknowledged findings marked).
    A state that does not exist (a mistyped ?state=, a run outside the project) is a warning
    to ``warn`` naming the states that do, and its findings say so: never a quiet report."""
    from reconciler.app.plan import build_plan
    from reconciler.new_state import missing
    from reconciler.plan.model import Severity
    from reconciler.report.drift import apply_acks, blocking, findings_from, report

    with Session(settings) as session:
        # read-only: one list call, the state read without a lock. The mass-delete guard protects
        # apply; drift only reports, so deletes it would refuse are findings, not an error
        run = build_plan(settings, paths, allow_mass_delete=True, session=session)
        reported = blocking(run.plan)  # errors about one deployment are findings (report/drift.py)
        errors = [d.text for d in run.plan.diagnostics
                  if d.severity is Severity.ERROR and d not in reported]
        if errors:
            raise PlanError("cannot compute drift: " + "; ".join(errors))
        if run.state is None:
            location, did_you_mean = missing(settings, session.store)
            warn(f"the state {location} does not exist: drift compares the live deployments with "
                 "nothing, so every one the manifests declare is reported pending"
                 + (f"; {did_you_mean}" if did_you_mean else ""))
        now = datetime.now(timezone.utc)
        findings = findings_from(run.plan, run.state, now) + _policy(settings, run.live, run.state)
        ack_report = apply_acks(findings, acks, today or date.today())
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return report(findings, ack_report, stamp,
                      [u.model_dump(mode="json") for u in run.plan.unmanaged])


def _policy(settings: Settings, live: Sequence[LiveDeployment],
            state: State | None) -> list[Finding]:
    """The managed live fleet against the project's mandatory policies (no extra call)."""
    from reconciler.policy.evaluate import evaluate_live
    from reconciler.report.drift import policy_findings

    context = settings.inputs.context
    if not context.policies.active():
        return []
    return policy_findings(evaluate_live(live, state, context.policies, context.environment))


def report_json(data: DriftReport) -> str:
    return json.dumps(data, indent=2)


def write_report(report_file: str, data: DriftReport) -> None:
    """`drift --report FILE`: a FIFO or device there is refused (a FIFO would block forever)."""
    from reconciler import localfile

    refusal = localfile.check_writable_target(report_file)
    if refusal is not None:
        raise YottactlError(f"--report {report_file}: {refusal}",
                            hint="pass the path of a new or ordinary file for the report")
    try:
        Path(report_file).write_text(report_json(data) + "\n", encoding="utf-8")
    except OSError as exc:
        raise YottactlError(f"--report {report_file}: cannot write it: {exc.strerror or exc}",
                            hint="check the folder exists, is writable and has free space") from None


def notify(url: str, data: DriftReport) -> str | None:
    """POST the report to a webhook; the problem in a few words, or None when it arrived.

    The webhook gets the report and nothing else: no API key or any other credential (no
    headers of the API client, no ~/.netrc: httpx reads it only when asked), no redirect
    followed (a 30x is reported, so a webhook cannot bounce the report elsewhere), and its
    answer is never read (a hostile one cannot fill memory). The URL comes from the command
    line only, never from a file (README "Who decides where credentials go")."""
    from reconciler.api.plain_http import post_json

    return post_json(url, data, timeout=15.0, agent="yottactl-drift").problem
