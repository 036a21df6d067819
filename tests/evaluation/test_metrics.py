"""Metric and curve computations (`mlci.evaluation.metrics`): known values, bounded sizes, the right monotonicity."""

from __future__ import annotations

import numpy as np
import pytest

from mlci.core.metric_names import HIGHER_IS_BETTER
from mlci.evaluation.metrics import (
    calibration_points,
    confusion_counts,
    pr_points,
    roc_points,
    scores,
    segment_scores,
)

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


@pytest.fixture(scope="module")
def noisy():
    """5,000 predictions of a decent classifier with 10% positives."""
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.1).astype(int)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1.2, 5000) + 2.2 * y - 2.8)))
    return y, p


def test_scores__known_values():
    assert scores(Y, P, threshold=0.5) == {
        "roc_auc": 0.75,
        "average_precision": 0.8333,
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "log_loss": 0.4723,  # mean of -log(0.9), -log(0.6), -log(0.35), -log(0.8)
        "brier": 0.1581,  # mean of 0.01, 0.16, 0.4225, 0.04
    }
    assert set(scores(Y, P, 0.5)) == set(HIGHER_IS_BETTER)


def test_scores__threshold():
    low = scores(Y, P, threshold=0.3)  # predicts 0.4, 0.35 and 0.8 positive

    assert (low["precision"], low["recall"], low["f1"]) == (0.6667, 1.0, 0.8)
    assert low["roc_auc"] == scores(Y, P, 0.5)["roc_auc"]  # ranking metrics do not depend on the threshold


def test_scores__no_positive_predictions():
    assert scores(Y, P, threshold=0.9)["precision"] == 0.0  # no positive prediction: 0, not an error


def test_roc_points__known_curve():
    points = roc_points(Y, P, 5)

    assert points == [
        {"fpr": 0.0, "tpr": 0.5},
        {"fpr": 0.25, "tpr": 0.5},
        {"fpr": 0.5, "tpr": 1.0},
        {"fpr": 0.75, "tpr": 1.0},
        {"fpr": 1.0, "tpr": 1.0},
    ]


@pytest.mark.parametrize("n", [11, 101])
def test_roc_points__bounded_and_monotone(noisy, n):
    points = roc_points(*noisy, n)

    fpr = [point["fpr"] for point in points]
    tpr = [point["tpr"] for point in points]
    assert len(points) == n
    assert fpr == [round(x, 4) for x in np.linspace(0, 1, n)]
    assert all(0 <= t <= 1 for t in tpr)
    assert tpr == sorted(tpr)
    assert tpr[-1] == 1.0


def test_pr_points__known_curve():
    points = pr_points(Y, P, 3)

    # Best precision at recall >= 0, 0.5, 1: 1.0 (top score is positive), 1.0, 2/3 (both positives in the top 3).
    assert points == [
        {"recall": 0.0, "precision": 1.0},
        {"recall": 0.5, "precision": 1.0},
        {"recall": 1.0, "precision": 0.6667},
    ]


@pytest.mark.parametrize("n", [11, 101])
def test_pr_points__bounded_and_monotone(noisy, n):
    points = pr_points(*noisy, n)

    recall = [point["recall"] for point in points]
    precision = [point["precision"] for point in points]
    assert len(points) == n
    assert recall == [round(x, 4) for x in np.linspace(0, 1, n)]
    assert all(0 <= q <= 1 for q in precision)
    assert precision == sorted(precision, reverse=True)  # interpolated precision never rises with recall
    assert precision[-1] >= noisy[0].mean()  # at full recall, at least the base rate


def test_calibration_points__known_bins():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.05, 0.15, 0.1, 0.55, 0.95, 1.0])

    assert calibration_points(y, p, bins=2) == [
        {"prob_pred": 0.1, "prob_true": 0.3333, "count": 3},
        {"prob_pred": 0.8333, "prob_true": 0.6667, "count": 3},
    ]


@pytest.mark.parametrize("bins", [2, 10, 100])
def test_calibration_points__bounded(noisy, bins):
    y, p = noisy

    points = calibration_points(y, p, bins)

    assert 1 <= len(points) <= bins
    assert sum(point["count"] for point in points) == len(y)
    predicted = [point["prob_pred"] for point in points]
    assert predicted == sorted(predicted)
    assert all(0 <= point["prob_true"] <= 1 for point in points)


def test_calibration_points__empty_bins_left_out():
    points = calibration_points(np.array([0, 1]), np.array([0.01, 0.99]), bins=10)

    assert [point["count"] for point in points] == [1, 1]


def test_confusion_counts(noisy):
    y, p = noisy
    labels = {"0": "legit", "1": "fraud"}

    cells = confusion_counts(y, p, 0.5, labels)

    assert sum(cell["count"] for cell in cells) == len(y)
    assert [(cell["actual"], cell["predicted"]) for cell in cells] == [
        ("legit", "legit"),
        ("legit", "fraud"),
        ("fraud", "legit"),
        ("fraud", "fraud"),
    ]
    by_cell = {(cell["actual"], cell["predicted"]): cell["count"] for cell in cells}
    assert by_cell[("fraud", "fraud")] == int(((p >= 0.5) & (y == 1)).sum())
    assert by_cell[("legit", "fraud")] == int(((p >= 0.5) & (y == 0)).sum())


def test_confusion_counts__known():
    cells = confusion_counts(Y, P, 0.5, {"0": "0", "1": "1"})

    assert [cell["count"] for cell in cells] == [2, 0, 1, 1]


def test_segment_scores():
    rng = np.random.default_rng(1)
    segments = np.array(["web"] * 300 + ["store"] * 200 + ["phone"] * 40 + ["kiosk"] * 60)
    y = np.where(segments == "kiosk", 0, (rng.random(600) < 0.2).astype(int))
    p = np.clip(0.3 * y + rng.random(600) * 0.7, 0, 1)

    result = segment_scores(y, p, segments, threshold=0.5, min_rows=50, max_segments=20)

    assert sorted(result) == ["kiosk", "store", "web"]  # "phone" has fewer than 50 rows
    assert result["web"]["rows"] == 300
    assert result["web"]["roc_auc"] == scores(y[:300], p[:300], 0.5)["roc_auc"]
    assert result["kiosk"] == {"rows": 60, "positive_rate": 0.0}  # one class: no scores, no error


def test_segment_scores__largest_first():
    segments = np.array(["a"] * 10 + ["b"] * 30 + ["c"] * 20 + [None] * 25, dtype=object)
    y = np.tile([0, 1], len(segments) // 2 + 1)[: len(segments)]
    p = np.linspace(0, 1, len(segments))

    result = segment_scores(y, p, segments, threshold=0.5, min_rows=1, max_segments=2)

    assert sorted(result) == ["None", "b"]
    assert result["None"]["rows"] == 25
