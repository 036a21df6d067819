"""What the pull-request report shows, as plain data: gathered by `report`, drawn by `render` and `charts`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlci.evaluation.gate import GateResult
from mlci.evaluation.samerows import Comparison
from mlci.review.runcost import RunCost

if TYPE_CHECKING:
    from mlci.review.sweep_data import Sweep


@dataclass(frozen=True)
class Change:
    """A value at the base (`old`) and in the workspace (`new`); None where it does not exist."""

    old: Any
    new: Any


@dataclass(frozen=True)
class LockStatus:
    """Whether the committed `dvc.lock` describes what the workspace holds.

    `stale`: stages whose entry in the workspace's `dvc.lock` (written by the last `dvc repro`) differs from HEAD's;
    `unreproduced`: what `dvc status` reports as changed since that `dvc repro`.
    """

    committed: bool = True
    stale: list[str] = field(default_factory=list)
    unreproduced: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.committed and not self.stale and not self.unreproduced


@dataclass(frozen=True)
class Outputs:
    """One revision's plot data and data profile, as `evaluate` and `validate` wrote them (empty when absent)."""

    roc: list[dict] = field(default_factory=list)
    precision_recall: list[dict] = field(default_factory=list)
    calibration: list[dict] = field(default_factory=list)
    confusion: list[dict] = field(default_factory=list)
    importance: list[dict] = field(default_factory=list)
    profile: dict | None = None


@dataclass(frozen=True)
class SplitChange:
    """Whether the base and the head tested on the same rows: their test splits' sizes, and what changed them.

    None where it is unknown (the base's test split is in neither the DVC cache nor a remote, or no `dvc.lock`).
    """

    base_rows: int | None = None
    head_rows: int | None = None
    same: bool | None = None  # the two test splits are the same file (same hash in both dvc.lock files)
    params: list[str] = field(default_factory=list)  # the `split.*` params that changed
    data_changed: bool | None = None  # the data the split reads changed

    @property
    def differs(self) -> bool:
        return self.same is not True


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows. `base` is None when the base revision has no metrics yet (a first PR)."""

    metrics: dict[str, Change]
    segments: dict[str, dict[str, Change]]
    params: dict[str, Change]
    head: Outputs
    base: Outputs | None
    gate: GateResult
    lock: LockStatus
    noise_tolerance: float
    base_sha: str
    head_sha: str
    head_dirty: bool = False
    duration: float | None = None
    run_url: str | None = None
    comparison: Comparison | None = None  # the same-rows comparison, or why the committed metrics were compared
    split: SplitChange | None = None
    cost: RunCost | None = None  # what each stage's run cost (time, CPU, memory), head against base
    sweep: Sweep | None = None  # the pull request's sweep of experiments (`make sweep`), when it ran one
