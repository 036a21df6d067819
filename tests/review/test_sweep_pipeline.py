"""`make sweep` end to end: a 2 x 3 grid on a small demo project, run as DVC experiments in a real repository."""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml

from projectkit import UP_TO_DATE, commit, dvc, edit_params, git, head, new_project, run, stages_run

pytestmark = pytest.mark.slow

SMALL = {
    "demo": {"n_rows": 3000},
    "train": {"hist_gradient_boosting": {"max_iter": 50}},
    "evaluate": {"importance_repeats": 1},
    "gate": {"floors": {"roc_auc": 0.6, "average_precision": 0.1}},
}
# Six models that all differ: the family, and how many categories each keeps before grouping the rest.
GRID = {"train.model": ["hist_gradient_boosting", "random_forest"], "train.max_categories": [2, 5, 30]}
SHARED = ("generate", "ingest", "validate", "split")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """Main with its results; a branch declaring the grid; `python -m mlci.review.sweep --base main` run on it."""
    root = new_project(tmp_path_factory.mktemp("sweep") / "project", params=SMALL)
    dvc(root, "repro", "--quiet")
    commit(root, "results")
    git(root, "checkout", "--quiet", "-b", "sweep")
    edit_params(root, {"sweep": {"grid": GRID}})
    commit(root, "Declare a sweep")
    status = dvc(root, "status").stdout
    record = root / ".mlci" / "cost" / "train.json"  # what the head's own run recorded (stages write these)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text('{"wall_seconds": 1.0}')
    done = run(root, sys.executable, "-m", "mlci.review.sweep", "--base", "main", combined=False)
    return root, status, done


def test_sweep__declaring_it_re_runs_nothing(swept):
    _, status, _ = swept

    assert UP_TO_DATE in status


def test_sweep__six_ranked_runs_and_the_apply_command(swept):
    root, _, done = swept
    sweep = json.loads((root / "report" / "sweep.json").read_text())
    table = done.stdout

    runs = [r for r in sweep["runs"] if r["number"]]
    assert len(runs) == 6 and len(sweep["runs"]) == 6, "a point holds the branch's own params, so no extra row"
    assert [r["params"] for r in runs] == [
        {"train.model": model, "train.max_categories": n} for model in GRID["train.model"] for n in (2, 5, 30)
    ]
    assert [r["own"] for r in runs] == [False, False, True, False, False, False]
    assert all(r["compared"] == "same_rows" and r["passed"] is not None for r in runs)
    values = [r["scores"]["average_precision"]["head"] for r in runs]
    assert len(set(values)) == 6, f"each point makes another model: {values}"
    ranks = re.findall(r"^\| (\d) \| \*{0,2}#(\d)", table, flags=re.MULTILINE)
    assert [int(rank) for rank, _ in ranks] == [1, 2, 3, 4, 5, 6]
    by_number = {r["number"]: r["scores"]["average_precision"]["head"] for r in runs}
    ranked = [by_number[int(number)] for _, number in ranks]
    assert ranked == sorted(ranked, reverse=True)
    best = next(int(number) for _, number in ranks if next(r for r in runs if r["number"] == int(number))["passed"])
    name = f"sweep-{head(root)[:7]}-{best}"
    assert f"dvc exp apply {name}" in table
    assert "**#3 (this pull request's params)**" in table
    assert "```mermaid" in table


def test_sweep__shared_stages_run_once(swept):
    root, _, done = swept
    sweep = json.loads((root / "report" / "sweep.json").read_text())

    ran = stages_run(done.stderr)
    assert not set(SHARED) & set(ran), f"the stages every point shares never run again: {ran}"
    assert ran.count("train") == 5, "the point with the branch's own params takes its model from the run-cache"
    assert ran.count("evaluate") == 6
    own = next(r for r in sweep["runs"] if r["own"])
    assert own["restored"] == ["train"] and own["ran"] == ["evaluate"]


def test_sweep__a_point_run_warm_writes_what_dvc_repro_wrote(swept):
    """The stages of every point start from a warm server (`stages/helpers/forkserver.py`): same outputs as usual."""
    root, _, _ = swept
    sweep = json.loads((root / "report" / "sweep.json").read_text())
    own = next(r for r in sweep["runs"] if r["own"])
    refs = git(root, "for-each-ref", "--format=%(refname)", "refs/exps").split()
    ref = next(ref for ref in refs if ref.endswith("/" + own["name"]))

    for path in ("reports/eval/metrics.json", "reports/eval/plots/feature_importance.json", "dvc.lock"):
        assert git(root, "show", f"{ref}:{path}") == (root / path).read_text(), path


def test_sweep__puts_the_workspace_back(swept):
    root, _, _ = swept

    assert git(root, "status", "--porcelain", "--untracked-files=no") == ""
    assert UP_TO_DATE in dvc(root, "status").stdout
    assert (root / ".mlci" / "cost" / "train.json").read_text() == '{"wall_seconds": 1.0}', "the head's record"
    names = dvc(root, "exp", "list", "--names-only").stdout.split()
    assert sorted(names) == sorted(f"sweep-{head(root)[:7]}-{n}" for n in range(1, 7))


def test_sweep__report_section_and_apply(swept):
    root, _, done = swept
    command = [sys.executable, "-m", "mlci.review.report", "--base", "main", "--no-png", "--sweep", "report/sweep.json"]

    run(root, *command)

    report = (root / "report" / "report.md").read_text()
    section = report[report.index("### Sweep: 6 runs ranked by average_precision") :]
    assert section.split("\n\n### ")[0].split("|---:|", 1)[1].count("\n| ") == 6
    apply = re.search(r"dvc exp apply (sweep-\w+-\d)", report).group(1)
    assert apply in done.stdout
    dvc(root, "exp", "apply", apply)
    params = yaml.safe_load((root / "params.yaml").read_text())
    best = json.loads((root / "report" / "sweep.json").read_text())["runs"][int(apply.rsplit("-", 1)[1]) - 1]
    assert params["train"]["model"] == best["params"]["train.model"]
    assert params["train"]["max_categories"] == best["params"]["train.max_categories"]


def test_sweep__a_failed_point_is_reported_and_the_others_run(swept):
    """Last in this file: it declares another sweep in the same project."""
    root, _, _ = swept
    git(root, "checkout", "--quiet", "--", ".")  # undo the `dvc exp apply` above
    dvc(root, "checkout", "--force", "--quiet")
    edit_params(root, {"sweep": {"grid": {}, "runs": [{"data.source": "data/absent.csv"}, {"train.seed": 7}]}})

    done = run(root, sys.executable, "-m", "mlci.review.sweep", "--base", "main", combined=False)

    sweep = json.loads((root / "report" / "sweep.json").read_text())
    failed, seeded = [r for r in sweep["runs"] if r["number"]]
    assert failed["error"].startswith("ERROR") and "data/absent.csv" in failed["error"], failed["error"]
    assert failed["name"] is None and failed["passed"] is None
    assert seeded["error"] is None and seeded["ran"] == ["train", "evaluate"]
    row = r"^\| 3 \| #1 \| `data\.source='data/absent\.csv'` \| – \| – \| run failed: ERROR"
    assert re.search(row, done.stdout, flags=re.MULTILINE), done.stdout
    assert git(root, "status", "--porcelain", "--untracked-files=no") == " M params.yaml\n", "only the new sweep"
    assert UP_TO_DATE in dvc(root, "status").stdout
