"""The statistics of the drift check, on plain numpy arrays; no file I/O, no DataFrames.

PSI, the chi-square and Kolmogorov-Smirnov tests, the multiple-testing correction, weighted metrics for the
bootstrap, and the bootstrap of a gap between groups.

PSI (population stability index) over bins with reference shares e and batch shares a is sum((a - e) * ln(a / e)).
Numeric features are binned on the reference's quantiles (the bins stay where the training data put them, whatever
the batch does), with one more bin for missing values; categorical features get one bin per reference category,
one for missing values and one for every category the reference never had. An empty bin counts as `floor`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MISSING = "(missing)"
UNSEEN = "(unseen)"


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = 1e-4) -> float:
    """PSI between two count (or share) vectors over the same bins; shares below `floor` are raised to it."""
    e = np.maximum(np.asarray(expected, float) / np.sum(expected), floor)
    a = np.maximum(np.asarray(actual, float) / np.sum(actual), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """The distinct inner quantiles of the reference's non-missing values (values it holds): `bins` - 1 at most."""
    values = reference[~np.isnan(reference)]
    if values.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf"))


def numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin: below the first edge, between edges (left-closed), at or above the last, then missing."""
    missing = np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
    return np.append(counts, missing.sum())


def category_counts(reference: dict, batch: dict) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Align value counts ({category or None: count}) on the reference's categories, missing, then unseen.

    Returns (bin names, reference counts, batch counts, the unseen categories sorted by count, largest first).
    """
    known = sorted(str(k) for k in reference if k is not None)
    names = [*known, MISSING, UNSEEN]
    ref = np.array([reference.get(k, 0) for k in known] + [reference.get(None, 0), 0])
    unseen = {str(k): v for k, v in batch.items() if k is not None and str(k) not in reference}
    new = np.array([batch.get(k, 0) for k in known] + [batch.get(None, 0), sum(unseen.values())])
    return names, ref, new, sorted(unseen, key=lambda k: (-unseen[k], k))


