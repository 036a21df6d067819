"""The model: one scikit-learn `Pipeline` (preprocessing + estimator), and its safe, reproducible storage.

Keeping preprocessing inside the pipeline means the served model cannot drift from the trained one. Each model
family gets the preprocessing that suits it:
- logistic regression: median imputation with missing-value indicators, scaling, one-hot categories;
- random forest: median imputation, ordinal-coded categories;
- histogram gradient boosting: missing values and categories handled natively by the estimator.

Models are stored with skops (no pickle). `load_model` refuses any type outside `TRUSTED_TYPES`, so a tampered file
cannot run code. skops names its entries after memory addresses; `save_model` renames them in traversal order and
fixes the zip timestamps, so the same model is always the same bytes and `dvc.lock` does not churn.

Thread settings live here (`fit_threads`, `SMALL_PREDICT_THREADS`, `OPENMP_WAIT_POLICY`): they are a matter of
speed, not of the model.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from mlci.core.errors import ModelError
from mlci.core.io import write_bytes
from mlci.core.params import TrainParams
from mlci.core.schema import Schema

MISSING_CATEGORY = "__missing__"
# Every type a model of ours may hold beyond skops' primitives, containers, NumPy and scikit-learn internals: the
# estimators of the three families and their preprocessing, the fitted parts they keep, and the LightGBM wrapper.
# Anything else, another scikit-learn estimator included, is refused on load (see `_skops_io`).
# Where classes of ours lived when published release packages were written: skops records a class by its module, so a
# package built before the model artifact left `mlci.core` names `mlci.core.lgbm`. `load_model` finds it here.
LGBM_LEGACY_MODULES = ("mlci.core.lgbm",)

TRUSTED_TYPES = frozenset(
    {
        "builtins.slice",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._encoders.OrdinalEncoder",
        "sklearn.preprocessing._function_transformer.FunctionTransformer",  # "passthrough" columns, no function
        "sklearn.preprocessing._label.LabelEncoder",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._tree.Tree",  # the fitted trees of a random forest: arrays of nodes and values, no callables
        "sklearn.utils._bunch.Bunch",
        "collections.OrderedDict",
        "functools.partial",  # wraps check_array below; any other function it wrapped would be refused
        "sklearn.utils.validation.check_array",
        # The dask_lightgbm engine's model (mlci.model.lgbm): LightGBM's text model and column lists, no callables.
        "mlci.model.lgbm.LightGBMModel",
        *(f"{old}.LightGBMModel" for old in LGBM_LEGACY_MODULES),
    }
)

# OpenMP threads change no number of a histogram gradient boosting model: it finds each feature's split in one thread
# and partitions rows in a stable order, so 1, 2, 3 and 4 threads grow the same trees (measured on 1M rows;
# tests/model/test_pipeline.py checks it). Only the count itself is recorded in the model, and `save_model` writes it
# as 1, so any machine writes the same bytes. Threads are therefore a matter of speed, and pay only on large fits: with
# idle threads sleeping (OPENMP_WAIT_POLICY), waking them costs more than they save on small data. On 2 cores, one
# thread against two: 0.40 s / 0.57 s at 40k rows, 0.78 s / 0.95 s at 80k, 2.7 s / 2.1 s at 200k, 9.1 s / 6.3 s at 800k.
MIN_ROWS_FOR_FIT_THREADS = 100_000


def fit_threads(rows: int) -> dict[str, int | None]:
    """The thread limits (for `threadpoolctl.threadpool_limits`) when fitting on `rows` rows.

    OpenMP: one thread below `MIN_ROWS_FOR_FIT_THREADS` rows, else scikit-learn's default (one thread per core the
    process may use, CPU affinity and cgroup quotas respected). BLAS: always one thread, as a logistic regression
    fitted with two BLAS threads is a different model (other bytes, measured on 300k rows).
    """
    return {"openmp": 1 if rows < MIN_ROWS_FOR_FIT_THREADS else None, "blas": 1}


# Many small predictions (permutation importance on a few thousand rows) run on one thread: there is little to share.
# At 1M rows on 2 cores, two threads saved 0.16 s of 1.2 s when idle, nothing when busy.
SMALL_PREDICT_THREADS = 1
# How idle OpenMP threads wait for the next parallel step. libgomp's default spins first: on a busy machine the
# spinning thread holds a core that the thread it waits for needs. Measured on 2 cores, 1M rows, one other busy
# process: a 2-thread fit took 15-17 s spinning (up to 45 s under heavier load), 10 s passive, 9.5 s on one thread.
# Idle, both took 6.3 s at 1M rows; at 400k spinning was faster (3.3 s against 4.3 s). Robust over fastest: CI runners
# and laptops are rarely idle. Set by `set_openmp_wait_policy`, before the OpenMP library loads.
OPENMP_WAIT_POLICY = "PASSIVE"


def set_openmp_wait_policy() -> None:
    """Let idle OpenMP threads sleep at once, unless `OMP_WAIT_POLICY` is set. Call before importing scikit-learn."""
    os.environ.setdefault("OMP_WAIT_POLICY", OPENMP_WAIT_POLICY)


def build_pipeline(params: TrainParams, schema: Schema) -> Any:
    """Return an unfitted `Pipeline` for the model family chosen in `params.model`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    numeric, categorical = schema.numeric, schema.categorical
    if params.model == "logistic_regression":
        num, cat, estimator = _logistic_regression(params)
    elif params.model == "random_forest":
        num, cat, estimator = _random_forest(params)
    else:
        num, cat, estimator = _hist_gradient_boosting(params, schema)
    transformers = [("numeric", num, numeric)] if numeric else []
    transformers += [("categorical", cat, categorical)] if categorical else []
    preprocess = ColumnTransformer(transformers, verbose_feature_names_out=False)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def _logistic_regression(params: TrainParams) -> tuple[Any, Any, Any]:
    """(numeric preprocessing, categorical preprocessing, estimator): imputed with indicators, scaled, one-hot."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())])
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
            (
                "encode",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", max_categories=params.max_categories, sparse_output=False
                ),
            ),
        ]
    )
    hp = params.logistic_regression
    estimator = LogisticRegression(
        C=hp.C, max_iter=hp.max_iter, class_weight=params.class_weight, random_state=params.seed
    )
    return num, cat, estimator


def _random_forest(params: TrainParams) -> tuple[Any, Any, Any]:
    """(numeric preprocessing, categorical preprocessing, estimator): median-imputed numbers, ordinal categories."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer

    hp = params.random_forest
    estimator = RandomForestClassifier(
        n_estimators=hp.n_estimators,
        max_depth=hp.max_depth,
        min_samples_leaf=hp.min_samples_leaf,
        max_features=hp.max_features,
        class_weight=params.class_weight,
        random_state=params.seed,
        n_jobs=-1,
    )
    return SimpleImputer(strategy="median", add_indicator=True), _ordinal(params, unknown=-1), estimator


