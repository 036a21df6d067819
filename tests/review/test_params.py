"""The review capability's `sweep:` section: its bounds, its keys, and nothing declared when it is absent."""

from __future__ import annotations

import re

import pytest

from mlci.core.errors import ParamsError
from mlci.review.params import SweepParams, load_sweep_params


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_runs": 0}, "params.yaml: sweep.max_runs must be greater than or equal to 1; got 0."),
        ({"max_runs": 65}, "params.yaml: sweep.max_runs must be less than or equal to 64; got 65."),
        ({"metric": "accuracy"}, "params.yaml: sweep.metric must be 'roc_auc', 'average_precision',"),
        ({"grid": {"train.seed": []}}, "params.yaml: sweep.grid.train.seed List should have at least 1 item"),
        ({"grid": {"train.seed": [[1]]}}, "params.yaml: sweep.grid.train.seed.0"),
        ({"grids": {}}, "params.yaml: unknown key sweep.grids"),
    ],
)
def test_load_sweep_params__bad(write_params, section, message):
    write_params(sweep=section)

    with pytest.raises(ParamsError, match="^" + re.escape(message)):
        load_sweep_params()


def test_load_sweep_params__absent_is_nothing_declared(write_params):
    write_params(train={"model": "random_forest"})

    sweep = load_sweep_params()

    assert sweep == SweepParams() and not sweep.declared and sweep.max_runs == 8