def chi_square(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2 x k table of counts (bins empty in both left out): (statistic, p)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([expected, actual]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def ks_two_sample(reference: np.ndarray, batch: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test: (the largest gap between the two empirical CDFs, p-value).

    scipy's exact p-value while both samples have at most 10,000 values, its asymptotic one above. Ties (a tree
    model's scores take few values) make the test conservative, never the reverse. An empty sample: (0, 1).
    """
    from scipy.stats import ks_2samp

    if len(reference) == 0 or len(batch) == 0:
        return 0.0, 1.0
    result = ks_2samp(reference, batch)
    return float(result.statistic), float(result.pvalue)


def adjust(p_values: list[float], method: str) -> list[float]:
    """p-values corrected for testing them all: Benjamini-Hochberg (false discovery rate) or Bonferroni."""
    if not p_values:
        return []
    p = np.asarray(p_values, float)
    if method == "bonferroni":
        return np.minimum(p * len(p), 1.0).tolist()
    from scipy.stats import false_discovery_control

    return false_discovery_control(p, method="bh").tolist()


class WeightedScores:
    """Metrics of (labels, scores) under row weights, for a bootstrap that reweights instead of copying rows.

    Rows are sorted by score once; each replicate is one vector of counts (how often each row was drawn). With all
    weights 1 the values equal scikit-learn's `roc_auc_score`, `average_precision_score`, `log_loss`, ... (ties
    included).
    """

    def __init__(self, y: np.ndarray, p: np.ndarray, threshold: float) -> None:
        order = np.argsort(p, kind="stable")
        self.y, self.p = np.asarray(y, float)[order], np.asarray(p, float)[order]
        self.starts = np.flatnonzero(np.r_[True, self.p[1:] != self.p[:-1]])  # groups of tied scores
        clipped = np.clip(self.p, 1e-15, 1 - 1e-15)
        self.loss = -(self.y * np.log(clipped) + (1 - self.y) * np.log(1 - clipped))
        self.brier = (self.p - self.y) ** 2
        self.flagged = self.p >= threshold
        self.order = order

    def scores(self, w: np.ndarray, names: Sequence[str]) -> dict[str, float]:
        """The named metrics with weight `w[i]` on row i (in the caller's order)."""
        w = np.asarray(w, float)[self.order]
        pos_w, neg_w = w * self.y, w * (1 - self.y)
        out = {}
        if {"roc_auc", "average_precision"} & set(names):
            pos, neg = np.add.reduceat(pos_w, self.starts), np.add.reduceat(neg_w, self.starts)
            if "roc_auc" in names:
                below = np.cumsum(neg) - neg
                out["roc_auc"] = float(np.sum(pos * (below + 0.5 * neg)) / (pos.sum() * neg.sum()))
            if "average_precision" in names:
                tp, fp = np.cumsum(pos[::-1]), np.cumsum(neg[::-1])
                precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
                out["average_precision"] = float(np.sum(pos[::-1] * precision) / pos.sum())
        tp, fp = np.sum(pos_w[self.flagged]), np.sum(neg_w[self.flagged])
        fn = pos_w.sum() - tp
        out["precision"] = float(tp / (tp + fp)) if tp + fp > 0 else 0.0
        out["recall"] = float(tp / (tp + fn)) if tp + fn > 0 else 0.0
        out["f1"] = float(2 * tp / (2 * tp + fp + fn)) if tp > 0 else 0.0
        out["log_loss"] = float(np.sum(w * self.loss) / w.sum())
        out["brier"] = float(np.sum(w * self.brier) / w.sum())
        return {name: out[name] for name in names}


def bootstrap(
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    names: Sequence[str],
    replicates: int,
    seed: int,
    max_rows: int = 20_000,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each named metric on all rows, and its bootstrap replicates: rows drawn with replacement, `replicates` times.

    Above `max_rows` rows the replicates draw from a seeded sample of `max_rows` rows (m-out-of-n): each replicate's
    offset from the sample's own value is scaled by sqrt(m / n) and added to the value on all rows. A metric's spread
    shrinks with the square root of the rows, and this keeps the cost flat at any batch size. Replicates that drew
    one class only are left out.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    whole = WeightedScores(y, p, threshold).scores(np.ones(n), names)
    rows = np.sort(rng.choice(n, max_rows, replace=False)) if n > max_rows else np.arange(n)
    ys, m = np.asarray(y)[rows], len(rows)
    scorer = WeightedScores(ys, np.asarray(p)[rows], threshold)
    centre = scorer.scores(np.ones(m), names) if m < n else whole
    scale = np.sqrt(m / n)
    values: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(replicates):
        w = np.bincount(rng.integers(0, m, m), minlength=m)
        if not 0 < np.sum(w * ys) < m:
            continue
        for name, value in scorer.scores(w, names).items():
            values[name].append(whole[name] + scale * (value - centre[name]))
    return whole, {name: np.asarray(v) for name, v in values.items()}


def interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central `confidence` share of the replicates (percentile interval)."""
    tail = (1 - confidence) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def gap_bootstrap(
    groups: list[tuple[np.ndarray, np.ndarray]],
    threshold: float,
    names: Sequence[str],
    replicates: int,
    seed: int,
    max_rows: int = 20_000,
) -> tuple[list[dict[str, float]], dict[str, float], dict[str, np.ndarray]]:
    """Per named metric: each group's value, the gap between the best and the worst group, its bootstrap replicates.

    `groups` holds (labels, scores) per group. Each group is resampled on its own (`bootstrap`), so every replicate
    keeps the groups' sizes; replicate r's gap is the spread of the groups' r-th values. A small group's metric
    swings widely from replicate to replicate, and so does the gap it sets: the replicates carry that noise. The
    groups share `max_rows` (each draws from at most its share, scaled as in `bootstrap`), so the cost stays that of
    one bootstrap however many groups there are.
    """
    values, on_groups = [], []
    share = max(max_rows // max(len(groups), 1), 1000)
    for index, (y, p) in enumerate(groups):
        whole, reps = bootstrap(y, p, threshold, names, replicates, seed + index, share)
        values.append(whole)
        on_groups.append(reps)
    gaps, spread = {}, {}
    for name in names:
        gaps[name] = max(v[name] for v in values) - min(v[name] for v in values)
        both = min(len(reps[name]) for reps in on_groups)
        stacked = np.vstack([reps[name][:both] for reps in on_groups])
        spread[name] = stacked.max(axis=0) - stacked.min(axis=0)
    return values, gaps, spread
