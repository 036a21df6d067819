"""The drift check: is a new batch still the data the current model was trained for?

`python -m mlci.monitor.drift --batch PATH` compares the batch (CSV, Parquet or JSON lines) with the training split
the model saw and writes `reports/drift/drift.json` and `reports/drift/drift.md`:
- data drift per feature: PSI on the reference's bins and a chi-square test of the same counts;
- the model's scores: PSI of its probabilities on the batch against those on the test split, and a two-sample
  Kolmogorov-Smirnov test of the same scores;
- the p-values of all these tests corrected together; a feature, or the score, drifts when its PSI reaches
  `monitor.drift.psi` *and* its corrected p-value is below `monitor.drift.alpha` (a large PSI on a few rows is
  noise; a tiny p-value on a million rows is no shift);
- decay, when the batch has labels of both classes: its metrics against the test split's, both bootstrapped; a
  metric decays when even the low end of its drop's interval exceeds `monitor.decay.max_drop`;
- fairness, with labels and a segment column: per metric, the gap between the best and the worst segment, on the
  batch against the test split, both bootstrapped; a gap is flagged when even the low end of its increase's
  interval exceeds `monitor.fairness.max_gap_increase` (reported, but no reason to retrain on its own).

Exit 0: no drift. 1: drift or decay. 2: bad input (one line on stderr; no report is written). `--serving-log` checks
`monitor.serving_log` (say nothing and exit 0 when there is none yet); `--print` prints the verdict line and the
Markdown report.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from mlci.core import cli, paths
from mlci.core.io import read_json, read_parquet, require, write_bytes, write_json
from mlci.core.metric_names import HIGHER_IS_BETTER
from mlci.core.params import load_params
from mlci.core.schema import Schema
from mlci.monitor import stats
from mlci.monitor.batch import Batch, prepare, read_table
from mlci.monitor.params import MonitorParams, load_monitor_params
from mlci.monitor.result import (
    Decay,
    DriftResult,
    Fairness,
    FeatureDrift,
    FeatureStats,
    MetricDecay,
    MetricGap,
    Rows,
    ScoreDrift,
    ScoreStats,
    Severity,
)

OUT = Path("reports/drift")
MISSING_SEGMENT = "(missing)"  # as `mlci.monitor.batch.prepare` names a batch's missing segment values
DIGITS = 4


def feature_drift(reference, batch, schema: Schema, params: MonitorParams) -> list[FeatureStats]:
    """One entry per feature: PSI and the chi-square test of the same counts (not yet corrected nor judged)."""
    import numpy as np
    import pyarrow.compute as pc

    p = params.drift
    found = []
    kind: Literal["numeric", "categorical"]
    for name in schema.features:
        if name in schema.numeric:
            ref = reference.column(name).to_numpy(zero_copy_only=False)
            new = batch.column(name).to_numpy(zero_copy_only=False)
            ref, new = np.asarray(ref, float), np.asarray(new, float)
            edges = stats.quantile_edges(ref, p.bins)
            expected, actual = stats.numeric_counts(ref, edges), stats.numeric_counts(new, edges)
            kind, unseen = "numeric", None
        else:
            counts = [_value_counts(table.column(name), pc) for table in (reference, batch)]
            _, expected, actual, unseen = stats.category_counts(*counts)
            kind, unseen = "categorical", unseen[:10]
        statistic, p_value = stats.chi_square(expected, actual)
        psi = stats.psi(expected, actual, p.psi_floor)
        found.append(FeatureStats(name, kind, len(expected), unseen, psi, statistic, p_value))
    return found


def _value_counts(column, pc) -> dict:
    counts = pc.value_counts(column)
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def severity(value: float, params: MonitorParams) -> Severity:
    return "major" if value >= params.drift.psi_major else "moderate" if value >= params.drift.psi else "none"


def score_drift(test_scores, batch_scores, params: MonitorParams) -> ScoreStats:
    """PSI of the scores on the test scores' quantile bins, and the two-sample Kolmogorov-Smirnov test.

    The test split is small when the data is: its scores' PSI against any batch carries the noise of both samples,
    about (bins - 1) * (1/n + 1/m) when nothing changed. The test weighs exactly that; PSI says how large the shift is.
    """
    edges = stats.quantile_edges(test_scores, params.drift.bins)
    value = stats.psi(
        stats.numeric_counts(test_scores, edges), stats.numeric_counts(batch_scores, edges), params.drift.psi_floor
    )
    statistic, p_value = stats.ks_two_sample(test_scores, batch_scores)
    return ScoreStats(psi=value, ks=statistic, p_value=p_value)


def judge(
    features: list[FeatureStats], score: ScoreStats, params: MonitorParams
) -> tuple[list[FeatureDrift], ScoreDrift]:
    """Correct the features' and the score's p-values together (one family of tests), then judge each.

    A feature, or the score, drifts when its PSI reaches `monitor.drift.psi` *and* its corrected p-value is below
    `monitor.drift.alpha`. A large PSI on a few rows is noise; a tiny p-value on a million rows is no shift: a drift
    needs both.
    """
    adjusted = stats.adjust([*(test.p_value for test in features), score.p_value], params.drift.correction)
    judged = [
        cast(FeatureDrift, _judged(test, p_adjusted, params))
        for test, p_adjusted in zip(features, adjusted[:-1], strict=True)
    ]
    judged_score = cast(ScoreDrift, _judged(score, adjusted[-1], params))
    return sorted(judged, key=lambda e: (-e.psi, e.feature)), judged_score


def _judged(test: FeatureStats | ScoreStats, adjusted: float, params: MonitorParams) -> FeatureDrift | ScoreDrift:
    """One test judged on its unrounded PSI and corrected p-value; the numbers it keeps are rounded."""
    p = params.drift
    values: dict[str, Any] = {f.name: getattr(test, f.name) for f in fields(test)}
    rounded: dict[str, Any] = {key: _round(values[key]) for key in ("psi", "chi2", "ks", "p_value") if key in values}
    judged = FeatureDrift if isinstance(test, FeatureStats) else ScoreDrift
    return judged(
        **(values | rounded),
        p_adjusted=_round(adjusted),
        drifted=bool(test.psi >= p.psi and adjusted < p.alpha),
        severity=severity(test.psi, params),
        threshold=p.psi,
    )


def decay(y, p, test: dict, threshold: float, params: MonitorParams) -> Decay:
    """The batch's metrics against the test split's, each with bootstrap intervals and a verdict.

    Both samples are bootstrapped: the test split is finite too, and its metrics carry noise of their own. A metric
    decays when the lower end of the interval of its drop (test minus batch, direction-aware) exceeds
    `monitor.decay.max_drop`: worse than allowed beyond the noise of either sample.
    """
    import numpy as np

    d = params.decay
    positives, negatives = int(np.sum(y == 1)), int(np.sum(y == 0))
    if min(positives, negatives) < d.min_positives:
        which = "positive" if positives < negatives else "negative"
        reason = (
            f"the batch's labels hold one class only ({positives} positive, {negatives} negative rows)"
            if min(positives, negatives) == 0
            else f"only {min(positives, negatives)} {which} labels; decay is judged from "
            f"monitor.decay.min_positives={d.min_positives}"
        )
        return Decay(reason=reason)
    # The test split's metrics are the other half of the comparison: with a handful of positives they are noise too,
    # and the bootstrap of so few rows understates it.
    on_test_split = int(np.sum(test["labels"] == 1)), int(np.sum(test["labels"] == 0))
    if min(on_test_split) < d.min_positives:
        which = "positive" if on_test_split[0] < on_test_split[1] else "negative"
        reason = (
            f"the test split holds only {min(on_test_split)} {which} labels; decay is judged from "
            f"monitor.decay.min_positives={d.min_positives} (more data, or a larger split.test_size)"
        )
        return Decay(reason=reason)
    names = [name for name in d.max_drop if name in test["metrics"]]
    batch_values, on_batch = stats.bootstrap(y, p, threshold, names, d.bootstrap, params.seed)
    _, on_test = stats.bootstrap(test["labels"], test["scores"], threshold, names, d.bootstrap, params.seed + 1)
    result: dict[str, MetricDecay] = {}
    for name in names:
        sign = 1 if HIGHER_IS_BETTER[name] else -1
        value, test_value = batch_values[name], test["metrics"][name]
        both = min(len(on_batch[name]), len(on_test[name]))
        low, high = stats.interval(on_batch[name], d.confidence)
        drop_low, drop_high = stats.interval(sign * (on_test[name][:both] - on_batch[name][:both]), d.confidence)
        result[name] = MetricDecay(
            test=test_value,
            batch=_round(value),
            low=_round(low),
            high=_round(high),
            drop=_round(sign * (test_value - value)),
            drop_low=_round(drop_low),
            drop_high=_round(drop_high),
            max_drop=d.max_drop[name],
            decayed=bool(drop_low > d.max_drop[name]),
        )
    return Decay(rows=len(y), positives=positives, confidence=d.confidence, metrics=result)


def fairness(y, p, segments, test: dict, threshold: float, params: MonitorParams, column: str | None) -> Fairness:
    """Per metric: the gap between the best and the worst segment, on the batch against the test split.

    Both gaps are bootstrapped (each segment resampled on its own), as decay is: a segment of a few hundred rows
    holds a handful of positives, and its recall alone can swing by 0.2. A gap is flagged when the low end of its
    increase's (basic bootstrap) interval exceeds `monitor.fairness.max_gap_increase`: wider than allowed beyond the
    noise.
    Segments judged: those with `monitor.fairness.min_rows` rows and `monitor.decay.min_positives` labels of each
    class on both sides.
    """
    import numpy as np

    f, d = params.fairness, params.decay
    batch_groups = _segments(y, p, segments, params)
    test_groups = _segments(test["labels"], test["scores"], test["segments"], params)
    shared = sorted(set(batch_groups) & set(test_groups))
    if len(shared) < 2:
        return Fairness(
            reason=f"fewer than two segments of {column!r} with {f.min_rows} rows and {d.min_positives} labels "
            "of each class"
        )
    names = list(f.metrics)
    on_batch, batch_gap, batch_spread = stats.gap_bootstrap(
        [batch_groups[s] for s in shared], threshold, names, d.bootstrap, params.seed + 3
    )
    on_test, test_gap, test_spread = stats.gap_bootstrap(
        [test_groups[s] for s in shared], threshold, names, d.bootstrap, params.seed + 3 + len(shared)
    )
    result: dict[str, MetricGap] = {}
    for name in names:
        both = min(len(batch_spread[name]), len(test_spread[name]))
        increase = batch_gap[name] - test_gap[name]
        # The basic (reverse percentile) interval: the spread of a few noisy values overstates their true spread, and
        # more so in a bootstrap replicate; reflecting the replicates about the estimate corrects that bias (the
        # percentile interval flagged 7 in 100 equal 300-row segments, this one 3).
        replicates = batch_spread[name][:both] - test_spread[name][:both]
        low, high = stats.interval(replicates, d.confidence) if both else (np.nan, np.nan)
        low, high = 2 * increase - high, 2 * increase - low
        result[name] = MetricGap(
            test_gap=_round(test_gap[name]),
            batch_gap=_round(batch_gap[name]),
            increase=_round(increase),
            increase_low=_round(low),
            increase_high=_round(high),
            max_gap_increase=f.max_gap_increase,
            batch={s: _round(v[name]) for s, v in zip(shared, on_batch, strict=True)},
            test={s: _round(v[name]) for s, v in zip(shared, on_test, strict=True)},
            flagged=bool(low > f.max_gap_increase),
        )
    return Fairness(column=column, confidence=d.confidence, metrics=result)


def _segments(y, p, segments, params: MonitorParams) -> dict:
    """{segment: (labels, scores)} for the segments large enough, with both classes, to be judged."""
    import numpy as np

    values, counts = np.unique(segments, return_counts=True)
    found = {}
    for value in values[counts >= params.fairness.min_rows]:  # at most rows / min_rows of them
        mask = segments == value
        positives = int(np.sum(y[mask] == 1))
        if min(positives, int(mask.sum()) - positives) >= params.decay.min_positives:
            found[str(value)] = (y[mask], p[mask])
    return found


def compare(
    reference, batch: Batch, model, test: dict, schema: Schema, params: MonitorParams, threshold: float
) -> DriftResult:
    """The whole check (pure: no file I/O). `test` is what `score_test` returns."""
    n = batch.features.num_rows
    rows = _sample(n, params.max_rows, params.seed)
    sample = batch.features.take(rows) if len(rows) < n else batch.features
    batch_scores = model.predict_proba(sample.to_pandas())[:, 1]
    features, score = judge(
        feature_drift(reference, batch.features, schema, params),
        score_drift(test["scores"], batch_scores, params),
        params,
    )
    found_decay, found_fairness = labelled_checks(batch, rows, batch_scores, test, schema, params, threshold)
    return DriftResult(
        features=features,
        score=score,
        decay=found_decay,
        fairness=found_fairness,
        rows=Rows(batch=n, scored=len(rows), reference=reference.num_rows, unlabelled=batch.unlabelled_rows),
        params=params,
    )


def labelled_checks(
    batch: Batch, rows, batch_scores, test: dict, schema: Schema, params: MonitorParams, threshold: float
) -> tuple[Decay, Fairness]:
    """Decay and fairness on the scored rows that have labels, or why they are not judged."""
    labelled = None if batch.labels is None else batch.labels[rows] >= 0
    if labelled is None or not labelled.any():
        no_labels = "the batch has no labels"
        return Decay(reason=no_labels), Fairness(reason=no_labels)
    y, p = batch.labels[rows][labelled], batch_scores[labelled]
    found = decay(y, p, test, threshold, params)
    if batch.segments is None or test["segments"] is None:
        reason = "no segment column" if schema.segment_column is None else f"no {schema.segment_column!r} values"
        return found, Fairness(reason=reason)
    if not found.computed:
        return found, Fairness(reason=found.reason)
    segments = batch.segments[rows][labelled]
    return found, fairness(y, p, segments, test, threshold, params, schema.segment_column)


def summary(result: DriftResult, name=str) -> str:
    """The verdict in one line; `name` formats feature names (`mlci.core.markdown.code` for Markdown)."""
    drifted = [e for e in result.features if e.drifted]
    named = ", ".join(f"{name(e.feature)} PSI {e.psi:.3f}" for e in drifted[:5])
    score = result.score
    parts = [
        f"{len(drifted)} of {len(result.features)} features drifted" + (f" ({named})" if drifted else ""),
        f"score PSI {score.psi:.3f}, p {_p(score.p_adjusted)}" + (" (drifted)" if score.drifted else ""),
    ]
    if result.decay.computed:
        decayed = [metric for metric, m in result.decay.metrics.items() if m.decayed]
        parts.append(f"decay in {', '.join(decayed)}" if decayed else "no decay")
    if result.fairness.flagged:
        parts.append("segment gaps widened")
    return f"{result.verdict.upper()}: " + "; ".join(parts)


def _p(value: float) -> str:
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def render(result: DriftResult, batch_name: str) -> str:
    from mlci.core.markdown import code
    from mlci.monitor.markdown import render as render_markdown

    return render_markdown(result, batch_name, summary(result, code))


def run(batch_path: Path, out: Path, params: MonitorParams) -> DriftResult:
    """Read everything, check, and write both reports (only once every input has been read and checked)."""
    from mlci.model.pipeline import load_model, set_openmp_wait_policy

    set_openmp_wait_policy()
    schema = Schema.load(paths.SCHEMA)
    table = read_table(batch_path)
    batch = prepare(table, schema, str(batch_path))
    model = load_model(paths.MODEL)
    reference = read_parquet(require(paths.TRAIN_SPLIT), columns=schema.features)
    test = read_test(schema)
    threshold = load_params().evaluate.threshold
    started = time.perf_counter()
    result = compare(reference, batch, model, score_test(model, test, params), schema, params, threshold)
    result = replace(result, seconds=round(time.perf_counter() - started, 2), batch=str(batch_path))
    write_json(out / "drift.json", result.to_json())
    write_bytes(out / "drift.md", render(result, str(batch_path)).encode())
    return result


def read_test(schema: Schema) -> dict:
    """The test split's features, labels and segments (as the batch's: text), and its recorded metrics."""
    import pyarrow as pa

    from mlci.core.frames import read_split

    X, y, _ = read_split(paths.TEST_SPLIT, schema)
    metrics = read_json(require(paths.METRICS))
    segments = None
    if schema.segment_column:
        column = read_parquet(paths.TEST_SPLIT, columns=[schema.segment_column]).column(schema.segment_column)
        segments = column.cast(pa.string()).fill_null(MISSING_SEGMENT).to_numpy(zero_copy_only=False)
    return {"features": X, "labels": y, "metrics": metrics, "segments": segments}


def score_test(model, test: dict, params: MonitorParams) -> dict:
    """`test` with the model's scores on a seeded sample of at most `monitor.max_rows` of its rows."""
    rows = _sample(len(test["labels"]), params.max_rows, params.seed + 2)
    features = test["features"].iloc[rows]
    segments = None if test["segments"] is None else test["segments"][rows]
    scores = model.predict_proba(features)[:, 1]
    return {**test, "labels": test["labels"][rows], "scores": scores, "segments": segments}


def _sample(n: int, size: int, seed: int):
    import numpy as np

    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False)) if n > size else np.arange(n)


def _round(value: float) -> float:
    return round(float(value), DIGITS) + 0.0  # + 0.0: never -0.0


@cli.command("drift")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlci.monitor.drift", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--batch", type=Path, metavar="PATH", help="a .csv, .parquet or .jsonl batch")
    source.add_argument("--serving-log", action="store_true", help="check monitor.serving_log")
    parser.add_argument("--out", type=Path, default=OUT, metavar="DIR", help="report folder (default reports/drift)")
    parser.add_argument("--print", action="store_true", help="print the verdict line and the Markdown report")
    args = parser.parse_args(argv)
    params = load_monitor_params()
    batch = args.batch
    if args.serving_log:
        batch = Path(params.serving_log)
        if not batch.is_file():
            print(f"no serving log at {batch} yet: nothing to check (set monitor.serving_log to another path)")
            return 0
    result = run(batch, args.out, params)
    if args.print:
        print(summary(result))
        print()
        print((args.out / "drift.md").read_text(encoding="utf-8"), end="")
    else:
        print(summary(result))
    return cli.EXIT_FAILED if result.retrain else 0


if __name__ == "__main__":
    raise SystemExit(main())
