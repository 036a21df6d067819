"""The checks on a body before validation: the JSON parse, and the records, keys and characters a body may hold."""

from __future__ import annotations

import pytest

from mlci.serve.contract import Contract
from mlci.serve.limits import Refusal, check_size, parse

SCHEMA = {"properties": {"amount": {"type": "number"}, "channel": {"type": "string"}}}
GOOD = {"amount": 1.0, "channel": "web"}


@pytest.fixture
def contract() -> Contract:
    return Contract(SCHEMA, max_batch_rows=3)


def refusal(call, *args) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args)
    return caught.value


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            b'{"amount": 1,',
            "the body is not valid JSON: Expecting property name enclosed in double quotes (at character",
        ),
        (b'{"a": "\xff"}', "the body is not valid JSON: it is not UTF-8 text (at byte 7)"),
        (b"[" * 100_000, "the body is not valid JSON for this service: it nests too deeply"),
    ],
    ids=["malformed", "not UTF-8", "deep nesting"],
)
def test_parse__refuses(body, detail):
    refused = refusal(parse, body)
    assert refused.status == 400 and refused.detail.startswith(detail), refused.detail


def test_parse__json():
    assert parse(b'{"records": [{"amount": 1.5}]}') == {"records": [{"amount": 1.5}]}


def test_check_size__good_bodies_pass(contract):
    check_size(GOOD, contract, 32)
    check_size({"records": [GOOD] * 3}, contract, 32)
    check_size({"amount": 1.0, "colour": "red"}, contract, 32)  # no more keys than fields: validation names them
    check_size([GOOD], contract, 32)  # not an object: validation says so


@pytest.mark.parametrize(
    ("body", "detail", "count"),
    [
        (
            {"records": [GOOD] * 4},
            "records: must hold at most 3 records (serve.max_batch_rows); got 4; split the batch",
            1,
        ),
        (
            {**GOOD, **{f"k{i}": 1 for i in range(30)}},
            "k0: is not a field the model takes; allowed fields: amount, channel (and 29 more problems, the first 20 "
            "listed in errors)",
            20,
        ),
        (
            {"records": [GOOD, {**GOOD, "channel": "x" * 33}]},
            "records[1].channel: must be at most 32 characters (serve.max_string_chars); got 33",
            1,
        ),
        (
            {"records": [GOOD], "extra": 1},
            "extra: is not a field the model takes; allowed fields: records",
            1,
        ),
        (
            {"x" * 100: 1, "y": 2, "z": 3},
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: is not a field the model takes",
            3,
        ),
    ],
    ids=["too many records", "too many keys", "long string", "batch key", "long key"],
)
def test_check_size__refuses(contract, body, detail, count):
    refused = refusal(check_size, body, contract, 32)
    assert refused.status == 422
    assert refused.detail.startswith(detail), refused.detail
    assert len(refused.errors) == count
