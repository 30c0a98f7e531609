"""Policies around a run: check a plan (new or saved) against the project's rules, refuse one
that breaks a mandatory rule before the first API call, and record ``--policy-override`` in the
state. The rules themselves are pure (``reconciler/policy``); here are the settings, the user
and the clock."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from reconciler.errors import PolicyError, UsageError
from reconciler.redact import REDACTED, Secrets
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.api.models import Deployment
    from reconciler.manifest.schema import DesiredDeployment
    from reconciler.plan.desired import Desired
    from reconciler.plan.live import LiveDeployment
    from reconciler.plan.model import Plan
    from reconciler.policy.report import PolicyReport, Violation
    from reconciler.project import Inputs
    from reconciler.state.model import State

# an override record is kept in the state for this many runs (older ones drop off)
KEEP_OVERRIDES = 50


def check_run(settings: Settings, plan: Plan, desired: Mapping[str, Desired],
              live: Sequence[LiveDeployment], state: State | None,
              secrets: Secrets | None = None) -> PolicyReport | None:
    """The project's policies against a plan made from the manifests; None without rules.
    ``secrets``: the command's (its ${env:...} values): masked in what the report says."""
    context = settings.inputs.context
    if not context.policies.active():
        return None
    from reconciler.policy.evaluate import evaluate  # only with rules: ~20 ms of imports

    return masked(evaluate(plan, context.policies, desired=desired, live=live, state=state,
                           environment=context.environment), secrets)


def check_saved(settings: Settings, plan: Plan, listed: Sequence[Deployment],
                state: State | None, secrets: Secrets | None = None) -> PolicyReport | None:
    """`apply --plan FILE`: the rules as they are now, against the saved plan and the list
    call its staleness check made (no other call)."""
    from reconciler.plan.live import live_view

    return check_run(settings, plan, {}, [live_view(d) for d in listed], state, secrets)


# a word of a message that may be cut from a value (a host, a path, a tag): checked against
# the secrets on its own
_WORD = re.compile(r"[^\s'\"(),;]+")


def masked(report: PolicyReport, secrets: Secrets | None) -> PolicyReport:
    """The report with every ${env:...} value, and every part of one, blanked in its messages,
    hints and values (the rules already hide what they know came from one: this also covers
    a value substituted into a field they do not track)."""
    if secrets is None or not report.violations:
        return report
    from dataclasses import replace

    known = secrets

    @functools.cache  # a fleet's violations repeat a few messages and values
    def text(value: str) -> str:
        return _WORD.sub(lambda m: REDACTED if known.part_of(m.group()) else m.group(),
                         known.redact(value))

    @functools.cache
    def word(item: str) -> str:
        return REDACTED if known.part_of(item) else known.redact(item)

    def value(item: object) -> object:
        if isinstance(item, str):
            return word(item)
        return [value(i) for i in item] if isinstance(item, list) else item

    def one(v: Violation) -> Violation:
        values = {k: value(x) for k, x in v.values.items()}
        message, hint = text(v.message), text(v.hint)
        if message == v.message and hint == v.hint and values == v.values:
            return v  # nothing secret in it (most): kept as it is
        return replace(v, message=message, hint=hint, values=values)

    return replace(report, violations=tuple(one(v) for v in report.violations))


def check_overrides(settings: Settings, names: Sequence[str]) -> frozenset[str]:
    """``--policy-override NAME``: each must name a mandatory rule of this run's policies."""
    import difflib

    rules = settings.inputs.context.policies.active()
    mandatory = sorted(n for n, r in rules.items() if r.level == "mandatory")
    for name in names:
        if name not in mandatory:
            close = difflib.get_close_matches(name, mandatory, n=1, cutoff=0.5)
            where = f"environment {settings.inputs.context.environment!r}" \
                if settings.inputs.context.environment else "this project"
            raise UsageError(
                f"--policy-override {name}: no mandatory rule {name!r} in the policies of {where}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + (f"mandatory rules: {', '.join(mandatory)}" if mandatory
                   else "there are no mandatory rules to override"))
    return frozenset(names)


