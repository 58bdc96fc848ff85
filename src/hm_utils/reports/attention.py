"""The executive report's "what needs attention" list: findings ranked by risk, then dollars.

A finding with a dollar impact gets its risk from its share of the period's spend (≥ 5 % high, ≥ 1 %
medium, else low); a finding without dollars (a security event, an SLA breach) states its own risk.
Within a risk level, larger dollar impact comes first. Each finding names the semantic function that
gives the detail, so a reader can drill down with one call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

RISKS = ("high", "medium", "low")
HIGH_SHARE = 0.05
MEDIUM_SHARE = 0.01


@dataclass(frozen=True)
class Attention:
    """One finding: what it is, why it matters, and where the detail is."""

    title: str
    detail: str
    function: str
    impact_usd: float | None = None
    risk: str | None = None


def risk_for_amount(amount: float, spend: float) -> str:
    """high / medium / low from the amount's share of the period's spend."""
    if spend <= 0:
        return "high" if amount > 0 else "low"
    share = amount / spend
    return "high" if share >= HIGH_SHARE else "medium" if share >= MEDIUM_SHARE else "low"


def rank(items: Iterable[Attention], spend: float, limit: int = 8) -> list[Attention]:
    """Findings with a risk each, highest risk first, then the largest dollar impact; at most `limit`.

    Findings with neither dollars nor a stated risk are dropped (nothing to act on)."""
    ranked = []
    for item in items:
        if item.risk is None:
            if not item.impact_usd or item.impact_usd <= 0:
                continue
            item = replace(item, risk=risk_for_amount(item.impact_usd, spend))
        if item.risk not in RISKS:
            raise ValueError(f"risk must be one of {RISKS}, got {item.risk!r} for '{item.title}'")
        ranked.append(item)
    ranked.sort(key=lambda item: (RISKS.index(item.risk), -(item.impact_usd or 0.0), item.title))
    return ranked[:limit]
