"""Reading a split into the (features, target) pair that scikit-learn wants."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.core.io import read_parquet, require
from mlci.core.schema import Schema

if TYPE_CHECKING:
    import numpy as np


def read_split(path: Path | str, schema: Schema, extra: tuple[str | None, ...] = ()) -> tuple[Any, np.ndarray, Any]:
    """Return (X, y, extras) for a split: X a DataFrame of the schema's features in schema order."""
    path = require(path)
    columns = [*schema.features, schema.target, *[c for c in extra if c and c not in schema.features]]
    frame = read_parquet(path, columns=columns).to_pandas()
    return frame[schema.features], frame[schema.target].to_numpy(), frame
