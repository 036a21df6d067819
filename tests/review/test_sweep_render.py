"""The sweep's data (`sweep.json`) and its section of the report: ranking, the apply command, the chart, the limit."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from mlci.core.errors import DataError
from mlci.core.markdown import GITHUB_BODY_LIMIT
from mlci.review import sweep as sweep_module
from mlci.review.render import fit, render
from mlci.review.sweep import Run, Score, Sweep, own_params
from mlci.review.sweep_render import markdown
from report_fixtures import fixture_data, mermaid_blocks, table_row

BASE = "11ca687b2c09527b881eb8b04db9415a7a014137"  # pragma: allowlist secret (a commit SHA)
HEAD = "5e0f3d2c8a4b19e7f6a0c3d2b1e4f5a6978c0d1e"  # pragma: allowlist secret (a commit SHA)


def run(number: int, ap: float | None, passed: bool | None = True, **fields) -> Run:
    """A run scored on the same 600 rows as a base model with average precision 0.25 and ROC AUC 0.80."""
    scores = {}
    if ap is not None:
        scores = {
            "average_precision": Score(ap, 0.25, ap - 0.25 - 0.03, ap - 0.25 + 0.03),
            "roc_auc": Score(0.8 + (ap - 0.25) / 2, 0.8, -0.01, 0.02),
        }
    defaults = {
        "name": f"sweep-5e0f3d2-{number}" if number else None,
        "params": {"train.model": "random_forest", "train.seed": number} if number else {},
        "own": number == 0,
        "passed": passed,
        "scores": scores,
        "compared": "same_rows",
        "rows": 600,
        "seconds": 10.0 + number if number else None,
        "ran": ["train", "evaluate"] if number else [],
    }
    return Run(number, **{**defaults, **fields})


def a_sweep(*runs: Run, metric: str = "average_precision") -> Sweep:
    return Sweep(metric, [metric, "roc_auc"], BASE, HEAD, list(runs), 75.0)


def rows_of(text: str) -> list[str]:
    """The table's rows, each as its run cell (backslash escapes and bold removed)."""
    ranks = re.findall(r"^\| (\d+) \|", text, flags=re.MULTILINE)
    return [table_row(text, rank)[1].replace("**", "") for rank in ranks]


def test_ranked__best_first_failed_last():
    sweep = a_sweep(run(0, 0.26), run(1, 0.30), run(2, None, passed=None, error="boom"), run(3, 0.28))

    assert [r.number for r in sweep.ranked()] == [1, 3, 0, 2]


def test_ranked__lower_is_better_metric_ascends():
    runs = [replace(run(n, 0.3), scores={"log_loss": Score(loss)}) for n, loss in ((1, 0.2), (2, 0.1), (3, 0.3))]

    assert [r.number for r in a_sweep(*runs, metric="log_loss").ranked()] == [2, 1, 3]


def test_best__skips_runs_the_gate_fails():
    sweep = a_sweep(run(1, 0.40, passed=False), run(2, 0.30), run(3, 0.35))

    assert sweep.best().number == 3


def test_markdown__ranked_table_apply_command_and_chart():
    sweep = a_sweep(run(0, 0.26), run(1, 0.30), run(2, 0.20, passed=False), run(3, 0.28))

    text = markdown(sweep)

    assert text.startswith("### Sweep: 3 runs ranked by average_precision ↑")
    assert "on the same 600 test rows (base model: average_precision 0.2500, roc_auc 0.8000)" in text
    assert rows_of(text) == ["#1", "#3", "this pull request", "#2"]
    first = table_row(text, "1")
    assert first[2] == "`train.model=random_forest, train.seed=1`"
    assert first[3] == "0.3000 (+0.0500 [+0.0200, +0.0800])"
    assert first[5:] == ["passed", "11.0 s", "train, evaluate"]
    assert table_row(text, "4")[5] == "**failed**"
    assert table_row(text, "3")[1:3] == ["**this pull request**", "its own"]
    assert "**Best run that passes the gate: #1** (`train.model=random_forest, train.seed=1`)" in text
    assert "```sh\ndvc exp apply sweep-5e0f3d2-1\n```" in text
    assert "`dvc exp run -S train.model=random_forest -S train.seed=1`" in text
    (chart,) = mermaid_blocks(text)
    assert 'x-axis ["#1", "#3", "PR", "#2"]' in chart
    assert "bar [0.3, 0.28, 0.26, 0.2]" in chart
    assert "line [0.25, 0.25, 0.25, 0.25]" in chart
    assert re.search(r'y-axis "average_precision" 0\.1\d* --> 0\.3\d*', chart), chart


