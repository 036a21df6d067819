"""Not stages: the demo data model, the CSV reader, the Dask training engine, and `make new-batch` beside the demo."""
