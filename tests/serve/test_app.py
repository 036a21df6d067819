"""The app in process (no server), `python -m mlci.serve`'s refusals, the serve params, the log and the probe."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from servekit import (
    SERVE_PARAMS,
    VERSION,
    build_package,
    free_port,
    raw_records,
    records_json,
    serve_params,
    venv_environment,
)

from mlci.core.errors import ParamsError
from mlci.core.frames import read_split
from mlci.core.io import read_parquet
from mlci.core.schema import Schema
from mlci.model.input_schema import INPUT_FORM
from mlci.model.pipeline import load_model
from mlci.model.release import CHECKSUMS_FILE, checksums, load_release
from mlci.serve import healthcheck
from mlci.serve.__main__ import main
from mlci.serve.app import create_app
from mlci.serve.params import FIELD_BYTES, MIN_BODY_BYTES, ServeParams, load_serve_params
from mlci.serve.predictlog import PredictionLog


@pytest.fixture(scope="module")
def release(package):
    return load_release(package)


def TestClient(app):  # noqa: N802  # Starlette's test client, imported without its notice about httpx2
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    return TestClient(app)


def test_app__ready_after_start_up(release):
    app = create_app(release, ServeParams())
    assert TestClient(app).get("/health").status_code == 503  # lifespan not run: no warm-up prediction yet
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok", "version": VERSION}


def test_app__openapi_documents_the_fields_and_the_errors(release):
    spec = TestClient(create_app(release, ServeParams(max_batch_rows=7))).get("/openapi.json").json()

    record = spec["components"]["schemas"]["Record"]
    assert list(record["properties"]) == list(release.input_schema["properties"])
    assert record["additionalProperties"] is False
    assert spec["components"]["schemas"]["Batch"]["properties"]["records"]["maxItems"] == 7
    responses = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "422"} <= set(responses)
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")


def test_app__serves_a_package_in_the_derived_form(trained_project, tmp_path):
    # given: a package as built before the raw contract, whose fields are the model's features
    old = load_release(build_package(trained_project, tmp_path, form="derived"))
    assert INPUT_FORM not in old.input_schema
    assert {"timestamp_hour", "timestamp_dayofweek"} <= set(old.input_schema["properties"])
    assert "timestamp" not in old.input_schema["properties"]
    schema = Schema.load(trained_project / "data/validated/schema.json")
    split = trained_project / "data/split/test.parquet"
    X, _, _ = read_split(split, schema)
    X = X.iloc[:200]
    expected = load_model(trained_project / "models/model.skops").predict_proba(X)[:, 1]

    with TestClient(create_app(old, ServeParams())) as client:
        # when: its clients send the derived features, as they always did
        response = client.post("/predict", json={"records": records_json(X)})
        raw = client.post("/predict", json=raw_records(read_parquet(split).to_pandas(), schema)[0])

    # then: the same probabilities as the offline pipeline; the raw record is not its contract
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["probabilities"], expected, rtol=0, atol=1e-12)
    assert raw.status_code == 422
    problems = {error["field"]: error["message"] for error in raw.json()["errors"]}
    assert problems["timestamp"].startswith("is not a field the model takes"), raw.text
    assert problems["timestamp_hour"] == "is required (a number)", raw.text


def test_app__serves_a_release_published_before_the_model_package():
    # given: a LightGBM release package as published when the model artifact lived in `mlci.core`
    pytest.importorskip("lightgbm", reason="the scale extra is not installed: make setup-scale")
    fixture = Path(__file__).parents[1] / "fixtures" / "release_before_model_package"
    archive = fixture / "lightgbm-demo-v1.0.0.tar.gz"
    expected = json.loads((fixture / "expected.json").read_text(encoding="utf-8"))
    with tarfile.open(archive) as tar:
        skops = tar.extractfile("lightgbm-demo-v1.0.0/model.skops").read()
    assert b"mlci.core.lgbm" in zipfile.ZipFile(io.BytesIO(skops)).read("schema.json")

    # when: today's code loads it and serves its raw records
    old = load_release(archive)
    with TestClient(create_app(old, ServeParams())) as client:
        response = client.post("/predict", json={"records": expected["records"]})

    # then: the probabilities it served when it was published
    assert type(old.model).__module__ == "mlci.model.lgbm"
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(response.json()["probabilities"], expected["probabilities"], rtol=0, atol=1e-12)


def test_app__raw_contract_marks_its_form(release):
    assert release.input_schema[INPUT_FORM] == "raw"
    assert release.input_schema["properties"]["timestamp"]["x-mlci-derived"] == {
        "timestamp_hour": "hour",
        "timestamp_dayofweek": "day_of_week",
    }
    assert {"timestamp_hour", "timestamp_dayofweek"} <= set(release.features), "derived from the time field"
    assert "timestamp" not in release.features


def test_app__logs_predictions(release, tmp_path):
    log = tmp_path / "log" / "predictions.jsonl"
    app = create_app(release, ServeParams(log_path=str(log)))
    with TestClient(app) as client:
        record = client.get("/openapi.json").json()["components"]["schemas"]["Record"]["examples"][0]
        response = client.post("/predict", json={"records": [record, record]})
    assert response.status_code == 200
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [entry["input"] for entry in entries] == [record, record]
    assert [entry["probability"] for entry in entries] == response.json()["probabilities"]


def test_prediction_log__stops_at_its_bound(tmp_path, caplog):
    log = PredictionLog(tmp_path / "p.jsonl", max_bytes=1024)
    record = {"amount": 1.0, "channel": "online"}
    for _ in range(20):
        log.write("1.0.0", [record], [0.25], ["False"])
    log.close()

    size = (tmp_path / "p.jsonl").stat().st_size
    assert 0 < size <= 1024 and log.stopped
    assert "reached serve.log_max_bytes (1024 bytes): logging stopped, predictions go on" in caplog.text


def test_serve_params(tmp_path):
    path = serve_params(tmp_path, log_path="logs/p.jsonl", body_timeout_seconds=3)
    assert load_serve_params(str(path)) == ServeParams(
        **SERVE_PARAMS, log_path="logs/p.jsonl", body_timeout_seconds=3.0
    )


def test_serve_params__body_limit_sized_to_the_batch_limit():
    fields = ["amount", "channel"]  # 6 + 7 bytes of names, and FIELD_BYTES for each value
    assert ServeParams(max_batch_rows=1000).body_limit(fields) == 1000 * (13 + 2 * FIELD_BYTES)
    assert ServeParams(max_batch_rows=1).body_limit(fields) == MIN_BODY_BYTES, "never below a floor"
    assert ServeParams(max_body_bytes=5000).body_limit(fields) == 5000, "a set limit wins"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_batch_rows": 0}, "serve.max_batch_rows must be greater than or equal to 1; got 0."),
        ({"max_body_bytes": "1MB"}, "serve.max_body_bytes must be a valid integer; got '1MB'."),
        ({"log_maxbytes": 10}, "unknown key serve.log_maxbytes; allowed keys here: body_timeout_seconds, keep_"),
        ({"max_string_chars": 8}, "serve.max_string_chars must be greater than or equal to 32; got 8."),
        ({"body_timeout_seconds": 0}, "serve.body_timeout_seconds must be greater than 0; got 0."),
        ({"keep_alive_seconds": 1.5}, "serve.keep_alive_seconds must be a valid integer; got 1.5."),
    ],
)
def test_serve_params__bad_values(tmp_path, section, message):
    path = tmp_path / "params.yaml"
    path.write_text(json.dumps({"serve": section}))
    with pytest.raises(ParamsError) as caught:
        load_serve_params(str(path))
    assert message in str(caught.value)


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A folder with a params.yaml; the environment `main` reads and changes, restored afterwards."""
    for name in ("PACKAGE", "VERSION", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.chdir(tmp_path)
    serve_params(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--package", "dist/nothing-v9.9.9"], {}, "release package 'dist/nothing-v9.9.9' not found"),
        ([], {"VERSION": "9.9.9"}, "no package for version v9.9.9 under dist/"),
        ([], {"PACKAGE": "a", "VERSION": "1.0.0"}, "both a package (a) and a version (1.0.0) are given; give one"),
        (["--port", "http"], {}, "PORT must be a port number between 1 and 65535; got 'http'"),
        ([], {}, "not found; run `dvc repro`"),  # no workspace model here
    ],
    ids=["missing package", "unknown version", "package and version", "bad port", "no workspace model"],
)
def test_main__refuses_with_one_line(cli_env, capsys, monkeypatch, args, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: serve: ") and message in err and err.count("\n") == 1, err


def test_main__bad_params(cli_env, capsys, package):
    (cli_env / "params.yaml").write_text("serve:\n  max_batch_rows: 0\n")
    assert main(["--package", str(package)]) == 2
    assert "serve.max_batch_rows must be greater than or equal to 1; got 0." in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": None}, "not a usable release package (metadata.json threshold must be a number between 0 and 1"),
        ({"threshold": 1.5}, "metadata.json threshold must be a number between 0 and 1; got 1.5"),
        ({"class_labels": {"1": "fraud"}}, """metadata.json class_labels must map "0" and "1" to labels"""),
    ],
    ids=["no threshold", "threshold out of range", "a class label missing"],
)
def test_main__refuses_unusable_metadata(cli_env, capsys, package, change, message):
    """A package intact (its checksums match) whose metadata no reader can use: `load_release` refuses it."""
    broken = shutil.copytree(package, cli_env / package.name)
    metadata = json.loads((broken / "metadata.json").read_text())
    metadata.update(change)
    metadata = {key: value for key, value in metadata.items() if value is not None}
    (broken / "metadata.json").write_text(json.dumps(metadata))
    (broken / CHECKSUMS_FILE).write_text(checksums(broken))

    assert main(["--package", str(broken)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_main__refuses_a_tampered_package(package, tmp_path):
    tampered = shutil.copytree(package, tmp_path / package.name)
    model = bytearray((tampered / "model.skops").read_bytes())
    model[len(model) // 2] ^= 0x01
    (tampered / "model.skops").write_bytes(model)
    serve_params(tmp_path)

    done = subprocess.run(
        [sys.executable, "-m", "mlci.serve", "--package", str(tampered), "--port", str(free_port())],
        cwd=tmp_path,
        env=venv_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: serve: {tampered}: refusing a tampered or incomplete release package "
        "(model.skops does not match its checksum); download the release again"
    ]


def test_healthcheck__nothing_listening(monkeypatch, capsys):
    monkeypatch.setenv("PORT", str(free_port()))
    assert healthcheck.main() == 1
    assert capsys.readouterr().err.startswith("unhealthy: http://127.0.0.1:")


def test_one_openmp_thread__in_each_thread():
    """OpenMP's limit belongs to a thread: each server thread sets its own on its first prediction."""
    import threading

    import sklearn.ensemble  # noqa: F401  # loads the OpenMP runtime
    from threadpoolctl import threadpool_info, threadpool_limits

    from mlci.serve.app import _one_openmp_thread

    seen = {}

    def worker() -> None:
        threadpool_limits(limits=2, user_api="openmp")  # as a thread would start without OMP_NUM_THREADS=1
        _one_openmp_thread()
        seen["threads"] = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["threads"] == {1}
