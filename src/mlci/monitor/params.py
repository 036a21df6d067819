"""The `monitor:` section of `params.yaml`, validated here (through `load_section`), so no pipeline stage reads it.

Changing a drift threshold or the retrain policy therefore re-runs nothing; `python -m mlci.monitor.drift` and
`python -m mlci.monitor.intake` read it when they run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlci.core.metric_names import MetricName
from mlci.core.params import PARAMS_FILE, Section, load_section

Share = Annotated[float, Field(gt=0, lt=1)]


class DriftParams(Section):
    """Data drift per feature and in the model's scores."""

    bins: Annotated[int, Field(ge=2, le=100)] = 10  # numeric features: bins on the reference's quantiles
    psi: Annotated[float, Field(gt=0)] = 0.1  # a feature (or the score) drifts at or above this PSI
    psi_major: Annotated[float, Field(gt=0)] = 0.25  # ... and the shift is called major at or above this one
    psi_floor: Annotated[float, Field(gt=0, lt=0.01)] = 1.0e-4  # share given to an empty bin, so PSI stays finite
    alpha: Share = 0.01  # p-value (features: chi-square; score: Kolmogorov-Smirnov), corrected over all of them
    correction: Literal["benjamini_hochberg", "bonferroni"] = "benjamini_hochberg"

    @model_validator(mode="after")
    def _major_above_moderate(self) -> DriftParams:
        if self.psi_major < self.psi:
            raise ValueError(f"psi_major ({self.psi_major}) must be at least psi ({self.psi})")
        return self


class DecayParams(Section):
    """Performance on a labelled batch against the test metrics (concept drift)."""

    max_drop: dict[MetricName, Annotated[float, Field(ge=0)]] = {"roc_auc": 0.05, "average_precision": 0.05}
    bootstrap: Annotated[int, Field(ge=20, le=10_000)] = 200
    confidence: Share = 0.95
    min_positives: Annotated[int, Field(ge=1)] = 10  # fewer labels of a class (batch, test split): not judged


class FairnessParams(Section):
    """Gaps between the segments of `data.segment_column`, on the batch against the test split.

    Bootstrapped with `decay.bootstrap` replicates at `decay.confidence`; a segment needs `decay.min_positives` labels
    of each class.
    """

    metrics: list[MetricName] = ["roc_auc", "recall"]
    max_gap_increase: Annotated[float, Field(ge=0)] = 0.05
    min_rows: Annotated[int, Field(ge=1)] = 200  # smaller segments are left out


class RetrainParams(Section):
    """How a batch joins the training data when drift or decay calls for retraining."""

    policy: Literal["append", "window"] = "append"
    window_rows: Annotated[int, Field(ge=100)] | None = None  # window: keep the latest rows ...
    window_days: Annotated[int, Field(ge=1)] | None = None  # ... or the latest days of data.time_column

    @model_validator(mode="after")
    def _window_has_a_size(self) -> RetrainParams:
        sizes = (self.window_rows is not None) + (self.window_days is not None)
        if self.policy == "window" and sizes != 1:
            raise ValueError("policy window needs exactly one of window_rows and window_days")
        if self.policy == "append" and sizes:
            raise ValueError("window_rows and window_days apply only to policy window")
        return self


class MonitorParams(Section):
    max_rows: Annotated[int, Field(ge=1000)] = 100_000  # scores, decay and fairness use a sample of this many rows
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    serving_log: str = "logs/predictions.jsonl"  # what `make monitor` checks
    drift: DriftParams = DriftParams()
    decay: DecayParams = DecayParams()
    fairness: FairnessParams = FairnessParams()
    retrain: RetrainParams = RetrainParams()


def load_monitor_params(path: Path | str = PARAMS_FILE) -> MonitorParams:
    """The validated `monitor:` section; `ParamsError` naming the key on a bad value or an unknown key."""
    return load_section("monitor", MonitorParams, path)
