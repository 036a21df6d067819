"""The request types built from an input JSON Schema, the frame handed to the model, and the error wording."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from mlci.core.errors import ReleaseError
from mlci.model.input_schema import TIME_PATTERN
from mlci.serve.contract import Contract

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "x-training-range": [0.5, 900.0]},
        "age": {"type": ["number", "null"]},
        "channel": {"type": "string", "examples": ["online", "in_store"]},
        "region": {"type": ["string", "null"], "examples": ["north"]},
        "class": {"type": "number"},  # not a Python identifier: still a field
    },
    "required": ["amount", "age", "channel", "region", "class"],
    "additionalProperties": False,
}
GOOD = {"amount": 12.5, "age": None, "channel": "online", "region": None, "class": 3}


@pytest.fixture
def contract() -> Contract:
    return Contract(SCHEMA, max_batch_rows=3)


def problems(contract: Contract, body) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(contract.body).validate_python(body)
    return {error["field"]: error["message"] for error in contract.describe_errors(caught.value.errors())}


def test_contract__accepts_a_record_and_a_batch(contract):
    adapter = TypeAdapter(contract.body)
    record = adapter.validate_python(GOOD)
    batch = adapter.validate_python({"records": [GOOD, {**GOOD, "channel": "never seen", "region": "south"}]})

    assert contract.records(record) == [GOOD]
    assert [r["channel"] for r in contract.records(batch)] == ["online", "never seen"]


def test_contract__frame_typed_as_in_training(contract):
    frame = contract.frame([GOOD, {**GOOD, "age": 40, "region": "north"}])

    assert list(frame.columns) == ["amount", "age", "channel", "region", "class"]
    assert frame["amount"].dtype == np.float64 and frame["age"].dtype == np.float64
    assert np.isnan(frame["age"].iloc[0]) and frame["age"].iloc[1] == 40.0
    assert frame["channel"].tolist() == ["online", "online"]
    assert np.isnan(frame["region"].iloc[0]) and frame["region"].iloc[1] == "north"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({**GOOD, "amount": "1"}, {"amount": 'must be a number; got "1"'}),
        ({**GOOD, "amount": True}, {"amount": "must be a number; got true"}),
        ({**GOOD, "amount": float("inf")}, {"amount": "must be a finite number; got Infinity"}),
        (
            {**GOOD, "amount": 10**400},
            {"amount": "is too large for a 64-bit float; got " + "1" + "0" * 56 + "..."},
        ),
        ({**GOOD, "amount": None}, {"amount": "must not be null: training had no missing values here (a number)"}),
        ({**GOOD, "age": "old"}, {"age": 'must be a number or null; got "old"'}),
        (
            {**GOOD, "channel": 1},
            {"channel": "must be a string; known values: online, in_store (others are treated as unseen); got 1"},
        ),
        ({k: v for k, v in GOOD.items() if k != "class"}, {"class": "is required (a number)"}),
        (
            {**GOOD, "extra": 1},
            {"extra": "is not a field the model takes; allowed fields: amount, age, channel, region, class"},
        ),
        ({"records": []}, {"records": "must hold at least one record; got an empty list"}),
        (
            {"records": [GOOD] * 4},
            {"records": "must hold at most 3 records (serve.max_batch_rows); got 4; split the batch"},
        ),
        ({"records": [GOOD], "limit": 1}, {"limit": "is not a field the model takes; allowed fields: records"}),
        ({"records": [GOOD, 5]}, {"records[1]": "each record must be a JSON object; got 5"}),
        ({"records": [GOOD, {**GOOD, "amount": "x"}]}, {"records[1].amount": 'must be a number; got "x"'}),
    ],
    ids=[
        "text for a number",
        "boolean for a number",
        "infinity",
        "integer too large",
        "null not allowed",
        "nullable number",
        "number for a category",
        "missing",
        "unknown field",
        "empty batch",
        "oversized batch",
        "unknown batch key",
        "record not an object",
        "bad field in a batch",
    ],
)
def test_contract__errors_name_the_field_and_what_is_allowed(contract, body, expected):
    found = problems(contract, body)
    for field, message in expected.items():
        assert found.get(field) == message, found


def test_contract__body_not_an_object(contract):
    assert problems(contract, [GOOD])["body"].startswith("the body must be a JSON object; send one record")


def test_contract__json_schema_shows_the_fields(contract):
    schema = TypeAdapter(contract.record).json_schema()

    assert list(schema["properties"]) == ["amount", "age", "channel", "region", "class"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["channel"]["examples"] == ["online", "in_store"]
    assert {"type": "null"} in schema["properties"]["age"]["anyOf"]
    assert schema["examples"] == [{"amount": 0.5, "age": 0.0, "channel": "online", "region": "north", "class": 0.0}]


def test_contract__refuses_a_type_it_cannot_serve():
    schema = {"properties": {"when": {"type": "integer"}}}
    with pytest.raises(ReleaseError, match=r"field 'when' has type \['integer'\]; the service takes number or string"):
        Contract(schema, max_batch_rows=10)


TIMED = {
    "x-mlci-input-form": "raw",
    "properties": {
        "amount": {"type": "number"},
        "ts": {"type": ["string", "null"], "x-mlci-derived": {"ts_hour": "hour", "ts_dayofweek": "day_of_week"}},
    },
}


def test_contract__derives_the_time_features_as_training_did():
    contract = Contract(TIMED, max_batch_rows=3)
    records = [{"amount": 1.0, "ts": "2024-03-01T13:45:00"}, {"amount": 2.0, "ts": None}]

    columns = contract.columns(records)

    assert contract.features == ["amount", "ts_hour", "ts_dayofweek"]
    assert contract.numeric == ["amount", "ts_hour", "ts_dayofweek"]
    assert list(columns) == contract.features
    assert columns["ts_hour"][0] == 13.0 and columns["ts_dayofweek"][0] == 4.0  # a Friday: Monday is 0
    assert np.isnan(columns["ts_hour"][1]) and np.isnan(columns["ts_dayofweek"][1])


@pytest.mark.parametrize("value", ["2024-03-01T13:45:00Z", "2024-03-01T13:45:00+02:00", "13:45", "2024-13-01"])
def test_contract__time_errors_name_the_record_and_the_form(value):
    contract = Contract(TIMED, max_batch_rows=3)
    good = {"amount": 1.0, "ts": "2024-03-01 13:45:00"}

    errors = contract.time_errors([good, {"amount": 1.0, "ts": value}], in_batch=True)

    assert errors == [
        {
            "field": "records[1].ts",
            "message": "must be an ISO-8601 date-time without a zone offset, such as 2024-03-01T13:45:00 or null; "
            f"got {json.dumps(value)}",
        }
    ]
    assert contract.time_errors([good], in_batch=False) == []


@pytest.mark.parametrize("value", ["2024-03-01T13:45:00Z", "2024-02-30", "13:45", "2024-03-01T13:45:00.5"])
def test_contract__pattern_refuses_what_time_parts_cannot_read(value):
    found = problems(Contract(TIMED, max_batch_rows=3), {"amount": 1.0, "ts": value})
    allowed = "an ISO-8601 date-time without a zone offset, such as 2024-03-01T13:45:00 or null"
    assert found == {"ts": f"must be {allowed}; got {json.dumps(value)}"}


def test_contract__time_field_in_the_json_schema():
    schema = TypeAdapter(Contract(TIMED, max_batch_rows=3).record).json_schema()
    ts = schema["properties"]["ts"]
    assert ts["anyOf"][0] == {"pattern": TIME_PATTERN, "type": "string"}
    assert "the model reads ts_hour and ts_dayofweek" in ts["description"]
    assert schema["examples"][0]["ts"] == "2024-03-01T13:45:00"


def test_contract__refuses_a_bad_derivation():
    schema = {"properties": {"ts": {"type": "string", "x-mlci-derived": ["ts_hour"]}}}
    with pytest.raises(ReleaseError, match="field 'ts': x-mlci-derived must map feature names to time parts"):
        Contract(schema, max_batch_rows=10)
