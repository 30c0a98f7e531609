"""Every rule against a plan (plan, apply, destroy) or against the live fleet (drift). Pure:
the caller passes the plan, the manifests' views, the listed deployments, the state and the
names given to --policy-override."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.plan.desired import Desired
from reconciler.plan.live import LiveDeployment
from reconciler.plan.model import Action, Change, Plan, Severity
from reconciler.policy.budget import over_budget, plan_budget
from reconciler.policy.deployment import Checker, Subject
from reconciler.policy.report import PolicyReport, PriceLine, Violation, total
from reconciler.project_schema import MaxHourlyCost, Policies
from reconciler.state.model import State


def _price_source(change: Change) -> str:
    if change.price_after is None:
        return "unknown"
    return "catalog" if change.price_estimated else "live"


def subjects_of(plan: Plan, desired: Mapping[str, Desired], live: Sequence[LiveDeployment],
                state: State | None) -> list[Subject]:
    """What each deployment the plan keeps will be: the manifest where the run has it, else the
    plan's masked configuration, else (unchanged in a saved plan) the live one and the state's
    preventDestroy. A manifest's deployment the plan has no change for because of a plan error
    (a replacement preventDestroy refuses) is judged on its manifest all the same."""
    live_by_id: dict[str, LiveDeployment] | None = None  # built only if a saved plan needs it
    entries = state.deployments if state else {}
    out = []
    for change in plan.changes:
        if change.action is Action.DELETE:
            continue
        want = desired.get(change.name)
        if want is not None:
            out.append(Subject(change.name, want.essence, want.sensitive, want.prevent_destroy,
                               want.rollout))
            continue
        entry = entries.get(change.name)
        if change.desired is not None:
            rollout = "blueGreen" if change.action is Action.ROLLOUT else None
            out.append(Subject(change.name, change.desired, frozenset(change.sensitive),
                               change.prevent_destroy, rollout))
            continue
        if live_by_id is None:
            live_by_id = {d.id: d for d in live}
        seen = live_by_id.get(change.id or "")
        out.append(Subject(change.name, seen.essence if seen else None, frozenset(),
                           entry.prevent_destroy if entry else None, None))
    planned = {c.name for c in plan.changes}
    for name in dict.fromkeys(d.deployment for d in plan.diagnostics
                              if d.severity is Severity.ERROR and d.deployment):
        want = desired.get(name)
        if want is not None and name not in planned:
            out.append(Subject(name, want.essence, want.sensitive, want.prevent_destroy,
                               want.rollout))
    return out


def evaluate(plan: Plan, policies: Policies, *, desired: Mapping[str, Desired] | None = None,
             live: Sequence[LiveDeployment] = (), state: State | None = None,
             overrides: frozenset[str] = frozenset(),
             environment: str | None = None) -> PolicyReport:
    """Every rule against the plan, every violation at once."""
    rules = policies.active()
    prices = [PriceLine(c.name, c.price_before, c.price_after, _price_source(c),
                        c.action in (Action.NOOP, Action.RECORD), c.price_estimated)
              for c in plan.changes]
    # managed deployments outside the plan (--target) still bill: their live price, both sides
    outside = (state.deployments.keys() - {c.name for c in plan.changes}) if state else set()
    if outside:
        assert state is not None
        live_by_id = {d.id: d for d in live}
        for name in sorted(outside):
            seen = live_by_id.get(state.deployments[name].id)
            if seen is not None:
                prices.append(PriceLine(name, seen.perHourPrice, seen.perHourPrice,
                                        "unknown" if seen.perHourPrice is None else "live",
                                        steady=True))
    before, after = total(p.before for p in prices), total(p.after for p in prices)
    found: list[Violation] = []
    if "maxHourlyCost" in rules or "maxHourlyIncrease" in rules:
        found += plan_budget(plan, rules, prices, before, after, environment)
    check = Checker(rules)
    subjects = subjects_of(plan, desired or {}, live, state)
    for subject in subjects:
        found += check(subject)
    unchecked = tuple(s.name for s in subjects if s.essence is None)
    violations = tuple(_overridden(v, overrides) for v in found) if overrides else tuple(found)
    used = tuple(sorted({v.rule for v in violations if v.overridden}))
    cost = rules.get("maxHourlyCost")
    limits = {"maxHourlyCost": cost.max} if isinstance(cost, MaxHourlyCost) else {}
    return PolicyReport(environment, {n: r.level for n, r in rules.items()}, violations,
                        tuple(prices), before, after, used, limits, unchecked)


def evaluate_live(live: Sequence[LiveDeployment], state: State | None,
                  policies: Policies, environment: str | None = None) -> PolicyReport:
    """The live fleet the state manages against the rules (drift): spend raised in the console,
    a GPU type changed there. Only what is live is known: lifecycle settings come from the
    state, and requireRollout is left to plan (the state does not record it)."""
    rules = {n: r for n, r in policies.active().items() if n != "maxHourlyIncrease"}
    managed = {e.id: (n, e) for n, e in (state.deployments.items() if state else ())}
    found: list[Violation] = []
    prices = []
    check = Checker(rules)
    for d in live:
        if d.id not in managed:
            continue
        name, entry = managed[d.id]
        prices.append(PriceLine(name, d.perHourPrice, d.perHourPrice,
                                "unknown" if d.perHourPrice is None else "live"))
        found += check(Subject(name, d.essence, frozenset(entry.sensitive),
                               entry.prevent_destroy, None))
    fleet = total(p.after for p in prices)
    cost = rules.get("maxHourlyCost")
    if isinstance(cost, MaxHourlyCost):
        found += over_budget(cost, fleet, prices, environment, "is billing")
    return PolicyReport(environment, {n: r.level for n, r in rules.items()}, tuple(found),
                        tuple(prices), fleet, fleet, (),
                        {"maxHourlyCost": cost.max} if isinstance(cost, MaxHourlyCost) else {})


def _overridden(v: Violation, overrides: frozenset[str]) -> Violation:
    if v.level == "mandatory" and v.rule in overrides:
        from dataclasses import replace

        return replace(v, overridden=True)
    return v
