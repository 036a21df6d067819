"""The input contract as JSON Schema, and what in a new contract breaks the clients of the old one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlci.core.schema import Schema
from mlci.model import input_schema
from mlci.model.input_schema import (
    DERIVED,
    INPUT_FORM,
    JSON_SCHEMA_DIALECT,
    TIME_PATTERN,
    breaking_changes,
    breaking_field_changes,
    field_types,
    input_json_schema,
    model_features,
    time_features,
)

SCHEMA = Schema(target="y", numeric=["amount", "age"], categorical=["channel", "country"])


def train_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [10.0, 20.5, 3.0, 40.0, 7.0, 1.5],
            "age": [30.0, np.nan, 41.0, 25.0, 60.0, 33.0],
            "channel": ["web", "web", "pos", "app", "web", "pos"],
            "country": ["DE", None, "FR", "DE", "FR", "DE"],
            "y": [0, 1, 0, 1, 0, 0],
        }
    )


def contract(**fields: str | list[str]) -> dict:
    return {"properties": {name: {"type": kind} for name, kind in fields.items()}}


def test_input_json_schema__one_record_with_the_training_features() -> None:
    schema = input_json_schema(SCHEMA, train_frame(), title="fraud-model input record")

    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["title"] == "fraud-model input record"
    assert schema["type"] == "object"
    assert list(schema["properties"]) == SCHEMA.features
    assert schema["required"] == SCHEMA.features
    assert schema["additionalProperties"] is False
    assert "y" not in schema["properties"], "the target is not an input"


def test_input_json_schema__numbers_with_their_training_range() -> None:
    fields = input_json_schema(SCHEMA, train_frame())["properties"]

    assert fields["amount"] == {"type": "number", "x-training-range": [1.5, 40.0]}
    assert fields["age"]["x-training-range"] == [25.0, 60.0]


def test_input_json_schema__nullable_only_when_training_had_nulls() -> None:
    fields = input_json_schema(SCHEMA, train_frame())["properties"]

    assert fields["amount"]["type"] == "number"
    assert fields["age"]["type"] == ["number", "null"]
    assert fields["channel"]["type"] == "string"
    assert fields["country"]["type"] == ["string", "null"]


def test_input_json_schema__categories_as_strings_with_known_values() -> None:
    fields = input_json_schema(SCHEMA, train_frame())["properties"]

    assert fields["channel"]["examples"] == ["app", "pos", "web"]
    assert fields["country"]["examples"] == ["DE", "FR"], "null is not an example"
    assert "treated as unseen" in fields["channel"]["description"]


def test_input_json_schema__lists_the_most_frequent_categories_then_sorts_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a cap of 3, and categories whose frequency order differs from their alphabetical order
    monkeypatch.setattr(input_schema, "MAX_LISTED_CATEGORIES", 3)
    values = ["z"] * 5 + ["a"] * 4 + ["m"] * 3 + ["b"] * 2 + ["c"]
    train = pd.DataFrame({"amount": np.arange(len(values), dtype=float), "channel": values})
    schema = Schema(target="y", numeric=["amount"], categorical=["channel"])

    # when
    examples = input_json_schema(schema, train)["properties"]["channel"]["examples"]

    # then: the 3 most frequent (z, a, m), sorted; the rarer b and c are left out
    assert examples == ["a", "m", "z"]


def test_input_json_schema__caps_the_examples_at_the_default() -> None:
    values = [f"merchant-{i:03d}" for i in range(120)]
    train = pd.DataFrame({"amount": np.zeros(len(values)), "channel": values})
    schema = Schema(target="y", numeric=["amount"], categorical=["channel"])

    examples = input_json_schema(schema, train)["properties"]["channel"]["examples"]

    assert len(examples) == input_schema.MAX_LISTED_CATEGORIES
    assert examples == sorted(examples)


def test_input_json_schema__non_string_categories_listed_as_strings() -> None:
    train = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "channel": [3, 1, 3]})
    schema = Schema(target="y", numeric=["amount"], categorical=["channel"])

    examples = input_json_schema(schema, train)["properties"]["channel"]["examples"]

    assert examples == ["1", "3"]


def test_input_json_schema__all_null_number_has_no_range() -> None:
    train = pd.DataFrame({"amount": [np.nan, np.nan], "channel": ["a", "b"]})
    schema = Schema(target="y", numeric=["amount"], categorical=["channel"])

    field = input_json_schema(schema, train)["properties"]["amount"]

    assert field == {"type": ["number", "null"]}


def test_breaking_changes__none_for_the_same_contract() -> None:
    schema = input_json_schema(SCHEMA, train_frame())

    assert breaking_changes(schema, schema) == []


BREAKING = [
    pytest.param(
        contract(amount="number", channel="string"),
        contract(amount="number"),
        ["field 'channel' removed"],
        id="removed",
    ),
    pytest.param(
        contract(amount="number"),
        contract(amount="string"),
        ["field 'amount' retyped from number to string"],
        id="retyped",
    ),
    pytest.param(
        contract(amount=["number", "null"]),
        contract(amount=["string", "null"]),
        ["field 'amount' retyped from null/number to null/string"],
        id="retyped-nullable",
    ),
    pytest.param(
        contract(age=["number", "null"]),
        contract(age="number"),
        ["field 'age' no longer accepts null"],
        id="no-longer-nullable",
    ),
    pytest.param(
        contract(a="number", b="string", c=["number", "null"]),
        contract(b="number", c="number", d="string"),
        ["field 'a' removed", "field 'b' retyped from string to number", "field 'c' no longer accepts null"],
        id="several-in-field-order",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BREAKING)
def test_breaking_changes__lists_each_break(old: dict, new: dict, expected: list[str]) -> None:
    assert breaking_changes(old, new) == expected


NOT_BREAKING = [
    pytest.param(contract(amount="number"), contract(amount="number", channel="string"), id="field-added"),
    pytest.param(contract(age="number"), contract(age=["number", "null"]), id="newly-nullable"),
    pytest.param(contract(age="number"), contract(age=["number"]), id="type-as-list"),
    pytest.param({}, contract(amount="number"), id="no-old-properties"),
]


@pytest.mark.parametrize(("old", "new"), NOT_BREAKING)
def test_breaking_changes__additions_and_relaxations_do_not_break(old: dict, new: dict) -> None:
    assert breaking_changes(old, new) == []


def test_breaking_changes__between_contracts_from_training_data() -> None:
    # given: the new training data has no nulls in `age` and no `country` column
    old = input_json_schema(SCHEMA, train_frame())
    train = train_frame().drop(columns="country").assign(age=lambda f: f["age"].fillna(50.0))
    new = input_json_schema(Schema(target="y", numeric=["amount", "age"], categorical=["channel"]), train)

    # when / then
    assert breaking_changes(old, new) == ["field 'age' no longer accepts null", "field 'country' removed"]


@pytest.mark.parametrize(("old", "new", "expected"), BREAKING)
def test_breaking_field_changes__the_same_breaks_from_the_field_types_alone(old: dict, new: dict, expected) -> None:
    """What a registry record keeps of a contract (its field types) is enough to find the breaks."""
    assert breaking_field_changes(field_types(old), field_types(new)) == expected


def test_breaking_field_changes__takes_a_type_named_alone() -> None:
    assert breaking_field_changes({"amount": "number"}, {"amount": ["null", "number"]}) == []
    assert breaking_field_changes({"amount": ["number"]}, {"amount": "string"}) == [
        "field 'amount' retyped from number to string"
    ]


def test_field_types__each_field_sorted_types() -> None:
    schema = input_json_schema(SCHEMA, train_frame())

    assert field_types(schema) == {
        "amount": ["number"],
        "age": ["null", "number"],
        "channel": ["string"],
        "country": ["null", "string"],
    }


def test_field_types__empty_without_properties() -> None:
    assert field_types({}) == {}


TIMED = Schema(
    target="y",
    numeric=["amount", "ts_hour", "ts_dayofweek"],
    categorical=["channel"],
    time_column="ts",
)


def timed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [1.0, 2.0],
            "ts_hour": [13.0, np.nan],
            "ts_dayofweek": [4.0, np.nan],
            "channel": ["web", "pos"],
        }
    )


def test_input_json_schema__raw_record_with_the_time_column() -> None:
    contract = input_json_schema(TIMED, timed_frame())

    assert contract[INPUT_FORM] == "raw"
    assert list(contract["properties"]) == ["amount", "ts", "channel"]
    assert contract["required"] == ["amount", "ts", "channel"]
    field = contract["properties"]["ts"]
    assert field["type"] == ["string", "null"], "nullable: training had rows without a time"
    assert field["pattern"] == TIME_PATTERN
    assert field[DERIVED] == {"ts_hour": "hour", "ts_dayofweek": "day_of_week"}


def test_model_features__a_time_field_stands_for_its_parts() -> None:
    assert model_features(input_json_schema(TIMED, timed_frame())) == ["amount", "ts_hour", "ts_dayofweek", "channel"]
    assert model_features(input_json_schema(SCHEMA, train_frame())) == SCHEMA.features


def test_input_json_schema__a_numeric_time_column_is_a_feature() -> None:
    schema = Schema(target="y", numeric=["amount", "ts"], categorical=["channel"], time_column="ts")
    train = pd.DataFrame({"amount": [1.0], "ts": [1.7e9], "channel": ["web"]})

    contract = input_json_schema(schema, train)

    assert contract["properties"]["ts"] == {"type": "number", "x-training-range": [1.7e9, 1.7e9]}
    assert time_features(schema) == {}


def test_breaking_changes__the_derived_form_to_the_raw_form_is_major() -> None:
    derived = input_json_schema(Schema(target="y", numeric=TIMED.numeric, categorical=["channel"]), timed_frame())
    raw = input_json_schema(TIMED, timed_frame())

    assert breaking_changes(derived, raw) == ["field 'ts_hour' removed", "field 'ts_dayofweek' removed"]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-02-29T00:00:00", True),
        ("2000-02-29", True),
        ("0400-02-29 12:30", True),
        ("1900-02-29", False),
        ("0821-02-29", False),
        ("2026-02-29", False),
        ("2026-04-31", False),
        ("2026-02-21T24:00:00", False),
        ("2026-02-21T03:12:00Z", False),
    ],
)
def test_time_pattern__accepts_exactly_what_the_time_parts_read(text: str, valid: bool) -> None:
    import re

    import pyarrow as pa

    from mlci.core.time_parts import as_timestamp
    from mlci.model.input_schema import TIME_PATTERN

    assert bool(re.match(TIME_PATTERN, text)) is valid
    if valid:
        as_timestamp(pa.array([text]))
    else:
        with pytest.raises(ValueError):
            as_timestamp(pa.array([text]))
