"""The next version number, from the previous version's registry record and the new one."""

from __future__ import annotations

import pytest

from mlci.deploy.versioning import FIRST, next_version, record

INPUTS = {"amount": ["number"], "age": ["null", "number"], "channel": ["string"]}
METRICS = {"roc_auc": 0.9, "average_precision": 0.5, "f1": 0.4}
OLD = record("hist_gradient_boosting", INPUTS, METRICS)


def test_record__keeps_family_inputs_and_metrics() -> None:
    assert OLD == {"family": "hist_gradient_boosting", "inputs": INPUTS, "metrics": METRICS}


@pytest.mark.parametrize(("previous", "old"), [(None, None), ((1, 2, 3), None), (None, OLD)])
def test_next_version__first_is_1_0_0(previous: tuple[int, int, int] | None, old: dict | None) -> None:
    bump = next_version(previous, old, OLD)

    assert (bump.number, bump.text, bump.level, bump.reasons) == (FIRST, "v1.0.0", "first", ["first version"])


@pytest.mark.parametrize(
    ("inputs", "reasons"),
    [
        pytest.param(
            {"amount": ["number"], "age": ["null", "number"]}, ["field 'channel' removed"], id="field-removed"
        ),
        pytest.param(
            {**INPUTS, "amount": ["string"]}, ["field 'amount' retyped from number to string"], id="field-retyped"
        ),
        pytest.param({**INPUTS, "age": ["number"]}, ["field 'age' no longer accepts null"], id="no-longer-nullable"),
        pytest.param(
            {"amount_eur": ["number"], "age": ["null", "number"], "channel": ["string"]},
            ["field 'amount' removed"],
            id="field-renamed",
        ),
    ],
)
def test_next_version__a_broken_contract_is_a_major(inputs: dict, reasons: list[str]) -> None:
    bump = next_version((1, 4, 2), OLD, record("hist_gradient_boosting", inputs, METRICS))

    assert (bump.number, bump.text, bump.level, bump.reasons) == ((2, 0, 0), "v2.0.0", "major", reasons)


def test_next_version__a_break_outranks_an_added_field_and_a_new_family() -> None:
    new = record("random_forest", {"amount": ["number"], "country": ["string"]}, METRICS)

    bump = next_version((3, 1, 0), OLD, new)

    assert bump.level == "major" and bump.number == (4, 0, 0)
    assert bump.reasons == ["field 'age' removed", "field 'channel' removed"]


def test_next_version__an_added_field_is_a_minor() -> None:
    new = record("hist_gradient_boosting", {**INPUTS, "country": ["string"], "balance": ["number"]}, METRICS)

    bump = next_version((1, 4, 2), OLD, new)

    assert (bump.number, bump.level) == ((1, 5, 0), "minor")
    assert bump.reasons == ["field 'balance' added", "field 'country' added"]


def test_next_version__a_new_model_family_is_a_minor() -> None:
    bump = next_version((1, 4, 2), OLD, record("random_forest", INPUTS, METRICS))

    assert (bump.number, bump.level) == ((1, 5, 0), "minor")
    assert bump.reasons == ["model family hist_gradient_boosting -> random_forest"]


def test_next_version__added_field_and_new_family_both_given_as_reasons() -> None:
    new = record("logistic_regression", {**INPUTS, "country": ["string"]}, METRICS)

    bump = next_version((2, 0, 7), OLD, new)

    assert bump.number == (2, 1, 0)
    assert bump.reasons == ["field 'country' added", "model family hist_gradient_boosting -> logistic_regression"]


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(record("hist_gradient_boosting", INPUTS, {"roc_auc": 0.95}), id="other-metrics"),
        pytest.param(
            record("hist_gradient_boosting", {**INPUTS, "amount": ["null", "number"]}, METRICS), id="nullable"
        ),
        pytest.param(record("hist_gradient_boosting", dict(reversed(INPUTS.items())), METRICS), id="field-order"),
    ],
)
def test_next_version__otherwise_a_patch(new: dict) -> None:
    bump = next_version((1, 4, 2), OLD, new)

    assert (bump.number, bump.text, bump.level) == ((1, 4, 3), "v1.4.3", "patch")
    assert bump.reasons == ["same inputs and model family"]


def test_next_version__a_record_without_inputs_from_a_hand_made_tag() -> None:
    """A version tagged by hand has an empty record: every field of the new version counts as added."""
    bump = next_version((1, 0, 0), {}, OLD)

    assert bump.level == "minor" and bump.number == (1, 1, 0)
    assert "field 'amount' added" in bump.reasons
