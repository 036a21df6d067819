"""Metric and curve computations for a binary classifier. Pure functions on arrays; no file I/O.

Every number is rounded at the source (`DIGITS`), so metrics files are stable across machines and diffs show only
real changes. Curves are resampled onto fixed grids, so their size is bounded and two revisions line up point by
point (the PR report draws them on one axis).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIGITS = 4
MISSING_SEGMENT = "(missing)"  # the segment of rows without a value (as text, pandas would say "nan")


def scores(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    predicted = p >= threshold
    values = {
        "roc_auc": roc_auc_score(y, p),
        "average_precision": average_precision_score(y, p),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted, zero_division=0),
        "f1": f1_score(y, predicted, zero_division=0),
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "brier": brier_score_loss(y, p),
    }
    return {name: round(float(value), DIGITS) for name, value in values.items()}


def roc_points(y: np.ndarray, p: np.ndarray, n: int) -> list[dict[str, float]]:
    """True-positive rate at `n` evenly spaced false-positive rates (the ROC step curve, sampled)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    grid = np.linspace(0.0, 1.0, n)
    tpr_at = tpr[np.searchsorted(fpr, grid, side="right") - 1]
    return [{"fpr": _r(f), "tpr": _r(t)} for f, t in zip(grid, tpr_at, strict=True)]


def pr_points(y: np.ndarray, p: np.ndarray, n: int) -> list[dict[str, float]]:
    """Interpolated precision (best precision at recall >= r) at `n` evenly spaced recalls."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, p)
    order = np.argsort(recall, kind="stable")
    recall, precision = recall[order], precision[order]
    best_from_here = np.maximum.accumulate(precision[::-1])[::-1]
    grid = np.linspace(0.0, 1.0, n)
    index = np.minimum(np.searchsorted(recall, grid, side="left"), len(recall) - 1)
    return [{"recall": _r(r), "precision": _r(q)} for r, q in zip(grid, best_from_here[index], strict=True)]


def calibration_points(y: np.ndarray, p: np.ndarray, bins: int) -> list[dict[str, float]]:
    """Mean predicted vs observed positive rate in `bins` equal-width probability bins (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_p = np.bincount(which, weights=p, minlength=bins)
    mean_y = np.bincount(which, weights=y, minlength=bins)
    keep = count > 0
    return [
        {"prob_pred": _r(mp / c), "prob_true": _r(my / c), "count": int(c)}
        for mp, my, c in zip(mean_p[keep], mean_y[keep], count[keep], strict=True)
    ]


def confusion_counts(y: np.ndarray, p: np.ndarray, threshold: float, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The confusion matrix as one record per cell (aggregated, unlike dvclive's one record per row)."""
    predicted = (p >= threshold).astype(int)
    cells = np.bincount(2 * y.astype(int) + predicted, minlength=4)
    return [
        {"actual": labels[str(a)], "predicted": labels[str(b)], "count": int(cells[2 * a + b])}
        for a in (0, 1)
        for b in (0, 1)
    ]


def segment_values(column: Any) -> np.ndarray:
    """The segment of each row (a pandas Series in); rows without a value form the segment `MISSING_SEGMENT`."""
    values: np.ndarray = column.astype(object).where(column.notna(), MISSING_SEGMENT).to_numpy()
    return values


def largest_segments(segments: Any, min_rows: int, max_segments: int) -> list[tuple[str, np.ndarray]]:
    """The `max_segments` largest segments with at least `min_rows` rows, largest first: (value, row mask) each."""
    values, counts = np.unique(np.asarray(segments, dtype=object).astype(str), return_counts=True)
    order = sorted(zip(-counts, values, strict=True))[:max_segments]
    text = np.asarray(segments, dtype=object).astype(str)
    return [(str(value), text == value) for negative_count, value in order if -negative_count >= min_rows]


def segment_scores(
    y: np.ndarray, p: np.ndarray, segments: Any, threshold: float, min_rows: int, max_segments: int
) -> dict[str, dict[str, Any]]:
    """Scores for each of the `max_segments` largest segments with at least `min_rows` rows."""
    result = {}
    for value, mask in largest_segments(segments, min_rows, max_segments):
        ys, ps = y[mask], p[mask]
        entry = {"rows": int(mask.sum()), "positive_rate": _r(ys.mean())}
        if 0 < ys.sum() < len(ys):
            entry.update(scores(ys, ps, threshold))
        result[str(value)] = entry
    return result


def _r(value: float) -> float:
    return round(float(value), DIGITS)
