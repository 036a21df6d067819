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
from mlci.core.gate import check, judge, pick_thresholds
from mlci.core.params import GateParams
from projectkit import GIT_ENV
from report_fixtures import BASE_METRICS as BASE
from report_fixtures import HEAD_METRICS as HEAD
from report_fixtures import PROJECT_GATE


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


# Which thresholds judge a change: the base's, so a pull request cannot loosen its own gate.

SHA = "11ca687b2c09527b881eb8b04db9415a7a014137"  # pragma: allowlist secret (a commit SHA)
# A branch that switches to a weaker model would pass with these: what the gate must not accept from the head.
LOOSENED = GateParams(
    floors={"roc_auc": 0.5, "average_precision": 0.3}, max_regression={"roc_auc": 0.5, "average_precision": 0.02}
)
TIGHTENED = GateParams(
    floors={"roc_auc": 0.8, "average_precision": 0.3}, max_regression={"roc_auc": 0.005, "average_precision": 0.02}
)


def test_pick_thresholds__base_applies_and_a_loosened_gate_is_flagged():
    picked = pick_thresholds(PROJECT_GATE, LOOSENED, SHA, base_has_params=True)

    assert (picked.params, picked.source, picked.missing) == (PROJECT_GATE, "base", None)
    assert picked.changes == {"gate.floors.roc_auc": (0.8, 0.5), "gate.max_regression.roc_auc": (0.01, 0.5)}
    assert picked.notable
    assert picked.describe() == (
        "thresholds from params.yaml at base 11ca687b2c09; the head changes the gate (gate.floors.roc_auc 0.8 -> 0.5, "
        "gate.max_regression.roc_auc 0.01 -> 0.5): the new thresholds apply after merge"
    )


def test_pick_thresholds__added_and_removed_keys_are_changes():
    head = GateParams(floors={"roc_auc": 0.8, "f1": 0.2}, noise_tolerance=0.001)

    picked = pick_thresholds(PROJECT_GATE, head, SHA, base_has_params=True)

    assert picked.changes == {
        "gate.floors.average_precision": (0.3, None),
        "gate.floors.f1": (None, 0.2),
        "gate.max_regression.roc_auc": (0.01, None),
        "gate.max_regression.average_precision": (0.02, None),
        "gate.noise_tolerance": (0.002, 0.001),
    }
    assert "gate.floors.f1 none -> 0.2" in picked.describe()


def test_pick_thresholds__same_gate_is_no_change():
    # The head leaves noise_tolerance at its default, which is what the base wrote out.
    head = GateParams(floors=dict(PROJECT_GATE.floors), max_regression=dict(PROJECT_GATE.max_regression))

    picked = pick_thresholds(PROJECT_GATE, head, SHA, base_has_params=True)

    assert picked.changes == {} and not picked.notable
    assert picked.describe() == "thresholds from params.yaml at base 11ca687b2c09"


@pytest.mark.parametrize(
    ("base_has_params", "missing", "says"),
    [
        (True, "gate", "the base 11ca687b2c09 has no gate section in params.yaml"),
        (False, "params.yaml", "the base 11ca687b2c09 has no params.yaml (first use)"),
    ],
)
def test_pick_thresholds__base_without_gate_falls_back_to_head(base_has_params, missing, says):
    picked = pick_thresholds(None, LOOSENED, SHA, base_has_params=base_has_params)

    assert (picked.params, picked.source, picked.missing, picked.changes) == (LOOSENED, "head", missing, {})
    assert picked.notable, "the report must say the head's thresholds apply"
    assert picked.describe() == f"thresholds from the head's params.yaml: {says}"


def test_judge__a_loosened_gate_does_not_judge_its_own_change():
    # The head's thresholds would let the 0.0137 drop in ROC AUC through; the base's do not.
    assert check(HEAD, BASE, LOOSENED).passed, "the test needs a gate loose enough to pass"

    result = judge(HEAD, BASE, pick_thresholds(PROJECT_GATE, LOOSENED, SHA, base_has_params=True))

    assert not result.passed
    assert result.reasons == ["roc_auc fell by 0.0137 vs base (0.8875 -> 0.8738); gate.max_regression allows 0.01"]
    assert result.thresholds.source == "base"


def test_to_json__records_the_thresholds_and_their_source():
    data = gate.to_json(judge(HEAD, BASE, pick_thresholds(PROJECT_GATE, LOOSENED, SHA, base_has_params=True)))

    assert json.loads(json.dumps(data)) == data
    assert data["thresholds"] == {
        "applied": PROJECT_GATE.model_dump(),
        "source": "base",
        "base": SHA,
        "missing_at_base": None,
        "changed": True,
        "changes": {
            "gate.floors.roc_auc": {"old": 0.8, "new": 0.5},
            "gate.max_regression.roc_auc": {"old": 0.01, "new": 0.5},
        },
        "note": pick_thresholds(PROJECT_GATE, LOOSENED, SHA, True).describe(),
    }
    assert "thresholds" not in gate.to_json(check(HEAD, BASE, PROJECT_GATE)), "`check` alone knows no source"


# The command line, in a real git repository: the base run committed, the head run in the workspace.


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
    from mlci.core.samerows import same_rows

    base_sha = resolve_base(None)
    thresholds = gate.read_thresholds(base_sha, gate.load_params().gate)
    result = judge(gate.read_metrics(), BASE, thresholds, same_rows(base_sha, thresholds.params))
    path = root / "report" / "gate.json"
    path.parent.mkdir()
    path.write_text(json.dumps(gate.to_json(result)))
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
    ],
    ids=["missing", "malformed"],
)
def test_main__recorded_verdict_user_errors_exit_2(project, capsys, text, message):
    if text is not None:
        (project / "report").mkdir()
        (project / "report/gate.json").write_text(text)

    assert gate.main(["--verdict", "report/gate.json"]) == 2
    assert capsys.readouterr().err.startswith(message)
