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
    delta = None if before is None or after is None else round(after - before, 6)
    # a plan known not to raise spend never fails maxHourlyIncrease on an unknown price, and
    # one that brings it down (deletes, stops, lower prices: a destroy) never fails a budget:
    # it is how spend comes back down
    no_rise = all(p.cannot_rise for p in prices)
    lowers = (delta < 0) if delta is not None else no_rise and any(
        not p.steady and p.after is not None and (p.before is None or p.after < p.before)
        for p in prices)
    out: list[Violation] = []
    cost = rules.get("maxHourlyCost")
    causes = functools.cache(lambda: _contributors(plan))  # only when over: it sorts
    if isinstance(cost, MaxHourlyCost) and not lowers:
        out += over_budget(cost, after, prices, env, "would cost", causes)
    rise = rules.get("maxHourlyIncrease")
    if isinstance(rise, MaxHourlyIncrease) and not (delta is None and no_rise):
        out += _increase(rise, before, delta, prices, env, causes)
    return out


def _unknown(prices: Sequence[PriceLine], after_only: bool) -> tuple[list[str], str]:
    """The deployments without a price, and a hint naming what is missing: the API's live
    price, or the catalog's estimate."""
    live, catalog = [], []
    for p in prices:
        if p.after is None and p.estimated:
            catalog.append(p.deployment)
        elif p.after is None or (p.before is None and not after_only):
            live.append(p.deployment)
    parts = []
    if live:
        parts.append(f"the API gave no price for {', '.join(live[:5])} (perHourPrice; "
                     "`yottactl get NAME -o json` shows its answer)")
    if catalog:
        parts.append(f"add the GPU type's pricePerHour for {', '.join(catalog[:5])} to the "
                     "catalog (YOTTACTL_CATALOG)")
    return live + catalog, "an unknown price is never counted as $0: " + "; ".join(parts)


def over_budget(rule: MaxHourlyCost, total: float | None, prices: Sequence[PriceLine],
                env: str | None, verb: str,
                causes: Callable[[], str] = lambda: "") -> list[Violation]:
    """maxHourlyCost against ``total``; ``causes``: what raised it, asked only when over."""
    who = env or "this project"
    if total is None:
        unknown, hint = _unknown(prices, after_only=True)
        return [Violation("max-hourly-cost-unknown", "maxHourlyCost", rule.level, None,
                          f"{who}'s total $/h is unknown: no price for {', '.join(unknown[:5])}",
                          hint, {"limit": rule.max, "unknown": unknown})]
    if total <= rule.max + 1e-9:
        return []
    return [Violation("max-hourly-cost", "maxHourlyCost", rule.level, None,
                      f"{who} {verb} {money(total)}, over maxHourlyCost {money(rule.max)}"
                      + (f" ({causes()})" if causes() else ""),
                      "lower workers or GPUs, or raise maxHourlyCost in yottactl.yaml",
                      {"total": total, "limit": rule.max})]


def _increase(rule: MaxHourlyIncrease, before: float | None, delta: float | None,
              prices: Sequence[PriceLine], env: str | None,
              causes: Callable[[], str]) -> list[Violation]:
    who = env or "this project"
    if delta is None or before is None:
        unknown, hint = _unknown(prices, after_only=False)
        return [Violation("max-hourly-increase-unknown", "maxHourlyIncrease", rule.level, None,
                          f"{who}'s change in $/h is unknown: no price for "
                          f"{', '.join(unknown[:5])}", hint, {"unknown": unknown})]
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


