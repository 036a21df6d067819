"""The data schema that `validate` settles on and every later stage reads: which column plays which role.

Written to `data/validated/schema.json`, so `train` and `evaluate` need no data params of their own and re-run only
when the data or the schema really change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlci.core import paths
from mlci.core.io import read_json, require, write_json


@dataclass(frozen=True)
class Schema:
    target: str
    numeric: list[str]
    categorical: list[str]
    time_column: str | None = None
    segment_column: str | None = None
    class_labels: dict[str, str] = field(default_factory=lambda: {"0": "0", "1": "1"})

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def save(self, path: Path | str = paths.SCHEMA) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path | str = paths.SCHEMA) -> Schema:
        return cls(**read_json(require(path)))
