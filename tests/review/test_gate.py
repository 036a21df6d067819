"""The quality gate's command line (`python -m mlci.review.gate`, `make gate`) in real git repositories.

The base commit holds the base run's metrics from tests/fixtures/report and the workspace the head's: the command
judges by the base's thresholds, says why it compared committed numbers, and exits 0, 1 or 2.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mlci.core.params import GateParams, load_params
from mlci.evaluation.gate import check, judge, read_metrics, read_thresholds, to_json
from mlci.review import gate
from projectkit import GIT_ENV
from report_fixtures import BASE_METRICS as BASE
from report_fixtures import HEAD_METRICS as HEAD
from report_fixtures import LOOSENED, PROJECT_GATE, TIGHTENED


def git(root: Path, *args: str) -> str:
    env = os.environ | GIT_ENV
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def write_gate(root: Path, params: GateParams) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump({"gate": params.model_dump()}, sort_keys=False))


@pytest.fixture
def project(tmp_dir: Path) -> Path:
    """A repository on `main` whose one commit holds the base run's metrics; the workspace holds the head's."""
    metrics = tmp_dir / "reports/eval/metrics.json"
    metrics.parent.mkdir(parents=True)
    write_gate(tmp_dir, PROJECT_GATE)
    metrics.write_text(json.dumps(BASE))
    git(tmp_dir, "init", "-q", "-b", "main")
    git(tmp_dir, "add", "-A")
    git(tmp_dir, "commit", "-q", "-m", "base run")
    metrics.write_text(json.dumps(HEAD))
    return tmp_dir


def pull_request(root: Path, params: GateParams, metrics: dict[str, float]) -> str:
    """Commit `params` as the gate and `metrics` as the run on a `feature` branch off `main`; return main's SHA."""
    git(root, "checkout", "-q", "-b", "feature")
    write_gate(root, params)
    (root / "reports/eval/metrics.json").write_text(json.dumps(metrics))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pull request")
    return git(root, "rev-parse", "main").strip()


# These repositories hold metrics only: no model to score, so the gate compares the committed numbers and says why.
COMMITTED = (
    "(compared with the base's committed metrics, measured on its own test rows: the workspace has no "
    "data/validated/schema.json, data/split/test.parquet, models/model.skops to score (run `dvc repro` first))\n"
)


def test_main__fails_with_reasons_and_exit_1(project, capsys):
    assert gate.main([]) == 1  # default base: merge-base of HEAD and main

    out = capsys.readouterr().out
    assert out == (
        "gate failed:\n  - roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01\n"
        + COMMITTED
    )


def test_main__passes_with_one_line(project, capsys):
    (project / "reports/eval/metrics.json").write_text(json.dumps(BASE | {"roc_auc": 0.8901}))

    assert gate.main(["--base", "HEAD"]) == 0

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("gate passed: floors met (roc_auc, average_precision); no regression beyond the allowed")


def test_main__no_baseline_at_base(project, capsys):
    git(project, "rm", "-q", "--cached", "reports/eval/metrics.json")  # the file stays in the workspace
    git(project, "commit", "-q", "-m", "no metrics yet")

    assert gate.main(["--base", "HEAD"]) == 0
    assert "no baseline yet, so no regression check" in capsys.readouterr().out


def test_main__loosened_gate_fails_by_the_base_thresholds(project, capsys):
    # Given: a branch whose weaker model drops ROC AUC by 0.0137 and, in the same commit, loosens the gate.
    base = pull_request(project, LOOSENED, HEAD)

    # When / then: judged by main's thresholds, it fails, and the output says the gate change waits for the merge.
    assert gate.main([]) == 1
    assert capsys.readouterr().out == (
        "gate failed:\n"
        "  - roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01\n"
        + COMMITTED
        + f"(thresholds from params.yaml at base {base[:12]}; the head changes the gate "
        "(gate.floors.roc_auc 0.8 -> 0.5, gate.max_regression.roc_auc 0.01 -> 0.5): "
        "the new thresholds apply after merge)\n"
    )


def test_main__tightened_gate_passes_by_the_base_thresholds(project, capsys):
    # ROC AUC drops by 0.0075: within main's 0.01, beyond the branch's new 0.005.
    head = BASE | {"roc_auc": 0.88}
    assert not check(head, BASE, TIGHTENED).passed, "the test needs a change the tightened gate would fail"
    base = pull_request(project, TIGHTENED, head)

    assert gate.main(["--base", "main"]) == 0

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.endswith(
        f"; thresholds from params.yaml at base {base[:12]}; the head changes the gate "
        "(gate.max_regression.roc_auc 0.01 -> 0.005): the new thresholds apply after merge\n"
    )


@pytest.mark.parametrize(
    ("base_params", "says"),
    [
        ("split:\n  test_size: 0.25\n", "has no gate section in params.yaml"),
        (None, "has no params.yaml (first use)"),
    ],
)
def test_main__base_without_gate_falls_back_to_head(project, capsys, base_params, says):
    # Given: main without a gate; the branch adds one that the head's run does not meet.
    if base_params is None:
        git(project, "rm", "-q", "params.yaml")
    else:
        (project / "params.yaml").write_text(base_params)
        git(project, "add", "params.yaml")
    git(project, "commit", "-q", "-m", "no gate yet")
    base = pull_request(project, PROJECT_GATE, HEAD)

    assert gate.main([]) == 1, "the head's gate applies, and the head fails it"

    out = capsys.readouterr().out
    assert out.endswith(f"(thresholds from the head's params.yaml: the base {base[:12]} {says})\n")


