"""What the serving tests share: a release package built from a trained project, a server process, JSON records.

The package is built the way `make package` lays one out (the four content files, `SHA256SUMS`, the `.tar.gz`), from
the model `train` fits on the demo split, so these tests do not depend on the deploy code. Imported by
`tests/serve/conftest.py` and the tests (pyproject.toml puts this folder on pytest's `pythonpath`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import replace
from pathlib import Path

import httpx
import yaml

from mlci.core.frames import read_split
from mlci.core.io import read_json, write_json
from mlci.core.schema import Schema
from mlci.model.input_schema import INPUT_FORM, input_json_schema, time_features
from mlci.model.release import CHECKSUMS_FILE, checksums
from mlci.serve.params import ServeParams

ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "fraud-model"
VERSION = "1.2.0"
THRESHOLD = 0.3  # not evaluate.threshold's default, so a test sees that labels follow the package
GIT_SHA = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret (a commit SHA)
# Small limits, so the tests can pass them with small requests.
SERVE_PARAMS = {"max_batch_rows": 100, "max_body_bytes": 64 * 1024, "log_max_bytes": 10 * 1024 * 1024}
START_TIMEOUT = 60  # seconds for a server to answer /health


def build_package(
    project: Path, dist: Path, version: str = VERSION, threshold: float = THRESHOLD, form: str = "raw"
) -> Path:
    """Write `dist/<model>-v<version>/` from `project`'s trained model, and its `.tar.gz` beside it.

    `form="derived"`: the input schema as packages were built before the raw contract, listing the model's features
    themselves (`timestamp_hour`, `timestamp_dayofweek` rather than `timestamp`), with no input-form marker.
    """
    package = dist / f"{MODEL_NAME}-v{version}"
    package.mkdir(parents=True)
    schema = Schema.load(project / "data/validated/schema.json")
    X, _, _ = read_split(project / "data/split/train.parquet", schema)
    shutil.copyfile(project / "models/model.skops", package / "model.skops")
    if form == "derived":
        contract = input_json_schema(replace(schema, time_column=None), X)
        del contract[INPUT_FORM]
    else:
        contract = input_json_schema(schema, X)
    write_json(package / "input_schema.json", contract)
    metadata = {
        "name": MODEL_NAME,
        "version": version,
        "git_sha": GIT_SHA,
        "threshold": threshold,
        "class_labels": schema.class_labels,
        "metrics": read_json(project / "reports/eval/metrics.json"),
    }
    write_json(package / "metadata.json", metadata)
    (package / "MODEL_CARD.md").write_text(f"# {MODEL_NAME} v{version}\n\nA test model.\n", encoding="utf-8")
    (package / CHECKSUMS_FILE).write_text(checksums(package), encoding="utf-8")
    with tarfile.open(dist / f"{package.name}.tar.gz", "w:gz") as tar:
        tar.add(package, arcname=package.name)
    return package


def serve_params(folder: Path, **changes) -> Path:
    """Write `folder/params.yaml` with a `serve:` section (the other sections take their defaults)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({"serve": {**SERVE_PARAMS, **changes}}), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def venv_environment(**extra: str) -> dict[str, str]:
    """This environment, with this virtual environment's `python` first on PATH, and `extra` on top."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


class Server:
    """A process serving on 127.0.0.1:`port`, its output in `log`."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer /health within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process by its id: SIGTERM (uvicorn shuts down cleanly), then SIGKILL after 10 s."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def records_json(X) -> list[dict]:
    """The rows of a feature frame as the JSON records a client sends: NaN as null, floats exact (Python's repr)."""
    rows = X.to_dict(orient="records")
    return json.loads(json.dumps([{k: None if v != v else v for k, v in row.items()} for row in rows]))


def raw_records(split, schema: Schema) -> list[dict]:
    """Rows of a split (a pandas frame) as a client sends them, timestamps as ISO-8601 strings.

    The raw record: the data file's columns less the target and the features `validate` derived from the time column.
    """
    frame = split.drop(columns=[schema.target, *time_features(schema)])
    for name in frame.columns:
        if str(frame[name].dtype).startswith("datetime"):
            frame[name] = [None if stamp is None or stamp != stamp else stamp.isoformat() for stamp in frame[name]]
    return records_json(frame)


def abusive_bodies(fields: list[str]) -> dict[str, tuple[bytes, int, str]]:
    """Bodies that cost a naive service seconds and hundreds of MB: (body, status, fragment of the detail)."""
    limit = ServeParams().body_limit(fields)
    unknown_keys = 250_000
    return {
        "250k unknown keys": (
            json.dumps({f"key{i:06d}": 1 for i in range(unknown_keys)}).encode(),
            413,
            "larger than",
        ),
        "1000 records x 300 keys": (
            json.dumps({"records": [{f"k{i:03d}": 1.0 for i in range(300)}] * 1000}).encode(),
            413,
            "larger than",
        ),
        "unknown keys just under the limit": (
            json.dumps({f"key{i:07d}": 1 for i in range(limit // 16)}).encode(),
            422,
            "is not a field the model takes",
        ),
        "200k empty records": (b'{"records": [' + b",".join([b"{}"] * 200_000) + b"]}", 422, "at most 1000 records"),
        "a long string": (json.dumps({"channel": "x" * (limit - 100)}).encode(), 422, "at most 256 characters"),
        "deep nesting": (b"[" * (limit - 10), 400, "nests too deeply"),
    }
