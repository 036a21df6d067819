"""Where a model came from: the commit, and the data and model hashes DVC recorded in `dvc.lock`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlci.core import paths
from mlci.core.errors import ReleaseError
from mlci.deploy.registry import git

# The files whose hashes identify a model's data and the model itself, as `dvc.lock` names them.
DATA_FILES = (paths.RAW, paths.VALIDATED, paths.TRAIN_SPLIT, paths.TEST_SPLIT)
MODEL_FILES = (paths.MODEL, paths.MODEL_METADATA)


def dvc_hashes(lock: Path | str = paths.LOCK) -> dict[str, dict[str, str]]:
    """`{"source": {...}, "data": {path: md5}, "model": {path: md5}}` from the outputs recorded in `dvc.lock`."""
    try:
        stages = yaml.safe_load(Path(lock).read_text(encoding="utf-8"))["stages"]
    except (FileNotFoundError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{lock} is missing or unreadable ({exc}); run `dvc repro` and commit dvc.lock") from None
    outs = {out["path"]: out.get("md5", "") for stage in stages.values() for out in stage.get("outs", [])}
    ingest_deps = stages.get("ingest", {}).get("deps", [])
    source = {dep["path"]: dep.get("md5", "") for dep in ingest_deps if not dep["path"].startswith("src/")}
    pick = lambda files: {str(p): outs[str(p)] for p in files if str(p) in outs}  # noqa: E731
    return {"source": source, "data": pick(DATA_FILES), "model": pick(MODEL_FILES)}


def commit() -> dict[str, Any]:
    """The checked-out commit, its time, and whether tracked files differ from it."""
    sha = git("rev-parse", "HEAD").strip()
    return {
        "sha": sha,
        "time": git("show", "--no-patch", "--format=%cI", sha).strip(),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no").strip()),
    }