def test_main__base_params_outside_gate_are_not_validated(project, capsys):
    # An older layout of another section at the base (here a key since renamed) does not stop the gate.
    (project / "params.yaml").write_text(
        yaml.safe_dump({"train": {"old_key": 1}, "gate": PROJECT_GATE.model_dump()}, sort_keys=False)
    )
    git(project, "add", "params.yaml")
    git(project, "commit", "-q", "-m", "old layout")
    pull_request(project, PROJECT_GATE, BASE)

    assert gate.main([]) == 0
    assert capsys.readouterr().out.startswith("gate passed: ")


BASE_FIX = "; the gate takes its thresholds from the base revision, so fix `gate` there first (or pass --base REV)\n"


@pytest.mark.parametrize(
    ("base_params", "problem"),
    [
        pytest.param(
            "gate:\n  floor: {roc_auc: 0.8}\n",
            ": unknown key gate.floor; allowed keys here: floors, interval, max_regression, noise, noise_tolerance. "
            "Check the spelling",
            id="unknown-key",
        ),
        pytest.param(
            "gate:\n  max_regression: {roc_auc: -0.1}\n",
            ": gate.max_regression.roc_auc must be greater than or equal to 0; got -0.1",
            id="out-of-range",
        ),
        pytest.param("gate:\n", ": gate must be a mapping of keys to values; got None", id="empty-section"),
        pytest.param(
            "gate: [floors\n",
            " is not valid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'; fix the syntax there",
            id="malformed-yaml",
        ),
        pytest.param("- gate\n", " must be a mapping of sections (demo, data, train, ...); got list", id="list"),
    ],
)
def test_main__malformed_gate_at_base_exits_2(project, capsys, base_params, problem):
    (project / "params.yaml").write_text(base_params)
    git(project, "add", "params.yaml")
    git(project, "commit", "-q", "-m", "broken gate")
    base = pull_request(project, PROJECT_GATE, BASE)

    assert gate.main([]) == 2

    assert capsys.readouterr().err == f"error: gate: params.yaml at base {base[:12]}{problem}{BASE_FIX}"


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (None, ["--base", "no-such-branch"], "error: gate: unknown revision 'no-such-branch'; pass a branch"),
        ("rm-metrics", [], "error: gate: reports/eval/metrics.json not found; run `dvc repro` first"),
        ("rename-main", [], "error: gate: no base revision: neither `main` nor `origin/main` exists here"),
        ("bad-params", [], "error: gate: params.yaml: unknown key gate.floor"),
    ],
)
def test_main__user_errors_exit_2(project, capsys, setup, argv, message):
    if setup == "rm-metrics":
        (project / "reports/eval/metrics.json").unlink()
    elif setup == "rename-main":
        git(project, "branch", "-q", "-m", "main", "work")
    elif setup == "bad-params":
        (project / "params.yaml").write_text("gate:\n  floor: {roc_auc: 0.8}\n")

    assert gate.main(argv) == 2

    assert capsys.readouterr().err.startswith(message)


def recorded_verdict(root: Path) -> Path:
    """`gate.json` as the report writes it for this repository (what `--verdict` reads back)."""
    from mlci.core.revisions import resolve_base
    from mlci.evaluation.samerows import same_rows

    base_sha = resolve_base(None)
    thresholds = read_thresholds(base_sha, load_params().gate)
    result = judge(read_metrics(), BASE, thresholds, same_rows(base_sha, thresholds.params))
    path = root / "report" / "gate.json"
    path.parent.mkdir()
    path.write_text(json.dumps(to_json(result)))
    return path


@pytest.mark.parametrize("loosen", [False, True], ids=["fails", "fails-and-changes-the-gate"])
def test_main__recorded_verdict_exits_and_prints_as_judging_again(project, capsys, loosen):
    if loosen:
        pull_request(project, LOOSENED, HEAD)
    judged = gate.main([])
    out = capsys.readouterr().out

    assert gate.main(["--verdict", str(recorded_verdict(project))]) == judged == 1
    assert capsys.readouterr().out == out


def test_main__recorded_verdict_that_passes(project, capsys):
    (project / "reports/eval/metrics.json").write_text(json.dumps(BASE | {"roc_auc": 0.8901}))
    judged = gate.main([])
    out = capsys.readouterr().out

    assert gate.main(["--verdict", str(recorded_verdict(project))]) == judged == 0
    assert capsys.readouterr().out == out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "error: gate: report/gate.json not found; run `python -m mlci.review.report` first, or drop --verdict"),
        ("{}", "error: gate: report/gate.json is not a gate.json written by `python -m mlci.review.report`"),
        ("", "error: gate: report/gate.json cannot be read (Is a directory); give the gate.json the report wrote\n"),
    ],
    ids=["missing", "malformed", "a-folder"],
)
def test_main__recorded_verdict_user_errors_exit_2(project, capsys, text, message):
    if text == "":
        (project / "report/gate.json").mkdir(parents=True)
    elif text is not None:
        (project / "report").mkdir()
        (project / "report/gate.json").write_text(text)

    assert gate.main(["--verdict", "report/gate.json"]) == 2
    assert capsys.readouterr().err.startswith(message)
