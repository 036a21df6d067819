"""One module per DVC stage: generate (with the demo data model), ingest, validate, split, train, evaluate."""