def test_markdown__a_point_with_the_pull_request_s_params_is_marked():
    sweep = a_sweep(run(1, 0.30, own=True), run(2, 0.20))

    text = markdown(sweep)

    assert table_row(text, "1")[1] == "**#1 (this pull request's params)**"
    assert (
        "**Best run that passes the gate: #1** (`train.model=random_forest, train.seed=1`, this pull request's own"
        in text
    )


def test_markdown__own_params_best_and_failed_run():
    sweep = a_sweep(run(0, 0.31), run(1, None, passed=None, error="ERROR: failed to reproduce 'train'|x"))

    text = markdown(sweep)

    assert "**This pull request's own params rank first** among the runs that pass the gate." in text
    assert "dvc exp apply" not in text
    failed = table_row(text, "2")
    assert failed[3:5] == ["–", "–"]
    assert failed[5] == "run failed: ERROR: failed to reproduce 'train'|x", "escaped: the pipe stays in its cell"


def test_markdown__no_run_passes():
    assert "**No run passes the gate.**" in markdown(a_sweep(run(1, 0.3, passed=False)))


def test_markdown__committed_metrics_and_no_baseline():
    committed = replace(run(1, 0.3), compared="committed", scores={"average_precision": Score(0.3, 0.25)})
    first = replace(run(2, 0.3), compared="none", scores={"average_precision": Score(0.3)})

    assert table_row(markdown(a_sweep(committed)), "1")[3] == "0.3000 (+0.0500)"
    assert "base's committed metrics" in markdown(a_sweep(committed))
    assert table_row(markdown(a_sweep(first)), "1")[3] == "0.3000"
    assert "The base has no metrics yet" in markdown(a_sweep(first))


def test_json__round_trip(tmp_path):
    sweep = a_sweep(run(0, 0.26), run(1, 0.30), run(2, None, passed=None, error="boom"))
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep.to_json()))

    assert sweep_module.read(path) == sweep


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found; run `make sweep` (python -m mlci.review.sweep) first"),
        ("{", "is not a sweep written by `make sweep`"),
        ('{"metric": "roc_auc"}', "is not a sweep written by `make sweep`"),
    ],
)
def test_read__bad(tmp_path, content, message):
    path = tmp_path / "sweep.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(DataError, match=re.escape(message)):
        sweep_module.read(path)


@pytest.mark.parametrize(
    ("point", "own"),
    [
        ({"train.model": "hist_gradient_boosting"}, True),
        ({"train.model": "hist_gradient_boosting", "train.hist_gradient_boosting.learning_rate": 0.1}, True),
        ({"train.model": "random_forest"}, False),
        ({"train.class_weight": None}, True),
        ({"train.seed": 1.0}, True),
        ({"train.hist_gradient_boosting.early_stopping": 1}, False),
        ({"train.missing.key": 1}, False),
    ],
)
def test_own_params(point, own):
    params = {
        "train": {
            "model": "hist_gradient_boosting",
            "class_weight": None,
            "seed": 1,
            "hist_gradient_boosting": {"learning_rate": 0.1, "early_stopping": True},
        }
    }

    assert own_params(point, params) is own


def test_report__sweep_section_after_the_params():
    sweep = a_sweep(run(0, 0.26), run(1, 0.30))

    text = render(fixture_data(sweep=sweep))

    assert text.index("### Params changed") < text.index("### Sweep: 1 runs") < text.index("### Data")
    assert "dvc exp apply sweep-5e0f3d2-1" in text
    assert "### Sweep" not in render(fixture_data())


def test_fit__sweep_is_trimmed_before_the_metrics_and_kept_whole_in_the_full_report():
    runs = [run(0, 0.25)] + [replace(run(n, 0.2 + n / 1e5), params={f"train.k{i}": "x" * 40 for i in range(8)})
                             for n in range(1, 200)]  # fmt: skip
    data = fixture_data(sweep=a_sweep(*runs))

    comment, full = fit(data), render(data)

    assert len(full) > GITHUB_BODY_LIMIT and len(comment) < GITHUB_BODY_LIMIT
    assert full.count("| `train.k0=") == 199
    assert table_row(comment, "roc_auc ↑")[3] == "-0.0137", "the metrics table is kept whole"
    kept = comment.count("| `train.k0=")
    assert kept < 199
    assert f"_{200 - kept} more runs in the full report._" in comment or "### Sweep: 199 runs ranked" in comment
