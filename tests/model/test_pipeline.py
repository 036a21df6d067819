"""The model pipeline of each family, and its safe, byte-stable storage."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pyarrow as pa
import pytest

from mlci.core.errors import ModelError
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model.pipeline import (
    OPENMP_WAIT_POLICY,
    TRUSTED_TYPES,
    _skops_io,
    build_pipeline,
    canonical_skops,
    columnwise_parts,
    fit_threads,
    load_model,
    save_model,
    set_openmp_wait_policy,
)

FAMILIES = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
SCHEMA = Schema(target="y", numeric=["amount", "age"], categorical=["plan", "region"])


def frame(n: int, seed: int):
    """Features with missing numbers and categories, and a target that depends on both kinds."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(50, 20, n)
    age = np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 300, n))
    plan = rng.choice(["basic", "premium", "family"], n).astype(object)
    plan[rng.random(n) < 0.05] = None
    region = rng.choice(["north", "south", "east", "west"], n)
    logit = 0.05 * (amount - 50) + 1.5 * (plan == "premium") - 0.002 * np.nan_to_num(age, nan=600)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    # Through Arrow, as `read_split` does, so the dtypes are those the stages see.
    table = pa.table({"amount": amount, "age": age, "plan": plan.tolist(), "region": region})
    return table.to_pandas(), y


def params(model: str, **changes) -> TrainParams:
    return TrainParams(
        model=model, random_forest={"n_estimators": 15}, hist_gradient_boosting={"max_iter": 20}, **changes
    )


@pytest.fixture(scope="module")
def fitted():
    X, y = frame(400, seed=1)
    return {family: build_pipeline(params(family), SCHEMA).fit(X, y) for family in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_build_pipeline__fits_and_predicts(fitted, family):
    X_new, _ = frame(50, seed=2)
    X_new.loc[0, "plan"] = "enterprise"  # a category never seen in training
    X_new.loc[1, "region"] = None
    X_new.loc[2, ["amount", "age"]] = np.nan

    p = fitted[family].predict_proba(X_new)[:, 1]

    assert p.shape == (50,)
    assert np.all((p >= 0) & (p <= 1))
    assert list(fitted[family].named_steps) == ["preprocess", "model"]


@pytest.mark.parametrize("family", FAMILIES)
def test_build_pipeline__learns(fitted, family):
    from sklearn.metrics import roc_auc_score

    X_new, y_new = frame(600, seed=3)

    assert roc_auc_score(y_new, fitted[family].predict_proba(X_new)[:, 1]) > 0.7


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "schema",
    [
        Schema(target="y", numeric=["amount", "age"], categorical=[]),
        Schema(target="y", numeric=[], categorical=["plan"]),
    ],
    ids=["numeric-only", "categorical-only"],
)
def test_build_pipeline__one_kind_of_feature(family, schema):
    X, y = frame(200, seed=4)

    model = build_pipeline(params(family, class_weight="balanced"), schema).fit(X[schema.features], y)

    assert model.predict_proba(X[schema.features]).shape == (200, 2)


def test_build_pipeline__hyperparameters_reach_the_estimator():
    model = build_pipeline(params("random_forest", seed=9), SCHEMA)

    estimator = model.named_steps["model"]
    assert (estimator.n_estimators, estimator.max_depth, estimator.random_state) == (15, 12, 9)


