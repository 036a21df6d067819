"""What the drift check found, as plain data: made by `drift`, drawn by `markdown`, read back by `pullrequest`.

`DriftResult.to_json()` is `reports/drift/drift.json`, key for key, and `read` takes it back. The verdict and what
it rests on (`drifted_features`, `retrain`, `Decay.decayed`, `Fairness.flagged`, ...) follow from the judgements, so
they are written to the JSON but never read from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from mlci.core.errors import DataError
from mlci.monitor.params import MonitorParams

Severity = Literal["none", "moderate", "major"]
# The params that judge nothing: the JSON's `thresholds` leaves them out.
UNRECORDED = frozenset({"retrain", "serving_log"})


@dataclass(frozen=True)
class FeatureStats:
    """One feature, batch against the training data: PSI on the training data's bins, chi-square of the same counts.

    `unseen`: a categorical feature's values that training never saw (the first 10); None for a numeric feature.
    """

    feature: str
    kind: Literal["numeric", "categorical"]
    bins: int
    unseen: list[Any] | None
    psi: float
    chi2: float
    p_value: float


@dataclass(frozen=True)
class FeatureDrift(FeatureStats):
    """A feature judged: its p-value corrected with every other test's, and whether it drifted."""

    p_adjusted: float
    drifted: bool
    severity: Severity
    threshold: float  # the PSI it drifts at

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.unseen is None:
            del data["unseen"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureDrift:
        return cls(**{"unseen": None, **data})


@dataclass(frozen=True)
class ScoreStats:
    """The model's scores, batch against the test split: PSI on the test scores' bins and the two-sample KS test."""

    psi: float
    ks: float
    p_value: float
    test: ClassVar[str] = "kolmogorov_smirnov"


@dataclass(frozen=True)
class ScoreDrift(ScoreStats):
    """The scores judged, in one family of tests with the features."""

    p_adjusted: float
    drifted: bool
    severity: Severity
    threshold: float

    def to_json(self) -> dict[str, Any]:
        return {"psi": self.psi, "test": self.test, **{k: v for k, v in asdict(self).items() if k != "psi"}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScoreDrift:
        if data.get("test") != cls.test:
            raise ValueError(f"score test {data.get('test')!r}, not {cls.test!r}")
        return cls(**{k: v for k, v in data.items() if k != "test"})


@dataclass(frozen=True)
class MetricDecay:
    """One metric on the labelled batch against the test split, with bootstrap intervals of its value and drop."""

    test: float
    batch: float
    low: float
    high: float
    drop: float  # how much worse on the batch (direction-aware: positive is worse)
    drop_low: float
    drop_high: float
    max_drop: float
    decayed: bool  # even the low end of the drop's interval is above `max_drop`


@dataclass(frozen=True)
class Decay:
    """Performance on a labelled batch; `reason` says why it was not judged (no labels, too few of a class)."""

    reason: str | None = None
    rows: int | None = None
    positives: int | None = None
    confidence: float | None = None
    metrics: dict[str, MetricDecay] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        return self.reason is None

    @property
    def decayed(self) -> bool:
        return any(m.decayed for m in self.metrics.values())

    def to_json(self) -> dict[str, Any]:
        if not self.computed:
            return {"computed": False, "reason": self.reason, "decayed": False}
        metrics = {name: asdict(m) for name, m in self.metrics.items()}
        found = {"rows": self.rows, "positives": self.positives, "confidence": self.confidence, "metrics": metrics}
        return {"computed": True, **found, "decayed": self.decayed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decay:
        if not data["computed"]:
            return cls(reason=data["reason"])
        metrics = {name: MetricDecay(**m) for name, m in data["metrics"].items()}
        return cls(rows=data["rows"], positives=data["positives"], confidence=data["confidence"], metrics=metrics)


@dataclass(frozen=True)
class MetricGap:
    """One metric's gap between the best and the worst segment, on the batch against the test split."""

    test_gap: float
    batch_gap: float
    increase: float
    increase_low: float
    increase_high: float
    max_gap_increase: float
    batch: dict[str, float]  # the metric per segment
    test: dict[str, float]
    flagged: bool  # even the low end of the increase's interval is above `max_gap_increase`


@dataclass(frozen=True)
class Fairness:
    """Gaps between the segments of `column`; `reason` says why they were not judged."""

    reason: str | None = None
    column: str | None = None
    confidence: float | None = None
    metrics: dict[str, MetricGap] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        return self.reason is None

    @property
    def flagged(self) -> bool:
        return any(m.flagged for m in self.metrics.values())

    def to_json(self) -> dict[str, Any]:
        if not self.computed:
            return {"computed": False, "reason": self.reason, "flagged": False}
        metrics = {name: asdict(m) for name, m in self.metrics.items()}
        found = {"column": self.column, "confidence": self.confidence, "metrics": metrics}
        return {"computed": True, **found, "flagged": self.flagged}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fairness:
        if not data["computed"]:
            return cls(reason=data["reason"])
        metrics = {name: MetricGap(**m) for name, m in data["metrics"].items()}
        return cls(column=data["column"], confidence=data["confidence"], metrics=metrics)


@dataclass(frozen=True)
class Rows:
    batch: int
    scored: int  # the batch's rows the model scored: a sample of `monitor.max_rows` when larger
    reference: int  # the training rows
    unlabelled: int


@dataclass(frozen=True)
class DriftResult:
    """The whole check: `params` are the thresholds it judged by.

    `seconds` and `batch` are set once it has run on a file (`drift.run`); the JSON leaves them out until then.
    """

    features: list[FeatureDrift]  # by PSI, largest first
    score: ScoreDrift
    decay: Decay
    fairness: Fairness
    rows: Rows
    params: MonitorParams
    seconds: float | None = None
    batch: str | None = None

    @property
    def drifted_features(self) -> list[str]:
        return [e.feature for e in self.features if e.drifted]

    @property
    def alarms(self) -> list[str]:
        """What calls for retraining: drift (of a feature or the score), decay. Fairness alone does not."""
        drift = ["drift"] if self.drifted_features or self.score.drifted else []
        return [*drift, *(["decay"] if self.decay.decayed else [])]

    @property
    def verdict(self) -> str:
        return " and ".join(self.alarms) if self.alarms else "no drift"

    @property
    def retrain(self) -> bool:
        return bool(self.alarms)

    def to_json(self) -> dict[str, Any]:
        data = {
            "features": [e.to_json() for e in self.features],
            "score": self.score.to_json(),
            "decay": self.decay.to_json(),
            "fairness": self.fairness.to_json(),
            "drifted_features": self.drifted_features,
            "verdict": self.verdict,
            "retrain": self.retrain,
            "rows": asdict(self.rows),
            "thresholds": self.params.model_dump(exclude=set(UNRECORDED)),
        }
        ran = {"seconds": self.seconds, "batch": self.batch}
        return data | {key: value for key, value in ran.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriftResult:
        return cls(
            features=[FeatureDrift.from_json(e) for e in data["features"]],
            score=ScoreDrift.from_json(data["score"]),
            decay=Decay.from_json(data["decay"]),
            fairness=Fairness.from_json(data["fairness"]),
            rows=Rows(**data["rows"]),
            params=MonitorParams.model_validate(data["thresholds"]),
            seconds=data.get("seconds"),
            batch=data.get("batch"),
        )


def read(path: Path) -> DriftResult:
    """A `drift.json` the drift check wrote; `DataError` naming the file when it is absent or not one."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} not found; run the drift check (python -m mlci.monitor.drift) first") from None
    except ValueError as exc:
        raise DataError(f"{path} is not JSON ({exc}); run the drift check again") from None
    try:
        return DriftResult.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # pydantic's ValidationError is a ValueError
        problem = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise DataError(f"{path} is not a report of the drift check ({problem}); run the check again") from None
