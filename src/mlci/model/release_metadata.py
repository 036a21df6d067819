"""A release's metadata (`metadata.json` in a release package) as one typed record.

`deploy` writes it (`ReleaseMetadata.to_json`); loading a release (`model.release`), the prediction service and the
model card read it through these fields, so every reader sees the same names and types.

Only what every reader relies on is required: a version, a threshold in (0, 1) and both class labels. Everything
else is optional, because packages built before a key existed must still load (the first packages hold only name,
version, git_sha, threshold, class_labels and metrics). Keys this code does not know are allowed and kept
(`extra="allow"`): a package written by a newer `deploy` still loads in an older service, and a record read and
written again loses nothing and keeps its bytes. The types are strict (a threshold of "0.5" is refused, not
converted), and numbers stay as written (an integer is not turned into a float), for the same reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mlci.core.errors import ReleaseError

METADATA_FILE = "metadata.json"
# Metric values as the evaluation wrote them: in strict mode an int stays an int and a float a float.
Scores = dict[str, float | int | None]


class Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="allow")


class Bump(Record):
    """Why this version number: the level of the change and its reasons (`deploy.versioning`)."""

    level: Literal["first", "major", "minor", "patch"]
    reasons: list[str]


class Training(Record):
    rows: int | None = None
    trained_at: str | None = None


class Lineage(Record):
    """The MD5 of each file DVC recorded in `dvc.lock`: the data source, the data and the model."""

    source: dict[str, str] = {}
    data: dict[str, str] = {}
    model: dict[str, str] = {}


class ChallengeResult(Record):
    """Champion vs challenger as judged at release (`deploy.challenge.Challenge.to_json`)."""

    passed: bool
    verdict: str
    rows: int | None = None
    challenger: Scores = {}
    champion: Scores | None = None
    champion_version: str | None = None
    note: str | None = None
    reasons: list[str] = []
    comparison: dict[str, Any] | None = None


class ModelFeatures(Record):
    numeric: list[str] = []
    categorical: list[str] = []


class TrainedModel(Record):
    """What `train` recorded about the fit (`models/metadata.json`)."""

    model: str  # the family
    hyperparameters: dict[str, Any] = {}
    seed: int | None = None
    class_weight: str | None = None
    features: ModelFeatures = ModelFeatures()
    target: str | None = None
    train_rows: int | None = None


def _both_labels(labels: dict[str, str]) -> dict[str, str]:
    if set(labels) != {"0", "1"}:
        raise ValueError("must map '0' and '1'")
    return labels


class ReleaseMetadata(Record):
    # Required: what loading, serving and the gate rely on.
    version: Annotated[str, Field(min_length=1)]
    threshold: Annotated[float, Field(gt=0, lt=1)]
    class_labels: Annotated[dict[str, str], AfterValidator(_both_labels)]
    # What identifies the release.
    name: str | None = None
    tag: str | None = None
    bump: Bump | None = None
    git_sha: str | None = None
    commit_time: str | None = None
    uncommitted_changes: bool | None = None
    # What it was trained on and how.
    segment_column: str | None = None
    features: list[str] | None = None
    params: dict[str, Any] | None = None
    libraries: dict[str, str] | None = None
    training: Training | None = None
    lineage: Lineage | None = None
    model: TrainedModel | None = None
    # How good it is.
    metrics: Scores = {}
    segments: dict[str, dict[str, Any]] = {}
    data_profile: dict[str, Any] = {}
    challenge: ChallengeResult | None = None

    def to_json(self) -> dict[str, Any]:
        """The object `metadata.json` holds: the keys given (unknown ones included), values as given."""
        return self.model_dump(exclude_unset=True)


def parse_metadata(raw: Any, where: str = METADATA_FILE) -> ReleaseMetadata:
    """`raw` (a parsed `metadata.json`) as a record; a `ReleaseError` naming each bad field, with what it must be."""
    if not isinstance(raw, dict):
        raise ReleaseError(f"{where} is not a JSON object")
    try:
        return ReleaseMetadata.model_validate(raw)
    except ValidationError as exc:
        problems: dict[tuple[str, ...], str] = {}
        for error in exc.errors(include_url=False):
            # A value that fits no member of a union (a number: float or int) fails once per member: say it once.
            key = tuple(str(part) for part in error["loc"] if part not in _UNION_MEMBERS)
            if key[:1] in _REQUIRED:  # one line for the field, whichever of its parts is wrong
                key = key[:1]
            problems.setdefault(key, _problem(key, error, raw, where))
        raise ReleaseError("; ".join(problems.values())) from None


_UNION_MEMBERS = {"float", "int", "str", "bool", "none"}
_REQUIRED = {("version",), ("threshold",), ("class_labels",)}


def _problem(key: tuple[str, ...], error: Any, raw: dict[str, Any], where: str) -> str:
    if key == ("version",):
        return f'{where} version must be a version such as "1.2.0"; got {raw.get("version")!r}'
    if key == ("threshold",):
        return f"{where} threshold must be a number between 0 and 1; got {raw.get('threshold')!r}"
    if key == ("class_labels",):
        return f'{where} class_labels must map "0" and "1" to labels; got {raw.get("class_labels")!r}'
    name = ".".join(key)
    if error["type"] == "missing":
        return f"{where} {name} is required"
    if error["type"] in {"model_type", "dict_type"}:
        return f"{where} {name} must be a JSON object; got {error['input']!r}"
    return f"{where} {name} {error['msg'].replace('Input should be', 'must be', 1)}; got {error['input']!r}"
