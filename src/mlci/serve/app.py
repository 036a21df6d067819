"""The FastAPI app: `POST /predict`, `GET /health`, `GET /metadata`, for one loaded release.

`create_app(release, params)` takes a release that is already verified and loaded (`core.release`), so a missing or
tampered package stops `python -m mlci.serve` before anything listens. Endpoints are plain `def`: FastAPI runs them
in its thread pool, so a prediction never blocks the event loop. Each of those threads predicts on one OpenMP thread
(the limit is per thread, so it is set in each thread on its first prediction): small inputs are up to 15x slower
with every core woken (scikit-learn#30662), and one uvicorn worker per core scales better than threads.

Bad input is a 4xx that names the field and what is allowed: 400 for a body that is not JSON, 413 for a body over
`serve.max_body_bytes` (checked before it is parsed), 422 for a body that breaks the contract. No request makes a 5xx.

(No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations, which refer to the request
types built for this release inside `create_app`.)
"""

import threading
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Body, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlci.core.errors import ReleaseError
from mlci.core.release import Release
from mlci.serve.contract import MAX_ERRORS, Contract
from mlci.serve.params import ServeParams
from mlci.serve.predictlog import PredictionLog
from mlci.serve.predictor import Predictor


class Prediction(BaseModel):
    """Scores of the records, in request order."""

    model_version: str
    threshold: float
    probabilities: list[float]
    labels: list[str]


class Health(BaseModel):
    status: Literal["ok", "loading"]
    version: str


class Metadata(BaseModel):
    name: str | None
    version: str
    git_sha: str | None
    threshold: float
    class_labels: dict[str, str]
    metrics: dict[str, Any]
    input_schema: dict[str, Any]
    source: str


class FieldError(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    """A 4xx: `detail` says what is wrong in one line; `errors` lists each field's problem."""

    detail: str
    errors: list[FieldError] = []


ERRORS = {
    400: {"model": ErrorResponse, "description": "The body is not valid JSON"},
    413: {"model": ErrorResponse, "description": "The body is larger than serve.max_body_bytes"},
    422: {"model": ErrorResponse, "description": "The body breaks the input contract; each field's problem is listed"},
}
_threads = threading.local()


def create_app(release: Release, params: ServeParams) -> FastAPI:
    """The service for `release`, with the limits and the prediction log of `params`."""
    contract = Contract(release.input_schema, params.max_batch_rows)
    model, version = release.model, release.version
    threshold, negative, positive = decision(release)
    _serial(model)
    predictor = Predictor(model, [field.name for field in contract.fields if field.kind == "number"])
    log = PredictionLog(params.log_path, params.log_max_bytes) if params.log_path else None
    ready = threading.Event()

    def score(records: list[dict[str, Any]]) -> tuple[list[float], list[str]]:
        columns = contract.columns(records)
        _one_openmp_thread()
        p = predictor.positive_probabilities(columns)
        if not np.isfinite(p).all():
            raise HTTPException(422, "the model cannot score these values (too large); check the records' numbers")
        return p.tolist(), np.where(p >= threshold, positive, negative).tolist()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        score([contract.example()])  # the first prediction pays for lazy set-up; not a client's request
        ready.set()
        yield
        if log is not None:
            log.close()

    name = release.metadata.get("name")
    app = FastAPI(
        title=f"{name or 'Model'} prediction service",
        version=version,
        description=(
            f"Scores records with model version {version} (from {release.source}). "
            f"Labels are `{positive}` when the probability is at least the threshold {threshold}, else `{negative}`."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=params.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        not_json = next((error for error in errors if error.get("type") == "json_invalid"), None)
        if not_json is not None:
            reason = not_json.get("ctx", {}).get("error", "JSON decode error")
            position = not_json["loc"][-1]
            return _error(400, f"the body is not valid JSON: {reason} (at character {position})")
        described = contract.describe_errors(errors[:MAX_ERRORS])  # a bad 1,000-row batch may have 10,000
        first = f"{described[0]['field']}: {described[0]['message']}"
        listed = "listed in errors" if len(errors) <= MAX_ERRORS else f"the first {MAX_ERRORS} listed in errors"
        more = f" (and {len(errors) - 1} more problems, {listed})" if len(errors) > 1 else ""
        return _error(422, first + more, described)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.post("/predict", response_model=Prediction, responses=ERRORS, summary="Score one record or a batch")
    def predict(body: Annotated[contract.body, Body()]) -> dict[str, Any]:
        """Send one record as a JSON object, or a batch as `{"records": [...]}`; the fields are listed below."""
        records = contract.records(body)
        probabilities, labels = score(records)
        if log is not None:
            log.write(version, records, probabilities, labels)
        return {"model_version": version, "threshold": threshold, "probabilities": probabilities, "labels": labels}

    @app.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Still loading"}})
    def health() -> Any:
        """Ready (200) once the model is loaded and has made its first prediction."""
        if not ready.is_set():
            return JSONResponse({"status": "loading", "version": version}, status_code=503)
        return {"status": "ok", "version": version}

    @app.get("/metadata", response_model=Metadata)
    def metadata() -> dict[str, Any]:
        """What is served: version, commit, metrics at release, and the input contract."""
        facts = release.metadata
        return {
            "name": facts.get("name"),
            "version": version,
            "git_sha": facts.get("git_sha"),
            "threshold": threshold,
            "class_labels": release.class_labels,
            "metrics": facts.get("metrics") or {},
            "input_schema": release.input_schema,
            "source": release.source,
        }

    return app


def decision(release: Release) -> tuple[float, str, str]:
    """The threshold and the negative and positive labels from the release's metadata; `ReleaseError` if unusable."""
    try:
        threshold = release.threshold
        labels = release.class_labels
        negative, positive = str(labels["0"]), str(labels["1"])
    except (KeyError, TypeError, ValueError) as exc:
        problem = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) else f"a value is not valid ({exc})"
        raise ReleaseError(
            f"{release.source}: metadata.json needs 'threshold' (a number) and 'class_labels' (labels of '0' and '1'); "
            f"{problem}"
        ) from exc
    if not 0 < threshold < 1:
        raise ReleaseError(f"{release.source}: metadata.json 'threshold' must be between 0 and 1; got {threshold}")
    return threshold, negative, positive


def _error(status: int, detail: str, errors: list | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status, headers=headers)


def _one_openmp_thread() -> None:
    """Limit OpenMP (and BLAS) to one thread in the calling thread, once: OpenMP's limit is per thread."""
    if not getattr(_threads, "limited", False):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        _threads.limited = True


def _serial(model: Any) -> None:
    """No joblib threads inside a prediction (a random forest's `n_jobs=-1`): the server's threads parallelise."""
    for _, step in getattr(model, "steps", [(None, model)]):
        if hasattr(step, "n_jobs"):
            step.n_jobs = 1


class BodyLimit:
    """ASGI middleware: a 413 for a body over `max_bytes`, from its Content-Length or while reading it, before parsing.

    The body is read here (at most `max_bytes` of it) and handed on to the app whole.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._too_large(scope, receive, send)
            more = message.get("more_body", False)
        body, handed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal handed
            if handed:
                return await receive()
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        detail = f"the body is larger than {self.max_bytes} bytes (serve.max_body_bytes); send smaller batches"
        response = _error(413, detail, headers={"connection": "close"})
        await response(scope, receive, send)
