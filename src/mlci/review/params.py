"""The review capability's section of `params.yaml`: `sweep:`, the experiments a pull request asks CI to run.

No stage reads it (it is validated here, through `load_section`), so declaring or editing a sweep re-runs nothing.
A sweep is a list of parameter sets (`runs`), a grid (`grid`: every combination of its values), or both; each point
is a set of overrides of the pipeline's params (`train.model: random_forest`), which `sweep_grid` expands and checks
against the models that validate `params.yaml`. `max_runs` caps the number of points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from mlci.core.metric_names import MetricName
from mlci.core.params import PARAMS_FILE, Section, load_section

Value = str | int | float | bool | None
MAX_RUNS_BOUND = 64


class SweepParams(Section):
    """Which experiments to run, how many at most, and the metric that ranks them."""

    metric: MetricName = "average_precision"  # ranks the runs (direction-aware) and is charted
    max_runs: Annotated[int, Field(ge=1, le=MAX_RUNS_BOUND)] = 8
    runs: list[dict[str, Value]] = []  # each: {"train.model": "random_forest", ...}
    grid: dict[str, Annotated[list[Value], Field(min_length=1)]] = {}  # every combination of these values

    @property
    def declared(self) -> bool:
        return bool(self.runs or self.grid)


def load_sweep_params(path: Path | str = PARAMS_FILE) -> SweepParams:
    """The validated `sweep:` section (empty when absent); `ParamsError` naming the key on a bad value."""
    return load_section("sweep", SweepParams, path)
