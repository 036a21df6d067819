"""The model's input contract as JSON Schema: one record as the data file holds it, its fields' types and nullability.

Written into every release package (`input_schema.json`) and read by the prediction service, which builds its request
model from it, so the API documents and enforces exactly what training saw. Numeric features are numbers; categorical
features are strings whose known values are listed (others are accepted: the model treats them as unseen, as in
training); a field may be null only when the training data had missing values in it.

The record is the raw one (`"x-mlci-input-form": "raw"`): the time column is one date-time string field, and the
features `validate` derives from it (`core.time_parts`) are listed under that field's `x-mlci-derived`, so whoever
scores a record derives them with the same code training used. A contract without the marker (packages built before
it) is in the derived form: its fields are the model's features themselves.
"""

from __future__ import annotations

from typing import Any

from mlci.core.schema import Schema
from mlci.core.time_parts import derived_names

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# How many of a categorical feature's most frequent training values the contract lists.
MAX_LISTED_CATEGORIES = 50
INPUT_FORM = "x-mlci-input-form"  # "raw"; absent: the derived form of older packages
DERIVED = "x-mlci-derived"  # on a raw time field: {model feature: core.time_parts function}
# What `core.time_parts.as_timestamp` reads from text: a date of the (proleptic) Gregorian calendar, February 29th
# only in leap years, and a time to the second, with no zone offset (JSON Schema's "date-time" format requires one, so
# it is not claimed).
_LEAP_YEAR = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
TIME_PATTERN = (
    r"^(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))|" + _LEAP_YEAR + r"-02-29)"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)?$"
)


def input_json_schema(schema: Schema, train: Any, title: str = "Input record") -> dict[str, Any]:
    """JSON Schema of one raw input record, from the training schema and the training features (a pandas DataFrame)."""
    derived = time_features(schema)
    properties: dict[str, Any] = {}
    for name in schema.features:
        if name in derived:
            assert schema.time_column is not None  # features are derived from a time column only
            if schema.time_column not in properties:
                properties[schema.time_column] = _time_field(derived, train)
            continue
        column = train[name]
        nullable = bool(column.isna().any())
        if name in schema.numeric:
            field: dict[str, Any] = {"type": ["number", "null"] if nullable else "number"}
            present = column.dropna()
            if len(present):
                field["x-training-range"] = [float(present.min()), float(present.max())]
        else:
            field = {"type": ["string", "null"] if nullable else "string"}
            known = column.dropna().astype(str).value_counts()
            field["examples"] = sorted(known.index[:MAX_LISTED_CATEGORIES].tolist())
            field["description"] = "Values outside the examples are accepted and treated as unseen categories."
        properties[name] = field
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": title,
        "type": "object",
        INPUT_FORM: "raw",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def time_features(schema: Schema) -> dict[str, str]:
    """The model features derived from the schema's time column, with their `core.time_parts` function; or {}."""
    if schema.time_column is None or schema.time_column in schema.features:  # a numeric time column is a feature
        return {}
    derived = derived_names(schema.time_column)
    return derived if set(derived) <= set(schema.numeric) else {}


def _time_field(derived: dict[str, str], train: Any) -> dict[str, Any]:
    nullable = any(bool(train[name].isna().any()) for name in derived)
    return {
        "type": ["string", "null"] if nullable else "string",
        "pattern": TIME_PATTERN,
        "description": (
            "An ISO-8601 date and time without a zone offset, as in the training data (2024-03-01T13:45:00); "
            f"the model reads its {' and '.join(derived)}."
        ),
        DERIVED: dict(derived),
    }


def model_features(contract: dict[str, Any]) -> list[str]:
    """The features the model reads, in contract order: a raw time field stands for the features derived from it."""
    features: list[str] = []
    for name, field in contract.get("properties", {}).items():
        derived = field.get(DERIVED) if isinstance(field, dict) else None
        features += list(derived) if isinstance(derived, dict) else [name]
    return features


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in the contract `new` breaks a client of the contract `old` (see `breaking_field_changes`)."""
    return breaking_field_changes(field_types(old), field_types(new))


def breaking_field_changes(old: dict[str, list[str]], new: dict[str, list[str]]) -> list[str]:
    """What in the fields `new` breaks a client of `old`: a field removed (or renamed), retyped, or no longer nullable.

    Both map each field to its JSON types (`field_types`), which is what a registry record keeps of a contract. A new
    version of the model is a major version when this list is not empty. A field added is a change of the features,
    not a break (a minor version): the release notes list it, since clients must start sending it.
    """
    changes = []
    for name, types in old.items():
        if name not in new:
            changes.append(f"field {name!r} removed")
            continue
        old_types, new_types = _as_set(types), _as_set(new[name])
        if (old_types - {"null"}) != (new_types - {"null"}):
            changes.append(f"field {name!r} retyped from {_show(old_types)} to {_show(new_types)}")
        elif "null" in old_types and "null" not in new_types:
            changes.append(f"field {name!r} no longer accepts null")
    return changes


def field_types(contract: dict[str, Any]) -> dict[str, list[str]]:
    """Each field's JSON types, compactly: what a registry record keeps of the contract."""
    return {name: sorted(_types(field)) for name, field in contract.get("properties", {}).items()}


def _types(field: dict[str, Any]) -> set[str]:
    return _as_set(field.get("type", []))


def _as_set(types: str | list[str]) -> set[str]:
    """JSON Schema's `type`: one name or a list of them."""
    return {types} if isinstance(types, str) else set(types)


def _show(types: set[str]) -> str:
    return "/".join(sorted(types))
