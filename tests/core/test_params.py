"""`params.yaml` loading: defaults, and one clear line for every kind of mistake."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from mlci.core.errors import ParamsError
from mlci.core.params import NA_VALUES, GateParams, Params, Section, load_gate, load_params, load_section
from mlci.stages import train

PROJECT = Path(__file__).resolve().parents[2]

BAD_PARAMS = [
    pytest.param(
        "trian:\n  model: random_forest\n",
        "params.yaml: unknown key trian; allowed keys here: data, demo, deploy, evaluate, gate, monitor, serve, split, "
        "sweep, train, validate. Check the spelling.",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "train:\n  modle: random_forest\n",
        "params.yaml: unknown key train.modle; allowed keys here: class_weight, engine, hist_gradient_boosting, "
        "lightgbm, logistic_regression, max_categories, model, random_forest, seed. Check the spelling.",
        id="unknown-nested-key",
    ),
    pytest.param(
        "train:\n  random_forest:\n    n_estimator: 10\n",
        "unknown key train.random_forest.n_estimator; allowed keys here: max_depth, max_features, min_samples_leaf, "
        "n_estimators.",
        id="unknown-deep-key",
    ),
    pytest.param(
        "validate:\n  min_row: 10\n",
        "unknown key validate.min_row; allowed keys here: max_duplicate_rate, max_missing_target_rate, max_null_rate, "
        "min_rows.",
        id="unknown-key-in-aliased-section",
    ),
    pytest.param(
        "split:\n  test_size: a fifth\n", "split.test_size must be a valid number; got 'a fifth'.", id="wrong-type"
    ),
    pytest.param("demo:\n  n_rows: 1.5\n", "demo.n_rows must be a valid integer; got 1.5.", id="float-for-int"),
    pytest.param(
        "demo:\n  n_rows: '3000'\n",
        "demo.n_rows must be a valid integer; got '3000'; remove the quotes",
        id="quoted-number",
    ),
    pytest.param(
        "train:\n  hist_gradient_boosting:\n    early_stopping: 'on'\n",
        "train.hist_gradient_boosting.early_stopping must be a valid boolean; got 'on'.",
        id="string-for-bool",
    ),
    pytest.param("split:\n  test_size: 1.5\n", "split.test_size must be less than 1; got 1.5.", id="above-range"),
    pytest.param("evaluate:\n  threshold: 0\n", "evaluate.threshold must be greater than 0; got 0.", id="below-range"),
    pytest.param("demo:\n  seed: -1\n", "demo.seed must be greater than or equal to 0; got -1.", id="negative-seed"),
    pytest.param(
        "train:\n  random_forest:\n    max_depth: 0\n",
        "train.random_forest.max_depth must be greater than or equal to 1; got 0.",
        id="nested-range",
    ),
    pytest.param(
        "train:\n  model: xgboost\n",
        "train.model must be 'logistic_regression', 'random_forest' or 'hist_gradient_boosting'; got 'xgboost'.",
        id="unknown-model",
    ),
    pytest.param("demo:\n  season: winter\n", "demo.season must be 'normal' or 'holiday'; got 'winter'.", id="season"),
    pytest.param(
        "train:\n  class_weight: balance\n", "train.class_weight must be 'balanced'; got 'balance'.", id="class-weight"
    ),
    pytest.param("train: 5\n", "params.yaml: train must be a mapping of keys to values; got 5.", id="section-scalar"),
    pytest.param("train:\n", "train must be a mapping of keys to values; got None.", id="section-empty"),
    pytest.param("- demo\n- train\n", "must be a mapping of sections (demo, data, train, ...); got list", id="list"),
    pytest.param(
        "data:\n  target: y\n  numeric_features: [y, x]\n",
        "params.yaml: data: column 'y' is the target and cannot also be listed as a feature.",
        id="target-as-feature",
    ),
    pytest.param(
        "data:\n  numeric_features: [a, b]\n  categorical_features: [b]\n",
        "data: columns ['b'] are listed as both numeric and categorical features.",
        id="feature-in-both-lists",
    ),
    pytest.param(
        "data:\n  csv:\n    delimiter: ':'\n",
        "data.csv.delimiter must be ',', ';', '\\t' or '|'; got ':'.",
        id="csv-delimiter",
    ),
    pytest.param(
        "data:\n  csv:\n    decimal: ','\n    delimiter: ','\n",
        "data.csv: decimal and delimiter are both ','; a file with decimal commas separates fields by ';'.",
        id="csv-decimal-is-delimiter",
    ),
    pytest.param(
        "data:\n  csv:\n    encoding: ansi\n",
        "data.csv.encoding: unknown encoding 'ansi'; use a name such as utf-8, latin-1 or cp1252.",
        id="csv-encoding",
    ),
    pytest.param(
        "data:\n  csv:\n    sep: ';'\n",
        "unknown key data.csv.sep; allowed keys here: decimal, delimiter, encoding.",
        id="csv-unknown-key",
    ),
    pytest.param(
        "data:\n  na_values: NA\n", "data.na_values must be a valid list; got 'NA'.", id="na-values-not-a-list"
    ),
    pytest.param(
        "validate:\n  max_missing_target_rate: 1.5\n",
        "validate.max_missing_target_rate must be less than or equal to 1; got 1.5.",
        id="missing-target-rate",
    ),
    pytest.param(
        "gate:\n  floors:\n    auc: 0.8\n",
        "gate.floors.auc must be 'roc_auc', 'average_precision', 'precision', 'recall', 'f1', 'log_loss' or 'brier'; "
        "got 'auc'.",
        id="unknown-gate-metric",
    ),
    pytest.param(
        "train:\n  model: [random_forest\n",
        "params.yaml is not valid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'; "
        "fix the syntax there",
        id="malformed-yaml",
    ),
    pytest.param(
        "train:\n\tmodel: random_forest\n",
        "params.yaml is not valid YAML at line 2, column 1: found character '\\t' that cannot start any token",
        id="tab-indent",
    ),
]


@pytest.mark.parametrize("written", ['"\\t"', "'\\t'", "\\t", "tab"])
def test_params__csv_tab_delimiter(tmp_dir, written):
    """YAML writes a tab in several ways; all of them mean one."""
    (tmp_dir / "params.yaml").write_text(f"data:\n  csv:\n    delimiter: {written}\n", encoding="utf-8")

    assert load_params().data.csv.delimiter == "\t"


def test_params__na_values_match_pandas():
    """Every default marker is one that pandas reads as missing too, quoted or not."""
    import io

    import pandas as pd

    markers = ["", *NA_VALUES]
    frame = pd.read_csv(io.StringIO("\n".join(["x", *(f'"{m}"' for m in markers), "kept", "none"])))

    assert frame["x"].isna().tolist() == [True] * len(markers) + [False, False]


def test_params__defaults_are_valid():
    params = Params()

    assert params.train.model == "hist_gradient_boosting"
    assert params.validate_.min_rows == 200
    assert Params.model_validate({}) == params


def test_load_params__project_file():
    params = load_params(PROJECT / "params.yaml")

    assert params.data.source == "data/demo/transactions.parquet"
    assert params.train.model in {"logistic_regression", "random_forest", "hist_gradient_boosting"}


def test_load_params__empty_file_gives_defaults(write_params, tmp_dir):
    (tmp_dir / "params.yaml").write_text("", encoding="utf-8")

    assert load_params() == Params()


def test_load_params__values_are_read(write_params):
    write_params(
        train={"model": "random_forest", "random_forest": {"n_estimators": 10}}, data={"positive_label": "bad"}
    )

    params = load_params()

    assert params.train.model == "random_forest"
    assert params.train.random_forest.n_estimators == 10
    assert params.train.random_forest.max_depth == 12  # untouched keys keep their defaults
    assert params.data.positive_label == "bad"


def test_load_params__sections_are_frozen(write_params):
    write_params()
    params = load_params()

    with pytest.raises(ValueError, match="frozen"):
        params.train.seed = 1


@pytest.mark.parametrize(("text", "message"), BAD_PARAMS)
def test_load_params__bad(tmp_dir, text, message):
    (tmp_dir / "params.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ParamsError) as caught:
        load_params()

    assert message in str(caught.value)
    assert "\n" not in str(caught.value), "the message must be one line"


def test_load_params__missing_file(tmp_dir):
    with pytest.raises(
        ParamsError, match=r"^params.yaml not found; run from the project root, where params.yaml lives$"
    ):
        load_params()


@pytest.mark.parametrize(("text", "message"), BAD_PARAMS[:3] + BAD_PARAMS[-3:])
def test_train_main__bad_params(tmp_dir, capsys, text, message):
    (tmp_dir / "params.yaml").write_text(text, encoding="utf-8")

    assert train.main() == 2

    err = capsys.readouterr().err
    assert err.startswith("error: train: params.yaml")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"), [BAD_PARAMS[1], BAD_PARAMS[4], BAD_PARAMS[8], BAD_PARAMS[12], BAD_PARAMS[-2]]
)
def test_train_cli__bad_params(tmp_path, text, message):
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "mlci.stages.train"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 2
    assert done.stderr.startswith("error: train: params.yaml")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, f"expected one line, got:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.slow
def test_train_cli__missing_params(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mlci.stages.train"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert (done.returncode, done.stderr) == (
        2,
        "error: train: params.yaml not found; run from the project root, where params.yaml lives\n",
    )


def test_load_params__exponent_without_dot_gets_a_hint(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  logistic_regression:\n    C: 1e-3\n", encoding="utf-8")

    with pytest.raises(ParamsError, match=r"train\.logistic_regression\.C .*got '1e-3'; write it as a plain number"):
        load_params(path)


WHERE = "params.yaml at base 1a2b3c4d5e6f"


def test_load_gate__reads_only_the_gate_section():
    text = "train:\n  old_key: 1\ngate:\n  floors: {roc_auc: 0.8}\n"  # another section's layout is not checked

    assert load_gate(text, WHERE) == GateParams(floors={"roc_auc": 0.8})
    assert load_gate("gate: {}\n", WHERE) == GateParams()


@pytest.mark.parametrize("text", ["", "train:\n  model: random_forest\n"], ids=["empty", "no-gate"])
def test_load_gate__no_gate_section(text):
    assert load_gate(text, WHERE) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "gate:\n  floor: {roc_auc: 0.8}\n",
            f"{WHERE}: unknown key gate.floor; allowed keys here: floors, interval, max_regression, noise, "
            "noise_tolerance. Check the spelling.",
            id="unknown-key",
        ),
        pytest.param(
            "gate:\n  noise_tolerance: '0.01'\n",
            f"{WHERE}: gate.noise_tolerance must be a valid number; got '0.01'; remove the quotes so YAML reads it "
            "as a number.",
            id="quoted-number",
        ),
        pytest.param("gate: 0.8\n", f"{WHERE}: gate must be a mapping of keys to values; got 0.8.", id="scalar"),
        pytest.param(
            "gate: {floors: [\n",
            f"{WHERE} is not valid YAML at line 2, column 1: expected the node content, but found '<stream end>'; "
            "fix the syntax there",
            id="malformed-yaml",
        ),
        pytest.param("just text\n", f"{WHERE} must be a mapping of sections", id="not-a-mapping"),
    ],
)
def test_load_gate__bad(text, message):
    with pytest.raises(ParamsError) as caught:
        load_gate(text, WHERE)

    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


class _ServeSection(Section):
    max_batch_rows: Annotated[int, Field(ge=1)] = 100
    log: bool = False


def test_load_section__defaults_when_absent(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  model: random_forest\n")

    assert load_section("serve", _ServeSection, path) == _ServeSection()


def test_load_section__values_are_read(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("serve:\n  max_batch_rows: 7\n  log: true\n")

    assert load_section("serve", _ServeSection, path) == _ServeSection(max_batch_rows=7, log=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "serve:\n  max_batch_rows: 0\n",
            "params.yaml: serve.max_batch_rows must be greater than or equal to 1; got 0.",
        ),
        ("serve:\n  logs: true\n", "params.yaml: unknown key serve.logs; allowed keys here: log, max_batch_rows."),
        ("serve: [1]\n", "serve must be a mapping of keys to values; got [1]."),
        ("serve: {}\ntrain:\n  modle: x\n", "unknown key train.modle"),
    ],
)
def test_load_section__bad(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)

    with pytest.raises(ParamsError, match=re.escape(message)):
        load_section("serve", _ServeSection, path)


def test_load_section__only_capability_sections():
    with pytest.raises(ValueError, match="not a capability section"):
        load_section("train", _ServeSection)