def _hist_gradient_boosting(params: TrainParams, schema: Schema) -> tuple[Any, Any, Any]:
    """(numeric preprocessing, categorical preprocessing, estimator): missing values and categories handled natively."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    hp = params.hist_gradient_boosting
    estimator = HistGradientBoostingClassifier(
        learning_rate=hp.learning_rate,
        max_iter=hp.max_iter,
        max_leaf_nodes=hp.max_leaf_nodes,
        min_samples_leaf=hp.min_samples_leaf,
        l2_regularization=hp.l2_regularization,
        early_stopping=hp.early_stopping,
        class_weight=params.class_weight,
        random_state=params.seed,
        categorical_features=[False] * len(schema.numeric) + [True] * len(schema.categorical),
    )
    return "passthrough", _ordinal(params, unknown=float("nan")), estimator


def _ordinal(params: TrainParams, unknown: float) -> Any:
    from sklearn.preprocessing import OrdinalEncoder

    # Histogram gradient boosting allows at most 255 categories per feature, so the cap applies to every family.
    return OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=unknown,
        encoded_missing_value=unknown,
        max_categories=min(params.max_categories, 250),
    )


def columnwise_parts(model: Any, columns: list[str]) -> tuple[Any, Any] | None:
    """(preprocessing, estimator) if the preprocessing maps each of `columns` to one output column; else None.

    That is: each input column to the output column in the same place, value by value (passed through or
    ordinal-coded, as for histogram gradient boosting). Shuffling such an input column and then preprocessing gives
    the rows that preprocessing and then shuffling its output column gives, so permutation importance may preprocess
    its rows once and shuffle the coded columns: the same scores for a fraction of the work.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2 or not isinstance(steps[0][1], ColumnTransformer):
        return None
    preprocess = steps[0][1]
    for _, transformer, selected in preprocess.transformers_:
        if isinstance(transformer, str):
            if transformer == "passthrough" or (transformer == "drop" and len(selected) == 0):
                continue
            return None
        passthrough = isinstance(transformer, FunctionTransformer) and transformer.func is None
        if not (passthrough or isinstance(transformer, OrdinalEncoder)):
            return None
    if list(preprocess.get_feature_names_out()) != list(columns):
        return None
    return preprocess, steps[1][1]


