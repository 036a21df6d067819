"""The base revision's model and training rows, fetched by the hashes in its `dvc.lock`, to score on new rows.

Where the bytes come from, in order:
1. the DVC cache (`.dvc/cache/files/md5/..`): in CI it is the Actions cache restored from `main`, locally whatever
   `dvc repro` or `dvc pull` left there;
2. the DVC remote, when one is configured (`dvc.api`, at the base revision); a fork's run has none.
Every file is checked against its hash before it is used: a model whose bytes differ is refused, never loaded, and a
model that passes is still loaded through the skops trust list (`model.pipeline.load_model`).

When the model cannot be had, `fetch_base` says why in one line (`Unavailable`), and the gate falls back to the
base's committed metrics. The base's training split comes along when it can, so that rows the base model trained on
are left out of the comparison (scored on its own training rows, a model looks better than it is).
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlci.core import paths
from mlci.core.errors import ModelError
from mlci.core.params import EvaluateParams
from mlci.core.revisions import read_at

DVC_DIR = Path(".dvc")


@dataclass(frozen=True)
class BaseModel:
    """The base revision's model, verified against its `dvc.lock` hash, and what scoring it needs."""

    model: Any
    threshold: float
    features: list[str]
    md5: str
    source: str  # "DVC cache" or "DVC remote <name>"
    train: Any | None  # the base's training split (DataFrame), or None when it could not be had
    train_note: str | None  # why the training rows are missing, when they are


@dataclass(frozen=True)
class Unavailable:
    """Why the base model cannot be scored; `reason` is one line that completes "...because " in the report."""

    reason: str
    kind: str  # no-lock, not-locked, not-found, mismatch, unreadable


def fetch_base(base_sha: str, target: str) -> BaseModel | Unavailable:
    """The model `dvc.lock` at `base_sha` records, from the DVC cache or remote, checked, loaded; or why not.

    Its training split comes along (the model's input columns and `target` only) when it can be had. A commit's
    model never changes, so a process that judges several runs against one base (a sweep) fetches it once.
    """
    key = (Path.cwd(), base_sha, target)
    if key not in _FETCHED:
        _FETCHED[key] = _fetch(base_sha, target)
    return _FETCHED[key]


_FETCHED: dict[tuple[Path, str, str], BaseModel | Unavailable] = {}


def _fetch(base_sha: str, target: str) -> BaseModel | Unavailable:
    rev = base_sha[:12]
    lock_text = read_at(base_sha, paths.LOCK)
    if lock_text is None:
        return Unavailable(f"the base {rev} has no dvc.lock, so no model of its own", "no-lock")
    outputs = locked_outputs(lock_text)
    md5 = outputs.get(str(paths.MODEL))
    if md5 is None:
        return Unavailable(f"the base {rev}'s dvc.lock records no {paths.MODEL}", "not-locked")
    found = _read_object(base_sha, paths.MODEL, md5)
    if isinstance(found, Unavailable):
        return found
    data, source = found
    try:
        model = _load(data)
    except ModelError as exc:
        return Unavailable(f"the base model could not be loaded: {exc}", "unreadable")
    features = model_features(model)
    train, train_note = _base_train(base_sha, outputs.get(str(paths.TRAIN_SPLIT)), [*features, target])
    return BaseModel(model, base_threshold(base_sha), features, md5, source, train, train_note)


def locked_outputs(lock_text: str) -> dict[str, str]:
    """{path: md5} of every stage output a `dvc.lock` text records."""
    try:
        stages = (yaml.safe_load(lock_text) or {}).get("stages") or {}
    except yaml.YAMLError:
        return {}
    found = {}
    for stage in stages.values():
        for out in (stage or {}).get("outs") or []:
            if isinstance(out, dict) and out.get("path") and out.get("md5"):
                found[str(out["path"])] = str(out["md5"])
    return found


def base_threshold(base_sha: str) -> float:
    """`evaluate.threshold` at the base: each model is judged at its own threshold."""
    default = EvaluateParams().threshold
    try:
        raw = yaml.safe_load(read_at(base_sha, paths.PARAMS) or "") or {}
        value = (raw.get("evaluate") or {}).get("threshold", default)
    except (yaml.YAMLError, AttributeError):
        return default
    return float(value) if isinstance(value, int | float) and 0 < value < 1 else default


def model_features(model: Any) -> list[str]:
    """The columns a fitted model reads (scikit-learn records them when fitted on a DataFrame)."""
    return [str(name) for name in getattr(model, "feature_names_in_", [])]


def cache_dir() -> Path:
    """The DVC cache folder: `cache.dir` from `.dvc/config.local` or `.dvc/config`, else `.dvc/cache`."""
    for name in ("config.local", "config"):
        config = _config(DVC_DIR / name)
        if config.has_option("cache", "dir"):
            return DVC_DIR / config.get("cache", "dir")  # relative paths are relative to .dvc/
    return DVC_DIR / "cache"


def cached(md5: str) -> Path:
    """Where the DVC cache keeps the file whose md5 is `md5` (DVC 3's layout)."""
    return cache_dir() / "files" / "md5" / md5[:2] / md5[2:]


def default_remote() -> str | None:
    """The default DVC remote's name, when one is configured (locally or in the committed config)."""
    for name in ("config.local", "config"):
        config = _config(DVC_DIR / name)
        if config.has_option("core", "remote"):
            return config.get("core", "remote")
    return None


def _config(path: Path) -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    with contextlib.suppress(OSError, configparser.Error):  # no file, or not ours to judge: DVC reports that itself
        config.read_string(path.read_text(encoding="utf-8"))
    return config


def _read_object(base_sha: str, path: Path, md5: str) -> tuple[bytes, str] | Unavailable:
    """The bytes DVC stores for `md5`, checked against it, and where they came from."""
    in_cache = cached(md5)
    if in_cache.is_file():
        data, source = in_cache.read_bytes(), "DVC cache"
    else:
        remote = default_remote()
        if remote is None:
            return Unavailable(
                f"{path} at the base (md5 {md5[:8]}) is not in the DVC cache and no DVC remote is configured",
                "not-found",
            )
        try:
            import dvc.api

            data = dvc.api.read(str(path), repo=".", rev=base_sha, mode="rb")
        except Exception as exc:  # noqa: BLE001  # DVC raises many kinds; any of them means "not available"
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Unavailable(
                f"{path} at the base (md5 {md5[:8]}) is neither in the DVC cache nor on the DVC remote "
                f"{remote!r} ({reason})",
                "not-found",
            )
        source = f"DVC remote {remote!r}"
    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if actual != md5:
        return Unavailable(
            f"{path} from the {source} does not match the base's dvc.lock (md5 {actual[:8]}, expected {md5[:8]}): "
            "refused, not loaded",
            "mismatch",
        )
    return data, source


def _load(data: bytes) -> Any:
    from mlci.model.pipeline import load_model

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "base-model.skops"
        path.write_bytes(data)
        return load_model(path)


def _base_train(base_sha: str, md5: str | None, columns: list[str]) -> tuple[Any | None, str | None]:
    if md5 is None:
        return None, f"the base's dvc.lock records no {paths.TRAIN_SPLIT}"
    found = _read_object(base_sha, paths.TRAIN_SPLIT, md5)
    if isinstance(found, Unavailable):
        return None, found.reason
    import pyarrow.parquet as pq

    source = pq.ParquetFile(io.BytesIO(found[0]))
    present = [name for name in dict.fromkeys(columns) if name in source.schema_arrow.names]
    return source.read(columns=present).to_pandas(), None
