"""A sweep's runs as plain data: written by `mlci.review.sweep`, read by the report, drawn by `sweep_render`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.core.errors import DataError
from mlci.core.metric_names import HIGHER_IS_BETTER


@dataclass(frozen=True)
class Score:
    """One gated metric of a run: its value, and on the same rows the base model's and the change's interval."""

    head: float | None
    base: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Run:
    """One row of the sweep: a point (or the pull request's own params, `name` None) and how it did."""

    number: int  # 0: the pull request's own params, as reproduced before the sweep
    name: str | None  # the experiment's name, for `dvc exp apply`
    params: dict[str, Any]
    own: bool  # the pull request's own params
    passed: bool | None = None  # by the base's gate; None when the run failed
    reasons: list[str] = field(default_factory=list)
    scores: dict[str, Score] = field(default_factory=dict)
    compared: str = "none"  # same_rows, committed (the base's committed metrics) or none (no baseline)
    rows: int | None = None  # the same rows compared on
    seconds: float | None = None
    ran: list[str] = field(default_factory=list)  # stages DVC ran for this point
    restored: list[str] = field(default_factory=list)  # stages it took from the run-cache
    error: str | None = None  # why the experiment failed, when it did

    def value(self, metric: str) -> float | None:
        score = self.scores.get(metric)
        return score.head if score else None


@dataclass(frozen=True)
class Sweep:
    """Every run of the sweep, the metric that ranks them and the gated metrics shown."""

    metric: str
    metrics: list[str]
    base_sha: str
    head_sha: str
    runs: list[Run]
    seconds: float

    def ranked(self) -> list[Run]:
        """Best first by `metric` (direction-aware); failed runs last, in their order."""
        higher = HIGHER_IS_BETTER[self.metric]
        done = [(value, run) for run in self.runs if (value := run.value(self.metric)) is not None]
        failed = [run for run in self.runs if run.value(self.metric) is None]
        return [run for _, run in sorted(done, key=lambda pair: -pair[0] if higher else pair[0])] + failed

    def best(self) -> Run | None:
        """The best-ranked run that the gate passes, or None."""
        return next((run for run in self.ranked() if run.passed), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sweep:
        runs = [
            Run(**{**run, "scores": {name: Score(**s) for name, s in run["scores"].items()}}) for run in data["runs"]
        ]
        return cls(**{**data, "runs": runs})


def read(path: Path) -> Sweep:
    """A `sweep.json` written by this module; `DataError` naming the file when it is absent or not one."""
    import json

    try:
        return Sweep.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DataError(f"{path} not found; run `make sweep` (python -m mlci.review.sweep) first") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{path} is not a sweep written by `make sweep` ({exc}); run it again") from None
