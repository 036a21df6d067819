"""Stage `split`: hold out a test set.

Reads `data/validated/data.parquet` and its schema; writes `data/split/train.parquet` and `data/split/test.parquet`.
With a time column, the latest `split.test_size` share of rows is the test set (the model is judged on the future,
as in production); without one, a row is in the test set when a seeded 64-bit hash of its content falls in the
lowest `split.test_size` share of hashes: the same row lands in the same split on any machine and in any row order,
and each class keeps about `split.test_size` of its rows in test (the binomial spread: within 1% of the rows at
10,000 rows of a class).

Both read the data a batch at a time: the time split finds its cut in a few passes over the time column (a radix
select on 16 bits at a time), then writes; memory does not grow with the row count. Rows keep their file order.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from mlci.core import cli, paths
from mlci.core.errors import DataError
from mlci.core.io import BATCH_ROWS, iter_parquet, parquet_sink, require
from mlci.core.params import SplitParams, load_params
from mlci.core.schema import Schema

DIGIT_BITS = 16  # the radix select reads the time column 64 / 16 = 4 times


def order_keys(times):
    """Map int64 or float64 values to uint64 keys that sort in the same order (floats: the IEEE-754 bit trick)."""
    import numpy as np

    times = np.ascontiguousarray(times)
    sign = np.uint64(1 << 63)
    if times.dtype.kind == "f":
        bits = times.astype(np.float64).view(np.uint64)
        return np.where(bits & sign, ~bits, bits | sign)
    return times.astype(np.int64).view(np.uint64) ^ sign


def kth_key(scan_keys, k: int) -> tuple[int, int]:
    """The k-th smallest key (0-based) of the uint64 arrays `scan_keys()` yields, and its rank among equal keys.

    A radix select: each pass over the keys counts one 16-bit digit of the keys that share the digits found so far.
    """
    import numpy as np

    prefix, rank = 0, k
    for shift in range(64 - DIGIT_BITS, -1, -DIGIT_BITS):
        counts = np.zeros(1 << DIGIT_BITS, np.int64)
        for keys in scan_keys():
            if shift < 64 - DIGIT_BITS:
                keys = keys[(keys >> np.uint64(shift + DIGIT_BITS)) == np.uint64(prefix)]
            digits = ((keys >> np.uint64(shift)) & np.uint64((1 << DIGIT_BITS) - 1)).astype(np.intp)
            counts += np.bincount(digits, minlength=1 << DIGIT_BITS)
        ends = np.cumsum(counts)
        digit = int(np.searchsorted(ends, rank, side="right"))
        rank -= int(ends[digit - 1]) if digit else 0
        prefix = (prefix << DIGIT_BITS) | digit
    return prefix, rank


class TimeCut:
    """Which rows of a time split are test rows: the first `cut` rows in (time, file order) are train."""

    def __init__(self, scan_keys, rows: int, test_size: float) -> None:
        self.cut = int(round(rows * (1 - test_size)))
        self.last: Any
        self.last, rank = kth_key(scan_keys, self.cut - 1) if self.cut else (None, 0)
        self.ties_left = rank + 1  # rows at the last train time still to go to train, in file order

    def is_test(self, keys):
        import numpy as np

        if self.last is None:
            return np.ones(len(keys), bool)
        last = np.uint64(self.last)
        tie = keys == last
        tie_rank = np.cumsum(tie) - 1
        test = (keys > last) | (tie & (tie_rank >= self.ties_left))
        self.ties_left = max(self.ties_left - int(tie.sum()), 0)
        return test


def row_hashes(table, seed: int):
    """A seeded 64-bit hash of each row's content: the same on any machine, in any row order.

    pandas' row hash (SipHash for text, a bit mixer for numbers; the same for every string type), then the seed
    mixed in with SplitMix64's finaliser: pandas uses its key for text only, so numbers alone would ignore it.
    """
    import numpy as np
    import pandas as pd

    hashes = pd.util.hash_pandas_object(table.to_pandas(), index=False).to_numpy()
    salt = np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64)
    return _mix64(hashes ^ salt)


def _mix64(x):
    import numpy as np

    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def hash_is_test(hashes, test_size: float):
    """Test rows: those whose hash, as a fraction of 2^64, is below `test_size`."""
    import numpy as np

    return hashes < np.uint64(min(int(test_size * 2.0**64), 2**64 - 1))


def split_indices(target, times, params: SplitParams, hashes=None):
    """Return (train rows, test rows) as sorted index arrays, for data in memory (the stage streams the same steps).

    `times` is None for the hash split, which needs `hashes` (`row_hashes` of the rows).
    """
    import numpy as np

    if times is not None:
        keys = order_keys(times)
        test = TimeCut(lambda: [keys], len(keys), params.test_size).is_test(keys)
    else:
        test = hash_is_test(hashes, params.test_size)
    return np.flatnonzero(~test), np.flatnonzero(test)


def class_counts(target, train_rows, test_rows) -> dict[str, list[int]]:
    """{"train": [negatives, positives], "test": [...]} of a 0/1 target."""
    import numpy as np

    return {
        name: np.bincount(target[rows], minlength=2)[:2].tolist()
        for name, rows in (("train", train_rows), ("test", test_rows))
    }


def check_classes(counts: dict[str, list[int]], by_time: bool) -> None:
    """`DataError` when the train or test split lacks a class; `counts` as from `class_counts`."""
    for name in ("train", "test"):
        negatives, positives = counts[name]
        if not (negatives and positives):
            which = "positive" if not positives else "negative"
            how = (
                "the time-based split puts the latest rows in test; use more data, a larger split.test_size, "
                "or unset data.time_column for a stratified split"
                if by_time
                else "use more data or a larger split.test_size"
            )
            raise DataError(f"the {name} split has no {which} rows ({negatives + positives} rows in all); {how}")


def _time_keys(batch, column: str):
    import numpy as np
    import pyarrow as pa

    values = batch.column(column)  # a timestamp, or numbers when the time column is numeric
    if pa.types.is_floating(values.type):
        return order_keys(values.fill_null(-np.inf).to_numpy())
    return order_keys(values.cast("int64").fill_null(np.iinfo(np.int64).min).to_numpy())


@cli.command("split")
def main(argv: Sequence[str] = ()) -> int:
    cli.no_options(argv, "mlci.stages.split", __doc__)

    import numpy as np
    import pyarrow.parquet as pq

    params = load_params().split
    schema = Schema.load(paths.SCHEMA)
    source = require(paths.VALIDATED)
    cut = None
    if schema.time_column is not None:
        column = schema.time_column

        def scan_keys():
            return (_time_keys(batch, column) for batch in iter_parquet(source, [column], BATCH_ROWS))

        cut = TimeCut(scan_keys, pq.read_metadata(source).num_rows, params.test_size)
    counts = {"train": [0, 0], "test": [0, 0]}
    with ExitStack() as outputs:
        arrow_schema = pq.read_schema(source)
        sinks = {
            name: outputs.enter_context(parquet_sink(path, arrow_schema))
            for name, path in (("train", paths.TRAIN_SPLIT), ("test", paths.TEST_SPLIT))
        }
        for batch in iter_parquet(source, None, BATCH_ROWS):
            test = (
                cut.is_test(_time_keys(batch, schema.time_column))
                if cut and schema.time_column
                else hash_is_test(row_hashes(batch, params.seed), params.test_size)
            )
            target = batch.column(schema.target).to_numpy()
            for name, rows in (("train", ~test), ("test", test)):
                counts[name] = (np.asarray(counts[name]) + np.bincount(target[rows], minlength=2)[:2]).tolist()
                sinks[name].write(batch.filter(rows))
        check_classes(counts, by_time=cut is not None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
