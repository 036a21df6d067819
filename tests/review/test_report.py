"""The PR report, built from two real pipeline runs (tests/fixtures/report) and, end to end, from a real repository.

Fixture pair: doubling the demo data moves ROC AUC by -0.0137 (beyond the 0.01 the gate allows), average precision
by -0.0009 (noise), F1 from 0 to 0.2436; `dvc/*.json` is DVC's own output comparing the two runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import yaml

from mlci.core.params import GateParams
from mlci.evaluation.gate import check, judge, pick_thresholds
from mlci.review import report, runcost
from mlci.review.render import FIX_COMMAND, render
from mlci.review.report import Change, ReportData, changed_params, split_metrics_diff
from owndatakit import use_own_data
from projectkit import dvc, edit_params, git, head, new_project
from projectkit import run as run_in
from report_fixtures import (
    BASE_SHA,
    FIXTURES,
    METRICS_DIFF,
    PARAMS_DIFF,
    fixture_data,
    mermaid_blocks,
    table_row,
)
from report_fixtures import PROJECT_GATE as GATE


def reversed_diff(diff: dict) -> dict:
    """The comparison the other way round: the head run as base and the base run as head."""
    return {
        file: {key: {"old": v["new"], "new": v["old"]} for key, v in values.items()} for file, values in diff.items()
    }


def test_split_metrics_diff__reads_dvc_output():
    metrics, segments = split_metrics_diff(METRICS_DIFF)

    assert metrics["roc_auc"] == Change(0.8875, 0.8738)
    assert set(metrics) == {"roc_auc", "average_precision", "precision", "recall", "f1", "log_loss", "brier"}
    assert set(segments) == {"in_store", "online", "mobile"}
    assert segments["in_store"]["rows"] == Change(1072, 2156)


def test_changed_params__reads_dvc_output():
    assert changed_params(PARAMS_DIFF) == {"demo.n_rows": Change(10000, 20000)}
    assert changed_params({"extra.yaml": {"a.b": {"old": 1, "new": 2}}}) == {"extra.yaml:a.b": Change(1, 2)}


def test_stale_stages__compares_real_lock_files():
    base = (FIXTURES / "base/dvc.lock").read_text()
    head = (FIXTURES / "head/dvc.lock").read_text()
    every_stage = ["evaluate", "generate", "ingest", "split", "train", "validate"]

    assert report.stale_stages(base, head) == every_stage, "demo.n_rows changes every stage's inputs"
    assert report.stale_stages(head, head) == []
    assert report.stale_stages(None, head) == every_stage


def test_write__report_files(tmp_path):
    data = fixture_data()

    path = report.write(data, tmp_path / "out")

    assert path == tmp_path / "out/report.md"
    assert path.read_text() == render(data)
    assert (tmp_path / "out/full-report.md").read_text() == render(data)
    verdict = json.loads((tmp_path / "out/gate.json").read_text())
    assert verdict["passed"] is False
    assert verdict["base"] == BASE_SHA and verdict["lock_matches"] is True
    for name in ("roc", "precision_recall", "calibration", "feature_importance"):
        assert (tmp_path / f"out/{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name


# The gate's thresholds: the base's judge, and the report says so when the pull request changes them or the base has
# none.

LOOSENED = GateParams(
    floors={"roc_auc": 0.5, "average_precision": 0.3}, max_regression={"roc_auc": 0.5, "average_precision": 0.02}
)
CHANGES_THE_GATE = (
    "**This pull request changes the gate:** the new thresholds apply after merge; this verdict used the base's."
)


def runs(metrics_diff: dict = METRICS_DIFF) -> tuple[dict[str, float], dict[str, float]]:
    """The head's and the base's metrics in a `dvc metrics diff`, as `report.gather` hands them to the gate."""
    metrics, _ = split_metrics_diff(metrics_diff)
    return {n: c.new for n, c in metrics.items() if c.new is not None}, {
        n: c.old for n, c in metrics.items() if c.old is not None
    }


def judged(head_gate: GateParams, metrics_diff: dict = METRICS_DIFF) -> ReportData:
    """`fixture_data` judged as `report.gather` judges it: by the base's gate (`GATE`), the head's being `head_gate`."""
    thresholds = pick_thresholds(GATE, head_gate, BASE_SHA, base_has_params=True)
    gate = judge(*runs(metrics_diff), thresholds)
    return fixture_data(metrics_diff, gate=gate, noise_tolerance=thresholds.params.noise_tolerance)


def test_render__loosened_gate_fails_and_is_flagged_beside_the_verdict():
    # Given: the -0.0137 ROC AUC run, with a head that loosens the gate enough to let it through.
    assert check(*runs(), LOOSENED).passed, "the test needs a gate loose enough to pass the run"

    text = render(judged(LOOSENED))

    lines = text.splitlines()
    assert lines[3] == (
        "**Quality gate: failed.** roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01."
    )
    assert lines[5] == CHANGES_THE_GATE
    assert table_row(text, "gate") == ["gate", "base (applied)", "this pull request"]
    assert table_row(text, "`gate.floors.roc_auc`") == ["`gate.floors.roc_auc`", "0.8", "0.5"]
    assert table_row(text, "`gate.max_regression.roc_auc`") == ["`gate.max_regression.roc_auc`", "0.01", "0.5"]
    assert table_row(text, "roc_auc ↑")[5] == "≥ 0.8; **worse by ≤ 0.01: failed**", (
        "the base's limits, in the table too"
    )


def test_render__tightened_gate_passes_by_the_base_thresholds_and_is_flagged():
    # The improved run (ROC AUC 0.8875) is below the head's new floor of 0.9, but main's floor is 0.8.
    tightened = GateParams(floors={"roc_auc": 0.9, "average_precision": 0.3}, max_regression=dict(GATE.max_regression))
    improved = reversed_diff(METRICS_DIFF)
    assert not check(*runs(improved), tightened).passed, "the test needs a gate the head's own run would fail"

    text = render(judged(tightened, improved))

    assert text.splitlines()[3].startswith("**Quality gate: passed.** floors met (roc_auc, average_precision)")
    assert text.splitlines()[5] == CHANGES_THE_GATE
    assert table_row(text, "`gate.floors.roc_auc`") == ["`gate.floors.roc_auc`", "0.8", "0.9"]


@pytest.mark.parametrize(
    ("base_has_params", "says"),
    [
        (True, "the base `11ca687` has no `gate` in `params.yaml`"),
        (False, "the base `11ca687` has no `params.yaml` (first use)"),
    ],
)
def test_render__base_without_gate_says_the_head_s_thresholds_apply(base_has_params, says):
    thresholds = pick_thresholds(None, LOOSENED, BASE_SHA, base_has_params)

    text = render(fixture_data(gate=judge(*runs(), thresholds)))

    assert text.splitlines()[5] == f"**Gate thresholds from this pull request:** {says}, so the head's apply."
    assert CHANGES_THE_GATE not in text


def test_render__unchanged_gate_adds_nothing():
    assert render(judged(GATE)) == render(fixture_data())


def test_write__gate_json_records_the_thresholds(tmp_path):
    report.write(judged(LOOSENED), tmp_path, pngs=False)

    thresholds = json.loads((tmp_path / "gate.json").read_text())["thresholds"]
    assert thresholds["applied"] == GATE.model_dump()
    assert (thresholds["source"], thresholds["base"], thresholds["changed"]) == ("base", BASE_SHA, True)
    assert thresholds["changes"]["gate.floors.roc_auc"] == {"old": 0.8, "new": 0.5}


# The command line.


def cost_record(folder: Path, stage: str, wall: float, cpu: float, mib: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cost = {"stage": stage, "wall_seconds": wall, "cpu_seconds": cpu, "peak_rss_bytes": mib * 1024**2}
    (folder / f"{stage}.json").write_text(json.dumps(cost))


def test_render__run_cost_base_against_head(tmp_path):
    cost_record(tmp_path / "base", "split", 0.5, 0.75, 120)
    cost_record(tmp_path / "base", "train", 12.0, 20.0, 900)
    cost_record(tmp_path / "head", "train", 3.5, 4.25, 300)

    text = render(fixture_data(cost=runcost.read(tmp_path / "head", tmp_path / "base", tmp_path / "no.yaml")))

    section = text.split("### Run cost", 1)[1]
    assert "_base → head." in section and "_The stages both sides record (`train`):" in section
    assert table_row(section, "`split`") == ["`split`", "0.50 s → –", "0.75 s → –", "120 MiB → –"]
    assert table_row(section, "`train`") == ["`train`", "12.0 s → 3.50 s", "20.0 s → 4.25 s", "900 MiB → 300 MiB"]
    assert table_row(section, "**total**")[1] == "**12.5 s → 3.50 s**"


def test_render__run_cost_without_a_base_says_why(tmp_path):
    cost_record(tmp_path / "head", "train", 3.5, 4.25, 300)

    text = render(fixture_data(cost=runcost.read(tmp_path / "head", tmp_path / "gone", tmp_path / "no.yaml")))

    section = text.split("### Run cost", 1)[1]
    assert f"_head only: no record of the base's run here: `{tmp_path}/gone/` is missing (in CI," in section
    assert table_row(section, "`train`") == ["`train`", "3.50 s", "4.25 s", "300 MiB"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base", "v9.9"], "error: report: unknown revision 'v9.9'; pass a branch, tag or commit that exists here"),
        (["--base", "HEAD", "--no-png"], "error: report: reports/eval/metrics.json not found; run `dvc repro` first"),
    ],
)
def test_main__user_errors_exit_2(tmp_dir, capsys, argv, message):
    (tmp_dir / "params.yaml").write_text("gate:\n  noise_tolerance: 0.002\n")
    git(tmp_dir, "init", "-q", "-b", "main")
    git(tmp_dir, "add", "-A")
    git(tmp_dir, "commit", "-q", "-m", "params")
    if "v9.9" in argv:
        shutil.copytree(FIXTURES / "head/reports", tmp_dir / "reports")

    assert report.main(argv) == 2

    assert capsys.readouterr().err.startswith(message)


@pytest.mark.slow
def test_end_to_end__two_commits(tmp_path):
    """Run the real pipeline twice in a fresh repository and report the second run against the first."""
    # Given: the project without results, committed; then its first run, committed.
    small = {"demo": {"n_rows": 3000}, "evaluate": {"importance_repeats": 1}}
    root = new_project(tmp_path / "project", params=small, leave_out=("tests/", "reports/"), message="no results yet")
    run = partial(run_in, root, combined=False)  # stdout apart from stderr
    empty = head(root)
    run("dvc", "repro", "--quiet")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "first run")
    base = run("git", "rev-parse", "HEAD").stdout.strip()

    # The first run has no baseline, and its lock was committed with it.
    run("python", "-m", "mlci.review.report", "--base", empty, "--out", "first", "--no-png")
    first = (root / "first/report.md").read_text()
    assert "**No baseline yet:**" in first
    assert "The committed `dvc.lock` matches the reproduced pipeline." in first

    # When: a pull request changes the model but commits params.yaml alone, and CI reproduces it.
    edit_params(root, {"train": {"model": "logistic_regression"}})
    run("git", "commit", "-q", "-am", "try logistic regression")
    run("dvc", "repro", "--quiet")
    done = run(
        "python", "-m", "mlci.review.report", "--base", base, "--duration", "61", "--run-url", "https://ci/run/7"
    )

    # Then: deltas are the head's metrics minus the base's, the verdict agrees with the gate, and the lock is stale.
    assert done.stdout.strip() == str(Path("report/report.md"))
    text = (root / "report/report.md").read_text()
    old = json.loads(run("git", "show", f"{base}:reports/eval/metrics.json").stdout)
    new = json.loads((root / "reports/eval/metrics.json").read_text())
    for name in ("roc_auc", "average_precision", "log_loss"):
        arrow = " ↓" if name == "log_loss" else " ↑"
        assert table_row(text, name + arrow)[1:4] == [
            f"{old[name]:.4f}",
            f"{new[name]:.4f}",
            f"{new[name] - old[name]:+.4f}",
        ]
    assert table_row(text, "`train.model`") == ["`train.model`", "`hist_gradient_boosting`", "`logistic_regression`"]
    assert "**Stale:** The committed `dvc.lock` differs from the reproduced one in stages `evaluate`, `train`." in text
    assert FIX_COMMAND in text
    assert [block.count("\n    line [") for block in mermaid_blocks(text)] == [2, 2]
    assert "pipeline run 1m 01s · [workflow run](https://ci/run/7)" in text
    verdict = json.loads((root / "report/gate.json").read_text())
    gate = run("python", "-m", "mlci.review.gate", "--base", base, check=False)
    assert gate.returncode == (0 if verdict["passed"] else 1), gate.stdout + gate.stderr
    assert text.splitlines()[3].startswith(
        "**Quality gate: passed.**" if verdict["passed"] else "**Quality gate: failed.**"
    )
    assert all((root / f"report/{name}.png").is_file() for name in ("roc", "precision_recall", "calibration"))

    # And once the fix is committed, the lock matches.
    run("git", "add", "dvc.lock", "reports")
    run("git", "commit", "-q", "-m", "lock")
    run("python", "-m", "mlci.review.report", "--base", base, "--no-png")
    assert "The committed `dvc.lock` matches the reproduced pipeline." in (root / "report/report.md").read_text()


@pytest.fixture
def gated_repo(tmp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git + DVC repository on `main` holding the base run's metrics and the project's gate; nothing else."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # this venv's dvc
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    for scope in ("GLOBAL", "SYSTEM"):  # no user or machine DVC settings
        monkeypatch.setenv(f"DVC_{scope}_CONFIG_DIR", str(tmp_dir.parent / f"{tmp_dir.name}-dvc-{scope.lower()}"))
    git(tmp_dir, "init", "-q", "-b", "main")
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_dir, check=True, capture_output=True)
    (tmp_dir / "dvc.yaml").write_text("metrics:\n  - reports/eval/metrics.json\n")
    (tmp_dir / "params.yaml").write_text(yaml.safe_dump({"gate": GATE.model_dump()}, sort_keys=False))
    shutil.copytree(FIXTURES / "base/reports", tmp_dir / "reports")
    git(tmp_dir, "add", "-A")
    git(tmp_dir, "commit", "-q", "-m", "base run")
    return tmp_dir


@pytest.mark.slow
@pytest.mark.parametrize("change", ["loosened", "tightened", "no-gate-at-base"])
def test_main__the_base_gate_judges_a_pull_request(gated_repo, change):
    """A branch with the weaker run and a changed gate; the report and `gate.json` say which thresholds judged it."""
    params = {
        "loosened": LOOSENED,
        "tightened": GateParams(floors={"roc_auc": 0.95}, max_regression={"roc_auc": 0.001}),
        "no-gate-at-base": GATE,
    }[change]
    if change == "no-gate-at-base":
        (gated_repo / "params.yaml").write_text("split:\n  test_size: 0.2\n")
        git(gated_repo, "commit", "-q", "-am", "no gate yet")
    base = git(gated_repo, "rev-parse", "HEAD").strip()
    git(gated_repo, "checkout", "-q", "-b", "feature")
    (gated_repo / "params.yaml").write_text(yaml.safe_dump({"gate": params.model_dump()}, sort_keys=False))
    shutil.copytree(FIXTURES / "head/reports", gated_repo / "reports", dirs_exist_ok=True)
    git(gated_repo, "add", "-A")
    git(gated_repo, "commit", "-q", "-m", "weaker model, other gate")

    assert report.main(["--no-png"]) == 0

    lines = (gated_repo / "report/report.md").read_text().splitlines()
    verdict = json.loads((gated_repo / "report/gate.json").read_text())
    drop = "roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01"
    assert lines[3] == f"**Quality gate: failed.** {drop}."
    assert verdict["reasons"] == [drop], "judged by main's gate (or, where main has none, by the head's same one)"
    if change == "no-gate-at-base":
        assert lines[5] == (
            f"**Gate thresholds from this pull request:** the base `{base[:7]}` has no `gate` in `params.yaml`, "
            "so the head's apply."
        )
        assert (verdict["thresholds"]["source"], verdict["thresholds"]["missing_at_base"]) == ("head", "gate")
    else:
        assert lines[5] == CHANGES_THE_GATE
        assert (verdict["thresholds"]["source"], verdict["thresholds"]["changed"]) == ("base", True)
        assert verdict["thresholds"]["applied"] == GATE.model_dump()


@pytest.mark.slow
@pytest.mark.parametrize("base_cost", ["kept", "none"])
def test_main__run_cost_reads_the_base_from_its_default_folder(gated_repo, base_cost):
    """`make report` (no `--base-cost`) reads `.mlci/base-cost/`, where CI restores the base commit's records."""
    cost_record(gated_repo / ".mlci/cost", "evaluate", 2.0, 1.5, 200)
    if base_cost == "kept":
        cost_record(gated_repo / ".mlci/base-cost", "evaluate", 2.5, 2.25, 180)

    assert report.main(["--no-png"]) == 0

    text = (gated_repo / "report/report.md").read_text()
    if base_cost == "kept":
        assert table_row(text, "`evaluate`") == [
            "`evaluate`",
            "2.50 s → 2.00 s",
            "2.25 s → 1.50 s",
            "180 MiB → 200 MiB",
        ]
    else:
        assert table_row(text, "`evaluate`") == ["`evaluate`", "2.00 s", "1.50 s", "200 MiB"]
        assert "no record of the base's run here: `.mlci/base-cost/` is missing (in CI," in text


@pytest.mark.slow
def test_report__rows_without_a_label(demo_project):
    """The pull-request report's data table says how many rows had no label, against the demo run as base."""
    use_own_data(demo_project, "blank_labels.csv")
    dvc(demo_project, "repro")

    run_in(demo_project, "python", "-m", "mlci.review.report", "--base", "HEAD", "--no-png", "--out", "report")

    text = (demo_project / "report/report.md").read_text(encoding="utf-8")
    assert "| rows without a label (dropped) | 0 | 3 | +3 |" in text
