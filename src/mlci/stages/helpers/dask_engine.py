"""The `dask_lightgbm` training engine: LightGBM's own Dask estimator, trained on a Dask cluster.

The train stage is the cluster's client. The cluster is `DASK_SCHEDULER_ADDRESS` from the environment, never from
params, so pointing at another cluster does not invalidate DVC's cache; unset, the stage starts a local cluster on
loopback (one single-threaded worker per core it may use), so a laptop, CI and a real cluster run the same code.
The workers read the training split themselves, a Parquet row group per partition: on a real cluster its path must
be on storage they share. The fitted booster comes back as LightGBM's text model, wrapped in `LightGBMModel`.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from mlci.core.errors import PipelineError
from mlci.core.io import iter_parquet
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model.lgbm import LightGBMModel

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
MAX_LOCAL_WORKERS = 8


class EngineError(PipelineError):
    """The distributed engine cannot run: its packages are missing, or the cluster is unreachable."""


def local_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_LOCAL_WORKERS))


def categories(path: Path | str, columns: list[str]) -> dict[str, list[str]]:
    """The sorted distinct values of each categorical column, read a batch at a time (memory: the categories)."""
    seen: dict[str, set] = {name: set() for name in columns}
    if columns:
        for batch in iter_parquet(path, columns):
            for name in columns:
                seen[name].update(batch.column(name).drop_null().unique().to_pylist())
    return {name: sorted(values) for name, values in seen.items()}


def train_dask_lightgbm(params: TrainParams, schema: Schema, path: Path | str) -> LightGBMModel:
    """Fit LightGBM on the Dask cluster (`DASK_SCHEDULER_ADDRESS`, else a local one) and return the model."""
    try:
        import dask.dataframe as dd
        import lightgbm
        import pandas as pd
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise EngineError(
            f"train.engine dask_lightgbm needs LightGBM and Dask ({exc.name} is not installed); "
            "run `make setup-scale`, or set train.engine: sklearn"
        ) from exc

    hp = params.lightgbm
    known = categories(path, schema.categorical)
    with ExitStack() as stack:
        address = os.environ.get(ADDRESS_VARIABLE)
        try:
            if address:
                client = stack.enter_context(Client(address, timeout="60s"))
            else:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=local_workers(),
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                )
                client = stack.enter_context(Client(cluster))
        except OSError as exc:
            raise EngineError(f"cannot reach the Dask scheduler at {address!r} ({ADDRESS_VARIABLE}): {exc}") from exc
        frame = dd.read_parquet(str(Path(path).resolve()), columns=[*schema.features, schema.target])
        workers = len(client.scheduler_info()["workers"])
        if frame.npartitions < workers:
            frame = frame.repartition(npartitions=workers)
        for name in schema.categorical:
            frame[name] = frame[name].astype(pd.CategoricalDtype(known[name]))
        for name in schema.numeric:
            frame[name] = frame[name].astype("float64")
        estimator = lightgbm.DaskLGBMClassifier(
            client=client,
            n_estimators=hp.n_estimators,
            learning_rate=hp.learning_rate,
            num_leaves=hp.num_leaves,
            min_child_samples=hp.min_child_samples,
            reg_lambda=hp.reg_lambda,
            class_weight=params.class_weight,
            random_state=params.seed,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        estimator.fit(frame[schema.features], frame[schema.target])
        text = estimator.booster_.model_to_string()
    return LightGBMModel(text, schema.numeric, schema.categorical, known)
