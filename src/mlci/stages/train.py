"""Stage `train`: fit the model pipeline on the training split.

Reads `data/split/train.parquet`, `data/validated/schema.json` and the `train` params. Writes `models/model.skops`
(the fitted pipeline, safe to load) and `models/metadata.json` (what was trained, on what, with which settings).
With `train.engine: dask_lightgbm` this process is a Dask client and the cluster fits LightGBM
(`mlci.stages.helpers.dask_engine`); the model file is the same kind of skops file, loaded the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mlci import __version__
from mlci.core import cli, paths
from mlci.core.frames import read_split
from mlci.core.io import read_parquet, require, write_json
from mlci.core.params import TrainParams, load_params
from mlci.core.schema import Schema
from mlci.model.pipeline import build_pipeline, fit_threads, save_model, set_openmp_wait_policy


def train(params: TrainParams, schema: Schema, X, y):
    """Fit and return the pipeline. Pure: no file I/O."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    pipeline = build_pipeline(params, schema)  # imports the estimator, loading the OpenMP and BLAS libraries to limit
    # The thread count is a matter of speed only (see fit_threads): every machine trains the same model. (A random
    # forest builds its trees in joblib threads: each tree has its own seed and the result is the same.)
    with threadpool_limits(limits=fit_threads(len(y))):
        return pipeline.fit(X, y)


def metadata(params: TrainParams, schema: Schema, y) -> dict:
    import sklearn

    distributed = params.engine != "sklearn"
    return {
        **({"engine": params.engine} if distributed else {}),
        "model": "lightgbm" if distributed else params.model,
        "hyperparameters": (params.lightgbm if distributed else getattr(params, params.model)).model_dump(),
        "seed": params.seed,
        "class_weight": params.class_weight,
        "features": {"numeric": schema.numeric, "categorical": schema.categorical},
        "target": schema.target,
        "class_labels": schema.class_labels,
        "train_rows": int(len(y)),
        "train_positive_rate": round(float(y.mean()), 4),
        "versions": {"package": __version__, "scikit-learn": sklearn.__version__},
    }


@cli.command("train")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.train", __doc__)
    set_openmp_wait_policy()  # before scikit-learn loads its OpenMP library

    params = load_params().train
    schema = Schema.load(paths.SCHEMA)
    if params.engine == "dask_lightgbm":
        from mlci.stages.helpers.dask_engine import train_dask_lightgbm

        model = train_dask_lightgbm(params, schema, require(paths.TRAIN_SPLIT))
        y = read_parquet(paths.TRAIN_SPLIT, columns=[schema.target]).column(0).to_numpy()
    else:
        X, y, _ = read_split(paths.TRAIN_SPLIT, schema)
        model = train(params, schema, X, y)
    save_model(model, paths.MODEL)
    write_json(paths.MODEL_METADATA, metadata(params, schema, y))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
