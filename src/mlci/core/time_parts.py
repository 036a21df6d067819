"""The features derived from the time column, defined once: `validate` adds them, the drift check re-derives them.

A time column `ts` becomes the numeric features `ts_hour` and `ts_dayofweek`; anything scoring new rows must compute
them exactly as training did.
"""

from __future__ import annotations

from typing import Any

# Feature-name suffix -> the pyarrow.compute function that extracts it.
TIME_PARTS = {"_hour": "hour", "_dayofweek": "day_of_week"}


def derived_names(time_column: str) -> dict[str, str]:
    """Each derived feature's name and its pyarrow.compute function, e.g. {"ts_hour": "hour", ...}."""
    return {f"{time_column}{suffix}": part for suffix, part in TIME_PARTS.items()}


def as_timestamp(column: Any) -> Any:
    """The column as timestamps; `ValueError` naming its type when it cannot be read as such."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        return column
    try:
        return column.cast(pa.timestamp("s"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"it has type {column.type}") from exc


def time_part(column: Any, part: str) -> Any:
    """One derived feature (`part`: a value of TIME_PARTS) of a timestamp column, as float64."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return getattr(pc, part)(column).cast(pa.float64())
