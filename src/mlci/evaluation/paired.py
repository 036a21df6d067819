"""How sure a change is: the paired interval of (head - base) for each metric, both models scored on the same rows.

Pairing is what makes the interval narrow: both models see the same rows, so the rows' own difficulty cancels out
and only the models' disagreement is left. Two methods, both paired:
- `analytic` (the default): the normal interval of the difference, with its variance from each row's influence on
  the two metrics (the delta method; for ROC AUC this is DeLong's method, DeLong, DeLong & Clarke-Pearson 1988, in
  Sun & Xu's O(n log n) form). One sort per model, then a few passes over the rows: 1M rows cost about a second, and
  there is no randomness, so two runs give the same numbers.
- `bootstrap`: each resample draws the rows with replacement once and scores both models on that draw; the interval
  is the percentiles of the differences. The draws are counts per row, so a block of resamples is a matrix product
  and a cumulative sum, never a Python loop over rows or resamples; blocks bound the memory. Seeded. Its cost grows
  with rows x resamples, so it suits test splits of tens of thousands of rows. ROC AUC keeps DeLong's interval.
The two agree closely on large samples (tests/evaluation/test_paired.py checks it); the bootstrap follows skewed
metrics a little better on small ones.

Pure: arrays in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from mlci.core.metric_names import METRIC_NAMES

Method = Literal["analytic", "bootstrap"]
BLOCK_CELLS = 8_000_000  # bootstrap resamples x rows held at once: 32 MB per float32 array


@dataclass(frozen=True)
class Interval:
    """The change (head - base) on the same rows and its interval at the confidence asked for."""

    delta: float
    low: float
    high: float
    method: str  # "delong", "delta" (the analytic interval of the other metrics) or "bootstrap"

    @property
    def contains_zero(self) -> bool:
        return self.low <= 0.0 <= self.high

    def to_json(self) -> dict[str, float | str]:
        return {"delta": self.delta, "low": self.low, "high": self.high, "method": self.method}


def compare_scores(
    y: np.ndarray,
    p_head: np.ndarray,
    p_base: np.ndarray,
    thresholds: tuple[float, float],
    confidence: float,
    method: Method = "analytic",
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, float], dict[str, Interval]]:
    """Every metric of both models (unrounded; the values of `evaluation.metrics.scores`) and each change's interval.

    One sort per model serves both, so a million rows cost about a second where scikit-learn's metric functions,
    which validate and sort again for each metric, take several.
    """
    y = np.asarray(y).astype(np.int8)
    if len(y) < 2 or y.min() == y.max():
        return {}, {}, {}
    p_head, p_base = np.asarray(p_head, dtype=np.float64), np.asarray(p_base, dtype=np.float64)
    head, base = _Scored(y, p_head, thresholds[0]), _Scored(y, p_base, thresholds[1])
    auc_head, auc_base, variance = _delong(y, head, base)
    rest: list[str] = [name for name in METRIC_NAMES if name != "roc_auc"]
    found = {"roc_auc": _normal(auc_head - auc_base, variance, confidence, "delong")}
    if method == "bootstrap":
        found.update(_bootstrap(head, base, rest, confidence, resamples, seed))
    else:
        found.update(_analytic(head, base, rest, confidence))
    values_head = {"roc_auc": auc_head, **{name: head.value(name) for name in rest}}
    values_base = {"roc_auc": auc_base, **{name: base.value(name) for name in rest}}
    return values_head, values_base, {name: found[name] for name in METRIC_NAMES}


def intervals(
    y: np.ndarray,
    p_head: np.ndarray,
    p_base: np.ndarray,
    thresholds: tuple[float, float],
    metrics: list[str] | tuple[str, ...],
    confidence: float,
    method: Method = "analytic",
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Interval]:
    """The interval of each metric in `metrics`, head at `thresholds[0]` and base at `thresholds[1]`.

    Empty when the rows hold one class only: no metric can be compared on them.
    """
    found = compare_scores(y, p_head, p_base, thresholds, confidence, method, resamples, seed)[2]
    return {name: found[name] for name in metrics if name in found}


def delong(y: np.ndarray, p_head: np.ndarray, p_base: np.ndarray, confidence: float) -> Interval:
    """ROC AUC of head minus base on the same rows, with DeLong's normal interval of that difference."""
    y = np.asarray(y).astype(np.int8)
    head = _Scored(y, np.asarray(p_head, dtype=np.float64), 0.5)
    base = _Scored(y, np.asarray(p_base, dtype=np.float64), 0.5)
    auc_head, auc_base, variance = _delong(y, head, base)
    return _normal(auc_head - auc_base, variance, confidence, "delong")


