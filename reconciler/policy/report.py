"""The result of a policy check: typed violations and the prices they were judged on, and
the report's JSON (``schema/policy-report-v1.schema.json``). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1


@dataclass(slots=True)  # not frozen: thousands per plan at worst, a frozen init costs 2x
class Violation:
    """One rule broken by one deployment (or by the environment's total)."""

    code: str  # stable, for tools and tests: e.g. max-hourly-cost, gpu-type-not-allowed
    rule: str  # the rule's name in yottactl.yaml
    level: str  # mandatory | advisory
    deployment: str | None
    message: str
    hint: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    overridden: bool = False  # mandatory, passed for this run by --policy-override

    @property
    def blocks(self) -> bool:
        return self.level == "mandatory" and not self.overridden

    @property
    def summary(self) -> str:
        """``deployment: message`` (no hint): what an override record keeps."""
        return (f"{self.deployment}: " if self.deployment else "") + self.message

    @property
    def text(self) -> str:
        return self.summary + (f"; {self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "level": self.level,
                "deployment": self.deployment, "message": self.message, "hint": self.hint,
                "values": dict(self.values), "overridden": self.overridden}


@dataclass(frozen=True, slots=True)
class PriceLine:
    deployment: str
    before: float | None
    after: float | None
    source: str  # live | catalog | unknown (of ``after``)
    steady: bool = False  # ``after`` is the live price ``before`` is (unchanged, or outside)
    estimated: bool = False  # ``after`` is the catalog's (missing: the catalog has none)

    @property
    def cannot_rise(self) -> bool:
        """Known not to raise spend: unchanged, or ending at a known price no higher."""
        return self.steady or (self.after is not None and (
            self.after == 0 or (self.before is not None and self.after <= self.before)))


@dataclass(frozen=True)
class PolicyReport:
    environment: str | None
    rules: Mapping[str, str]  # name -> level, of the rules checked
    violations: tuple[Violation, ...] = ()
    prices: tuple[PriceLine, ...] = ()
    before: float | None = None  # the environment's total $/h today (None: unknown)
    after: float | None = None  # and after the run
    overrides: tuple[str, ...] = ()  # --policy-override names that passed a violation
    limits: Mapping[str, float] = field(default_factory=dict)  # maxHourlyCost's max, if set
    unchecked: tuple[str, ...] = ()  # deployments whose configuration was not known here

    @property
    def blocked(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.blocks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION, "environment": self.environment,
            "passed": not self.blocked, "rules": dict(self.rules),
            "budget": {"before": self.before, "after": self.after,
                       "limit": self.limits.get("maxHourlyCost"),
                       "unknown": [p.deployment for p in self.prices if p.source == "unknown"]},
            "prices": [{"deployment": p.deployment, "before": p.before, "after": p.after,
                        "source": p.source} for p in self.prices],
            "violations": [v.to_dict() for v in self.violations],
            "overrides": list(self.overrides),
        } | ({"unchecked": list(self.unchecked)} if self.unchecked else {})


def money(v: float | None) -> str:
    return "unknown" if v is None else f"${v:,.2f}/h"


def total(values: Any) -> float | None:
    """The sum, or None (unknown) if any value is."""
    known = list(values)
    return None if None in known else round(sum(known), 6)


def with_overrides(report: PolicyReport, names: frozenset[str]) -> PolicyReport:
    """``report`` with the mandatory violations of the rules ``names`` passed for one run."""
    from dataclasses import replace

    violations = tuple(replace(v, overridden=True)
                       if v.level == "mandatory" and v.rule in names else v
                       for v in report.violations)
    used = tuple(sorted({v.rule for v in violations if v.overridden}))
    return replace(report, violations=violations, overrides=used)
