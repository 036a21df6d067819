"""The quality gate's rules on the metrics of two real pipeline runs (tests/fixtures/report).

In the fixture pair, doubling the data moves ROC AUC by -0.0137, average precision by -0.0009, F1 from 0 to 0.2436
and log loss by +0.0142 (see tests/fixtures/report/README.md).
"""

from __future__ import annotations

import json

import pytest

from mlci.core.params import GateParams
from mlci.evaluation import gate
from mlci.evaluation.gate import check, judge, pick_thresholds
from report_fixtures import BASE_METRICS as BASE
from report_fixtures import HEAD_METRICS as HEAD
from report_fixtures import LOOSENED, PROJECT_GATE


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
