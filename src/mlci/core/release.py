"""A release package: what a model version is made of, and how it is read back and checked.

A package is a directory (and the same files as a `.tar.gz`) holding:
- `model.skops`: the fitted pipeline, in skops format (loaded with `load_model`, which refuses untrusted types);
- `input_schema.json`: the input contract as JSON Schema (`core.input_schema`);
- `metadata.json`: name, version, commit, data and model hashes, params, metrics, libraries, training rows;
- `MODEL_CARD.md`: the model card;
- `SHA256SUMS`: the SHA-256 of every other file, in `sha256sum` format (`sha256sum -c SHA256SUMS` checks it too).

`deploy` writes packages; the prediction service and the champion-vs-challenger gate read them with `load_release`,
which verifies every checksum first and refuses a package with a missing, extra or altered file. `workspace_release`
gives the same view of the model `dvc repro` just trained, before it is packaged.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.core import paths
from mlci.core.errors import ReleaseError
from mlci.core.io import read_json

MODEL_FILE = "model.skops"
INPUT_SCHEMA_FILE = "input_schema.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
CHECKSUMS_FILE = "SHA256SUMS"
CONTENT_FILES = (MODEL_FILE, INPUT_SCHEMA_FILE, METADATA_FILE, CARD_FILE)
WORKSPACE_VERSION = "workspace"
_CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")


@dataclass(frozen=True)
class Release:
    """A model ready to predict, with the contract and the facts it was released with."""

    model: Any
    metadata: dict[str, Any]
    input_schema: dict[str, Any]
    source: str  # the package path, or the workspace

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", WORKSPACE_VERSION))

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def class_labels(self) -> dict[str, str]:
        return dict(self.metadata["class_labels"])

    @property
    def features(self) -> list[str]:
        """The features the model reads (a raw contract's time field stands for the parts derived from it)."""
        from mlci.core.input_schema import model_features

        return model_features(self.input_schema)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(directory: Path) -> str:
    """The `SHA256SUMS` text for every file in `directory` except itself, sorted by name."""
    names = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != CHECKSUMS_FILE)
    return "".join(f"{sha256(directory / name)}  {name}\n" for name in names)


def verify(directory: Path | str) -> None:
    """Raise `ReleaseError` unless every file in `directory` is listed in its `SHA256SUMS` with the right hash."""
    directory = Path(directory)
    listing = directory / CHECKSUMS_FILE
    if not listing.is_file():
        raise ReleaseError(f"{directory}: no {CHECKSUMS_FILE}; this is not a complete release package")
    expected: dict[str, str] = {}
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        match = _CHECKSUM_LINE.match(line)
        if not match:
            raise ReleaseError(f"{listing}: line {number} is not '<sha256>  <file>'; the package was altered")
        expected[match.group(2)] = match.group(1)
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != CHECKSUMS_FILE}
    problems = [f"{name} is missing" for name in sorted(set(CONTENT_FILES) - present)]
    problems += [f"{name} is not listed" for name in sorted(present - set(expected))]
    problems += [f"{name} is listed but absent" for name in sorted(set(expected) - present - set(CONTENT_FILES))]
    problems += [
        f"{name} does not match its checksum"
        for name in sorted(present & set(expected))
        if sha256(directory / name) != expected[name]
    ]
    if problems:
        raise ReleaseError(
            f"{directory}: refusing a tampered or incomplete release package ({'; '.join(problems)}); "
            "download the release again"
        )


def load_release(path: Path | str) -> Release:
    """Verify and load a package: a directory, or a `.tar.gz` of one (unpacked to a temporary folder, then removed)."""
    from mlci.core.model import load_model

    path = Path(path)
    if path.is_dir():
        return _load_dir(path, load_model, str(path))
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory(prefix="release-") as tmp:
            return _load_dir(_unpack(path, Path(tmp)), load_model, str(path))
    raise ReleaseError(f"release package {str(path)!r} not found; give a package directory or its .tar.gz")


def _load_dir(directory: Path, load_model: Any, source: str) -> Release:
    verify(directory)
    metadata, contract = read_json(directory / METADATA_FILE), read_json(directory / INPUT_SCHEMA_FILE)
    _check_contents(directory, metadata, contract)
    return Release(model=load_model(directory / MODEL_FILE), metadata=metadata, input_schema=contract, source=source)


def _check_contents(directory: Path, metadata: Any, contract: Any) -> None:
    """What every reader relies on: a version, a threshold in (0, 1), both class labels, the input fields."""
    problems = []
    if not isinstance(metadata, dict):
        problems.append(f"{METADATA_FILE} is not a JSON object")
        metadata = {}
    if not isinstance(metadata.get("version"), str) or not metadata["version"]:
        problems.append(f"{METADATA_FILE} has no version")
    threshold = metadata.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not 0 < threshold < 1:
        problems.append(f"{METADATA_FILE} threshold must be a number between 0 and 1; got {threshold!r}")
    labels = metadata.get("class_labels")
    if not isinstance(labels, dict) or set(labels) != {"0", "1"}:
        problems.append(f'{METADATA_FILE} class_labels must map "0" and "1" to labels; got {labels!r}')
    fields = contract.get("properties") if isinstance(contract, dict) else None
    if not isinstance(fields, dict) or not fields:
        problems.append(f"{INPUT_SCHEMA_FILE} lists no input fields under properties")
    if problems:
        raise ReleaseError(f"{directory}: not a usable release package ({'; '.join(problems)}); rebuild it")


def _unpack(archive: Path, into: Path) -> Path:
    """Unpack with tarfile's `data` filter (no absolute paths, links out of the folder or device files)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ReleaseError(f"{archive}: not a readable release archive ({exc}); download it again") from exc
    folders = [p for p in into.iterdir() if p.is_dir()]
    if len(folders) != 1 or any(p.is_file() for p in into.iterdir()):
        raise ReleaseError(f"{archive}: expected one package folder inside; the archive was altered")
    return folders[0]


def find_package(version: str, dist: Path | str = paths.DIST) -> Path:
    """The package directory for `version` (e.g. `1.2.0` or `v1.2.0`) under `dist/`."""
    wanted = version if version.startswith("v") else f"v{version}"
    found = sorted(p for p in Path(dist).glob(f"*-{wanted}") if p.is_dir())
    if len(found) != 1:
        have = sorted(p.name for p in Path(dist).glob("*-v*") if p.is_dir())
        raise ReleaseError(
            f"no package for version {wanted} under {dist}/ (found: {', '.join(have) or 'none'}); "
            "run `make package` or download the release"
        )
    return found[0]


def workspace_release(threshold: float | None = None) -> Release:
    """The model `dvc repro` trained in this workspace, seen as an unversioned release (nothing to verify)."""
    from mlci.core.frames import read_split
    from mlci.core.input_schema import input_json_schema
    from mlci.core.model import load_model
    from mlci.core.params import load_params
    from mlci.core.schema import Schema

    schema = Schema.load()
    X, _, _ = read_split(paths.TRAIN_SPLIT, schema)
    metadata = {
        "version": WORKSPACE_VERSION,
        "threshold": load_params().evaluate.threshold if threshold is None else threshold,
        "class_labels": schema.class_labels,
        "model": read_json(paths.MODEL_METADATA),
        "metrics": read_json(paths.METRICS) if paths.METRICS.is_file() else {},
    }
    return Release(
        model=load_model(paths.MODEL),
        metadata=metadata,
        input_schema=input_json_schema(schema, X),
        source="workspace",
    )
