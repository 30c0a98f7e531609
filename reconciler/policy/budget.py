"""The budget rules: maxHourlyCost (the environment's total $/h) and maxHourlyIncrease (what
one run adds). An unknown price is never $0: it is a violation of its own. Pure."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.plan.model import Action, Plan
from reconciler.policy.report import PriceLine, Violation, money
from reconciler.project_schema import MaxHourlyCost, MaxHourlyIncrease


def _contributors(plan: Plan) -> str:
    """The changes that raise the price most, with what changed: "+$6.40/h from NAME: f a → b"."""
    import heapq

    rising = [(c.price_after - (c.price_before or 0.0), c) for c in plan.changes
              if c.price_after is not None and c.price_after > (c.price_before or 0.0)]
    parts = []
    for delta, c in heapq.nsmallest(3, rising, key=lambda p: (-p[0], p[1].name)):
        what = "; ".join(f.line().replace(": ", " ", 1) for f in c.changes[:2] if f.path != "name")
        what = what or ("created" if c.action is Action.CREATE else c.action.value)
        parts.append(f"+{money(delta)} from {c.name}: {what}")
    return ", ".join(parts)


def plan_budget(plan: Plan, rules: Mapping[str, Any], prices: Sequence[PriceLine],
            before: float | None, after: float | None, env: str | None) -> list[Violation]:
    unknown = [p.deployment for p in prices if p.before is None or p.after is None]
    delta = None if before is None or after is None else round(after - before, 6)
    out: list[Violation] = []
    cost = rules.get("maxHourlyCost")
    # a plan that lowers a known total never fails the budget: it is how spend comes back down
    causes = functools.cache(lambda: _contributors(plan))  # only when over: it sorts
    if isinstance(cost, MaxHourlyCost) and not (delta is not None and delta < 0):
        out += over_budget(cost, after, [p.deployment for p in prices if p.after is None],
                           env, "would cost", causes)
    rise = rules.get("maxHourlyIncrease")
    if isinstance(rise, MaxHourlyIncrease):
        out += _increase(rise, before, delta, unknown, env, causes)
    return out


def over_budget(rule: MaxHourlyCost, total: float | None, unknown: Sequence[str],
                env: str | None, verb: str,
                causes: Callable[[], str] = lambda: "") -> list[Violation]:
    """maxHourlyCost against ``total``; ``causes``: what raised it, asked only when over."""
    who = env or "this project"
    if total is None:
        return [Violation("max-hourly-cost-unknown", "maxHourlyCost", rule.level, None,
                          f"{who}'s total $/h is unknown: no price for {', '.join(unknown[:5])}",
                          "an unknown price is never counted as $0: add the GPU type's "
                          "pricePerHour to the catalog (YOTTACTL_CATALOG)",
                          {"limit": rule.max, "unknown": list(unknown)})]
    if total <= rule.max + 1e-9:
        return []
    return [Violation("max-hourly-cost", "maxHourlyCost", rule.level, None,
                      f"{who} {verb} {money(total)}, over maxHourlyCost {money(rule.max)}"
                      + (f" ({causes()})" if causes() else ""),
                      "lower workers or GPUs, or raise maxHourlyCost in yottactl.yaml",
                      {"total": total, "limit": rule.max})]


def _increase(rule: MaxHourlyIncrease, before: float | None, delta: float | None,
              unknown: Sequence[str], env: str | None,
              causes: Callable[[], str]) -> list[Violation]:
    who = env or "this project"
    if delta is None or before is None:
        return [Violation("max-hourly-increase-unknown", "maxHourlyIncrease", rule.level, None,
                          f"{who}'s change in $/h is unknown: no price for "
                          f"{', '.join(unknown[:5])}",
                          "an unknown price is never counted as $0: add the GPU type's "
                          "pricePerHour to the catalog (YOTTACTL_CATALOG)",
                          {"unknown": list(unknown)})]
    if rule.max is not None:
        over, limit = delta > rule.max + 1e-9, money(rule.max)
    else:
        percent = math.inf if before == 0 else delta / before * 100
        over = delta > 0 and percent > (rule.maxPercent or 0.0) + 1e-9
        limit = f"{rule.maxPercent:g}% of {money(before)}"
    if not over:
        return []
    return [Violation("max-hourly-increase", "maxHourlyIncrease", rule.level, None,
                      f"{who} would rise by {money(delta)} (from {money(before)}), over "
                      f"maxHourlyIncrease {limit}" + (f" ({causes()})" if causes() else ""),
                      "raise it in smaller steps, or raise maxHourlyIncrease in yottactl.yaml",
                      {"increase": delta, "before": before, "limit": rule.max,
                       "limitPercent": rule.maxPercent})]


