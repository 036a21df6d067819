"""Which version comes next: the input contract and the model decide major, minor or patch.

- major: the input contract breaks for existing clients (a field removed or renamed, retyped, or no longer nullable);
- minor: the features change otherwise (a field added) or the model family changes;
- patch: anything else (new data, other hyperparameters, a retrain).

The first version is 1.0.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlci.model.input_schema import breaking_field_changes

FIRST = (1, 0, 0)


@dataclass(frozen=True)
class Bump:
    number: tuple[int, int, int]
    level: Literal["first", "major", "minor", "patch"]
    reasons: list[str]

    @property
    def text(self) -> str:
        return "v{}.{}.{}".format(*self.number)


def record(family: str, inputs: dict[str, list[str]], metrics: dict[str, float]) -> dict[str, Any]:
    """What a registry tag keeps about a version: enough to decide the next bump and to list it."""
    return {"family": family, "inputs": inputs, "metrics": metrics}


def next_version(previous: tuple[int, int, int] | None, old: dict[str, Any] | None, new: dict[str, Any]) -> Bump:
    """The version after `previous`, given the old and new records (see `record`). Pure."""
    if previous is None or old is None:
        return Bump(FIRST, "first", ["first version"])
    major, minor, patch = previous
    breaks = breaking_field_changes(old.get("inputs", {}), new.get("inputs", {}))
    if breaks:
        return Bump((major + 1, 0, 0), "major", breaks)
    added = sorted(set(new.get("inputs", {})) - set(old.get("inputs", {})))
    reasons = [f"field {name!r} added" for name in added]
    if old.get("family") != new.get("family"):
        reasons.append(f"model family {old.get('family')} -> {new.get('family')}")
    if reasons:
        return Bump((major, minor + 1, 0), "minor", reasons)
    return Bump((major, minor, patch + 1), "patch", ["same inputs and model family"])
