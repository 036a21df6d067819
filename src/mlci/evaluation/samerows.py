"""Base and head models judged on the same rows: the head's test split, less any row the base model trained on.

A change to the data, the split or the features changes the test rows, so the base's committed metrics were measured
on other rows than the head's and the two numbers cannot be compared. Here the base revision's model (fetched by
`evaluation.baseline`) scores the head's test rows beside the head's model, each at its own threshold, and each
metric's change gets a paired interval (`evaluation.paired`), overall and per segment. The pull-request report, the
gate's command line, the retrain workflow and deploy's champion vs challenger all go through `compare`.

When the base model cannot be had or cannot read the head's rows, `same_rows` returns `Committed` with the one-line
reason, and the gate falls back to the base's committed metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlci.core import paths
from mlci.core.params import EvaluateParams, GateParams
from mlci.evaluation import predictions
from mlci.evaluation.metrics import DIGITS, largest_segments, segment_values
from mlci.evaluation.paired import Interval, compare_scores


@dataclass(frozen=True)
class MetricChange:
    """One metric of both models on the same rows, and the interval of head minus base (None: not computable)."""

    base: float
    head: float
    interval: Interval | None = None


@dataclass(frozen=True)
class SegmentChange:
    rows: int
    positives: int
    metrics: dict[str, MetricChange] = field(default_factory=dict)


@dataclass(frozen=True)
class SameRows:
    """The comparison on the same rows.

    `rows` were compared, of the head's `test_rows`; `excluded` were left out because the base model trained on them.
    """

    rows: int
    metrics: dict[str, MetricChange]
    segments: dict[str, SegmentChange]
    thresholds: tuple[float, float]  # (head, base)
    confidence: float
    method: str
    test_rows: int | None = None
    excluded: int = 0
    exclusion_note: str | None = None  # why the base's training rows could not be checked, when they could not
    base_source: str | None = None
    base_md5: str | None = None
    kind: str = "same_rows"

    @property
    def head(self) -> dict[str, float]:
        return {name: change.head for name, change in self.metrics.items()}

    @property
    def base(self) -> dict[str, float]:
        return {name: change.base for name, change in self.metrics.items()}

    def describe(self) -> str:
        """One line: what was compared on which rows."""
        text = f"base and head models scored on the same {self.rows:,} test rows"
        if self.excluded:
            text += f" (the head's {self.test_rows:,}, less {self.excluded:,} the base model trained on)"
        elif self.exclusion_note:
            text += f" (rows the base model trained on could not be left out: {self.exclusion_note})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": None,
            "note": self.describe(),
            "rows": self.rows,
            "test_rows": self.test_rows,
            "excluded_rows": self.excluded,
            "exclusion_note": self.exclusion_note,
            "thresholds": {"head": self.thresholds[0], "base": self.thresholds[1]},
            "interval": {"confidence": self.confidence, "method": self.method},
            "base_model": {"source": self.base_source, "md5": self.base_md5},
            "metrics": {name: _change_json(c) for name, c in self.metrics.items()},
            "segments": {
                name: {"rows": s.rows, "positives": s.positives} | {m: _change_json(c) for m, c in s.metrics.items()}
                for name, s in self.segments.items()
            },
        }


@dataclass(frozen=True)
class Committed:
    """No same-rows comparison: the gate compares with the base's committed metrics, and `reason` says why."""

    reason: str
    kind: str = "committed"
    cause: str = "unavailable"

    def describe(self) -> str:
        return f"compared with the base's committed metrics, measured on its own test rows: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "cause": self.cause, "note": self.describe()}


Comparison = SameRows | Committed


def _change_json(change: MetricChange) -> dict[str, Any]:
    interval = change.interval.to_json() if change.interval else None
    return {"base": change.base, "head": change.head, "interval": interval}


def compare(
    y: np.ndarray,
    p_head: np.ndarray,
    p_base: np.ndarray,
    thresholds: tuple[float, float],
    gate: GateParams,
    segments: np.ndarray | None = None,
    evaluate: EvaluateParams | None = None,
) -> SameRows:
    """Score both models' probabilities on the same rows, overall and per segment, with intervals. Pure."""
    evaluate = evaluate or EvaluateParams()
    y = np.asarray(y).astype(int)
    overall = _changes(y, p_head, p_base, thresholds, gate)
    by_segment = {}
    if segments is not None:
        for value, mask in largest_segments(segments, evaluate.min_segment_rows, evaluate.max_segments):
            changes = _changes(y[mask], p_head[mask], p_base[mask], thresholds, gate)
            by_segment[value] = SegmentChange(int(mask.sum()), int(y[mask].sum()), changes)
    return SameRows(
        rows=len(y),
        metrics=overall,
        segments=by_segment,
        thresholds=thresholds,
        confidence=gate.interval.confidence,
        method=gate.interval.method,
        test_rows=len(y),
    )


