"""`params.yaml`, loaded and validated once into frozen, typed sections.

Each stage reads only its own section (the keys it lists under `params:` in `dvc.yaml`). A typo, a wrong type or an
out-of-range value fails with one line that names the key, what is allowed, and what was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlci.core import paths
from mlci.core.errors import ParamsError
from mlci.core.metric_names import MetricName

PARAMS_FILE = paths.PARAMS
ModelName = Literal["logistic_regression", "random_forest", "hist_gradient_boosting"]
Engine = Literal["sklearn", "dask_lightgbm"]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class Section(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


DemoRows = Annotated[int, Field(ge=100, le=100_000_000)]
Season = Literal["normal", "holiday"]
# The Parquet metadata key under which a demo batch file records its `DemoBatch` (as JSON).
DEMO_BATCH_KEY = b"mlci.demo"


class DemoBatch(Section):
    """A batch of new demo data, recorded by its generator parameters when retraining takes it in."""

    season: Season
    seed: Seed
    n_rows: DemoRows


class DemoParams(Section):
    """The built-in synthetic card-transaction data (`generate` stage).

    `batches` are new data that retraining took in (`python -m mlci.monitor.intake`), appended after the base rows;
    `window_rows` or `window_days` then keep only the latest rows, by timestamp.
    """

    n_rows: DemoRows = 20_000
    seed: Seed = 42
    season: Season = "normal"
    batches: list[DemoBatch] = []
    window_rows: Annotated[int, Field(ge=100)] | None = None
    window_days: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _one_window(self) -> DemoParams:
        if self.window_rows is not None and self.window_days is not None:
            raise ValueError("set window_rows or window_days, not both")
        return self


# What marks a missing value when `data.na_values` is null: pandas' `read_csv` default list, so a file has the same
# missing values here as in pandas. It holds R's NA, spreadsheets' #N/A, SQL's NULL and the spellings of NaN that
# programs write; empty cells are missing whatever the list says.
NA_VALUES = (
    "NA", "N/A", "n/a", "<NA>", "#N/A", "#N/A N/A", "#NA", "NULL", "null", "None",
    "NaN", "-NaN", "nan", "-nan", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN",
)  # fmt: skip
Delimiter = Literal[",", ";", "\t", "|"]


class CsvParams(Section):
    """How a CSV source is written (`ingest`): the delimiter (detected when null), decimal mark and encoding."""

    delimiter: Delimiter | None = None
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8"

    @field_validator("delimiter", mode="before")
    @classmethod
    def _tab_by_name(cls, value: Any) -> Any:
        # YAML reads '\t' (single quotes) and \t (no quotes) as a backslash and a t, not a tab; take those too.
        return "\t" if value in ("tab", "\\t") else value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use a name such as utf-8, latin-1 or cp1252") from None
        return value

    @model_validator(mode="after")
    def _decimal_is_not_the_delimiter(self) -> CsvParams:
        if self.decimal == "," and self.delimiter == ",":
            raise ValueError("decimal and delimiter are both ','; a file with decimal commas separates fields by ';'")
        return self


class DataParams(Section):
    """Where the data comes from and what its columns mean (`ingest`, `validate`)."""

    source: str = str(paths.DEMO_DATA)
    csv: CsvParams = CsvParams()
    na_values: list[str] | None = None  # None: NA_VALUES
    target: str = "is_fraud"
    positive_label: str | int | bool | None = None
    time_column: str | None = None
    id_column: str | None = None
    segment_column: str | None = None
    numeric_features: list[str] | None = None
    categorical_features: list[str] | None = None
    drop_columns: list[str] = []

    @model_validator(mode="after")
    def _roles_do_not_overlap(self) -> DataParams:
        features = (self.numeric_features or []) + (self.categorical_features or [])
        for role in ("target", "id_column"):
            name = getattr(self, role)
            if name is not None and name in features:
                raise ValueError(f"column {name!r} is the {role} and cannot also be listed as a feature")
        overlap = set(self.numeric_features or []) & set(self.categorical_features or [])
        if overlap:
            raise ValueError(f"columns {sorted(overlap)} are listed as both numeric and categorical features")
        return self


class ValidateParams(Section):
    """Quality checks on the ingested data."""

    min_rows: Annotated[int, Field(ge=10)] = 200
    max_null_rate: Annotated[float, Field(ge=0, le=1)] = 0.5
    max_duplicate_rate: Annotated[float, Field(ge=0, le=1)] = 0.05
    max_missing_target_rate: Annotated[float, Field(ge=0, le=1)] = 0.05  # rows without a label are dropped


class SplitParams(Section):
    """Hold-out split: by time when `data.time_column` is set, else stratified by the target."""

    test_size: Fraction = 0.2
    seed: Seed = 42


class LogisticRegressionParams(Section):
    C: Annotated[float, Field(gt=0)] = 1.0
    max_iter: Annotated[int, Field(ge=1)] = 1000


class RandomForestParams(Section):
    n_estimators: Annotated[int, Field(ge=1, le=5000)] = 200
    max_depth: Annotated[int, Field(ge=1)] | None = 12
    min_samples_leaf: Annotated[int, Field(ge=1)] = 5
    max_features: Annotated[float, Field(gt=0, le=1)] = 0.5


class HistGradientBoostingParams(Section):
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    max_iter: Annotated[int, Field(ge=1, le=10_000)] = 200
    max_leaf_nodes: Annotated[int, Field(ge=2)] = 31
    min_samples_leaf: Annotated[int, Field(ge=1)] = 20
    l2_regularization: Annotated[float, Field(ge=0)] = 0.0
    early_stopping: bool = True


class LightGBMParams(Section):
    n_estimators: Annotated[int, Field(ge=1, le=10_000)] = 200
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    num_leaves: Annotated[int, Field(ge=2, le=131_072)] = 31
    min_child_samples: Annotated[int, Field(ge=1)] = 20
    reg_lambda: Annotated[float, Field(ge=0)] = 0.0


class TrainParams(Section):
    """Model family, its hyperparameters, and how preprocessing treats the features.

    `engine`: `sklearn` fits `model` in this process; `dask_lightgbm` fits LightGBM (`lightgbm` settings) on a Dask
    cluster (`DASK_SCHEDULER_ADDRESS`, else a local one), and `model` and `max_categories` do not apply.
    """

    engine: Engine = "sklearn"
    model: ModelName = "hist_gradient_boosting"
    seed: Seed = 42
    class_weight: Literal["balanced"] | None = None
    max_categories: Annotated[int, Field(ge=2, le=250)] = 30
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()
    random_forest: RandomForestParams = RandomForestParams()
    hist_gradient_boosting: HistGradientBoostingParams = HistGradientBoostingParams()
    lightgbm: LightGBMParams = LightGBMParams()


class EvaluateParams(Section):
    """Metrics at a decision threshold, and bounds on the work that grows with the data."""

    threshold: Fraction = 0.5
    curve_points: Annotated[int, Field(ge=11, le=1001)] = 101
    calibration_bins: Annotated[int, Field(ge=2, le=100)] = 10
    importance_rows: Annotated[int, Field(ge=100)] = 5000
    importance_repeats: Annotated[int, Field(ge=1, le=50)] = 3
    min_segment_rows: Annotated[int, Field(ge=1)] = 50
    max_segments: Annotated[int, Field(ge=1, le=100)] = 20
    seed: Seed = 42


GateMetric = MetricName


class IntervalParams(Section):
    """The paired interval of each change, base and head models scored on the same rows (`mlci.evaluation.paired`)."""

    confidence: Fraction = 0.95
    method: Literal["analytic", "bootstrap"] = "analytic"
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 1000  # bootstrap only
    seed: Seed = 42  # bootstrap only


class GateParams(Section):
    """The quality gate: absolute floors (or ceilings, for loss metrics) and the allowed regression vs the base.

    `noise` says which changes are too small to be real: `interval`, a change whose paired interval contains 0;
    `tolerance`, a change no larger than `noise_tolerance`. Without a same-rows comparison (no base model to score),
    the tolerance applies whatever `noise` says.
    """

    floors: dict[GateMetric, float] = {}
    max_regression: dict[GateMetric, Annotated[float, Field(ge=0)]] = {}
    noise: Literal["interval", "tolerance"] = "interval"
    noise_tolerance: Annotated[float, Field(ge=0)] = 0.002
    interval: IntervalParams = IntervalParams()


# Sections read outside the pipeline: the release (`deploy`), the prediction service (`serve`), the drift check
# (`monitor`) and the pull request's sweep of experiments (`sweep`). Each capability validates its own section with
# its own model through `load_section`; no stage imports those models, so tuning the service or a drift threshold
# re-runs no stage. Here they are only known to be mappings.
CAPABILITY_SECTIONS = ("deploy", "serve", "monitor", "sweep")
S = TypeVar("S", bound=BaseModel)


class Params(Section):
    demo: DemoParams = DemoParams()
    data: DataParams = DataParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    split: SplitParams = SplitParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    gate: GateParams = GateParams()
    deploy: dict[str, Any] = {}
    serve: dict[str, Any] = {}
    monitor: dict[str, Any] = {}
    sweep: dict[str, Any] = {}

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", populate_by_name=True)


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate the whole file; raise `ParamsError` with one line naming the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path} not found; run from the project root, where params.yaml lives") from None
    return _validate(_sections(text, str(path)), str(path))


def load_section(name: str, model: type[S], path: Path | str = PARAMS_FILE) -> S:
    """One capability's section (see `CAPABILITY_SECTIONS`), validated by the capability's own `model`.

    The whole file is validated first, so a typo elsewhere is not silently ignored; errors name the full key, e.g.
    `params.yaml: serve.max_batch_rows must be greater than or equal to 1; got 0.`
    """
    if name not in CAPABILITY_SECTIONS:
        raise ValueError(f"{name!r} is not a capability section; expected one of {CAPABILITY_SECTIONS}")
    load_params(path)
    raw = _sections(Path(path).read_text(encoding="utf-8"), str(path)).get(name) or {}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(f"{path}: {describe(exc.errors()[0], root=model, prefix=(name,))}") from None


def load_gate(text: str, where: str) -> GateParams | None:
    """The `gate` section of a params.yaml text from elsewhere (the base revision); None when it has no `gate` key.

    Only `gate` is validated: the other sections may follow an older layout that the workspace has since changed, and
    they judge nothing here. Errors name `where`, e.g. "params.yaml at base 1a2b3c4d5e6f".
    """
    raw = _sections(text, where)
    return _validate({"gate": raw["gate"]}, where).gate if "gate" in raw else None


def _sections(text: str, where: str) -> dict[str, Any]:
    """The parsed text as a mapping of sections, or `ParamsError` saying where the YAML is broken."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ParamsError(f"{where} is not valid YAML{line}: {problem}; fix the syntax there") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{where} must be a mapping of sections (demo, data, train, ...); got {type(raw).__name__}")
    return raw


