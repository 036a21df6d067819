"""The prediction service: a release package (or the workspace model) behind FastAPI and uvicorn.

`python -m mlci.serve` (what `make serve` and the container image run) verifies and loads the model, then serves
`POST /predict`, `GET /health` and `GET /metadata`. Kept free of imports so that `python -m mlci.serve.healthcheck`,
the container's health probe, starts in milliseconds.
"""
