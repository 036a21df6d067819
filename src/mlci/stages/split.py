"""Stage `split`: hold out a test set.

Reads `data/validated/data.parquet` and its schema; writes `data/split/train.parquet` and `data/split/test.parquet`.
With a time column, the latest `split.test_size` share of rows is the test set (the model is judged on the future,
as in production); without one, the split is stratified by the target and seeded.
"""

from __future__ import annotations

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import read_parquet, require, write_parquet
from mlci.core.params import SplitParams, load_params
from mlci.core.schema import SCHEMA_FILE, Schema

INPUT = paths.VALIDATED
TRAIN = paths.TRAIN_SPLIT
TEST = paths.TEST_SPLIT


def split_indices(target, times, params: SplitParams):
    """Return (train rows, test rows) as sorted index arrays. `times` is None for a stratified split."""
    import numpy as np

    n = len(target)
    if times is not None:
        order = np.argsort(times, kind="stable")
        cut = int(round(n * (1 - params.test_size)))
        return np.sort(order[:cut]), np.sort(order[cut:])
    rng = np.random.default_rng(params.seed)
    test = []
    for label in (0, 1):
        rows = np.flatnonzero(target == label)
        test.append(rng.permutation(rows)[: int(round(len(rows) * params.test_size))])
    test_rows = np.sort(np.concatenate(test))
    train_mask = np.ones(n, dtype=bool)
    train_mask[test_rows] = False
    return np.flatnonzero(train_mask), test_rows


def check_classes(target, train_rows, test_rows, by_time: bool) -> None:
    import numpy as np

    for name, rows in (("train", train_rows), ("test", test_rows)):
        present = set(np.unique(target[rows]).tolist())
        missing = {0, 1} - present
        if missing:
            which = "positive" if 1 in missing else "negative"
            how = (
                "the time-based split puts the latest rows in test; use more data, a larger split.test_size, "
                "or unset data.time_column for a stratified split"
                if by_time
                else "use more data or a larger split.test_size"
            )
            raise DataError(f"the {name} split has no {which} rows ({len(rows)} rows in all); {how}")


def main() -> int:
    def stage() -> None:
        import numpy as np
        import pyarrow as pa

        params = load_params().split
        schema = Schema.load(SCHEMA_FILE)
        table = read_parquet(require(INPUT))
        target = table.column(schema.target).to_numpy()
        times = None
        if schema.time_column is not None:
            column = table.column(schema.time_column)  # a timestamp, or numbers when the time column is numeric
            if pa.types.is_floating(column.type):
                times = column.fill_null(-np.inf).to_numpy()
            else:
                times = column.cast("int64").fill_null(np.iinfo(np.int64).min).to_numpy()
        train_rows, test_rows = split_indices(target, times, params)
        check_classes(target, train_rows, test_rows, by_time=times is not None)
        write_parquet(TRAIN, table.take(train_rows))
        write_parquet(TEST, table.take(test_rows))

    return cli.run(stage, "split")


if __name__ == "__main__":
    raise SystemExit(main())