def _validate(raw: dict[str, Any], where: str) -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(f"{where}: {describe(exc.errors()[0])}") from None


def describe(error: Any, root: type[BaseModel] | None = None, prefix: tuple[str, ...] = ()) -> str:
    """One pydantic error as `key: what is allowed; got X.`

    `root` is the model that was validated (default: the whole file) and `prefix` the keys above it.
    """
    # Leave out pydantic's names for union members and validators, and its marker for a bad key of a mapping.
    hidden = {"str", "int", "bool", "float", "list[str]", "none", "literal['balanced']", "[key]"}
    loc = [str(part) for part in error["loc"] if not str(part).startswith(("function-after", "constrained"))]
    loc = [part for part in loc if part not in hidden]
    key = ".".join([*prefix, *loc]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        section = _section_of(loc[:-1], root or Params)
        allowed = (
            ", ".join(sorted(field.alias or name for name, field in section.model_fields.items())) if section else ""
        )
        hint = f"; allowed keys here: {allowed}" if allowed else ""
        return f"unknown key {key}{hint}. Check the spelling."
    if kind == "missing":
        return f"{key} is required."
    if kind in {"model_type", "dict_type"}:
        return f"{key} must be a mapping of keys to values; got {error.get('input')!r}."
    if kind == "value_error":  # from a model validator: the message says it all
        return f"{key}: {error['msg'].removeprefix('Value error, ')}."
    message = error["msg"]
    if message.startswith("Input should be"):
        message = "must be" + message.removeprefix("Input should be")
    got = error.get("input")
    got_text = f"; got {got!r}" if not isinstance(got, dict) else ""
    if isinstance(got, str) and _is_number(got):
        if "e" in got.lower() and "." not in got:  # YAML 1.1 reads 1e-3 as text; 1.0e-3 or 0.001 is a number
            got_text += "; write it as a plain number such as 0.001 or 1.0e-3 (YAML reads 1e-3 as text)"
        else:
            got_text += "; remove the quotes so YAML reads it as a number"
    return f"{key} {message}{got_text}."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _section_of(loc: list[str], root: type[BaseModel]) -> type[BaseModel] | None:
    model = root
    for part in loc:
        field = model.model_fields.get("validate_" if part == "validate" else part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