def _delong(y: np.ndarray, head: _Scored, base: _Scored) -> tuple[float, float, float]:
    """Both ROC AUCs and the variance of their difference, by DeLong's method.

    Each positive row's share of negatives it outranks, and each negative's share of positives above it (ties count
    one half): their means are the AUC, and the covariance of the two models' shares gives the variance.
    """
    positive = y == 1
    m, n = int(positive.sum()), int((~positive).sum())
    d10 = head.shares[positive] - base.shares[positive]
    d01 = head.shares[~positive] - base.shares[~positive]
    variance = (d10.var(ddof=1) if m > 1 else 0.0) / m + (d01.var(ddof=1) if n > 1 else 0.0) / n
    return head.auc, base.auc, float(variance)


def _normal(delta: float, variance: float, confidence: float, method: str) -> Interval:
    half = float(NormalDist().inv_cdf(0.5 + confidence / 2.0) * np.sqrt(max(variance, 0.0)))
    return Interval(float(delta), float(delta - half), float(delta + half), method)


class _Scored:
    """One model's scores on the rows, with what every metric needs computed once."""

    def __init__(self, y: np.ndarray, p: np.ndarray, threshold: float) -> None:
        predicted = p >= threshold
        eps = np.finfo(np.float64).eps  # as scikit-learn's log_loss clips
        clipped = np.clip(p, eps, 1 - eps)
        tp = predicted & (y == 1)
        fp = predicted & (y == 0)
        positive = y == 1
        # Every metric but average precision is a ratio of two sums over the rows: (numerator, denominator) per row.
        self.ratios = {
            "precision": (tp, tp | fp),
            "recall": (tp, positive),
            "f1": (2.0 * tp, tp.astype(np.float64) + fp + positive),  # 2 TP / (2 TP + FP + FN)
            "log_loss": (-np.where(positive, np.log(clipped), np.log1p(-clipped)), np.ones_like(p)),
            "brier": ((p - y) ** 2, np.ones_like(p)),
        }
        # One sort serves both rank metrics. Average precision walks the rows from the highest score down, tied
        # scores forming one step; the ROC AUC counts, for each row, the rows of the other class on either side.
        ascending = np.argsort(p, kind="stable")
        self.order = ascending[::-1]
        ranked = p[self.order]
        self.step_ends = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
        self.positive_ranked = positive[self.order]
        self.shares, self.auc = _roc_shares(p[ascending], positive[ascending], ascending)

    def value(self, name: str) -> float:
        if name == "average_precision":
            return float(_average_precision(self, np.ones((1, len(self.order)), dtype=np.float32))[0])
        numerator, denominator = self.ratios[name]
        total = float(np.sum(denominator))
        return float(np.sum(numerator)) / total if total > 0 else 0.0

    def influence(self, name: str) -> np.ndarray:
        """Each row's first-order effect on the metric when its weight grows (the metric's gradient, rows at 1)."""
        if name == "average_precision":
            return self._ap_influence()
        numerator, denominator = (np.asarray(a, dtype=np.float64) for a in self.ratios[name])
        total = denominator.sum()
        if total <= 0:
            return np.zeros_like(numerator)
        gradient: np.ndarray = (numerator - numerator.sum() / total * denominator) / total
        return gradient

    def _ap_influence(self) -> np.ndarray:
        """The gradient of AP = (1/P) sum over steps g of a_g TP_g / N_g, with a_g the positives in step g."""
        positive = self.positive_ranked.astype(np.float64)
        starts = np.concatenate([[0], self.step_ends[:-1] + 1])
        a = np.add.reduceat(positive, starts)
        tp = np.cumsum(a)
        seen = self.step_ends + 1.0
        total_positives = tp[-1]
        precision = tp / seen
        ap = float(np.sum(a * precision) / total_positives)
        # A row in step s moves a_s (if positive), and TP_g (if positive) and N_g for every step g >= s.
        after_tp = np.cumsum((a / seen)[::-1])[::-1]
        after_seen = np.cumsum((a * tp / seen**2)[::-1])[::-1]
        step_of_row = np.repeat(np.arange(len(a)), np.diff(np.concatenate([[0], seen.astype(np.int64)])))
        s = step_of_row
        gradient_ranked = (positive * (precision[s] + after_tp[s]) - after_seen[s] - ap * positive) / total_positives
        gradient: np.ndarray = np.empty_like(gradient_ranked)
        gradient[self.order] = gradient_ranked
        return gradient


