"""A sweep's points: the `sweep:` section's listed runs and grid expanded, each checked as `params.yaml` is checked.

Each point is a set of overrides of the pipeline's params (`train.model: random_forest`), validated with the same
models that validate `params.yaml` with the point applied, so a typo fails before anything runs; more points than
`sweep.max_runs` fail too. A point renders as the `-S key=value` arguments of `dvc exp run`.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mlci.core.errors import ParamsError
from mlci.core.params import PARAMS_FILE, Params, describe
from mlci.review.params import MAX_RUNS_BOUND, SweepParams, Value

# The sections the pipeline's stages read: the only ones whose change makes another model.
PIPELINE_SECTIONS = ("demo", "data", "validate", "split", "train", "evaluate")


@dataclass(frozen=True)
class Point:
    """One experiment: the params it overrides, in the order declared."""

    overrides: dict[str, Value]

    def describe(self) -> str:
        """`train.model=random_forest, train.seed=1`: what the report and the log call this point."""
        return ", ".join(f"{key}={render_value(value)}" for key, value in self.overrides.items())

    def set_args(self) -> list[str]:
        """The `-S key=value` arguments of `dvc exp run` for this point."""
        return [arg for key, value in self.overrides.items() for arg in ("-S", f"{key}={render_value(value)}")]


def render_value(value: Value) -> str:
    """A value as `dvc exp run -S` (Hydra's override grammar) reads it back: null, true, 0.05, a name or 'text'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    plain = value.replace("_", "").replace("-", "").replace(".", "").isalnum() and value[:1].isalpha()
    if plain and value.lower() not in {"null", "true", "false", "nan", "inf"}:
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def points(sweep: SweepParams, params: dict[str, Any], where: str = str(PARAMS_FILE)) -> list[Point]:
    """The sweep's points, `runs` first then the grid, each checked against `params` (the raw file) with it applied.

    `ParamsError` (one line, naming the key or the cap) when a key is not a pipeline param, a value is not allowed
    there, or there are more points than `max_runs`.
    """
    grid_size = 1
    for values in sweep.grid.values():
        grid_size *= len(values)
    total = len(sweep.runs) + (grid_size if sweep.grid else 0)
    if total > sweep.max_runs:
        shape = " x ".join(str(len(values)) for values in sweep.grid.values())
        grid = f"a {shape} grid" if len(sweep.grid) > 1 else f"a grid of {grid_size}"
        parts = ([f"{len(sweep.runs)} listed"] if sweep.runs else []) + ([grid] if sweep.grid else [])
        raise ParamsError(
            f"{where}: sweep has {total} runs ({' + '.join(parts)}), more than sweep.max_runs {sweep.max_runs}; "
            f"shrink the sweep or raise sweep.max_runs (at most {MAX_RUNS_BOUND})"
        )
    found = [Point(dict(run)) for run in sweep.runs]
    keys = list(sweep.grid)
    if sweep.grid:  # (the product of no lists is one empty combination)
        found += [Point(dict(zip(keys, combo, strict=True))) for combo in itertools.product(*sweep.grid.values())]
    for number, point in enumerate(found, start=1):
        if not point.overrides:
            raise ParamsError(f"{where}: sweep.runs[{number - 1}] is empty; give it at least one `key: value`")
        check(point, params, f"{where}: sweep run {number} ({point.describe()})")
    return found


def apply(params: dict[str, Any], point: Point, where: str) -> dict[str, Any]:
    """`params` (the raw file) with `point`'s overrides set; `ParamsError` for a key outside the pipeline's sections."""
    changed = copy.deepcopy(params)
    for key, value in point.overrides.items():
        parts = key.split(".")
        if parts[0] not in PIPELINE_SECTIONS or len(parts) < 2 or not all(parts):
            raise ParamsError(
                f"{where}: {key!r} is not a pipeline param; a sweep sets keys of {', '.join(PIPELINE_SECTIONS)} "
                "(e.g. train.model)"
            )
        node = changed
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ParamsError(
                    f"{where}: {'.'.join(parts[: depth + 1])} is a value, not a section; {key} is no param"
                )
            node = child
        node[parts[-1]] = value
    return changed


def check(point: Point, params: dict[str, Any], where: str) -> None:
    """Validate `params` with `point` applied, as `params.yaml` is validated; `ParamsError` naming the key."""
    try:
        Params.model_validate(apply(params, point, where))
    except ValidationError as exc:
        raise ParamsError(f"{where}: {describe(exc.errors()[0])}") from None
