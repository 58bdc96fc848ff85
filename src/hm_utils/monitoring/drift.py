"""Drift metrics between two profiles of the same slice and column, in the layout of Databricks'
`<table>_drift_metrics`: pure functions over profile rows (pandas), no engine.

Numeric columns are compared through their quantiles (KS test, Wasserstein distance, population stability
index); string and boolean columns through their frequent items plus an `other` bucket (Jensen-Shannon,
chi-squared test, total-variation and L-infinity distances, population stability index).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial import distance

from hm_utils.monitoring.profile import QUANTILES, TABLE_COLUMN, is_numeric

_EPSILON = 1e-4
DRIFT_COLUMNS = [
    "count_delta",
    "avg_delta",
    "percent_null_delta",
    "percent_zeros_delta",
    "percent_distinct_delta",
    "non_null_columns_delta",
    "js_distance",
    "ks_test",
    "wasserstein_distance",
    "population_stability_index",
    "chi_squared_test",
    "tv_distance",
    "l_infinity_distance",
]


def _delta(current: dict, base: dict, name: str) -> float | None:
    a, b = current.get(name), base.get(name)
    if a is None or b is None or _nan(a) or _nan(b):
        return None
    return float(a) - float(b)


def _listed(value: Any) -> list:
    """An array column's value as a list (pandas gives numpy arrays, or None)."""
    return [] if value is None else list(value)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _cdf(quantiles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The distribution function implied by `quantiles` (at QUANTILES), evaluated at `points`."""
    return np.interp(points, quantiles, QUANTILES, left=0.0, right=1.0)


def numeric_drift(current_q: list[float], base_q: list[float], n_current: int, n_base: int) -> dict[str, Any]:
    """KS test, Wasserstein distance and PSI of two numeric distributions given by their quantiles."""
    cur, base = np.asarray(current_q, float), np.asarray(base_q, float)
    points = np.union1d(cur, base)
    statistic = float(np.max(np.abs(_cdf(cur, points) - _cdf(base, points))))
    n = max(1, round(n_current * n_base / max(1, n_current + n_base)))
    pvalue = float(stats.kstwo.sf(statistic, n)) if statistic > 0 else 1.0
    wasserstein = float(np.trapezoid(np.abs(cur - base), QUANTILES))
    edges = np.unique(base[1:-1][::2])  # base deciles as bin edges
    base_share = np.diff(np.concatenate([[0.0], _cdf(base, edges), [1.0]]))
    cur_share = np.diff(np.concatenate([[0.0], _cdf(cur, edges), [1.0]]))
    return {
        "ks_test": {"statistic": statistic, "pvalue": pvalue},
        "wasserstein_distance": wasserstein,
        "population_stability_index": _psi(cur_share, base_share),
    }


def _psi(current: np.ndarray, base: np.ndarray) -> float:
    current, base = np.clip(current, _EPSILON, None), np.clip(base, _EPSILON, None)
    return float(np.sum((current - base) * np.log(current / base)))


def _counts(row: dict) -> dict[str, int]:
    items = {entry["item"]: int(entry["count"]) for entry in _listed(row.get("frequent_items"))}
    other = int(row["count"]) - int(row.get("num_nulls") or 0) - sum(items.values())
    if other > 0:
        items["\x00other"] = other
    return items


def categorical_drift(current: dict, base: dict) -> dict[str, Any]:
    """Distances and the chi-squared test of two categorical distributions (frequent items + other)."""
    a, b = _counts(current), _counts(base)
    labels = sorted(set(a) | set(b))
    if not labels or not sum(a.values()) or not sum(b.values()):
        return {}
    ca = np.array([a.get(label, 0) for label in labels], float)
    cb = np.array([b.get(label, 0) for label in labels], float)
    pa, pb = ca / ca.sum(), cb / cb.sum()
    result: dict[str, Any] = {
        "js_distance": float(distance.jensenshannon(pa, pb, base=2)),
        "tv_distance": float(0.5 * np.abs(pa - pb).sum()),
        "l_infinity_distance": float(np.abs(pa - pb).max()),
        "population_stability_index": _psi(pa, pb),
    }
    if len(labels) > 1:
        chi = stats.chi2_contingency(np.vstack([ca, cb]))
        result["chi_squared_test"] = {"statistic": float(chi.statistic), "pvalue": float(chi.pvalue)}
    else:
        result["chi_squared_test"] = {"statistic": 0.0, "pvalue": 1.0}
    return result


def drift_row(current: dict, base: dict) -> dict[str, Any]:
    """The standard drift columns of one (current, base) pair of profile rows of the same column."""
    row: dict[str, Any] = dict.fromkeys(DRIFT_COLUMNS)
    row["count_delta"] = int(current["count"]) - int(base["count"])
    for name in ("avg", "percent_null", "percent_zeros", "percent_distinct"):
        row[f"{name}_delta"] = _delta(current, base, name)
    if current["column_name"] == TABLE_COLUMN:
        now, before = set(_listed(current.get("non_null_columns"))), set(_listed(base.get("non_null_columns")))
        row["non_null_columns_delta"] = {"added": len(now - before), "missing": len(before - now)}
    elif is_numeric(current["data_type"] or ""):
        cur_q, base_q = _listed(current.get("quantiles")), _listed(base.get("quantiles"))
        if cur_q and base_q and not any(q is None or _nan(q) for q in [*cur_q, *base_q]):
            row.update(numeric_drift(cur_q, base_q, int(current["count"]), int(base["count"])))
    else:
        row.update(categorical_drift(current, base))
    return row
