"""The request and response types of `POST /predict`, built from the release's input JSON Schema.

The training schema (`model.input_schema`) says which fields a record has, which are numbers and which strings, and
which may be null; `request_types` turns it into a strict pydantic `Record` (a TypedDict, so any column name works
and validation is fast) and a `Batch` of records, so `/docs` shows the real fields and the service enforces them:
- a number field takes JSON numbers only (not strings, not booleans, not NaN or infinity);
- a string field takes any string: values training never saw are accepted, and the model treats them as it treats
  unseen categories (the pipeline's encoder maps them to "unknown");
- a date-time field (the raw time column) takes an ISO-8601 date and time; the model's time features are derived from
  it by `core.time_parts`, the code `validate` derived them with in training, so serving cannot skew from training;
- null only where training had missing values; no unknown fields; no missing ones.

A contract in the derived form (a package built before the raw form; see `model.input_schema`) lists the time features
themselves, and is served as it was.

`describe_errors` turns pydantic's validation errors into one line per field, naming the field and what is allowed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Required

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model
from typing_extensions import TypedDict

from mlci.core.errors import ReleaseError
from mlci.core.time_parts import as_timestamp, time_part
from mlci.model.input_schema import DERIVED, TIME_PATTERN

MAX_ERRORS = 20  # errors listed in one response; the count of the others is given
MAX_SHOWN = 60  # characters of a rejected value quoted back


class FieldSpec(BaseModel):
    """One input field as the contract states it."""

    name: str
    kind: Literal["number", "string", "datetime"]
    nullable: bool
    derived: dict[str, str] = {}  # a date-time field: the model features derived from it, and their time_parts
    known: list[str] = []  # categorical values seen in training (the most frequent ones)
    training_range: list[float] | None = None


class Contract:
    """The input contract of one release: its fields, request types and error wording."""

    def __init__(self, input_schema: dict[str, Any], max_batch_rows: int) -> None:
        properties = input_schema.get("properties") if isinstance(input_schema, dict) else None
        if not isinstance(properties, dict) or not all(isinstance(spec, dict) for spec in properties.values()):
            raise ReleaseError(
                "the release's input schema has no 'properties' mapping of fields; the package is not usable"
            )
        self.fields = [_field_spec(name, spec) for name, spec in properties.items()]
        if not self.fields:
            raise ReleaseError("the release's input schema lists no fields; the package is not usable")
        self.by_name = {field.name: field for field in self.fields}
        self.features = [name for field in self.fields for name in (field.derived or [field.name])]
        self.numeric = [
            name for field in self.fields if field.kind != "string" for name in (field.derived or [field.name])
        ]
        self.max_batch_rows = max_batch_rows
        self.record, self.batch, self.body = request_types(self.fields, max_batch_rows)
        self._form = _form_of(self.fields)

    def is_batch(self, body: Any) -> bool:
        """Whether a parsed body is a batch (`{"records": [...]}`) rather than one record."""
        return self._form(body) == "batch"

    def records(self, body: Any) -> list[dict[str, Any]]:
        """The validated records of a request body: a batch's records, or the one record."""
        return body.records if isinstance(body, self.batch) else [body]

    def columns(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        """The model's features, one array each in training order, typed as the pipeline's steps saw them in training.

        Numbers as float64 with NaN for null; strings as objects with NaN for null (how a missing value reaches the
        encoder in training); a date-time field as the features `core.time_parts` derives from it. Built from lists,
        which is much cheaper than pandas' per-record path. The date-times must have passed `time_errors`.
        """
        import pyarrow as pa

        columns = {}
        for field in self.fields:
            values = [record[field.name] for record in records]
            if field.kind == "datetime":
                stamps = as_timestamp(pa.array(values, type=pa.string()))
                for name, part in field.derived.items():
                    columns[name] = time_part(stamps, part).to_numpy(zero_copy_only=False)  # null becomes NaN
            elif field.kind == "number":
                columns[field.name] = np.array(values, dtype=np.float64)  # None becomes NaN
            else:
                if field.nullable:
                    values = [np.nan if value is None else value for value in values]
                columns[field.name] = np.array(values, dtype=object)
        return columns

    def frame(self, records: list[dict[str, Any]]):
        """The records as a pandas DataFrame (`columns`, as a frame): what the pipeline's `predict_proba` takes."""
        import pandas as pd

        return pd.DataFrame(self.columns(records), copy=False)

    def example(self) -> dict[str, Any]:
        return example_record(self.fields)

    def time_errors(self, records: list[dict[str, Any]], in_batch: bool) -> list[dict[str, str]]:
        """Each date-time value that `core.time_parts` cannot read, as described errors (checked once per field)."""
        import pyarrow as pa

        errors = []
        for field in self.fields:
            if field.kind != "datetime":
                continue
            try:
                as_timestamp(pa.array([record[field.name] for record in records], type=pa.string()))
                continue
            except ValueError:
                pass
            for index, record in enumerate(records):
                try:
                    as_timestamp(pa.array([record[field.name]], type=pa.string()))
                except ValueError:
                    where = f"records[{index}].{field.name}" if in_batch else field.name
                    errors.append(
                        {"field": where, "message": f"must be {_allowed(field)}; got {_show(record[field.name])}"}
                    )
        return errors

    def describe_errors(self, errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Pydantic's errors on a body as `{"field": "records[3].amount", "message": "must be a number; got ..."}`."""
        described = []
        for error in errors:
            loc = list(error.get("loc", ()))
            if loc and loc[0] == "body":
                loc = loc[1:]
            in_batch = bool(loc) and loc[0] == "batch"
            if loc and loc[0] in ("record", "batch"):  # the tag of the union member, not a field
                loc = loc[1:]
            described.append({"field": _path(loc), "message": self._message(error, loc, in_batch)})
        return described

    def _message(self, error: Mapping[str, Any], loc: list[Any], in_batch: bool) -> str:
        kind, value = error.get("type", ""), error.get("input")
        field = self.by_name.get(str(loc[-1])) if loc and not isinstance(loc[-1], int) else None
        if in_batch and len(loc) == 1 and loc[0] == "records":
            field = None  # the batch's own key, even should a feature be called `records`
        got = f"; got {_show(value)}"
        if kind == "missing":
            if not loc:
                return f"the body is empty; send {_FORMS}"
            return "is required" + ("" if field is None else f" ({_allowed(field)})")
        if kind == "extra_forbidden":
            allowed = "records" if in_batch and len(loc) == 1 else ", ".join(self.by_name)
            return f"is not a field the model takes; allowed fields: {allowed}"
        if field is not None and kind in {"float_type", "string_type", "float_parsing", "string_pattern_mismatch"}:
            if value is None:
                return f"must not be null: training had no missing values here ({_allowed(field)})"
            if field.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
                return f"is too large for a 64-bit float{got}"
            return f"must be {_allowed(field)}{got}"
        if kind == "finite_number":
            return f"must be a finite number{got}"
        if in_batch and loc == ["records"]:
            if kind == "too_short":
                return "must hold at least one record; got an empty list"
            if kind == "too_long":
                count = len(value) if isinstance(value, list) else "more"
                return (
                    f"must hold at most {self.max_batch_rows} records (serve.max_batch_rows); got {count}; "
                    "split the batch"
                )
            if kind == "list_type":
                return f"must be a list of records{got}"
        if isinstance(value, bytes):  # FastAPI hands over the raw body when it is not sent as JSON
            return f"must be JSON sent with Content-Type: application/json: {_FORMS}"
        if kind in {"dict_type", "model_type", "model_attributes_type", "typed_dict_type"}:
            what = "each record" if in_batch and loc else "the body"
            hint = "" if in_batch else f"; send {_FORMS} with Content-Type: application/json"
            return f"{what} must be a JSON object{hint}{got}"
        return f"{error.get('msg', 'is not valid')}{got}"


EXAMPLE_TIME = "2024-03-01T13:45:00"
_FORMS = 'one record as a JSON object ({"field": value, ...}) or a batch ({"records": [record, ...]})'


def _field_spec(name: str, spec: dict[str, Any]) -> FieldSpec:
    kind = spec.get("type")
    types = {kind} if isinstance(kind, str) else set(kind or [])
    base = types - {"null"}
    if base not in ({"number"}, {"string"}):
        raise ReleaseError(
            f"input schema field {name!r} has type {sorted(types)}; the service takes number or string fields"
        )
    derived = spec.get(DERIVED) or {}
    if base == {"string"} and derived:
        if not isinstance(derived, dict) or not all(isinstance(v, str) for v in derived.values()):
            raise ReleaseError(f"input schema field {name!r}: {DERIVED} must map feature names to time parts")
        return FieldSpec(name=name, kind="datetime", nullable="null" in types, derived=derived)
    return FieldSpec(
        name=name,
        kind="number" if base == {"number"} else "string",
        nullable="null" in types,
        known=[str(value) for value in spec.get("examples", [])],
        training_range=spec.get("x-training-range"),
    )


def example_record(fields: list[FieldSpec]) -> dict[str, Any]:
    """A valid record: the lower end of each number's training range, the first known value of each string."""
    example: dict[str, Any] = {}
    for field in fields:
        if field.kind == "number":
            example[field.name] = field.training_range[0] if field.training_range else 0.0
        elif field.kind == "datetime":
            example[field.name] = EXAMPLE_TIME
        else:
            example[field.name] = field.known[0] if field.known else "unknown"
    return example


def _allowed(field: FieldSpec) -> str:
    null = " or null" if field.nullable else ""
    if field.kind == "number":
        return f"a number{null}"
    if field.kind == "datetime":
        return f"an ISO-8601 date-time without a zone offset, such as {EXAMPLE_TIME}{null}"
    shown = ", ".join(field.known[:10]) + (", ..." if len(field.known) > 10 else "")
    known = f"; known values: {shown} (others are treated as unseen)" if field.known else ""
    return f"a string{null}{known}"


def _path(loc: list[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def request_types(fields: list[FieldSpec], max_batch_rows: int) -> tuple[Any, Any, Any]:
    """`Record` (one record), `Batch` (`{"records": [...]}`) and the body type that takes either.

    Types made at run time from the release's fields, so a type checker sees them as `Any`.
    """
    annotations: dict[str, Any] = {}
    for field in fields:
        if field.kind == "number":
            kind: Any = float
            info = Field(allow_inf_nan=False, description=_number_description(field))
        elif field.kind == "datetime":
            kind = Annotated[str, Field(pattern=TIME_PATTERN)]
            info = Field(description=_time_description(field))
        else:
            kind = str
            info = Field(description=_string_description(field), examples=field.known[:10] or None)
        annotations[field.name] = Required[Annotated[kind | None if field.nullable else kind, info]]
    # The functional form, from a mapping made at run time: column names need not be identifiers.
    record: Any = TypedDict("Record", annotations)  # type: ignore[misc]
    record.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
        strict=True,
        extra="forbid",
        title="Record",
        json_schema_extra={"examples": [example_record(fields)]},
    )
    batch: Any = create_model(
        "Batch",
        __config__=ConfigDict(strict=True, extra="forbid"),
        records=(Annotated[list[record], Field(min_length=1, max_length=max_batch_rows)], ...),
    )
    body: Any = Annotated[
        Annotated[record, Tag("record")] | Annotated[batch, Tag("batch")],
        Discriminator(_form_of(fields)),
    ]
    return record, batch, body


def _form_of(fields: list[FieldSpec]):
    """Which form a body is: a batch when it is an object with a `records` key, else one record.

    (Should a feature itself be called `records`, a batch is an object whose `records` is a list.)
    """
    records_is_a_field = any(field.name == "records" for field in fields)

    def form(body: Any) -> str:
        if not isinstance(body, dict) or "records" not in body:
            return "record"
        return "batch" if not records_is_a_field or isinstance(body["records"], list) else "record"

    return form


def _number_description(field: FieldSpec) -> str:
    seen = ""
    if field.training_range:
        low, high = field.training_range
        seen = f" Training values ranged from {low:g} to {high:g}; others are accepted."
    null = " Null for a missing value." if field.nullable else " Never null."
    return f"A number.{seen}{null}"


def _time_description(field: FieldSpec) -> str:
    null = " Null for a missing value." if field.nullable else " Never null."
    return (
        f"An ISO-8601 date and time without a zone offset, such as {EXAMPLE_TIME}; the model reads "
        f"{' and '.join(field.derived)}, derived from it as in training.{null}"
    )


def _string_description(field: FieldSpec) -> str:
    null = " Null for a missing value." if field.nullable else " Never null."
    return f"A category. Values outside the examples are accepted and treated as unseen.{null}"