def _skops_io() -> Any:
    """`skops.io`, imported with an empty default list of trusted scikit-learn estimators.

    skops builds that default list at import by importing every scikit-learn module (`all_estimators()`): 0.3 s
    with bytecode, over a second without, in every process that saves or loads a model. Empty, it leaves
    `TRUSTED_TYPES` alone to decide which estimators load, in every process alike: narrower than skops' default,
    which trusts all of scikit-learn's estimators. The list is emptied even if skops was imported before.
    """
    import importlib
    import sys

    if "skops.io" not in sys.modules:
        import sklearn.utils

        every_estimator = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: []
        try:
            importlib.import_module("skops.io")
        finally:
            sklearn.utils.all_estimators = every_estimator
    from skops.io import _trusted_types

    _trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES.clear()  # the list object skops' loaders read their defaults from
    return sys.modules["skops.io"]


def save_model(model: Any, path: Path | str) -> None:
    sio = _skops_io()

    _forget_thread_count(model)
    write_bytes(path, canonical_skops(sio.dumps(model)))


def _forget_thread_count(model: Any) -> None:
    """Record one thread in the fitted binner of a histogram gradient boosting model, whatever the fit used.

    The binner keeps the thread count the fit ran with; it is used only while fitting (to bin the training data), so
    it is a trace of the machine, not part of the model. 1 is what a one-thread fit records: models fitted before
    threads were allowed keep their bytes.
    """
    for _, step in getattr(model, "steps", [(None, model)]):
        binner = getattr(step, "_bin_mapper", None)
        if binner is not None and hasattr(binner, "n_threads"):
            binner.n_threads = 1


def load_model(path: Path | str) -> Any:
    sio = _skops_io()

    _import_model_classes()

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} not found; run `dvc repro` to train it")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(f"{str(path)!r} is not a readable skops model ({exc}); re-create it with `dvc repro`") from exc
    refused = sorted(untrusted - TRUSTED_TYPES)
    if refused:
        raise ModelError(f"{str(path)!r} holds types that are not trusted ({', '.join(refused)}); refusing to load it")
    return sio.load(path, trusted=sorted(untrusted))


def _import_model_classes() -> None:
    """Import our trusted model class under its name and under the names older packages recorded, for skops to find."""
    import sys

    from mlci.model import lgbm

    for old in LGBM_LEGACY_MODULES:
        sys.modules.setdefault(old, lgbm)


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops archive so its bytes depend only on the model, not on memory addresses or the clock."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    ids: dict[int, int] = {}

    def renumber(value: int) -> int:
        return ids.setdefault(value, len(ids))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("__id__"), int):
                node["__id__"] = renumber(node["__id__"])
            if isinstance(node.get("file"), str) and node["file"].endswith(".npy"):
                node["file"] = f"{renumber(int(node['file'][:-4]))}.npy"
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)
    entries = {"schema.json": json.dumps(schema, indent=1).encode()}
    for name in source.namelist():
        if name.endswith(".npy"):
            entries[f"{ids[int(name[:-4])]}.npy"] = source.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            target.writestr(info, entries[name])
    return out.getvalue()