def _roc_shares(sorted_p: np.ndarray, sorted_positive: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's share of the other class on its far side, in the rows' original order; the positives' mean is the AUC.

    For a positive, the share of negatives below it; for a negative, the share of positives above it; ties count half.
    """
    group = np.concatenate([[0], np.cumsum(sorted_p[1:] != sorted_p[:-1])])
    positives_in = np.bincount(group, weights=sorted_positive.astype(np.float64))
    negatives_in = np.bincount(group, weights=(~sorted_positive).astype(np.float64))
    m, n = positives_in.sum(), negatives_in.sum()
    negatives_below = np.cumsum(negatives_in) - negatives_in
    positives_above = m - np.cumsum(positives_in)
    share_of_negatives = (negatives_below + 0.5 * negatives_in)[group] / max(n, 1)
    share_of_positives = (positives_above + 0.5 * positives_in)[group] / max(m, 1)
    shares = np.empty(len(sorted_p))
    shares[order] = np.where(sorted_positive, share_of_negatives, share_of_positives)
    auc = float(share_of_negatives[sorted_positive].mean()) if m else 0.5
    return shares, auc


def _analytic(head: _Scored, base: _Scored, metrics: list[str], confidence: float) -> dict[str, Interval]:
    found = {}
    for name in metrics:
        difference = head.influence(name) - base.influence(name)
        n = len(difference)
        variance = float(np.sum((difference - difference.mean()) ** 2)) * n / max(n - 1, 1)
        found[name] = _normal(head.value(name) - base.value(name), variance, confidence, "delta")
    return found


def _average_precision(s: _Scored, weights: np.ndarray) -> np.ndarray:
    """Average precision of each resample; `weights` holds how often each row was drawn, in the rows' score order."""
    seen = np.cumsum(weights, axis=1)[:, s.step_ends]
    weights[:, ~s.positive_ranked] = 0
    tp = np.cumsum(weights, axis=1)[:, s.step_ends]
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    positives = tp[:, -1:]
    recall = np.divide(tp, positives, out=np.zeros_like(tp), where=positives > 0)
    resampled: np.ndarray = np.sum(np.diff(recall, axis=1, prepend=0.0) * precision, axis=1)
    return resampled


def _resampled(s: _Scored, metrics: list[str], weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric on each resample (a row of `weights`, the rows in their original order)."""
    found = {}
    for name in metrics:
        if name == "average_precision":
            found[name] = _average_precision(s, weights[:, s.order])
            continue
        numerator, denominator = (np.asarray(a, dtype=np.float32) for a in s.ratios[name])
        top, bottom = weights @ numerator, weights @ denominator
        found[name] = np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)
    return found


def _bootstrap(
    head: _Scored, base: _Scored, metrics: list[str], confidence: float, resamples: int, seed: int
) -> dict[str, Interval]:
    """Percentile intervals of (head - base) over `resamples` draws of the rows with replacement, one draw for both."""
    rng = np.random.default_rng(seed)
    n = len(head.order)
    block = max(1, min(resamples, BLOCK_CELLS // n))
    deltas: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    for start in range(0, resamples, block):
        k = min(block, resamples - start)
        draws = rng.integers(0, n, size=(k, n), dtype=np.int64)
        draws += (np.arange(k) * n)[:, None]
        weights = np.bincount(draws.ravel(), minlength=k * n).reshape(k, n).astype(np.float32)
        new, old = _resampled(head, metrics, weights), _resampled(base, metrics, weights)
        for name in metrics:
            deltas[name].append(new[name] - old[name])
    tail = (1.0 - confidence) / 2.0
    found = {}
    for name in metrics:
        low, high = np.quantile(np.concatenate(deltas[name]), [tail, 1.0 - tail])
        found[name] = Interval(head.value(name) - base.value(name), float(low), float(high), "bootstrap")
    return found
