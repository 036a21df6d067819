"""A real server (`python -m mlci.serve` under uvicorn on 127.0.0.1) answering the way the offline pipeline predicts.

Given a release package of the demo model, served with small limits (100 records, 64 KiB bodies) and the prediction
log on: the test split's rows posted as they are (the raw record: the time column as a date-time, no derived
features) get the probabilities of `model.predict_proba` on the same rows, and every kind of bad input is a 4xx whose
message names the field and what is allowed.
"""

from __future__ import annotations

import json
import socket

import httpx
import numpy as np
import pytest
from servekit import GIT_SHA, SERVE_PARAMS, THRESHOLD, VERSION, raw_records

from mlci.core.frames import read_split
from mlci.core.io import read_parquet
from mlci.core.schema import Schema
from mlci.model.pipeline import load_model

pytestmark = pytest.mark.slow
MAX_ROWS = SERVE_PARAMS["max_batch_rows"]


@pytest.fixture(scope="module")
def test_rows(trained_project):
    """The test split's rows as a client sends them, and the offline model's probabilities (as `evaluate` reads it)."""
    schema = Schema.load(trained_project / "data/validated/schema.json")
    split = trained_project / "data/split/test.parquet"
    X, _, _ = read_split(split, schema)
    model = load_model(trained_project / "models/model.skops")
    return raw_records(read_parquet(split).to_pandas(), schema), model.predict_proba(X)[:, 1]


@pytest.fixture
def record(test_rows) -> dict:
    return test_rows[0][0]


def post(server, body, **options) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", json=body, timeout=30, **options)


def problems(response: httpx.Response) -> str:
    """The error's one-line detail and every field's problem, one per line."""
    body = response.json()
    return "\n".join([body["detail"], *(f"{error['field']}: {error['message']}" for error in body["errors"])])


