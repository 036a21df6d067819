"""The FastAPI app: `POST /predict`, `GET /health`, `GET /metadata`, for one loaded release.

`create_app(release, params)` takes a release that is already verified and loaded (`model.release`), so a missing or
tampered package stops `python -m mlci.serve` before anything listens. `/predict` takes the body as bytes and hands
all its work (parsing, the size checks of `limits`, validation, prediction) to the thread pool, so the event loop
only moves bytes and `/health` answers while large batches are scored. Each of those threads predicts on one OpenMP
thread (the limit is per thread, so it is set in each thread on its first prediction): small inputs are up to 15x
slower with every core woken (scikit-learn#30662), and one uvicorn worker per core scales better than threads.

Bad input is a 4xx that names the field and what is allowed: 400 for a body that is not JSON, 401 without the API key
(when `SERVE_API_KEY` is set), 408 for a body that arrives too slowly, 413 for a body over `serve.max_body_bytes`
(checked before it is read in full), 422 for a body that breaks the contract or the size limits. No request makes a
5xx.
"""

from __future__ import annotations

import json
import threading
from contextlib import asynccontextmanager
from typing import Any, Literal

import numpy as np
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from mlci.model.release import Release
from mlci.serve.contract import _FORMS, MAX_ERRORS, Contract
from mlci.serve.guard import Guard, error_response
from mlci.serve.limits import Refusal, check_size, parse
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


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not valid JSON"},
    401: {"model": ErrorResponse, "description": "The API key is missing or wrong (when the service has one)"},
    408: {"model": ErrorResponse, "description": "The body did not arrive within serve.body_timeout_seconds"},
    413: {"model": ErrorResponse, "description": "The body is larger than serve.max_body_bytes"},
    422: {
        "model": ErrorResponse,
        "description": "The body breaks the input contract or the size limits; each field's problem is listed",
    },
}
_threads = threading.local()


def create_app(release: Release, params: ServeParams, api_key: str | None = None) -> FastAPI:
    """The service for `release`, with the limits and the prediction log of `params`; `api_key`: required if given."""
    service = Service(release, params)
    name, version = release.metadata.name, release.version
    app = FastAPI(
        title=f"{name or 'Model'} prediction service",
        version=version,
        description=(
            f"Scores records with model version {version} (from {release.source}). "
            f"Labels are `{service.positive}` when the probability is at least the threshold {service.threshold}, "
            f"else `{service.negative}`."
        ),
        lifespan=service.lifespan,
    )
    app.add_middleware(
        Guard,
        max_bytes=params.body_limit(service.contract.features),
        timeout=params.body_timeout_seconds,
        api_key=api_key,
    )
    # Starlette types every handler for Exception; this one is registered for (and takes) its HTTPException only.
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    _add_routes(app, service)
    app.openapi = lambda: _openapi(app, service.body_type)  # type: ignore[method-assign]
    return app


