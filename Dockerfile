# The prediction service image: one release package, served by `python -m mlci.serve` (the command `make serve` runs).
#
#   make package                                   # writes dist/<model>-v<version>/
#   docker build --build-arg PACKAGE=dist/fraud-model-v1.2.0 -t fraud-model:1.2.0 .
#   docker run --rm -p 8000:8000 fraud-model:1.2.0
#
# The base image is pinned by tag (Dependabot's docker updates propose new 3.11 patch releases; the locks are compiled
# for Python 3.11). Pin it by digest as well (python:3.11.14-slim@sha256:...) once you have checked the digest.

# Build stage: the hash-locked runtime set and the project, installed by the uv that requirements.txt pins.
FROM python:3.11.14-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1
WORKDIR /build
# The runtime lock to install: requirements.txt, or requirements-scale.txt for a model trained with
# `train.engine: dask_lightgbm` (it holds the runtime set and LightGBM; deploy.yml passes the one params.yaml needs).
ARG LOCK=requirements.txt
COPY requirements.txt requirements-scale.txt ./
# uv's own entry in requirements.txt (the pin and its hashes), installed with pip --require-hashes, as `make` does.
RUN awk '/^uv==/ {found = 1} found {print} found && !/\\$/ {exit}' requirements.txt > uv-requirement.txt \
    && pip install --no-cache-dir --require-hashes --no-deps -r uv-requirement.txt \
    && uv venv --python /usr/local/bin/python3 /opt/venv \
    && uv pip install --python /opt/venv/bin/python --require-hashes -r "${LOCK}"
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN uv pip install --python /opt/venv/bin/python --no-deps .

# Runtime stage: the virtual environment, params.yaml (the `serve:` limits), the release package; no build tools.
FROM python:3.11.14-slim
# The release package to serve: a directory `make package` wrote, relative to the build context.
ARG PACKAGE=dist/set-the-PACKAGE-build-arg
RUN useradd --system --no-log-init --uid 10001 --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY params.yaml ./
COPY ${PACKAGE} /app/package/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    PACKAGE=/app/package \
    WEB_CONCURRENCY=2
USER 10001
EXPOSE 8000
# Standard library only (no curl in the image): exit 0 when GET /health answers 200. WEB_CONCURRENCY worker processes
# (one per core is the rule of thumb; each holds its own copy of the model). Set SERVE_API_KEY (docker run -e ...) to
# require a key on /predict and /metadata; a public deployment still belongs behind an authenticating proxy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-m", "mlci.serve.healthcheck"]
CMD ["python", "-m", "mlci.serve"]
