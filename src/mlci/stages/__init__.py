"""One module per DVC stage: generate, ingest, validate, split, train, evaluate (what `dvc.yaml` runs).

What the stages share and is not a stage itself lives in `stages/helpers/`.
"""
