"""Evaluation metrics (pure functions): classifiers, per-incident detection, forecasts and intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve


def auc_pr(labels, scores) -> float:
    """Area under the precision-recall curve (average precision); NaN without a positive."""
    labels = np.asarray(labels, int)
    return float(average_precision_score(labels, np.asarray(scores, float))) if labels.any() else float("nan")


def recall_at_precision(labels, scores, precision: float) -> float:
    """The best recall among thresholds whose precision is at least `precision` (0 when none reaches it)."""
    labels = np.asarray(labels, int)
    if not labels.any():
        return float("nan")
    precisions, recalls, _ = precision_recall_curve(labels, np.asarray(scores, float))
    reached = recalls[precisions >= precision]
    return float(reached.max()) if reached.size else 0.0


def detection_scores(flagged: pd.DataFrame, incidents: pd.DataFrame, scope: list[str]) -> dict[str, float]:
    """Precision, recall and F1 counted per incident and per flagged event, not per row.

    `flagged` has one row per flagged (scope..., day); consecutive flagged days of one scope form one event.
    `incidents` has scope columns, `first_day`, `last_day` and `counts` (False: an incident that is a true
    positive when flagged but not one the detector must find). An event is true when it overlaps any incident
    of its scope; an incident with counts=True is found when any event overlaps it.
    """
    events = _events(flagged, scope)
    matched_events = 0
    found: set[int] = set()
    for event in events.itertuples(index=False):
        hits = incidents
        for column in scope:
            hits = hits[hits[column] == getattr(event, column)]
        hits = hits[(hits["first_day"] <= event.last_day) & (hits["last_day"] >= event.first_day)]
        matched_events += int(not hits.empty)
        found.update(hits.index[hits["counts"]].tolist())
    counted = int(incidents["counts"].sum())
    precision = matched_events / len(events) if len(events) else float("nan")
    recall = len(found) / counted if counted else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": float(f1), "events": float(len(events))}


def _events(flagged: pd.DataFrame, scope: list[str]) -> pd.DataFrame:
    if flagged.empty:
        return pd.DataFrame(columns=[*scope, "first_day", "last_day"])
    rows = flagged.assign(day=pd.to_datetime(flagged["day"])).sort_values([*scope, "day"])
    gap = rows.groupby(scope)["day"].diff().dt.days.ne(1)
    rows["event"] = gap.cumsum()
    return rows.groupby([*scope, "event"], as_index=False).agg(first_day=("day", "min"), last_day=("day", "max"))


def mape(actual, predicted) -> float:
    """Mean absolute percentage error (%) over days with a positive actual."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    keep = actual > 0
    return float(np.mean(np.abs(predicted[keep] - actual[keep]) / actual[keep]) * 100) if keep.any() else float("nan")


def mae(actual, predicted) -> float:
    return float(np.mean(np.abs(np.asarray(predicted, float) - np.asarray(actual, float))))


def coverage(actual, lower, upper) -> float:
    """Share of actuals inside [lower, upper]."""
    actual = np.asarray(actual, float)
    return float(np.mean((actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float))))


def wape(actual, predicted) -> float:
    """Weighted absolute percentage error (%): the summed absolute error over the summed actuals."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    total = np.abs(actual).sum()
    return float(np.abs(predicted - actual).sum() / total * 100) if total > 0 else float("nan")


def brier(outcomes, probabilities) -> float:
    """Brier score: the mean squared difference between the probability and the 0/1 outcome (0 = perfect)."""
    outcomes = np.asarray(outcomes, int)
    return (
        float(brier_score_loss(outcomes, np.asarray(probabilities, float), pos_label=1))
        if len(outcomes)
        else float("nan")
    )


def recall(outcomes, flagged) -> float:
    """Share of the true outcomes that are flagged (NaN without a true outcome)."""
    outcomes, flagged = np.asarray(outcomes, bool), np.asarray(flagged, bool)
    return float(flagged[outcomes].mean()) if outcomes.any() else float("nan")


def precision(outcomes, flagged) -> float:
    """Share of the flagged cases that are true (NaN when nothing is flagged)."""
    outcomes, flagged = np.asarray(outcomes, bool), np.asarray(flagged, bool)
    return float(outcomes[flagged].mean()) if flagged.any() else float("nan")


def savings_pct(usage, paid) -> float:
    """What was saved against paying `usage` (pay as you go), as a % of it: 100 x (sum usage - sum paid) / sum usage."""
    usage, paid = np.asarray(usage, float), np.asarray(paid, float)
    total = usage.sum()
    return float((total - paid.sum()) / total * 100) if total > 0 else float("nan")