def test_predict__equals_the_offline_pipeline(server, test_rows):
    records, expected = test_rows
    assert any(None in record.values() for record in records), "the test rows should include missing values"
    assert "timestamp" in records[0] and "timestamp_hour" not in records[0], "the raw record, not the model's features"

    probabilities, labels = [], []
    for start in range(0, len(records), MAX_ROWS):
        response = post(server, {"records": records[start : start + MAX_ROWS]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_version"] == VERSION and body["threshold"] == THRESHOLD
        probabilities += body["probabilities"]
        labels += body["labels"]

    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-12)
    assert labels == ["True" if p >= THRESHOLD else "False" for p in expected]


def test_predict__one_record(server, test_rows):
    records, expected = test_rows
    response = post(server, records[3])
    assert response.status_code == 200, response.text
    assert response.json()["probabilities"] == pytest.approx([expected[3]], abs=1e-12)


def test_predict__unknown_category_and_allowed_null(server, record, package):
    fields = json.loads((package / "input_schema.json").read_text())["properties"]
    nullable = [name for name, field in fields.items() if "null" in field["type"]]
    assert nullable, "the demo data should have a column with missing values"
    response = post(server, {**record, "merchant_category": "space tourism", nullable[0]: None})
    assert response.status_code == 200, response.text


def changed(record: dict, **changes) -> dict:
    return {**record, **changes}


def without(record: dict, name: str) -> dict:
    return {key: value for key, value in record.items() if key != name}


BAD_BODIES = {
    # case: (body as a function of a good record, status, fragments of `detail`)
    "missing field": (lambda r: without(r, "amount"), 422, ["amount: is required (a number)"]),
    "number as text": (lambda r: changed(r, amount="12.5"), 422, ['amount: must be a number; got "12.5"']),
    "boolean for a number": (lambda r: changed(r, card_present=True), 422, ["card_present: must be a number"]),
    "number for a category": (
        lambda r: changed(r, channel=3),
        422,
        ["channel: must be a string; known values: in_store, mobile, online (others are treated as unseen); got 3"],
    ),
    "null not allowed": (
        lambda r: changed(r, amount=None),
        422,
        ["amount: must not be null: training had no missing values here"],
    ),
    "unknown field": (lambda r: changed(r, colour="red"), 422, ["colour: is not a field the model takes", "amount"]),
    "empty batch": (lambda r: {"records": []}, 422, ["records: must hold at least one record"]),
    "oversized batch": (
        lambda r: {"records": [r] * (MAX_ROWS + 1)},
        422,
        [f"records: must hold at most {MAX_ROWS} records (serve.max_batch_rows); got {MAX_ROWS + 1}"],
    ),
    "records not a list": (lambda r: {"records": r}, 422, ["records: must be a list of records"]),
    "many bad records": (
        lambda r: {"records": [without(r, "amount")] * MAX_ROWS},
        422,
        [f"records[0].amount: is required (a number) (and {MAX_ROWS - 1} more problems, the first 20 listed"],
    ),
    "bad record in a batch": (
        lambda r: {"records": [r, without(r, "channel")]},
        422,
        ["records[1].channel: is required"],
    ),
    "not an object": (lambda r: [r], 422, ["body: the body must be a JSON object"]),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_predict__bad_input(server, record, case):
    make, status, fragments = BAD_BODIES[case]
    response = post(server, make(record))
    assert response.status_code == status, response.text
    for fragment in fragments:
        assert fragment in problems(response)


@pytest.mark.parametrize(
    ("content", "headers", "status", "fragment"),
    [
        (b'{"amount": 1,', {"content-type": "application/json"}, 400, "the body is not valid JSON"),
        (b'{"amount": NaN}', {"content-type": "application/json"}, 422, "amount: must be a finite number; got NaN"),
        (b"", {"content-type": "application/json"}, 422, "body: the body is empty"),
        (b"amount=1", {"content-type": "text/plain"}, 422, "must be JSON sent with Content-Type: application/json"),
    ],
    ids=["malformed JSON", "NaN", "empty body", "not JSON"],
)
def test_predict__bad_body(server, content, headers, status, fragment):
    response = httpx.post(f"{server.url}/predict", content=content, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert fragment in problems(response)


def test_predict__huge_body_refused_before_parsing(server, record):
    limit = SERVE_PARAMS["max_body_bytes"]
    huge = json.dumps({"records": [record] * 2000}).encode()  # past the limit, and not even a valid batch size
    assert len(huge) > limit

    declared = httpx.post(f"{server.url}/predict", content=huge, headers={"content-type": "application/json"})

    def chunks():  # no Content-Length: the limit applies while reading
        for start in range(0, len(huge), 8192):
            yield huge[start : start + 8192]

    streamed = httpx.post(f"{server.url}/predict", content=chunks(), headers={"content-type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert f"larger than {limit} bytes (serve.max_body_bytes)" in response.json()["detail"]


def raw_post(server, head: bytes, body: bytes = b"") -> bytes:
    """Send a request over a plain socket, the whole body at once as most clients do, and read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(head + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_predict__a_body_far_past_the_limit_gets_its_413_not_a_reset(server, declared):
    """Megabytes past the limit: the server reads and drops them before answering, so the client reads its 413.

    Answering at once and closing with the rest unread makes the kernel reset the connection: the client's send
    fails, or the reset destroys the 413 before the client reads it.
    """
    body = b"x" * (8 * 1024 * 1024)  # well past the socket buffers on both sides
    if declared:
        framing, sent = f"content-length: {len(body)}".encode(), body
    else:
        chunks = [body[start : start + 65536] for start in range(0, len(body), 65536)]
        framing, sent = b"transfer-encoding: chunked", b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        sent += b"0\r\n\r\n"
    head = b"POST /predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n" + framing + b"\r\n\r\n"

    answer = raw_post(server, head, sent)

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"(serve.max_body_bytes)" in answer


def test_predict__a_client_expecting_100_continue_is_refused_before_it_sends(server):
    head = b"POST /predict HTTP/1.1\r\nhost: test\r\ncontent-length: 9999999\r\nexpect: 100-continue\r\n\r\n"

    answer = raw_post(server, head)  # the body is never sent: the server must answer without waiting for it

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]


def test_health_and_metadata(server, package):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok", "version": VERSION}
    facts = httpx.get(f"{server.url}/metadata").json()
    assert facts["version"] == VERSION and facts["git_sha"] == GIT_SHA and facts["threshold"] == THRESHOLD
    assert "roc_auc" in facts["metrics"]
    assert facts["input_schema"] == json.loads((package / "input_schema.json").read_text())


def test_prediction_log(server, record):
    response = post(server, {"records": [record, changed(record, channel="drone")]})
    assert response.status_code == 200
    lines = (server.log.parent / "predictions.jsonl").read_text().splitlines()
    last = [json.loads(line) for line in lines[-2:]]
    assert [entry["input"]["channel"] for entry in last] == [record["channel"], "drone"]
    assert [entry["probability"] for entry in last] == response.json()["probabilities"]
    assert {entry["version"] for entry in last} == {VERSION}
    assert "Traceback" not in server.output()
