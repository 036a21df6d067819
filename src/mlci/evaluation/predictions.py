"""The model's probabilities on the test split, kept by `evaluate` so the gate need not score the same rows again.

On a million test rows, scoring the head's model costs the gate seconds that `evaluate` has just spent. `evaluate`
therefore leaves its probabilities in `.mlci/predictions/` (git ignores it and no stage declares it, so `dvc.lock`
never sees it), with the md5 of the model and of the test split they came from. `load` returns them only when both
files are still those bytes; otherwise (another model, another split, a checkout where `evaluate` did not run) the
caller scores the rows itself.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from mlci.core.io import write_bytes, write_json

FOLDER = Path(".mlci/predictions")
CHUNK = 1 << 20


def save(p: np.ndarray, model: Path, test: Path, folder: Path = FOLDER) -> None:
    """Keep `p` (one probability per test row, in the split's order) with the hashes of the files it came from."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(p, dtype=np.float64), allow_pickle=False)
    write_bytes(folder / "test.npy", buffer.getvalue())
    write_json(folder / "test.json", {"model_md5": _md5(model), "test_md5": _md5(test), "rows": len(p)})


def load(model: Path, test: Path, folder: Path = FOLDER) -> np.ndarray | None:
    """The kept probabilities, if they came from these very files; else None."""
    try:
        meta = json.loads((folder / "test.json").read_text(encoding="utf-8"))
        if meta.get("model_md5") != _md5(model) or meta.get("test_md5") != _md5(test):
            return None
        p = np.load(folder / "test.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    return p if p.ndim == 1 and len(p) == meta.get("rows") else None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