class Service:
    """One loaded release and its limits: what `/predict` runs in the thread pool, and whether it is ready."""

    def __init__(self, release: Release, params: ServeParams) -> None:
        self.release, self.params = release, params
        self.contract = Contract(release.input_schema, params.max_batch_rows)
        self.body_type = TypeAdapter(self.contract.body)
        self.threshold, self.negative, self.positive = decision(release)
        _serial(release.model)
        self.predictor = Predictor(release.model, self.contract.numeric)
        self.log = PredictionLog(params.log_path, params.log_max_bytes) if params.log_path else None
        self.ready = threading.Event()

    def score(self, records: list[dict[str, Any]]) -> tuple[list[float], list[str]]:
        columns = self.contract.columns(records)
        _one_openmp_thread()
        p = self.predictor.positive_probabilities(columns)
        if not np.isfinite(p).all():
            raise Refusal(422, "the model cannot score these values (too large); check the records' numbers")
        return p.tolist(), np.where(p >= self.threshold, self.positive, self.negative).tolist()

    def validated(self, raw: bytes, content_type: str) -> tuple[list[dict[str, Any]], bool]:
        """The records of a body, and whether it was a batch; `Refusal` naming each problem."""
        contract = self.contract
        if not _is_json(content_type):
            message = f"must be JSON sent with Content-Type: application/json: {_FORMS}"
            raise Refusal(422, f"body: {message}", [{"field": "body", "message": message}])
        if not raw.strip():
            message = f"the body is empty; send {_FORMS}"
            raise Refusal(422, f"body: {message}", [{"field": "body", "message": message}])
        body = parse(raw)
        check_size(body, contract, self.params.max_string_chars)
        try:
            valid = self.body_type.validate_python(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            described = contract.describe_errors(errors[:MAX_ERRORS])  # a bad 1,000-row batch may have 10,000
            raise Refusal(422, _summary(described, len(errors)), described) from None
        records, in_batch = contract.records(valid), isinstance(valid, contract.batch)
        described = contract.time_errors(records, in_batch)
        if described:
            raise Refusal(422, _summary(described[:MAX_ERRORS], len(described)), described[:MAX_ERRORS])
        return records, in_batch

    def answer(self, raw: bytes, content_type: str) -> Response:
        """The whole of a prediction, run in the thread pool."""
        try:
            records, _ = self.validated(raw, content_type)
            probabilities, labels = self.score(records)
        except Refusal as refused:
            return error_response(refused.status, refused.detail, refused.errors)
        version, threshold = self.release.version, self.threshold
        if self.log is not None:
            self.log.write(version, records, probabilities, labels)
        result = {"model_version": version, "threshold": threshold, "probabilities": probabilities, "labels": labels}
        return Response(json.dumps(result), media_type="application/json")

    @asynccontextmanager
    async def lifespan(self, app: FastAPI):
        self.score([self.contract.example()])  # the first prediction pays for lazy set-up; not a client's request
        self.ready.set()
        yield
        if self.log is not None:
            self.log.close()


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


def _add_routes(app: FastAPI, service: Service) -> None:
    """`POST /predict`, `GET /health` and `GET /metadata`."""
    release, version, threshold, ready = service.release, service.release.version, service.threshold, service.ready

    @app.post("/predict", response_model=Prediction, responses=ERRORS, summary="Score one record or a batch")
    async def predict(request: Request) -> Response:
        """Send one record as a JSON object, or a batch as `{"records": [...]}`; the fields are listed below."""
        raw = await request.body()  # already read, and bounded, by `Guard`
        return await run_in_threadpool(service.answer, raw, request.headers.get("content-type", ""))

    @app.get("/health", response_model=Health, responses={503: {"model": Health, "description": "Still loading"}})
    async def health() -> Any:
        """Ready (200) once the model is loaded and has made its first prediction."""
        if not ready.is_set():
            return JSONResponse({"status": "loading", "version": version}, status_code=503)
        return {"status": "ok", "version": version}

    @app.get("/metadata", response_model=Metadata)
    async def metadata() -> dict[str, Any]:
        """What is served: version, commit, metrics at release, and the input contract."""
        facts = release.metadata
        return {
            "name": facts.name,
            "version": version,
            "git_sha": facts.git_sha,
            "threshold": threshold,
            "class_labels": release.class_labels,
            "metrics": facts.metrics,
            "input_schema": release.input_schema,
            "source": release.source,
        }


def _openapi(app: FastAPI, body_type: TypeAdapter) -> dict[str, Any]:
    """FastAPI's OpenAPI, with the request body `/predict` reads itself: the release's record, or a batch of them."""
    if app.openapi_schema is None:
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        body = body_type.json_schema(ref_template="#/components/schemas/{model}")
        spec.setdefault("components", {}).setdefault("schemas", {}).update(body.pop("$defs", {}))
        content = {"application/json": {"schema": body}}
        spec["paths"]["/predict"]["post"]["requestBody"] = {"required": True, "content": content}
        app.openapi_schema = spec
    return app.openapi_schema


def _summary(described: list[dict[str, str]], count: int) -> str:
    first = f"{described[0]['field']}: {described[0]['message']}"
    listed = "listed in errors" if count <= MAX_ERRORS else f"the first {MAX_ERRORS} listed in errors"
    return first + (f" (and {count - 1} more problems, {listed})" if count > 1 else "")


def _is_json(content_type: str) -> bool:
    """As FastAPI decides: application/json, or any application/*+json."""
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def decision(release: Release) -> tuple[float, str, str]:
    """The threshold and the negative and positive labels (checked when the release was loaded: `load_release`)."""
    labels = release.class_labels
    return release.threshold, labels["0"], labels["1"]


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