@pytest.mark.parametrize("family", FAMILIES)
def test_save_model__loads_back(fitted, family, tmp_path):
    X_new, _ = frame(50, seed=5)

    save_model(fitted[family], tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")

    # allclose, not equal: a random forest sums its trees' votes in threads, in whatever order they finish.
    np.testing.assert_allclose(loaded.predict_proba(X_new), fitted[family].predict_proba(X_new), rtol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_save_model__byte_identical(fitted, family, tmp_path):
    X, y = frame(400, seed=1)
    refit = build_pipeline(params(family), SCHEMA).fit(X, y)

    save_model(fitted[family], tmp_path / "a.skops")
    save_model(fitted[family], tmp_path / "b.skops")
    save_model(refit, tmp_path / "c.skops")

    first = (tmp_path / "a.skops").read_bytes()
    assert (tmp_path / "b.skops").read_bytes() == first, "two saves of one model differ"
    assert (tmp_path / "c.skops").read_bytes() == first, "two fits with the same seed differ"


def test_save_model__other_seed_differs(tmp_path):
    X, y = frame(400, seed=1)
    for seed in (1, 2):
        save_model(build_pipeline(params("random_forest", seed=seed), SCHEMA).fit(X, y), tmp_path / f"{seed}.skops")

    assert (tmp_path / "1.skops").read_bytes() != (tmp_path / "2.skops").read_bytes()


@pytest.mark.parametrize("family", FAMILIES)
def test_save_model__same_bytes_on_any_number_of_threads(family, tmp_path):
    """A laptop and a CI runner with other core counts must write the same model file, or `dvc.lock` would differ."""
    from threadpoolctl import threadpool_limits

    X, y = frame(3000, seed=2)
    for threads in (1, 2, 4):  # more threads than this machine may have cores: conftest sets OMP_NUM_THREADS
        pipeline = build_pipeline(params(family), SCHEMA)  # imports the estimator, so its OpenMP library is loaded
        with threadpool_limits(limits={"openmp": threads}):
            model = pipeline.fit(X, y)
        if family == "hist_gradient_boosting":
            assert model[-1]._bin_mapper.n_threads == threads, "the fit did not run on the threads asked for"
        save_model(model, tmp_path / f"{threads}.skops")

    first = (tmp_path / "1.skops").read_bytes()
    assert (tmp_path / "2.skops").read_bytes() == first
    assert (tmp_path / "4.skops").read_bytes() == first


def test_columnwise_parts(fitted):
    """Histogram gradient boosting's preprocessing keeps one column per input column, in place, value by value."""
    X, _ = frame(50, seed=2)
    model = fitted["hist_gradient_boosting"]

    preprocess, estimator = columnwise_parts(model, list(X.columns))

    assert preprocess is model[0] and estimator is model[-1]
    shuffled = X.copy()
    shuffled["plan"] = X["plan"].to_numpy()[::-1]
    coded = preprocess.transform(X)
    coded[:, 2] = coded[::-1, 2]
    np.testing.assert_array_equal(coded, preprocess.transform(shuffled))


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest"])
def test_columnwise_parts__other_preprocessing(fitted, family):
    """One-hot codes and missing-value indicators add columns: no shortcut."""
    assert columnwise_parts(fitted[family], ["amount", "age", "plan", "region"]) is None


def test_columnwise_parts__other_columns_or_model(fitted):
    assert columnwise_parts(fitted["hist_gradient_boosting"], ["age", "amount", "plan", "region"]) is None
    assert columnwise_parts(fitted["hist_gradient_boosting"][-1], ["amount", "age", "plan", "region"]) is None


def test_fit_threads():
    assert fit_threads(99_999) == {"openmp": 1, "blas": 1}
    assert fit_threads(100_000) == {"openmp": None, "blas": 1}  # None: scikit-learn's default, one per core


def test_save_model__records_one_thread(tmp_path):
    from threadpoolctl import threadpool_limits

    X, y = frame(400, seed=1)
    pipeline = build_pipeline(params("hist_gradient_boosting"), SCHEMA)
    with threadpool_limits(limits={"openmp": 2}):
        pipeline.fit(X, y)

    save_model(pipeline, tmp_path / "model.skops")

    assert load_model(tmp_path / "model.skops")[-1]._bin_mapper.n_threads == 1


def test_set_openmp_wait_policy(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    set_openmp_wait_policy()
    assert OPENMP_WAIT_POLICY == "PASSIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_set_openmp_wait_policy__keeps_the_users_choice(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    set_openmp_wait_policy()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_canonical_skops__stable_archive(fitted, tmp_path):
    save_model(fitted["logistic_regression"], tmp_path / "model.skops")
    data = (tmp_path / "model.skops").read_bytes()

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == sorted(archive.namelist())
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert canonical_skops(data) == data


def _tamper(source, target, change) -> None:
    """Copy a skops archive, letting `change` edit its schema: what an attacker could do to a model file."""
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    change(schema)
    entries["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _nodes(node):
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _nodes(child)
    elif isinstance(node, list):
        for child in node:
            yield from _nodes(child)


def _top_object_is_os_system(schema):
    schema.update({"__module__": "os", "__class__": "system"})


def _wrapped_function_is_eval(schema):
    functions = [node for node in _nodes(schema) if node.get("__loader__") == "FunctionNode"]
    assert functions, "the fixture model holds no function to replace"
    for node in functions:
        node.update({"__module__": "builtins", "__class__": "eval"})


@pytest.mark.parametrize(
    ("change", "refused"),
    [(_top_object_is_os_system, "os.system"), (_wrapped_function_is_eval, "builtins.eval")],
    ids=["os.system", "builtins.eval"],
)
def test_load_model__untrusted_type(fitted, tmp_path, change, refused):
    save_model(fitted["hist_gradient_boosting"], tmp_path / "model.skops")
    _tamper(tmp_path / "model.skops", tmp_path / "tampered.skops", change)

    with pytest.raises(ModelError) as caught:
        load_model(tmp_path / "tampered.skops")

    assert str(caught.value) == (
        f"{str(tmp_path / 'tampered.skops')!r} holds types that are not trusted ({refused}); refusing to load it"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip archive", "is not a readable skops model (File is not a zip file)"),
        (None, "is not a readable skops model"),  # a zip without schema.json
    ],
    ids=["not-a-zip", "zip-without-schema"],
)
def test_load_model__unreadable(tmp_path, content, message):
    path = tmp_path / "model.skops"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("0.npy", b"")
    else:
        path.write_bytes(content)

    with pytest.raises(ModelError, match="re-create it with `dvc repro`") as caught:
        load_model(path)

    assert message in str(caught.value)


def test_load_model__missing(tmp_path):
    with pytest.raises(ModelError, match=r"model file '.*missing.skops' not found; run `dvc repro` to train it"):
        load_model(tmp_path / "missing.skops")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("class_weight", [None, "balanced"])
@pytest.mark.parametrize(
    "schema",
    [
        SCHEMA,
        Schema(target="y", numeric=["amount", "age"], categorical=[]),
        Schema(target="y", numeric=[], categorical=["plan"]),
    ],
    ids=["both-kinds", "numeric-only", "categorical-only"],
)
def test_trusted_types__cover_every_model_of_ours(family, class_weight, schema):
    """Each family, in each shape params and data give it, holds only trusted types, every estimator listed by name."""
    sio = _skops_io()
    X, y = frame(300, seed=6)
    model = build_pipeline(params(family, class_weight=class_weight), schema).fit(X[schema.features], y)

    untrusted = set(sio.get_untrusted_types(data=sio.dumps(model)))

    assert untrusted <= TRUSTED_TYPES, f"types our own model holds but load_model refuses: {untrusted - TRUSTED_TYPES}"
    assert "sklearn.pipeline.Pipeline" in untrusted, "skops' own list of estimators decided, not TRUSTED_TYPES"


def test_load_model__refuses_an_estimator_of_no_family_of_ours(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = frame(100, seed=1)
    save_model(KNeighborsClassifier(n_neighbors=3).fit(X[["amount"]], y), tmp_path / "other.skops")

    with pytest.raises(ModelError, match=r"holds types that are not trusted \(.*KNeighborsClassifier.*\); refusing"):
        load_model(tmp_path / "other.skops")


def test_skops_io__empties_skops_default_list_even_when_imported_first():
    code = (
        "import skops.io, sklearn.utils; assert skops.io._trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES\n"
        "from mlci.model.pipeline import _skops_io; _skops_io()\n"
        "print(len(skops.io._trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "0"


def test_load_model__imports_only_the_estimators_it_loads(fitted, tmp_path):
    """The default trust list of skops imports every scikit-learn module: seconds in each stage that loads a model."""
    save_model(fitted["logistic_regression"], tmp_path / "model.skops")
    code = (
        "import sys; from mlci.model.pipeline import load_model; load_model(sys.argv[1])\n"
        "unused = ('sklearn.gaussian_process', 'sklearn.neural_network', 'sklearn.semi_supervised')\n"
        "print(sorted(m for m in unused if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model.skops")], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