def _changes(
    y: np.ndarray, p_head: np.ndarray, p_base: np.ndarray, thresholds: tuple[float, float], gate: GateParams
) -> dict[str, MetricChange]:
    settings = gate.interval
    head, base, found = compare_scores(
        y, p_head, p_base, thresholds, settings.confidence, settings.method, settings.resamples, settings.seed
    )
    # Rounded as `evaluate` rounds what it writes, so the head's numbers here match its metrics.json.
    return {name: MetricChange(round(base[name], DIGITS), round(head[name], DIGITS), found[name]) for name in head}


def same_rows(base_sha: str, gate: GateParams, evaluate: EvaluateParams | None = None) -> Comparison:
    """The base revision's model and the workspace's, on the workspace's test split; or why that cannot be done.

    Reads `models/model.skops`, `data/split/test.parquet` and `data/validated/schema.json` in the workspace (what
    `dvc repro` just produced), and the base's model and training split through `evaluation.baseline`.
    """
    from mlci.core.io import read_parquet, require
    from mlci.core.schema import Schema
    from mlci.evaluation.baseline import Unavailable, fetch_base
    from mlci.model.pipeline import load_model

    absent = [str(path) for path in (paths.SCHEMA, paths.TEST_SPLIT, paths.MODEL) if not path.is_file()]
    if absent:
        return Committed(f"the workspace has no {', '.join(absent)} to score (run `dvc repro` first)", cause="head")
    schema = Schema.load()
    base = fetch_base(base_sha, schema.target)
    if isinstance(base, Unavailable):
        return Committed(base.reason, cause=base.kind)
    if not base.features:
        return Committed("the base model does not record which fields it reads", cause="unreadable")
    test = read_parquet(require(paths.TEST_SPLIT)).to_pandas()
    missing = [name for name in base.features if name not in test.columns]
    if missing:
        return Committed(
            f"the base model reads fields the head's test split no longer has ({', '.join(missing)})", cause="fields"
        )
    keep, excluded = _new_to_base(test, base.train, [*base.features, schema.target])
    rows = test[keep] if excluded else test
    y = rows[schema.target].to_numpy().astype(int)
    if len(y) < 2 or y.min() == y.max():
        return Committed(
            f"only {len(rows):,} of the head's {len(test):,} test rows are new to the base model, too few to "
            "compare on (both classes are needed)",
            cause="overlap",
        )
    kept = predictions.load(paths.MODEL, paths.TEST_SPLIT)  # what `evaluate` scored, if these are its files
    with _predict_threads(len(rows)):
        if kept is not None:
            p_head = kept[keep] if excluded else kept
        else:
            p_head = load_model(paths.MODEL).predict_proba(rows[schema.features])[:, 1]
        try:
            p_base = base.model.predict_proba(rows[base.features])[:, 1]
        except Exception as exc:  # noqa: BLE001  # another revision's model may fail on today's columns in many ways
            return Committed(f"the base model could not score the head's test rows ({exc})", cause="fields")
    head_threshold = (evaluate or EvaluateParams()).threshold
    segments = segment_values(rows[schema.segment_column]) if schema.segment_column in rows else None
    result = compare(y, p_head, p_base, (head_threshold, base.threshold), gate, segments, evaluate)
    return replace(
        result,
        test_rows=len(test),
        excluded=excluded,
        exclusion_note=base.train_note,
        base_source=base.source,
        base_md5=base.md5,
    )


def _predict_threads(rows: int) -> Any:
    """One OpenMP thread below the size where more pay (as `evaluate`'s small predictions), all cores above it."""
    from threadpoolctl import threadpool_limits

    from mlci.model.pipeline import MIN_ROWS_FOR_FIT_THREADS, SMALL_PREDICT_THREADS

    return threadpool_limits(limits=None if rows >= MIN_ROWS_FOR_FIT_THREADS else SMALL_PREDICT_THREADS)


def _new_to_base(test: Any, train: Any | None, columns: list[str]) -> tuple[np.ndarray, int]:
    """Which test rows the base's training split does not hold (same values in `columns`), and how many it does."""
    if train is None:
        return np.ones(len(test), dtype=bool), 0
    shared = [name for name in dict.fromkeys(columns) if name in test.columns and name in train.columns]
    if not shared:
        return np.ones(len(test), dtype=bool), 0
    known = np.sort(_row_hashes(train[shared]))
    hashes = _row_hashes(test[shared])
    at = np.minimum(np.searchsorted(known, hashes), len(known) - 1)  # one sort of the training rows, then lookups
    seen = (known[at] == hashes) if len(known) else np.zeros(len(hashes), dtype=bool)
    return ~seen, int(seen.sum())


def _row_hashes(frame: Any) -> np.ndarray:
    """A 64-bit hash of each row's values, the same for equal values whatever the column's dtype in each file."""
    import pandas as pd

    normal = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            normal[name] = column.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(column):
            normal[name] = column.astype("int64")
        else:  # hashed by value through its categories: fast, and the same for text or categorical columns
            normal[name] = column.astype("category")
    hashes: np.ndarray = pd.util.hash_pandas_object(pd.DataFrame(normal), index=False).to_numpy()
    return hashes