def overriding(report: PolicyReport | None, names: frozenset[str]) -> PolicyReport | None:
    """The report with ``names`` passed for this run (their violations marked overridden)."""
    if report is None or not names:
        return report
    from reconciler.policy.report import with_overrides

    return with_overrides(report, names)


def refuse_if_blocked(report: PolicyReport | None, verb: str) -> None:
    """A mandatory violation that was not overridden: refuse, naming every one."""
    if report is None or not report.blocked:
        return
    blocked = report.blocked
    rules = sorted({v.rule for v in blocked})
    raise PolicyError(
        f"{verb}: {len(blocked)} mandatory policy violation"
        f"{'s' if len(blocked) != 1 else ''} ({', '.join(rules)})",
        detail="\n".join(f"  [{v.code}] {v.text}" for v in blocked),
        hint="change the manifests or yottactl.yaml's policies; an operator may pass a rule "
             "for one run (recorded in the state) with "
             + " ".join(f"--policy-override {rule}" for rule in rules))


def record_overrides(state: State | None, report: PolicyReport | None) -> State | None:
    """The state the run starts from, with the overrides it used recorded: who, when, which
    rule and what it passed (``state history`` shows them)."""
    if report is None or not report.overrides:
        return state
    import socket

    from reconciler.state.file_lock import current_user
    from reconciler.state.model import PolicyOverride, State

    base = state or State.empty()
    who = f"{current_user()}@{socket.gethostname()}"
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    added = tuple(PolicyOverride(rule=rule, by=who, at=at, environment=report.environment,
                                 passed=tuple(v.summary for v in report.violations
                                              if v.overridden and v.rule == rule)[:5])
                  for rule in report.overrides)
    kept = (*base.policy_overrides, *added)[-KEEP_OVERRIDES:]
    return base.model_copy(update={"policy_overrides": kept})


# where in a manifest a per-deployment rule looks (validate points there)
_FIELD_OF = {"gpu-type-not-allowed": ("spec", "resources"), "region-not-allowed":
             ("spec", "resources"), "max-gpu-count": ("spec", "resources"),
             "max-workers": ("spec", "workers"), "rollout-required": ("spec", "serviceMode"),
             "prevent-destroy-required": ("metadata", "name")}


def check_manifests(inputs: Inputs, deployments: Sequence[DesiredDeployment],
                    secrets: Secrets | None = None) -> list[str]:
    """`validate`, offline: the per-deployment rules against the manifests as this run renders
    them (the budget rules need live prices: plan checks them). Mandatory violations raise a
    ManifestError at the manifest's file:line:col; advisory ones come back as warnings."""
    from reconciler import localfile
    from reconciler.errors import ManifestError, ManifestIssue
    from reconciler.manifest.positions import Locator
    from reconciler.plan.planner import desired_from_manifest
    from reconciler.policy.deployment import Checker, Subject
    from reconciler.policy.report import PolicyReport

    rules = {n: r for n, r in inputs.context.policies.active().items()
             if n not in ("maxHourlyCost", "maxHourlyIncrease")}
    if not rules:
        return []
    check, issues, warnings = Checker(rules), [], []
    locators: dict[str, Locator] = {}
    for item in deployments:
        view = desired_from_manifest(item, inputs.context.rollout)
        found = check(Subject(view.name, view.essence, view.sensitive, view.prevent_destroy,
                              view.rollout))
        if found and secrets is not None:
            found = list(masked(PolicyReport(None, {}, tuple(found)), secrets).violations)
        for v in found:
            if v.level != "mandatory":
                warnings.append(f"policy {v.rule} (advisory): {v.text}")
                continue
            if item.file not in locators:
                try:
                    text = localfile.read_text(item.file, localfile.MANIFEST_CAP)
                except localfile.UnreadableFile:
                    text = ""
                locators[item.file] = Locator(item.file, text)
            field = ("spec", v.values["field"]) if "field" in v.values else \
                _FIELD_OF.get(v.code, ("spec", "image"))
            line, col = locators[item.file].position(item.index, field)
            issues.append(ManifestIssue(item.file, line, col, f"policies.{v.rule}",
                                        f"{v.deployment}: [{v.code}] {v.message}", v.hint))
    if issues:
        raise ManifestError(issues)
    return warnings
