"""A sweep's points (listed runs, then the grid), their validation, and the cap on their number."""

from __future__ import annotations

import pytest

from mlci.core.errors import ParamsError
from mlci.review.params import SweepParams
from mlci.review.sweep_grid import Point, points, render_value

RAW = {"train": {"model": "hist_gradient_boosting", "hist_gradient_boosting": {"learning_rate": 0.1}}}
GRID = {
    "train.model": ["logistic_regression", "hist_gradient_boosting"],
    "train.hist_gradient_boosting.learning_rate": [0.05, 0.1, 0.2],
}


def test_points__grid_is_every_combination_in_order():
    found = points(SweepParams(grid=GRID), RAW)

    assert [p.overrides for p in found] == [
        {"train.model": model, "train.hist_gradient_boosting.learning_rate": rate}
        for model in GRID["train.model"]
        for rate in (0.05, 0.1, 0.2)
    ]


def test_points__listed_runs_come_before_the_grid():
    sweep = SweepParams(runs=[{"train.model": "random_forest", "train.seed": 1}], grid={"train.seed": [2, 3]})

    found = points(sweep, RAW)

    assert [p.overrides for p in found] == [
        {"train.model": "random_forest", "train.seed": 1},
        {"train.seed": 2},
        {"train.seed": 3},
    ]


def test_points__listed_runs_alone():
    sweep = SweepParams(runs=[{"train.seed": 1}, {"train.model": "random_forest"}])

    assert [p.overrides for p in points(sweep, RAW)] == [{"train.seed": 1}, {"train.model": "random_forest"}]


def test_points__set_args_for_dvc_exp_run():
    point = Point({"train.model": "random_forest", "train.class_weight": None, "data.csv.delimiter": ";"})

    assert point.set_args() == [
        "-S", "train.model=random_forest", "-S", "train.class_weight=null", "-S", "data.csv.delimiter=';'",
    ]  # fmt: skip
    assert point.describe() == "train.model=random_forest, train.class_weight=null, data.csv.delimiter=';'"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (0.05, "0.05"),
        (200, "200"),
        ("balanced", "balanced"),
        ("null", "'null'"),
        ("42", "'42'"),
        ("it's", "'it\\'s'"),
        ("", "''"),
    ],
)
def test_render_value__as_hydra_reads_it_back(value, text):
    assert render_value(value) == text


def test_points__at_the_cap_is_allowed():
    assert len(points(SweepParams(grid={"train.seed": list(range(8))}), RAW)) == 8


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            {"grid": {"train.model": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
                      "train.seed": [1, 2, 3]}},
            "params.yaml: sweep has 9 runs (a 3 x 3 grid), more than sweep.max_runs 8; shrink the sweep or raise "
            "sweep.max_runs (at most 64)",
        ),
        (
            {"runs": [{"train.seed": 1}], "grid": {"train.seed": [2, 3]}, "max_runs": 2},
            "params.yaml: sweep has 3 runs (1 listed + a grid of 2), more than sweep.max_runs 2;",
        ),
        (
            {"grid": {"train.modle": ["random_forest"]}},
            "params.yaml: sweep run 1 (train.modle=random_forest): unknown key train.modle; allowed keys here: "
            "class_weight, engine,",
        ),
        (
            {"runs": [{"train.model": "svm"}]},
            "params.yaml: sweep run 1 (train.model=svm): train.model must be 'logistic_regression', "
            "'random_forest' or 'hist_gradient_boosting'; got 'svm'.",
        ),
        (
            {"grid": {"train.hist_gradient_boosting.learning_rate": [0.1, 2.0]}},
            "params.yaml: sweep run 2 (train.hist_gradient_boosting.learning_rate=2.0): "
            "train.hist_gradient_boosting.learning_rate must be less than or equal to 1; got 2.0.",
        ),
        (
            {"runs": [{"gate.noise": "tolerance"}]},
            "params.yaml: sweep run 1 (gate.noise=tolerance): 'gate.noise' is not a pipeline param; a sweep sets "
            "keys of demo, data, validate, split, train, evaluate (e.g. train.model)",
        ),
        (
            {"runs": [{"train": "x"}]},
            "params.yaml: sweep run 1 (train=x): 'train' is not a pipeline param",
        ),
        (
            {"runs": [{"train.model.name": "x"}]},
            "params.yaml: sweep run 1 (train.model.name=x): train.model is a value, not a section; "
            "train.model.name is no param",
        ),
        ({"runs": [{}]}, "params.yaml: sweep.runs[0] is empty; give it at least one `key: value`"),
    ],
)  # fmt: skip
def test_points__bad(sweep, message):
    with pytest.raises(ParamsError) as caught:
        points(SweepParams.model_validate(sweep), RAW)

    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
