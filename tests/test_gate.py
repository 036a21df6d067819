"""The quality gate on the metrics of two real pipeline runs (tests/fixtures/report), and its command line.

In the fixture pair, doubling the data moves ROC AUC by -0.0137, average precision by -0.0009, F1 from 0 to 0.2436
and log loss by +0.0142 (see tests/fixtures/report/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mlci.core import gate
from mlci.core.gate import check
from mlci.core.params import GateParams
from report_fixtures import BASE_METRICS as BASE
from report_fixtures import GIT_ENV, PROJECT_GATE
from report_fixtures import HEAD_METRICS as HEAD


def test_check__regression_beyond_tolerance_fails():
    result = check(HEAD, BASE, PROJECT_GATE)

    assert not result.passed
    assert result.reasons == ["roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01"], (
        "only the ROC AUC drop is beyond what the gate allows"
    )
    regression = next(c for c in result.checks if c.kind == "regression" and c.metric == "roc_auc")
    assert regression.value == pytest.approx(0.0137)


def test_check__improvement_passes():
    # The same two runs the other way round: ROC AUC rises by 0.0137.
    result = check(BASE, HEAD, PROJECT_GATE)

    assert result.passed, result.reasons
    assert result.reasons == []
    messages = {c.metric: c.message for c in result.checks if c.kind == "regression"}
    assert messages["roc_auc"] == "roc_auc +0.0137 vs base (improved)"
    assert result.summary().startswith("gate passed: floors met (roc_auc, average_precision)")


def test_check__change_within_noise_is_never_a_regression():
    # Average precision moved by -0.0009: no regression even when none at all is allowed.
    strict = GateParams(max_regression={"average_precision": 0.0}, noise_tolerance=0.002)

    result = check(HEAD, BASE, strict)

    assert result.passed, result.reasons
    assert result.checks[0].message == "average_precision -0.0009 vs base (within noise)"


def test_check__beyond_noise_with_nothing_allowed_fails():
    strict = GateParams(max_regression={"average_precision": 0.0}, noise_tolerance=0.0005)

    result = check(HEAD, BASE, strict)

    assert not result.passed
    assert result.reasons == [
        "average_precision fell by 0.0009 vs base (0.3171 -> 0.3162); gate.max_regression allows 0"
    ]


def test_check__lower_is_better_metrics_are_direction_aware():
    # log_loss rose 0.0883 -> 0.1025 and brier 0.0218 -> 0.0252: both got worse.
    params = GateParams(floors={"log_loss": 0.1, "brier": 0.03}, max_regression={"log_loss": 0.01, "brier": 0.01})

    result = check(HEAD, BASE, params)

    assert result.reasons == [
        "log_loss 0.1025 is above the ceiling 0.1",
        "log_loss rose by 0.0142 vs base (0.0883 -> 0.1025); gate.max_regression allows 0.01",
    ]
    assert check(BASE, HEAD, params).passed, "the other way round both losses fell"


def test_check__exact_limit_is_allowed_despite_float_error():
    # 0.2587 - 0.2387 is 0.020000000000000018 in floating point.
    params = GateParams(max_regression={"average_precision": 0.02}, noise_tolerance=0.0)

    assert check({"average_precision": 0.2387}, {"average_precision": 0.2587}, params).passed
    assert not check({"average_precision": 0.2386}, {"average_precision": 0.2587}, params).passed


def test_check__no_baseline_checks_floors_only():
    result = check(HEAD, None, PROJECT_GATE)

    assert result.passed
    assert [c.kind for c in result.checks] == ["floor", "floor"]
    assert "no baseline yet" in result.summary()


def test_check__metric_new_in_head_is_not_a_regression():
    head = HEAD | {"mcc": 0.31}
    params = GateParams(floors={"roc_auc": 0.8}, max_regression={"roc_auc": 0.02})

    assert check(head, BASE, params).passed
    # A gated metric the base never had cannot have regressed.
    result = check(HEAD, {k: v for k, v in BASE.items() if k != "roc_auc"}, params)
    assert result.passed
    assert "roc_auc is new: no base value to compare with" in [c.message for c in result.checks]


def test_check__metric_named_in_gate_but_missing_fails():
    head = {k: v for k, v in HEAD.items() if k != "average_precision"}

    result = check(head, BASE, PROJECT_GATE)

    assert not result.passed
    assert (
        "average_precision is missing from reports/eval/metrics.json but gate.floors names it; "
        "make `evaluate` write it or remove it from gate.floors"
    ) in result.reasons
    assert any("gate.max_regression names it" in reason for reason in result.reasons)


def test_to_json__is_plain_data():
    data = gate.to_json(check(HEAD, BASE, PROJECT_GATE))

    assert json.loads(json.dumps(data)) == data
    assert data["passed"] is False
    assert data["summary"].startswith("gate failed: roc_auc fell by 0.0137")


# The command line, in a real git repository: the base run committed, the head run in the workspace.


def git(root: Path, *args: str) -> str:
    env = os.environ | GIT_ENV
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_dir: Path) -> Path:
    """A repository on `main` whose one commit holds the base run's metrics; the workspace holds the head's."""
    metrics = tmp_dir / "reports/eval/metrics.json"
    metrics.parent.mkdir(parents=True)
    (tmp_dir / "params.yaml").write_text(yaml.safe_dump({"gate": PROJECT_GATE.model_dump()}, sort_keys=False))
    metrics.write_text(json.dumps(BASE))
    git(tmp_dir, "init", "-q", "-b", "main")
    git(tmp_dir, "add", "-A")
    git(tmp_dir, "commit", "-q", "-m", "base run")
    metrics.write_text(json.dumps(HEAD))
    return tmp_dir


def test_main__fails_with_reasons_and_exit_1(project, capsys):
    assert gate.main([]) == 1  # default base: merge-base of HEAD and main

    out = capsys.readouterr().out
    assert (
        out == "gate failed:\n  - roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01\n"
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
